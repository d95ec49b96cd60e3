//! What a PBFT run must satisfy, checked on the event stream: safety (agreement, equal
//! checkpoint digests, validity, at-most-once, linearizability of what clients saw) and
//! liveness (after the last fault, every request completes within a bound). Replicas the
//! scenario makes Byzantine are exempt from the per-replica properties.

mod agreement;
mod linearizability;
mod liveness;
mod validity;

use alloc::vec::Vec;

pub use agreement::{Agreement, CheckpointDigests};
pub use linearizability::{HistoryOp, Linearizable, Verdict, check_key};
pub use liveness::Liveness;
pub use validity::{AtMostOnce, Validity};

use super::PbftNode;
use super::events::PbftEvent;
use crate::effect::NodeId;
use crate::sim::{TraceEvent, TraceKind};

/// The replicas known to be faulty: Byzantine from the start, or turned so by a fault.
#[derive(Clone, Debug, Default)]
pub struct Faulty(Vec<NodeId>);

impl Faulty {
    pub fn new(initial: &[NodeId]) -> Self {
        Faulty(initial.to_vec())
    }

    /// Track `misbehave` faults; true if `ev` comes from a correct node.
    pub fn correct(&mut self, ev: &TraceEvent<PbftNode>) -> bool {
        if let TraceKind::Misbehave(b) = &ev.kind
            && b != "honest"
            && !self.0.contains(&ev.node)
        {
            self.0.push(ev.node);
        }
        !self.0.contains(&ev.node)
    }
}

pub(crate) fn observed(ev: &TraceEvent<PbftNode>) -> Option<&PbftEvent> {
    match &ev.kind {
        TraceKind::Observe(e) => Some(e),
        _ => None,
    }
}
