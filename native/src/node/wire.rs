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
