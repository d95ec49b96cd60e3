//! Keys and authentication.
//!
//! * Normal-case messages between replicas carry MAC authenticators: HMAC-SHA256 under
//!   the pairwise key of sender and receiver, truncated to 16 bytes, one per replica, all
//!   over the SHA-256 digest of the message (Castro & Liskov §5.1; the digest is computed
//!   once, so an authenticator costs one hash plus `n` short MACs).
//! * Client requests carry an authenticator too, one MAC per replica under the
//!   client–replica key: the primary relays a request inside its pre-prepare, and each
//!   backup must check for itself that the client sent it (otherwise a faulty primary
//!   could invent operations). Replies carry one MAC under the replica–client key.
//! * `Checkpoint`, `ViewChange` and `NewView` are signed with Ed25519, because they must
//!   convince third parties: a checkpoint certificate is shown inside a view change, a
//!   view change inside a new-view message.
//!
//! Each node gets a [`Keyring`] at construction. The simulator derives every key from the
//! run's seed; a native node reads them from key files.

use alloc::vec::Vec;

use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use hmac::{Hmac, KeyInit, Mac as _};
use serde::Serialize;
use sha2::Sha256;
use sha2::block_api::compress256;
use subtle::ConstantTimeEq;

use super::app::feed_postcard;
use super::config::Config;
use super::messages::{Authenticator, Digest, Mac, SigBytes, Signed};
use crate::effect::{DetRng, NodeId};

type HmacSha256 = Hmac<Sha256>;

/// A node's keys: a MAC key shared with every other node, its own signing key (replicas
/// only) and every replica's public key.
#[derive(Clone)]
pub struct Keyring {
    me: NodeId,
    /// Keyed HMAC states, indexed by peer node id (cloning one skips the key schedule).
    macs: Vec<HmacSha256>,
    /// The same keys as SHA-256 states after the inner and outer pad blocks: a MAC over a
    /// 32-byte digest is then exactly two compressions (see [`Keyring::mac`]).
    pads: Vec<Pads>,
    signing: Option<SigningKey>,
    verifying: Vec<VerifyingKey>,
}

impl core::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Keyring {{ me: {}, peers: {}, secrets hidden }}", self.me, self.macs.len())
    }
}

/// Every key of a simulated cluster, derived from the seed; [`ClusterKeys::keyring`] hands
/// each node its share.
pub struct ClusterKeys {
    nodes: u32,
    mac_keys: Vec<[u8; 32]>,
    signing: Vec<SigningKey>,
    verifying: Vec<VerifyingKey>,
}

const MAC_STREAM: u64 = 0x5042_4654_4d41_4331; // "PBFTMAC1"
const SIG_STREAM: u64 = 0x5042_4654_5349_4731; // "PBFTSIG1"

impl ClusterKeys {
    /// Deterministic keys for a simulated cluster: pairwise MAC keys for every pair of
    /// nodes and an Ed25519 key pair for every replica.
    pub fn simulated(seed: u64, cfg: &Config) -> ClusterKeys {
        let nodes = cfg.nodes();
        let mut rng = DetRng::derive(seed, MAC_STREAM);
        let pairs = (nodes as usize) * (nodes as usize + 1) / 2;
        let mac_keys = (0..pairs)
            .map(|_| {
                let mut k = [0u8; 32];
                rng.fill_bytes(&mut k);
                k
            })
            .collect();
        let mut rng = DetRng::derive(seed, SIG_STREAM);
        let signing: Vec<SigningKey> = (0..cfg.n)
            .map(|_| {
                let mut s = [0u8; 32];
                rng.fill_bytes(&mut s);
                SigningKey::from_bytes(&s)
            })
            .collect();
        let verifying = signing.iter().map(SigningKey::verifying_key).collect();
        ClusterKeys { nodes, mac_keys, signing, verifying }
    }

    fn pair_index(&self, a: u32, b: u32) -> usize {
        let (lo, hi) = if a <= b { (a as usize, b as usize) } else { (b as usize, a as usize) };
        hi * (hi + 1) / 2 + lo
    }

    /// The keyring of node `me`.
    pub fn keyring(&self, me: NodeId) -> Keyring {
        let keys: Vec<&[u8; 32]> =
            (0..self.nodes).map(|peer| &self.mac_keys[self.pair_index(me.0, peer)]).collect();
        Keyring {
            me,
            macs: keys.iter().map(|k| mac_state(k)).collect(),
            pads: keys.iter().map(|k| pads(k)).collect(),
            signing: self.signing.get(me.index()).cloned(),
            verifying: self.verifying.clone(),
        }
    }
}

impl Keyring {
    /// A keyring from keys a native node derived itself: `mac_keys[i]` is the key shared
    /// with node `i`, `verifying[r]` replica `r`'s public key.
    pub fn from_parts(
        me: NodeId,
        mac_keys: &[[u8; 32]],
        signing: Option<SigningKey>,
        verifying: Vec<VerifyingKey>,
    ) -> Keyring {
        let macs = mac_keys.iter().map(mac_state).collect();
        let pads = mac_keys.iter().map(pads).collect();
        Keyring { me, macs, pads, signing, verifying }
    }

    pub fn me(&self) -> NodeId {
        self.me
    }

    /// The 16-byte MAC of `digest` under the key shared with `peer` (zeros for an unknown peer).
    pub fn mac(&self, peer: NodeId, digest: &Digest) -> Mac {
        let mut out = [0u8; 16];
        if let Some(p) = self.pads.get(peer.index()) {
            // HMAC-SHA256 by hand: key block plus 32 bytes is one padded block inside,
            // key block plus the inner hash one outside.
            let mut inner = p.inner;
            compress256(&mut inner, &[last_block(digest)]);
            let mut outer = p.outer;
            compress256(&mut outer, &[last_block(&state_bytes(&inner))]);
            for (o, w) in out.chunks_exact_mut(4).zip(&outer) {
                o.copy_from_slice(&w.to_be_bytes());
            }
        }
        out
    }

    /// The 16-byte MAC of `tag || postcard(value)` under the key shared with `peer`, over
    /// the bytes themselves: for a short value that is one compression fewer than a MAC
    /// over its digest (zeros for an unknown peer).
    pub fn mac_value<T: Serialize>(&self, peer: NodeId, tag: u8, value: &T) -> Mac {
        self.try_mac_value(peer, tag, value).unwrap_or([0u8; 16])
    }

    fn try_mac_value<T: Serialize>(&self, peer: NodeId, tag: u8, value: &T) -> Option<Mac> {
        let mut m = self.macs.get(peer.index())?.clone();
        m.update(&[tag]);
        feed_postcard(&mut m, value)?;
        let mut out = [0u8; 16];
        out.copy_from_slice(&m.finalize().into_bytes()[..16]);
        Some(out)
    }

    /// Constant-time check of a [`Keyring::mac_value`] from `peer`.
    pub fn check_mac_value<T: Serialize>(&self, peer: NodeId, tag: u8, value: &T, mac: &Mac) -> bool {
        self.try_mac_value(peer, tag, value).is_some_and(|m| bool::from(m.ct_eq(mac)))
    }

    /// Constant-time check of a MAC from `peer`.
    pub fn check_mac(&self, peer: NodeId, digest: &Digest, mac: &Mac) -> bool {
        peer.index() < self.macs.len() && bool::from(self.mac(peer, digest).ct_eq(mac))
    }

    /// An authenticator for every replica `0..n` (our own entry is a MAC too; harmless).
    pub fn authenticator(&self, n: u32, digest: &Digest) -> Authenticator {
        Authenticator((0..n).map(|r| self.mac(NodeId(r), digest)).collect())
    }

    /// Whether `sender`'s authenticator holds a valid MAC for us.
    pub fn check_authenticator(&self, sender: NodeId, digest: &Digest, auth: &Authenticator) -> bool {
        auth.0.get(self.me.index()).is_some_and(|m| self.check_mac(sender, digest, m))
    }

    /// Sign `value` (replicas only; a client's keyring signs nothing and gets zeros).
    pub fn sign<T: Serialize>(&self, value: T) -> Signed<T> {
        let bytes = postcard::to_allocvec(&value).unwrap_or_default();
        let sig = match &self.signing {
            Some(k) => k.sign(&bytes).to_bytes(),
            None => [0u8; 64],
        };
        Signed { value, sig: split(sig) }
    }

    /// Whether `signed` carries replica `signer`'s valid signature.
    pub fn verify<T: Serialize>(&self, signer: NodeId, signed: &Signed<T>) -> bool {
        let Some(key) = self.verifying.get(signer.index()) else {
            return false;
        };
        let Ok(bytes) = postcard::to_allocvec(&signed.value) else {
            return false;
        };
        key.verify(&bytes, &Signature::from_bytes(&join(&signed.sig))).is_ok()
    }
}

fn mac_state(key: &[u8; 32]) -> HmacSha256 {
    // HMAC zero-pads keys to its 64-byte block: padding here gives the same MAC.
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    <HmacSha256 as KeyInit>::new(&block.into())
}

/// SHA-256 states after one key block XOR ipad, and one XOR opad.
#[derive(Clone)]
struct Pads {
    inner: [u32; 8],
    outer: [u32; 8],
}

const SHA256_IV: [u32; 8] =
    [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

fn pads(key: &[u8; 32]) -> Pads {
    let pad = |x: u8| {
        let mut block = [x; 64];
        for (b, k) in block.iter_mut().zip(key) {
            *b ^= k;
        }
        let mut state = SHA256_IV;
        compress256(&mut state, &[block]);
        state
    };
    Pads { inner: pad(0x36), outer: pad(0x5c) }
}

/// The final block of a message of one key block plus 32 bytes: the bytes, the 0x80
/// marker, zeros and the length in bits (768).
fn last_block(bytes: &[u8; 32]) -> [u8; 64] {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(bytes);
    block[32] = 0x80;
    block[56..].copy_from_slice(&768u64.to_be_bytes());
    block
}

fn state_bytes(state: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (o, w) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    out
}

fn split(sig: [u8; 64]) -> SigBytes {
    let mut a = [0u8; 32];
    let mut b = [0u8; 32];
    a.copy_from_slice(&sig[..32]);
    b.copy_from_slice(&sig[32..]);
    SigBytes(a, b)
}

fn join(sig: &SigBytes) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&sig.0);
    out[32..].copy_from_slice(&sig.1);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_macs_agree_and_third_parties_cannot_forge() {
        let cfg = Config::new(4, 2).unwrap();
        let keys = ClusterKeys::simulated(9, &cfg);
        let (a, b, c) = (keys.keyring(NodeId(0)), keys.keyring(NodeId(1)), keys.keyring(NodeId(4)));
        let d = [7u8; 32];
        assert!(b.check_mac(NodeId(0), &d, &a.mac(NodeId(1), &d)));
        assert!(!b.check_mac(NodeId(4), &d, &a.mac(NodeId(1), &d)), "a MAC names its sender's key");
        assert!(!b.check_mac(NodeId(0), &[8u8; 32], &a.mac(NodeId(1), &d)));
        let auth = c.authenticator(cfg.n, &d);
        assert!(b.check_authenticator(NodeId(4), &d, &auth));
        assert!(!b.check_authenticator(NodeId(99), &d, &auth));
    }

    #[test]
    fn the_two_compression_mac_is_hmac_sha256() {
        let key = [0xa7u8; 32];
        let ring = Keyring::from_parts(NodeId(0), &[key, [3; 32]], None, Vec::new());
        for d in [[0u8; 32], [0xffu8; 32], core::array::from_fn(|i| i as u8)] {
            let mut m = mac_state(&key);
            m.update(&d);
            assert_eq!(ring.mac(NodeId(0), &d)[..], m.finalize().into_bytes()[..16]);
        }
        assert_eq!(ring.mac(NodeId(5), &[1; 32]), [0u8; 16], "unknown peer");
    }

    #[test]
    fn signatures_verify_only_for_the_signer_and_the_value() {
        let cfg = Config::new(4, 0).unwrap();
        let keys = ClusterKeys::simulated(1, &cfg);
        let r2 = keys.keyring(NodeId(2));
        let s = r2.sign(42u64);
        assert!(r2.verify(NodeId(2), &s));
        assert!(!r2.verify(NodeId(1), &s));
        let mut t = s.clone();
        t.value = 43;
        assert!(!r2.verify(NodeId(2), &t));
        assert!(!r2.verify(NodeId(77), &s));
        let other = ClusterKeys::simulated(2, &cfg).keyring(NodeId(2));
        assert!(!other.verify(NodeId(2), &s), "another seed, other keys");
    }
}
