//! What PBFT nodes report to the outside: one event per protocol step, each naming the
//! rule of the paper that caused it.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::app::{Op, OpResult};
use super::config::{SeqNo, View};
use super::messages::Digest;
use crate::clock::Timestamp;
use crate::effect::{NodeId, ProtocolEvent};

/// One request as executed: the client, its timestamp and the operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutedRequest {
    pub client: NodeId,
    pub timestamp: u64,
    pub op: Arc<Op>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PbftEvent {
    /// A pre-prepare was accepted (backup) or sent (primary).
    PrePrepared {
        view: View,
        seq: SeqNo,
        digest: Digest,
        requests: u32,
        hlc: Timestamp,
    },
    /// `prepared(m, v, n, i)` became true.
    Prepared {
        view: View,
        seq: SeqNo,
        digest: Digest,
        hlc: Timestamp,
    },
    /// `committed-local(m, v, n, i)` became true, or f + 1 replicas reported the batch.
    Committed {
        view: View,
        seq: SeqNo,
        digest: Digest,
        transferred: bool,
        hlc: Timestamp,
    },
    /// The batch at `seq` was executed, in sequence order; `requests` lists those that
    /// ran (requests already executed earlier are skipped).
    Executed {
        seq: SeqNo,
        digest: Digest,
        requests: Vec<ExecutedRequest>,
        hlc: Timestamp,
    },
    /// A checkpoint of the state after `seq`.
    CheckpointTaken {
        seq: SeqNo,
        digest: Digest,
        hlc: Timestamp,
    },
    /// 2f + 1 matching signed checkpoints: the low watermark moves to `seq`.
    CheckpointStable {
        seq: SeqNo,
        hlc: Timestamp,
    },
    ViewChangeStarted {
        view: View,
        reason: String,
        hlc: Timestamp,
    },
    NewViewEntered {
        view: View,
        reproposed: u32,
        hlc: Timestamp,
    },
    /// The state of checkpoint `seq` was fetched and installed.
    StateTransferred {
        seq: SeqNo,
        hlc: Timestamp,
    },
    /// A message was refused; `reason` names the rule it broke.
    Rejected {
        from: NodeId,
        kind: String,
        reason: String,
    },
    /// This node switched behaviour.
    Behaviour {
        name: String,
        hlc: Timestamp,
    },
    /// A client sent a request.
    Invoked {
        client: NodeId,
        timestamp: u64,
        op: Arc<Op>,
        hlc: Timestamp,
    },
    /// A client accepted a result after f + 1 matching replies.
    Completed {
        client: NodeId,
        timestamp: u64,
        op: Arc<Op>,
        result: OpResult,
        hlc: Timestamp,
    },
}

fn short(d: &Digest) -> String {
    format!("{:02x}{:02x}{:02x}{:02x}", d[0], d[1], d[2], d[3])
}

impl ProtocolEvent for PbftEvent {
    fn kind(&self) -> &'static str {
        match self {
            PbftEvent::PrePrepared { .. } => "PrePrepared",
            PbftEvent::Prepared { .. } => "Prepared",
            PbftEvent::Committed { .. } => "Committed",
            PbftEvent::Executed { .. } => "Executed",
            PbftEvent::CheckpointTaken { .. } => "CheckpointTaken",
            PbftEvent::CheckpointStable { .. } => "CheckpointStable",
            PbftEvent::ViewChangeStarted { .. } => "ViewChange",
            PbftEvent::NewViewEntered { .. } => "NewView",
            PbftEvent::StateTransferred { .. } => "StateTransferred",
            PbftEvent::Rejected { .. } => "Rejected",
            PbftEvent::Behaviour { .. } => "Behaviour",
            PbftEvent::Invoked { .. } => "Invoked",
            PbftEvent::Completed { .. } => "Completed",
        }
    }

    fn describe(&self) -> String {
        match self {
            PbftEvent::PrePrepared { view, seq, digest, requests, .. } => format!(
                "pre-prepared n={seq} in view {view} (d={}, {requests} requests): in view, within h..H, no other digest for (v, n) (§4.2)",
                short(digest)
            ),
            PbftEvent::Prepared { view, seq, digest, .. } => format!(
                "prepared n={seq} in view {view} (d={}): pre-prepare plus 2f matching prepares (§4.2)",
                short(digest)
            ),
            PbftEvent::Committed { view, seq, digest, transferred: false, .. } => format!(
                "committed-local n={seq} in view {view} (d={}): prepared plus 2f + 1 matching commits (§4.2)",
                short(digest)
            ),
            PbftEvent::Committed { seq, digest, .. } => format!(
                "learned committed n={seq} (d={}) from f + 1 matching replicas (state transfer)",
                short(digest)
            ),
            PbftEvent::Executed { seq, requests, .. } => format!(
                "executed n={seq} ({} requests): all lower sequence numbers executed first (§4.2)",
                requests.len()
            ),
            PbftEvent::CheckpointTaken { seq, digest, .. } => {
                format!("checkpoint at n={seq}, state digest {}: every K requests (§4.3)", short(digest))
            }
            PbftEvent::CheckpointStable { seq, .. } => format!(
                "checkpoint n={seq} is stable (2f + 1 signed matches): h = {seq}, log below discarded (§4.3)"
            ),
            PbftEvent::ViewChangeStarted { view, reason, .. } => {
                format!("starts a view change to view {view}: {reason} (§4.4)")
            }
            PbftEvent::NewViewEntered { view, reproposed, .. } => format!(
                "enters view {view} with {reproposed} re-proposed sequence numbers (O set from V, §4.4)"
            ),
            PbftEvent::StateTransferred { seq, .. } => {
                format!("installed checkpoint n={seq} fetched from others, checked against 2f + 1 signatures")
            }
            PbftEvent::Rejected { from, kind, reason } => {
                format!("rejects {kind} from node {from}: {reason}")
            }
            PbftEvent::Behaviour { name, .. } => format!("switches its behaviour to {name}"),
            PbftEvent::Invoked { timestamp, op, .. } => {
                format!("sends request with timestamp {timestamp}: {op}")
            }
            PbftEvent::Completed { timestamp, result, .. } => {
                format!("accepts the result of request {timestamp} after f + 1 matching replies: {result}")
            }
        }
    }

    fn hlc(&self) -> Option<crate::clock::Timestamp> {
        match self {
            PbftEvent::PrePrepared { hlc, .. }
            | PbftEvent::Prepared { hlc, .. }
            | PbftEvent::Committed { hlc, .. }
            | PbftEvent::Executed { hlc, .. }
            | PbftEvent::CheckpointTaken { hlc, .. }
            | PbftEvent::CheckpointStable { hlc, .. }
            | PbftEvent::ViewChangeStarted { hlc, .. }
            | PbftEvent::NewViewEntered { hlc, .. }
            | PbftEvent::StateTransferred { hlc, .. }
            | PbftEvent::Behaviour { hlc, .. }
            | PbftEvent::Invoked { hlc, .. }
            | PbftEvent::Completed { hlc, .. } => Some(*hlc),
            // A refusal does not tick the clock.
            PbftEvent::Rejected { .. } => None,
        }
    }

    fn rejection(&self) -> Option<&str> {
        match self {
            PbftEvent::Rejected { reason, .. } => Some(reason),
            _ => None,
        }
    }
}
