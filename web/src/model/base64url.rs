//! Base64url without padding (RFC 4648 §5), as permalinks carry JSON. Small on purpose:
//! a general-purpose engine cost the bundle about four times the code.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    let bytes = bytes.as_ref();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

fn value(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Refuses anything `encode` would not write: other symbols, padding, a lone last symbol
/// and set bits past the data.
pub fn decode(text: &str) -> Result<Vec<u8>, String> {
    let src = text.as_bytes();
    if src.len() % 4 == 1 {
        return Err(format!("{} symbols cannot be whole bytes", src.len()));
    }
    let mut out = Vec::with_capacity(src.len() / 4 * 3 + 2);
    for (c, chunk) in src.chunks(4).enumerate() {
        let mut n = 0u32;
        for (i, s) in chunk.iter().enumerate() {
            let v = value(*s)
                .ok_or_else(|| format!("invalid symbol {:?} at offset {}", char::from(*s), c * 4 + i))?;
            n |= v << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        let keep = chunk.len() - 1;
        if bytes[keep..].iter().any(|b| *b != 0) && chunk.len() < 4 {
            return Err(format!("the last symbol at offset {} has bits past the data", src.len() - 1));
        }
        out.extend_from_slice(&bytes[..keep]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    #[test]
    fn agrees_with_a_general_purpose_engine() {
        let mut x: u32 = 7;
        for len in 0..200 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    (x >> 16) as u8
                })
                .collect();
            let text = encode(&bytes);
            assert_eq!(text, URL_SAFE_NO_PAD.encode(&bytes));
            assert_eq!(decode(&text), Ok(bytes));
        }
    }

    #[test]
    fn refuses_what_the_engine_refuses() {
        for bad in ["A", "AB=", "AB==", "!!", "ab+/", "AB", "AAB", "AAAAB", "a b"] {
            assert_eq!(decode(bad).is_ok(), URL_SAFE_NO_PAD.decode(bad).is_ok(), "{bad}");
        }
        assert!(decode("!!").unwrap_err().contains("invalid symbol '!'"));
    }
}
