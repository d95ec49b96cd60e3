//! Simulated annealing over assignments (Kirkpatrick, Gelatt, Vecchi 1983).
//!
//! Moves: reassign one task to another node; swap the nodes of two tasks; or carry a task
//! together with its linked tasks on the same node to another node (a cluster move, which
//! lets a group of communicating tasks migrate without first paying for cutting its links).
//! Deltas are incremental ([`State`]): O(1) for loads, O(degree) for links.
//!
//! Schedule: a short zero-temperature descent from the greedy solution reaches a local
//! minimum; random moves sampled there (not applied) calibrate the geometric schedule
//! `T_k = T_0·α^k`: `T_0` accepts their median uphill delta with probability
//! `initial_acceptance`, the last temperature accepts their smallest uphill delta with
//! `final_acceptance`. The budget is split over restarts; the first continues from the
//! descent, later ones start from the best found so far at `T_0 · reheat`.
//!
//! Determinism: one seeded [`DetRng`], two `u64` draws per move plus one per uphill
//! acceptance test; ranges by Lemire's multiply-shift on 32-bit (task, linked task) and
//! 24-bit (node) fields, without rejection, so the bias stays below 2⁻¹² for the sizes
//! [`Problem`] admits; floats meet only `+ − × ÷`, `libm` in calibration, and an `exp`
//! built from those in [`exp_neg`]. So a seed and a step budget fix the result.

use alloc::vec::Vec;

use super::energy::{Solution, State};
use super::greedy::greedy;
use super::problem::Problem;
use crate::effect::DetRng;

/// How to anneal. [`AnnealConfig::for_problem`] gives the defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct AnnealConfig {
    pub seed: u64,
    /// Move attempts in total, descent included.
    pub steps: u64,
    /// Number of annealing runs the budget is split over (at least 1).
    pub restarts: u32,
    /// Share of moves that are swaps, in 1/256ths.
    pub swap_share: u8,
    /// Share of moves that are cluster moves, in 1/256ths (the rest reassign one task).
    pub cluster_share: u8,
    /// Share of moves whose target node is that of a random linked task, in 1/256ths.
    pub linked_share: u8,
    /// Acceptance probability of the median sampled uphill move at `T_0`.
    pub initial_acceptance: f64,
    /// Acceptance probability of the smallest sampled uphill move at the last temperature.
    pub final_acceptance: f64,
    /// Starting temperature of restarts after the first, as a fraction of `T_0`.
    pub reheat: f64,
    /// Temperature levels per run.
    pub levels: u32,
    /// Keep at most this many `(step, energy)` points of the current energy (0: no trace).
    pub trace_points: u32,
}

impl AnnealConfig {
    /// Defaults, with a step budget that grows with the problem (≈ 40 moves per task-node pair).
    pub fn for_problem(problem: &Problem, seed: u64) -> AnnealConfig {
        let size = problem.task_count() as u64 * problem.node_count() as u64;
        AnnealConfig {
            seed,
            steps: (size * 40).clamp(20_000, 50_000_000),
            restarts: 1,
            swap_share: 64,
            cluster_share: 16,
            linked_share: 128,
            initial_acceptance: 0.3,
            final_acceptance: 0.01,
            reheat: 0.3,
            levels: 100,
            trace_points: 0,
        }
    }
}

/// What an annealing run found.
#[derive(Clone, Debug)]
pub struct AnnealOutcome {
    /// The best assignment seen, evaluated from scratch.
    pub best: Solution,
    /// Move attempts made (less than the budget if the stop callback fired).
    pub steps: u64,
    /// `(step, current energy)`, thinned to at most `trace_points` points.
    pub trace: Vec<(u64, f64)>,
    /// The calibrated start and end temperatures.
    pub t0: f64,
    pub t_end: f64,
}

/// Steps between two calls of the stop callback (and between trace points, at most).
pub const BLOCK: u64 = 1024;

/// Anneal with the config's step budget.
pub fn anneal(problem: &Problem, config: &AnnealConfig) -> AnnealOutcome {
    anneal_with(problem, config, &mut |_| false)
}

/// Anneal, asking `stop(steps_done)` every [`BLOCK`] steps; `true` ends the run early
/// (hosts use it for wall-clock deadlines; the result then depends on timing).
pub fn anneal_with(
    problem: &Problem,
    config: &AnnealConfig,
    stop: &mut dyn FnMut(u64) -> bool,
) -> AnnealOutcome {
    let start = greedy(problem);
    let (tasks, nodes) = (problem.task_count(), problem.node_count());
    if tasks == 0 || nodes < 2 || config.steps == 0 {
        return AnnealOutcome { best: start, steps: 0, trace: Vec::new(), t0: 0.0, t_end: 0.0 };
    }
    let mut walker = Walker::new(problem, config, start.assignment.clone());
    let mut best = start;
    let mut stopped = false;

    // Zero-temperature descent to a local minimum, then calibration there.
    let descent = (config.steps / 16).min(8 * tasks as u64 * nodes as u64);
    stopped |= walker.walk(descent, f64::INFINITY, stop);
    let (t0, t_end) = calibrate(&walker, config);

    let restarts = config.restarts.max(1) as u64;
    let levels = config.levels.max(1) as u64;
    let budget = config.steps - walker.done;
    for run in 0..restarts {
        if stopped {
            break;
        }
        let run_steps = budget / restarts + u64::from(run < budget % restarts);
        if run > 0 {
            walker.reset(&best.assignment);
        }
        let first_t = if run == 0 { t0 } else { (t0 * config.reheat).max(t_end) };
        let alpha = if levels > 1 { libm::pow(t_end / first_t, 1.0 / (levels - 1) as f64) } else { 1.0 };
        let mut temperature = first_t;
        for level in 0..levels {
            let level_steps = run_steps / levels + u64::from(level < run_steps % levels);
            if walker.walk(level_steps, 1.0 / temperature, stop) {
                stopped = true;
                break;
            }
            temperature *= alpha;
        }
        let candidate = walker.take_best();
        if candidate.energy < best.energy {
            best = candidate;
        }
    }
    let candidate = walker.take_best();
    if candidate.energy < best.energy {
        best = candidate;
    }
    AnnealOutcome { best, steps: walker.done, trace: walker.trace, t0, t_end }
}

#[derive(Clone, Copy)]
enum Kind {
    Reassign,
    Swap,
    Cluster,
}

/// The annealing state between levels: assignment, running energy, best seen, trace.
struct Walker<'p, 'c> {
    problem: &'p Problem,
    config: &'c AnnealConfig,
    state: State<'p>,
    rng: DetRng,
    current: f64,
    best_energy: f64,
    best: Vec<u32>,
    cluster: Vec<u32>,
    done: u64,
    trace: Vec<(u64, f64)>,
    trace_every: u64,
    next_trace: u64,
}

impl<'p, 'c> Walker<'p, 'c> {
    fn new(problem: &'p Problem, config: &'c AnnealConfig, assignment: Vec<u32>) -> Self {
        let state = State::new(problem, assignment.clone());
        let current = state.energy();
        Walker {
            problem,
            config,
            state,
            rng: DetRng::derive(config.seed, 0x00a2_2ea1),
            current,
            best_energy: current,
            best: assignment,
            cluster: Vec::new(),
            done: 0,
            trace: Vec::new(),
            trace_every: config.steps.div_ceil(config.trace_points.max(1) as u64).max(1),
            next_trace: 0,
        }
    }

    /// Restart from `assignment` (loads recomputed, so rounding does not accumulate).
    fn reset(&mut self, assignment: &[u32]) {
        self.state = State::new(self.problem, assignment.to_vec());
        self.current = self.state.energy();
        self.best_energy = self.current;
        self.best.copy_from_slice(assignment);
    }

    /// The best assignment seen since the last reset, evaluated from scratch.
    fn take_best(&mut self) -> Solution {
        if self.current < self.best_energy {
            self.best_energy = self.current;
            self.best.copy_from_slice(self.state.assignment());
        }
        Solution::evaluate(self.problem, self.best.clone())
    }

    /// Remember the current assignment as the best, when it is, before leaving it.
    #[inline]
    fn save_if_best(&mut self) {
        if self.current < self.best_energy {
            self.best_energy = self.current;
            self.best.copy_from_slice(self.state.assignment());
        }
    }

    /// `steps` moves at inverse temperature `inv_t`, in blocks; true if `stop` asked to end.
    fn walk(&mut self, steps: u64, inv_t: f64, stop: &mut dyn FnMut(u64) -> bool) -> bool {
        let mut left = steps;
        while left > 0 {
            if self.config.trace_points > 0
                && self.done >= self.next_trace
                && self.trace.len() < self.config.trace_points as usize
            {
                self.trace.push((self.done, self.current));
                self.next_trace = self.done + self.trace_every;
            }
            let block = left.min(BLOCK).min(if self.config.trace_points > 0 {
                self.next_trace.saturating_sub(self.done).max(1)
            } else {
                BLOCK
            });
            for _ in 0..block {
                self.step(inv_t);
            }
            self.done += block;
            left -= block;
            if stop(self.done) {
                return true;
            }
        }
        false
    }

    /// Metropolis acceptance of an energy change `d`.
    #[inline]
    fn accept(&mut self, d: f64, inv_t: f64) -> bool {
        if d <= 0.0 {
            return true;
        }
        let x = d * inv_t;
        // exp(−x) < 2^−53 ≤ the smallest nonzero unit() draw beyond x ≈ 36.7.
        x < 36.7 && self.rng.unit() < exp_neg(x)
    }

    #[inline]
    fn step(&mut self, inv_t: f64) {
        let problem = self.problem;
        let w = problem.weights();
        let (tasks, nodes) = (problem.task_count() as u64, problem.node_count() as u64);
        let r = self.rng.next_u64();
        let t = (((r >> 32) * tasks) >> 32) as u32;
        let kind = match (r & 0xff) as u8 {
            x if x < self.config.swap_share => Kind::Swap,
            x if (x - self.config.swap_share) < self.config.cluster_share => Kind::Cluster,
            _ => Kind::Reassign,
        };
        let p = self.state.assignment()[t as usize];
        let mut q = ((((r >> 8) & 0xff_ffff) * (nodes - 1)) >> 24) as u32;
        if q >= p {
            q += 1;
        }
        // Sometimes aim at the node of a linked task instead (an asymmetric proposal, fine for
        // optimisation): uniform targets rarely help a task whose links all point elsewhere.
        // The high half of r2 picks the swap partner or the linked task, never both.
        let r2 = self.rng.next_u64();
        if !matches!(kind, Kind::Swap) && (r2 & 0xff) < self.config.linked_share as u64 {
            let links = problem.neighbours(t);
            if !links.is_empty() {
                let k = (((r2 >> 32) * links.len() as u64) >> 32) as usize;
                let at = self.state.assignment()[links[k].0 as usize];
                if at != p {
                    q = at;
                }
            }
        }
        match kind {
            Kind::Reassign => {
                let delta = self.state.delta_move(t, q);
                let d = delta.energy(w);
                if self.accept(d, inv_t) {
                    if d > 0.0 {
                        self.save_if_best();
                    }
                    self.state.apply_move(t, q, delta);
                    self.current += d;
                }
            }
            Kind::Swap => {
                let t2 = (((r2 >> 32) * tasks) >> 32) as u32;
                let delta = self.state.delta_swap(t, t2);
                let d = delta.energy(w);
                if self.accept(d, inv_t) {
                    if d > 0.0 {
                        self.save_if_best();
                    }
                    self.state.apply_swap(t, t2, delta);
                    self.current += d;
                }
            }
            Kind::Cluster => self.cluster_move(t, p, q, inv_t),
        }
    }

    /// Move `t` and its linked tasks on `p` to `q`, applied one by one and undone if refused.
    fn cluster_move(&mut self, t: u32, p: u32, q: u32, inv_t: f64) {
        let problem = self.problem;
        let w = problem.weights();
        let mut cluster = core::mem::take(&mut self.cluster);
        cluster.clear();
        cluster.push(t);
        for &(u, _) in problem.neighbours(t) {
            if self.state.assignment()[u as usize] == p && !cluster.contains(&u) {
                cluster.push(u);
            }
        }
        let before = self.current;
        let mut d = 0.0;
        for &u in &cluster {
            let du = self.state.delta_move(u, q);
            d += du.energy(w);
            self.state.apply_move(u, q, du);
        }
        if self.accept(d, inv_t) {
            if d > 0.0 && before < self.best_energy {
                self.best_energy = before;
                self.best.copy_from_slice(self.state.assignment());
                for &u in &cluster {
                    self.best[u as usize] = p;
                }
            }
            self.current += d;
        } else {
            for &u in cluster.iter().rev() {
                let du = self.state.delta_move(u, p);
                self.state.apply_move(u, p, du);
            }
        }
        self.cluster = cluster;
    }
}

/// `exp(−x)` for `0 ≤ x < 708`, from `+ − ×` and exponent bits only (identical on every
/// target), relative error below 10⁻⁹ — ample for an acceptance test.
#[inline]
pub fn exp_neg(x: f64) -> f64 {
    // exp(−x) = 2^−y with y = x·log2(e) = n + f, f ∈ [0, 1); 2^−f = (e^z)² with
    // z = −f·ln2/2 ∈ (−0.35, 0], e^z by a degree-8 Taylor polynomial (error < 3·10⁻¹⁰).
    const INV: [f64; 9] =
        [1.0, 1.0, 1.0 / 2.0, 1.0 / 3.0, 1.0 / 4.0, 1.0 / 5.0, 1.0 / 6.0, 1.0 / 7.0, 1.0 / 8.0];
    let y = x * core::f64::consts::LOG2_E;
    let n = y as u64;
    if n >= 1022 {
        return 0.0;
    }
    let f = y - n as f64;
    let z = -f * (0.5 * core::f64::consts::LN_2);
    let mut p = 1.0;
    for inv in INV[1..].iter().rev() {
        p = 1.0 + z * p * inv;
    }
    p * p * f64::from_bits((1023 - n) << 52)
}

/// `(T_0, T_end)` from uphill deltas of random reassignments sampled at the walker's state.
fn calibrate(walker: &Walker<'_, '_>, config: &AnnealConfig) -> (f64, f64) {
    let problem = walker.problem;
    let (tasks, nodes) = (problem.task_count() as u64, problem.node_count() as u64);
    // A separate stream, so calibration does not shift the walk's draws.
    let mut rng = DetRng::derive(config.seed, 0xca1b);
    let mut uphill = Vec::new();
    for _ in 0..512 {
        let t = rng.below(tasks) as u32;
        let p = walker.state.assignment()[t as usize] as u64;
        let mut q = rng.below(nodes - 1);
        if q >= p {
            q += 1;
        }
        let d = walker.state.delta_move(t, q as u32).energy(problem.weights());
        if d > 1e-12 * (1.0 + walker.current.abs()) && d.is_finite() {
            uphill.push(d);
        }
    }
    if uphill.is_empty() {
        return (1.0, 1e-3);
    }
    uphill.sort_by(f64::total_cmp);
    let median = uphill[uphill.len() / 2];
    let low = uphill[0];
    let ln = |p: f64| libm::log(p.clamp(1e-12, 0.999_999));
    let t0 = -median / ln(config.initial_acceptance);
    let t_end = (-low / ln(config.final_acceptance)).min(t0);
    (t0, t_end)
}
