//! Per-broadcast figures of the Plumtree paper, computed from the trace: reliability,
//! relative message redundancy (RMR), last delivery hop (LDH) and delivery latency.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use super::GossipNode;
use super::msg::{GossipEvent, GraftCause, PruneCause};
use super::timeline::{Bits, Sensitivity, Timeline, gossip_id};
use crate::check::{CheckCtx, Metric};
use crate::effect::Micros;
use crate::sim::{TraceEvent, TraceKind};

/// A node counts as a member for broadcasts this long after its JOIN.
const JOIN_GRACE: Micros = 100_000;

struct PerBroadcast {
    /// Members that were up when it was sent.
    members: Bits,
    delivered: Bits,
    /// Payload-carrying messages for it (delivered or dropped).
    payload_msgs: u64,
    ldh: u32,
}

pub struct GossipMetrics {
    tl: Timeline,
    warmup: u32,
    settle: Micros,
    reports_heal: bool,
    per: Vec<PerBroadcast>,
    /// Delivery latencies after warm-up, microseconds.
    latencies: Vec<u64>,
    grafts: u64,
    prunes: u64,
    optimizations: u64,
}

impl GossipMetrics {
    pub fn new(n: u32, warmup: u32, settle: Micros, reports_heal: bool) -> Self {
        GossipMetrics {
            tl: Timeline::new(n, Sensitivity::Faults),
            warmup,
            settle,
            reports_heal,
            per: Vec::new(),
            latencies: Vec::new(),
            grafts: 0,
            prunes: 0,
            optimizations: 0,
        }
    }
}

fn mean(v: &[f64]) -> Option<f64> {
    if v.is_empty() { None } else { Some(v.iter().sum::<f64>() / v.len() as f64) }
}

fn percentile(sorted: &[u64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (libm::ceil(p * sorted.len() as f64) as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1] as f64 / 1000.0)
}

impl Metric<GossipNode> for GossipMetrics {
    fn observe(&mut self, ev: &TraceEvent<GossipNode>, ctx: &CheckCtx<'_>) {
        if let Some(k) = self.tl.observe(ev) {
            let t = self.tl.bcasts[k as usize].time;
            let mut members = Bits::new(self.tl.n);
            for (i, since) in self.tl.member_since.iter().enumerate() {
                if since.is_some_and(|s| s + JOIN_GRACE <= t) && ctx.up.get(i).copied().unwrap_or(false) {
                    members.set(i as u32);
                }
            }
            members.set(self.tl.bcasts[k as usize].sender.0);
            self.per.push(PerBroadcast { members, delivered: Bits::new(self.tl.n), payload_msgs: 0, ldh: 0 });
        }
        match &ev.kind {
            TraceKind::Deliver { msg, .. } | TraceKind::Drop { msg, .. } => {
                if let Some(k) = gossip_id(msg).and_then(|id| self.tl.of(id)) {
                    self.per[k as usize].payload_msgs += 1;
                }
            }
            TraceKind::Observe(GossipEvent::Delivered { id, hops }) => {
                if let Some(k) = self.tl.of(id) {
                    let p = &mut self.per[k as usize];
                    if p.delivered.set(ev.node.0) {
                        p.ldh = p.ldh.max(*hops);
                        if k >= self.warmup && *hops > 0 {
                            self.latencies.push(ev.time - self.tl.bcasts[k as usize].time);
                        }
                    }
                }
            }
            TraceKind::Observe(GossipEvent::Grafted { cause: GraftCause::Timer, .. }) => self.grafts += 1,
            TraceKind::Observe(GossipEvent::Grafted { cause: GraftCause::Optimization, .. }) => {
                self.optimizations += 1
            }
            TraceKind::Observe(GossipEvent::Pruned { cause: PruneCause::Duplicate, .. }) => self.prunes += 1,
            _ => {}
        }
    }

    fn report(&self, ctx: &CheckCtx<'_>, out: &mut BTreeMap<String, f64>) {
        let heal_from = self.tl.last_disturbance().map(|t| t + self.settle);
        let (mut rel, mut rmr, mut ldh, mut after_heal) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (k, p) in self.per.iter().enumerate().skip(self.warmup as usize) {
            let b = &self.tl.bcasts[k];
            let (mut correct, mut got) = (0u32, 0u32);
            for v in 0..self.tl.n {
                if p.members.get(v) && ctx.up.get(v as usize).copied().unwrap_or(false) {
                    correct += 1;
                    got += u32::from(p.delivered.get(v));
                }
            }
            if correct > 0 {
                let r = f64::from(got) / f64::from(correct);
                rel.push(r);
                if heal_from.is_some_and(|h| b.time >= h) {
                    after_heal.push(r);
                }
            }
            let n = p.delivered.count();
            if n > 1 {
                rmr.push(p.payload_msgs as f64 / f64::from(n - 1) - 1.0);
            }
            ldh.push(f64::from(p.ldh));
        }
        let mut lat = self.latencies.clone();
        crate::sort::sort(&mut lat);
        let measured = rel.len() as f64;
        for (key, v) in [
            ("reliability", mean(&rel)),
            ("rmr", mean(&rmr)),
            ("ldh", mean(&ldh)),
            ("latency_p50_ms", percentile(&lat, 0.50)),
            ("latency_p99_ms", percentile(&lat, 0.99)),
        ] {
            if let Some(v) = v {
                out.insert(key.into(), v);
            }
        }
        if self.reports_heal
            && let Some(v) = mean(&after_heal)
        {
            out.insert("reliability_after_heal".into(), v);
            out.insert("broadcasts_after_heal".into(), after_heal.len() as f64);
        }
        out.insert("broadcasts".into(), self.per.len() as f64);
        out.insert("broadcasts_measured".into(), measured);
        out.insert("grafts".into(), self.grafts as f64);
        out.insert("prunes".into(), self.prunes as f64);
        out.insert("optimizations".into(), self.optimizations as f64);
    }
}
