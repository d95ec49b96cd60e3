use alloc::string::{String, ToString};
use alloc::vec;

use crate::sim::{AnySim, Scenario, Sim, load_builtin};

use super::HlcPing;

fn scenario(name: &str, params: &[(&str, &str)]) -> Scenario {
    let params: alloc::vec::Vec<(String, String)> =
        params.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
    Scenario::from_json_with(load_builtin(name).unwrap(), None, &params).unwrap()
}

fn run(s: &Scenario, seed: u64) -> Sim<HlcPing> {
    let mut sim = Sim::<HlcPing>::new(s, seed, false).unwrap();
    sim.run_to_end();
    sim
}

#[test]
fn same_seed_same_trace_other_seed_other_trace() {
    let s = scenario("hlc-ping", &[]);
    let a = run(&s, 7);
    let b = run(&s, 7);
    let c = run(&s, 8);
    assert_eq!(a.trace_hash(), b.trace_hash());
    assert_ne!(a.trace_hash(), c.trace_hash());
    assert!(a.event_count() > 500, "{}", a.event_count());
}

#[test]
fn hlc_ping_and_clock_skew_hold_their_invariants() {
    for name in ["hlc-ping", "clock-skew"] {
        let s = scenario(name, &[]);
        for seed in 1..=20 {
            let sim = run(&s, seed);
            assert!(sim.violation().is_none(), "{name} seed {seed}: {:?}", sim.violation());
            assert!(sim.outcome().messages_delivered > 100);
        }
    }
}

#[test]
fn clock_skew_refuses_the_jumped_clock() {
    let s = scenario("clock-skew", &[]);
    let out = run(&s, 3).outcome();
    assert!(out.metrics["stamps_refused"] > 0.0, "{:?}", out.metrics);
}

#[test]
fn a_clock_that_ignores_received_stamps_breaks_causality() {
    let s = scenario("hlc-ping", &[("clock", "\"ignore-remote\"")]);
    let sim = run(&s, 1);
    let v = sim.violation().expect("the causality checker must catch a clock that ignores remote stamps");
    assert_eq!(v.invariant, "hlc-causality", "{v:?}");
}

#[test]
fn turning_one_node_byzantine_mid_run_is_caught() {
    let mut s = scenario("hlc-ping", &[]);
    s.clocks = vec![crate::sim::ClockSpec { node: 1, offset_ms: 40, drift_ppm: 0 }];
    let mut sim = Sim::<HlcPing>::new(&s, 2, true).unwrap();
    sim.inject(crate::sim::Fault::Misbehave { at_ms: 100.0, node: 0, behaviour: "ignore-remote".into() })
        .unwrap();
    sim.run_to_end();
    assert_eq!(sim.violation().map(|v| v.invariant.as_str()), Some("hlc-causality"));
}

#[test]
fn unknown_behaviours_are_refused_before_they_reach_a_node() {
    let mut s = scenario("hlc-ping", &[]);
    let typo = crate::sim::Fault::Misbehave { at_ms: 100.0, node: 0, behaviour: "ignore-remot".into() };
    let mut sim = Sim::<HlcPing>::new(&s, 2, true).unwrap();
    let err = sim.inject(typo.clone()).unwrap_err().to_string();
    assert!(err.contains("].behaviour") && err.contains("known: honest, ignore-remote"), "{err}");
    sim.run_to_end();
    assert!(sim.nodes().iter().all(|n| n.behaviour.is_none()), "a refused fault left a mark");
    s.faults.push(typo);
    let err = Sim::<HlcPing>::new(&s, 2, true).err().expect("refused").to_string();
    assert!(err.contains("unknown behaviour \"ignore-remot\""), "{err}");
}

#[test]
fn interactive_faults_replay_identically() {
    let s = scenario("hlc-ping", &[]);
    let fault = crate::sim::Fault::Crash { at_ms: 250.5, node: 2 };
    // Live: run to ~200 ms, inject, finish.
    let mut live = Sim::<HlcPing>::new(&s, 11, false).unwrap();
    while live.now() < 200_000 {
        live.step();
    }
    live.inject(fault.clone()).unwrap();
    live.run_to_end();
    // Replay: the fault is part of the schedule from the start.
    let mut s2 = s.clone();
    s2.faults.push(fault);
    let replay = run(&s2, 11);
    assert_eq!(live.trace_hash(), replay.trace_hash());
    assert_ne!(live.trace_hash(), run(&s, 11).trace_hash());
}

#[test]
fn faults_in_the_past_are_refused() {
    let s = scenario("hlc-ping", &[]);
    let mut sim = Sim::<HlcPing>::new(&s, 1, false).unwrap();
    while sim.now() < 100_000 {
        sim.step();
    }
    assert!(sim.inject(crate::sim::Fault::Crash { at_ms: 50.0, node: 1 }).is_err());
    assert!(sim.inject(crate::sim::Fault::Crash { at_ms: 150.0, node: 99 }).is_err());
}

#[test]
fn bad_params_name_the_field() {
    let s =
        Scenario::from_json_with(load_builtin("hlc-ping").unwrap(), None, &[("reply".into(), "2".into())])
            .unwrap();
    let err = Sim::<HlcPing>::new(&s, 1, false).err().unwrap().to_string();
    assert!(err.contains("params.reply") && err.contains('2'), "{err}");
    let s =
        Scenario::from_json_with(load_builtin("hlc-ping").unwrap(), None, &[("bogus".into(), "1".into())])
            .unwrap();
    let err = Sim::<HlcPing>::new(&s, 1, false).err().unwrap().to_string();
    assert!(err.contains("bogus"), "{err}");
    let s = Scenario::from_json_with(
        load_builtin("hlc-ping").unwrap(),
        None,
        &[("invariants".into(), "[\"nope\"]".into())],
    )
    .unwrap();
    let err = Sim::<HlcPing>::new(&s, 1, false).err().unwrap().to_string();
    assert!(err.contains("nope") && err.contains("hlc-causality"), "{err}");
}

#[test]
fn recorded_trace_matches_the_streamed_hash_and_views_describe_events() {
    let s = scenario("hlc-ping", &[]);
    let mut rec = Sim::<HlcPing>::new(&s, 5, true).unwrap();
    rec.run_to_end();
    assert_eq!(rec.trace_hash(), run(&s, 5).trace_hash());
    assert_eq!(rec.events().len() as u64, rec.event_count());
    let views: alloc::vec::Vec<_> = (0..rec.event_count()).filter_map(|i| rec.event(i)).collect();
    assert!(views.iter().any(|v| v.category == "deliver" && v.hlc.is_some()));
    assert!(views.iter().any(|v| v.category == "observe" && v.text.contains("l = ")));
    assert!(views.iter().any(|v| v.kind == "Crash"));
    assert!(rec.event_json(0).unwrap().starts_with('{'));
}
