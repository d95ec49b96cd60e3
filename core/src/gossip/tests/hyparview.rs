//! HyParView rules, node by node.

use alloc::vec;

use super::{config, feed, sends};
use crate::effect::{DetRng, Effect, Input, NodeId};
use crate::gossip::{DownCause, GossipEvent, GossipMsg, GossipNode, GossipTimer, Priority, UpCause};

fn ups(out: &[Effect<GossipNode>]) -> vec::Vec<NodeId> {
    out.iter()
        .filter_map(|e| match e {
            Effect::Observe(GossipEvent::NeighborUp { peer, .. }) => Some(*peer),
            _ => None,
        })
        .collect()
}

fn downs(out: &[Effect<GossipNode>]) -> vec::Vec<(NodeId, DownCause)> {
    out.iter()
        .filter_map(|e| match e {
            Effect::Observe(GossipEvent::NeighborDown { peer, cause }) => Some((*peer, *cause)),
            _ => None,
        })
        .collect()
}

fn msg(from: u32, m: GossipMsg) -> Input<GossipNode> {
    Input::Message { from: NodeId(from), msg: m }
}

/// A node that has joined with the given active neighbours (all via NEIGHBOR(high)).
fn node_with(id: u32, nodes: u32, active: &[u32], active_size: u32, rng: &mut DetRng) -> GossipNode {
    let cfg = config(nodes, |p| p.active_view = Some(active_size));
    let mut n = GossipNode::new(NodeId(id), cfg);
    feed(&mut n, Input::Timer(GossipTimer::Join), 0, rng);
    for &a in active {
        if !n.membership.is_active(NodeId(a)) {
            feed(&mut n, msg(a, GossipMsg::Neighbor { priority: Priority::High }), 0, rng);
        }
    }
    n
}

#[test]
fn join_links_the_new_node_and_the_contact_both_ways() {
    let mut rng = DetRng::seed_from_u64(1);
    let cfg = config(10, |_| {});
    let mut contact = GossipNode::new(NodeId(0), cfg.clone());
    let mut joiner = GossipNode::new(NodeId(3), cfg);
    feed(&mut contact, Input::Timer(GossipTimer::Join), 0, &mut rng);
    let out = feed(&mut joiner, Input::Timer(GossipTimer::Join), 0, &mut rng);
    assert_eq!(sends(&out)[0], (NodeId(0), GossipMsg::Join));
    assert_eq!(ups(&out), vec![NodeId(0)]);
    let out = feed(&mut contact, msg(3, GossipMsg::Join), 0, &mut rng);
    assert_eq!(ups(&out), vec![NodeId(3)]);
    assert_eq!(contact.membership.active_view(), vec![NodeId(3)]);
}

#[test]
fn contact_forwards_join_to_its_other_neighbours_with_arwl() {
    let mut rng = DetRng::seed_from_u64(2);
    let mut contact = node_with(0, 10, &[1, 2], 4, &mut rng);
    let out = feed(&mut contact, msg(5, GossipMsg::Join), 0, &mut rng);
    let fj: vec::Vec<_> =
        sends(&out).into_iter().filter(|(_, m)| matches!(m, GossipMsg::ForwardJoin { .. })).collect();
    assert_eq!(fj.len(), 2);
    for (_, m) in fj {
        assert_eq!(m, GossipMsg::ForwardJoin { new_node: NodeId(5), ttl: 6 });
    }
}

#[test]
fn forward_join_at_ttl_zero_adds_the_new_node_and_answers_with_high_neighbor() {
    let mut rng = DetRng::seed_from_u64(3);
    let mut n = node_with(4, 10, &[1, 2, 3], 4, &mut rng);
    let out = feed(&mut n, msg(1, GossipMsg::ForwardJoin { new_node: NodeId(7), ttl: 0 }), 0, &mut rng);
    assert_eq!(ups(&out), vec![NodeId(7)]);
    assert!(sends(&out).contains(&(NodeId(7), GossipMsg::Neighbor { priority: Priority::High })));
}

#[test]
fn forward_join_walks_on_and_lands_in_the_passive_view_at_prwl() {
    let mut rng = DetRng::seed_from_u64(4);
    let mut n = node_with(4, 10, &[1, 2, 3], 4, &mut rng);
    let out = feed(&mut n, msg(1, GossipMsg::ForwardJoin { new_node: NodeId(7), ttl: 3 }), 0, &mut rng);
    let s = sends(&out);
    assert_eq!(s.len(), 1);
    assert!(s[0].0 != NodeId(1), "never walks back to the sender");
    assert_eq!(s[0].1, GossipMsg::ForwardJoin { new_node: NodeId(7), ttl: 2 });
    assert!(n.membership.passive_view().contains(&NodeId(7)), "ttl == PRWL adds to the passive view");
}

#[test]
fn a_full_active_view_evicts_a_random_neighbour_with_disconnect() {
    let mut rng = DetRng::seed_from_u64(5);
    let mut n = node_with(0, 10, &[1, 2], 2, &mut rng);
    let out = feed(&mut n, msg(3, GossipMsg::Neighbor { priority: Priority::High }), 0, &mut rng);
    let d = downs(&out);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].1, DownCause::Evicted);
    assert!(sends(&out).contains(&(d[0].0, GossipMsg::Disconnect)));
    assert!(n.membership.passive_view().contains(&d[0].0), "the evicted node moves to the passive view");
    assert_eq!(n.membership.active_view().len(), 2);
}

#[test]
fn low_priority_neighbor_is_rejected_by_a_full_view_and_high_is_not() {
    let mut rng = DetRng::seed_from_u64(6);
    let mut n = node_with(0, 10, &[1, 2], 2, &mut rng);
    let out = feed(&mut n, msg(3, GossipMsg::Neighbor { priority: Priority::Low }), 0, &mut rng);
    assert_eq!(sends(&out), vec![(NodeId(3), GossipMsg::NeighborReply { accepted: false })]);
    let out = feed(&mut n, msg(4, GossipMsg::Neighbor { priority: Priority::High }), 0, &mut rng);
    assert!(sends(&out).contains(&(NodeId(4), GossipMsg::NeighborReply { accepted: true })));
    assert!(n.membership.is_active(NodeId(4)));
}

#[test]
fn an_unreachable_neighbour_is_replaced_from_the_passive_view() {
    let mut rng = DetRng::seed_from_u64(7);
    let mut n = node_with(0, 10, &[1, 2], 2, &mut rng);
    // Node 3 evicts someone into the passive view; then node 3 fails.
    feed(&mut n, msg(3, GossipMsg::Neighbor { priority: Priority::High }), 0, &mut rng);
    let passive = n.membership.passive_view().to_vec();
    let out = feed(&mut n, Input::Unreachable { peer: NodeId(3) }, 10, &mut rng);
    assert_eq!(downs(&out), vec![(NodeId(3), DownCause::Unreachable)]);
    let req: vec::Vec<_> =
        sends(&out).into_iter().filter(|(_, m)| matches!(m, GossipMsg::Neighbor { .. })).collect();
    assert_eq!(req.len(), 1);
    assert!(passive.contains(&req[0].0));
    assert_eq!(
        req[0].1,
        GossipMsg::Neighbor { priority: Priority::Low },
        "one neighbour left → low priority"
    );
    let out = feed(&mut n, msg(req[0].0.0, GossipMsg::NeighborReply { accepted: true }), 20, &mut rng);
    assert_eq!(ups(&out), vec![req[0].0]);
}

#[test]
fn a_silent_neighbour_is_declared_failed_after_the_timeout() {
    let mut rng = DetRng::seed_from_u64(8);
    let mut n = node_with(0, 10, &[1, 2], 3, &mut rng);
    let later = 2_000_000;
    feed(&mut n, msg(1, GossipMsg::KeepAlive), later, &mut rng);
    let out = feed(&mut n, Input::Timer(GossipTimer::KeepAlive), later + 10, &mut rng);
    assert_eq!(downs(&out), vec![(NodeId(2), DownCause::Timeout)]);
    assert!(sends(&out).contains(&(NodeId(1), GossipMsg::KeepAlive)));
}

#[test]
fn a_keepalive_from_a_dropped_peer_gets_disconnect() {
    let mut rng = DetRng::seed_from_u64(9);
    let mut n = node_with(0, 10, &[1], 3, &mut rng);
    let out = feed(&mut n, msg(6, GossipMsg::KeepAlive), 0, &mut rng);
    assert_eq!(sends(&out), vec![(NodeId(6), GossipMsg::Disconnect)]);
}

#[test]
fn shuffle_walks_then_replies_with_a_passive_sample_and_integrates() {
    let mut rng = DetRng::seed_from_u64(10);
    let mut n = node_with(0, 20, &[1, 2, 3], 4, &mut rng);
    let nodes = vec![NodeId(9), NodeId(10), NodeId(11)];
    // ttl > 1: forwarded to a neighbour other than the sender and the origin.
    let out = feed(
        &mut n,
        msg(1, GossipMsg::Shuffle { origin: NodeId(9), ttl: 3, nodes: nodes.clone() }),
        0,
        &mut rng,
    );
    let s = sends(&out);
    assert_eq!(s.len(), 1);
    assert!(s[0].0 != NodeId(1) && s[0].0 != NodeId(9));
    // ttl = 1: accepted here.
    let out = feed(&mut n, msg(1, GossipMsg::Shuffle { origin: NodeId(9), ttl: 1, nodes }), 0, &mut rng);
    assert!(matches!(sends(&out)[0], (NodeId(9), GossipMsg::ShuffleReply { .. })));
    for id in [9, 10, 11] {
        assert!(n.membership.passive_view().contains(&NodeId(id)));
    }
    assert!(out.iter().any(|e| matches!(e, Effect::Observe(GossipEvent::Shuffled { learned: 3, .. }))));
}

#[test]
fn neighbor_up_causes_are_recorded() {
    let mut rng = DetRng::seed_from_u64(11);
    let mut n = node_with(0, 10, &[], 3, &mut rng);
    let out = feed(&mut n, msg(2, GossipMsg::Neighbor { priority: Priority::Low }), 0, &mut rng);
    assert!(out.iter().any(|e| matches!(
        e,
        Effect::Observe(GossipEvent::NeighborUp { cause: UpCause::NeighborAccepted(Priority::Low), .. })
    )));
}

#[test]
fn a_starved_node_asks_with_high_priority_and_keeps_trying_every_round() {
    let mut rng = DetRng::seed_from_u64(11);
    let mut n = node_with(0, 20, &[1, 2, 3], 3, &mut rng);
    for p in [4, 5] {
        feed(&mut n, msg(p, GossipMsg::Neighbor { priority: Priority::High }), 0, &mut rng);
    }
    let neighbor_req = |out: &[Effect<GossipNode>]| {
        sends(out).into_iter().find_map(|(to, m)| match m {
            GossipMsg::Neighbor { priority } => Some((to, priority)),
            _ => None,
        })
    };
    // Two neighbours leave: one left of three is below half the view.
    let active = n.membership.active_view();
    let mut req = None;
    for p in &active[..2] {
        let out = feed(&mut n, msg(p.0, GossipMsg::Disconnect), 10, &mut rng);
        req = neighbor_req(&out).or(req);
    }
    // Every candidate refuses (as full views refuse low priority), until none is left.
    let mut priorities = vec::Vec::new();
    while let Some((to, priority)) = req {
        priorities.push(priority);
        let out = feed(&mut n, msg(to.0, GossipMsg::NeighborReply { accepted: false }), 20, &mut rng);
        req = neighbor_req(&out);
    }
    assert_eq!(priorities.last(), Some(&Priority::High), "starved: {priorities:?}");
    assert_eq!(n.membership.active_view().len(), 1);
    // The paper would stop here until a failure; the next keep-alive round tries again.
    let out = feed(&mut n, Input::Timer(GossipTimer::KeepAlive), 30, &mut rng);
    let (to, priority) = neighbor_req(&out).expect("a starved node retries on keep-alive");
    assert_eq!(priority, Priority::High);
    assert!(n.membership.passive_view().contains(&to));
}

#[test]
fn a_restarted_contact_joins_through_another_node_and_draws_again_if_it_is_down() {
    let mut rng = DetRng::seed_from_u64(5);
    let cfg = config(6, |_| {});
    // First start: the contact waits to be joined.
    let mut contact = GossipNode::new(NodeId(0), cfg.clone());
    let out = feed(&mut contact, Input::Timer(GossipTimer::Join), 0, &mut rng);
    assert!(sends(&out).is_empty());
    // After a crash the others have dropped it: it joins one of them.
    let mut contact = GossipNode::new(NodeId(0), cfg);
    feed(&mut contact, Input::Restart(Default::default()), 0, &mut rng);
    let out = feed(&mut contact, Input::Timer(GossipTimer::Join), 0, &mut rng);
    let joined: vec::Vec<NodeId> =
        sends(&out).into_iter().filter(|(_, m)| *m == GossipMsg::Join).map(|(to, _)| to).collect();
    assert_eq!(joined.len(), 1, "{out:?}");
    let first = joined[0];
    assert!(first != NodeId(0) && first.0 < 6);
    assert_eq!(ups(&out), vec![first]);
    // That node is down: isolated again, the next keep-alive rounds keep drawing.
    feed(&mut contact, Input::Unreachable { peer: first }, 1, &mut rng);
    assert!(contact.membership.active_view().is_empty());
    let mut drawn = vec::Vec::new();
    for round in 0..20 {
        let out = feed(&mut contact, Input::Timer(GossipTimer::KeepAlive), 2 + round, &mut rng);
        for (to, m) in sends(&out) {
            if m == GossipMsg::Join {
                drawn.push(to);
                feed(&mut contact, Input::Unreachable { peer: to }, 2 + round, &mut rng);
            }
        }
    }
    assert_eq!(drawn.len(), 20, "one JOIN per round while isolated");
    assert!(drawn.iter().all(|n| *n != NodeId(0) && n.0 < 6));
    assert!(drawn.iter().any(|n| *n != first), "draws again: {drawn:?}");
}
