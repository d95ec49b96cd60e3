//! Exact branch and bound for small instances (at most [`MAX_EXACT_TASKS`] tasks and
//! [`MAX_EXACT_NODES`] nodes, so at most 4^12 ≈ 1.7·10⁷ leaves before pruning).
//!
//! Tasks are placed largest first; children are tried cheapest first, starting from the
//! greedy solution as the incumbent. Empty nodes with identical capacities are
//! interchangeable, so only the first of them is tried. The lower bound of a partial
//! assignment adds three relaxations that cannot overestimate:
//! - communication: links between placed tasks are final; an unplaced task must cut every
//!   link to placed tasks except those on the one node it joins (the heaviest at best);
//! - cpu overload + imbalance and mem overload: the unplaced demand is treated as divisible
//!   and spread optimally (a convex separable problem); its Lagrangian dual
//!   `D(λ) = λR + Σ_n min_{a ≥ 0} f_n(L_n + a) − λa` is a lower bound for every λ, and
//!   bisection on λ brings it close to the relaxation's optimum.
//!
//! Nodes are pruned when the bound reaches the incumbent less `1e-9·max(1, |E|)`, so the
//! energy returned is optimal up to that tolerance.

use alloc::vec;
use alloc::vec::Vec;

use super::energy::{Solution, hinge};
use super::greedy::greedy;
use super::problem::Problem;

pub const MAX_EXACT_TASKS: u32 = 12;
pub const MAX_EXACT_NODES: u32 = 4;

/// The exact solver refuses instances above its limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the exact solver handles at most {MAX_EXACT_TASKS} tasks and {MAX_EXACT_NODES} nodes; this problem has {tasks} tasks and {nodes} nodes (use the anneal or greedy solver)"
)]
pub struct ExactTooLarge {
    pub tasks: u32,
    pub nodes: u32,
}

/// The optimum and how much of the tree was searched.
#[derive(Clone, Debug)]
pub struct ExactOutcome {
    pub best: Solution,
    /// Search-tree nodes visited.
    pub visited: u64,
}

pub fn exact(problem: &Problem) -> Result<ExactOutcome, ExactTooLarge> {
    let (tasks, nodes) = (problem.task_count(), problem.node_count());
    if tasks > MAX_EXACT_TASKS || nodes > MAX_EXACT_NODES {
        return Err(ExactTooLarge { tasks, nodes });
    }
    let incumbent = greedy(problem);
    let mut order: Vec<u32> = (0..tasks).collect();
    let size = |t: u32| {
        let task = &problem.tasks()[t as usize];
        task.cpu + task.mem + problem.neighbours(t).iter().map(|n| n.1).sum::<f64>()
    };
    order.sort_by(|&a, &b| size(b).total_cmp(&size(a)));
    let n = nodes as usize;
    let mut search = Search {
        problem,
        order,
        assignment: vec![UNPLACED; tasks as usize],
        cpu: vec![0.0; n],
        mem: vec![0.0; n],
        count: vec![0; n],
        rem_cpu: problem.total_cpu(),
        rem_mem: problem.total_mem(),
        best_energy: incumbent.energy,
        best: incumbent.assignment.clone(),
        visited: 0,
        pull: vec![0.0; n],
    };
    search.descend(0, 0.0);
    Ok(ExactOutcome { best: Solution::evaluate(problem, search.best), visited: search.visited })
}

const UNPLACED: u32 = u32::MAX;

struct Search<'p> {
    problem: &'p Problem,
    order: Vec<u32>,
    assignment: Vec<u32>,
    cpu: Vec<f64>,
    mem: Vec<f64>,
    count: Vec<u32>,
    rem_cpu: f64,
    rem_mem: f64,
    best_energy: f64,
    best: Vec<u32>,
    visited: u64,
    /// Scratch: link weight from one unplaced task to each node.
    pull: Vec<f64>,
}

impl Search<'_> {
    /// `cut` = weight of cut links among placed tasks.
    fn descend(&mut self, depth: usize, cut: f64) {
        self.visited += 1;
        let problem = self.problem;
        if depth == self.order.len() {
            let e = super::energy::energy(problem, &self.assignment);
            if e < self.best_energy {
                self.best_energy = e;
                self.best.copy_from_slice(&self.assignment);
            }
            return;
        }
        let slack = 1e-9 * self.best_energy.abs().max(1.0);
        if self.lower_bound(cut) >= self.best_energy - slack {
            return;
        }
        let t = self.order[depth];
        let task = &problem.tasks()[t as usize];
        let nodes = problem.nodes();
        let w = problem.weights();
        let mut children: Vec<(f64, u32, f64)> = Vec::with_capacity(nodes.len());
        for q in 0..nodes.len() {
            let interchangeable = self.count[q] == 0
                && (0..q).any(|r| {
                    self.count[r] == 0 && nodes[r].cpu == nodes[q].cpu && nodes[r].mem == nodes[q].mem
                });
            if interchangeable {
                continue;
            }
            let mut new_cut = 0.0;
            for &(u, weight) in problem.neighbours(t) {
                let at = self.assignment[u as usize];
                if at != UNPLACED && at != q as u32 {
                    new_cut += weight;
                }
            }
            let load_cost = w.overload
                * (hinge(self.cpu[q] + task.cpu, nodes[q].cpu) - hinge(self.cpu[q], nodes[q].cpu)
                    + hinge(self.mem[q] + task.mem, nodes[q].mem)
                    - hinge(self.mem[q], nodes[q].mem))
                + w.imbalance * task.cpu * (2.0 * self.cpu[q] + task.cpu);
            children.push((load_cost + w.communication * new_cut, q as u32, new_cut));
        }
        children.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (_, q, new_cut) in children {
            let qi = q as usize;
            self.assignment[t as usize] = q;
            self.cpu[qi] += task.cpu;
            self.mem[qi] += task.mem;
            self.count[qi] += 1;
            self.rem_cpu -= task.cpu;
            self.rem_mem -= task.mem;
            self.descend(depth + 1, cut + new_cut);
            self.rem_cpu += task.cpu;
            self.rem_mem += task.mem;
            self.count[qi] -= 1;
            self.cpu[qi] -= task.cpu;
            self.mem[qi] -= task.mem;
            self.assignment[t as usize] = UNPLACED;
        }
    }

    fn lower_bound(&mut self, cut: f64) -> f64 {
        let problem = self.problem;
        let w = problem.weights();
        let mut comm = cut;
        for t in 0..problem.task_count() {
            if self.assignment[t as usize] != UNPLACED {
                continue;
            }
            self.pull.iter_mut().for_each(|p| *p = 0.0);
            let mut total = 0.0;
            for &(u, weight) in problem.neighbours(t) {
                let at = self.assignment[u as usize];
                if at != UNPLACED {
                    self.pull[at as usize] += weight;
                    total += weight;
                }
            }
            comm += total - self.pull.iter().copied().fold(0.0, f64::max);
        }
        let nodes = problem.nodes();
        let mean = problem.mean_cpu_load();
        let cpu_bound = spread_bound(
            self.rem_cpu,
            nodes.iter().zip(&self.cpu).map(|(node, &load)| Convex {
                load,
                cap: node.cpu,
                wo: w.overload,
                wi: w.imbalance,
                mean,
            }),
        );
        let mem_bound = spread_bound(
            self.rem_mem,
            nodes.iter().zip(&self.mem).map(|(node, &load)| Convex {
                load,
                cap: node.mem,
                wo: w.overload,
                wi: 0.0,
                mean: 0.0,
            }),
        );
        w.communication * comm + cpu_bound + mem_bound
    }
}

/// `f(x) = wo·max(0, x − cap)² + wi·(x − mean)²` for one node, with its current `load`.
#[derive(Clone, Copy)]
struct Convex {
    load: f64,
    cap: f64,
    wo: f64,
    wi: f64,
    mean: f64,
}

impl Convex {
    fn value(&self, x: f64) -> f64 {
        self.wo * hinge(x, self.cap) + self.wi * (x - self.mean) * (x - self.mean)
    }

    fn slope(&self, x: f64) -> f64 {
        2.0 * self.wo * (x - self.cap).max(0.0) + 2.0 * self.wi * (x - self.mean)
    }

    /// The amount `a ≥ 0` minimising `f(load + a) − λa`; `None` if unbounded below.
    fn best_add(&self, lambda: f64) -> Option<f64> {
        if self.slope(self.load) >= lambda {
            return Some(0.0);
        }
        // Solve slope(x) = λ on the piece left of cap, else on the piece right of it.
        if self.wi > 0.0 {
            let x = self.mean + lambda / (2.0 * self.wi);
            if x <= self.cap {
                return Some((x - self.load).max(0.0));
            }
        }
        let k = self.wo + self.wi;
        if k <= 0.0 {
            return None;
        }
        let x = (lambda + 2.0 * self.wo * self.cap + 2.0 * self.wi * self.mean) / (2.0 * k);
        Some((x - self.load).max(0.0))
    }
}

/// A lower bound on `min Σ_n f_n(load_n + a_n)` over `a ≥ 0, Σ a = rem`, by weak duality.
fn spread_bound(rem: f64, nodes: impl Iterator<Item = Convex> + Clone) -> f64 {
    let at_rest: f64 = nodes.clone().map(|f| f.value(f.load)).sum();
    if rem <= 0.0 {
        return at_rest;
    }
    let dual = |lambda: f64| -> Option<(f64, f64)> {
        let (mut value, mut added) = (lambda * rem, 0.0);
        for f in nodes.clone() {
            let a = f.best_add(lambda)?;
            value += f.value(f.load + a) - lambda * a;
            added += a;
        }
        Some((value, added))
    };
    let mut lo = nodes.clone().map(|f| f.slope(f.load)).fold(f64::INFINITY, f64::min);
    let mut hi = nodes.clone().map(|f| f.slope(f.load + rem)).fold(f64::NEG_INFINITY, f64::max);
    let mut best: f64 = 0.0;
    if !(lo.is_finite() && hi.is_finite()) {
        return best;
    }
    for _ in 0..48 {
        let mid = 0.5 * (lo + hi);
        match dual(mid) {
            Some((value, added)) => {
                best = best.max(value);
                if added < rem {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            None => hi = mid,
        }
    }
    if let Some((value, _)) = dual(lo) {
        best = best.max(value);
    }
    best
}
