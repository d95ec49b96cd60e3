//! The greedy baseline: first-fit decreasing with communication affinity.
//!
//! Tasks are taken largest first (cpu and mem, each as a share of the cluster's capacity).
//! Each goes to the node, among those with room left for it, that already holds the most
//! link weight to it; ties go to the first such node (first fit). A task that fits nowhere
//! goes where it adds the least weighted overload minus affinity.

use alloc::vec;
use alloc::vec::Vec;

use super::energy::{Solution, hinge};
use super::problem::Problem;

/// Run the greedy baseline. O(T log T + T·N + links).
pub fn greedy(problem: &Problem) -> Solution {
    let tasks = problem.tasks();
    let nodes = problem.nodes();
    let n = nodes.len();
    let cap_cpu: f64 = nodes.iter().map(|x| x.cpu).sum();
    let cap_mem: f64 = nodes.iter().map(|x| x.mem).sum();
    let share = |v: f64, cap: f64| if cap > 0.0 { v / cap } else { v };
    let mut order: Vec<u32> = (0..problem.task_count()).collect();
    let size = |t: u32| share(tasks[t as usize].cpu, cap_cpu) + share(tasks[t as usize].mem, cap_mem);
    // Stable sort keeps index order among equal sizes.
    order.sort_by(|&a, &b| size(b).total_cmp(&size(a)));

    const UNPLACED: u32 = u32::MAX;
    let mut assignment = vec![UNPLACED; tasks.len()];
    let (mut cpu, mut mem) = (vec![0.0f64; n], vec![0.0f64; n]);
    let mut affinity = vec![0.0f64; n];
    let w = problem.weights();
    for t in order {
        let task = &tasks[t as usize];
        affinity.iter_mut().for_each(|a| *a = 0.0);
        for &(u, weight) in problem.neighbours(t) {
            let at = assignment[u as usize];
            if at != UNPLACED {
                affinity[at as usize] += weight;
            }
        }
        let mut best: Option<usize> = None;
        for q in 0..n {
            let fits = cpu[q] + task.cpu <= nodes[q].cpu && mem[q] + task.mem <= nodes[q].mem;
            if fits && best.is_none_or(|b| affinity[q] > affinity[b]) {
                best = Some(q);
            }
        }
        let q = best.unwrap_or_else(|| {
            let cost = |q: usize| {
                w.overload
                    * (hinge(cpu[q] + task.cpu, nodes[q].cpu) - hinge(cpu[q], nodes[q].cpu)
                        + hinge(mem[q] + task.mem, nodes[q].mem)
                        - hinge(mem[q], nodes[q].mem))
                    - w.communication * affinity[q]
            };
            (1..n).fold(0, |b, q| if cost(q) < cost(b) { q } else { b })
        });
        assignment[t as usize] = q as u32;
        cpu[q] += task.cpu;
        mem[q] += task.mem;
    }
    Solution::evaluate(problem, assignment)
}
