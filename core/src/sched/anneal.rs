//! Multilevel simulated annealing over assignments (Kirkpatrick, Gelatt, Vecchi 1983; the
//! multilevel scheme of Hendrickson & Leland 1995 and Karypis & Kumar's METIS, 1998).
//!
//! Single-task moves alone cross this landscape slowly: a group of communicating tasks can
//! only migrate by first paying for the links it cuts. So the tasks are coarsened first: a
//! heavy-edge matching merges linked pairs into one item (demands add, links between merged
//! items add up, links inside an item disappear), repeatedly, until about two items per
//! node remain (instances of at most [`MIN_COARSE`] tasks are not coarsened). Annealing
//! starts on the coarsest level, where one move carries a whole group; the result is
//! projected level by level back to single tasks and refined on each level, by default
//! greedily with moves and swaps ([`super::refine`], as METIS refines; annealing these
//! levels too, `level_refine: false`, costs more steps for worse energies), then by exact
//! two-way repartitions of linked node pairs that hold at most `pair_items` items. Later
//! V-cycles coarsen again, matching only tasks that share a node in the best assignment so
//! far, so the coarse levels start from it and can move its groups as a whole; with a
//! `pool` of several results they match only tasks that share a node in the best and in
//! another kept result (recombination, as in KaFFPaE's combine operator). The last
//! `ils_share` of the budget runs an iterated local search on single tasks from the best
//! assignment; the final `repack_share` repacks the groups that communicate on one node as
//! whole items ([`repack`]). Steps count annealing moves and local-search deltas alike.
//!
//! Moves: reassign one item (to a random node, or to the node of a random linked item);
//! swap the nodes of two items. A per-(item, node) table of link weight keeps every move's
//! delta O(1); applying a move updates the table in O(degree).
//!
//! Temperatures are multiples of the instance's scale: the weighted mean link weight (or,
//! without links, the imbalance or overload cost of moving a mean task). Each walk cools
//! geometrically over [`TEMPERATURE_LEVELS`] levels.
//!
//! Determinism: one wyrand stream seeded from a [`DetRng`] (ChaCha8 cost a fifth of each
//! move; annealing needs speed, not cryptographic quality); ranges by Lemire's multiply-shift on 32-bit (item)
//! and 24-bit (node) fields, without rejection, so the bias stays below 2⁻¹² for the sizes
//! [`Problem`] admits; floats meet only `+ − × ÷`, `libm::pow` and an `exp` built from
//! those in [`exp_neg`]. So a seed and a step budget fix the result.

use alloc::vec;
use alloc::vec::Vec;

use super::energy::{Solution, hinge, load_change};
use super::greedy::greedy;
use super::problem::Problem;
use super::refine::{KickConfig, Refiner};
use crate::effect::DetRng;

/// How to anneal. [`AnnealConfig::for_problem`] gives the defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct AnnealConfig {
    pub seed: u64,
    /// Move attempts in total, over all levels and cycles.
    pub steps: u64,
    /// V-cycles the budget is split over (at least 1).
    pub cycles: u32,
    /// Share of moves that are swaps, in 1/256ths.
    pub swap_share: u8,
    /// Share of reassignments whose target is the node of a random linked item, in 1/16ths.
    pub linked_share: u8,
    /// Share of a cycle's moves spent on its coarsest level (the rest anneals the finer
    /// levels, or, with `level_refine`, stays for later cycles).
    pub coarse_share: f64,
    /// Two items merge only if their joint cpu and mem stay within this multiple of the
    /// mean load per node.
    pub merge_limit: f64,
    /// Start temperature of the first cycle's coarsest level, in units of the scale.
    pub t_start: f64,
    /// Start temperature of every cycle when nothing was coarsened (tiny instances, where
    /// a hot start explores enough without groups).
    pub t_flat: f64,
    /// Start temperature of later cycles' coarsest levels.
    pub t_cycle: f64,
    /// Start temperature of the finer levels in even cycles, when they are annealed
    /// (`level_refine: false`).
    pub t_refine: f64,
    /// Start temperature of the finer levels in odd cycles (a hotter refinement that
    /// helps small instances, where every task is a large share of a node).
    pub t_refine_odd: f64,
    /// Final temperature of every walk.
    pub t_end: f64,
    /// Keep at most this many `(step, energy)` points of the current energy (0: no trace).
    pub trace_points: u32,
    /// Share of the budget spent after the annealing cycles on iterated local search over
    /// single tasks, starting from the best assignment annealed.
    pub ils_share: f64,
    /// How that search kicks.
    pub kick: KickConfig,
    /// Cycles that start from scratch (independent results for the pool) before later
    /// cycles coarsen within the best result (at least 1).
    pub starts: u32,
    /// Distinct cycle results kept for recombination; with 2 or more, later cycles coarsen
    /// only tasks that share a node in both the best result and another kept one.
    pub pool: u32,
    /// After the greedy refinement of a finer level, repartition exactly every linked pair
    /// of nodes that holds at most this many items (2^k moves priced for k items; 0: never).
    pub pair_items: u32,
    /// Refine the finer levels by greedy local search (to a local minimum, see
    /// [`super::refine`]) instead of annealing them.
    pub level_refine: bool,
    /// Share of the budget spent last on component repacking: the tasks that communicate
    /// on one node in the best assignment are packed again as one item each (0: never).
    pub repack_share: f64,
}

/// The largest link table (items × nodes entries) a walker keeps: 8 MiB.
pub const TABLE_LIMIT: usize = 1 << 20;

/// Geometric cooling steps per walk.
pub const TEMPERATURE_LEVELS: u64 = 32;

impl AnnealConfig {
    /// Defaults, with a step budget that grows with the problem (48 moves per task-node
    /// pair: 76 800 on 100 × 16, about 0.8 ms).
    pub fn for_problem(problem: &Problem, seed: u64) -> AnnealConfig {
        let size = problem.task_count() as u64 * problem.node_count() as u64;
        AnnealConfig {
            seed,
            steps: (size * 48).clamp(20_000, 50_000_000),
            cycles: 6,
            swap_share: 64,
            linked_share: 8,
            // Refining a cycle's finer levels costs as much again as annealing its
            // coarsest: with the whole share there, later cycles starved.
            coarse_share: 0.4,
            merge_limit: 1.0,
            t_start: 0.6,
            t_flat: 3.0,
            t_cycle: 0.6,
            t_refine: 0.3,
            t_refine_odd: 2.0,
            t_end: 0.03,
            trace_points: 0,
            ils_share: 0.13,
            level_refine: true,
            starts: 1,
            pool: 1,
            pair_items: 7,
            repack_share: 0.12,
            kick: KickConfig { items: 1, carry_share: 8, linked_share: 8 },
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
    /// The first walk's start temperature and the final temperature.
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
    let scale = scale(problem);
    let mut search = Search {
        rng: Wyrand(DetRng::derive(config.seed, 0x00a2_2ea1).next_u64()),
        done: 0,
        trace: Vec::new(),
        trace_points: config.trace_points as usize,
        trace_every: config.steps.div_ceil(config.trace_points.max(1) as u64).max(1),
        next_trace: 0,
        stopped: false,
    };
    let fine = Level::from_problem(problem);
    let mut best = start;
    // The first cycle starts from scratch on its coarsest level; later ones from `best`.
    let mut seeded = false;
    // The first walk's start temperature (t_start, or t_flat when nothing coarsens).
    let mut first_t = None;
    let cycles = config.cycles.max(1) as u64;
    let ils_steps = (config.steps as f64 * config.ils_share.clamp(0.0, 1.0)) as u64;
    let repack_steps = (config.steps as f64 * config.repack_share.clamp(0.0, 1.0)) as u64;
    let anneal_steps = config.steps.saturating_sub(ils_steps + repack_steps);
    // The best distinct cycle results, lowest energy first (the memetic pool).
    let mut pool: Vec<Solution> = Vec::new();
    let pool_size = config.pool.max(1) as usize;
    let mut labels = Vec::new();
    for cycle in 0..cycles {
        if search.stopped || search.done >= anneal_steps {
            break;
        }
        let cycle_steps = anneal_steps.saturating_sub(search.done) / (cycles - cycle);
        seeded = seeded && cycle >= config.starts.max(1) as u64;
        let part = if !seeded {
            None
        } else if pool.len() >= 2 {
            // Recombine: coarsen only tasks that share a node in both the best result and
            // another pool member (the combine operator of Sanders & Schulz's KaFFPaE,
            // Benlic & Hao's idea of keeping what good partitions agree on), starting the
            // coarsest level from the best.
            let other = &pool[1 + search.rng.below(pool.len() as u64 - 1) as usize].assignment;
            labels.clear();
            labels.extend(best.assignment.iter().zip(other).map(|(&a, &b)| a * nodes + b));
            Some((best.assignment.as_slice(), labels.as_slice()))
        } else {
            Some((best.assignment.as_slice(), best.assignment.as_slice()))
        };
        let (levels, maps, top_part) = hierarchy(problem, &fine, part, config.merge_limit, &mut search.rng);
        let depth = levels.len();
        let top_steps =
            if depth == 1 { cycle_steps } else { (cycle_steps as f64 * config.coarse_share) as u64 };
        let finer = depth as u64 - 1;
        let mut assignment =
            top_part.unwrap_or_else(|| (0..levels[depth - 1].len() as u32).map(|i| i % nodes).collect());
        for d in (0..depth).rev() {
            let steps = if d == depth - 1 {
                top_steps
            } else {
                let rest = cycle_steps - top_steps;
                rest / finer + u64::from(d == 0) * (rest % finer)
            };
            let t_from = scale
                * if d < depth - 1 {
                    if cycle % 2 == 1 { config.t_refine_odd } else { config.t_refine }
                } else if depth == 1 {
                    config.t_flat
                } else if seeded {
                    config.t_cycle
                } else {
                    config.t_start
                };
            let mut walker = Walker::new(problem, &levels[d], assignment);
            first_t.get_or_insert(t_from);
            let found = if config.level_refine && d < depth - 1 {
                // Greedy refinement, paid from what is left of the annealing budget.
                let mut refiner = Refiner::new(walker, scale);
                refiner.push_all(&mut search.rng);
                refiner.descend(&mut search, anneal_steps, true, stop);
                // Then exact two-way repartitions of small linked node pairs, until neither
                // finds anything.
                while config.pair_items > 0
                    && refiner.repartition_pairs(&mut search, anneal_steps, config.pair_items, stop)
                {
                    refiner.descend(&mut search, anneal_steps, true, stop);
                }
                refiner.into_assignment()
            } else {
                walker.walk(&mut search, steps, t_from, scale * config.t_end, config, stop);
                walker.into_best()
            };
            assignment = match d {
                0 => found,
                _ => maps[d - 1].iter().map(|&c| found[c as usize]).collect(),
            };
            if search.stopped {
                // Finish the projection without more moves, so the answer is a fine assignment.
                for map in maps[..d.saturating_sub(1)].iter().rev() {
                    assignment = map.iter().map(|&c| assignment[c as usize]).collect();
                }
                break;
            }
        }
        let candidate = Solution::evaluate(problem, assignment);
        if candidate.energy < best.energy {
            best = candidate.clone();
        }
        if !pool.iter().any(|s| s.assignment == candidate.assignment) {
            let at = pool.partition_point(|s| s.energy <= candidate.energy);
            if at < pool_size {
                pool.insert(at, candidate);
                pool.truncate(pool_size);
            }
        }
        seeded = true;
    }
    // Iterated local search on single tasks from the best assignment, up to the repacking.
    let ils_end = config.steps.saturating_sub(repack_steps);
    if !search.stopped && search.done < ils_end {
        let steps = ils_end - search.done;
        let walker = Walker::new(problem, &fine, best.assignment.clone());
        let mut refiner = Refiner::new(walker, scale);
        refiner.iterate(&mut search, steps, config.kick, stop);
        let candidate = Solution::evaluate(problem, refiner.into_assignment());
        if candidate.energy < best.energy {
            best = candidate;
        }
    }
    if !search.stopped && search.done < config.steps {
        best = repack(problem, &fine, best, &mut search, config, scale, stop);
    }
    AnnealOutcome {
        best,
        steps: search.done,
        trace: search.trace,
        t0: first_t.unwrap_or(0.0),
        t_end: scale * config.t_end,
    }
}

/// Rounds the repacking budget is split over at first (components are taken anew each
/// round; a round that ends early leaves its steps to more rounds).
const REPACK_ROUNDS: u64 = 2;
/// Share of a repacking round spent annealing the components (the rest refines).
const REPACK_ANNEAL: f64 = 0.5;
/// Start temperature of that annealing, in units of the scale: low, to keep the groups'
/// packing close to the best one.
const T_REPACK: f64 = 0.3;
/// Pair repartitions of components take pairs of at most this many (few components share
/// a node, so exact splits stay cheap).
const REPACK_ITEMS: u32 = 10;

/// Component repacking for the rest of the budget: the tasks linked on a node in the best
/// assignment form one item each (their links stay joined), and those items are packed
/// again — annealed at a low temperature, refined greedily with exact pair repartitions —
/// then the single tasks are refined. Late in a run much of the energy left is a packing
/// error of whole groups, which single-task moves cannot undo without cutting them.
fn repack(
    problem: &Problem,
    fine: &Level,
    mut best: Solution,
    search: &mut Search,
    config: &AnnealConfig,
    scale: f64,
    stop: &mut dyn FnMut(u64) -> bool,
) -> Solution {
    let mut round = 0;
    while !search.stopped && search.done < config.steps {
        let before = search.done;
        let round_steps = (config.steps - search.done) / REPACK_ROUNDS.saturating_sub(round).max(1);
        round += 1;
        let end = search.done + round_steps;
        let (map, m) = fine.components(&best.assignment);
        let level = fine.contract(&map, m);
        let mut top = vec![0u32; m];
        for (v, &c) in map.iter().enumerate() {
            top[c as usize] = best.assignment[v];
        }
        let mut walker = Walker::new(problem, &level, top);
        let walk_steps = (round_steps as f64 * REPACK_ANNEAL) as u64;
        walker.walk(search, walk_steps, scale * T_REPACK, scale * config.t_end, config, stop);
        let mut refiner = Refiner::new(Walker::new(problem, &level, walker.into_best()), scale);
        refiner.push_all(&mut search.rng);
        refiner.descend(search, end, true, stop);
        while refiner.repartition_pairs(search, end, REPACK_ITEMS, stop) {
            refiner.descend(search, end, true, stop);
        }
        let top = refiner.into_assignment();
        let assignment: Vec<u32> = map.iter().map(|&c| top[c as usize]).collect();
        let mut refiner = Refiner::new(Walker::new(problem, fine, assignment), scale);
        refiner.push_all(&mut search.rng);
        refiner.descend(search, end, true, stop);
        while config.pair_items > 0 && refiner.repartition_pairs(search, end, config.pair_items, stop) {
            refiner.descend(search, end, true, stop);
        }
        let candidate = Solution::evaluate(problem, refiner.into_assignment());
        if candidate.energy < best.energy {
            best = candidate;
        }
        if search.done == before {
            break;
        }
    }
    best
}

/// The temperature unit: what a typical move costs on this instance.
fn scale(problem: &Problem) -> f64 {
    let w = problem.weights();
    let links = problem.links();
    if !links.is_empty() && w.communication > 0.0 {
        let sum: f64 = links.iter().map(|l| l.weight).sum();
        let s = w.communication * sum / links.len() as f64;
        if s > 0.0 && s.is_finite() {
            return s;
        }
    }
    let n = problem.task_count().max(1) as f64;
    let mean_cpu = problem.total_cpu() / n;
    let mean_mem = problem.total_mem() / n;
    let s = 2.0 * w.imbalance * mean_cpu * mean_cpu;
    if s > 0.0 && s.is_finite() {
        return s;
    }
    let s = w.overload * (mean_cpu * mean_cpu + mean_mem * mean_mem);
    if s > 0.0 && s.is_finite() { s } else { 1.0 }
}

/// Items of one level: merged tasks with summed demands and the links between them.
pub(super) struct Level {
    pub(super) demand: Vec<[f64; 2]>,
    pub(super) start: Vec<u32>,
    pub(super) adjacency: Vec<(u32, f64)>,
}

impl Level {
    pub(super) fn from_problem(problem: &Problem) -> Level {
        let t = problem.task_count();
        let mut start = Vec::with_capacity(t as usize + 1);
        start.push(0);
        let mut adjacency = Vec::new();
        for i in 0..t {
            adjacency.extend_from_slice(problem.neighbours(i));
            start.push(adjacency.len() as u32);
        }
        Level { demand: (0..t).map(|i| problem.demand(i)).collect(), start, adjacency }
    }

    pub(super) fn len(&self) -> usize {
        self.demand.len()
    }

    #[inline]
    pub(super) fn neighbours(&self, i: usize) -> &[(u32, f64)] {
        &self.adjacency[self.start[i] as usize..self.start[i + 1] as usize]
    }

    /// Heavy-edge matching: visit items in random order, merge each unmatched one with its
    /// unmatched neighbour of heaviest link (same node in `part`, if given, and joint
    /// demand within `limit`). Returns the coarser level and the map item → coarse item.
    fn coarsen(&self, part: Option<&[u32]>, limit: [f64; 2], rng: &mut Wyrand) -> (Level, Vec<u32>) {
        let n = self.len();
        let mut order: Vec<u32> = (0..n as u32).collect();
        for i in (1..n).rev() {
            order.swap(i, rng.below(i as u64 + 1) as usize);
        }
        const FREE: u32 = u32::MAX;
        let mut map = vec![FREE; n];
        let mut next = 0u32;
        for &v in &order {
            let v = v as usize;
            if map[v] != FREE {
                continue;
            }
            let dv = self.demand[v];
            let mut mate: Option<(usize, f64)> = None;
            for &(u, w) in self.neighbours(v) {
                let u = u as usize;
                let du = self.demand[u];
                let fits = dv[0] + du[0] <= limit[0] && dv[1] + du[1] <= limit[1];
                let same = part.is_none_or(|p| p[u] == p[v]);
                if u != v && map[u] == FREE && fits && same && mate.is_none_or(|(_, mw)| w > mw) {
                    mate = Some((u, w));
                }
            }
            map[v] = next;
            if let Some((u, _)) = mate {
                map[u] = next;
            }
            next += 1;
        }
        (self.contract(&map, next as usize), map)
    }

    /// The level whose item `c` merges the items `v` with `map[v] = c` (`m` of them).
    pub(super) fn contract(&self, map: &[u32], m: usize) -> Level {
        let n = self.len();
        let mut demand = vec![[0.0; 2]; m];
        // Members of each coarse item, bucketed by a counting sort.
        let mut first = vec![0u32; m + 1];
        for (&c, d) in map.iter().zip(&self.demand) {
            let c = c as usize;
            demand[c][0] += d[0];
            demand[c][1] += d[1];
            first[c + 1] += 1;
        }
        for c in 0..m {
            first[c + 1] += first[c];
        }
        let mut fill = first.clone();
        let mut members = vec![0u32; n];
        for (v, &c) in map.iter().enumerate() {
            members[fill[c as usize] as usize] = v as u32;
            fill[c as usize] += 1;
        }
        let mut weight = vec![0.0f64; m];
        let mut touched: Vec<u32> = Vec::new();
        let mut start = Vec::with_capacity(m + 1);
        start.push(0);
        let mut adjacency = Vec::new();
        for c in 0..m {
            for &v in &members[first[c] as usize..first[c + 1] as usize] {
                for &(u, w) in self.neighbours(v as usize) {
                    let cu = map[u as usize];
                    if cu as usize == c {
                        continue;
                    }
                    if !touched.contains(&cu) {
                        touched.push(cu);
                    }
                    weight[cu as usize] += w;
                }
            }
            for &cu in &touched {
                adjacency.push((cu, weight[cu as usize]));
                weight[cu as usize] = 0.0;
            }
            touched.clear();
            start.push(adjacency.len() as u32);
        }
        Level { demand, start, adjacency }
    }

    /// Connected components of the links whose items share a node in `assignment`: the
    /// groups that already communicate locally. Returns the map item → component and
    /// their count.
    pub(super) fn components(&self, assignment: &[u32]) -> (Vec<u32>, usize) {
        const FREE: u32 = u32::MAX;
        let mut map = vec![FREE; self.len()];
        let mut stack = Vec::new();
        let mut next = 0u32;
        for s in 0..self.len() {
            if map[s] != FREE {
                continue;
            }
            map[s] = next;
            stack.push(s as u32);
            while let Some(v) = stack.pop() {
                for &(u, _) in self.neighbours(v as usize) {
                    if map[u as usize] == FREE && assignment[u as usize] == assignment[s] {
                        map[u as usize] = next;
                        stack.push(u);
                    }
                }
            }
            next += 1;
        }
        (map, next as usize)
    }
}

/// Levels with at most this many items are not coarsened further (on tiny instances
/// plain annealing on the tasks explores enough).
pub const MIN_COARSE: usize = 16;

/// Levels from fine (index 0) to coarse, the maps between consecutive levels, and `part`
/// carried to the coarsest level when given.
pub(super) fn hierarchy(
    problem: &Problem,
    fine: &Level,
    part: Option<(&[u32], &[u32])>,
    merge_limit: f64,
    rng: &mut Wyrand,
) -> (Vec<Level>, Vec<Vec<u32>>, Option<Vec<u32>>) {
    let nodes = problem.node_count() as usize;
    let mean = [problem.total_cpu() / nodes as f64, problem.total_mem() / nodes as f64];
    let limit = [mean[0] * merge_limit, mean[1] * merge_limit];
    let mut levels = vec![Level {
        demand: fine.demand.clone(),
        start: fine.start.clone(),
        adjacency: fine.adjacency.clone(),
    }];
    let mut maps: Vec<Vec<u32>> = Vec::new();
    let mut part = part.map(|(p, l)| (p.to_vec(), l.to_vec()));
    loop {
        let level = &levels[levels.len() - 1];
        if level.len() <= (2 * nodes).max(MIN_COARSE) {
            break;
        }
        let (coarse, map) = level.coarsen(part.as_ref().map(|(_, l)| l.as_slice()), limit, rng);
        // Stop when matching no longer shrinks the level by a tenth.
        if coarse.len() * 10 > level.len() * 9 {
            break;
        }
        if let Some((p, l)) = &part {
            let (mut coarse_part, mut coarse_labels) = (vec![0u32; coarse.len()], vec![0u32; coarse.len()]);
            for (v, &c) in map.iter().enumerate() {
                coarse_part[c as usize] = p[v];
                coarse_labels[c as usize] = l[v];
            }
            part = Some((coarse_part, coarse_labels));
        }
        levels.push(coarse);
        maps.push(map);
    }
    (levels, maps, part.map(|(p, _)| p))
}

/// Wang Yi's wyrand: one multiply per draw, 64 bits of state, portable integer arithmetic.
pub(super) struct Wyrand(pub(super) u64);

impl Wyrand {
    #[inline]
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0xa076_1d64_78bd_642f);
        let t = u128::from(self.0).wrapping_mul(u128::from(self.0 ^ 0xe703_7ed1_a0b4_28db));
        ((t >> 64) as u64) ^ (t as u64)
    }

    /// Uniform in `0..n` for `n < 2³²` (multiply-shift).
    #[inline]
    pub(super) fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() >> 32) * n) >> 32
    }

    /// Uniform in [0, 1) with 53 bits.
    #[inline]
    pub(super) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// The shared state of one run: the random stream, steps done, the trace, the stop flag.
pub(super) struct Search {
    pub(super) rng: Wyrand,
    pub(super) done: u64,
    pub(super) trace: Vec<(u64, f64)>,
    pub(super) trace_points: usize,
    pub(super) trace_every: u64,
    pub(super) next_trace: u64,
    pub(super) stopped: bool,
}

#[cfg(test)]
impl Search {
    /// A search seeded with `seed` that records no curve (the tests' searches).
    pub(super) fn untraced(seed: u64) -> Search {
        Search {
            rng: Wyrand(seed),
            done: 0,
            trace: Vec::new(),
            trace_points: 0,
            trace_every: 1,
            next_trace: 0,
            stopped: false,
        }
    }
}

/// An assignment of one level's items with loads and the link table.
pub(super) struct Walker<'a> {
    pub(super) level: &'a Level,
    pub(super) capacity: Vec<[f64; 2]>,
    pub(super) nodes: usize,
    pub(super) weights: [f64; 3],
    pub(super) assignment: Vec<u32>,
    pub(super) cpu: Vec<f64>,
    pub(super) mem: Vec<f64>,
    /// `conn[i·nodes + q]`: link weight between item `i` and the items on node `q`; empty
    /// when items × nodes exceeds [`TABLE_LIMIT`] (then deltas scan the item's links).
    pub(super) conn: Vec<f64>,
    pub(super) current: f64,
    pub(super) best_energy: f64,
    pub(super) best: Vec<u32>,
}

impl<'a> Walker<'a> {
    pub(super) fn new(problem: &Problem, level: &'a Level, assignment: Vec<u32>) -> Walker<'a> {
        let nodes = problem.node_count() as usize;
        let w = problem.weights();
        let (mut cpu, mut mem) = (vec![0.0; nodes], vec![0.0; nodes]);
        let table = level.len().saturating_mul(nodes) <= TABLE_LIMIT;
        let mut conn = if table { vec![0.0; level.len() * nodes] } else { Vec::new() };
        let mut cut = 0.0;
        for (i, &q) in assignment.iter().enumerate() {
            cpu[q as usize] += level.demand[i][0];
            mem[q as usize] += level.demand[i][1];
            for &(u, weight) in level.neighbours(i) {
                if table {
                    conn[u as usize * nodes + q as usize] += weight;
                }
                if assignment[u as usize] != q {
                    cut += weight;
                }
            }
        }
        let capacity: Vec<[f64; 2]> = (0..nodes as u32).map(|q| problem.capacity(q)).collect();
        let mean = problem.mean_cpu_load();
        let mut overload = 0.0;
        let mut imbalance = 0.0;
        for q in 0..nodes {
            overload += hinge(cpu[q], capacity[q][0]) + hinge(mem[q], capacity[q][1]);
            imbalance += (cpu[q] - mean) * (cpu[q] - mean);
        }
        // Each link appears in both its items' lists.
        let current = w.overload * overload + w.communication * cut / 2.0 + w.imbalance * imbalance;
        Walker {
            level,
            capacity,
            nodes,
            weights: [w.overload, w.communication, w.imbalance],
            best: assignment.clone(),
            assignment,
            cpu,
            mem,
            conn,
            current,
            best_energy: current,
        }
    }

    /// Weighted overload and imbalance change when node `p` changes by (dc, dm) and `q`
    /// by (−dc, −dm). The pricing functions are forced inline: as calls from the refiner's
    /// loops they took about a tenth of a run.
    #[inline(always)]
    fn load_delta(&self, p: usize, q: usize, dc: f64, dm: f64) -> f64 {
        let (overload, imbalance) = load_change(
            self.capacity[p],
            self.capacity[q],
            [self.cpu[p], self.mem[p]],
            [self.cpu[q], self.mem[q]],
            dc,
            dm,
        );
        self.weights[0] * overload + self.weights[2] * imbalance
    }

    /// Link weight from item `i` to node `p` minus that to node `q`.
    #[inline(always)]
    fn link_gain(&self, i: usize, p: usize, q: usize) -> f64 {
        if self.conn.is_empty() {
            let mut g = 0.0;
            for &(u, w) in self.level.neighbours(i) {
                let at = self.assignment[u as usize] as usize;
                if at == p {
                    g += w;
                } else if at == q {
                    g -= w;
                }
            }
            g
        } else {
            let row = &self.conn[i * self.nodes..(i + 1) * self.nodes];
            row[p] - row[q]
        }
    }

    /// Energy change of moving item `i` to node `q ≠` its node.
    #[inline(always)]
    pub(super) fn delta_move(&self, i: usize, q: usize) -> f64 {
        let p = self.assignment[i] as usize;
        let [c, m] = self.level.demand[i];
        self.load_delta(q, p, c, m) + self.weights[1] * self.link_gain(i, p, q)
    }

    #[inline]
    pub(super) fn apply_move(&mut self, i: usize, q: usize) {
        let p = self.assignment[i] as usize;
        let [c, m] = self.level.demand[i];
        self.cpu[p] -= c;
        self.mem[p] -= m;
        self.cpu[q] += c;
        self.mem[q] += m;
        self.assignment[i] = q as u32;
        if !self.conn.is_empty() {
            for &(u, w) in self.level.neighbours(i) {
                let row = u as usize * self.nodes;
                self.conn[row + p] -= w;
                self.conn[row + q] += w;
            }
        }
    }

    /// Energy change of exchanging the nodes of items `i` and `j` (on different nodes).
    #[inline(always)]
    pub(super) fn delta_swap(&self, i: usize, j: usize) -> f64 {
        let (p, q) = (self.assignment[i] as usize, self.assignment[j] as usize);
        let (a, b) = (self.level.demand[i], self.level.demand[j]);
        let mut cut = self.link_gain(i, p, q) + self.link_gain(j, q, p);
        // A link between i and j stays cut; the table counted it as joined twice.
        for &(u, w) in self.level.neighbours(i) {
            if u as usize == j {
                cut += 2.0 * w;
            }
        }
        self.load_delta(p, q, b[0] - a[0], b[1] - a[1]) + self.weights[1] * cut
    }

    /// A lower bound of [`Walker::delta_swap`]: without the correction for a link between
    /// the two items, which only adds.
    #[inline(always)]
    pub(super) fn delta_swap_bound(&self, i: usize, j: usize) -> f64 {
        let (p, q) = (self.assignment[i] as usize, self.assignment[j] as usize);
        let (a, b) = (self.level.demand[i], self.level.demand[j]);
        let cut = self.link_gain(i, p, q) + self.link_gain(j, q, p);
        self.load_delta(p, q, b[0] - a[0], b[1] - a[1]) + self.weights[1] * cut
    }

    /// Metropolis acceptance of an energy change `d`.
    #[inline]
    fn accept(rng: &mut Wyrand, d: f64, inv_t: f64) -> bool {
        if d <= 0.0 {
            return true;
        }
        let x = d * inv_t;
        // exp(−x) < 2^−53 ≤ the smallest nonzero unit() draw beyond x ≈ 36.7.
        x < 36.7 && rng.unit() < exp_neg(x)
    }

    /// Remember the current assignment as the best, when it is, before going uphill.
    #[inline]
    fn save_if_best(&mut self) {
        if self.current < self.best_energy {
            self.best_energy = self.current;
            self.best.copy_from_slice(&self.assignment);
        }
    }

    /// `steps` moves cooling geometrically from `t_from` to `t_to`, in blocks.
    fn walk(
        &mut self,
        search: &mut Search,
        steps: u64,
        t_from: f64,
        t_to: f64,
        config: &AnnealConfig,
        stop: &mut dyn FnMut(u64) -> bool,
    ) {
        let t_to = t_to.min(t_from);
        let alpha = libm::pow(t_to / t_from, 1.0 / (TEMPERATURE_LEVELS - 1) as f64);
        let mut temperature = t_from;
        for k in 0..TEMPERATURE_LEVELS {
            let mut left = steps / TEMPERATURE_LEVELS + u64::from(k < steps % TEMPERATURE_LEVELS);
            let inv_t = 1.0 / temperature;
            while left > 0 {
                if search.trace_points > 0
                    && search.done >= search.next_trace
                    && search.trace.len() < search.trace_points
                {
                    search.trace.push((search.done, self.current));
                    search.next_trace = search.done + search.trace_every;
                }
                let mut block = left.min(BLOCK);
                if search.trace_points > 0 {
                    block = block.min(search.next_trace.saturating_sub(search.done).max(1));
                }
                for _ in 0..block {
                    self.step(&mut search.rng, inv_t, config);
                }
                search.done += block;
                left -= block;
                if stop(search.done) {
                    search.stopped = true;
                    return;
                }
            }
            temperature *= alpha;
        }
    }

    #[inline]
    fn step(&mut self, rng: &mut Wyrand, inv_t: f64, config: &AnnealConfig) {
        let (items, nodes) = (self.level.len() as u64, self.nodes as u64);
        let r = rng.next_u64();
        let i = (((r >> 32) * items) >> 32) as usize;
        let p = self.assignment[i] as u64;
        if (r & 0xff) < config.swap_share as u64 {
            let j = (((rng.next_u64() >> 32) * items) >> 32) as usize;
            if self.assignment[j] as u64 == p {
                return;
            }
            let d = self.delta_swap(i, j);
            if Self::accept(rng, d, inv_t) {
                if d > 0.0 {
                    self.save_if_best();
                }
                let q = self.assignment[j] as usize;
                self.apply_move(i, q);
                self.apply_move(j, p as usize);
                self.current += d;
            }
            return;
        }
        let mut q = (((r >> 8) & 0xff_ffff) * (nodes - 1)) >> 24;
        if q >= p {
            q += 1;
        }
        // Sometimes aim at the node of a linked item instead (an asymmetric proposal, fine
        // for optimisation): uniform targets rarely help an item whose links point elsewhere.
        if ((r >> 56) & 0xf) < config.linked_share as u64 {
            let links = self.level.neighbours(i);
            if !links.is_empty() {
                let k = (((rng.next_u64() >> 32) * links.len() as u64) >> 32) as usize;
                let at = self.assignment[links[k].0 as usize] as u64;
                if at != p {
                    q = at;
                }
            }
        }
        let d = self.delta_move(i, q as usize);
        if Self::accept(rng, d, inv_t) {
            if d > 0.0 {
                self.save_if_best();
            }
            self.apply_move(i, q as usize);
            self.current += d;
        }
    }

    /// The best assignment seen on this level.
    fn into_best(mut self) -> Vec<u32> {
        self.save_if_best();
        self.best
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

/// The energy of a level's assignment, from scratch, through the fine problem (tests).
#[cfg(test)]
pub(crate) fn projected(problem: &Problem, maps: &[Vec<u32>], coarse: &[u32]) -> f64 {
    let mut a = coarse.to_vec();
    for map in maps.iter().rev() {
        a = map.iter().map(|&c| a[c as usize]).collect();
    }
    crate::sched::energy::energy(problem, &a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sched::random_problem;

    #[test]
    fn every_level_prices_its_assignments_like_the_fine_problem() {
        for seed in 0..20u64 {
            let p = random_problem(60, 6, seed);
            let mut rng = DetRng::seed_from_u64(seed);
            let fine = Level::from_problem(&p);
            let (levels, maps, _) = hierarchy(&p, &fine, None, 1.0, &mut Wyrand(seed));
            assert!(levels.len() >= 2, "seed {seed}: nothing coarsened");
            for (d, level) in levels.iter().enumerate() {
                let a: Vec<u32> = (0..level.len()).map(|_| rng.below(6) as u32).collect();
                let mut w = Walker::new(&p, level, a.clone());
                if seed % 2 == 1 {
                    // The scanning path that large instances take.
                    w.conn = Vec::new();
                }
                let e = projected(&p, &maps[..d], &a);
                assert!((w.current - e).abs() < 1e-9, "seed {seed} level {d}: {} vs {e}", w.current);
                // Random moves and swaps: running energy and link table stay exact.
                for _ in 0..200 {
                    let i = rng.below(level.len() as u64) as usize;
                    let q = rng.below(6) as usize;
                    if q == w.assignment[i] as usize {
                        continue;
                    }
                    if rng.chance(0.5) {
                        let d = w.delta_move(i, q);
                        w.apply_move(i, q);
                        w.current += d;
                    } else {
                        let j = rng.below(level.len() as u64) as usize;
                        if w.assignment[j] == w.assignment[i] {
                            continue;
                        }
                        let (pi, pj) = (w.assignment[i] as usize, w.assignment[j] as usize);
                        let d = w.delta_swap(i, j);
                        w.apply_move(i, pj);
                        w.apply_move(j, pi);
                        w.current += d;
                    }
                    let e = projected(&p, &maps[..d], &w.assignment);
                    assert!((w.current - e).abs() < 1e-6, "seed {seed} level {d}: {} vs {e}", w.current);
                }
            }
        }
    }

    /// Two nodes of cpu 10; groups a (3 tasks), b (2), c (2), d (3) of cpu 2, heavily linked
    /// inside, a light link a–b. Start: a, d on node 0 (12 cpu), b, c on node 1 (8).
    fn misplaced_groups() -> (Problem, Vec<u32>) {
        use crate::sched::problem::{LinkSpec, Node, ProblemSpec, Task, Weights};
        let groups = [3, 2, 2, 3];
        let task = |i: usize| Task { id: alloc::format!("t{i}"), cpu: 2.0, mem: 1.0 };
        let node = |i: usize| Node { id: alloc::format!("n{i}"), cpu: 10.0, mem: 10.0 };
        let link = |a: usize, b: usize, weight: f64| LinkSpec {
            a: alloc::format!("t{a}"),
            b: alloc::format!("t{b}"),
            weight,
        };
        let (mut links, mut first) = (Vec::new(), 0);
        for g in groups {
            for i in first..first + g {
                for j in i + 1..first + g {
                    links.push(link(i, j, 20.0));
                }
            }
            first += g;
        }
        links.push(link(0, 3, 1.0));
        let spec = ProblemSpec {
            tasks: (0..10).map(task).collect(),
            nodes: (0..2).map(node).collect(),
            links,
            weights: Weights { overload: 4.0, communication: 1.0, imbalance: 0.5 },
        };
        (Problem::new(spec).unwrap(), vec![0, 0, 0, 1, 1, 1, 1, 0, 0, 0])
    }

    #[test]
    fn components_are_the_groups_linked_on_one_node() {
        let (p, start) = misplaced_groups();
        let fine = Level::from_problem(&p);
        let (map, m) = fine.components(&start);
        assert_eq!(m, 4);
        assert_eq!(map, [0, 0, 0, 1, 1, 2, 2, 3, 3, 3]);
        let level = fine.contract(&map, m);
        assert_eq!(level.demand, [[6.0, 3.0], [4.0, 2.0], [4.0, 2.0], [6.0, 3.0]]);
        assert_eq!(level.neighbours(0), &[(1, 1.0)]);
        // Splitting a group over two nodes splits its component.
        let mut split = start.clone();
        split[2] = 1;
        assert_eq!(fine.components(&split).1, 5);
    }

    #[test]
    fn repacking_exchanges_whole_groups_that_single_tasks_cannot() {
        let (p, start) = misplaced_groups();
        let fine = Level::from_problem(&p);
        let scale = scale(&p);
        let begin = Solution::evaluate(&p, start.clone());
        assert_eq!(begin.energy, 4.0 * 4.0 + 0.5 * 8.0 + 1.0);
        // Single moves, swaps and pair repartitions of up to 7 tasks find nothing.
        let mut s = Search::untraced(1);
        let mut refiner = Refiner::new(Walker::new(&p, &fine, start), scale);
        refiner.push_all(&mut s.rng);
        refiner.descend(&mut s, u64::MAX, true, &mut |_| false);
        refiner.repartition_pairs(&mut s, u64::MAX, 7, &mut |_| false);
        assert_eq!(refiner.w.current, begin.energy);
        // Repacking the groups reaches the optimum {a, b} | {c, d}, and spends its budget.
        let mut config = AnnealConfig::for_problem(&p, 1);
        config.steps = 2_000;
        let mut s = Search::untraced(1);
        let out = repack(&p, &fine, begin, &mut s, &config, scale, &mut |_| false);
        assert_eq!(out.energy, 0.0);
        assert_eq!(out.assignment, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
        assert_eq!(s.done, config.steps);
    }

    #[test]
    fn recombination_merges_only_tasks_that_share_a_node_in_both_parents() {
        let p = random_problem(100, 16, 4);
        let fine = Level::from_problem(&p);
        // Two parents that place runs of consecutive tasks (mostly whole services) together,
        // in blocks of different lengths.
        let a: Vec<u32> = (0..100).map(|t| (t / 8) % 16).collect();
        let b: Vec<u32> = (0..100).map(|t| (t / 12) % 16).collect();
        let labels: Vec<u32> = a.iter().zip(&b).map(|(&x, &y)| x * 16 + y).collect();
        let (levels, maps, top) = hierarchy(&p, &fine, Some((&a, &labels)), 1.0, &mut Wyrand(5));
        assert!(levels.len() >= 2, "nothing coarsened");
        let mut item: Vec<u32> = (0..100).collect();
        for map in &maps {
            item = item.iter().map(|&i| map[i as usize]).collect();
        }
        for t in 0..100 {
            for u in 0..100 {
                if item[t] == item[u] {
                    assert_eq!(labels[t], labels[u], "tasks {t} and {u} merged across parents");
                }
            }
        }
        // The coarsest level starts from the first parent.
        let top = top.unwrap();
        assert_eq!(item.iter().map(|&i| top[i as usize]).collect::<Vec<_>>(), a);
    }

    #[test]
    fn coarsening_respects_the_partition_and_the_merge_limit() {
        let p = random_problem(100, 16, 3);
        let part: Vec<u32> = (0..100).map(|t| t % 16).collect();
        let fine = Level::from_problem(&p);
        let (levels, maps, top) = hierarchy(&p, &fine, Some((&part, &part)), 1.0, &mut Wyrand(9));
        let top = top.unwrap();
        // Projecting the coarse partition back gives the fine one.
        let mut a = top.clone();
        for map in maps.iter().rev() {
            a = map.iter().map(|&c| a[c as usize]).collect();
        }
        assert_eq!(a, part);
        let mean_cpu = p.total_cpu() / 16.0;
        for level in &levels[1..] {
            assert!(level.demand.iter().all(|d| d[0] <= mean_cpu + 1e-9));
        }
    }
}
