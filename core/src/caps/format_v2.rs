//! libmacaroons' V2 binary format (doc/format.txt):
//!
//! ```text
//! macaroon: VERSION(=2) [LOCATION] IDENTIFIER EOS caveat* EOS SIGNATURE
//! caveat:   [LOCATION] IDENTIFIER [VID] EOS
//! field:    type(varint) length(varint) bytes     EOS = a single 0 byte
//! ```

use alloc::string::String;
use alloc::vec::Vec;

use super::format::DecodeError;
use super::macaroon::{Caveat, MAX_CAVEATS, Macaroon};

pub(crate) const VERSION: u8 = 2;
const EOS: u64 = 0;
const LOCATION: u64 = 1;
const IDENTIFIER: u64 = 2;
const VID: u64 = 4;
const SIGNATURE: u64 = 6;

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_field(out: &mut Vec<u8>, kind: u64, data: &[u8]) {
    put_varint(out, kind);
    put_varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

pub(crate) fn encode(m: &Macaroon) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + m.identifier().len() + m.caveats().len() * 32);
    out.push(VERSION);
    if !m.location().is_empty() {
        put_field(&mut out, LOCATION, m.location().as_bytes());
    }
    put_field(&mut out, IDENTIFIER, m.identifier());
    out.push(EOS as u8);
    for c in m.caveats() {
        if !c.location.is_empty() {
            put_field(&mut out, LOCATION, c.location.as_bytes());
        }
        put_field(&mut out, IDENTIFIER, &c.identifier);
        if let Some(vid) = &c.verification_id {
            put_field(&mut out, VID, vid);
        }
        out.push(EOS as u8);
    }
    out.push(EOS as u8);
    put_field(&mut out, SIGNATURE, m.signature());
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = *self.bytes.get(self.pos).ok_or(DecodeError::Truncated(what))?;
            self.pos += 1;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                break;
            }
            n |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(DecodeError::Malformed(alloc::format!("the {what} is a varint longer than 64 bits")))
    }

    /// The next field type, without consuming it.
    fn peek_type(&mut self) -> Result<u64, DecodeError> {
        let save = self.pos;
        let t = self.varint("field type")?;
        self.pos = save;
        Ok(t)
    }

    /// Reads a field and checks its type is `kind`; its length is bounded by the bytes left.
    fn field(&mut self, kind: u64, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let t = self.varint("field type")?;
        if t != kind {
            return Err(DecodeError::Malformed(alloc::format!(
                "expected the {what} (field type {kind}), found field type {t}"
            )));
        }
        let len = self.varint("field length")?;
        let left = (self.bytes.len() - self.pos) as u64;
        if len > left {
            return Err(DecodeError::Truncated(what));
        }
        let start = self.pos;
        self.pos += len as usize;
        Ok(&self.bytes[start..self.pos])
    }

    fn optional(&mut self, kind: u64, what: &'static str) -> Result<Option<&'a [u8]>, DecodeError> {
        if self.pos < self.bytes.len() && self.peek_type()? == kind {
            return self.field(kind, what).map(Some);
        }
        Ok(None)
    }

    fn eos(&mut self, after: &'static str) -> Result<(), DecodeError> {
        match self.varint("end-of-section marker")? {
            EOS => Ok(()),
            t => Err(DecodeError::Malformed(alloc::format!(
                "expected the end of the {after}, found field type {t}"
            ))),
        }
    }
}

fn utf8(bytes: &[u8], what: &'static str) -> Result<String, DecodeError> {
    core::str::from_utf8(bytes).map(String::from).map_err(|_| DecodeError::NotUtf8(what))
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Macaroon, DecodeError> {
    match bytes.first() {
        Some(&VERSION) => {}
        Some(v) => {
            return Err(DecodeError::Malformed(alloc::format!("unsupported V2 version byte {v}")));
        }
        None => return Err(DecodeError::Empty),
    }
    let mut r = Reader { bytes, pos: 1 };
    let location = utf8(r.optional(LOCATION, "location")?.unwrap_or(b""), "location")?;
    let identifier = r.field(IDENTIFIER, "identifier")?.to_vec();
    r.eos("macaroon header")?;
    let mut caveats = Vec::new();
    loop {
        if r.peek_type()? == EOS {
            r.pos += 1;
            break;
        }
        if caveats.len() >= MAX_CAVEATS {
            return Err(DecodeError::TooManyCaveats);
        }
        let location = utf8(r.optional(LOCATION, "caveat location")?.unwrap_or(b""), "caveat location")?;
        let identifier = r.field(IDENTIFIER, "caveat identifier")?.to_vec();
        let verification_id = r.optional(VID, "verification id")?.map(<[u8]>::to_vec);
        r.eos("caveat")?;
        caveats.push(Caveat { identifier, verification_id, location });
    }
    let sig = r.field(SIGNATURE, "signature")?;
    let signature: [u8; 32] = sig.try_into().map_err(|_| DecodeError::SignatureLength(sig.len()))?;
    if r.pos != bytes.len() {
        return Err(DecodeError::Malformed(alloc::format!(
            "{} unexpected bytes after the signature",
            bytes.len() - r.pos
        )));
    }
    Ok(Macaroon::from_parts(location, identifier, caveats, signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trips_and_rejects_overlong() {
        for n in [0u64, 1, 127, 128, 300, 1 << 35, u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, n);
            let mut r = Reader { bytes: &out, pos: 0 };
            assert_eq!(r.varint("n").unwrap(), n);
        }
        let overlong = [0xffu8; 11];
        assert!(Reader { bytes: &overlong, pos: 0 }.varint("n").is_err());
    }

    #[test]
    fn huge_declared_length_is_refused_before_allocation() {
        // version, IDENTIFIER with a length of 2^40.
        let bytes = [2u8, 2, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20];
        assert_eq!(decode(&bytes), Err(DecodeError::Truncated("identifier")));
    }
}
