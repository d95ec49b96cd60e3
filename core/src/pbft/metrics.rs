//! Numbers from a PBFT run (the keys `void sim --json` reports under `metrics`).

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use super::PbftNode;
use super::config::{SeqNo, View};
use super::events::PbftEvent;
use crate::check::{CheckCtx, Metric};
use crate::effect::{Micros, NodeId};
use crate::sim::{TraceEvent, TraceKind};
use crate::vecmap::VecSet;

#[derive(Default)]
pub struct PbftMetrics {
    /// Requests executed (client, timestamp), with how many replicas executed each.
    committed: BTreeMap<(NodeId, u64), u64>,
    batches: VecSet<SeqNo>,
    views: VecSet<View>,
    stable: VecSet<SeqNo>,
    rejected: u64,
    invoked: BTreeMap<(NodeId, u64), Micros>,
    latencies: Vec<Micros>,
    state_transfers: u64,
}

impl Metric<PbftNode> for PbftMetrics {
    fn observe(&mut self, ev: &TraceEvent<PbftNode>, _ctx: &CheckCtx<'_>) {
        let TraceKind::Observe(e) = &ev.kind else {
            return;
        };
        match e {
            PbftEvent::Executed { seq, requests, .. } => {
                self.batches.insert(*seq);
                for r in requests {
                    *self.committed.entry((r.client, r.timestamp)).or_insert(0) += 1;
                }
            }
            PbftEvent::NewViewEntered { view, .. } => {
                self.views.insert(*view);
            }
            PbftEvent::CheckpointStable { seq, .. } => {
                self.stable.insert(*seq);
            }
            PbftEvent::Rejected { .. } => self.rejected += 1,
            PbftEvent::StateTransferred { .. } => self.state_transfers += 1,
            PbftEvent::Invoked { client, timestamp, .. } => {
                self.invoked.insert((*client, *timestamp), ev.time);
            }
            PbftEvent::Completed { client, timestamp, .. } => {
                if let Some(at) = self.invoked.remove(&(*client, *timestamp)) {
                    self.latencies.push(ev.time - at);
                }
            }
            _ => {}
        }
    }

    fn report(&self, _ctx: &CheckCtx<'_>, out: &mut BTreeMap<String, f64>) {
        let mut l = self.latencies.clone();
        crate::sort::sort(&mut l);
        let pct = |p: usize| if l.is_empty() { 0.0 } else { l[(l.len() - 1) * p / 100] as f64 / 1000.0 };
        out.insert("committed_ops".into(), self.committed.len() as f64);
        out.insert("committed_batches".into(), self.batches.len() as f64);
        out.insert("view_changes".into(), self.views.len() as f64);
        out.insert("checkpoints_stable".into(), self.stable.len() as f64);
        out.insert("rejected_messages".into(), self.rejected as f64);
        out.insert("requests_completed".into(), self.latencies.len() as f64);
        out.insert("requests_outstanding".into(), self.invoked.len() as f64);
        out.insert("client_latency_p50_ms".into(), pct(50));
        out.insert("client_latency_p99_ms".into(), pct(99));
        out.insert("state_transfers".into(), self.state_transfers as f64);
    }
}
