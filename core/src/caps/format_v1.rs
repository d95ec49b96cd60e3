//! libmacaroons' V1 format: packets `<4 hex digits: packet length>key value\n`, in the order
//! `location`, `identifier`, then per caveat `cid` [`vid` `cl`], then `signature` (32 raw
//! bytes), the whole base64url-encoded without padding (as pymacaroons writes it).

use alloc::string::String;
use alloc::vec::Vec;

use super::format::{DecodeError, EncodeError, b64_encode};
use super::macaroon::{Caveat, MAX_CAVEATS, Macaroon};

const HEADER: usize = 4;
const MAX_PACKET: usize = 0xFFFF;

fn put_packet(out: &mut Vec<u8>, key: &'static str, value: &[u8]) -> Result<(), EncodeError> {
    let len = HEADER + key.len() + 1 + value.len() + 1;
    if len > MAX_PACKET {
        return Err(EncodeError::V1PacketTooLong { field: key, len });
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for shift in [12u32, 8, 4, 0] {
        out.push(HEX[(len >> shift) & 0xF]);
    }
    out.extend_from_slice(key.as_bytes());
    out.push(b' ');
    out.extend_from_slice(value);
    out.push(b'\n');
    Ok(())
}

pub(crate) fn encode(m: &Macaroon) -> Result<String, EncodeError> {
    let mut out = Vec::new();
    put_packet(&mut out, "location", m.location().as_bytes())?;
    put_packet(&mut out, "identifier", m.identifier())?;
    for c in m.caveats() {
        put_packet(&mut out, "cid", &c.identifier)?;
        if let Some(vid) = &c.verification_id {
            put_packet(&mut out, "vid", vid)?;
            put_packet(&mut out, "cl", c.location.as_bytes())?;
        } else if !c.location.is_empty() {
            put_packet(&mut out, "cl", c.location.as_bytes())?;
        }
    }
    put_packet(&mut out, "signature", m.signature())?;
    Ok(b64_encode(&out))
}

/// Splits the next packet into (key, value).
fn next_packet<'a>(bytes: &'a [u8], pos: &mut usize) -> Result<(&'a [u8], &'a [u8]), DecodeError> {
    let rest = &bytes[*pos..];
    let header = rest.get(..HEADER).ok_or(DecodeError::Truncated("V1 packet header"))?;
    let mut len = 0usize;
    for &h in header {
        let digit = (h as char).to_digit(16).ok_or_else(|| {
            DecodeError::Malformed(alloc::format!(
                "V1 packet header {:?} is not 4 hex digits",
                String::from_utf8_lossy(header)
            ))
        })?;
        len = len * 16 + digit as usize;
    }
    if len < HEADER + 2 {
        return Err(DecodeError::Malformed(alloc::format!("V1 packet length {len} is too short")));
    }
    let packet = rest.get(HEADER..len).ok_or(DecodeError::Truncated("V1 packet"))?;
    let (body, newline) = packet.split_at(packet.len() - 1);
    if newline != b"\n" {
        return Err(DecodeError::Malformed("V1 packet does not end with a newline".into()));
    }
    let space = body
        .iter()
        .position(|&b| b == b' ')
        .ok_or_else(|| DecodeError::Malformed("V1 packet has no space between key and value".into()))?;
    *pos += len;
    Ok((&body[..space], &body[space + 1..]))
}

fn utf8(bytes: &[u8], what: &'static str) -> Result<String, DecodeError> {
    core::str::from_utf8(bytes).map(String::from).map_err(|_| DecodeError::NotUtf8(what))
}

fn unexpected(key: &[u8], expected: &str) -> DecodeError {
    DecodeError::Malformed(alloc::format!(
        "unexpected V1 packet {:?}; expected {expected}",
        String::from_utf8_lossy(key)
    ))
}

/// Decodes V1 packets (already base64-decoded).
pub(crate) fn decode(bytes: &[u8]) -> Result<Macaroon, DecodeError> {
    let mut pos = 0;
    let (mut key, mut value) = next_packet(bytes, &mut pos)?;
    let mut location = String::new();
    if key == b"location" {
        location = utf8(value, "location")?;
        (key, value) = next_packet(bytes, &mut pos)?;
    }
    if key != b"identifier" {
        return Err(unexpected(key, "identifier"));
    }
    let identifier = value.to_vec();
    let mut caveats: Vec<Caveat> = Vec::new();
    loop {
        let (key, value) = next_packet(bytes, &mut pos)?;
        match key {
            b"cid" => {
                if caveats.len() >= MAX_CAVEATS {
                    return Err(DecodeError::TooManyCaveats);
                }
                caveats.push(Caveat::first_party(value));
            }
            b"vid" | b"cl" => {
                let c = caveats.last_mut().ok_or_else(|| unexpected(key, "cid before vid or cl"))?;
                if key == b"vid" {
                    if c.verification_id.is_some() {
                        return Err(unexpected(key, "one vid per caveat"));
                    }
                    c.verification_id = Some(value.to_vec());
                } else {
                    if !c.location.is_empty() {
                        return Err(unexpected(key, "one cl per caveat"));
                    }
                    c.location = utf8(value, "caveat location")?;
                }
            }
            b"signature" => {
                let signature: [u8; 32] =
                    value.try_into().map_err(|_| DecodeError::SignatureLength(value.len()))?;
                if pos != bytes.len() {
                    return Err(DecodeError::Malformed(alloc::format!(
                        "{} unexpected bytes after the signature",
                        bytes.len() - pos
                    )));
                }
                return Ok(Macaroon::from_parts(location, identifier, caveats, signature));
            }
            other => return Err(unexpected(other, "cid, vid, cl or signature")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_length_header_counts_itself_and_the_newline() {
        let mut out = Vec::new();
        put_packet(&mut out, "cid", b"x").unwrap();
        assert_eq!(out, b"000acid x\n");
    }

    #[test]
    fn short_or_unterminated_packets_are_refused() {
        assert!(decode(b"0003").is_err());
        assert!(decode(b"000acid x!").is_err());
        assert!(decode(b"zzzz").is_err());
        assert!(decode(b"").is_err());
    }
}
