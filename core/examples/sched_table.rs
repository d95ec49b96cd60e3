//! Solver quality and speed on generated instances, as Markdown tables:
//!
//!     cargo run --release -p void-core --example sched_table
//!
//! "anneal" is the default pipeline (multilevel annealing whose finer levels are refined
//! greedily and by exact two-way repartitions of small node pairs, then iterated local
//! search, then component repacking); "no repacking" is the previous default
//! (`repack_share: 0, ils_share: 0.25, coarse_share: 1`, 40 instead of 48 steps per
//! task-node pair); "no pair repartition" is the default with `pair_items: 0`;
//! "recombining" keeps a pool of four cycle results and coarsens later cycles within two
//! of them (`pool: 4, cycles: 12`); "levels annealed" anneals every level and has no
//! local search. All run side by side in the same process.
//!
//! Best-known energy: the exact optimum where the exact solver runs (8×3), otherwise the
//! lowest energy of long runs (25× the default budget and at least 4 M steps, 4 seeds each
//! of the configurations, and of the first two with half the budget on iterated local
//! search) and of every run measured here (runs below it count as gap 0).
//! Gap = (energy − best) / best; "≤1 %" uses DESIGN.md's rule.

use std::time::Instant;

use void_core::sched::{AnnealConfig, Problem, anneal, exact, greedy, random_problem, within_one_percent};

const INSTANCES: u64 = 5;
/// Seeds per instance in the quality table: medians of 50 runs moved by a point or two from
/// one change of seeds to the next, 200 runs keep them within about half a point.
const SEEDS: u64 = 40;
/// Seeds per instance in the energy-versus-budget table (its long budgets are dear).
const CURVE_SEEDS: u64 = 10;
const BUDGETS: [u64; 9] = [5_000, 10_000, 20_000, 40_000, 64_000, 160_000, 640_000, 2_560_000, 10_240_000];

/// The annealing configurations compared.
#[derive(Clone, Copy, PartialEq)]
enum Pipeline {
    /// `AnnealConfig::for_problem` as it is.
    Refined,
    /// The previous default: no component repacking (its share on iterated local search),
    /// whole cycles' shares on their coarsest levels, 40 steps per task-node pair.
    NoRepack,
    /// The default without the exact pair repartitions.
    NoPairs,
    /// A pool of four cycle results, later cycles coarsened within two of them.
    Recombining,
    /// Every level annealed, no local search (the configuration before `sched::refine`).
    Annealed,
}

const PIPELINES: [Pipeline; 5] =
    [Pipeline::Refined, Pipeline::NoRepack, Pipeline::NoPairs, Pipeline::Recombining, Pipeline::Annealed];
/// Those measured against the budget on 100×16.
const CURVE: [Pipeline; 3] = [Pipeline::Refined, Pipeline::NoRepack, Pipeline::Recombining];

impl Pipeline {
    fn name(self) -> &'static str {
        match self {
            Pipeline::Refined => "anneal",
            Pipeline::NoRepack => "anneal, no repacking",
            Pipeline::NoPairs => "anneal, no pair repartition",
            Pipeline::Recombining => "anneal, recombining",
            Pipeline::Annealed => "anneal, levels annealed",
        }
    }

    fn config(self, problem: &Problem, seed: u64, steps: Option<u64>) -> AnnealConfig {
        let mut config = AnnealConfig::for_problem(problem, seed);
        match self {
            Pipeline::Refined => {}
            Pipeline::NoRepack => {
                config.repack_share = 0.0;
                config.ils_share = 0.25;
                config.coarse_share = 1.0;
                let size = problem.task_count() as u64 * problem.node_count() as u64;
                config.steps = (size * 40).clamp(20_000, 50_000_000);
            }
            Pipeline::NoPairs => config.pair_items = 0,
            Pipeline::Recombining => {
                config.pool = 4;
                config.cycles = 12;
            }
            Pipeline::Annealed => {
                config.level_refine = false;
                config.ils_share = 0.0;
                config.coarse_share = 0.4;
                config.pair_items = 0;
                config.repack_share = 0.0;
            }
        }
        if let Some(steps) = steps {
            config.steps = steps;
        }
        config
    }

    fn solve(self, problem: &Problem, seed: u64, steps: Option<u64>) -> f64 {
        anneal(problem, &self.config(problem, seed, steps)).best.energy
    }
}

struct Run {
    instance: usize,
    millis: f64,
    energy: f64,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() { f64::NAN } else { v[v.len() / 2] }
}

fn long_runs(problem: &Problem) -> f64 {
    if let Ok(out) = exact(problem) {
        return out.best.energy;
    }
    let mut best = f64::INFINITY;
    let steps = (AnnealConfig::for_problem(problem, 0).steps * 25).max(4_000_000);
    for seed in 0..4 {
        for pipeline in PIPELINES {
            best = best.min(pipeline.solve(problem, 1000 + seed, Some(steps)));
        }
        // Half the budget on iterated local search, which sometimes ends lower.
        for pipeline in [Pipeline::Refined, Pipeline::Annealed] {
            let mut config = pipeline.config(problem, 2000 + seed, Some(steps));
            config.ils_share = 0.5;
            best = best.min(anneal(problem, &config).best.energy);
        }
    }
    best
}

/// Run `solve` on every instance (and seed), timing each call; `None` if it cannot run.
fn measure(
    problems: &[Problem],
    seeds: u64,
    mut solve: impl FnMut(&Problem, u64) -> Option<f64>,
) -> Option<Vec<Run>> {
    let mut runs = Vec::new();
    for (instance, problem) in problems.iter().enumerate() {
        for seed in 0..seeds {
            let started = Instant::now();
            let energy = solve(problem, seed)?;
            runs.push(Run { instance, millis: started.elapsed().as_secs_f64() * 1e3, energy });
        }
    }
    Some(runs)
}

/// Median ms, median gap %, runs within 1 %, runs.
fn summary(runs: &[Run], best: &[f64]) -> (f64, f64, usize, usize) {
    let mut millis: Vec<f64> = runs.iter().map(|r| r.millis).collect();
    let mut gaps: Vec<f64> = runs
        .iter()
        .map(|r| {
            let b = best[r.instance];
            if b > 0.0 { (r.energy - b) / b * 100.0 } else { 0.0 }
        })
        .collect();
    let hits = runs.iter().filter(|r| within_one_percent(r.energy, best[r.instance])).count();
    (median(&mut millis), median(&mut gaps), hits, runs.len())
}

fn main() {
    let mut rows = Vec::new();
    let mut curve_rows = Vec::new();
    for (tasks, nodes) in [(8u32, 3u32), (40, 8), (100, 16), (400, 32)] {
        let problems: Vec<Problem> = (1..=INSTANCES).map(|seed| random_problem(tasks, nodes, seed)).collect();
        let mut best: Vec<f64> = problems.iter().map(long_runs).collect();
        let size = format!("{tasks}×{nodes}");
        let mut measured = Vec::new();
        for pipeline in PIPELINES {
            let steps = pipeline.config(&problems[0], 0, None).steps;
            let runs = measure(&problems, SEEDS, |p, seed| Some(pipeline.solve(p, seed, None)));
            measured.push((format!("{} ({steps} steps)", pipeline.name()), runs));
        }
        measured.push(("greedy".into(), measure(&problems, 1, |p, _| Some(greedy(p).energy))));
        measured.push(("exact".into(), measure(&problems, 1, |p, _| exact(p).ok().map(|o| o.best.energy))));
        let mut curve = Vec::new();
        if tasks == 100 {
            for steps in BUDGETS {
                let pair = CURVE.map(|pipeline| {
                    measure(&problems, CURVE_SEEDS, |p, seed| Some(pipeline.solve(p, seed, Some(steps))))
                });
                curve.push((steps, pair));
            }
        }
        // Lower best-known values with every measured run before computing gaps.
        let curve_runs = curve.iter().flat_map(|(_, pair)| pair.iter());
        for run in measured.iter().map(|(_, r)| r).chain(curve_runs).flatten().flatten() {
            best[run.instance] = best[run.instance].min(run.energy);
        }
        let shown: Vec<String> = best.iter().map(|b| format!("{b:.3}")).collect();
        eprintln!("{size} best-known: {}", shown.join(", "));
        for (solver, runs) in measured {
            rows.push((size.clone(), solver, runs.map(|r| summary(&r, &best))));
        }
        for (steps, pair) in curve {
            curve_rows.push((steps, pair.map(|r| r.map(|r| summary(&r, &best)))));
        }
    }
    println!("| instance | solver | median ms | median gap | ≤1 % of best |");
    println!("|---|---|---|---|---|");
    for (size, solver, s) in rows {
        match s {
            Some((ms, gap, hits, n)) => println!("| {size} | {solver} | {ms:.3} | {gap:.2} % | {hits}/{n} |"),
            None => println!("| {size} | {solver} | — | — | — |"),
        }
    }
    println!();
    let names: Vec<&str> = CURVE.iter().map(|p| p.name()).collect();
    println!(
        "Energy versus budget, 100×16 ({INSTANCES} instances × {CURVE_SEEDS} seeds): {}",
        names.join(" | ")
    );
    println!();
    println!("| steps |{}", " median ms | median gap | ≤1 % of best |".repeat(CURVE.len()));
    println!("|---|{}", "---|---|---|".repeat(CURVE.len()));
    for (steps, cells) in curve_rows {
        let cell = |s: &Option<(f64, f64, usize, usize)>| match s {
            Some((ms, gap, hits, n)) => format!("{ms:.3} | {gap:.2} % | {hits}/{n}"),
            None => "— | — | —".into(),
        };
        let cells: Vec<String> = cells.iter().map(cell).collect();
        println!("| {steps} | {} |", cells.join(" | "));
    }
}
