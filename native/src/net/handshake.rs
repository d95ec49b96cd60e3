//! Identity proof and link-key derivation.
//!
//! Dialer → acceptor: `Hello`. Acceptor → dialer: its `Hello`, then its signature. Dialer →
//! acceptor (replica links only): its signature. Each signature is Ed25519 over
//! `role || SHA-256(transcript)`, the transcript being a domain string and both hellos'
//! bytes (dialer first), each length-prefixed so the split is unambiguous. The role byte
//! keeps one side's signature from being replayed as the other's.
//!
//! The link keys are HMAC-SHA256(X25519 shared secret, "void-link-key" || hash || direction);
//! data frames are then `seq: u64 BE | payload | tag`, tag = HMAC(key, seq || payload)[..16].

use curve25519_dalek::montgomery::MontgomeryPoint;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::io::{AsyncRead, AsyncWrite};

use super::Reason;
use super::frame::{FrameError, FrameReader, FrameWriter};

pub const VERSION: u16 = 1;
const DOMAIN: &[u8] = b"void-link-v1";
const KEY_LABEL: &[u8] = b"void-link-key";
/// Handshake frames are small; anything longer cannot be one and is not read.
pub const HANDSHAKE_MAX: usize = 128;
pub const SEQ_LEN: usize = 8;
pub const TAG_LEN: usize = 16;
/// Bytes a sealed data frame adds to its payload.
pub const OVERHEAD: usize = SEQ_LEN + TAG_LEN;

const ROLE_DIALER: u8 = b'D';
const ROLE_ACCEPTOR: u8 = b'A';

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    Peer,
    Client,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub version: u16,
    pub kind: Kind,
    pub id: u32,
    pub nonce: [u8; 32],
    pub eph: [u8; 32],
}

#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// The remote side broke the protocol; counted under this reason.
    #[error("rejected: {}", .0.name())]
    Rejected(Reason),
    /// The connection failed or closed; not the remote side's fault as far as we can tell.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl From<FrameError> for HandshakeError {
    fn from(e: FrameError) -> Self {
        match e {
            FrameError::TooLarge { .. } => HandshakeError::Rejected(Reason::Oversize),
            FrameError::Io(e) => HandshakeError::Io(e),
        }
    }
}

type HmacSha256 = Hmac<Sha256>;

fn random32() -> Result<[u8; 32], HandshakeError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| std::io::Error::other(format!("getrandom: {e}")))?;
    Ok(b)
}

fn encode(hello: &Hello) -> Vec<u8> {
    // A fixed-shape struct of integers and arrays: serialization cannot fail.
    postcard::to_allocvec(hello).unwrap_or_default()
}

/// Decode exactly one Hello of the current version (trailing bytes are garbage too).
fn decode(bytes: &[u8]) -> Result<Hello, HandshakeError> {
    match postcard::take_from_bytes::<Hello>(bytes) {
        Ok((hello, rest)) if rest.is_empty() && hello.version == VERSION => Ok(hello),
        _ => Err(HandshakeError::Rejected(Reason::Garbage)),
    }
}

fn transcript_hash(dialer_hello: &[u8], acceptor_hello: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update((dialer_hello.len() as u32).to_be_bytes());
    h.update(dialer_hello);
    h.update((acceptor_hello.len() as u32).to_be_bytes());
    h.update(acceptor_hello);
    h.finalize().into()
}

fn signed_message(role: u8, hash: &[u8; 32]) -> [u8; 33] {
    let mut m = [0u8; 33];
    m[0] = role;
    m[1..].copy_from_slice(hash);
    m
}

fn verify(key: &VerifyingKey, role: u8, hash: &[u8; 32], sig: &[u8]) -> Result<(), HandshakeError> {
    let sig: [u8; 64] = sig.try_into().map_err(|_| HandshakeError::Rejected(Reason::Garbage))?;
    key.verify_strict(&signed_message(role, hash), &Signature::from_bytes(&sig))
        .map_err(|_| HandshakeError::Rejected(Reason::BadSignature))
}

async fn read_small<R: AsyncRead + Unpin>(r: &mut FrameReader<R>) -> Result<Vec<u8>, HandshakeError> {
    match r.read_with_limit(HANDSHAKE_MAX).await {
        Ok(Some(f)) => Ok(f),
        Ok(None) => Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into()),
        // Within the frame limit but too long for a handshake message: not a Hello.
        Err(FrameError::TooLarge { len, .. }) if len <= r.max_frame() => {
            Err(HandshakeError::Rejected(Reason::Garbage))
        }
        Err(e) => Err(e.into()),
    }
}

fn derive_keys(
    eph_secret: [u8; 32],
    peer_eph: [u8; 32],
    hash: &[u8; 32],
) -> Result<LinkKeys, HandshakeError> {
    let shared = MontgomeryPoint(peer_eph).mul_clamped(eph_secret).to_bytes();
    // A low-order point yields an all-zero secret: refuse rather than use a known key.
    if bool::from(shared.ct_eq(&[0u8; 32])) {
        return Err(HandshakeError::Rejected(Reason::Garbage));
    }
    let derive = |dir: &[u8]| -> Result<HmacSha256, HandshakeError> {
        let mut m =
            HmacSha256::new_from_slice(&shared).map_err(|_| HandshakeError::Rejected(Reason::Garbage))?;
        m.update(KEY_LABEL);
        m.update(hash);
        m.update(dir);
        let key = m.finalize().into_bytes();
        HmacSha256::new_from_slice(&key).map_err(|_| HandshakeError::Rejected(Reason::Garbage))
    };
    Ok(LinkKeys { dialer_to_acceptor: derive(b"d2a")?, acceptor_to_dialer: derive(b"a2d")? })
}

struct LinkKeys {
    dialer_to_acceptor: HmacSha256,
    #[allow(dead_code)] // the acceptor never sends data on a dialed link; derived for symmetry
    acceptor_to_dialer: HmacSha256,
}

fn tag(key: &HmacSha256, seq: u64, payload: &[u8]) -> [u8; TAG_LEN] {
    let mut m = key.clone();
    m.update(&seq.to_be_bytes());
    m.update(payload);
    let full = m.finalize().into_bytes();
    let mut t = [0u8; TAG_LEN];
    t.copy_from_slice(&full[..TAG_LEN]);
    t
}

/// The sending half of an authenticated link: numbers and tags outgoing frames.
pub struct Sealer {
    key: HmacSha256,
    next_seq: u64,
}

impl Sealer {
    /// `(seq bytes, tag)` for the next frame carrying `payload`.
    pub fn seal(&mut self, payload: &[u8]) -> ([u8; SEQ_LEN], [u8; TAG_LEN]) {
        let seq = self.next_seq;
        self.next_seq += 1;
        (seq.to_be_bytes(), tag(&self.key, seq, payload))
    }

    /// One whole sealed frame body (what goes inside the length prefix).
    #[cfg(test)]
    pub fn seal_to_vec(&mut self, payload: &[u8]) -> Vec<u8> {
        let (seq, tag) = self.seal(payload);
        let mut v = Vec::with_capacity(payload.len() + OVERHEAD);
        v.extend_from_slice(&seq);
        v.extend_from_slice(payload);
        v.extend_from_slice(&tag);
        v
    }
}

/// A matching sealer and opener under a fixed key, for tests of what carries sealed frames.
#[cfg(test)]
pub fn test_link() -> (Sealer, Opener) {
    let key = HmacSha256::new_from_slice(&[3u8; 32]).expect("any key length is fine for HMAC");
    (Sealer { key: key.clone(), next_seq: 0 }, Opener { key, expected: 0 })
}

/// The receiving half: checks the tag, then that the sequence number is the next one.
pub struct Opener {
    key: HmacSha256,
    expected: u64,
}

impl Opener {
    /// Check one sealed frame body (what was inside the length prefix) and return its payload.
    pub fn open<'a>(&mut self, frame: &'a [u8]) -> Result<&'a [u8], Reason> {
        if frame.len() < OVERHEAD {
            return Err(Reason::Garbage);
        }
        let body_end = frame.len() - TAG_LEN;
        let mut seq = [0u8; SEQ_LEN];
        seq.copy_from_slice(&frame[..SEQ_LEN]);
        let seq = u64::from_be_bytes(seq);
        let want = tag(&self.key, seq, &frame[SEQ_LEN..body_end]);
        if !bool::from(want.ct_eq(&frame[body_end..])) {
            return Err(Reason::BadMac);
        }
        if seq != self.expected {
            return Err(Reason::Replay);
        }
        self.expected += 1;
        Ok(&frame[SEQ_LEN..body_end])
    }
}

/// Dialer side of a replica link to `peer_id`, whose identity must be `peer_key`.
pub async fn dial<R, W>(
    r: &mut FrameReader<R>,
    w: &mut FrameWriter<W>,
    me: u32,
    signing: &SigningKey,
    peer_id: u32,
    peer_key: &VerifyingKey,
) -> Result<Sealer, HandshakeError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let eph_secret = random32()?;
    let eph = MontgomeryPoint::mul_base_clamped(eph_secret).to_bytes();
    let mine = encode(&Hello { version: VERSION, kind: Kind::Peer, id: me, nonce: random32()?, eph });
    w.write(&mine).await?;
    w.flush().await?;
    let theirs = read_small(r).await?;
    let hello = decode(&theirs)?;
    if hello.kind != Kind::Peer || hello.id != peer_id {
        return Err(HandshakeError::Rejected(Reason::UnknownPeer));
    }
    let hash = transcript_hash(&mine, &theirs);
    verify(peer_key, ROLE_ACCEPTOR, &hash, &read_small(r).await?)?;
    let keys = derive_keys(eph_secret, hello.eph, &hash)?;
    w.write(&signing.sign(&signed_message(ROLE_DIALER, &hash)).to_bytes()).await?;
    w.flush().await?;
    Ok(Sealer { key: keys.dialer_to_acceptor, next_seq: 0 })
}

/// What the acceptor learned about an inbound connection.
pub enum Accepted {
    /// A replica in the allow-list, proven by its key.
    Peer { id: u32, opener: Opener },
    /// A client; it has our identity proof and now speaks plain frames.
    Client,
}

/// Acceptor side: `lookup` maps a claimed replica id to its configured key (the allow-list).
pub async fn accept<R, W>(
    r: &mut FrameReader<R>,
    w: &mut FrameWriter<W>,
    me: u32,
    signing: &SigningKey,
    lookup: impl Fn(u32) -> Option<VerifyingKey>,
) -> Result<Accepted, HandshakeError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let theirs = read_small(r).await?;
    let hello = decode(&theirs)?;
    let peer_key = match hello.kind {
        Kind::Peer => Some(lookup(hello.id).ok_or(HandshakeError::Rejected(Reason::UnknownPeer))?),
        Kind::Client => None,
    };
    let eph_secret = random32()?;
    let eph = match hello.kind {
        Kind::Peer => MontgomeryPoint::mul_base_clamped(eph_secret).to_bytes(),
        Kind::Client => [0u8; 32],
    };
    let mine = encode(&Hello { version: VERSION, kind: Kind::Peer, id: me, nonce: random32()?, eph });
    let hash = transcript_hash(&theirs, &mine);
    w.write(&mine).await?;
    w.write(&signing.sign(&signed_message(ROLE_ACCEPTOR, &hash)).to_bytes()).await?;
    w.flush().await?;
    let Some(peer_key) = peer_key else {
        return Ok(Accepted::Client);
    };
    verify(&peer_key, ROLE_DIALER, &hash, &read_small(r).await?)?;
    let keys = derive_keys(eph_secret, hello.eph, &hash)?;
    Ok(Accepted::Peer { id: hello.id, opener: Opener { key: keys.dialer_to_acceptor, expected: 0 } })
}

/// Client side: announce ourselves and, if `expect` is given, check the server's identity.
pub async fn client<R, W>(
    r: &mut FrameReader<R>,
    w: &mut FrameWriter<W>,
    expect: Option<&VerifyingKey>,
) -> Result<(), HandshakeError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mine =
        encode(&Hello { version: VERSION, kind: Kind::Client, id: 0, nonce: random32()?, eph: [0u8; 32] });
    w.write(&mine).await?;
    w.flush().await?;
    let theirs = read_small(r).await?;
    decode(&theirs)?;
    let sig = read_small(r).await?;
    if let Some(key) = expect {
        verify(key, ROLE_ACCEPTOR, &transcript_hash(&mine, &theirs), &sig)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> SigningKey {
        SigningKey::from_bytes(&[b; 32])
    }

    #[test]
    fn opener_checks_tag_then_sequence() {
        let hash = [7u8; 32];
        let a = MontgomeryPoint::mul_base_clamped([1; 32]).to_bytes();
        let b = MontgomeryPoint::mul_base_clamped([2; 32]).to_bytes();
        let k1 = derive_keys([1; 32], b, &hash).unwrap();
        let k2 = derive_keys([2; 32], a, &hash).unwrap();
        let mut sealer = Sealer { key: k1.dialer_to_acceptor, next_seq: 0 };
        let mut opener = Opener { key: k2.dialer_to_acceptor, expected: 0 };
        let f0 = sealer.seal_to_vec(b"hello");
        assert_eq!(opener.open(&f0).unwrap(), b"hello");
        assert_eq!(opener.open(&f0), Err(Reason::Replay));
        let mut f1 = sealer.seal_to_vec(b"x");
        *f1.last_mut().unwrap() ^= 1;
        assert_eq!(opener.open(&f1), Err(Reason::BadMac));
        assert_eq!(opener.open(&[0; OVERHEAD - 1]), Err(Reason::Garbage));
        // The other direction's key does not verify this direction's frames.
        let mut wrong = Opener { key: k2.acceptor_to_dialer, expected: 1 };
        assert_eq!(wrong.open(&sealer.seal_to_vec(b"y")), Err(Reason::BadMac));
    }

    #[test]
    fn low_order_point_is_refused() {
        assert!(derive_keys([1; 32], [0; 32], &[0; 32]).is_err());
    }

    #[tokio::test]
    async fn dial_accept_and_client_handshakes() {
        let (a, b) = (key(1), key(2));
        let (ka, kb) = (a.verifying_key(), b.verifying_key());
        let (s1, s2) = tokio::io::duplex(4096);
        let (r1, w1) = tokio::io::split(s1);
        let (r2, w2) = tokio::io::split(s2);
        let (mut r1, mut w1) = (FrameReader::new(r1, 1 << 20), FrameWriter::new(w1, 1 << 20));
        let (mut r2, mut w2) = (FrameReader::new(r2, 1 << 20), FrameWriter::new(w2, 1 << 20));
        let dialer = async { dial(&mut r1, &mut w1, 1, &a, 2, &kb).await };
        let acceptor = async { accept(&mut r2, &mut w2, 2, &b, |id| (id == 1).then_some(ka)).await };
        let (sealer, accepted) = tokio::join!(dialer, acceptor);
        let mut sealer = sealer.unwrap();
        let Ok(Accepted::Peer { id: 1, mut opener }) = accepted else { panic!("not accepted as peer 1") };
        assert_eq!(opener.open(&sealer.seal_to_vec(b"data")).unwrap(), b"data");

        // A dialer expecting another key refuses the acceptor.
        let (s1, s2) = tokio::io::duplex(4096);
        let (r1, w1) = tokio::io::split(s1);
        let (r2, w2) = tokio::io::split(s2);
        let (mut r1, mut w1) = (FrameReader::new(r1, 1 << 20), FrameWriter::new(w1, 1 << 20));
        let (mut r2, mut w2) = (FrameReader::new(r2, 1 << 20), FrameWriter::new(w2, 1 << 20));
        let wrong = key(3).verifying_key();
        let client_side = async { client(&mut r1, &mut w1, Some(&wrong)).await };
        let acceptor = async { accept(&mut r2, &mut w2, 2, &b, |_| None).await };
        let (c, acc) = tokio::join!(client_side, acceptor);
        assert!(matches!(c, Err(HandshakeError::Rejected(Reason::BadSignature))));
        assert!(matches!(acc, Ok(Accepted::Client)));
    }
}
