//! Seeded random instances for tests, benchmarks and examples.
//!
//! Tasks come in groups of about four ("services") that talk mostly among themselves, so
//! co-location matters; node capacities leave 0–50 % headroom over the balanced load, so
//! balance, packing and communication pull against each other. Every demand and capacity
//! is a multiple of 1/4, which keeps load sums exact in floating point.

use alloc::format;
use alloc::vec::Vec;

use super::problem::{LinkSpec, MAX_NODES, MAX_TASKS, Node, Problem, ProblemSpec, Task, Weights};
use crate::effect::DetRng;

/// The weights generated instances use.
pub const GEN_WEIGHTS: Weights = Weights { overload: 4.0, communication: 1.0, imbalance: 0.5 };

fn quarters(rng: &mut DetRng, lo: u64, hi: u64) -> f64 {
    rng.between(lo, hi) as f64 / 4.0
}

/// A random problem with `tasks` tasks and `nodes` nodes, the same for the same seed.
/// Counts are clamped to `1..=MAX_NODES` nodes and `0..=MAX_TASKS` tasks.
pub fn random_problem(tasks: u32, nodes: u32, seed: u64) -> Problem {
    let nodes = nodes.clamp(1, MAX_NODES as u32);
    let tasks = tasks.min(MAX_TASKS as u32);
    let mut rng = DetRng::derive(seed, 0x5c4e_d001);
    let task_list: Vec<Task> = (0..tasks)
        .map(|i| Task { id: format!("t{i}"), cpu: quarters(&mut rng, 2, 16), mem: quarters(&mut rng, 4, 32) })
        .collect();
    let total_cpu: f64 = task_list.iter().map(|t| t.cpu).sum();
    let total_mem: f64 = task_list.iter().map(|t| t.mem).sum();
    let max_cpu = task_list.iter().map(|t| t.cpu).fold(0.0, f64::max);
    let max_mem = task_list.iter().map(|t| t.mem).fold(0.0, f64::max);
    let per_node = |total: f64, headroom_quarters: u64| {
        // total/N × (1 + headroom), rounded down to a quarter.
        let raw = total / nodes as f64 * (1.0 + headroom_quarters as f64 / 400.0);
        (raw * 4.0) as u64 as f64 / 4.0
    };
    let node_list: Vec<Node> = (0..nodes)
        .map(|i| {
            let cpu = per_node(total_cpu, rng.between(0, 200)).max(max_cpu);
            let mem = per_node(total_mem, rng.between(0, 200)).max(max_mem);
            Node { id: format!("n{i}"), cpu, mem }
        })
        .collect();

    let group = 4u64;
    let mut links = Vec::new();
    if tasks >= 2 {
        for t in 0..tasks as u64 {
            let count = rng.between(1, 2);
            for _ in 0..count {
                let base = t / group * group;
                let size = (tasks as u64 - base).min(group);
                let other = if size >= 2 && rng.chance(0.75) {
                    base + rng.below(size)
                } else {
                    rng.below(tasks as u64)
                };
                if other == t {
                    continue;
                }
                links.push(LinkSpec {
                    a: format!("t{t}"),
                    b: format!("t{other}"),
                    weight: quarters(&mut rng, 2, 12),
                });
            }
        }
    }
    let spec = ProblemSpec { tasks: task_list, nodes: node_list, links, weights: GEN_WEIGHTS };
    match Problem::new(spec) {
        Ok(p) => p,
        // Unreachable by construction: ids are unique, numbers finite, every node fits every task.
        Err(e) => panic!("generator built an invalid problem: {e}"),
    }
}
