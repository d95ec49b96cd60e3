//! Seeded random models for tests and benchmarks.
//!
//! Node `i` draws up to `max_parents` parents among the `window` nodes before it, so the
//! graph is a DAG whose elimination width stays near the window, like a layered service
//! dependency graph. Priors lie in [0.01, 0.2], weights in [0.2, 0.9].

use alloc::format;
use alloc::vec::Vec;

use super::model::{CausalModel, EdgeSpec, ModelSpec, NodeSpec};
use crate::effect::DetRng;

/// A random model with `nodes` nodes (clamped to 1..=1000), the same for the same seed.
pub fn random_model(nodes: u32, max_parents: u32, window: u32, seed: u64) -> CausalModel {
    let nodes = nodes.clamp(1, 1000);
    let mut rng = DetRng::derive(seed, 0xca05_a100);
    let mut spec = ModelSpec { nodes: Vec::new(), edges: Vec::new() };
    for i in 0..nodes {
        let prior = rng.between(1, 20) as f64 / 100.0;
        spec.nodes.push(NodeSpec { name: format!("n{i}"), prior });
        let lo = i.saturating_sub(window.max(1));
        let mut chosen: Vec<u32> = Vec::new();
        for _ in 0..rng.between(0, max_parents as u64) {
            if i == 0 {
                break;
            }
            let p = rng.between(lo as u64, i as u64 - 1) as u32;
            if !chosen.contains(&p) {
                chosen.push(p);
                let weight = rng.between(20, 90) as f64 / 100.0;
                spec.edges.push(EdgeSpec { from: format!("n{p}"), to: format!("n{i}"), weight });
            }
        }
    }
    match CausalModel::new(spec) {
        Ok(model) => model,
        // Unreachable: names are unique, edges point forward, numbers lie in [0, 1].
        Err(e) => panic!("generator built an invalid model: {e}"),
    }
}
