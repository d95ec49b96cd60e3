//! Whole-cluster runs: the papers' claims and the checkers' teeth.

use alloc::collections::BTreeSet;
use alloc::string::ToString;
use alloc::vec::Vec;

use super::{run, scenario};
use crate::effect::NodeId;
use crate::sim::AnySim;

fn metric(sim: &crate::sim::Sim<crate::gossip::GossipNode>, key: &str) -> f64 {
    *sim.outcome().metrics.get(key).unwrap_or_else(|| panic!("no metric {key}: {:?}", sim.outcome().metrics))
}

#[test]
fn hyparview_overlay_is_connected_symmetric_and_bounded() {
    let s = scenario("plumtree", Some(60), &[("broadcasts", "0"), ("warmup", "0"), ("duration_ms", "4000")]);
    let sim = run(&s, 3);
    assert!(sim.violation().is_none(), "{:?}", sim.violation());
    let n = s.nodes;
    let k = crate::gossip::ceil_log2(n) as usize + 1;
    let views: Vec<Vec<NodeId>> =
        (0..n).map(|i| sim.node(NodeId(i)).unwrap().membership.active_view()).collect();
    let mut asymmetric = 0;
    for (i, v) in views.iter().enumerate() {
        assert!(v.len() <= k && !v.is_empty(), "node {i}: {v:?}");
        asymmetric += v.iter().filter(|p| !views[p.index()].contains(&NodeId(i as u32))).count();
    }
    assert_eq!(asymmetric, 0, "active views must be symmetric once stable");
    let mut seen = BTreeSet::from([0u32]);
    let mut stack = alloc::vec![0u32];
    while let Some(u) = stack.pop() {
        for p in &views[u as usize] {
            if seen.insert(p.0) {
                stack.push(p.0);
            }
        }
    }
    assert_eq!(seen.len() as u32, n, "the overlay is connected");
}

#[test]
fn plumtree_is_reliable_with_near_zero_redundancy_and_flood_is_not_frugal() {
    let p = run(&scenario("plumtree", None, &[]), 1);
    let f = run(&scenario("flood", None, &[]), 1);
    assert!(p.violation().is_none() && f.violation().is_none(), "{:?} {:?}", p.violation(), f.violation());
    assert_eq!(metric(&p, "reliability"), 1.0);
    assert_eq!(metric(&f, "reliability"), 1.0);
    assert!(metric(&p, "rmr") <= 0.05, "plumtree rmr {}", metric(&p, "rmr"));
    assert!(metric(&f, "rmr") > 3.0, "flood rmr {}", metric(&f, "rmr"));
    assert!(metric(&f, "ldh") >= 2.0 && metric(&p, "ldh") >= metric(&f, "ldh"));
    assert_eq!(metric(&p, "broadcasts"), 200.0);
    assert_eq!(metric(&p, "broadcasts_measured"), 180.0);
}

/// Seed 62 once left nodes 5 and 6 as an island: each had the other as its only
/// neighbour, and every low-priority NEIGHBOR they sent was refused by full views.
#[test]
fn a_two_node_island_rejoins_the_overlay() {
    let sim = run(&scenario("plumtree", None, &[]), 62);
    assert!(sim.violation().is_none(), "{:?}", sim.violation());
    assert_eq!(metric(&sim, "reliability"), 1.0);
    for i in [5, 6] {
        assert!(sim.node(NodeId(i)).unwrap().membership.active_view().len() >= 4, "node {i}");
    }
}

#[test]
fn same_seed_same_trace() {
    let s = scenario("plumtree", Some(30), &[("broadcasts", "20"), ("duration_ms", "6000")]);
    assert_eq!(run(&s, 4).trace_hash(), run(&s, 4).trace_hash());
    assert_ne!(run(&s, 4).trace_hash(), run(&s, 5).trace_hash());
}

#[test]
fn plumtree_recovers_lost_messages_through_grafts() {
    let s =
        scenario("plumtree", Some(50), &[("network.loss", "0.03"), ("broadcasts", "60"), ("warmup", "10")]);
    for seed in 1..=3 {
        let sim = run(&s, seed);
        assert!(sim.violation().is_none(), "seed {seed}: {:?}", sim.violation());
        assert!(metric(&sim, "grafts") > 0.0);
        assert!(metric(&sim, "reliability") > 0.99, "seed {seed}: {}", metric(&sim, "reliability"));
    }
}

/// Replay a recorded lossy run through an eventual-delivery checker that judges it anyway.
fn strict_eventual_delivery(defect: &str, seed: u64) -> Result<(), alloc::string::String> {
    use crate::check::{CheckCtx, Invariant};
    let s = scenario(
        "plumtree",
        Some(50),
        &[("network.loss", "0.03"), ("broadcasts", "60"), ("warmup", "10"), ("defect", defect)],
    );
    let mut sim = crate::gossip::simulate(&s, seed, true).unwrap();
    sim.run_to_end();
    let up = alloc::vec![true; 50];
    let ctx = CheckCtx { now: sim.now(), epoch_us: 0, clock_uncertainty_us: 0, up: &up, last_fault_us: 0 };
    let mut inv = crate::gossip::EventualDelivery::new(50, 2_000_000, false);
    for ev in sim.events() {
        inv.observe(ev, &ctx)?;
    }
    inv.finish(&ctx)
}

#[test]
fn a_plumtree_that_never_grafts_loses_messages() {
    assert!(strict_eventual_delivery("\"none\"", 1).is_ok());
    let err = strict_eventual_delivery("\"never-graft\"", 1).expect_err("eventual-delivery must fire");
    assert!(err.contains("never reached"), "{err}");
}

#[test]
fn a_plumtree_that_never_prunes_keeps_cycles() {
    let s = scenario("plumtree", Some(40), &[("broadcasts", "60"), ("defect", "\"never-prune\"")]);
    let v = run(&s, 1).violation().cloned().expect("eager-tree must fire");
    assert_eq!(v.invariant, "eager-tree", "{v:?}");
}

#[test]
fn a_node_that_redelivers_duplicates_is_caught() {
    let s = scenario("flood", Some(20), &[("broadcasts", "5"), ("warmup", "0"), ("defect", "\"redeliver\"")]);
    let v = run(&s, 1).violation().cloned().expect("no-duplicate-delivery must fire");
    assert_eq!(v.invariant, "no-duplicate-delivery", "{v:?}");
}

#[test]
fn churn_crashes_a_fifth_then_heals() {
    let s = scenario("plumtree-churn", None, &[]);
    let sim = run(&s, 1);
    assert!(sim.violation().is_none(), "{:?}", sim.violation());
    let crashed = sim.nodes().iter().filter(|n| n.state == "crashed").count();
    assert_eq!(crashed, 18, "20% of the 90 initial members");
    assert_eq!(metric(&sim, "reliability_after_heal"), 1.0);
    assert!(metric(&sim, "broadcasts_after_heal") >= 20.0);
}

#[test]
fn partition_heals_and_trees_repair() {
    let s = scenario("plumtree-partition", None, &[]);
    let sim = run(&s, 1);
    assert!(sim.violation().is_none(), "{:?}", sim.violation());
    assert_eq!(metric(&sim, "reliability_after_heal"), 1.0);
    assert!(metric(&sim, "reliability") < 1.0, "broadcasts during the split reach one side only");
}

#[test]
fn the_planned_partition_is_part_of_the_scenario_as_run() {
    let s = scenario("plumtree-partition", None, &[]);
    assert!(s.faults.is_empty(), "the split comes from params.partition, not from the file's faults");
    let sim = crate::gossip::simulate(&s, 1, false).unwrap();
    let splits: Vec<_> = sim
        .scenario()
        .faults
        .iter()
        .filter_map(|f| match f {
            crate::sim::Fault::Partition { at_ms, heal_ms, groups } => {
                Some((*at_ms, *heal_ms, groups.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(splits.len(), 1, "{splits:?}");
    let (at_ms, heal_ms, groups) = &splits[0];
    assert_eq!((*at_ms, *heal_ms), (6000.0, 9000.0));
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].len(), 50, "half of the 100 nodes");
}

#[test]
fn bad_params_name_the_field() {
    for (k, v, field) in [
        ("active_view", "0", "params.active_view"),
        ("contact", "1000", "params.contact"),
        ("broadcast", "\"carrier-pigeon\"", "params.broadcast"),
        ("churn", "{\"crash_fraction\": 2, \"crash_at_ms\": 1}", "params.churn.crash_fraction"),
        ("broadcasts", "600", "params.broadcasts"),
    ] {
        let s = scenario("plumtree", None, &[(k, v)]);
        let err = crate::gossip::simulate(&s, 1, false).err().unwrap().to_string();
        assert!(err.contains(field), "{k}={v}: {err}");
    }
}

/// The contact crashes after the overlay formed; everyone drops it as unreachable. Restarted,
/// it joins through another node and is in the overlay again, with symmetric links.
#[test]
fn a_restarted_contact_rejoins_the_overlay() {
    let mut s =
        scenario("plumtree", Some(20), &[("broadcasts", "0"), ("warmup", "0"), ("duration_ms", "6000")]);
    s.faults.push(crate::sim::Fault::Crash { at_ms: 2000.0, node: 0 });
    s.faults.push(crate::sim::Fault::Restart { at_ms: 3000.0, node: 0 });
    for seed in 1..=5 {
        let sim = run(&s, seed);
        assert!(sim.violation().is_none(), "seed {seed}: {:?}", sim.violation());
        let mine = sim.node(NodeId(0)).unwrap().membership.active_view();
        assert!(!mine.is_empty(), "seed {seed}: the restarted contact is alone");
        for p in mine {
            let theirs = sim.node(p).unwrap().membership.active_view();
            assert!(theirs.contains(&NodeId(0)), "seed {seed}: node {p} does not hold node 0 back");
        }
    }
}
