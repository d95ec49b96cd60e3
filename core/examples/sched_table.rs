//! Solver quality and speed on generated instances, as Markdown tables:
//!
//!     cargo run --release -p void-core --example sched_table
//!
//! Best-known energy: the exact optimum where the exact solver runs (8×3), otherwise the
//! lowest energy of long annealing runs (25× the default budget and at least 4 M steps, 4
//! seeds) and of the default-budget runs measured here (runs below it count as gap 0). Gap =
//! (energy − best) / best; "≤1 %" uses DESIGN.md's rule.

use std::time::Instant;

use void_core::sched::{AnnealConfig, Problem, anneal, exact, greedy, random_problem, within_one_percent};

const INSTANCES: u64 = 5;
const SEEDS: u64 = 10;

struct Stats {
    millis: Vec<f64>,
    gaps: Vec<f64>,
    hits: usize,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() { f64::NAN } else { v[v.len() / 2] }
}

fn best_known(problem: &Problem) -> f64 {
    if let Ok(out) = exact(problem) {
        return out.best.energy;
    }
    (0..4)
        .map(|seed| {
            let mut config = AnnealConfig::for_problem(problem, 1000 + seed);
            config.steps = (config.steps * 25).max(4_000_000);
            anneal(problem, &config).best.energy
        })
        .fold(f64::INFINITY, f64::min)
}

/// Run `solve` on every instance (and seed), timing each call.
fn measure(
    problems: &[(Problem, f64)],
    seeds: u64,
    mut solve: impl FnMut(&Problem, u64) -> Option<f64>,
) -> Option<Stats> {
    let mut runs = Vec::new();
    for (i, (problem, _)) in problems.iter().enumerate() {
        for seed in 0..seeds {
            let started = Instant::now();
            let energy = solve(problem, seed)?;
            runs.push((i, started.elapsed().as_secs_f64() * 1e3, energy));
        }
    }
    let mut stats = Stats { millis: Vec::new(), gaps: Vec::new(), hits: 0 };
    for (i, ms, energy) in runs {
        let best = problems[i].1.min(energy);
        stats.millis.push(ms);
        stats.gaps.push(if best > 0.0 { (energy - best) / best * 100.0 } else { 0.0 });
        stats.hits += usize::from(within_one_percent(energy, best));
    }
    Some(stats)
}

fn row(size: &str, solver: &str, stats: Option<Stats>) {
    match stats {
        Some(mut s) => {
            let n = s.millis.len();
            println!(
                "| {size} | {solver} | {:.3} | {:.2} % | {}/{n} |",
                median(&mut s.millis),
                median(&mut s.gaps),
                s.hits
            );
        }
        None => println!("| {size} | {solver} | — | — | — |"),
    }
}

fn main() {
    println!("| instance | solver | median ms | median gap | ≤1 % of best |");
    println!("|---|---|---|---|---|");
    let mut curve_problems = Vec::new();
    for (tasks, nodes) in [(8u32, 3u32), (40, 8), (100, 16), (400, 32)] {
        let mut problems: Vec<(Problem, f64)> = (1..=INSTANCES)
            .map(|seed| {
                let p = random_problem(tasks, nodes, seed);
                let best = best_known(&p);
                (p, best)
            })
            .collect();
        let size = format!("{tasks}×{nodes}");
        // Lower best-known values with the runs themselves before computing gaps.
        for (p, best) in problems.iter_mut() {
            for seed in 0..SEEDS {
                *best = best.min(anneal(p, &AnnealConfig::for_problem(p, seed)).best.energy);
            }
        }
        let steps = AnnealConfig::for_problem(&problems[0].0, 0).steps;
        row(
            &size,
            &format!("anneal ({steps} steps)"),
            measure(&problems, SEEDS, |p, seed| {
                Some(anneal(p, &AnnealConfig::for_problem(p, seed)).best.energy)
            }),
        );
        row(&size, "greedy", measure(&problems, 1, |p, _| Some(greedy(p).energy)));
        row(&size, "exact", measure(&problems, 1, |p, _| exact(p).ok().map(|o| o.best.energy)));
        if tasks == 100 {
            curve_problems = problems;
        }
    }

    println!();
    println!("Energy versus budget, 100×16 ({INSTANCES} instances × {SEEDS} seeds):");
    println!();
    println!("| steps | median ms | median gap | ≤1 % of best |");
    println!("|---|---|---|---|");
    for steps in [5_000u64, 10_000, 20_000, 40_000, 80_000, 160_000, 640_000, 2_560_000] {
        let stats = measure(&curve_problems, SEEDS, |p, seed| {
            let mut config = AnnealConfig::for_problem(p, seed);
            config.steps = steps;
            Some(anneal(p, &config).best.energy)
        });
        if let Some(mut s) = stats {
            let n = s.millis.len();
            println!(
                "| {steps} | {:.3} | {:.2} % | {}/{n} |",
                median(&mut s.millis),
                median(&mut s.gaps),
                s.hits
            );
        }
    }
}
