//! The messages of Castro & Liskov's PBFT, named as in the paper.
//!
//! Normal-case messages (`PrePrepare`, `Prepare`, `Commit`) carry an *authenticator*: a
//! vector of MACs, one per replica, each under the pairwise key of sender and receiver.
//! `Checkpoint`, `ViewChange` and `NewView` are signed (Ed25519) because they are shown
//! to third parties: checkpoint certificates travel inside view changes, and view
//! changes inside new-view messages. Every message carries the sender's HLC stamp.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::app::{Op, OpResult};
use super::config::{Config, SeqNo, View};
use crate::clock::Timestamp;
use crate::effect::{Message, NodeId};

/// SHA-256 digest (of a batch, a request, or a state snapshot).
pub type Digest = [u8; 32];

/// An HMAC-SHA256 tag truncated to 16 bytes (RFC 2104 allows truncation to half).
pub type Mac = [u8; 16];

/// A MAC for every replica, indexed by replica id (Castro & Liskov §5.1, "authenticators").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authenticator(pub Vec<Mac>);

/// An Ed25519 signature (64 bytes, kept as two halves for serde).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigBytes(pub [u8; 32], pub [u8; 32]);

/// A value with its signer's signature over `postcard(value)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed<T> {
    pub value: T,
    pub sig: SigBytes,
}

/// ⟨REQUEST, o, t, c⟩: operation, timestamp (orders one client's requests), client, and
/// the replica the client designates to send the full result (TOCS §5.1, digest replies).
/// The operation is shared (encoded as the `Op` itself), so the waiting table and the
/// `Executed` event take it without copying its strings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub op: Arc<Op>,
    pub timestamp: u64,
    pub client: NodeId,
    pub replier: NodeId,
}

/// A request with the client's authenticator (one MAC per replica), so every backup can
/// check for itself that the client sent it, even when the primary relays it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthRequest {
    pub request: Request,
    pub auth: Authenticator,
}

/// The requests one pre-prepare orders, stamped with the primary's HLC. An empty batch is
/// the paper's null request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub hlc: Timestamp,
    pub requests: Vec<AuthRequest>,
}

/// Batches are shared, not copied, between the pre-prepare, the log entry, the committed
/// slot, the P claim and the messages that carry them.
pub type SharedBatch = Arc<Batch>;

impl Batch {
    /// The null request the new primary uses to fill gaps (deterministic, so every backup
    /// recomputes the same new-view message).
    pub fn null() -> Batch {
        Batch { hlc: Timestamp::ZERO, requests: Vec::new() }
    }
}

/// ⟨PRE-PREPARE, v, n, d⟩ (the batch `m` travels beside it, bound by `d`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrePrepare {
    pub view: View,
    pub seq: SeqNo,
    pub digest: Digest,
}

/// ⟨PREPARE, v, n, d, i⟩.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prepare {
    pub view: View,
    pub seq: SeqNo,
    pub digest: Digest,
    pub replica: NodeId,
}

/// ⟨COMMIT, v, n, d, i⟩.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    pub view: View,
    pub seq: SeqNo,
    pub digest: Digest,
    pub replica: NodeId,
}

/// ⟨REPLY, v, t, c, i, r⟩, MAC'd under the replica–client key. Only the replica the
/// request designates sends the result; the others send its digest (TOCS §5.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub view: View,
    pub timestamp: u64,
    pub client: NodeId,
    pub replica: NodeId,
    pub result: ReplyResult,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReplyResult {
    Full(OpResult),
    Digest(Digest),
}

/// What a reply's MAC covers: the reply with the result replaced by its digest, so a full
/// and a digest reply with the same result carry the same MAC input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyMacInput {
    pub view: View,
    pub timestamp: u64,
    pub client: NodeId,
    pub replica: NodeId,
    pub result: Digest,
}

/// ⟨CHECKPOINT, n, d, i⟩: the state digest after executing sequence number `n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: SeqNo,
    pub digest: Digest,
    pub replica: NodeId,
}

/// P: a request that prepared at the sender, in the highest view it prepared in. The batch
/// rides along so the new primary can re-propose it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreparedClaim {
    pub seq: SeqNo,
    pub digest: Digest,
    pub view: View,
    pub batch: SharedBatch,
}

/// Q: a digest that pre-prepared at the sender at `seq`, with the latest view it did so.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrePreparedClaim {
    pub seq: SeqNo,
    pub digest: Digest,
    pub view: View,
}

/// ⟨VIEW-CHANGE, v+1, n, C, P, Q, i⟩ (TOCS §4.5's P and Q sets; C is the stable
/// checkpoint's certificate of 2f + 1 signed checkpoints, empty for the initial state).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewChange {
    pub new_view: View,
    pub stable_seq: SeqNo,
    pub checkpoint_proof: Vec<Signed<Checkpoint>>,
    pub prepared: Vec<PreparedClaim>,
    pub pre_prepared: Vec<PrePreparedClaim>,
    pub replica: NodeId,
}

/// One entry of the new view's O set: the pre-prepare for `seq` in the new view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reproposal {
    pub seq: SeqNo,
    pub digest: Digest,
    pub batch: SharedBatch,
}

/// ⟨NEW-VIEW, v+1, V, O⟩, signed by the new primary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewView {
    pub view: View,
    pub view_changes: Vec<Signed<ViewChange>>,
    pub pre_prepares: Vec<Reproposal>,
}

/// What travels between nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Body {
    Request(AuthRequest),
    PrePrepare {
        pp: PrePrepare,
        batch: SharedBatch,
        auth: Authenticator,
    },
    Prepare {
        p: Prepare,
        auth: Authenticator,
    },
    Commit {
        c: Commit,
        auth: Authenticator,
    },
    Reply {
        r: Reply,
        mac: Mac,
    },
    // Boxed: rare and large, they would otherwise set the size of every message and
    // effect the normal case moves around (serde encodes a box as its contents).
    Checkpoint(Box<Signed<Checkpoint>>),
    ViewChange(Box<Signed<ViewChange>>),
    NewView(Box<Signed<NewView>>),
    /// State transfer: ask for the snapshot of checkpoint `seq`.
    FetchState {
        seq: SeqNo,
    },
    /// A stable checkpoint's certificate and its state (self-certifying: the snapshot's
    /// SHA-256 must be the digest 2f + 1 replicas signed).
    State {
        proof: Vec<Signed<Checkpoint>>,
        snapshot: Vec<u8>,
    },
    /// Ask for committed batches `from..=to`.
    FetchCommitted {
        from: SeqNo,
        to: SeqNo,
    },
    /// A batch the sender committed at `seq`; f + 1 matching ones convince the receiver.
    Committed {
        seq: SeqNo,
        batch: SharedBatch,
        replica: NodeId,
        mac: Mac,
    },
    /// Ask for the new-view message that started `view` (a replica that missed it).
    FetchNewView {
        view: View,
    },
}

/// A message with the sender's HLC stamp.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PbftMsg {
    pub hlc: Timestamp,
    pub body: Body,
}

impl Message for PbftMsg {
    fn hlc(&self) -> Option<Timestamp> {
        Some(self.hlc)
    }

    fn kind(&self) -> &'static str {
        self.body.kind()
    }

    fn carries_payload(&self) -> bool {
        matches!(self.body, Body::Request(_) | Body::PrePrepare { .. })
    }
}

impl Body {
    pub fn kind(&self) -> &'static str {
        match self {
            Body::Request(_) => "Request",
            Body::PrePrepare { .. } => "PrePrepare",
            Body::Prepare { .. } => "Prepare",
            Body::Commit { .. } => "Commit",
            Body::Reply { .. } => "Reply",
            Body::Checkpoint(_) => "Checkpoint",
            Body::ViewChange(_) => "ViewChange",
            Body::NewView(_) => "NewView",
            Body::FetchState { .. } => "FetchState",
            Body::State { .. } => "State",
            Body::FetchCommitted { .. } => "FetchCommitted",
            Body::Committed { .. } => "Committed",
            Body::FetchNewView { .. } => "FetchNewView",
        }
    }
}

/// Largest encoded message accepted (checked before decoding).
pub const MAX_MESSAGE_BYTES: usize = 16 << 20;

/// Why bytes are not a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message is {size} bytes, more than the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("message out of bounds: {0}")]
    Bounds(&'static str),
}

/// Decode and bound-check a message from untrusted bytes; never panics.
pub fn decode(bytes: &[u8], cfg: &Config) -> Result<PbftMsg, DecodeError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(DecodeError::TooLarge { size: bytes.len(), limit: MAX_MESSAGE_BYTES });
    }
    let msg: PbftMsg =
        postcard::from_bytes(bytes).map_err(|e| DecodeError::Malformed(alloc::format!("{e}")))?;
    check_bounds(&msg.body, cfg).map_err(DecodeError::Bounds)?;
    Ok(msg)
}

pub fn encode(msg: &PbftMsg) -> Vec<u8> {
    postcard::to_allocvec(msg).unwrap_or_default()
}

fn request_ok(r: &AuthRequest, cfg: &Config) -> bool {
    r.request.op.is_bounded() && r.auth.0.len() == cfg.n as usize && cfg.is_replica(r.request.replier)
}

fn batch_ok(b: &Batch, cfg: &Config) -> bool {
    b.requests.len() <= cfg.max_batch as usize && b.requests.iter().all(|r| request_ok(r, cfg))
}

fn view_change_ok(vc: &ViewChange, cfg: &Config) -> bool {
    let window = cfg.log_window as usize;
    vc.checkpoint_proof.len() <= cfg.n as usize
        && vc.prepared.len() <= window
        && vc.pre_prepared.len() <= window * 4
        && vc.prepared.iter().all(|p| batch_ok(&p.batch, cfg))
}

/// Sizes a correct sender never exceeds; anything bigger is refused before use.
pub fn check_bounds(body: &Body, cfg: &Config) -> Result<(), &'static str> {
    let ok = match body {
        Body::Request(r) => request_ok(r, cfg),
        Body::PrePrepare { batch, auth, .. } => batch_ok(batch, cfg) && auth.0.len() == cfg.n as usize,
        Body::Prepare { auth, .. } | Body::Commit { auth, .. } => auth.0.len() == cfg.n as usize,
        Body::ViewChange(vc) => view_change_ok(&vc.value, cfg),
        Body::NewView(nv) => {
            nv.value.view_changes.len() <= cfg.n as usize
                && nv.value.view_changes.iter().all(|v| view_change_ok(&v.value, cfg))
                && nv.value.pre_prepares.len() <= cfg.log_window as usize
                && nv.value.pre_prepares.iter().all(|p| batch_ok(&p.batch, cfg))
        }
        Body::Committed { batch, .. } => batch_ok(batch, cfg),
        Body::State { proof, .. } => proof.len() <= cfg.n as usize,
        Body::Reply { .. }
        | Body::Checkpoint(_)
        | Body::FetchState { .. }
        | Body::FetchCommitted { .. }
        | Body::FetchNewView { .. } => true,
    };
    if ok { Ok(()) } else { Err("a list or a string is longer than the configuration allows") }
}
