//! What the gossip checkers and metrics learn from the trace: the broadcasts, who is a
//! member since when, and when the system was disturbed (faults, joins, link changes).

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use super::GossipNode;
use super::msg::{GossipEvent, GossipMsg, GraftCause, MsgId};
use crate::effect::{Micros, NodeId};
use crate::sim::{TraceEvent, TraceKind};

/// A fixed-size set of node indices.
#[derive(Clone, Debug)]
pub(crate) struct Bits(Vec<u64>);

impl Bits {
    pub fn new(n: u32) -> Self {
        Bits(vec![0; (n as usize).div_ceil(64)])
    }
    pub fn get(&self, i: u32) -> bool {
        self.0.get(i as usize / 64).is_some_and(|w| w >> (i % 64) & 1 == 1)
    }
    /// Set bit `i`; true if it was clear.
    pub fn set(&mut self, i: u32) -> bool {
        match self.0.get_mut(i as usize / 64) {
            Some(w) => {
                let was = *w >> (i % 64) & 1 == 1;
                *w |= 1 << (i % 64);
                !was
            }
            None => false,
        }
    }
    pub fn clear(&mut self, i: u32) {
        if let Some(w) = self.0.get_mut(i as usize / 64) {
            *w &= !(1 << (i % 64));
        }
    }
    pub fn count(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Bcast {
    pub time: Micros,
    pub sender: NodeId,
}

/// Which kinds of events count as disturbances for a checker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sensitivity {
    /// Faults and joins.
    Faults,
    /// Also any change of the active view or of the eager links (grafts).
    Links,
}

pub(crate) struct Timeline {
    pub n: u32,
    /// Broadcast index by (origin, seq): keyed and valued like the PBFT checkers'
    /// request maps, so the browser's bundle holds one B-tree type for both.
    index: BTreeMap<(NodeId, u64), u64>,
    pub bcasts: Vec<Bcast>,
    /// Instants of disturbance, in time order.
    points: Vec<Micros>,
    /// Disturbances with a duration (partitions, link faults); open ones end at `MAX`.
    spans: Vec<(Micros, Micros)>,
    pub member_since: Vec<Option<Micros>>,
    sensitivity: Sensitivity,
}

impl Timeline {
    pub fn new(n: u32, sensitivity: Sensitivity) -> Self {
        Timeline {
            n,
            index: BTreeMap::new(),
            bcasts: Vec::new(),
            points: Vec::new(),
            spans: Vec::new(),
            member_since: vec![None; n as usize],
            sensitivity,
        }
    }

    /// The broadcast index of a message id, if it is a known broadcast.
    pub fn of(&self, id: &MsgId) -> Option<u32> {
        self.index.get(&(id.origin, u64::from(id.seq))).map(|&k| k as u32)
    }

    fn point(&mut self, t: Micros) {
        if self.points.last() != Some(&t) {
            self.points.push(t);
        }
    }

    /// Absorb one event; returns the index of a new broadcast.
    pub fn observe(&mut self, ev: &TraceEvent<GossipNode>) -> Option<u32> {
        let t = ev.time;
        let node = ev.node.index();
        match &ev.kind {
            TraceKind::Crash | TraceKind::Restart | TraceKind::Start => {
                if let Some(m) = self.member_since.get_mut(node) {
                    *m = None;
                }
                if !matches!(ev.kind, TraceKind::Start) {
                    self.point(t);
                }
            }
            TraceKind::Partition { .. } => self.spans.push((t, Micros::MAX)),
            TraceKind::Heal => {
                if let Some(s) = self.spans.iter_mut().find(|s| s.1 == Micros::MAX) {
                    s.1 = t;
                }
            }
            TraceKind::LinkFault { until, .. } => self.spans.push((t, *until)),
            TraceKind::Misbehave(_) | TraceKind::ClockJump { .. } => self.point(t),
            TraceKind::Observe(e) => match e {
                GossipEvent::Joining { .. } => {
                    if let Some(m) = self.member_since.get_mut(node)
                        && m.is_none()
                    {
                        *m = Some(t);
                    }
                    self.point(t);
                }
                GossipEvent::Broadcast { id } => {
                    let k = self.bcasts.len() as u32;
                    self.index.insert((id.origin, u64::from(id.seq)), u64::from(k));
                    self.bcasts.push(Bcast { time: t, sender: ev.node });
                    return Some(k);
                }
                GossipEvent::NeighborUp { .. } | GossipEvent::NeighborDown { .. }
                    if self.sensitivity == Sensitivity::Links =>
                {
                    self.point(t)
                }
                // §3.8 swaps keep a tree (the new parent is strictly closer to the sender),
                // so only timer grafts (and the peer side of them) disturb the eager graph.
                GossipEvent::Grafted {
                    cause: GraftCause::Timer | GraftCause::Received, id: Some(_), ..
                } if self.sensitivity == Sensitivity::Links => self.point(t),
                _ => {}
            },
            _ => {}
        }
        None
    }

    /// No disturbance within `settle` of `t` on either side.
    pub fn quiet(&self, t: Micros, settle: Micros) -> bool {
        let (lo, hi) = (t.saturating_sub(settle), t.saturating_add(settle));
        let i = self.points.partition_point(|p| *p < lo);
        let point_inside = self.points.get(i).is_some_and(|p| *p <= hi);
        !point_inside && !self.spans.iter().any(|(a, b)| *a <= hi && *b >= lo)
    }

    /// The end of the last disturbance (heal of the last partition included).
    pub fn last_disturbance(&self) -> Option<Micros> {
        let p = self.points.last().copied();
        let s = self.spans.iter().map(|(a, b)| if *b == Micros::MAX { *a } else { *b }).max();
        p.max(s)
    }
}

/// The broadcast a payload message belongs to.
pub(crate) fn gossip_id(msg: &GossipMsg) -> Option<&MsgId> {
    match msg {
        GossipMsg::Gossip { id, .. } => Some(id),
        _ => None,
    }
}
