//! What travels in transport frames: replica envelopes and the client protocol.

use serde::{Deserialize, Serialize};
use void_core::clock::Timestamp;
use void_core::effect::NodeId;
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

/// An operation a client asks for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ClientOp {
    Put { key: String, value: String },
    Get { key: String, at: Option<Timestamp> },
    Delete { key: String },
    Cas { key: String, expected: Option<String>, new: String },
}

impl ClientOp {
    /// The `op = X` name capabilities speak of.
    pub fn name(&self) -> &'static str {
        match self {
            ClientOp::Put { .. } => "put",
            ClientOp::Get { .. } => "get",
            ClientOp::Delete { .. } => "delete",
            ClientOp::Cas { .. } => "cas",
        }
    }

    pub fn key(&self) -> &str {
        match self {
            ClientOp::Put { key, .. }
            | ClientOp::Get { key, .. }
            | ClientOp::Delete { key }
            | ClientOp::Cas { key, .. } => key,
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
