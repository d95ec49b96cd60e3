//! Plumtree rules on a lone node.

use alloc::vec;
use alloc::vec::Vec;

use super::{config, feed, sends};
use crate::effect::{DetRng, Effect, Input, NodeId};
use crate::gossip::{
    BroadcastLayer, GossipCommand, GossipEvent, GossipMsg, GossipNode, GossipTimer, GraftCause, MsgId,
    Priority, PruneCause,
};

fn msg(from: u32, m: GossipMsg) -> Input<GossipNode> {
    Input::Message { from: NodeId(from), msg: m }
}

fn tree(n: &GossipNode) -> (Vec<NodeId>, Vec<NodeId>) {
    match &n.broadcast {
        BroadcastLayer::Plumtree(p) => (p.eager_push_peers.clone(), p.lazy_push_peers.clone()),
        BroadcastLayer::Flood(_) => panic!("not plumtree"),
    }
}

/// Node 0 with active neighbours 1, 2, 3 (all eager at first) and no IHAVE batching.
fn node(rng: &mut DetRng, optimization: bool) -> GossipNode {
    let cfg = config(10, |p| {
        p.ihave_flush_ms = 0.0;
        p.optimization = optimization;
        p.optimization_threshold = 2;
        p.optimization_window = 1;
    });
    let mut n = GossipNode::new(NodeId(0), cfg);
    feed(&mut n, Input::Timer(GossipTimer::Join), 0, rng);
    for a in 1..=3 {
        feed(&mut n, msg(a, GossipMsg::Neighbor { priority: Priority::High }), 0, rng);
    }
    n
}

fn id(o: u32, s: u32) -> MsgId {
    MsgId { origin: NodeId(o), seq: s }
}

fn gossip(o: u32, round: u32) -> GossipMsg {
    GossipMsg::Gossip { id: id(o, 0), round, payload: vec![7] }
}

#[test]
fn new_neighbours_start_eager_and_gossip_is_pushed_to_all_but_the_sender() {
    let mut rng = DetRng::seed_from_u64(1);
    let mut n = node(&mut rng, false);
    assert_eq!(tree(&n).0.len(), 3);
    let out = feed(&mut n, msg(1, gossip(9, 2)), 0, &mut rng);
    let mut to: Vec<u32> = sends(&out).iter().map(|(t, _)| t.0).collect();
    to.sort();
    assert_eq!(to, vec![2, 3]);
    assert!(sends(&out).iter().all(|(_, m)| *m == gossip(9, 3)), "round is incremented");
    assert!(out.iter().any(|e| matches!(e, Effect::Observe(GossipEvent::Delivered { hops: 3, .. }))));
}

#[test]
fn duplicate_gossip_prunes_the_sender_and_a_pruned_duplicate_is_not_resent() {
    let mut rng = DetRng::seed_from_u64(2);
    let mut n = node(&mut rng, false);
    feed(&mut n, msg(1, gossip(9, 0)), 0, &mut rng);
    let out = feed(&mut n, msg(2, gossip(9, 0)), 0, &mut rng);
    assert_eq!(sends(&out), vec![(NodeId(2), GossipMsg::Prune)]);
    assert!(
        out.iter()
            .any(|e| matches!(e, Effect::Observe(GossipEvent::Pruned { cause: PruneCause::Duplicate, .. })))
    );
    assert!(!out.iter().any(|e| matches!(e, Effect::Observe(GossipEvent::Delivered { .. }))));
    assert_eq!(tree(&n).1, vec![NodeId(2)]);
    // The next message goes eagerly to 1 and 3, lazily (IHAVE) to 2.
    let out = feed(&mut n, Input::Command(GossipCommand::Broadcast { payload: vec![1] }), 0, &mut rng);
    let s = sends(&out);
    assert!(s.iter().any(|(t, m)| t.0 == 2 && matches!(m, GossipMsg::IHave { .. })));
    assert!(!s.iter().any(|(t, m)| t.0 == 2 && matches!(m, GossipMsg::Gossip { .. })));
}

#[test]
fn prune_moves_the_peer_to_lazy() {
    let mut rng = DetRng::seed_from_u64(3);
    let mut n = node(&mut rng, false);
    feed(&mut n, msg(3, GossipMsg::Prune), 0, &mut rng);
    assert_eq!(tree(&n).1, vec![NodeId(3)]);
}

#[test]
fn ihave_timer_expiry_grafts_the_first_announcer_then_the_next_after_timeout2() {
    let mut rng = DetRng::seed_from_u64(4);
    let mut n = node(&mut rng, false);
    feed(&mut n, msg(2, GossipMsg::Prune), 0, &mut rng);
    feed(&mut n, msg(3, GossipMsg::Prune), 0, &mut rng);
    let out = feed(&mut n, msg(2, GossipMsg::IHave { announcements: vec![(id(9, 0), 1)] }), 0, &mut rng);
    assert!(
        out.iter().any(|e| matches!(e, Effect::SetTimer { timer: GossipTimer::Missing(_), after: 250_000 }))
    );
    feed(&mut n, msg(3, GossipMsg::IHave { announcements: vec![(id(9, 0), 1)] }), 0, &mut rng);
    let out = feed(&mut n, Input::Timer(GossipTimer::Missing(id(9, 0))), 250_000, &mut rng);
    assert_eq!(sends(&out), vec![(NodeId(2), GossipMsg::Graft { id: Some(id(9, 0)), round: 1 })]);
    assert!(out.iter().any(|e| matches!(e, Effect::SetTimer { after: 100_000, .. })));
    assert!(
        out.iter()
            .any(|e| matches!(e, Effect::Observe(GossipEvent::Grafted { cause: GraftCause::Timer, .. })))
    );
    assert!(tree(&n).0.contains(&NodeId(2)));
    let out = feed(&mut n, Input::Timer(GossipTimer::Missing(id(9, 0))), 350_000, &mut rng);
    assert_eq!(sends(&out), vec![(NodeId(3), GossipMsg::Graft { id: Some(id(9, 0)), round: 1 })]);
    // The message arrives: nothing more is grafted.
    feed(&mut n, msg(3, gossip(9, 1)), 360_000, &mut rng);
    let out = feed(&mut n, Input::Timer(GossipTimer::Missing(id(9, 0))), 450_000, &mut rng);
    assert!(sends(&out).is_empty());
}

#[test]
fn graft_makes_the_link_eager_and_resends_from_the_cache() {
    let mut rng = DetRng::seed_from_u64(5);
    let mut n = node(&mut rng, false);
    feed(&mut n, msg(1, GossipMsg::Prune), 0, &mut rng);
    feed(&mut n, msg(2, gossip(9, 4)), 0, &mut rng);
    let out = feed(&mut n, msg(1, GossipMsg::Graft { id: Some(id(9, 0)), round: 4 }), 0, &mut rng);
    assert_eq!(sends(&out), vec![(NodeId(1), gossip(9, 5))]);
    assert!(tree(&n).0.contains(&NodeId(1)));
    let out = feed(&mut n, msg(1, GossipMsg::Graft { id: Some(id(8, 0)), round: 0 }), 0, &mut rng);
    assert!(out.iter().any(|e| matches!(e, Effect::Observe(GossipEvent::CacheMiss { .. }))));
}

#[test]
fn neighbor_down_forgets_the_peer_and_its_announcements() {
    let mut rng = DetRng::seed_from_u64(6);
    let mut n = node(&mut rng, false);
    feed(&mut n, msg(2, GossipMsg::Prune), 0, &mut rng);
    feed(&mut n, msg(2, GossipMsg::IHave { announcements: vec![(id(9, 0), 1)] }), 0, &mut rng);
    feed(&mut n, Input::Unreachable { peer: NodeId(2) }, 0, &mut rng);
    assert!(!tree(&n).0.contains(&NodeId(2)) && !tree(&n).1.contains(&NodeId(2)));
    let out = feed(&mut n, Input::Timer(GossipTimer::Missing(id(9, 0))), 250_000, &mut rng);
    assert!(!sends(&out).iter().any(|(_, m)| matches!(m, GossipMsg::Graft { .. })));
}

#[test]
fn optimization_swaps_a_slow_eager_link_for_a_fast_lazy_one() {
    let mut rng = DetRng::seed_from_u64(7);
    let mut n = node(&mut rng, true);
    feed(&mut n, msg(3, GossipMsg::Prune), 0, &mut rng);
    feed(&mut n, msg(3, GossipMsg::IHave { announcements: vec![(id(9, 0), 1)] }), 0, &mut rng);
    // The eager copy comes 6 hops from the origin, the announcer is at 1: 7 ≥ 2 + 2.
    let out = feed(&mut n, msg(1, gossip(9, 6)), 0, &mut rng);
    let s = sends(&out);
    assert!(s.contains(&(NodeId(3), GossipMsg::Graft { id: None, round: 0 })));
    assert!(s.contains(&(NodeId(1), GossipMsg::Prune)));
    let (eager, lazy) = tree(&n);
    assert!(eager.contains(&NodeId(3)) && lazy.contains(&NodeId(1)));
}

#[test]
fn without_the_optimization_a_slow_eager_link_stays() {
    let mut rng = DetRng::seed_from_u64(8);
    let mut n = node(&mut rng, false);
    feed(&mut n, msg(3, GossipMsg::Prune), 0, &mut rng);
    feed(&mut n, msg(3, GossipMsg::IHave { announcements: vec![(id(9, 0), 1)] }), 0, &mut rng);
    let out = feed(&mut n, msg(1, gossip(9, 6)), 0, &mut rng);
    assert!(!sends(&out).iter().any(|(_, m)| matches!(m, GossipMsg::Graft { .. } | GossipMsg::Prune)));
}

#[test]
fn oversized_messages_are_refused_with_an_event() {
    let mut rng = DetRng::seed_from_u64(9);
    let mut n = node(&mut rng, false);
    let big =
        GossipMsg::Gossip { id: id(9, 0), round: 0, payload: vec![0; crate::gossip::wire::MAX_PAYLOAD + 1] };
    let out = feed(&mut n, msg(1, big), 0, &mut rng);
    assert!(sends(&out).is_empty());
    assert!(out.iter().any(|e| matches!(e, Effect::Observe(GossipEvent::Refused { .. }))));
}

/// Node 0 with eager 1, 2 and lazy 3; the §3.8 rule averaged over `window` messages.
fn averaging_node(rng: &mut DetRng, window: u32) -> GossipNode {
    let cfg = config(10, |p| {
        p.ihave_flush_ms = 0.0;
        p.optimization_threshold = 2;
        p.optimization_window = window;
    });
    let mut n = GossipNode::new(NodeId(0), cfg);
    feed(&mut n, Input::Timer(GossipTimer::Join), 0, rng);
    for a in 1..=3 {
        feed(&mut n, msg(a, GossipMsg::Neighbor { priority: Priority::High }), 0, rng);
    }
    feed(&mut n, msg(3, GossipMsg::Prune), 0, rng);
    n
}

/// Message `seq` announced by lazy node 3 at `lazy_round`, then pushed by node 1 at `eager_round`.
fn announced_then_pushed(
    n: &mut GossipNode,
    seq: u32,
    lazy_round: u32,
    eager_round: u32,
    rng: &mut DetRng,
) -> Vec<(NodeId, GossipMsg)> {
    feed(n, msg(3, GossipMsg::IHave { announcements: vec![(id(9, seq), lazy_round)] }), 0, rng);
    let m = GossipMsg::Gossip { id: id(9, seq), round: eager_round, payload: vec![7] };
    sends(&feed(n, msg(1, m), 0, rng))
}

fn swapped(s: &[(NodeId, GossipMsg)]) -> bool {
    s.contains(&(NodeId(3), GossipMsg::Graft { id: None, round: 0 }))
        && s.contains(&(NodeId(1), GossipMsg::Prune))
}

#[test]
fn averaged_optimization_waits_for_a_window_of_evidence() {
    let mut rng = DetRng::seed_from_u64(10);
    let mut n = averaging_node(&mut rng, 3);
    // Each message would have come 4 hops sooner over the lazy link.
    assert!(!swapped(&announced_then_pushed(&mut n, 0, 1, 6, &mut rng)));
    assert!(!swapped(&announced_then_pushed(&mut n, 1, 1, 6, &mut rng)));
    assert!(swapped(&announced_then_pushed(&mut n, 2, 1, 6, &mut rng)));
    let (eager, lazy) = tree(&n);
    assert!(eager.contains(&NodeId(3)) && lazy.contains(&NodeId(1)));
}

#[test]
fn averaged_optimization_needs_a_gain_on_average_and_on_the_last_message() {
    let mut rng = DetRng::seed_from_u64(11);
    let mut n = averaging_node(&mut rng, 2);
    // A large gain, then none: the mean (2) reaches the threshold but the lazy peer may
    // now be downstream of us, so no swap.
    assert!(!swapped(&announced_then_pushed(&mut n, 0, 1, 7, &mut rng)));
    assert!(!swapped(&announced_then_pushed(&mut n, 1, 5, 6, &mut rng)));
    // Evidence against (the lazy link is slower) outweighs one gain.
    let mut n = averaging_node(&mut rng, 2);
    feed(&mut n, msg(1, gossip(9, 2)), 0, &mut rng);
    feed(&mut n, msg(3, GossipMsg::IHave { announcements: vec![(id(9, 0), 8)] }), 0, &mut rng);
    assert!(!swapped(&announced_then_pushed(&mut n, 1, 1, 4, &mut rng)));
}

#[test]
fn a_restarted_node_numbers_its_broadcasts_on_from_what_it_persisted() {
    let mut rng = DetRng::seed_from_u64(9);
    let broadcast = |n: &mut GossipNode, rng: &mut DetRng| {
        let out = feed(n, Input::Command(GossipCommand::Broadcast { payload: vec![1] }), 0, rng);
        let id = out.iter().find_map(|e| match e {
            Effect::Observe(GossipEvent::Broadcast { id }) => Some(*id),
            _ => None,
        });
        let persisted = out.into_iter().find_map(|e| match e {
            Effect::Persist { key, value: Some(v) } => Some((key, v)),
            _ => None,
        });
        (id.expect("a broadcast"), persisted.expect("the next id persisted"))
    };
    let delivered = |n: &GossipNode| match &n.broadcast {
        BroadcastLayer::Plumtree(p) => p.delivered(),
        BroadcastLayer::Flood(f) => f.delivered(),
    };
    for optimization in [true, false] {
        let mut first = node(&mut rng, optimization);
        broadcast(&mut first, &mut rng);
        let (second, kept) = broadcast(&mut first, &mut rng);
        assert_eq!(second, id(0, 1));
        let before = delivered(&first);
        // A new incarnation from what the last one persisted.
        let mut again = node(&mut rng, optimization);
        let persisted = [kept].into_iter().collect();
        feed(&mut again, Input::Restart(persisted), 0, &mut rng);
        assert_eq!(delivered(&again), 0, "its earlier broadcasts are not delivered again");
        let (third, _) = broadcast(&mut again, &mut rng);
        assert_eq!(third, id(0, 2), "not id 0:0 again, which the others would drop as seen");
        assert_eq!((before, delivered(&again)), (2, 1));
        // Without what it persisted it would start over (the failure this guards against).
        let mut forgetful = node(&mut rng, optimization);
        feed(&mut forgetful, Input::Restart(Default::default()), 0, &mut rng);
        assert_eq!(broadcast(&mut forgetful, &mut rng).0, id(0, 0));
    }
}
