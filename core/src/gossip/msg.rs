//! Messages, timers, commands and observed events of the gossip stack, in the papers' names.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

use crate::effect::{Message, NodeId, ProtocolEvent};

/// A broadcast's identity: its origin and the origin's sequence number.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct MsgId {
    pub origin: NodeId,
    pub seq: u32,
}

impl fmt::Display for MsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.origin, self.seq)
    }
}

/// HyParView's NEIGHBOR priority: high when the requester's active view is empty.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub enum Priority {
    Low,
    High,
}

/// Everything gossip nodes say to each other.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum GossipMsg {
    /// HyParView: a new node asks the contact to join (the sender adds the contact).
    Join,
    /// HyParView: a random walk announcing `new_node`; accepted at `ttl == 0`.
    ForwardJoin {
        new_node: NodeId,
        ttl: u8,
    },
    /// HyParView: ask to become an active neighbour (also sent by a node that accepted a
    /// FORWARDJOIN, with high priority, so the link is symmetric).
    Neighbor {
        priority: Priority,
    },
    NeighborReply {
        accepted: bool,
    },
    /// HyParView: the sender dropped us from its active view.
    Disconnect,
    /// HyParView: a random walk carrying a sample of the origin's views.
    Shuffle {
        origin: NodeId,
        ttl: u8,
        nodes: Vec<NodeId>,
    },
    ShuffleReply {
        nodes: Vec<NodeId>,
    },
    /// Failure detector for links over which nothing else flows (detects partitions).
    KeepAlive,
    /// Plumtree/flood: the payload; `round` = hops from the origin to the sender.
    Gossip {
        id: MsgId,
        round: u32,
        payload: Vec<u8>,
    },
    /// Plumtree: lazy-push announcements `(id, round)`, batched per flush interval.
    IHave {
        announcements: Vec<(MsgId, u32)>,
    },
    /// Plumtree: make the link eager again; `id: Some` also asks for that message.
    Graft {
        id: Option<MsgId>,
        round: u32,
    },
    /// Plumtree: make the link lazy (the sender got a duplicate over it).
    Prune,
}

impl Message for GossipMsg {
    fn kind(&self) -> &'static str {
        match self {
            GossipMsg::Join => "Join",
            GossipMsg::ForwardJoin { .. } => "ForwardJoin",
            GossipMsg::Neighbor { .. } => "Neighbor",
            GossipMsg::NeighborReply { .. } => "NeighborReply",
            GossipMsg::Disconnect => "Disconnect",
            GossipMsg::Shuffle { .. } => "Shuffle",
            GossipMsg::ShuffleReply { .. } => "ShuffleReply",
            GossipMsg::KeepAlive => "KeepAlive",
            GossipMsg::Gossip { .. } => "Gossip",
            GossipMsg::IHave { .. } => "IHave",
            GossipMsg::Graft { .. } => "Graft",
            GossipMsg::Prune => "Prune",
        }
    }

    fn carries_payload(&self) -> bool {
        matches!(self, GossipMsg::Gossip { .. })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
pub enum GossipTimer {
    /// Time to send JOIN (joins are staggered).
    Join,
    /// Periodic SHUFFLE of the passive view.
    Shuffle,
    /// Periodic keep-alive, failure detection and view repair.
    KeepAlive,
    /// A NEIGHBOR request went unanswered.
    NeighborTimeout,
    /// Send the queued IHAVE announcements.
    Flush,
    /// Plumtree's missing-message timer for an announced id.
    Missing(MsgId),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum GossipCommand {
    /// Broadcast `payload` from this node.
    Broadcast { payload: Vec<u8> },
}

/// How an active-view link came up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpCause {
    /// We sent JOIN to the contact, or are the contact that received it.
    Join,
    /// A FORWARDJOIN walk ended here (ttl = 0 or a single active neighbour).
    ForwardJoin,
    /// We accepted a NEIGHBOR request.
    NeighborAccepted(Priority),
    /// Our NEIGHBOR request was accepted.
    NeighborReply,
    /// A probe of a peer lost to a timeout (partition) was accepted.
    Probe,
}

/// Why an active-view link went down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DownCause {
    /// The peer sent DISCONNECT.
    Disconnect,
    /// Dropped at random to make room for a new neighbour.
    Evicted,
    /// The driver reported the peer unreachable.
    Unreachable,
    /// No message from the peer within the failure timeout.
    Timeout,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PruneCause {
    /// We received a duplicate GOSSIP over this link and sent PRUNE.
    Duplicate,
    /// The peer sent PRUNE.
    Received,
    /// §3.8: a lazy link delivers much earlier; the eager one is pruned.
    Optimization,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GraftCause {
    /// The missing-message timer (timeout1, then timeout2) expired: we sent GRAFT.
    Timer,
    /// The peer sent GRAFT.
    Received,
    /// §3.8: we grafted a lazy link whose announcements arrive much earlier.
    Optimization,
    /// A GOSSIP arrived over a lazy link (the sender holds us as eager).
    Gossip,
}

/// What a gossip node did, for the trace, the checkers and the playground.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum GossipEvent {
    /// The node joins through `contact`; `None` = it is the contact and starts alone.
    Joining {
        contact: Option<NodeId>,
    },
    NeighborUp {
        peer: NodeId,
        cause: UpCause,
    },
    NeighborDown {
        peer: NodeId,
        cause: DownCause,
    },
    NeighborRejected {
        peer: NodeId,
    },
    Shuffled {
        peer: NodeId,
        learned: u32,
    },
    /// The broadcast layer's peers after a change (eager edges solid, lazy dashed).
    EagerPeers {
        eager: Vec<NodeId>,
        lazy: Vec<NodeId>,
    },
    Broadcast {
        id: MsgId,
    },
    Delivered {
        id: MsgId,
        hops: u32,
    },
    Pruned {
        peer: NodeId,
        id: Option<MsgId>,
        cause: PruneCause,
    },
    Grafted {
        peer: NodeId,
        id: Option<MsgId>,
        cause: GraftCause,
    },
    /// A GRAFT asked for a message no longer in the cache.
    CacheMiss {
        peer: NodeId,
        id: MsgId,
    },
    /// A malformed or oversized message was refused.
    Refused {
        from: NodeId,
        reason: String,
    },
    /// The node switched to a (deliberately broken) behaviour.
    Behaviour {
        defect: String,
    },
}

impl ProtocolEvent for GossipEvent {
    fn kind(&self) -> &'static str {
        match self {
            GossipEvent::Joining { .. } => "Joining",
            GossipEvent::NeighborUp { .. } => "NeighborUp",
            GossipEvent::NeighborDown { .. } => "NeighborDown",
            GossipEvent::NeighborRejected { .. } => "NeighborRejected",
            GossipEvent::Shuffled { .. } => "Shuffled",
            GossipEvent::EagerPeers { .. } => "EagerPeers",
            GossipEvent::Broadcast { .. } => "Broadcast",
            GossipEvent::Delivered { .. } => "Delivered",
            GossipEvent::Pruned { .. } => "Pruned",
            GossipEvent::Grafted { .. } => "Grafted",
            GossipEvent::CacheMiss { .. } => "CacheMiss",
            GossipEvent::Refused { .. } => "Refused",
            GossipEvent::Behaviour { .. } => "Behaviour",
        }
    }

    fn describe(&self) -> String {
        match self {
            GossipEvent::Joining { contact: Some(c) } => format!("sends JOIN to contact node {c}"),
            GossipEvent::Joining { contact: None } => "is the contact: starts with empty views".into(),
            GossipEvent::NeighborUp { peer, cause } => {
                let rule = match cause {
                    UpCause::Join => "JOIN → add to active view",
                    UpCause::ForwardJoin => "FORWARDJOIN with ttl = 0 or one neighbour → add new node",
                    UpCause::NeighborAccepted(Priority::High) => "NEIGHBOR(high) is always accepted",
                    UpCause::NeighborAccepted(Priority::Low) => {
                        "NEIGHBOR(low) accepted: active view not full"
                    }
                    UpCause::NeighborReply => "NEIGHBOR accepted → promote from passive view",
                    UpCause::Probe => "probe of a timed-out peer accepted → link across a healed partition",
                };
                format!("node {peer} joins the active view ({rule}); Plumtree: NeighborUp → eager")
            }
            GossipEvent::NeighborDown { peer, cause } => {
                let rule = match cause {
                    DownCause::Disconnect => "DISCONNECT received → move to passive view",
                    DownCause::Evicted => "active view full → drop a random neighbour with DISCONNECT",
                    DownCause::Unreachable => "peer unreachable → replace from passive view",
                    DownCause::Timeout => "no message within the failure timeout → replace from passive view",
                };
                format!("node {peer} leaves the active view ({rule}); Plumtree: NeighborDown")
            }
            GossipEvent::NeighborRejected { peer } => {
                format!("NEIGHBOR(low) refused by node {peer}: its active view is full → try another")
            }
            GossipEvent::Shuffled { peer, learned } => {
                format!("SHUFFLE exchange with node {peer}: {learned} new passive entries")
            }
            GossipEvent::EagerPeers { eager, lazy } => {
                format!("eager_push_peers {eager:?}, lazy_push_peers {lazy:?}")
            }
            GossipEvent::Broadcast { id } => format!("broadcasts {id}: deliver, eager push, lazy push"),
            GossipEvent::Delivered { id, hops } => format!("delivers {id} after {hops} hop(s)"),
            GossipEvent::Pruned { peer, id, cause } => match cause {
                PruneCause::Duplicate => format!(
                    "duplicate GOSSIP {} from node {peer} → PRUNE sender (link becomes lazy)",
                    opt(id)
                ),
                PruneCause::Received => format!("PRUNE from node {peer} → move it to lazy_push_peers"),
                PruneCause::Optimization => {
                    format!(
                        "§3.8: eager copy of {} arrived far later than an IHAVE → PRUNE node {peer}",
                        opt(id)
                    )
                }
            },
            GossipEvent::Grafted { peer, id, cause } => match cause {
                GraftCause::Timer => format!("IHAVE timer for {} expired → GRAFT node {peer}", opt(id)),
                GraftCause::Received => {
                    format!("GRAFT from node {peer} → eager push to it, resend {}", opt(id))
                }
                GraftCause::Optimization => {
                    format!(
                        "§3.8: IHAVE for {} from node {peer} beat the eager copy by the threshold → GRAFT",
                        opt(id)
                    )
                }
                GraftCause::Gossip => format!("GOSSIP {} from lazy node {peer} → move it to eager", opt(id)),
            },
            GossipEvent::CacheMiss { peer, id } => {
                format!(
                    "GRAFT from node {peer} asks for {id}, no longer cached: link grafted, nothing resent"
                )
            }
            GossipEvent::Refused { from, reason } => format!("refuses a message from node {from}: {reason}"),
            GossipEvent::Behaviour { defect } => format!("switches its behaviour to {defect}"),
        }
    }

    fn rejection(&self) -> Option<&str> {
        match self {
            GossipEvent::Refused { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

fn opt(id: &Option<MsgId>) -> String {
    match id {
        Some(id) => format!("{id}"),
        None => String::from("(no message)"),
    }
}
