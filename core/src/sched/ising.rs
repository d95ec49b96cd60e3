//! The placement problem as an Ising model (Lucas 2014, "Ising formulations of many NP
//! problems": one-hot encodings §2.3, slack variables for inequalities §2.4 / bin packing §5.2).
//!
//! Binary variables `x_{t,n} = 1` iff task `t` runs on node `n`; spin `s = 2x − 1`, so
//! `x = (1 + s)/2`. The exported energy is
//!
//! ```text
//! E(s) = offset + Σ_i h_i s_i + Σ_{(i, j, J_ij)} J_ij s_i s_j        (s_i ∈ {−1, +1})
//! ```
//!
//! built from the QUBO `H = H_A + w_c·H_comm + w_i·H_imb + w_o·H_over`:
//! - `H_A = A Σ_t (1 − Σ_n x_{t,n})²`, the one-hot penalty;
//! - `H_comm = Σ_links w_l (1 − Σ_n x_{a,n} x_{b,n})`, the cut weight when one-hot;
//! - `H_imb = Σ_n L_n² − C²/N` with `L_n = Σ_t c_t x_{t,n}` and `C = Σ_t c_t`, which equals
//!   `Σ_n (L_n − C/N)²` whenever every task is placed exactly once (then `Σ_n L_n = C`);
//! - `H_over = Σ_n Σ_{r ∈ {cpu, mem}} (L_{n,r} − K_{n,r} + S_{n,r})²` with a slack
//!   `S_{n,r} = δ_r Σ_k 2^k y_{n,r,k}` of binary spins. The hinge `max(0, L − K)²` equals
//!   `min_{S ≥ 0} (L − K + S)²`, so minimising over the slack spins gives back the overload
//!   term: exactly when every demand and capacity of resource `r` is a multiple of `δ_r`
//!   (then `K − L` lies on the slack grid), otherwise within `δ_r²/4` per node and resource
//!   (`overload_exact` says which). Slack spins are omitted when `w_o = 0`.
//!
//! `A` is `1 +` the most any single task can gain by leaving the one-hot subspace
//! (dropping a duplicate copy: at most its weighted link degree; adding a missing copy: at
//! most `w_o Σ_r (2 d_r D_r + d_r²) + w_i (2 c C + c²)` with `D_r` the total demand), so
//! every ground state places each task exactly once.
//!
//! JSON (`--export-ising`): `{"format": "void-ising/1", "spins": [{"kind": "assign",
//! "task", "node"} | {"kind": "slack", "node", "resource", "amount"}], "h": [..],
//! "J": [[i, j, J_ij], ..] (i < j), "offset", "penalty", "slack_resolution": {"cpu",
//! "mem"}, "overload_exact"}`. Spin `i = t·N + n` for assignments; slack spins follow.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::problem::Problem;

/// Couplings allowed in an export (about 100 MB of JSON).
pub const MAX_COUPLINGS: u64 = 4_000_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the Ising model of this problem would have about {couplings} couplings, more than the limit of {MAX_COUPLINGS}"
)]
pub struct IsingTooLarge {
    pub couplings: u64,
}

/// What one spin stands for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Spin {
    /// `+1` iff `task` runs on `node`.
    Assign { task: String, node: String },
    /// `+1` adds `amount` to the slack of `resource` on `node`.
    Slack { node: String, resource: String, amount: f64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlackResolution {
    pub cpu: f64,
    pub mem: f64,
}

/// An Ising model: `E(s) = offset + Σ h_i s_i + Σ J_ij s_i s_j`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IsingModel {
    pub format: String,
    pub spins: Vec<Spin>,
    pub h: Vec<f64>,
    #[serde(rename = "J")]
    pub j: Vec<(u32, u32, f64)>,
    pub offset: f64,
    pub penalty: f64,
    pub slack_resolution: SlackResolution,
    pub overload_exact: bool,
}

/// One slack register: node, resource (0 cpu, 1 mem), first spin, bit count.
#[derive(Clone, Copy)]
struct Register {
    node: u32,
    resource: usize,
    first: u32,
    bits: u32,
}

/// The grid step for one resource: the largest power of two dividing every value, if the
/// grid stays under 2^24 steps; else a coarser power of two (then not exact).
fn resolution(values: impl Iterator<Item = f64> + Clone) -> (f64, bool) {
    let max = values.clone().fold(0.0f64, f64::max);
    if max <= 0.0 {
        return (1.0, true);
    }
    let mut delta = 1.0f64;
    while delta <= max {
        delta *= 2.0;
    }
    // Walk down from above the largest value; stop at the first step every value divides.
    for _ in 0..80 {
        if values.clone().all(|v| {
            let r = v / delta;
            r == libm::trunc(r)
        }) {
            if max / delta <= (1u64 << 24) as f64 {
                return (delta, true);
            }
            break;
        }
        delta *= 0.5;
    }
    let mut coarse = 1.0f64;
    while max / coarse > (1u64 << 16) as f64 {
        coarse *= 2.0;
    }
    while max / coarse < (1u64 << 15) as f64 {
        coarse *= 0.5;
    }
    (coarse, false)
}

/// Bits needed to count to `steps` (0 for 0).
fn bits_for(steps: f64) -> u32 {
    let mut bits = 0;
    while ((1u64 << bits) as f64) - 1.0 < steps {
        bits += 1;
    }
    bits
}

impl IsingModel {
    /// Build the model of `problem` (see the module docs for the encoding).
    pub fn from_problem(problem: &Problem) -> Result<IsingModel, IsingTooLarge> {
        let (tn, nn) = (problem.task_count() as u64, problem.node_count() as u64);
        let w = problem.weights();
        let (tasks, nodes) = (problem.tasks(), problem.nodes());
        let demand = |t: usize, r: usize| if r == 0 { tasks[t].cpu } else { tasks[t].mem };
        let capacity = |n: usize, r: usize| if r == 0 { nodes[n].cpu } else { nodes[n].mem };

        let with_slack = w.overload > 0.0;
        let (res_cpu, exact_cpu) = resolution(tasks.iter().map(|t| t.cpu).chain(nodes.iter().map(|n| n.cpu)));
        let (res_mem, exact_mem) = resolution(tasks.iter().map(|t| t.mem).chain(nodes.iter().map(|n| n.mem)));
        let res = [res_cpu, res_mem];
        let mut registers = Vec::new();
        let mut next = (tn * nn) as u32;
        if with_slack {
            for n in 0..nn as usize {
                for (r, step) in res.iter().enumerate() {
                    let bits = bits_for(libm::ceil(capacity(n, r) / step));
                    registers.push(Register { node: n as u32, resource: r, first: next, bits });
                    next += bits;
                }
            }
        }
        let slack_bits: u64 = registers.iter().map(|g| g.bits as u64).sum();
        let estimate = tn * nn * nn / 2
            + tn * tn * nn / 2
            + problem.links().len() as u64 * nn
            + registers.iter().map(|g| g.bits as u64 * (tn + g.bits as u64)).sum::<u64>();
        if estimate > MAX_COUPLINGS || slack_bits + tn * nn > u32::MAX as u64 / 2 {
            return Err(IsingTooLarge { couplings: estimate });
        }

        let count = next as usize;
        let mut q = vec![0.0f64; count];
        let mut quad: Vec<(u32, u32, f64)> = Vec::new();
        let mut offset = 0.0;
        let var = |t: usize, n: usize| (t as u64 * nn + n as u64) as u32;
        let pair = |quad: &mut Vec<(u32, u32, f64)>, i: u32, j: u32, v: f64| {
            if v != 0.0 {
                quad.push((i.min(j), i.max(j), v));
            }
        };

        // One-hot penalty: A (1 − Σ x + 2 Σ_{n<m} x_n x_m) per task (x² = x).
        let total = [problem.total_cpu(), problem.total_mem()];
        let mut penalty: f64 = 0.0;
        for (t, task) in tasks.iter().enumerate() {
            let degree: f64 = problem.neighbours(t as u32).iter().map(|l| l.1).sum();
            let (c, m) = (task.cpu, task.mem);
            let add = w.overload * (2.0 * c * total[0] + c * c + 2.0 * m * total[1] + m * m)
                + w.imbalance * (2.0 * c * total[0] + c * c);
            penalty = penalty.max(add).max(w.communication * degree);
        }
        let a = 1.0 + penalty;
        for t in 0..tn as usize {
            offset += a;
            for n in 0..nn as usize {
                q[var(t, n) as usize] -= a;
                for m in n + 1..nn as usize {
                    pair(&mut quad, var(t, n), var(t, m), 2.0 * a);
                }
            }
        }
        // Communication: w_c w_l (1 − Σ_n x_a,n x_b,n).
        for l in problem.links() {
            offset += w.communication * l.weight;
            for n in 0..nn as usize {
                pair(&mut quad, var(l.a as usize, n), var(l.b as usize, n), -w.communication * l.weight);
            }
        }
        // Σ_n L_n² for cpu (imbalance, and overload when weighted) and mem (overload).
        let square = [
            w.imbalance + if with_slack { w.overload } else { 0.0 },
            if with_slack { w.overload } else { 0.0 },
        ];
        offset -= w.imbalance * total[0] * total[0] / nn as f64;
        for n in 0..nn as usize {
            for (t, task) in tasks.iter().enumerate() {
                let (ct, mt) = (task.cpu, task.mem);
                q[var(t, n) as usize] += square[0] * ct * ct + square[1] * mt * mt;
                for (u, other) in tasks.iter().enumerate().skip(t + 1) {
                    let v = 2.0 * (square[0] * ct * other.cpu + square[1] * mt * other.mem);
                    pair(&mut quad, var(t, n), var(u, n), v);
                }
            }
        }
        // Overload remainder: w_o (2 L (S − K) + (S − K)²) per node and resource.
        for g in &registers {
            let (n, r) = (g.node as usize, g.resource);
            let cap = capacity(n, r);
            offset += w.overload * cap * cap;
            for t in 0..tn as usize {
                q[var(t, n) as usize] -= 2.0 * w.overload * demand(t, r) * cap;
            }
            for k in 0..g.bits {
                let amount = res[r] * (1u64 << k) as f64;
                let yk = g.first + k;
                q[yk as usize] += w.overload * (amount * amount - 2.0 * cap * amount);
                for t in 0..tn as usize {
                    pair(&mut quad, var(t, n), yk, 2.0 * w.overload * demand(t, r) * amount);
                }
                for l in k + 1..g.bits {
                    let other = res[r] * (1u64 << l) as f64;
                    pair(&mut quad, yk, g.first + l, 2.0 * w.overload * amount * other);
                }
            }
        }

        // Merge duplicate pairs, then x = (1 + s)/2.
        quad.sort_unstable_by_key(|x| (x.0, x.1));
        let mut j: Vec<(u32, u32, f64)> = Vec::with_capacity(quad.len());
        for (a_, b_, v) in quad {
            match j.last_mut() {
                Some(last) if last.0 == a_ && last.1 == b_ => last.2 += v,
                _ => j.push((a_, b_, v)),
            }
        }
        j.retain(|c| c.2 != 0.0);
        let mut h: Vec<f64> = q.iter().map(|v| v / 2.0).collect();
        offset += q.iter().sum::<f64>() / 2.0;
        for c in j.iter_mut() {
            c.2 /= 4.0;
            h[c.0 as usize] += c.2;
            h[c.1 as usize] += c.2;
            offset += c.2;
        }

        let mut spins = Vec::with_capacity(count);
        for t in tasks {
            for n in nodes {
                spins.push(Spin::Assign { task: t.id.clone(), node: n.id.clone() });
            }
        }
        for g in &registers {
            for k in 0..g.bits {
                spins.push(Spin::Slack {
                    node: nodes[g.node as usize].id.clone(),
                    resource: String::from(if g.resource == 0 { "cpu" } else { "mem" }),
                    amount: res[g.resource] * (1u64 << k) as f64,
                });
            }
        }
        Ok(IsingModel {
            format: String::from("void-ising/1"),
            spins,
            h,
            j,
            offset,
            penalty: a,
            slack_resolution: SlackResolution { cpu: res_cpu, mem: res_mem },
            overload_exact: !with_slack || (exact_cpu && exact_mem),
        })
    }

    /// `E(s)` for spins in {−1, +1} (any other value counts as +1 if positive, else −1).
    pub fn energy(&self, spins: &[i8]) -> f64 {
        let s = |i: u32| if spins.get(i as usize).copied().unwrap_or(-1) > 0 { 1.0 } else { -1.0 };
        let mut e = self.offset;
        for (i, h) in self.h.iter().enumerate() {
            e += h * s(i as u32);
        }
        for &(i, j, v) in &self.j {
            e += v * s(i) * s(j);
        }
        e
    }

    /// The spins of a one-hot `assignment`, with each slack register set to the grid point
    /// nearest `max(0, K − L)` (its minimiser).
    pub fn spins_for(&self, problem: &Problem, assignment: &[u32]) -> Vec<i8> {
        let nn = problem.node_count() as usize;
        let mut spins = vec![-1i8; self.h.len()];
        for (t, &n) in assignment.iter().enumerate() {
            spins[t * nn + n as usize] = 1;
        }
        let (cpu, mem) = super::energy::loads(problem, assignment);
        let mut i = problem.task_count() as usize * nn;
        while i < self.spins.len() {
            let Spin::Slack { node, resource, .. } = &self.spins[i] else { break };
            let n = problem.nodes().iter().position(|x| &x.id == node).unwrap_or(0);
            let (load, cap, res) = if resource == "cpu" {
                (cpu[n], problem.nodes()[n].cpu, self.slack_resolution.cpu)
            } else {
                (mem[n], problem.nodes()[n].mem, self.slack_resolution.mem)
            };
            let mut bits = 0;
            while matches!(self.spins.get(i + bits), Some(Spin::Slack { node: m, resource: r, .. }) if m == node && r == resource)
            {
                bits += 1;
            }
            let steps = libm::round((cap - load).max(0.0) / res) as u64;
            let steps = steps.min((1u64 << bits) - 1);
            for k in 0..bits {
                spins[i + k] = if steps >> k & 1 == 1 { 1 } else { -1 };
            }
            i += bits;
        }
        spins
    }
}
