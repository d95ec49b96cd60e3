//! Practical Byzantine Fault Tolerance (Castro & Liskov, "Practical Byzantine Fault
//! Tolerance", OSDI '99, and "Practical Byzantine Fault Tolerance and Proactive
//! Recovery", TOCS 2002) as a sans-IO state machine.
//!
//! `n = 3f + 1` replicas (nodes `0..n`) order client requests; clients are nodes
//! `n..n + c`. Read the files beside the paper:
//!
//! | paper | here |
//! |---|---|
//! | §4.1 client, at-most-once | [`client`], `replica/normal.rs` (last-reply table) |
//! | §4.2 normal case: pre-prepare, prepare, commit, `prepared`, `committed-local` | `replica/normal.rs`, [`log`] |
//! | §4.3 checkpoints, stable checkpoint, watermarks h and H = h + L | `replica/checkpoint.rs` |
//! | §4.4 view changes, V and O, null requests; TOCS §4.5 P, Q and the decision | `replica/view_change.rs` |
//! | §5.1 MAC authenticators; signatures for what third parties must check | [`auth`] |
//! | state transfer | `replica/state_transfer.rs` |
//! | the service | [`app`] (a key-value store on the HLC-versioned `VersionStore`) |
//!
//! The simulator runs it from scenarios ([`sim`]); invariants ([`invariants`]) check
//! agreement, checkpoint digests, validity, at-most-once, linearizability and liveness.

pub mod app;
pub mod auth;
pub mod byzantine;
pub mod client;
pub mod config;
pub mod events;
pub mod invariants;
pub mod log;
pub mod messages;
pub mod metrics;
pub mod replica;
pub mod sim;

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

pub use app::{KvApp, Op, OpResult};
pub use auth::{ClusterKeys, Keyring};
pub use byzantine::{Behaviour, Bug};
pub use client::{Client, Workload};
pub use config::{Config, ConfigError, SeqNo, View};
pub use events::PbftEvent;
pub use messages::{Body, PbftMsg};
pub use replica::Replica;

use crate::effect::{Effect, Env, Input, Protocol};

pub(crate) type Out = Vec<Effect<PbftNode>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
pub enum PbftTimer {
    /// Primary: the batching delay ran out.
    Batch,
    /// Backup: a request waited too long, or a new view did not start in time.
    ViewChange,
    /// A lagging replica asks for what it misses.
    Fetch,
    /// A `slow` Byzantine replica handles what it held back.
    SlowFlush,
    /// Client: think time is over, send the next request.
    Think,
    /// Client: no f + 1 matching replies yet, retransmit to all replicas.
    Retry,
}

/// Commands from outside: a client node runs an operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PbftCommand {
    Submit(Op),
}

/// The answer to a [`PbftCommand::Submit`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientReply {
    pub client: crate::effect::NodeId,
    pub timestamp: u64,
    pub result: OpResult,
}

/// A node of a PBFT deployment: a replica or a client.
pub enum PbftNode {
    Replica(Box<Replica>),
    Client(Box<Client>),
}

impl PbftNode {
    pub fn replica(&self) -> Option<&Replica> {
        match self {
            PbftNode::Replica(r) => Some(r),
            PbftNode::Client(_) => None,
        }
    }

    pub fn client(&self) -> Option<&Client> {
        match self {
            PbftNode::Client(c) => Some(c),
            PbftNode::Replica(_) => None,
        }
    }
}

impl Protocol for PbftNode {
    type Msg = PbftMsg;
    type Timer = PbftTimer;
    type Command = PbftCommand;
    type Reply = ClientReply;
    type Event = PbftEvent;

    fn on_input(&mut self, input: Input<Self>, env: &mut Env<'_>, out: &mut Vec<Effect<Self>>) {
        match self {
            PbftNode::Replica(r) => match input {
                Input::Start | Input::Unreachable { .. } | Input::Command(_) => {}
                Input::Restart(p) => r.restart(p, env, out),
                Input::Message { from, msg } => r.on_message(from, msg, env, out),
                Input::Timer(t) => r.on_timer(t, env, out),
                Input::Misbehave(b) => r.misbehave(&b, env, out),
            },
            PbftNode::Client(c) => match input {
                Input::Start | Input::Restart(_) => c.start(env, out),
                Input::Message { from, msg } => c.on_message(from, msg, env, out),
                Input::Timer(t) => c.on_timer(t, env, out),
                Input::Command(PbftCommand::Submit(op)) => c.submit_command(op, env, out),
                Input::Unreachable { .. } | Input::Misbehave(_) => {}
            },
        }
    }

    fn role(&self) -> &'static str {
        match self {
            // During a view change nobody leads yet: the next primary only once its view is on.
            PbftNode::Replica(r) if r.is_primary() && r.active => "primary",
            PbftNode::Replica(_) => "backup",
            PbftNode::Client(_) => "client",
        }
    }

    fn inspect(&self) -> Vec<(String, String)> {
        match self {
            PbftNode::Replica(r) => r.inspect(),
            PbftNode::Client(c) => c.inspect(),
        }
    }

    fn misbehaviour(&self) -> Option<&'static str> {
        match self {
            PbftNode::Replica(r) if r.behaviour() != byzantine::Behaviour::Honest => {
                Some(r.behaviour().name())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
