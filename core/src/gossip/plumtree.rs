//! Plumtree (Leitão, Pereira, Rodrigues, "Epidemic Broadcast Trees", SRDS 2007).
//!
//! Every active neighbour starts in `eager_push_peers`. A message is pushed in full to
//! eager peers and announced (IHAVE) to lazy ones. A duplicate prunes the link it came
//! over, so the eager links shrink to a spanning tree; an announcement whose message does
//! not arrive within `timeout1` (then `timeout2` per further announcer) grafts the
//! announcer's link back into the tree and fetches the message.

use alloc::vec::Vec;

use super::Step;
use super::msg::{GossipEvent, GossipMsg, GossipTimer, GraftCause, MsgId, PruneCause};
use super::params::{Config, Defect};
use super::seen::{Cache, Cached, Seen};
use crate::effect::{Effect, NodeId};
use crate::idmap::IdMap;

/// Announcements per IHAVE message; larger batches are split.
pub const MAX_IHAVE: usize = 256;

#[derive(Clone, Debug)]
pub struct Plumtree {
    me: NodeId,
    pub eager_push_peers: Vec<NodeId>,
    pub lazy_push_peers: Vec<NodeId>,
    seen: Seen,
    cache: Cache,
    /// Announced but not received: `(announcer, round)` in arrival order.
    missing: IdMap<MsgId, Vec<(NodeId, u32)>>,
    /// IHAVE announcements waiting for the flush: `(peer, id, round)`.
    lazy_queue: Vec<(NodeId, MsgId, u32)>,
    flush_armed: bool,
    next_seq: u32,
    /// §3.8 evidence, when averaged over several messages.
    gains: Vec<Gain>,
    pub defect: Defect,
}

/// How many hops the lazy link would have saved over the eager one, summed over `count`
/// messages that came over `eager` and were also announced by `lazy`.
#[derive(Clone, Debug)]
struct Gain {
    eager: NodeId,
    lazy: NodeId,
    sum: i64,
    count: u32,
}

fn remove(v: &mut Vec<NodeId>, p: NodeId) -> bool {
    match v.iter().position(|x| *x == p) {
        Some(i) => {
            v.remove(i);
            true
        }
        None => false,
    }
}

impl Plumtree {
    pub fn new(me: NodeId, defect: Defect) -> Self {
        Plumtree {
            me,
            eager_push_peers: Vec::new(),
            lazy_push_peers: Vec::new(),
            seen: Seen::default(),
            cache: Cache::default(),
            missing: IdMap::default(),
            lazy_queue: Vec::new(),
            flush_armed: false,
            next_seq: 0,
            gains: Vec::new(),
            defect,
        }
    }

    pub fn delivered(&self) -> u64 {
        self.seen.count()
    }

    pub fn cached(&self) -> usize {
        self.cache.count()
    }

    pub fn missing(&self) -> usize {
        self.missing.len()
    }

    /// Continue numbering broadcasts at `next`, in a fresh incarnation (ids below it are
    /// this node's own, taken before).
    pub(crate) fn resume(&mut self, next: u32) {
        self.next_seq = next;
        self.seen.resume(self.me, next);
    }

    /// Broadcasts `payload`; returns the id the next broadcast will take (to persist).
    pub(crate) fn broadcast(&mut self, cfg: &Config, payload: Vec<u8>, s: &mut Step<'_>) -> u32 {
        let id = MsgId { origin: self.me, seq: self.next_seq };
        self.next_seq = self.next_seq.wrapping_add(1);
        self.seen.insert(id);
        s.out.push(Effect::Observe(GossipEvent::Broadcast { id }));
        s.out.push(Effect::Observe(GossipEvent::Delivered { id, hops: 0 }));
        self.eager_push(id, 0, &payload, None, s);
        self.lazy_push(cfg, id, 0, None, s);
        self.cache.insert(
            id,
            Cached { payload, hops: 0, from: None, at: s.now },
            cfg.cache_size,
            cfg.cache_age,
        );
        self.next_seq
    }

    pub(crate) fn on_message(&mut self, cfg: &Config, from: NodeId, msg: GossipMsg, s: &mut Step<'_>) {
        match msg {
            GossipMsg::Gossip { id, round, payload } => self.on_gossip(cfg, from, id, round, payload, s),
            GossipMsg::IHave { announcements } => {
                for (id, round) in announcements {
                    self.on_ihave(cfg, from, id, round, s);
                }
            }
            GossipMsg::Graft { id, round } => self.on_graft(from, id, round, s),
            GossipMsg::Prune if remove(&mut self.eager_push_peers, from) => {
                self.lazy_push_peers.push(from);
                s.out.push(Effect::Observe(GossipEvent::Pruned {
                    peer: from,
                    id: None,
                    cause: PruneCause::Received,
                }));
            }
            _ => {}
        }
    }

    fn on_gossip(
        &mut self,
        cfg: &Config,
        from: NodeId,
        id: MsgId,
        round: u32,
        payload: Vec<u8>,
        s: &mut Step<'_>,
    ) {
        if !self.seen.insert(id) {
            match self.defect {
                Defect::NeverPrune => {}
                Defect::Redeliver => {
                    s.out.push(Effect::Observe(GossipEvent::Delivered { id, hops: round.saturating_add(1) }))
                }
                Defect::None | Defect::NeverGraft => {
                    if remove(&mut self.eager_push_peers, from) {
                        self.lazy_push_peers.push(from);
                    }
                    s.out.push(Effect::Send { to: from, msg: GossipMsg::Prune });
                    s.out.push(Effect::Observe(GossipEvent::Pruned {
                        peer: from,
                        id: Some(id),
                        cause: PruneCause::Duplicate,
                    }));
                }
            }
            return;
        }
        let hops = round.saturating_add(1);
        s.out.push(Effect::Observe(GossipEvent::Delivered { id, hops }));
        let announced = self.missing.remove(&id);
        if announced.is_some() {
            s.out.push(Effect::CancelTimer(GossipTimer::Missing(id)));
        }
        self.eager_push(id, hops, &payload, Some(from), s);
        self.lazy_push(cfg, id, hops, Some(from), s);
        if remove(&mut self.lazy_push_peers, from) {
            self.eager_push_peers.push(from);
            s.out.push(Effect::Observe(GossipEvent::Grafted {
                peer: from,
                id: Some(id),
                cause: GraftCause::Gossip,
            }));
        }
        if let (Some(threshold), Some(anns)) = (cfg.optimization, announced) {
            if cfg.optimization_window <= 1 {
                // §3.8: the best announcer that is still a lazy neighbour.
                let best = anns
                    .iter()
                    .filter(|(p, _)| *p != from && self.lazy_push_peers.contains(p))
                    .min_by_key(|(_, r)| *r)
                    .copied();
                if let Some((peer, r)) = best
                    && hops >= r.saturating_add(1).saturating_add(threshold)
                {
                    self.optimize(id, peer, from, s);
                }
            } else {
                for (peer, r) in anns {
                    let saved = i64::from(hops) - i64::from(r) - 1;
                    self.weigh(cfg, id, from, peer, saved, s);
                }
            }
        }
        self.cache.insert(
            id,
            Cached { payload, hops, from: Some(from), at: s.now },
            cfg.cache_size,
            cfg.cache_age,
        );
    }

    fn on_ihave(&mut self, cfg: &Config, from: NodeId, id: MsgId, round: u32, s: &mut Step<'_>) {
        // Cached ids are all seen: one lookup answers both for most announcements.
        let cached = self.cache.meta(&id);
        if cached.is_some() || self.seen.contains(id) {
            // §3.8 also applies when the announcement comes after the eager copy.
            if let Some(threshold) = cfg.optimization
                && let Some(c) = cached
                && let Some(eager) = c.from
            {
                if cfg.optimization_window > 1 {
                    let saved = i64::from(c.hops) - i64::from(round) - 1;
                    self.weigh(cfg, id, eager, from, saved, s);
                } else if eager != from
                    && c.hops >= round.saturating_add(1).saturating_add(threshold)
                    && self.eager_push_peers.contains(&eager)
                    && self.lazy_push_peers.contains(&from)
                {
                    self.optimize(id, from, eager, s);
                }
            }
            return;
        }
        let entry = self.missing.entry(id).or_default();
        if entry.is_empty() {
            s.out.push(Effect::SetTimer { timer: GossipTimer::Missing(id), after: cfg.timeout1 });
        }
        if !entry.iter().any(|(p, _)| *p == from) {
            entry.push((from, round));
        }
    }

    /// timeout1/timeout2 expired for `id`: GRAFT the first announcer and wait again.
    pub(crate) fn on_missing_timer(&mut self, cfg: &Config, id: MsgId, s: &mut Step<'_>) {
        if self.seen.contains(id) {
            self.missing.remove(&id);
            return;
        }
        let Some(anns) = self.missing.get_mut(&id) else {
            return;
        };
        if anns.is_empty() || self.defect == Defect::NeverGraft {
            self.missing.remove(&id);
            return;
        }
        let (peer, round) = anns.remove(0);
        s.out.push(Effect::SetTimer { timer: GossipTimer::Missing(id), after: cfg.timeout2 });
        if remove(&mut self.lazy_push_peers, peer) || !self.eager_push_peers.contains(&peer) {
            self.eager_push_peers.push(peer);
        }
        s.out.push(Effect::Send { to: peer, msg: GossipMsg::Graft { id: Some(id), round } });
        s.out.push(Effect::Observe(GossipEvent::Grafted { peer, id: Some(id), cause: GraftCause::Timer }));
    }

    fn on_graft(&mut self, from: NodeId, id: Option<MsgId>, _round: u32, s: &mut Step<'_>) {
        let was_lazy = remove(&mut self.lazy_push_peers, from);
        if was_lazy || !self.eager_push_peers.contains(&from) {
            self.eager_push_peers.push(from);
        }
        s.out.push(Effect::Observe(GossipEvent::Grafted { peer: from, id, cause: GraftCause::Received }));
        if let Some(id) = id {
            match self.cache.get(&id) {
                Some(c) => s.out.push(Effect::Send {
                    to: from,
                    msg: GossipMsg::Gossip { id, round: c.hops, payload: c.payload.clone() },
                }),
                None => s.out.push(Effect::Observe(GossipEvent::CacheMiss { peer: from, id })),
            }
        }
    }

    /// Add one message's evidence for swapping `eager` for `lazy`; swap once the mean saving
    /// over `optimization_window` messages reaches the threshold. The paper acts on a single
    /// message, which chases whichever node sent last; the mean favours links that are
    /// shorter for most senders.
    fn weigh(&mut self, cfg: &Config, id: MsgId, eager: NodeId, lazy: NodeId, saved: i64, s: &mut Step<'_>) {
        let Some(threshold) = cfg.optimization else {
            return;
        };
        if eager == lazy || !self.eager_push_peers.contains(&eager) || !self.lazy_push_peers.contains(&lazy) {
            return;
        }
        let i = match self.gains.iter().position(|g| g.eager == eager && g.lazy == lazy) {
            Some(i) => i,
            None => {
                self.gains.push(Gain { eager, lazy, sum: 0, count: 0 });
                self.gains.len() - 1
            }
        };
        let g = &mut self.gains[i];
        g.sum += saved;
        g.count += 1;
        if g.count < cfg.optimization_window {
            return;
        }
        let threshold = i64::from(threshold);
        // This message must gain too: then `lazy` is not behind us on its path, and
        // dropping `eager` cannot cut the tree.
        if saved >= threshold && g.sum >= threshold * i64::from(g.count) {
            self.optimize(id, lazy, eager, s);
        } else {
            // Keep half the weight, so that old evidence fades as the tree changes.
            g.sum /= 2;
            g.count /= 2;
        }
    }

    /// Swap the eager link `eager` for the faster lazy link `lazy` (§3.8).
    fn optimize(&mut self, id: MsgId, lazy: NodeId, eager: NodeId, s: &mut Step<'_>) {
        if self.defect == Defect::NeverGraft {
            return;
        }
        remove(&mut self.lazy_push_peers, lazy);
        self.eager_push_peers.push(lazy);
        self.gains.retain(|g| ![g.eager, g.lazy].iter().any(|p| *p == lazy || *p == eager));
        s.out.push(Effect::Send { to: lazy, msg: GossipMsg::Graft { id: None, round: 0 } });
        s.out.push(Effect::Observe(GossipEvent::Grafted {
            peer: lazy,
            id: Some(id),
            cause: GraftCause::Optimization,
        }));
        if remove(&mut self.eager_push_peers, eager) {
            self.lazy_push_peers.push(eager);
        }
        s.out.push(Effect::Send { to: eager, msg: GossipMsg::Prune });
        s.out.push(Effect::Observe(GossipEvent::Pruned {
            peer: eager,
            id: Some(id),
            cause: PruneCause::Optimization,
        }));
    }

    fn eager_push(&self, id: MsgId, hops: u32, payload: &[u8], except: Option<NodeId>, s: &mut Step<'_>) {
        for &p in &self.eager_push_peers {
            if Some(p) != except {
                s.out.push(Effect::Send {
                    to: p,
                    msg: GossipMsg::Gossip { id, round: hops, payload: payload.to_vec() },
                });
            }
        }
    }

    fn lazy_push(&mut self, cfg: &Config, id: MsgId, hops: u32, except: Option<NodeId>, s: &mut Step<'_>) {
        for &p in &self.lazy_push_peers {
            if Some(p) != except {
                self.lazy_queue.push((p, id, hops));
            }
        }
        if self.lazy_queue.is_empty() {
            return;
        }
        if cfg.ihave_flush == 0 {
            self.flush(s);
        } else if !self.flush_armed {
            self.flush_armed = true;
            s.out.push(Effect::SetTimer { timer: GossipTimer::Flush, after: cfg.ihave_flush });
        }
    }

    /// Send the queued announcements, one IHAVE per peer (split at `MAX_IHAVE`).
    pub(crate) fn flush(&mut self, s: &mut Step<'_>) {
        self.flush_armed = false;
        let mut queue = core::mem::take(&mut self.lazy_queue);
        queue.sort_by_key(|(p, _, _)| *p);
        let mut i = 0;
        while i < queue.len() {
            let peer = queue[i].0;
            let mut announcements = Vec::new();
            while i < queue.len() && queue[i].0 == peer && announcements.len() < MAX_IHAVE {
                announcements.push((queue[i].1, queue[i].2));
                i += 1;
            }
            // A neighbour that went down meanwhile gets nothing.
            if self.lazy_push_peers.contains(&peer) || self.eager_push_peers.contains(&peer) {
                s.out.push(Effect::Send { to: peer, msg: GossipMsg::IHave { announcements } });
            }
        }
        queue.clear();
        self.lazy_queue = queue;
    }

    /// HyParView NeighborUp: a new neighbour starts eager.
    pub fn neighbor_up(&mut self, p: NodeId) {
        if !self.eager_push_peers.contains(&p) && !self.lazy_push_peers.contains(&p) {
            self.eager_push_peers.push(p);
        }
    }

    /// HyParView NeighborDown: forget the peer and its announcements.
    pub fn neighbor_down(&mut self, p: NodeId) {
        remove(&mut self.eager_push_peers, p);
        remove(&mut self.lazy_push_peers, p);
        self.gains.retain(|g| g.eager != p && g.lazy != p);
        for anns in self.missing.values_mut() {
            anns.retain(|(q, _)| *q != p);
        }
    }
}
