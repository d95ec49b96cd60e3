//! JSON forms. V2 JSON (libmacaroons doc/format.txt): `{"v":2, "l", "i"|"i64", "c":[{"i"|"i64",
//! "v"|"v64", "l"}], "s"|"s64"}` where a field `x64` holds base64 (either alphabet, padding
//! optional) and a field holds at most one of its representations. V1 JSON (pymacaroons,
//! go-macaroon): `{"location", "identifier", "caveats":[{"cid", "vid", "cl"}], "signature"}`
//! with a base64 `vid` and a hex `signature`.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::format::{DecodeError, EncodeError, Format, b64_decode, b64_encode};
use super::macaroon::{Caveat, MAX_CAVEATS, Macaroon};

#[derive(Deserialize, Default)]
struct JsonCaveat {
    // V2
    i: Option<String>,
    i64: Option<String>,
    v: Option<String>,
    v64: Option<String>,
    l: Option<String>,
    // V1
    cid: Option<String>,
    vid: Option<String>,
    cl: Option<String>,
}

#[derive(Deserialize)]
struct JsonMacaroon {
    // V2
    v: Option<serde_json::Value>,
    l: Option<String>,
    i: Option<String>,
    i64: Option<String>,
    c: Option<Vec<JsonCaveat>>,
    s: Option<String>,
    s64: Option<String>,
    // V1
    location: Option<String>,
    identifier: Option<String>,
    caveats: Option<Vec<JsonCaveat>>,
    signature: Option<String>,
}

fn bad(msg: impl Into<String>) -> DecodeError {
    DecodeError::Json(msg.into())
}

/// A data field given as text (`x`) or base64 (`x64`), never both.
fn data(text: Option<String>, b64: Option<String>, name: &str) -> Result<Option<Vec<u8>>, DecodeError> {
    match (text, b64) {
        (Some(_), Some(_)) => Err(bad(alloc::format!("both \"{name}\" and \"{name}64\" are present"))),
        (Some(t), None) => Ok(Some(t.into_bytes())),
        (None, Some(b)) => b64_decode(&b).map(Some).map_err(|e| bad(alloc::format!("\"{name}64\": {e}"))),
        (None, None) => Ok(None),
    }
}

fn signature(bytes: Vec<u8>) -> Result<[u8; 32], DecodeError> {
    let len = bytes.len();
    bytes.try_into().map_err(|_| DecodeError::SignatureLength(len))
}

fn hex_signature(hex: &str) -> Result<[u8; 32], DecodeError> {
    let digits = hex.as_bytes();
    if digits.len() != 64 {
        return Err(bad(alloc::format!(
            "\"signature\" must be 64 hex digits, got {} characters",
            digits.len()
        )));
    }
    let mut out = [0u8; 32];
    for (i, pair) in digits.chunks_exact(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16);
        let lo = (pair[1] as char).to_digit(16);
        match (hi, lo) {
            (Some(h), Some(l)) => out[i] = (h * 16 + l) as u8,
            _ => return Err(bad("\"signature\" is not hexadecimal")),
        }
    }
    Ok(out)
}

fn caveats(list: Vec<JsonCaveat>, v1: bool) -> Result<Vec<Caveat>, DecodeError> {
    if list.len() > MAX_CAVEATS {
        return Err(DecodeError::TooManyCaveats);
    }
    list.into_iter()
        .enumerate()
        .map(|(n, c)| {
            let (identifier, verification_id, location) = if v1 {
                let vid = match c.vid {
                    Some(v) => {
                        Some(b64_decode(&v).map_err(|e| bad(alloc::format!("caveat {n} \"vid\": {e}")))?)
                    }
                    None => None,
                };
                (c.cid.map(String::into_bytes), vid, c.cl)
            } else {
                (data(c.i, c.i64, "i")?, data(c.v, c.v64, "v")?, c.l)
            };
            let identifier = identifier.ok_or_else(|| bad(alloc::format!("caveat {n} has no identifier")))?;
            Ok(Caveat { identifier, verification_id, location: location.unwrap_or_default() })
        })
        .collect()
}

pub(crate) fn decode(text: &str) -> Result<(Macaroon, Format), DecodeError> {
    let j: JsonMacaroon = serde_json::from_str(text).map_err(|e| bad(alloc::format!("{e}")))?;
    if j.identifier.is_some() || j.signature.is_some() {
        let identifier = j.identifier.ok_or_else(|| bad("missing \"identifier\""))?;
        let sig = j.signature.ok_or_else(|| bad("missing \"signature\""))?;
        let caveats = caveats(j.caveats.unwrap_or_default(), true)?;
        let m = Macaroon::from_parts(
            j.location.unwrap_or_default(),
            identifier.into_bytes(),
            caveats,
            hex_signature(&sig)?,
        );
        return Ok((m, Format::V1Json));
    }
    // go-macaroon leaves "v" out; when present it must say 2.
    match &j.v {
        None => {}
        Some(v) if v.as_u64() == Some(2) || v.as_str() == Some("2") => {}
        Some(v) => return Err(bad(alloc::format!("unsupported version {v}; expected 2"))),
    }
    let identifier = data(j.i, j.i64, "i")?.ok_or_else(|| bad("missing \"i\" (identifier)"))?;
    let sig = data(j.s, j.s64, "s")?.ok_or_else(|| bad("missing \"s64\" (signature)"))?;
    let caveats = caveats(j.c.unwrap_or_default(), false)?;
    let m = Macaroon::from_parts(j.l.unwrap_or_default(), identifier, caveats, signature(sig)?);
    Ok((m, Format::V2Json))
}

#[derive(Serialize)]
struct OutCaveat<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    i: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    i64: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    v64: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    l: Option<&'a str>,
}

#[derive(Serialize)]
struct OutMacaroon<'a> {
    v: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    l: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    i: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    i64: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    c: Vec<OutCaveat<'a>>,
    s64: String,
}

/// Text when the bytes are UTF-8, base64url otherwise.
fn text_or_b64(bytes: &[u8]) -> (Option<&str>, Option<String>) {
    match core::str::from_utf8(bytes) {
        Ok(s) => (Some(s), None),
        Err(_) => (None, Some(b64_encode(bytes))),
    }
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

pub(crate) fn encode_v2(m: &Macaroon) -> String {
    let (i, i64) = text_or_b64(m.identifier());
    let c = m
        .caveats()
        .iter()
        .map(|c| {
            let (i, i64) = text_or_b64(&c.identifier);
            OutCaveat { i, i64, v64: c.verification_id.as_deref().map(b64_encode), l: non_empty(&c.location) }
        })
        .collect();
    let out = OutMacaroon { v: 2, l: non_empty(m.location()), i, i64, c, s64: b64_encode(m.signature()) };
    // Serializing plain strings and numbers into a String cannot fail.
    serde_json::to_string(&out).unwrap_or_default()
}

#[derive(Serialize)]
struct OutCaveatV1<'a> {
    cid: String,
    vid: Option<String>,
    cl: Option<&'a str>,
}

#[derive(Serialize)]
struct OutMacaroonV1<'a> {
    location: &'a str,
    identifier: String,
    caveats: Vec<OutCaveatV1<'a>>,
    signature: String,
}

fn text(bytes: &[u8], what: &'static str) -> Result<String, EncodeError> {
    core::str::from_utf8(bytes).map(String::from).map_err(|_| EncodeError::NotText(what))
}

pub(crate) fn encode_v1(m: &Macaroon) -> Result<String, EncodeError> {
    let caveats = m
        .caveats()
        .iter()
        .map(|c| {
            Ok(OutCaveatV1 {
                cid: text(&c.identifier, "caveat identifier")?,
                vid: c.verification_id.as_deref().map(b64_encode),
                cl: non_empty(&c.location),
            })
        })
        .collect::<Result<_, EncodeError>>()?;
    let mut signature = String::with_capacity(64);
    for b in m.signature() {
        signature.push_str(&alloc::format!("{b:02x}"));
    }
    let out = OutMacaroonV1 {
        location: m.location(),
        identifier: text(m.identifier(), "identifier")?,
        caveats,
        signature,
    };
    Ok(serde_json::to_string(&out).unwrap_or_default())
}
