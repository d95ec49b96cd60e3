use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use proptest::prelude::*;

use super::energy::{State, energy, terms};
use super::r#gen::random_problem;
use super::problem::{LinkSpec, Node, ProblemSpec, Task};
use super::*;
use crate::effect::DetRng;

fn brute_force(problem: &Problem) -> Solution {
    let (t, n) = (problem.task_count() as usize, problem.node_count());
    let mut assignment = vec![0u32; t];
    let mut best = Solution::evaluate(problem, assignment.clone());
    loop {
        let mut i = 0;
        while i < t {
            assignment[i] += 1;
            if assignment[i] < n {
                break;
            }
            assignment[i] = 0;
            i += 1;
        }
        if i == t {
            return best;
        }
        let e = energy(problem, &assignment);
        if e < best.energy {
            best = Solution::evaluate(problem, assignment.clone());
        }
    }
}

fn err(json: &str) -> String {
    match Problem::from_json(json) {
        Ok(_) => panic!("accepted: {json}"),
        Err(e) => e.to_string(),
    }
}

const NODES: &str = r#""nodes":[{"id":"n1","cpu":4,"mem":8},{"id":"n2","cpu":4,"mem":8}]"#;

#[test]
fn parse_accepts_design_example_and_names_bad_items() {
    let ok = format!(
        r#"{{"tasks":[{{"id":"t1","cpu":2,"mem":4}},{{"id":"t2","cpu":1,"mem":2}}],{NODES},
        "links":[{{"a":"t1","b":"t2","weight":3}}],
        "weights":{{"overload":10,"communication":1,"imbalance":0.5}}}}"#
    );
    let p = Problem::from_json(&ok).unwrap();
    assert_eq!((p.task_count(), p.node_count(), p.links().len()), (2, 2, 1));

    let t = r#""tasks":[{"id":"t1","cpu":2,"mem":4},{"id":"t2","cpu":1,"mem":2}]"#;
    let links = r#"{"a":"t1","b":"t2","weight":1}"#;
    let e = err(&format!(
        r#"{{{t},{NODES},"links":[{links},{links},{links},{{"a":"t1","b":"t9","weight":1}}]}}"#
    ));
    assert_eq!(e, r#"link 3 names unknown task "t9""#);
    let e = err(&format!(
        r#"{{"tasks":[{{"id":"t1","cpu":2,"mem":4}},{{"id":"t2","cpu":"x","mem":2}}],{NODES}}}"#
    ));
    assert!(e.contains("tasks[1].cpu"), "{e}");
    let e = err(&format!(r#"{{"tasks":[{{"id":"t1","cpu":-2,"mem":4}}],{NODES}}}"#));
    assert!(e.contains(r#"task "t1" cpu is -2"#), "{e}");
    let e = err(r#"{"tasks":[],"nodes":[{"id":"n1","cpu":-1,"mem":8}]}"#);
    assert!(e.contains(r#"node "n1" cpu"#), "{e}");
    let e =
        err(&format!(r#"{{"tasks":[{{"id":"a","cpu":1,"mem":1}},{{"id":"a","cpu":1,"mem":1}}],{NODES}}}"#));
    assert!(e.contains(r#"task id "a" appears more than once"#), "{e}");
    let e = err(&format!(r#"{{"tasks":[{{"id":"big","cpu":5,"mem":1}}],{NODES}}}"#));
    assert!(e.contains(r#"task "big""#) && e.contains("bigger than every node"), "{e}");
    let e = err(&format!(r#"{{{t},{NODES},"links":[{{"a":"t1","b":"t1","weight":1}}]}}"#));
    assert!(e.contains("joins task \"t1\" to itself"), "{e}");
    let e = err(&format!(r#"{{{t},{NODES},"weights":{{"overload":1,"communication":1}}}}"#));
    assert!(e.contains("weights") && e.contains("imbalance"), "{e}");
    assert!(err(r#"{"tasks":[],"nodes":[]}"#).contains("no nodes"));
    assert!(err("{").contains("problem JSON"));
}

#[test]
fn api_refuses_nan() {
    let spec = ProblemSpec {
        tasks: vec![Task { id: "t".into(), cpu: f64::NAN, mem: 1.0 }],
        nodes: vec![Node { id: "n".into(), cpu: 1.0, mem: 1.0 }],
        links: vec![LinkSpec { a: "t".into(), b: "t".into(), weight: 1.0 }],
        weights: Weights::default(),
    };
    let e = Problem::new(spec).unwrap_err().to_string();
    assert!(e.contains(r#"task "t" cpu is NaN"#), "{e}");
}

#[test]
fn energy_matches_hand_computation() {
    let json = format!(
        r#"{{"tasks":[{{"id":"a","cpu":3,"mem":3}},{{"id":"b","cpu":2,"mem":7}},{{"id":"c","cpu":1,"mem":1}}],{NODES},
        "links":[{{"a":"a","b":"c","weight":2.5}},{{"a":"a","b":"b","weight":1}}],
        "weights":{{"overload":10,"communication":2,"imbalance":0.5}}}}"#
    );
    let p = Problem::from_json(&json).unwrap();
    // a, b on n1 (cpu 5 > 4, mem 10 > 8), c on n2; mean cpu 3.
    let s = Solution::evaluate(&p, vec![0, 0, 1]);
    assert_eq!(s.terms, Terms { overload: 1.0 + 4.0, communication: 2.5, imbalance: 4.0 + 4.0 });
    assert_eq!(s.energy, 10.0 * 5.0 + 2.0 * 2.5 + 0.5 * 8.0);
}

fn random_assignment(p: &Problem, rng: &mut DetRng) -> Vec<u32> {
    (0..p.task_count()).map(|_| rng.below(p.node_count() as u64) as u32).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn incremental_deltas_match_recomputed_energy(
        tasks in 2u32..30, nodes in 2u32..6, seed in any::<u64>(), moves in 1usize..200
    ) {
        let p = random_problem(tasks, nodes, seed);
        let mut rng = DetRng::seed_from_u64(seed ^ 1);
        let mut state = State::new(&p, random_assignment(&p, &mut rng));
        for _ in 0..moves {
            let before = energy(&p, state.assignment());
            let t = rng.below(tasks as u64) as u32;
            let delta = if rng.chance(0.5) {
                let t2 = rng.below(tasks as u64) as u32;
                let d = state.delta_swap(t, t2);
                state.apply_swap(t, t2, d);
                d
            } else {
                let q = rng.below(nodes as u64) as u32;
                let d = state.delta_move(t, q);
                state.apply_move(t, q, d);
                d
            };
            let fresh = terms(&p, state.assignment());
            let after = fresh.energy(p.weights());
            let tol = 1e-9 * (1.0 + before.abs());
            prop_assert!((after - before - delta.energy(p.weights())).abs() < tol);
            let run = state.terms();
            prop_assert!((run.overload - fresh.overload).abs() < tol);
            prop_assert!((run.communication - fresh.communication).abs() < tol);
            prop_assert!((run.imbalance - fresh.imbalance).abs() < tol);
        }
    }

    #[test]
    fn ising_quadratic_part_equals_communication_plus_imbalance(
        tasks in 1u32..7, nodes in 1u32..5, seed in any::<u64>()
    ) {
        let mut spec = random_problem(tasks, nodes, seed).to_spec();
        spec.weights.overload = 0.0;
        let p = Problem::new(spec).unwrap();
        let model = IsingModel::from_problem(&p).unwrap();
        prop_assert_eq!(model.h.len() as u32, tasks * nodes);
        let mut rng = DetRng::seed_from_u64(seed);
        for _ in 0..8 {
            let a = random_assignment(&p, &mut rng);
            let t = terms(&p, &a);
            let want = p.weights().communication * t.communication + p.weights().imbalance * t.imbalance;
            let got = model.energy(&model.spins_for(&p, &a));
            prop_assert!((got - want).abs() < 1e-7 * (1.0 + want.abs()), "{} vs {}", got, want);
        }
    }

    #[test]
    fn ising_with_optimal_slack_equals_full_energy(tasks in 1u32..6, nodes in 1u32..4, seed in any::<u64>()) {
        let p = random_problem(tasks, nodes, seed);
        let model = IsingModel::from_problem(&p).unwrap();
        prop_assert!(model.overload_exact);
        let mut rng = DetRng::seed_from_u64(seed);
        for _ in 0..8 {
            let a = random_assignment(&p, &mut rng);
            let want = energy(&p, &a);
            let mut spins = model.spins_for(&p, &a);
            let got = model.energy(&spins);
            prop_assert!((got - want).abs() < 1e-6 * (1.0 + want.abs()), "{} vs {}", got, want);
            // The chosen slack is a minimum: no single slack flip lowers the energy.
            for i in (tasks * nodes) as usize..spins.len() {
                spins[i] = -spins[i];
                prop_assert!(model.energy(&spins) >= got - 1e-6 * (1.0 + got.abs()));
                spins[i] = -spins[i];
            }
        }
    }

    #[test]
    fn exact_equals_brute_force(tasks in 1u32..7, nodes in 1u32..4, seed in any::<u64>()) {
        let p = random_problem(tasks, nodes, seed);
        let e = exact(&p).unwrap().best;
        let b = brute_force(&p);
        prop_assert!((e.energy - b.energy).abs() <= 1e-9 * b.energy.abs().max(1.0), "{} vs {}", e.energy, b.energy);
        prop_assert_eq!(e.energy, energy(&p, &e.assignment));
    }
}

#[test]
fn ising_ground_state_is_the_optimal_one_hot_assignment() {
    // Integer sizes and small capacities keep the spin count at 14 (2^14 states).
    let json = r#"{"tasks":[{"id":"a","cpu":2,"mem":1},{"id":"b","cpu":1,"mem":1},{"id":"c","cpu":2,"mem":2}],
        "nodes":[{"id":"x","cpu":3,"mem":3},{"id":"y","cpu":2,"mem":2}],
        "links":[{"a":"a","b":"c","weight":2}],
        "weights":{"overload":3,"communication":1,"imbalance":0.5}}"#;
    let p = Problem::from_json(json).unwrap();
    let model = IsingModel::from_problem(&p).unwrap();
    let n = model.h.len();
    assert_eq!(n, 6 + 8);
    let mut best = (f64::INFINITY, 0u32);
    for bits in 0..1u32 << n {
        let spins: Vec<i8> = (0..n).map(|i| if bits >> i & 1 == 1 { 1 } else { -1 }).collect();
        let e = model.energy(&spins);
        if e < best.0 {
            best = (e, bits);
        }
    }
    let optimum = brute_force(&p);
    assert!((best.0 - optimum.energy).abs() < 1e-9, "{} vs {}", best.0, optimum.energy);
    for t in 0..3 {
        let on = (0..2).filter(|k| best.1 >> (t * 2 + k) & 1 == 1).count();
        assert_eq!(on, 1, "task {t} is not one-hot in the ground state");
    }
}

#[test]
fn ising_export_is_refused_when_too_large_and_reports_inexact_slack() {
    let p = random_problem(2000, 64, 1);
    assert!(IsingModel::from_problem(&p).is_err());
    let json = r#"{"tasks":[{"id":"a","cpu":0.1,"mem":1}],"nodes":[{"id":"x","cpu":1,"mem":1}]}"#;
    let model = IsingModel::from_problem(&Problem::from_json(json).unwrap()).unwrap();
    assert!(!model.overload_exact);
}

#[test]
fn exact_refuses_large_instances() {
    let e = exact(&random_problem(13, 3, 0)).unwrap_err();
    assert!(e.to_string().contains("at most 12 tasks and 4 nodes"), "{e}");
    assert!(exact(&random_problem(8, 5, 0)).is_err());
    assert!(exact(&random_problem(12, 4, 0)).is_ok());
}

#[test]
fn annealer_finds_the_exact_optimum_on_8x3_for_99_of_100_seeds() {
    let mut hits = 0;
    let mut misses = Vec::new();
    for seed in 0..100u64 {
        let p = random_problem(8, 3, seed);
        let optimum = exact(&p).unwrap().best.energy;
        let found = anneal(&p, &AnnealConfig::for_problem(&p, seed)).best.energy;
        assert!(
            found >= optimum - 1e-9 * optimum.abs().max(1.0),
            "annealer beat the exact solver on seed {seed}"
        );
        if found <= optimum + 1e-9 * optimum.abs().max(1.0) {
            hits += 1;
        } else {
            misses.push((seed, found, optimum));
        }
    }
    assert!(hits >= 99, "optimum found for {hits}/100 seeds; misses {misses:?}");
}

#[test]
fn annealing_is_deterministic_and_traces_at_most_500_points() {
    let p = random_problem(40, 8, 3);
    let mut config = AnnealConfig::for_problem(&p, 11);
    config.trace_points = 500;
    let a = anneal(&p, &config);
    let b = anneal(&p, &config);
    assert_eq!(a.best, b.best);
    assert_eq!(a.trace, b.trace);
    assert!(!a.trace.is_empty() && a.trace.len() <= 500, "{}", a.trace.len());
    assert_eq!(a.steps, config.steps);
    config.seed = 12;
    assert_ne!(anneal(&p, &config).trace, a.trace);
    // The answer is never worse than the greedy start.
    assert!(a.best.energy <= greedy(&p).energy);
}

#[test]
fn annealing_every_level_without_local_search_still_works() {
    let p = random_problem(100, 16, 2);
    let mut config = AnnealConfig::for_problem(&p, 5);
    config.level_refine = false;
    config.ils_share = 0.0;
    config.coarse_share = 0.4;
    let a = anneal(&p, &config);
    assert_eq!(a.best, anneal(&p, &config).best);
    assert_eq!(a.steps, config.steps);
    assert_eq!(a.best.energy, energy(&p, &a.best.assignment));
    assert!(a.best.energy <= greedy(&p).energy);
    // The default pipeline spends the same budget.
    let d = anneal(&p, &AnnealConfig::for_problem(&p, 5));
    assert_eq!(d.steps, config.steps);
    assert_eq!(d.best.energy, energy(&p, &d.best.assignment));
}

#[test]
fn every_budget_is_spent_exactly_even_when_it_ends_inside_a_pair_repartition() {
    for (tasks, nodes) in [(40u32, 8u32), (100, 16)] {
        let p = random_problem(tasks, nodes, 6);
        for steps in [700u64, 1_500, 2_900, 6_100, 12_345] {
            let mut config = AnnealConfig::for_problem(&p, steps);
            config.steps = steps;
            config.pair_items = 9;
            for (ils_share, repack_share) in [(0.0, 0.0), (0.25, 0.0), (0.0, 0.3), (0.13, 0.12)] {
                config.ils_share = ils_share;
                config.repack_share = repack_share;
                let out = anneal(&p, &config);
                let what = alloc::format!("local search {ils_share}, repacking {repack_share}");
                assert_eq!(out.steps, steps, "{tasks}×{nodes}, {steps} steps, {what}");
                assert_eq!(out.best.energy, energy(&p, &out.best.assignment));
            }
        }
    }
}

#[test]
fn recombining_cycles_are_deterministic_and_spend_the_budget() {
    let p = random_problem(100, 16, 2);
    let mut config = AnnealConfig::for_problem(&p, 4);
    config.starts = 2;
    config.pool = 3;
    let a = anneal(&p, &config);
    let b = anneal(&p, &config);
    assert_eq!(a.best.assignment, b.best.assignment);
    assert_eq!(a.steps, config.steps);
    assert_eq!(a.best.energy, energy(&p, &a.best.assignment));
    assert!(a.best.energy < greedy(&p).energy);
}

#[test]
fn stop_callback_ends_a_run_early() {
    let p = random_problem(40, 8, 3);
    let config = AnnealConfig::for_problem(&p, 1);
    let out = anneal_with(&p, &config, &mut |done| done >= 8192);
    assert!((8192..8192 + anneal::BLOCK).contains(&out.steps), "{}", out.steps);
    assert_eq!(out.best.energy, energy(&p, &out.best.assignment));
}

#[test]
fn greedy_places_every_task_and_prefers_linked_nodes() {
    let json = r#"{"tasks":[{"id":"a","cpu":2,"mem":1},{"id":"b","cpu":1,"mem":1}],
        "nodes":[{"id":"x","cpu":4,"mem":4},{"id":"y","cpu":4,"mem":4}],
        "links":[{"a":"a","b":"b","weight":1}]}"#;
    let p = Problem::from_json(json).unwrap();
    let g = greedy(&p);
    assert_eq!(g.assignment, vec![0, 0]);
    let p = random_problem(100, 16, 5);
    let g = greedy(&p);
    assert!(g.assignment.iter().all(|&n| n < 16));
    assert_eq!(g.energy, energy(&p, &g.assignment));
}

#[test]
fn exp_neg_matches_libm() {
    let mut x = 0.0;
    while x < 40.0 {
        let (a, b) = (anneal::exp_neg(x), libm::exp(-x));
        assert!((a - b).abs() <= 1e-9 * b, "exp(-{x}): {a} vs {b}");
        x += 0.013;
    }
}

#[test]
fn within_one_percent_follows_the_design_rule() {
    assert!(within_one_percent(101.0, 100.0));
    assert!(!within_one_percent(101.5, 100.0));
    assert!(within_one_percent(0.0, 0.0));
    assert!(!within_one_percent(1e-6, 0.0));
}
