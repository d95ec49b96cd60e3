//! HyParView (Leitão, Pereira, Rodrigues, DSN 2007): a small symmetric active view kept
//! by reactive repair, a larger passive view kept fresh by periodic SHUFFLE random walks.
//!
//! The paper runs over TCP, whose connection state makes links symmetric and reports
//! failures. Here a link is symmetric by message: the node that accepts a FORWARDJOIN sends
//! NEIGHBOR(high), which the new node always accepts. Failures arrive as the driver's
//! `Unreachable` or as a missed keep-alive. One addition to the paper: a peer lost to a
//! timeout (not a refused connection) may be on the far side of a partition, so it is
//! remembered and probed with NEIGHBOR(high) now and then; the first accepted probe after
//! a heal joins the two halves again.

use alloc::vec::Vec;

use super::msg::{DownCause, GossipEvent, GossipMsg, GossipTimer, Priority, UpCause};
use super::params::Config;
use super::{Step, ViewChange};
use crate::effect::{DetRng, Effect, Micros, NodeId};

#[derive(Clone, Copy, Debug)]
struct Peer {
    id: NodeId,
    /// When we last heard from it (the failure detector's clock).
    heard: Micros,
}

#[derive(Clone, Copy, Debug)]
struct PendingNeighbor {
    peer: NodeId,
    probe: bool,
}

/// One node's HyParView state.
#[derive(Clone, Debug)]
pub struct HyParView {
    me: NodeId,
    active: Vec<Peer>,
    passive: Vec<NodeId>,
    pending: Option<PendingNeighbor>,
    /// Passive peers that rejected us since the last keep-alive round.
    tried: Vec<NodeId>,
    /// Peers lost to a timeout, with the number of probes so far.
    suspected: Vec<(NodeId, u32)>,
    /// What we sent in our last SHUFFLE (preferred victims when the reply arrives).
    shuffle_sent: Vec<NodeId>,
    joined: bool,
    /// This incarnation follows a crash. The others dropped it when it failed, so even the
    /// contact must join someone to be found again.
    restarted: bool,
}

fn pick<T: Copy>(rng: &mut DetRng, items: &[T]) -> Option<T> {
    if items.is_empty() { None } else { Some(items[rng.below(items.len() as u64) as usize]) }
}

/// Up to `k` distinct random elements of `items` (partial Fisher–Yates on a copy).
fn sample(rng: &mut DetRng, items: &[NodeId], k: usize) -> Vec<NodeId> {
    let mut v: Vec<NodeId> = items.to_vec();
    let k = k.min(v.len());
    for i in 0..k {
        let j = i + rng.below((v.len() - i) as u64) as usize;
        v.swap(i, j);
    }
    v.truncate(k);
    v
}

impl HyParView {
    pub fn new(me: NodeId) -> Self {
        HyParView {
            me,
            active: Vec::new(),
            passive: Vec::new(),
            pending: None,
            tried: Vec::new(),
            suspected: Vec::new(),
            shuffle_sent: Vec::new(),
            joined: false,
            restarted: false,
        }
    }

    pub fn active_view(&self) -> Vec<NodeId> {
        self.active.iter().map(|p| p.id).collect()
    }

    pub fn passive_view(&self) -> &[NodeId] {
        &self.passive
    }

    pub fn is_active(&self, p: NodeId) -> bool {
        self.active.iter().any(|a| a.id == p)
    }

    pub fn joined(&self) -> bool {
        self.joined
    }

    /// The next [`HyParView::join`] is a new incarnation's, after a crash.
    pub(crate) fn restarted(&mut self) {
        self.restarted = true;
    }

    /// Whom to send JOIN: the contact. The contact itself starts with empty views, and
    /// after a restart joins through a node drawn at random (one that is down is reported
    /// unreachable, and the next keep-alive round draws again).
    fn join_target(&self, cfg: &Config, s: &mut Step<'_>) -> Option<NodeId> {
        if self.me != cfg.contact {
            return Some(cfg.contact);
        }
        if !self.restarted || cfg.nodes < 2 {
            return None;
        }
        let k = s.rng.below(u64::from(cfg.nodes - 1)) as u32;
        Some(NodeId(if k >= self.me.0 { k + 1 } else { k }))
    }

    /// Send JOIN to the [`HyParView::join_target`]; without one (the contact's first start)
    /// wait to be joined.
    pub(crate) fn join(&mut self, cfg: &Config, s: &mut Step<'_>) {
        self.joined = true;
        match self.join_target(cfg, s) {
            Some(contact) => self.send_join(cfg, contact, s),
            None => s.out.push(Effect::Observe(GossipEvent::Joining { contact: None })),
        }
    }

    fn send_join(&mut self, cfg: &Config, contact: NodeId, s: &mut Step<'_>) {
        s.out.push(Effect::Observe(GossipEvent::Joining { contact: Some(contact) }));
        s.out.push(Effect::Send { to: contact, msg: GossipMsg::Join });
        // The contact adds us on JOIN; we add it, which makes the link symmetric.
        self.add_active(cfg, contact, UpCause::Join, s);
    }

    /// Any message from `from` proves it alive.
    pub fn heard(&mut self, from: NodeId, now: Micros) {
        if let Some(p) = self.active.iter_mut().find(|p| p.id == from) {
            p.heard = now;
        }
    }

    pub(crate) fn on_message(&mut self, cfg: &Config, from: NodeId, msg: GossipMsg, s: &mut Step<'_>) {
        match msg {
            GossipMsg::Join => self.on_join(cfg, from, s),
            GossipMsg::ForwardJoin { new_node, ttl } => self.on_forward_join(cfg, from, new_node, ttl, s),
            GossipMsg::Neighbor { priority } => self.on_neighbor(cfg, from, priority, s),
            GossipMsg::NeighborReply { accepted } => self.on_neighbor_reply(cfg, from, accepted, s),
            GossipMsg::Disconnect => {
                if self.remove_active(from, DownCause::Disconnect, s) {
                    self.add_passive(cfg, from, s.rng);
                }
                self.refill(cfg, s);
            }
            GossipMsg::Shuffle { origin, ttl, nodes } => self.on_shuffle(cfg, from, origin, ttl, nodes, s),
            GossipMsg::ShuffleReply { nodes } => {
                let sent = core::mem::take(&mut self.shuffle_sent);
                let learned = self.integrate(cfg, &nodes, &sent, s.rng);
                s.out.push(Effect::Observe(GossipEvent::Shuffled { peer: from, learned }));
            }
            GossipMsg::KeepAlive => {
                // A peer that still holds us as a neighbour after we dropped it: tell it,
                // unless it is the one we are waiting for (its reply may be overtaken).
                let awaited = self.pending.is_some_and(|p| p.peer == from);
                if !self.is_active(from) && !awaited {
                    s.out.push(Effect::Send { to: from, msg: GossipMsg::Disconnect });
                }
            }
            _ => {}
        }
    }

    fn on_join(&mut self, cfg: &Config, new: NodeId, s: &mut Step<'_>) {
        if new == self.me {
            return;
        }
        self.add_active(cfg, new, UpCause::Join, s);
        for p in self.active_view() {
            if p != new {
                s.out.push(Effect::Send {
                    to: p,
                    msg: GossipMsg::ForwardJoin { new_node: new, ttl: cfg.arwl },
                });
            }
        }
    }

    fn on_forward_join(&mut self, cfg: &Config, from: NodeId, new: NodeId, ttl: u8, s: &mut Step<'_>) {
        if new == self.me {
            return;
        }
        if ttl == 0 || self.active.len() <= 1 || self.is_active(new) {
            if !self.is_active(new) {
                self.add_active(cfg, new, UpCause::ForwardJoin, s);
                s.out.push(Effect::Send { to: new, msg: GossipMsg::Neighbor { priority: Priority::High } });
            }
            return;
        }
        if ttl == cfg.prwl {
            self.add_passive(cfg, new, s.rng);
        }
        let others: Vec<NodeId> =
            self.active.iter().map(|p| p.id).filter(|p| *p != from && *p != new).collect();
        match pick(s.rng, &others) {
            Some(next) => s.out.push(Effect::Send {
                to: next,
                msg: GossipMsg::ForwardJoin { new_node: new, ttl: ttl.saturating_sub(1) },
            }),
            None => {
                self.add_active(cfg, new, UpCause::ForwardJoin, s);
                s.out.push(Effect::Send { to: new, msg: GossipMsg::Neighbor { priority: Priority::High } });
            }
        }
    }

    fn on_neighbor(&mut self, cfg: &Config, from: NodeId, priority: Priority, s: &mut Step<'_>) {
        if from == self.me {
            return;
        }
        let accepted =
            self.is_active(from) || priority == Priority::High || self.active.len() < cfg.active_size;
        if accepted {
            self.add_active(cfg, from, UpCause::NeighborAccepted(priority), s);
        }
        s.out.push(Effect::Send { to: from, msg: GossipMsg::NeighborReply { accepted } });
    }

    fn on_neighbor_reply(&mut self, cfg: &Config, from: NodeId, accepted: bool, s: &mut Step<'_>) {
        let pending = self.pending.filter(|p| p.peer == from);
        if let Some(p) = pending {
            self.pending = None;
            s.out.push(Effect::CancelTimer(GossipTimer::NeighborTimeout));
            if accepted {
                let cause = if p.probe { UpCause::Probe } else { UpCause::NeighborReply };
                self.add_active(cfg, from, cause, s);
                if p.probe {
                    // One link across is enough to merge the halves; stop probing.
                    self.suspected.clear();
                }
            } else {
                s.out.push(Effect::Observe(GossipEvent::NeighborRejected { peer: from }));
                self.tried.push(from);
            }
            self.refill(cfg, s);
        } else if accepted && !self.is_active(from) {
            // An answer we no longer want (timed out, or the FORWARDJOIN echo after we
            // evicted the node): keep the link symmetric by closing it.
            s.out.push(Effect::Send { to: from, msg: GossipMsg::Disconnect });
        }
    }

    fn on_shuffle(
        &mut self,
        cfg: &Config,
        from: NodeId,
        origin: NodeId,
        ttl: u8,
        nodes: Vec<NodeId>,
        s: &mut Step<'_>,
    ) {
        if origin == self.me {
            return;
        }
        let others: Vec<NodeId> =
            self.active.iter().map(|p| p.id).filter(|p| *p != from && *p != origin).collect();
        if ttl > 1
            && let Some(next) = pick(s.rng, &others)
        {
            s.out.push(Effect::Send { to: next, msg: GossipMsg::Shuffle { origin, ttl: ttl - 1, nodes } });
            return;
        }
        let reply = sample(s.rng, &self.passive, nodes.len());
        s.out.push(Effect::Send { to: origin, msg: GossipMsg::ShuffleReply { nodes: reply.clone() } });
        let learned = self.integrate(cfg, &nodes, &reply, s.rng);
        s.out.push(Effect::Observe(GossipEvent::Shuffled { peer: origin, learned }));
    }

    /// Add shuffled `nodes` to the passive view, evicting what we sent away first.
    fn integrate(&mut self, cfg: &Config, nodes: &[NodeId], sent: &[NodeId], rng: &mut DetRng) -> u32 {
        let mut learned = 0;
        for &n in nodes {
            if n == self.me || self.is_active(n) || self.passive.contains(&n) || n.0 >= cfg.nodes {
                continue;
            }
            if cfg.passive_size == 0 {
                break;
            }
            if self.passive.len() >= cfg.passive_size {
                let victim = self.passive.iter().position(|p| sent.contains(p));
                let i = victim.unwrap_or_else(|| rng.below(self.passive.len() as u64) as usize);
                self.passive.swap_remove(i);
            }
            self.passive.push(n);
            learned += 1;
        }
        learned
    }

    /// The driver or the failure detector says `peer` is gone.
    pub(crate) fn failed(&mut self, cfg: &Config, peer: NodeId, cause: DownCause, s: &mut Step<'_>) {
        self.remove_active(peer, cause, s);
        self.passive.retain(|p| *p != peer);
        if cause == DownCause::Timeout {
            if !self.suspected.iter().any(|(p, _)| *p == peer) && self.suspected.len() < 16 {
                self.suspected.push((peer, 0));
            }
        } else {
            self.suspected.retain(|(p, _)| *p != peer);
        }
        if self.pending.is_some_and(|p| p.peer == peer) {
            self.pending = None;
            s.out.push(Effect::CancelTimer(GossipTimer::NeighborTimeout));
        }
        self.refill(cfg, s);
    }

    /// A NEIGHBOR request went unanswered: the paper drops the candidate and tries another.
    pub(crate) fn neighbor_timeout(&mut self, cfg: &Config, s: &mut Step<'_>) {
        if let Some(p) = self.pending.take() {
            if !p.probe {
                self.passive.retain(|x| *x != p.peer);
            }
            self.refill(cfg, s);
        }
    }

    /// Keep-alive round: detect silent neighbours, ping the others, repair the view.
    pub(crate) fn keepalive(&mut self, cfg: &Config, s: &mut Step<'_>) {
        self.tried.clear();
        let dead: Vec<NodeId> = self
            .active
            .iter()
            .filter(|p| s.now.saturating_sub(p.heard) > cfg.failure_timeout)
            .map(|p| p.id)
            .collect();
        for p in dead {
            self.failed(cfg, p, DownCause::Timeout, s);
        }
        for p in &self.active {
            s.out.push(Effect::Send { to: p.id, msg: GossipMsg::KeepAlive });
        }
        if self.active.is_empty()
            && self.passive.is_empty()
            && self.pending.is_none()
            && let Some(contact) = self.join_target(cfg, s)
        {
            // Isolated (the contact may have been down when we joined): join again.
            self.send_join(cfg, contact, s);
            return;
        }
        // The paper repairs the active view on failures only (done in `failed`); a node
        // left with fewer than half its neighbours keeps trying every round, or a small
        // island (two nodes that only know each other) would never rejoin the rest.
        if self.starved(cfg) {
            self.refill(cfg, s);
        }
        if self.pending.is_none() && !self.suspected.is_empty() {
            let (peer, tries) = self.suspected.remove(0);
            if tries < cfg.probe_attempts {
                self.suspected.push((peer, tries + 1));
                self.request(cfg, peer, Priority::High, true, s);
            }
        }
    }

    /// Periodic SHUFFLE: a sample of both views on a random walk of length ARWL.
    pub(crate) fn shuffle(&mut self, cfg: &Config, s: &mut Step<'_>) {
        let active = self.active_view();
        let Some(to) = pick(s.rng, &active) else {
            return;
        };
        let mut nodes = alloc::vec![self.me];
        nodes.extend(sample(s.rng, &active, cfg.shuffle_ka).into_iter().filter(|p| *p != to));
        nodes.extend(sample(s.rng, &self.passive, cfg.shuffle_kp));
        self.shuffle_sent = nodes.clone();
        s.out.push(Effect::Send { to, msg: GossipMsg::Shuffle { origin: self.me, ttl: cfg.arwl, nodes } });
    }

    /// Promote a passive peer while the active view has room.
    fn refill(&mut self, cfg: &Config, s: &mut Step<'_>) {
        if self.pending.is_some() || self.active.len() >= cfg.active_size || !self.joined {
            return;
        }
        let candidates: Vec<NodeId> =
            self.passive.iter().copied().filter(|p| !self.tried.contains(p)).collect();
        if let Some(peer) = pick(s.rng, &candidates) {
            // The paper asks with high priority only when the view is empty. Peers with full
            // views refuse low priority, so a starved node (see `keepalive`) insists too.
            let priority = if self.starved(cfg) { Priority::High } else { Priority::Low };
            self.request(cfg, peer, priority, false, s);
        }
    }

    /// Fewer than half the active view's size: too few links to rely on.
    fn starved(&self, cfg: &Config) -> bool {
        self.active.len() < cfg.active_size.div_ceil(2)
    }

    fn request(&mut self, cfg: &Config, peer: NodeId, priority: Priority, probe: bool, s: &mut Step<'_>) {
        self.pending = Some(PendingNeighbor { peer, probe });
        s.out.push(Effect::Send { to: peer, msg: GossipMsg::Neighbor { priority } });
        s.out.push(Effect::SetTimer { timer: GossipTimer::NeighborTimeout, after: cfg.neighbor_timeout });
    }

    fn add_active(&mut self, cfg: &Config, p: NodeId, cause: UpCause, s: &mut Step<'_>) {
        if p == self.me || self.is_active(p) || p.0 >= cfg.nodes {
            return;
        }
        if self.active.len() >= cfg.active_size {
            let i = s.rng.below(self.active.len() as u64) as usize;
            let victim = self.active[i].id;
            s.out.push(Effect::Send { to: victim, msg: GossipMsg::Disconnect });
            self.remove_active(victim, DownCause::Evicted, s);
            self.add_passive(cfg, victim, s.rng);
        }
        self.passive.retain(|x| *x != p);
        self.suspected.retain(|(x, _)| *x != p);
        self.active.push(Peer { id: p, heard: s.now });
        s.out.push(Effect::Observe(GossipEvent::NeighborUp { peer: p, cause }));
        s.changes.push(ViewChange::Up(p));
    }

    fn remove_active(&mut self, p: NodeId, cause: DownCause, s: &mut Step<'_>) -> bool {
        let Some(i) = self.active.iter().position(|x| x.id == p) else {
            return false;
        };
        self.active.remove(i);
        s.out.push(Effect::Observe(GossipEvent::NeighborDown { peer: p, cause }));
        s.changes.push(ViewChange::Down(p));
        true
    }

    fn add_passive(&mut self, cfg: &Config, p: NodeId, rng: &mut DetRng) {
        if p == self.me || self.is_active(p) || self.passive.contains(&p) || cfg.passive_size == 0 {
            return;
        }
        if self.passive.len() >= cfg.passive_size {
            let i = rng.below(self.passive.len() as u64) as usize;
            self.passive.swap_remove(i);
        }
        self.passive.push(p);
    }
}
