//! Validity: correct replicas execute only operations that clients submitted. At most
//! once: a correct replica executes each client request at most once (per incarnation:
//! a restarted replica rebuilds its state by executing its log again).

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;

use super::{ByRequest, Faulty, observed};
use crate::check::{CheckCtx, Invariant};
use crate::effect::NodeId;
use crate::pbft::PbftNode;
use crate::pbft::app::Op;
use crate::pbft::config::SeqNo;
use crate::pbft::events::PbftEvent;
use crate::sim::{TraceEvent, TraceKind};
use crate::vecmap::VecMap;

pub struct Validity {
    faulty: Faulty,
    submitted: ByRequest<Arc<Op>>,
}

impl Validity {
    pub fn new(faulty: &[NodeId]) -> Self {
        Validity { faulty: Faulty::new(faulty), submitted: ByRequest::new() }
    }
}

impl Invariant<PbftNode> for Validity {
    fn name(&self) -> &'static str {
        "validity"
    }
    fn about(&self) -> &'static str {
        "correct replicas execute only operations that clients submitted"
    }

    fn observe(&mut self, ev: &TraceEvent<PbftNode>, _ctx: &CheckCtx<'_>) -> Result<(), String> {
        let correct = self.faulty.correct(ev);
        match observed(ev) {
            Some(PbftEvent::Invoked { client, timestamp, op, .. }) => {
                self.submitted.insert((*client, *timestamp), op.clone());
            }
            Some(PbftEvent::Executed { seq, requests, .. }) if correct => {
                for r in requests {
                    if self.submitted.get(&(r.client, r.timestamp)) != Some(&r.op) {
                        return Err(format!(
                            "replica {} executed {:?} as request {} of client {} at n={seq}, which that client never sent",
                            ev.node, r.op, r.timestamp, r.client
                        ));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

pub struct AtMostOnce {
    faulty: Faulty,
    executed: VecMap<NodeId, BTreeMap<(NodeId, u64), SeqNo>>,
}

impl AtMostOnce {
    pub fn new(faulty: &[NodeId]) -> Self {
        AtMostOnce { faulty: Faulty::new(faulty), executed: VecMap::new() }
    }
}

impl Invariant<PbftNode> for AtMostOnce {
    fn name(&self) -> &'static str {
        "at-most-once"
    }
    fn about(&self) -> &'static str {
        "a correct replica executes each client request at most once"
    }

    fn observe(&mut self, ev: &TraceEvent<PbftNode>, _ctx: &CheckCtx<'_>) -> Result<(), String> {
        if !self.faulty.correct(ev) {
            return Ok(());
        }
        if matches!(ev.kind, TraceKind::Restart | TraceKind::Crash) {
            self.executed.remove(&ev.node);
        }
        if let Some(PbftEvent::Executed { seq, requests, .. }) = observed(ev) {
            let mine = self.executed.get_or_default(ev.node);
            for r in requests {
                if let Some(first) = mine.insert((r.client, r.timestamp), *seq) {
                    return Err(format!(
                        "replica {} executed request {} of client {} twice, at n={first} and n={seq}",
                        ev.node, r.timestamp, r.client
                    ));
                }
            }
        }
        Ok(())
    }
}
