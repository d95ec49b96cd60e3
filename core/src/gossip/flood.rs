//! The baseline: eager push of every message to every active neighbour (flat flooding
//! over the same HyParView overlay), with no pruning and no recovery.

use alloc::vec::Vec;

use super::Step;
use super::msg::{GossipEvent, GossipMsg, MsgId};
use super::params::Defect;
use super::seen::Seen;
use crate::effect::{Effect, NodeId};

#[derive(Clone, Debug)]
pub struct Flood {
    me: NodeId,
    pub peers: Vec<NodeId>,
    seen: Seen,
    next_seq: u32,
    pub defect: Defect,
}

impl Flood {
    pub fn new(me: NodeId, defect: Defect) -> Self {
        Flood { me, peers: Vec::new(), seen: Seen::default(), next_seq: 0, defect }
    }

    pub fn delivered(&self) -> u64 {
        self.seen.count()
    }

    /// Continue numbering broadcasts at `next`, in a fresh incarnation (ids below it are
    /// this node's own, taken before).
    pub(crate) fn resume(&mut self, next: u32) {
        self.next_seq = next;
        self.seen.resume(self.me, next);
    }

    /// Broadcasts `payload`; returns the id the next broadcast will take (to persist).
    pub(crate) fn broadcast(&mut self, payload: Vec<u8>, s: &mut Step<'_>) -> u32 {
        let id = MsgId { origin: self.me, seq: self.next_seq };
        self.next_seq = self.next_seq.wrapping_add(1);
        self.seen.insert(id);
        s.out.push(Effect::Observe(GossipEvent::Broadcast { id }));
        s.out.push(Effect::Observe(GossipEvent::Delivered { id, hops: 0 }));
        self.push(id, 0, &payload, None, s);
        self.next_seq
    }

    pub(crate) fn on_message(&mut self, from: NodeId, msg: GossipMsg, s: &mut Step<'_>) {
        if let GossipMsg::Gossip { id, round, payload } = msg {
            let hops = round.saturating_add(1);
            if self.seen.insert(id) {
                s.out.push(Effect::Observe(GossipEvent::Delivered { id, hops }));
                self.push(id, hops, &payload, Some(from), s);
            } else if self.defect == Defect::Redeliver {
                s.out.push(Effect::Observe(GossipEvent::Delivered { id, hops }));
            }
        }
    }

    fn push(&self, id: MsgId, hops: u32, payload: &[u8], except: Option<NodeId>, s: &mut Step<'_>) {
        for &p in &self.peers {
            if Some(p) != except {
                s.out.push(Effect::Send {
                    to: p,
                    msg: GossipMsg::Gossip { id, round: hops, payload: payload.to_vec() },
                });
            }
        }
    }

    pub fn neighbor_up(&mut self, p: NodeId) {
        if !self.peers.contains(&p) {
            self.peers.push(p);
        }
    }

    pub fn neighbor_down(&mut self, p: NodeId) {
        self.peers.retain(|x| *x != p);
    }
}
