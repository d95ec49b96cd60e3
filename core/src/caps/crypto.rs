//! The cryptographic steps of macaroons, byte-compatible with libmacaroons and pymacaroons:
//! HMAC-SHA256 chaining, the root-key derivation, the `hash2` construction, the sealed
//! verification id of third-party caveats (XSalsa20-Poly1305 secretbox) and the binding of
//! a discharge to its root macaroon.

use crypto_secretbox::KeyInit as _;
use crypto_secretbox::XSalsa20Poly1305;
use crypto_secretbox::aead::AeadInPlace;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// A macaroon signature, and also a chaining key: both are 32-byte HMAC-SHA256 outputs.
pub type Signature = [u8; 32];

/// Length of the random nonce at the start of a verification id.
pub const NONCE_BYTES: usize = 24;
const TAG_BYTES: usize = 16;
/// Length of a verification id: nonce || Poly1305 tag || sealed 32-byte key (as libmacaroons).
pub const VERIFICATION_ID_BYTES: usize = NONCE_BYTES + TAG_BYTES + 32;

/// The fixed HMAC key libmacaroons uses to turn a user's secret of any length into a root key.
const KEY_GENERATOR: &[u8] = b"macaroons-key-generator";

/// HMAC-SHA256 of `data` under a key of at most 64 bytes (all keys here are 23 or 32 bytes).
///
/// HMAC zero-pads short keys to the block size, so padding ourselves gives the same MAC and
/// lets us use the infallible constructor.
fn hmac_short_key(key: &[u8], parts: &[&[u8]]) -> Signature {
    let mut block = [0u8; 64];
    let n = key.len().min(64);
    block[..n].copy_from_slice(&key[..n]);
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&block.into());
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// `HMAC-SHA256(key, data)`, the step of the signature chain for identifiers and first-party caveats.
pub fn hmac(key: &Signature, data: &[u8]) -> Signature {
    hmac_short_key(key, &[data])
}

/// The root key libmacaroons derives from a user's secret (`generate_derived_key`):
/// `HMAC-SHA256(key = "macaroons-key-generator", data = secret)`. Secrets of any length are
/// the HMAC *message*, so none is truncated or padded.
pub fn derive_key(secret: &[u8]) -> Signature {
    hmac_short_key(KEY_GENERATOR, &[secret])
}

/// libmacaroons' `hash2`: `HMAC(key, HMAC(key, a) || HMAC(key, b))`.
pub fn hash2(key: &Signature, a: &[u8], b: &[u8]) -> Signature {
    let ha = hmac(key, a);
    let hb = hmac(key, b);
    hmac_short_key(key, &[&ha, &hb])
}

/// The signature a discharge carries once bound to the root macaroon it is sent with
/// (`prepare_for_request`): `hash2` under an all-zero key of the root's and the discharge's
/// signatures. It stops a discharge from being reused with another root.
pub fn bind(root_signature: &Signature, discharge_signature: &Signature) -> Signature {
    hash2(&[0u8; 32], root_signature, discharge_signature)
}

/// Seals a third-party caveat's root key under the current signature: the verification id is
/// `nonce || tag || ciphertext`, exactly the layout libmacaroons and pymacaroons produce.
pub fn seal_verification_id(
    signature: &Signature,
    caveat_key: &Signature,
    nonce: &[u8; NONCE_BYTES],
) -> [u8; VERIFICATION_ID_BYTES] {
    let cipher = XSalsa20Poly1305::new(&(*signature).into());
    let mut sealed = *caveat_key;
    let mut out = [0u8; VERIFICATION_ID_BYTES];
    out[..NONCE_BYTES].copy_from_slice(nonce);
    // Encrypting 32 bytes into a 32-byte buffer cannot fail (the only error is a too-long message).
    if let Ok(tag) = cipher.encrypt_in_place_detached(&(*nonce).into(), b"", &mut sealed) {
        out[NONCE_BYTES..NONCE_BYTES + TAG_BYTES].copy_from_slice(&tag);
    }
    out[NONCE_BYTES + TAG_BYTES..].copy_from_slice(&sealed);
    out
}

/// Opens a verification id sealed by [`seal_verification_id`]; `None` when it has the wrong
/// length or does not authenticate under `signature`.
pub fn open_verification_id(signature: &Signature, verification_id: &[u8]) -> Option<Signature> {
    if verification_id.len() != VERIFICATION_ID_BYTES {
        return None;
    }
    let mut nonce = [0u8; NONCE_BYTES];
    nonce.copy_from_slice(&verification_id[..NONCE_BYTES]);
    let mut tag = [0u8; TAG_BYTES];
    tag.copy_from_slice(&verification_id[NONCE_BYTES..NONCE_BYTES + TAG_BYTES]);
    let mut key = [0u8; 32];
    key.copy_from_slice(&verification_id[NONCE_BYTES + TAG_BYTES..]);
    let cipher = XSalsa20Poly1305::new(&(*signature).into());
    cipher.decrypt_in_place_detached(&nonce.into(), b"", &mut key, &tag.into()).ok()?;
    Some(key)
}

/// Constant-time equality of two signatures.
pub fn signatures_equal(a: &Signature, b: &Signature) -> bool {
    bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_key_opens_only_under_the_same_signature() {
        let sig = [7u8; 32];
        let key = [9u8; 32];
        let vid = seal_verification_id(&sig, &key, &[1u8; NONCE_BYTES]);
        assert_eq!(open_verification_id(&sig, &vid), Some(key));
        assert_eq!(open_verification_id(&[8u8; 32], &vid), None);
        let mut tampered = vid;
        tampered[40] ^= 1;
        assert_eq!(open_verification_id(&sig, &tampered), None);
        assert_eq!(open_verification_id(&sig, &vid[..71]), None);
    }

    #[test]
    fn hash2_differs_from_plain_concatenation() {
        let k = [3u8; 32];
        assert_ne!(hash2(&k, b"ab", b"c"), hash2(&k, b"a", b"bc"));
    }
}
