//! Serialized forms of a macaroon and the choice among them: libmacaroons' V1 (base64 of
//! length-prefixed text packets), V2 binary (base64url of typed fields) and V2 JSON, plus
//! reading pymacaroons' V1 JSON. Reading detects the format; every decoder bounds sizes
//! before allocating and reports what is wrong instead of panicking.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};

use super::macaroon::Macaroon;
use super::{format_json, format_v1, format_v2};

/// Largest serialized token accepted, in bytes of text (or of binary for raw V2).
pub const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// A serialized form of a macaroon.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// libmacaroons V1: base64url of `<4 hex length>key value\n` packets.
    V1,
    /// libmacaroons V2 binary, as base64url without padding (the default).
    #[default]
    V2,
    /// libmacaroons / pymacaroons V2 JSON (`v`, `l`, `i`/`i64`, `c`, `s64`).
    V2Json,
    /// pymacaroons / go-macaroon V1 JSON (`location`, `identifier`, `caveats`, hex `signature`).
    V1Json,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::V1 => "v1",
            Format::V2 => "v2",
            Format::V2Json => "v2json",
            Format::V1Json => "v1json",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = DecodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "v1" => Ok(Format::V1),
            "v2" => Ok(Format::V2),
            "v2json" => Ok(Format::V2Json),
            "v1json" => Ok(Format::V1Json),
            other => Err(DecodeError::UnknownFormatName(other.into())),
        }
    }
}

/// Why a token could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the token is empty")]
    Empty,
    #[error("the token is {len} bytes, more than the limit of {MAX_TOKEN_BYTES} bytes")]
    TooLarge { len: usize },
    #[error("the token is not valid base64 (standard or URL-safe): {0}")]
    Base64(String),
    #[error(
        "not a macaroon: the decoded bytes start neither with version byte 2 (V2) nor with a V1 packet header"
    )]
    UnknownFormat,
    #[error("unknown format {0:?}; expected v1, v2 or v2json")]
    UnknownFormatName(String),
    #[error("the token ends early, inside the {0}")]
    Truncated(&'static str),
    #[error("{0}")]
    Malformed(String),
    #[error("the token has more than {max} caveats", max = super::MAX_CAVEATS)]
    TooManyCaveats,
    #[error("the signature is {0} bytes; a macaroon signature is 32 bytes")]
    SignatureLength(usize),
    #[error("the {0} is not valid UTF-8")]
    NotUtf8(&'static str),
    #[error("invalid JSON token: {0}")]
    Json(String),
}

/// Why a macaroon could not be written in the requested format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("the {field} packet would be {len} bytes; V1 packets hold at most 65535 (use v2)")]
    V1PacketTooLong { field: &'static str, len: usize },
    #[error("the {0} is not UTF-8 text, which V1 JSON cannot carry (use v2json)")]
    NotText(&'static str),
}

/// base64 decoding that accepts the standard and URL-safe alphabets, padded or not.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub(crate) fn b64_decode(text: &str) -> Result<Vec<u8>, DecodeError> {
    if text.len() > MAX_TOKEN_BYTES * 2 {
        return Err(DecodeError::TooLarge { len: text.len() });
    }
    let normalized: Vec<u8> = text
        .bytes()
        .map(|b| match b {
            b'-' => b'+',
            b'_' => b'/',
            other => other,
        })
        .collect();
    LENIENT.decode(&normalized).map_err(|e| DecodeError::Base64(alloc::format!("{e}")))
}

pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Macaroon {
    /// Writes the macaroon in `format` (V2 base64url is the usual choice).
    pub fn serialize(&self, format: Format) -> Result<String, EncodeError> {
        match format {
            Format::V1 => format_v1::encode(self),
            Format::V2 => Ok(b64_encode(&format_v2::encode(self))),
            Format::V2Json => Ok(format_json::encode_v2(self)),
            Format::V1Json => format_json::encode_v1(self),
        }
    }

    /// The raw V2 binary form (what the base64 of [`Format::V2`] carries).
    pub fn to_v2_bytes(&self) -> Vec<u8> {
        format_v2::encode(self)
    }

    /// Reads a token in any supported text format and tells which one it was. Surrounding
    /// whitespace is ignored.
    pub fn deserialize(text: &str) -> Result<(Macaroon, Format), DecodeError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(DecodeError::Empty);
        }
        if text.len() > MAX_TOKEN_BYTES {
            return Err(DecodeError::TooLarge { len: text.len() });
        }
        if text.starts_with('{') {
            return format_json::decode(text);
        }
        let bytes = b64_decode(text)?;
        match bytes.first() {
            Some(&format_v2::VERSION) => Ok((format_v2::decode(&bytes)?, Format::V2)),
            Some(b) if b.is_ascii_hexdigit() => Ok((format_v1::decode(&bytes)?, Format::V1)),
            _ => Err(DecodeError::UnknownFormat),
        }
    }

    /// Reads raw V2 binary bytes (not base64).
    pub fn from_v2_bytes(bytes: &[u8]) -> Result<Macaroon, DecodeError> {
        if bytes.len() > MAX_TOKEN_BYTES {
            return Err(DecodeError::TooLarge { len: bytes.len() });
        }
        format_v2::decode(bytes)
    }
}
