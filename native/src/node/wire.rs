//! What travels in transport frames: replica envelopes and the client protocol.

use serde::{Deserialize, Serialize};
use void_core::clock::Timestamp;
use void_core::effect::NodeId;
use void_core::gossip::GossipMsg;
use void_core::pbft::{Body, OpResult, PbftMsg};

pub const WIRE_VERSION: u16 = 1;

/// Longest macaroon accepted in a client request (bytes of text).
pub const MAX_TOKEN_BYTES: usize = 16 << 10;

/// A protocol message between nodes: `{version, from, hlc, body}` plus the destination
/// node (a replica process also hosts its gateway's PBFT clients).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope {
    pub version: u16,
    pub from: NodeId,
    pub to: NodeId,
    pub hlc: Timestamp,
    pub body: Body,
}

impl Envelope {
    pub fn new(from: NodeId, to: NodeId, msg: PbftMsg) -> Envelope {
        Envelope { version: WIRE_VERSION, from, to, hlc: msg.hlc, body: msg.body }
    }

    pub fn into_msg(self) -> (NodeId, NodeId, PbftMsg) {
        (self.from, self.to, PbftMsg { hlc: self.hlc, body: self.body })
    }
}

/// A gossip message between the replicas' gossip members.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GossipEnvelope {
    pub version: u16,
    pub from: NodeId,
    pub to: NodeId,
    pub msg: GossipMsg,
}

/// What one replica-link frame carries.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Frame {
    Pbft(Envelope),
    Gossip(GossipEnvelope),
    /// Several encoded `Pbft`/`Gossip` frames for the same peer, sent in one link frame: a
    /// round of the event loop sends most of its messages to few peers, and a link frame
    /// costs a MAC, a hand-off between tasks and a system call whatever its size. Written
    /// by [`Bundler`], read by [`bundle_parts`]; bundles do not nest.
    Bundle(Vec<Vec<u8>>),
}

/// Postcard's variant index of [`Frame::Bundle`]: the first byte of an encoded bundle.
const BUNDLE_TAG: u8 = 2;

/// Bundles stop growing at this size; a larger message travels alone.
pub const BUNDLE_BYTES: usize = 256 << 10;

fn put_varint(out: &mut Vec<u8>, mut v: usize) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn take_varint(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let mut v = 0usize;
    for (i, b) in bytes.iter().enumerate().take(10) {
        v |= usize::from(b & 0x7f).checked_shl(7 * i as u32)?;
        if b & 0x80 == 0 {
            return Some((v, &bytes[i + 1..]));
        }
    }
    None
}

/// Gathers the encoded frames of one round for one peer into as few link frames as
/// possible, each the postcard encoding of `Frame::Bundle` (or the frame itself when
/// alone), without copying each message twice.
#[derive(Default)]
pub struct Bundler {
    parts: Vec<Vec<u8>>,
    bytes: usize,
}

impl Bundler {
    /// Adds an encoded `Pbft` or `Gossip` frame; returns a finished link frame when the
    /// bundle is full.
    pub fn push(&mut self, frame: Vec<u8>) -> Option<Vec<u8>> {
        let full = (!self.parts.is_empty() && self.bytes + frame.len() > BUNDLE_BYTES).then(|| self.finish());
        self.bytes += frame.len() + 5;
        self.parts.push(frame);
        full.flatten()
    }

    /// The link frame for what was pushed since the last one, if anything was.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        let parts = std::mem::take(&mut self.parts);
        self.bytes = 0;
        match parts.len() {
            0 => None,
            1 => parts.into_iter().next(),
            n => {
                let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 5).sum::<usize>() + 6);
                out.push(BUNDLE_TAG);
                put_varint(&mut out, n);
                for p in &parts {
                    put_varint(&mut out, p.len());
                    out.extend_from_slice(p);
                }
                Some(out)
            }
        }
    }
}

/// What a link frame's payload holds: the frame itself, the parts of a bundle (borrowed
/// from it), or an error naming what is wrong.
pub enum LinkFrame<'a> {
    One(&'a [u8]),
    Bundle(Vec<&'a [u8]>),
}

/// Splits a link frame into its encoded `Pbft`/`Gossip` frames without decoding them.
pub fn bundle_parts(payload: &[u8]) -> Result<LinkFrame<'_>, &'static str> {
    if payload.first() != Some(&BUNDLE_TAG) {
        return Ok(LinkFrame::One(payload));
    }
    let (n, mut rest) = take_varint(&payload[1..]).ok_or("undecodable")?;
    // Every part takes at least one byte: a count beyond that is a lie, refused before
    // anything is allocated for it.
    if n > rest.len() {
        return Err("undecodable");
    }
    let mut parts = Vec::with_capacity(n);
    for _ in 0..n {
        let (len, r) = take_varint(rest).ok_or("undecodable")?;
        if len > r.len() {
            return Err("undecodable");
        }
        let (part, r) = r.split_at(len);
        if part.first() == Some(&BUNDLE_TAG) {
            return Err("nested_bundle");
        }
        parts.push(part);
        rest = r;
    }
    if !rest.is_empty() {
        return Err("undecodable");
    }
    Ok(LinkFrame::Bundle(parts))
}

/// Longest broadcast payload accepted from a client (bytes).
pub const MAX_BROADCAST_BYTES: usize = 4096;

/// An operation a client asks for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ClientOp {
    Put {
        key: String,
        value: String,
    },
    Get {
        key: String,
        at: Option<Timestamp>,
    },
    Delete {
        key: String,
    },
    Cas {
        key: String,
        expected: Option<String>,
        new: String,
    },
    /// Send `text` to every node through Plumtree.
    Broadcast {
        text: String,
    },
}

impl ClientOp {
    /// The `op = X` name capabilities speak of.
    pub fn name(&self) -> &'static str {
        match self {
            ClientOp::Put { .. } => "put",
            ClientOp::Get { .. } => "get",
            ClientOp::Delete { .. } => "delete",
            ClientOp::Cas { .. } => "cas",
            ClientOp::Broadcast { .. } => "broadcast",
        }
    }

    /// The key it acts on (`key-prefix` caveats); a broadcast has none.
    pub fn key(&self) -> Option<&str> {
        match self {
            ClientOp::Put { key, .. }
            | ClientOp::Get { key, .. }
            | ClientOp::Delete { key }
            | ClientOp::Cas { key, .. } => Some(key),
            ClientOp::Broadcast { .. } => None,
        }
    }
}

/// A client frame: one request; answers come back tagged with `id`, possibly out of order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientRequest {
    pub version: u16,
    pub id: u64,
    /// Macaroon text (any format `void macaroon` reads).
    pub token: String,
    /// Discharges bound to `token`, for third-party caveats.
    pub discharges: Vec<String>,
    pub user: Option<String>,
    pub op: ClientOp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ClientOutcome {
    Done(OpResult),
    /// A broadcast left this node with this message id (`origin:seq`).
    Broadcast(String),
    /// The capability does not allow this request; the text names the caveat.
    Denied(String),
    /// The request was malformed or could not be served (the text says why).
    Error(String),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientResponse {
    pub id: u64,
    /// The node that answered, and its view of who leads.
    pub node: u32,
    pub outcome: ClientOutcome,
}

#[cfg(test)]
mod tests {
    use super::*;
    use void_core::pbft::Body;

    fn frame(i: u8) -> Vec<u8> {
        let env = Envelope {
            version: WIRE_VERSION,
            from: NodeId(u32::from(i)),
            to: NodeId(1),
            hlc: Timestamp::ZERO,
            body: Body::FetchState { seq: u64::from(i) * 1000 },
        };
        postcard::to_allocvec(&Frame::Pbft(env)).unwrap()
    }

    fn parts(payload: &[u8]) -> Vec<Vec<u8>> {
        match bundle_parts(payload).unwrap() {
            LinkFrame::One(p) => vec![p.to_vec()],
            LinkFrame::Bundle(ps) => ps.into_iter().map(<[u8]>::to_vec).collect(),
        }
    }

    #[test]
    fn a_bundle_is_the_postcard_encoding_of_frame_bundle_and_splits_back() {
        let frames: Vec<Vec<u8>> = (0..200).map(frame).collect();
        let mut b = Bundler::default();
        for f in &frames {
            assert!(b.push(f.clone()).is_none());
        }
        let out = b.finish().unwrap();
        assert!(b.finish().is_none(), "a finished bundler starts empty");
        match postcard::from_bytes::<Frame>(&out).unwrap() {
            Frame::Bundle(decoded) => assert_eq!(decoded, frames),
            other => panic!("decoded as {other:?}"),
        }
        assert_eq!(parts(&out), frames);
    }

    #[test]
    fn a_lone_message_travels_unbundled_and_full_bundles_are_cut() {
        let mut b = Bundler::default();
        assert!(b.push(frame(1)).is_none());
        assert_eq!(b.finish().unwrap(), frame(1));
        let big = vec![0u8; BUNDLE_BYTES - 20];
        let mut b = Bundler::default();
        assert!(b.push(frame(1)).is_none());
        assert!(b.push(big.clone()).is_none());
        let first = b.push(frame(2)).expect("the third frame no longer fits");
        assert_eq!(parts(&first), vec![frame(1), big]);
        assert_eq!(b.finish().unwrap(), frame(2));
    }

    #[test]
    fn hostile_bundles_are_refused_without_allocating_for_their_claims() {
        // A count far beyond the bytes present.
        assert!(matches!(bundle_parts(&[BUNDLE_TAG, 0xff, 0xff, 0xff, 0xff, 0x0f]), Err("undecodable")));
        // A part longer than what is left, a truncated varint, trailing bytes.
        assert!(matches!(bundle_parts(&[BUNDLE_TAG, 1, 5, 0]), Err("undecodable")));
        assert!(matches!(bundle_parts(&[BUNDLE_TAG, 0x80]), Err("undecodable")));
        assert!(matches!(bundle_parts(&[BUNDLE_TAG, 1, 1, 0, 9]), Err("undecodable")));
        // A varint of more than ten bytes.
        assert!(
            bundle_parts(&[BUNDLE_TAG, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])
                .is_err()
        );
        // Bundles do not nest.
        let mut b = Bundler::default();
        b.push(frame(1));
        b.push(frame(2));
        let inner = b.finish().unwrap();
        let mut b = Bundler::default();
        b.push(frame(3));
        b.push(inner);
        assert!(matches!(bundle_parts(&b.finish().unwrap()), Err("nested_bundle")));
        // Random bytes never panic.
        let mut x = 0x9e37_79b9_u32;
        for n in 0..2000 {
            let bytes: Vec<u8> = (0..n % 64)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            let mut p = vec![BUNDLE_TAG];
            p.extend(bytes);
            let _ = bundle_parts(&p);
        }
    }
}
