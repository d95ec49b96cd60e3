//! The cryptographic steps of macaroons, byte-compatible with libmacaroons and pymacaroons:
//! HMAC-SHA256 chaining, the root-key derivation, the `hash2` construction, the sealed
//! verification id of third-party caveats (XSalsa20-Poly1305 secretbox) and the binding of
//! a discharge to its root macaroon.

use crypto_secretbox::KeyInit as _;
use crypto_secretbox::XSalsa20Poly1305;
use crypto_secretbox::aead::AeadInPlace;
use sha2::block_api::compress256;
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

/// SHA-256's initial state (FIPS 180-4, 5.3.3).
const H0: [u32; 8] =
    [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/// Streaming SHA-256 over the raw compression function: the chain computes several short
/// HMACs per token, and going through `hmac`'s generic buffers cost about a quarter of it.
struct Sha256Stream {
    state: [u32; 8],
    block: [u8; 64],
    filled: usize,
    bytes: u64,
}

impl Sha256Stream {
    /// A stream whose first block, `first`, is already compressed.
    fn after_block(first: &[u8; 64]) -> Sha256Stream {
        let mut state = H0;
        compress256(&mut state, core::slice::from_ref(first));
        Sha256Stream { state, block: [0; 64], filled: 0, bytes: 64 }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.bytes += data.len() as u64;
        while !data.is_empty() {
            let take = (64 - self.filled).min(data.len());
            self.block[self.filled..self.filled + take].copy_from_slice(&data[..take]);
            self.filled += take;
            data = &data[take..];
            if self.filled == 64 {
                compress256(&mut self.state, core::slice::from_ref(&self.block));
                self.filled = 0;
            }
        }
    }

    fn finish(mut self) -> [u8; 32] {
        let bits = self.bytes * 8;
        self.block[self.filled] = 0x80;
        self.block[self.filled + 1..].fill(0);
        if self.filled >= 56 {
            compress256(&mut self.state, core::slice::from_ref(&self.block));
            self.block = [0; 64];
        }
        self.block[56..].copy_from_slice(&bits.to_be_bytes());
        compress256(&mut self.state, core::slice::from_ref(&self.block));
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(self.state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }
}

/// HMAC-SHA256 (RFC 2104) of the concatenated `parts` under a key of at most 64 bytes (all
/// keys here are 23 or 32 bytes; HMAC zero-pads short keys to the block size).
fn hmac_short_key(key: &[u8], parts: &[&[u8]]) -> Signature {
    let mut pad = [0u8; 64];
    let n = key.len().min(64);
    pad[..n].copy_from_slice(&key[..n]);
    pad.iter_mut().for_each(|b| *b ^= 0x36);
    let mut inner = Sha256Stream::after_block(&pad);
    for part in parts {
        inner.update(part);
    }
    let digest = inner.finish();
    pad.iter_mut().for_each(|b| *b ^= 0x36 ^ 0x5c);
    let mut outer = Sha256Stream::after_block(&pad);
    outer.update(&digest);
    outer.finish()
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

    #[test]
    fn hmac_matches_the_hmac_crate_for_every_length_around_the_block_edges() {
        use hmac::{Hmac, KeyInit, Mac};
        let mut rng = crate::effect::DetRng::seed_from_u64(5);
        for len in (0..200).chain([447, 448, 449, 1000]) {
            for key_len in [0usize, 1, 23, 32, 63, 64] {
                let mut key = [0u8; 64];
                rng.fill_bytes(&mut key[..key_len]);
                let mut data = alloc::vec![0u8; len];
                rng.fill_bytes(&mut data);
                let split = len / 3;
                let ours = hmac_short_key(&key[..key_len], &[&data[..split], &data[split..]]);
                let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key[..key_len]).unwrap();
                mac.update(&data);
                let theirs: [u8; 32] = mac.finalize().into_bytes().into();
                assert_eq!(ours, theirs, "len {len}, key {key_len}");
            }
        }
    }
}
