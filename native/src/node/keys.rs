//! Key files and the keys PBFT derives from them.
//!
//! A node's Ed25519 key lives in `data_dir/node.key` (hex, mode 0600). PBFT's pairwise MAC
//! keys come from a static X25519 agreement between the two hosts' Ed25519 keys (the
//! birational map libsodium also uses), so no key distribution beyond the public keys in
//! the config is needed. Clients of the gateway are keyed through the node that hosts them.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use anyhow::{Context as _, bail};
use curve25519_dalek::montgomery::MontgomeryPoint;
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};
use void_core::effect::NodeId;
use void_core::pbft::{Config, Keyring};

/// Reads a 32-byte secret written as hex (surrounding whitespace allowed).
pub fn read_secret(path: &Path) -> anyhow::Result<[u8; 32]> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading key file {}", path.display()))?;
    if meta.len() > 1024 {
        bail!("key file {} is {} bytes; a key file holds 64 hex digits", path.display(), meta.len());
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading key file {}", path.display()))?;
    let bytes =
        hex::decode(text.trim()).with_context(|| format!("key file {} is not hex", path.display()))?;
    bytes.try_into().map_err(|b: Vec<u8>| {
        anyhow::anyhow!("key file {} holds {} bytes, expected 32", path.display(), b.len())
    })
}

/// Writes a new random 32-byte secret as hex to a file created with mode 0600.
pub fn create_secret(path: &Path) -> anyhow::Result<[u8; 32]> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating key file {}", path.display()))?;
    writeln!(f, "{}", hex::encode(secret))?;
    f.sync_all()?;
    Ok(secret)
}

/// Loads the node's Ed25519 key, creating it (0600) on first boot.
pub fn load_or_create_signing(path: &Path) -> anyhow::Result<(SigningKey, bool)> {
    if path.exists() {
        Ok((SigningKey::from_bytes(&read_secret(path)?), false))
    } else {
        Ok((SigningKey::from_bytes(&create_secret(path)?), true))
    }
}

/// The X25519 secret shared by two hosts, from one's Ed25519 secret and the other's public key.
fn shared(me: &SigningKey, peer: &VerifyingKey) -> [u8; 32] {
    let point: MontgomeryPoint = peer.to_montgomery();
    point.mul_clamped(me.to_scalar_bytes()).to_bytes()
}

/// Node `me`'s PBFT keyring. `host(i)` is the replica that runs node `i` (a replica runs
/// itself and its gateway clients); `keys[r]` is replica `r`'s public key.
pub fn pbft_keyring(
    cfg: &Config,
    me: NodeId,
    host_of: impl Fn(u32) -> u32,
    signing: &SigningKey,
    keys: &[VerifyingKey],
) -> Keyring {
    let mut cache: Vec<Option<[u8; 32]>> = vec![None; keys.len()];
    let mac_keys: Vec<[u8; 32]> = (0..cfg.nodes())
        .map(|peer| {
            let h = host_of(peer) as usize;
            let s = *cache[h].get_or_insert_with(|| shared(signing, &keys[h]));
            let (lo, hi) = if me.0 <= peer { (me.0, peer) } else { (peer, me.0) };
            let mut d = Sha256::new();
            d.update(b"void-pbft-mac-v1");
            d.update(s);
            d.update(lo.to_be_bytes());
            d.update(hi.to_be_bytes());
            d.finalize().into()
        })
        .collect();
    let signing = cfg.is_replica(me).then(|| signing.clone());
    Keyring::from_parts(me, &mac_keys, signing, keys.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ends_derive_the_same_pairwise_keys_and_others_differ() {
        let cfg = Config::new(4, 8).unwrap();
        let sk: Vec<SigningKey> = (0..4u8).map(|i| SigningKey::from_bytes(&[i + 7; 32])).collect();
        let pk: Vec<VerifyingKey> = sk.iter().map(SigningKey::verifying_key).collect();
        let host = |i: u32| if i < 4 { i } else { (i - 4) / 2 };
        let ring = |i: u32| pbft_keyring(&cfg, NodeId(i), host, &sk[host(i) as usize], &pk);
        let digest = [3u8; 32];
        for (a, b) in [(0, 1), (2, 3), (1, 9), (4, 5), (0, 4)] {
            let (ra, rb) = (ring(a), ring(b));
            assert!(rb.check_mac(NodeId(a), &digest, &ra.mac(NodeId(b), &digest)), "{a}->{b}");
        }
        // Replica 2 cannot forge replica 0's MAC towards replica 1.
        let forged = ring(2).mac(NodeId(1), &digest);
        assert!(!ring(1).check_mac(NodeId(0), &digest, &forged));
        let signed = ring(3).sign(5u32);
        assert!(ring(0).verify(NodeId(3), &signed));
    }

    #[test]
    fn key_files_are_private_and_round_trip() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("node.key");
        let (k, created) = load_or_create_signing(&p).unwrap();
        assert!(created);
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        let (k2, created) = load_or_create_signing(&p).unwrap();
        assert!(!created);
        assert_eq!(k.to_bytes(), k2.to_bytes());
        std::fs::write(&p, "nothex").unwrap();
        assert!(format!("{:#}", read_secret(&p).unwrap_err()).contains("not hex"));
    }
}
