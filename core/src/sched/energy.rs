//! The energy of an assignment, from scratch and incrementally.
//!
//! Incremental deltas keep per-node cpu and mem loads, so a move's overload and imbalance
//! deltas cost O(1) and its communication delta O(degree of the moved task).

use alloc::vec;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::problem::{Problem, Weights};

/// The three energy terms of DESIGN.md, unweighted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Terms {
    /// Σ_nodes Σ_{cpu,mem} max(0, load − capacity)².
    pub overload: f64,
    /// Σ weight of links whose tasks sit on different nodes.
    pub communication: f64,
    /// Σ_nodes (cpu_load − mean cpu_load)².
    pub imbalance: f64,
}

impl Terms {
    /// E = w_o·overload + w_c·communication + w_i·imbalance.
    #[inline]
    pub fn energy(&self, w: Weights) -> f64 {
        w.overload * self.overload + w.communication * self.communication + w.imbalance * self.imbalance
    }

    fn add(&mut self, d: Terms) {
        self.overload += d.overload;
        self.communication += d.communication;
        self.imbalance += d.imbalance;
    }
}

/// An assignment with its energy. `assignment[t]` is the node index of task `t`.
#[derive(Clone, Debug, PartialEq)]
pub struct Solution {
    pub assignment: Vec<u32>,
    pub terms: Terms,
    pub energy: f64,
}

impl Solution {
    /// Evaluate `assignment` from scratch. The caller guarantees one in-range node per task.
    pub fn evaluate(problem: &Problem, assignment: Vec<u32>) -> Solution {
        let terms = terms(problem, &assignment);
        Solution { energy: terms.energy(problem.weights()), terms, assignment }
    }
}

/// `max(0, load − capacity)²`.
#[inline(always)]
pub(crate) fn hinge(load: f64, capacity: f64) -> f64 {
    let over = load - capacity;
    if over > 0.0 { over * over } else { 0.0 }
}

/// Unweighted (overload, imbalance) change when a node with capacity `kp` and loads
/// `[cpu, mem]` = `lp` gains (dc, dm) and one with `kq`, `lq` loses as much.
#[inline(always)]
pub(crate) fn load_change(
    kp: [f64; 2],
    kq: [f64; 2],
    lp: [f64; 2],
    lq: [f64; 2],
    dc: f64,
    dm: f64,
) -> (f64, f64) {
    let ([cp, mp], [cq, mq]) = (lp, lq);
    let overload = hinge(cp + dc, kp[0]) - hinge(cp, kp[0]) + hinge(cq - dc, kq[0]) - hinge(cq, kq[0])
        + hinge(mp + dm, kp[1])
        - hinge(mp, kp[1])
        + hinge(mq - dm, kq[1])
        - hinge(mq, kq[1]);
    // (cp+dc−μ)² − (cp−μ)² + (cq−dc−μ)² − (cq−μ)² = 2·dc·(cp − cq + dc); μ cancels.
    (overload, 2.0 * dc * (cp - cq + dc))
}

/// Per-node (cpu, mem) loads of an assignment.
pub(crate) fn loads(problem: &Problem, assignment: &[u32]) -> (Vec<f64>, Vec<f64>) {
    let n = problem.node_count() as usize;
    let (mut cpu, mut mem) = (vec![0.0; n], vec![0.0; n]);
    for (t, &node) in problem.tasks().iter().zip(assignment) {
        cpu[node as usize] += t.cpu;
        mem[node as usize] += t.mem;
    }
    (cpu, mem)
}

/// The three terms of an assignment, computed from scratch.
pub fn terms(problem: &Problem, assignment: &[u32]) -> Terms {
    let (cpu, mem) = loads(problem, assignment);
    let mean = problem.mean_cpu_load();
    let mut out = Terms::default();
    for (i, node) in problem.nodes().iter().enumerate() {
        out.overload += hinge(cpu[i], node.cpu) + hinge(mem[i], node.mem);
        out.imbalance += (cpu[i] - mean) * (cpu[i] - mean);
    }
    for l in problem.links() {
        if assignment[l.a as usize] != assignment[l.b as usize] {
            out.communication += l.weight;
        }
    }
    out
}

/// The weighted energy of an assignment, from scratch.
pub fn energy(problem: &Problem, assignment: &[u32]) -> f64 {
    terms(problem, assignment).energy(problem.weights())
}

/// An assignment with its per-node loads and running terms, for O(degree) move deltas.
#[derive(Clone, Debug)]
pub struct State<'p> {
    problem: &'p Problem,
    assignment: Vec<u32>,
    cpu: Vec<f64>,
    mem: Vec<f64>,
    terms: Terms,
}

impl<'p> State<'p> {
    pub fn new(problem: &'p Problem, assignment: Vec<u32>) -> State<'p> {
        let (cpu, mem) = loads(problem, &assignment);
        let terms = terms(problem, &assignment);
        State { problem, assignment, cpu, mem, terms }
    }

    pub fn assignment(&self) -> &[u32] {
        &self.assignment
    }

    /// The running terms (sums of applied deltas; equal to a fresh evaluation up to rounding).
    pub fn terms(&self) -> Terms {
        self.terms
    }

    pub fn energy(&self) -> f64 {
        self.terms.energy(self.problem.weights())
    }

    pub fn cpu_loads(&self) -> &[f64] {
        &self.cpu
    }

    pub fn mem_loads(&self) -> &[f64] {
        &self.mem
    }

    /// Overload and imbalance deltas when node `p` changes by (dc, dm) and `q` by (−dc, −dm).
    #[inline]
    fn load_delta(&self, p: usize, q: usize, dc: f64, dm: f64) -> (f64, f64) {
        let (kp, kq) = (self.problem.capacity(p as u32), self.problem.capacity(q as u32));
        load_change(kp, kq, [self.cpu[p], self.mem[p]], [self.cpu[q], self.mem[q]], dc, dm)
    }

    /// Communication delta of moving `t` from `p` to `q`; `skip` is a task to treat as
    /// sitting on `skip_at` (the partner of a swap, already moved).
    #[inline]
    fn comm_delta(&self, t: u32, p: u32, q: u32, skip: u32, skip_at: u32) -> f64 {
        let mut d = 0.0;
        for &(u, w) in self.problem.neighbours(t) {
            let at = if u == skip { skip_at } else { self.assignment[u as usize] };
            // Cut before: at ≠ p; cut after: at ≠ q.
            if at == p {
                d += w;
            } else if at == q {
                d -= w;
            }
        }
        d
    }

    /// The term deltas of moving task `t` to node `q` (zero if it is already there).
    #[inline]
    pub fn delta_move(&self, t: u32, q: u32) -> Terms {
        let p = self.assignment[t as usize];
        if p == q {
            return Terms::default();
        }
        let [c, m] = self.problem.demand(t);
        // Node q gains the task: q changes by +c, p by −c.
        let (overload, imbalance) = self.load_delta(q as usize, p as usize, c, m);
        Terms { overload, communication: self.comm_delta(t, p, q, u32::MAX, 0), imbalance }
    }

    /// Move `t` to `q`, given the deltas [`State::delta_move`] returned for that move.
    #[inline]
    pub fn apply_move(&mut self, t: u32, q: u32, delta: Terms) {
        let p = self.assignment[t as usize];
        let [c, m] = self.problem.demand(t);
        self.cpu[p as usize] -= c;
        self.mem[p as usize] -= m;
        self.cpu[q as usize] += c;
        self.mem[q as usize] += m;
        self.assignment[t as usize] = q;
        self.terms.add(delta);
    }

    /// The term deltas of exchanging the nodes of tasks `t1` and `t2`.
    #[inline]
    pub fn delta_swap(&self, t1: u32, t2: u32) -> Terms {
        let (p, q) = (self.assignment[t1 as usize], self.assignment[t2 as usize]);
        if p == q || t1 == t2 {
            return Terms::default();
        }
        let (a, b) = (self.problem.demand(t1), self.problem.demand(t2));
        // Node p loses t1 and gains t2.
        let (overload, imbalance) = self.load_delta(p as usize, q as usize, b[0] - a[0], b[1] - a[1]);
        // t1 moves first (t2 still on q), then t2 moves with t1 already on q.
        let communication = self.comm_delta(t1, p, q, u32::MAX, 0) + self.comm_delta(t2, q, p, t1, q);
        Terms { overload, communication, imbalance }
    }

    /// Exchange `t1` and `t2`, given the deltas [`State::delta_swap`] returned.
    #[inline]
    pub fn apply_swap(&mut self, t1: u32, t2: u32, delta: Terms) {
        let (p, q) = (self.assignment[t1 as usize], self.assignment[t2 as usize]);
        let (a, b) = (self.problem.demand(t1), self.problem.demand(t2));
        let (dc, dm) = (b[0] - a[0], b[1] - a[1]);
        self.cpu[p as usize] += dc;
        self.mem[p as usize] += dm;
        self.cpu[q as usize] -= dc;
        self.mem[q as usize] -= dm;
        self.assignment.swap(t1 as usize, t2 as usize);
        self.terms.add(delta);
    }

    /// Recompute loads and terms from scratch (drops accumulated rounding).
    pub fn refresh(&mut self) {
        let (cpu, mem) = loads(self.problem, &self.assignment);
        self.cpu = cpu;
        self.mem = mem;
        self.terms = terms(self.problem, &self.assignment);
    }

    pub fn into_solution(self) -> Solution {
        Solution::evaluate(self.problem, self.assignment)
    }
}
