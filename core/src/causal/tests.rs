use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use proptest::prelude::*;

use super::r#gen::random_model;
use super::learn::incident_line;
use super::*;
use crate::effect::DetRng;

fn err(json: &str) -> String {
    match CausalModel::from_json(json) {
        Ok(_) => panic!("accepted: {json}"),
        Err(e) => e.to_string(),
    }
}

const CONFOUNDER: &str = r#"{"nodes":[{"name":"Network","prior":0.1},{"name":"DB","prior":0.05},{"name":"API","prior":0.02}],
  "edges":[{"from":"Network","to":"DB","weight":0.8},{"from":"Network","to":"API","weight":0.6},
           {"from":"DB","to":"API","weight":0.5}]}"#;

#[test]
fn parse_names_cycles_bad_probabilities_and_unknown_nodes() {
    let nodes = r#""nodes":[{"name":"A","prior":0.1},{"name":"B","prior":0.1},{"name":"C","prior":0.1}]"#;
    let e = err(&format!(
        r#"{{{nodes},"edges":[{{"from":"A","to":"B","weight":0.5}},{{"from":"B","to":"C","weight":0.5}},{{"from":"C","to":"A","weight":0.5}}]}}"#
    ));
    assert!(e.starts_with("cycle: "), "{e}");
    // The same three-cycle, whichever node it starts from.
    assert!(
        ["cycle: A -> B -> C -> A", "cycle: B -> C -> A -> B", "cycle: C -> A -> B -> C"]
            .contains(&e.as_str()),
        "{e}"
    );
    assert_eq!(
        err(&format!(r#"{{{nodes},"edges":[{{"from":"B","to":"B","weight":0.5}}]}}"#)),
        "cycle: B -> B"
    );
    let e = err(r#"{"nodes":[{"name":"A","prior":1.5}]}"#);
    assert!(e.contains(r#"prior of node "A" is 1.5"#), "{e}");
    let e = err(&format!(r#"{{{nodes},"edges":[{{"from":"A","to":"B","weight":-0.1}}]}}"#));
    assert!(e.contains("weight of edge A -> B is -0.1"), "{e}");
    let e = err(&format!(r#"{{{nodes},"edges":[{{"from":"A","to":"Z","weight":0.1}}]}}"#));
    assert_eq!(e, r#"edge 0 names unknown node "Z""#);
    let e = err(r#"{"nodes":[{"name":"A","prior":0.1},{"name":"B","prior":"high"}]}"#);
    assert!(e.contains("nodes[1].prior"), "{e}");
    assert!(
        err(r#"{"nodes":[{"name":"A","prior":0.1},{"name":"A","prior":0.1}]}"#).contains("more than once")
    );
    let e = err(&format!(
        r#"{{{nodes},"edges":[{{"from":"A","to":"B","weight":0.1}},{{"from":"A","to":"B","weight":0.2}}]}}"#
    ));
    assert!(e.contains("edge A -> B appears more than once"), "{e}");
}

#[test]
fn confounded_observation_differs_from_intervention() {
    let m = CausalModel::from_json(CONFOUNDER).unwrap();
    let (net, db, api) = (m.node("Network").unwrap(), m.node("DB").unwrap(), m.node("API").unwrap());
    let mut given = vec![None; 3];
    given[db as usize] = Some(true);
    let observed = m.query(api, &given).unwrap();
    let intervened = m.query_do(api, &[None; 3], &[(db, true)]).unwrap();
    // Seeing DB down raises belief in a network fault, which also hits the API directly.
    assert!(observed > intervened + 0.05, "{observed} vs {intervened}");
    let brute_obs = brute_force_query(&m, api, &given).unwrap();
    let mut cut = m.clone();
    cut.intervene(db, true);
    let brute_do = brute_force_query(&cut, api, &given).unwrap();
    assert!((observed - brute_obs).abs() < 1e-12);
    assert!((intervened - brute_do).abs() < 1e-12);
    // By hand: under do(DB = 1) the network keeps its prior.
    let by_hand = 1.0 - (1.0 - 0.02) * (1.0 - 0.5) * (1.0 - 0.6 * 0.1);
    assert!((intervened - by_hand).abs() < 1e-12);
    assert_eq!(m.query_named("API", &[("DB", true)], &[]).unwrap(), observed);
    assert_eq!(m.query_named("API", &[], &[("DB", true)]).unwrap(), intervened);
    // Conditioning on the root equals intervening on it.
    let mut on_net = vec![None; 3];
    on_net[net as usize] = Some(true);
    assert!(
        (m.query(api, &on_net).unwrap() - m.query_do(api, &[None; 3], &[(net, true)]).unwrap()).abs() < 1e-12
    );
}

#[test]
fn bad_queries_are_refused() {
    let m = CausalModel::from_json(CONFOUNDER).unwrap();
    assert_eq!(m.query_named("Nope", &[], &[]), Err(QueryError::UnknownNode("Nope".into())));
    assert_eq!(m.query_named("API", &[("X", true)], &[]), Err(QueryError::UnknownNode("X".into())));
    assert_eq!(
        m.query_named("API", &[("DB", true), ("DB", false)], &[]),
        Err(QueryError::Conflict("DB".into()))
    );
    // A node with prior 0 and no parents cannot fail.
    let z = CausalModel::from_json(r#"{"nodes":[{"name":"A","prior":0},{"name":"B","prior":0.5}]}"#).unwrap();
    assert_eq!(z.query_named("B", &[("A", true)], &[]), Err(QueryError::Impossible));
    // Seeing DB healthy while forcing it down is impossible.
    assert_eq!(m.query_named("API", &[("DB", false)], &[("DB", true)]), Err(QueryError::Impossible));
    // A target that is observed answers with its value.
    assert_eq!(m.query_named("DB", &[("DB", true)], &[]), Ok(1.0));
}

#[test]
fn too_wide_queries_are_refused() {
    let mut spec = ModelSpec { nodes: vec![NodeSpec { name: "sink".into(), prior: 0.1 }], edges: Vec::new() };
    for i in 0..24 {
        spec.nodes.push(NodeSpec { name: format!("p{i}"), prior: 0.1 });
        spec.edges.push(EdgeSpec { from: format!("p{i}"), to: "sink".into(), weight: 0.5 });
    }
    let m = CausalModel::new(spec).unwrap();
    assert_eq!(m.query_named("sink", &[], &[]), Err(QueryError::TooComplex));
    // With the parents observed the same query is easy.
    let given: Vec<(String, bool)> = (0..24).map(|i| (format!("p{i}"), i % 3 == 0)).collect();
    let given: Vec<(&str, bool)> = given.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let p = m.query_named("sink", &given, &[]).unwrap();
    assert!((p - (1.0 - 0.9 * libm::pow(0.5, 8.0))).abs() < 1e-12);
}

fn random_evidence(n: usize, rng: &mut DetRng) -> Vec<Option<bool>> {
    (0..n)
        .map(|_| match rng.below(4) {
            0 => Some(true),
            1 => Some(false),
            _ => None,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn elimination_matches_brute_force(nodes in 1u32..9, parents in 0u32..4, seed in any::<u64>()) {
        let m = random_model(nodes, parents, 4, seed);
        let mut rng = DetRng::seed_from_u64(seed);
        for _ in 0..4 {
            let evidence = random_evidence(m.len(), &mut rng);
            let target = rng.below(m.len() as u64) as u32;
            match (m.query(target, &evidence), brute_force_query(&m, target, &evidence)) {
                (Ok(p), Some(b)) => {
                    prop_assert!((0.0..=1.0).contains(&p));
                    prop_assert!((p - b).abs() < 1e-9, "{} vs {}", p, b);
                }
                (Err(QueryError::Impossible), None) => {}
                (a, b) => prop_assert!(false, "{:?} vs {:?}", a, b),
            }
        }
    }

    #[test]
    fn marginalisation_is_consistent(nodes in 2u32..10, seed in any::<u64>()) {
        let m = random_model(nodes, 3, 4, seed);
        let mut rng = DetRng::seed_from_u64(seed);
        let x = rng.below(m.len() as u64) as u32;
        let y = (x + 1 + rng.below(m.len() as u64 - 1) as u32) % m.len() as u32;
        let none = vec![None; m.len()];
        let p_x = m.query(x, &none).unwrap();
        let p_y = m.query(y, &none).unwrap();
        let mut given = none.clone();
        given[y as usize] = Some(true);
        let x_if_y = if p_y > 0.0 { m.query(x, &given).unwrap() } else { 0.0 };
        given[y as usize] = Some(false);
        let x_if_not_y = if p_y < 1.0 { m.query(x, &given).unwrap() } else { 0.0 };
        // P(X) = Σ_y P(X | y) P(y).
        prop_assert!((p_x - (x_if_y * p_y + x_if_not_y * (1.0 - p_y))).abs() < 1e-12);
        // P(X = 1, e) + P(X = 0, e) = P(e).
        let e = random_evidence(m.len(), &mut rng);
        if let Ok(pe) = m.evidence_probability(&e) && e[x as usize].is_none() {
            let mut with = e.clone();
            with[x as usize] = Some(true);
            let p1 = m.evidence_probability(&with).unwrap();
            with[x as usize] = Some(false);
            let p0 = m.evidence_probability(&with).unwrap();
            prop_assert!((p0 + p1 - pe).abs() < 1e-12);
        }
    }

    #[test]
    fn intervening_on_a_root_equals_conditioning(nodes in 2u32..10, seed in any::<u64>(), value: bool) {
        let m = random_model(nodes, 3, 4, seed);
        let roots: Vec<u32> = (0..m.len() as u32).filter(|&v| m.parents(v).is_empty()).collect();
        let root = roots[(seed % roots.len() as u64) as usize];
        let none = vec![None; m.len()];
        let mut given = none.clone();
        given[root as usize] = Some(value);
        for target in 0..m.len() as u32 {
            let seen = m.query(target, &given);
            let done = m.query_do(target, &none, &[(root, value)]);
            match (seen, done) {
                (Ok(a), Ok(b)) => prop_assert!((a - b).abs() < 1e-12),
                // Conditioning on a value of probability zero is refused; forcing it is not.
                (Err(QueryError::Impossible), Ok(_)) => {
                    let impossible = if value { 0.0 } else { 1.0 };
                    prop_assert_eq!(m.prior(root), impossible)
                }
                (a, b) => prop_assert!(false, "{:?} vs {:?}", a, b),
            }
        }
    }
}

/// `P(C_i = 1 | e)` by enumerating every own cause and link firing (tiny models only).
fn brute_own_cause(m: &CausalModel, node: u32, evidence: &[Option<bool>]) -> f64 {
    let n = m.len();
    let edges: Vec<(u32, u32, f64)> =
        (0..n as u32).flat_map(|c| m.parents(c).iter().map(move |&(p, w)| (p, c, w))).collect();
    let bits = n + edges.len();
    let (mut z, mut hit) = (0.0, 0.0);
    for world in 0u64..1 << bits {
        let on = |k: usize| (world >> k) & 1 == 1;
        let mut p = 1.0;
        for i in 0..n {
            p *= if on(i) { m.prior(i as u32) } else { 1.0 - m.prior(i as u32) };
        }
        for (k, &(_, _, w)) in edges.iter().enumerate() {
            p *= if on(n + k) { w } else { 1.0 - w };
        }
        let mut failed = vec![false; n];
        for &v in m.topological_order() {
            failed[v as usize] = on(v as usize)
                || edges
                    .iter()
                    .enumerate()
                    .any(|(k, &(from, to, _))| to == v && failed[from as usize] && on(n + k));
        }
        if evidence.iter().zip(&failed).any(|(e, &f)| e.is_some_and(|x| x != f)) {
            continue;
        }
        z += p;
        if on(node as usize) {
            hit += p;
        }
    }
    hit / z
}

#[test]
fn root_cause_scores_are_own_cause_posteriors() {
    let m = CausalModel::from_json(CONFOUNDER).unwrap();
    let ranking = m.root_causes(&["DB", "API"], &[]).unwrap();
    assert_eq!(ranking.len(), 2);
    assert!(ranking[0].score >= ranking[1].score);
    for cause in &ranking {
        let mut e = vec![Some(false); 3];
        e[m.node("DB").unwrap() as usize] = Some(true);
        e[m.node("API").unwrap() as usize] = Some(true);
        let want = brute_own_cause(&m, m.node(&cause.node).unwrap(), &e);
        assert!((cause.score - want).abs() < 1e-12, "{}: {} vs {want}", cause.node, cause.score);
    }
    // Network unobserved: the DB and API failures may still share its cause.
    let ranking = m.root_causes(&["DB", "API"], &["Network"]).unwrap();
    let mut e = vec![Some(true); 3];
    e[m.node("Network").unwrap() as usize] = None;
    for cause in &ranking {
        let want = brute_own_cause(&m, m.node(&cause.node).unwrap(), &e);
        assert!((cause.score - want).abs() < 1e-12);
    }
    // A failed root has no other explanation.
    let ranking = m.root_causes(&["Network", "DB"], &[]).unwrap();
    assert_eq!(ranking[0], Cause { node: "Network".into(), score: 1.0 });
    assert!(ranking[1].score < 0.1, "{:?}", ranking);
    assert_eq!(m.root_causes(&["Nope"], &[]), Err(QueryError::UnknownNode("Nope".into())));
    assert_eq!(m.root_causes(&["DB"], &["DB"]), Err(QueryError::Conflict("DB".into())));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn own_cause_posterior_matches_enumeration(nodes in 1u32..5, seed in any::<u64>()) {
        let m = random_model(nodes, 2, 3, seed);
        let mut rng = DetRng::seed_from_u64(seed);
        let e = random_evidence(m.len(), &mut rng);
        for v in 0..m.len() as u32 {
            match m.own_cause_posterior(v, &e) {
                Ok(p) => prop_assert!((p - brute_own_cause(&m, v, &e)).abs() < 1e-9),
                Err(err) => prop_assert_eq!(err, QueryError::Impossible),
            }
        }
    }
}

fn truth() -> CausalModel {
    CausalModel::from_json(
        r#"{"nodes":[{"name":"net","prior":0.2},{"name":"db","prior":0.1},{"name":"cache","prior":0.15},
        {"name":"api","prior":0.05},{"name":"web","prior":0.1}],
        "edges":[{"from":"net","to":"db","weight":0.7},{"from":"net","to":"cache","weight":0.4},
        {"from":"db","to":"api","weight":0.8},{"from":"cache","to":"api","weight":0.5},
        {"from":"api","to":"web","weight":0.6}]}"#,
    )
    .unwrap()
}

fn flat(model: &CausalModel) -> CausalModel {
    let mut spec = model.to_spec();
    spec.nodes.iter_mut().for_each(|n| n.prior = 0.5);
    spec.edges.iter_mut().for_each(|e| e.weight = 0.5);
    CausalModel::new(spec).unwrap()
}

#[test]
fn em_recovers_known_parameters_within_003() {
    let truth = truth();
    let mut rng = DetRng::seed_from_u64(2024);
    let lines: Vec<String> =
        (0..20_000).map(|_| incident_line(&truth, &sample_incident(&truth, &mut rng), &[false; 5])).collect();
    let start = flat(&truth);
    let incidents = parse_incidents(&start, &lines.join("\n")).unwrap();
    let learned = start.learn(&incidents, LearnConfig::default()).unwrap();
    for v in 0..5 {
        let (got, want) = (learned.model.prior(v), truth.prior(v));
        assert!((got - want).abs() < 0.03, "prior of {}: {got} vs {want}", truth.name(v));
        for (&(p, w), &(_, w_true)) in learned.model.parents(v).iter().zip(truth.parents(v)) {
            assert!(
                (w - w_true).abs() < 0.03,
                "weight {} -> {}: {w} vs {w_true}",
                truth.name(p),
                truth.name(v)
            );
        }
    }
    assert!(learned.history.windows(2).all(|w| w[1] >= w[0] - 1e-9 * w[0].abs()));
}

#[test]
fn em_log_likelihood_never_decreases_with_unobserved_nodes() {
    let truth = truth();
    let mut rng = DetRng::seed_from_u64(7);
    let lines: Vec<String> = (0..400)
        .map(|_| {
            let failed = sample_incident(&truth, &mut rng);
            let hidden: Vec<bool> = (0..5).map(|_| rng.chance(0.2)).collect();
            incident_line(&truth, &failed, &hidden)
        })
        .collect();
    let start = flat(&truth);
    let incidents = parse_incidents(&start, &lines.join("\n")).unwrap();
    let config = LearnConfig { max_iterations: 60, tolerance: 0.0 };
    let learned = start.learn(&incidents, config).unwrap();
    assert!(learned.iterations > 10);
    assert!(learned.history.len() as u32 == learned.iterations + 1);
    for w in learned.history.windows(2) {
        assert!(w[1] >= w[0] - 1e-9 * w[0].abs(), "log-likelihood fell: {} -> {}", w[0], w[1]);
    }
    assert!(learned.log_likelihood > learned.history[0]);
}

#[test]
fn incident_lines_are_checked() {
    let m = truth();
    let e = parse_incidents(&m, "{\"failed\":[\"db\"]}\n\n{\"failed\":[\"nope\"]}").unwrap_err().to_string();
    assert_eq!(e, "incidents line 3: unknown node \"nope\"");
    let e = parse_incidents(&m, "{\"failed\":\"db\"}").unwrap_err().to_string();
    assert!(e.starts_with("incidents line 1: at failed:"), "{e}");
    let e = parse_incidents(&m, "{\"failed\":[\"db\"],\"unobserved\":[\"db\"]}").unwrap_err().to_string();
    assert!(e.contains("given both"), "{e}");
    assert_eq!(parse_incidents(&m, "\n").unwrap_err(), LearnError::Empty);
    let parsed = parse_incidents(&m, "{\"failed\":[\"db\"],\"unobserved\":[\"net\"]}").unwrap();
    assert_eq!(parsed, vec![vec![None, Some(true), Some(false), Some(false), Some(false)]]);
}
