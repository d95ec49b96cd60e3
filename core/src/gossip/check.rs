//! The gossip invariants, evaluated on the trace.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::GossipNode;
use super::msg::GossipEvent;
use super::timeline::{Bits, Sensitivity, Timeline, gossip_id};
use crate::check::{CheckCtx, Invariant};
use crate::effect::Micros;
use crate::sim::{TraceEvent, TraceKind};

/// No node delivers a broadcast to its application twice (within one incarnation).
pub struct NoDuplicateDelivery {
    tl: Timeline,
    delivered: Vec<Bits>,
}

impl NoDuplicateDelivery {
    pub fn new(n: u32) -> Self {
        NoDuplicateDelivery { tl: Timeline::new(n, Sensitivity::Faults), delivered: Vec::new() }
    }
}

impl Invariant<GossipNode> for NoDuplicateDelivery {
    fn name(&self) -> &'static str {
        "no-duplicate-delivery"
    }
    fn about(&self) -> &'static str {
        "no node delivers a broadcast to its application twice"
    }

    fn observe(&mut self, ev: &TraceEvent<GossipNode>, _ctx: &CheckCtx<'_>) -> Result<(), String> {
        if self.tl.observe(ev).is_some() {
            self.delivered.push(Bits::new(self.tl.n));
        }
        match &ev.kind {
            TraceKind::Restart => {
                for b in &mut self.delivered {
                    b.clear(ev.node.0);
                }
            }
            TraceKind::Observe(GossipEvent::Delivered { id, hops }) => {
                if let Some(k) = self.tl.of(id)
                    && !self.delivered[k as usize].set(ev.node.0)
                {
                    return Err(format!("node {} delivered {id} a second time (hops {hops})", ev.node));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Every correct node connected to a correct sender eventually delivers its broadcast.
///
/// "Connected" is read from the trace: the sender's component, at the time it broadcast,
/// of the active-view graph among nodes that are up. Broadcasts within `settle` of a
/// fault or a join are not judged (the overlay is still repairing); every other one must
/// reach every node of that component that is still up when the run ends. With random
/// message loss Plumtree only delivers with high probability (every announcement of a
/// message can be lost), so on a lossy network the check is off.
pub struct EventualDelivery {
    lossy: bool,
    tl: Timeline,
    settle: Micros,
    adj: Vec<Vec<u32>>,
    expected: Vec<Bits>,
    delivered: Vec<Bits>,
}

impl EventualDelivery {
    pub fn new(n: u32, settle: Micros, lossy: bool) -> Self {
        EventualDelivery {
            lossy,
            tl: Timeline::new(n, Sensitivity::Faults),
            settle,
            adj: vec![Vec::new(); n as usize],
            expected: Vec::new(),
            delivered: Vec::new(),
        }
    }

    /// The sender's component in the (undirected) active-view graph among up nodes.
    fn component(&self, from: u32, up: &[bool]) -> Bits {
        let n = self.tl.n;
        // Undirected: u ~ v if either lists the other. One flat adjacency array (each
        // node's neighbours at `edges[start[u]..start[u + 1]]`) rather than a list per node.
        let nodes = self.adj.len();
        let mut start = vec![0u32; nodes + 1];
        for (u, list) in self.adj.iter().enumerate() {
            for &v in list.iter().filter(|v| (**v as usize) < nodes) {
                start[u + 1] += 1;
                start[v as usize + 1] += 1;
            }
        }
        for i in 0..nodes {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut edges = vec![0u32; start[nodes] as usize];
        for (u, list) in self.adj.iter().enumerate() {
            for &v in list.iter().filter(|v| (**v as usize) < nodes) {
                edges[fill[u] as usize] = v;
                fill[u] += 1;
                edges[fill[v as usize] as usize] = u as u32;
                fill[v as usize] += 1;
            }
        }
        let mut seen = Bits::new(n);
        let mut queue = VecDeque::from([from]);
        seen.set(from);
        while let Some(u) = queue.pop_front() {
            let Some(range) = start.get(u as usize..u as usize + 2) else {
                continue;
            };
            for &v in &edges[range[0] as usize..range[1] as usize] {
                if up.get(v as usize).copied().unwrap_or(false) && seen.set(v) {
                    queue.push_back(v);
                }
            }
        }
        seen
    }
}

impl Invariant<GossipNode> for EventualDelivery {
    fn at_end(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "eventual-delivery"
    }
    fn about(&self) -> &'static str {
        "every broadcast reaches every correct node connected to its sender (judged at the end)"
    }

    fn observe(&mut self, ev: &TraceEvent<GossipNode>, ctx: &CheckCtx<'_>) -> Result<(), String> {
        if let Some(k) = self.tl.observe(ev) {
            let sender = self.tl.bcasts[k as usize].sender.0;
            let c = self.component(sender, ctx.up);
            self.expected.push(c);
            self.delivered.push(Bits::new(self.tl.n));
        }
        let me = ev.node.index();
        match &ev.kind {
            TraceKind::Crash | TraceKind::Start | TraceKind::Restart => self.adj[me].clear(),
            TraceKind::Observe(GossipEvent::NeighborUp { peer, .. }) if !self.adj[me].contains(&peer.0) => {
                self.adj[me].push(peer.0)
            }
            TraceKind::Observe(GossipEvent::NeighborDown { peer, .. }) => {
                self.adj[me].retain(|p| *p != peer.0)
            }
            TraceKind::Observe(GossipEvent::Delivered { id, .. }) => {
                if let Some(k) = self.tl.of(id) {
                    self.delivered[k as usize].set(ev.node.0);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, ctx: &CheckCtx<'_>) -> Result<(), String> {
        if self.lossy {
            return Ok(());
        }
        for (k, b) in self.tl.bcasts.iter().enumerate() {
            if !ctx.up.get(b.sender.index()).copied().unwrap_or(false) || !self.tl.quiet(b.time, self.settle)
            {
                continue;
            }
            let missing: Vec<u32> = (0..self.tl.n)
                .filter(|v| self.expected[k].get(*v) && ctx.up[*v as usize] && !self.delivered[k].get(*v))
                .collect();
            if !missing.is_empty() {
                return Err(format!(
                    "broadcast #{k} from node {} at t = {:.3} ms never reached {} connected correct node(s): {:?}",
                    b.sender,
                    b.time as f64 / 1000.0,
                    missing.len(),
                    &missing[..missing.len().min(10)]
                ));
            }
        }
        Ok(())
    }
}

/// After warm-up, in a stable overlay the eager links form a spanning tree: a broadcast
/// that no fault, join, view change or graft came near (within `settle` on either side)
/// is received exactly once by every node. A duplicate GOSSIP then means the eager graph
/// kept a cycle that PRUNE should have cut.
pub struct EagerTree {
    tl: Timeline,
    warmup: u32,
    settle: Micros,
    received: Vec<Bits>,
    duplicates: Vec<u32>,
}

impl EagerTree {
    pub fn new(n: u32, warmup: u32, settle: Micros) -> Self {
        EagerTree {
            tl: Timeline::new(n, Sensitivity::Links),
            warmup,
            settle,
            received: Vec::new(),
            duplicates: Vec::new(),
        }
    }
}

impl Invariant<GossipNode> for EagerTree {
    fn at_end(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "eager-tree"
    }
    fn about(&self) -> &'static str {
        "after warm-up, the eager links form a spanning tree: quiet broadcasts arrive exactly once everywhere"
    }

    fn observe(&mut self, ev: &TraceEvent<GossipNode>, _ctx: &CheckCtx<'_>) -> Result<(), String> {
        if let Some(k) = self.tl.observe(ev) {
            let mut r = Bits::new(self.tl.n);
            r.set(self.tl.bcasts[k as usize].sender.0);
            self.received.push(r);
            self.duplicates.push(0);
        }
        match &ev.kind {
            TraceKind::Restart => {
                for r in &mut self.received {
                    r.clear(ev.node.0);
                }
            }
            TraceKind::Deliver { msg, .. } => {
                if let Some(k) = gossip_id(msg).and_then(|id| self.tl.of(id))
                    && !self.received[k as usize].set(ev.node.0)
                {
                    self.duplicates[k as usize] += 1;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, _ctx: &CheckCtx<'_>) -> Result<(), String> {
        for (k, b) in self.tl.bcasts.iter().enumerate().skip(self.warmup as usize) {
            if self.duplicates[k] > 0 && self.tl.quiet(b.time, self.settle) {
                return Err(format!(
                    "broadcast #{k} from node {} at t = {:.3} ms, in a stable overlay after warm-up, was received \
                     {} extra time(s): the eager links still hold a cycle",
                    b.sender,
                    b.time as f64 / 1000.0,
                    self.duplicates[k]
                ));
            }
        }
        Ok(())
    }
}
