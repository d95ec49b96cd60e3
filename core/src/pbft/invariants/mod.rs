//! What a PBFT run must satisfy, checked on the event stream: safety (agreement, equal
//! checkpoint digests, validity, at-most-once, linearizability of what clients saw) and
//! liveness (after the last fault, every request completes within a bound). Replicas the
//! scenario makes Byzantine are exempt from the per-replica properties.

mod agreement;
mod linearizability;
mod liveness;
mod validity;

use alloc::collections::BTreeMap;
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

/// A request: its client and timestamp.
pub(crate) type RequestId = (NodeId, u64);

/// Values by request, kept in arrival order behind a `BTreeMap<RequestId, u64>` of
/// positions: the one B-tree type every request-keyed checker and metric shares (each
/// `BTreeMap<K, V>` type compiles its own copy of the B-tree into the browser's bundle).
pub(crate) struct ByRequest<V> {
    at: BTreeMap<RequestId, u64>,
    values: Vec<V>,
}

impl<V> ByRequest<V> {
    pub(crate) fn new() -> Self {
        ByRequest { at: BTreeMap::new(), values: Vec::new() }
    }

    /// Inserts or replaces; returns the value replaced.
    pub(crate) fn insert(&mut self, id: RequestId, value: V) -> Option<V> {
        match self.at.get(&id) {
            Some(&i) => Some(core::mem::replace(&mut self.values[i as usize], value)),
            None => {
                self.at.insert(id, self.values.len() as u64);
                self.values.push(value);
                None
            }
        }
    }

    pub(crate) fn get(&self, id: &RequestId) -> Option<&V> {
        self.at.get(id).map(|&i| &self.values[i as usize])
    }

    /// In request order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&RequestId, &V)> {
        self.at.iter().map(|(id, &i)| (id, &self.values[i as usize]))
    }
}
