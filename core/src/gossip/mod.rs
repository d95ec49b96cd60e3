//! Gossip: HyParView membership (Leitão, Pereira, Rodrigues, DSN 2007) under a
//! broadcast layer, either Plumtree ("Epidemic Broadcast Trees", SRDS 2007) or flat
//! flooding as the baseline. [`GossipNode`] hosts both layers as one sans-IO protocol;
//! the scenario's `params.broadcast` picks the broadcast layer.

mod check;
mod flood;
mod hyparview;
mod metrics;
mod msg;
mod params;
mod plumtree;
mod seen;
mod setup;
mod timeline;
pub mod wire;

use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

pub use check::{EagerTree, EventualDelivery, NoDuplicateDelivery};
pub use flood::Flood;
pub use hyparview::HyParView;
pub use metrics::GossipMetrics;
pub use msg::{
    DownCause, GossipCommand, GossipEvent, GossipMsg, GossipTimer, GraftCause, MsgId, Priority, PruneCause,
    UpCause,
};
pub use params::{BroadcastKind, Churn, Config, Defect, Params, Split, ceil_log2};
pub use plumtree::Plumtree;
pub use setup::{fault_plan, scheduled_moments, simulate};
pub use wire::{FrameError, decode_frame, encode_frame};

use crate::effect::{DetRng, Effect, Env, Input, Micros, NodeId, Protocol};

/// What a gossip member persists is keyed under this prefix (a node may keep other
/// state machines' keys beside it).
pub const PERSIST_PREFIX: &[u8] = b"gossip/";
/// The persisted key holding the id the next broadcast of this node takes (`u32`, LE).
pub const NEXT_BROADCAST_KEY: &[u8] = b"gossip/next-broadcast";

/// A change of the active view, handed from HyParView to the broadcast layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ViewChange {
    Up(NodeId),
    Down(NodeId),
}

/// What a layer needs to handle one input: the clock, the RNG and where effects go.
pub(crate) struct Step<'a> {
    pub now: Micros,
    pub rng: &'a mut DetRng,
    pub out: &'a mut Vec<Effect<GossipNode>>,
    pub changes: &'a mut Vec<ViewChange>,
}

/// The broadcast layer over the membership.
// One per node and inline on purpose: a box would add a pointer chase to every message.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum BroadcastLayer {
    Plumtree(Plumtree),
    Flood(Flood),
}

/// One gossip node: `membership` below, `broadcast` above.
#[derive(Clone, Debug)]
pub struct GossipNode {
    me: NodeId,
    cfg: Rc<Config>,
    pub membership: HyParView,
    pub broadcast: BroadcastLayer,
    changes: Vec<ViewChange>,
    refused: u64,
}

impl GossipNode {
    pub fn new(me: NodeId, cfg: Rc<Config>) -> Self {
        let broadcast = match cfg.broadcast {
            BroadcastKind::Plumtree => BroadcastLayer::Plumtree(Plumtree::new(me, cfg.defect)),
            BroadcastKind::Flood => BroadcastLayer::Flood(Flood::new(me, cfg.defect)),
        };
        GossipNode { me, cfg, membership: HyParView::new(me), broadcast, changes: Vec::new(), refused: 0 }
    }

    pub fn id(&self) -> NodeId {
        self.me
    }

    /// A frame from a real transport: decode it or refuse it with an observed event.
    pub fn on_frame(&mut self, from: NodeId, bytes: &[u8], env: &mut Env<'_>, out: &mut Vec<Effect<Self>>) {
        match decode_frame(bytes) {
            Ok(msg) => self.on_input(Input::Message { from, msg }, env, out),
            Err(e) => {
                self.refused += 1;
                out.push(Effect::Observe(GossipEvent::Refused { from, reason: e.to_string() }));
            }
        }
    }

    fn set_defect(&mut self, d: Defect) {
        match &mut self.broadcast {
            BroadcastLayer::Plumtree(p) => p.defect = d,
            BroadcastLayer::Flood(f) => f.defect = d,
        }
    }

    /// Hand view changes to the broadcast layer (NeighborUp/NeighborDown).
    fn apply_changes(&mut self, out: &mut Vec<Effect<Self>>) {
        if self.changes.is_empty() {
            return;
        }
        for c in self.changes.drain(..) {
            match (&mut self.broadcast, c) {
                (BroadcastLayer::Plumtree(p), ViewChange::Up(n)) => p.neighbor_up(n),
                (BroadcastLayer::Plumtree(p), ViewChange::Down(n)) => p.neighbor_down(n),
                (BroadcastLayer::Flood(f), ViewChange::Up(n)) => f.neighbor_up(n),
                (BroadcastLayer::Flood(f), ViewChange::Down(n)) => f.neighbor_down(n),
            }
        }
        if let BroadcastLayer::Plumtree(p) = &self.broadcast {
            out.push(Effect::Observe(GossipEvent::EagerPeers {
                eager: p.eager_push_peers.clone(),
                lazy: p.lazy_push_peers.clone(),
            }));
        }
    }

    fn jitter(rng: &mut DetRng, period: Micros) -> Micros {
        // Uniform in [period/2, 3·period/2) so periodic rounds do not synchronise.
        period / 2 + rng.below(period.max(1))
    }
}

impl Protocol for GossipNode {
    type Msg = GossipMsg;
    type Timer = GossipTimer;
    type Command = GossipCommand;
    type Reply = ();
    type Event = GossipEvent;

    fn on_input(&mut self, input: Input<Self>, env: &mut Env<'_>, out: &mut Vec<Effect<Self>>) {
        let cfg = Rc::clone(&self.cfg);
        let mut changes = core::mem::take(&mut self.changes);
        let mut s = Step { now: env.now, rng: &mut *env.rng, out, changes: &mut changes };
        match input {
            Input::Start => {
                s.out.push(Effect::SetTimer { timer: GossipTimer::Join, after: cfg.join_at(self.me) });
            }
            Input::Restart(persisted) => {
                // Broadcast ids go on from where the last incarnation stopped: the others
                // would take a reused id for a broadcast they already have, and drop it.
                let next = persisted
                    .get(NEXT_BROADCAST_KEY)
                    .and_then(|v| <[u8; 4]>::try_from(v.as_slice()).ok())
                    .map(u32::from_le_bytes);
                if let Some(next) = next {
                    match &mut self.broadcast {
                        BroadcastLayer::Plumtree(p) => p.resume(next),
                        BroadcastLayer::Flood(f) => f.resume(next),
                    }
                }
                // A new incarnation with empty views: join again after a keep-alive period.
                self.membership.restarted();
                s.out.push(Effect::SetTimer { timer: GossipTimer::Join, after: cfg.keepalive });
            }
            Input::Timer(t) => match t {
                GossipTimer::Join => {
                    self.membership.join(&cfg, &mut s);
                    let k = s.rng.below(cfg.keepalive.max(1));
                    s.out.push(Effect::SetTimer { timer: GossipTimer::KeepAlive, after: k.max(1) });
                    let sh = Self::jitter(s.rng, cfg.shuffle_interval);
                    s.out.push(Effect::SetTimer { timer: GossipTimer::Shuffle, after: sh });
                }
                GossipTimer::KeepAlive => {
                    self.membership.keepalive(&cfg, &mut s);
                    s.out.push(Effect::SetTimer { timer: GossipTimer::KeepAlive, after: cfg.keepalive });
                }
                GossipTimer::Shuffle => {
                    self.membership.shuffle(&cfg, &mut s);
                    let sh = Self::jitter(s.rng, cfg.shuffle_interval);
                    s.out.push(Effect::SetTimer { timer: GossipTimer::Shuffle, after: sh });
                }
                GossipTimer::NeighborTimeout => self.membership.neighbor_timeout(&cfg, &mut s),
                GossipTimer::Flush => {
                    if let BroadcastLayer::Plumtree(p) = &mut self.broadcast {
                        p.flush(&mut s);
                    }
                }
                GossipTimer::Missing(id) => {
                    if let BroadcastLayer::Plumtree(p) = &mut self.broadcast {
                        p.on_missing_timer(&cfg, id, &mut s);
                    }
                }
            },
            Input::Message { from, msg } => {
                if let Err(e) = wire::check_bounds(&msg) {
                    self.refused += 1;
                    s.out.push(Effect::Observe(GossipEvent::Refused { from, reason: e.to_string() }));
                } else if from == self.me || from.0 >= cfg.nodes {
                    self.refused += 1;
                    s.out.push(Effect::Observe(GossipEvent::Refused {
                        from,
                        reason: format!("sender {from} is not a member of this {}-node cluster", cfg.nodes),
                    }));
                } else {
                    self.membership.heard(from, s.now);
                    match msg {
                        GossipMsg::Gossip { .. }
                        | GossipMsg::IHave { .. }
                        | GossipMsg::Graft { .. }
                        | GossipMsg::Prune => match &mut self.broadcast {
                            BroadcastLayer::Plumtree(p) => p.on_message(&cfg, from, msg, &mut s),
                            BroadcastLayer::Flood(f) => f.on_message(from, msg, &mut s),
                        },
                        other => self.membership.on_message(&cfg, from, other, &mut s),
                    }
                }
            }
            Input::Command(GossipCommand::Broadcast { payload }) => {
                if payload.len() > wire::MAX_PAYLOAD {
                    s.out.push(Effect::Observe(GossipEvent::Refused {
                        from: self.me,
                        reason: format!("payload of {} bytes exceeds {}", payload.len(), wire::MAX_PAYLOAD),
                    }));
                } else {
                    let next = match &mut self.broadcast {
                        BroadcastLayer::Plumtree(p) => p.broadcast(&cfg, payload, &mut s),
                        BroadcastLayer::Flood(f) => f.broadcast(payload, &mut s),
                    };
                    s.out.push(Effect::Persist {
                        key: NEXT_BROADCAST_KEY.to_vec(),
                        value: Some(next.to_le_bytes().to_vec()),
                    });
                }
            }
            Input::Unreachable { peer } => self.membership.failed(&cfg, peer, DownCause::Unreachable, &mut s),
            Input::Misbehave(b) => {
                let defect = match Defect::parse(&b) {
                    Some(d) => {
                        self.set_defect(d);
                        d.name().to_string()
                    }
                    None => format!("unknown behaviour {b:?} ignored (known: {})", Defect::NAMES.join(", ")),
                };
                s.out.push(Effect::Observe(GossipEvent::Behaviour { defect }));
            }
        }
        self.changes = changes;
        self.apply_changes(out);
    }

    fn role(&self) -> &'static str {
        "gossip"
    }

    fn inspect(&self) -> Vec<(String, String)> {
        let mut facts = vec![
            ("active view".into(), format!("{:?}", self.membership.active_view())),
            ("passive view".into(), format!("{:?}", self.membership.passive_view())),
        ];
        match &self.broadcast {
            BroadcastLayer::Plumtree(p) => {
                facts.push(("eager_push_peers".into(), format!("{:?}", p.eager_push_peers)));
                facts.push(("lazy_push_peers".into(), format!("{:?}", p.lazy_push_peers)));
                facts.push(("delivered".into(), format!("{}", p.delivered())));
                facts.push(("cached payloads".into(), format!("{}", p.cached())));
                facts.push(("missing (IHAVE timers)".into(), format!("{}", p.missing())));
                facts.push(("behaviour".into(), p.defect.name().into()));
            }
            BroadcastLayer::Flood(f) => {
                facts.push(("flood peers".into(), format!("{:?}", f.peers)));
                facts.push(("delivered".into(), format!("{}", f.delivered())));
            }
        }
        facts.push(("refused messages".into(), format!("{}", self.refused)));
        facts
    }
}

#[cfg(test)]
mod tests;
