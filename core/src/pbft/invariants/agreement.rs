//! Agreement: no two correct replicas commit different batches at the same sequence
//! number (Castro & Liskov §4.2, the safety property of `committed-local`). And equal
//! state digests at equal checkpoints.

use alloc::format;
use alloc::string::String;

use super::{Faulty, observed};
use crate::check::{CheckCtx, Invariant};
use crate::effect::NodeId;
use crate::pbft::PbftNode;
use crate::pbft::config::SeqNo;
use crate::pbft::events::PbftEvent;
use crate::pbft::messages::Digest;
use crate::sim::TraceEvent;
use crate::vecmap::VecMap;

fn hex4(d: &Digest) -> String {
    format!("{:02x}{:02x}{:02x}{:02x}", d[0], d[1], d[2], d[3])
}

pub struct Agreement {
    faulty: Faulty,
    /// Sequence numbers are decided roughly in order (within the log window): inserts land
    /// at or near the end.
    /// Each decided sequence number's digest, the replica and the trace event that decided it.
    decided: VecMap<SeqNo, (Digest, NodeId, u64)>,
}

impl Agreement {
    pub fn new(faulty: &[NodeId]) -> Self {
        Agreement { faulty: Faulty::new(faulty), decided: VecMap::new() }
    }
}

impl Invariant<PbftNode> for Agreement {
    fn name(&self) -> &'static str {
        "agreement"
    }
    fn about(&self) -> &'static str {
        "no two correct replicas commit different batches at the same sequence number"
    }

    fn observe(&mut self, ev: &TraceEvent<PbftNode>, _ctx: &CheckCtx<'_>) -> Result<(), String> {
        if !self.faulty.correct(ev) {
            return Ok(());
        }
        let (seq, digest) = match observed(ev) {
            Some(PbftEvent::Committed { seq, digest, .. } | PbftEvent::Executed { seq, digest, .. }) => {
                (*seq, *digest)
            }
            _ => return Ok(()),
        };
        match self.decided.get(&seq) {
            Some((d, other, first)) if *d != digest => Err(format!(
                "replicas {other} and {} committed different batches at n={seq} ({} at event #{first} vs {})",
                ev.node,
                hex4(d),
                hex4(&digest)
            )),
            Some(_) => Ok(()),
            None => {
                self.decided.insert(seq, (digest, ev.node, ev.index));
                Ok(())
            }
        }
    }
}

pub struct CheckpointDigests {
    faulty: Faulty,
    digests: VecMap<SeqNo, (Digest, NodeId)>,
}

impl CheckpointDigests {
    pub fn new(faulty: &[NodeId]) -> Self {
        CheckpointDigests { faulty: Faulty::new(faulty), digests: VecMap::new() }
    }
}

impl Invariant<PbftNode> for CheckpointDigests {
    fn name(&self) -> &'static str {
        "checkpoint-digests"
    }
    fn about(&self) -> &'static str {
        "correct replicas that checkpoint the same sequence number have the same state digest"
    }

    fn observe(&mut self, ev: &TraceEvent<PbftNode>, _ctx: &CheckCtx<'_>) -> Result<(), String> {
        if !self.faulty.correct(ev) {
            return Ok(());
        }
        let Some(PbftEvent::CheckpointTaken { seq, digest, .. }) = observed(ev) else {
            return Ok(());
        };
        match self.digests.get(seq) {
            Some((d, other)) if d != digest => Err(format!(
                "replicas {other} and {} have different state digests at checkpoint n={seq} ({} vs {})",
                ev.node,
                hex4(d),
                hex4(digest)
            )),
            Some(_) => Ok(()),
            None => {
                self.digests.insert(*seq, (*digest, ev.node));
                Ok(())
            }
        }
    }
}
