//! `void schedule`: place tasks on nodes by minimising the Ising-style energy of
//! `void_core::sched` with the annealer, the greedy baseline or the exact solver.
//!
//! Without `--time-ms` the annealer runs a step budget fixed by the problem size, so a seed
//! fixes the answer. With `--time-ms T` a short timed probe measures this machine's speed
//! and turns the rest of `T` into a step budget (reported as `steps`); a deadline at `T`
//! ends the run early only if the machine slows down meanwhile (`stopped_early`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use serde_json::{Map, Value, json};
use void_core::sched::{AnnealConfig, IsingModel, Problem, Solution, anneal, anneal_with, exact, greedy};

use super::{CliResult, Failure, bad, print_json, read_user_file};

const INPUT_MAX: u64 = 64 * 1024 * 1024;
const TIME_MAX_MS: u64 = 600_000;
const TRACE_POINTS: u32 = 500;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Solver {
    /// Multilevel simulated annealing with greedy refinement, exact repartitions of small
    /// node pairs, iterated local search and component repacking (seeded, deterministic
    /// for a step budget).
    Anneal,
    /// First-fit decreasing with communication affinity.
    Greedy,
    /// Branch and bound, optimal; at most 12 tasks and 4 nodes.
    Exact,
}

#[derive(Args, Debug)]
pub struct ScheduleArgs {
    /// The problem JSON: tasks, nodes, links and weights (README, "Scheduling and causal inference").
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    #[arg(long, value_enum, default_value_t = Solver::Anneal)]
    solver: Solver,
    /// Seed of the annealer.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,
    /// Wall-clock budget of the annealer in milliseconds (turned into a step budget).
    #[arg(long, value_name = "T")]
    time_ms: Option<u64>,
    /// Add the annealer's energy-versus-step curve (at most 500 points) to the result.
    #[arg(long)]
    trace: bool,
    /// Write the problem's Ising model (h, J, offset) as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    export_ising: Option<PathBuf>,
    /// Print the result as one JSON object on the last line of stdout.
    #[arg(long)]
    json: bool,
}

/// What the chosen solver produced, besides the solution.
struct Run {
    best: Solution,
    steps: Option<u64>,
    stopped_early: bool,
    trace: Option<Vec<(u64, f64)>>,
    visited: Option<u64>,
}

pub fn run(args: ScheduleArgs) -> CliResult {
    let text = read_user_file(&args.input, "problem file", INPUT_MAX)?;
    let problem = Problem::from_json(&text).map_err(|e| bad(format!("{}: {e}", args.input.display())))?;
    let has_weights =
        serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|v| v.get("weights").is_some());
    if !has_weights {
        eprintln!(
            "note: the problem gives no \"weights\"; overload, communication and imbalance weigh 1 each"
        );
    }
    if args.time_ms.is_some() && args.solver != Solver::Anneal {
        eprintln!("note: --time-ms budgets the annealer; greedy and exact run to their end");
    }
    if args.trace && args.solver != Solver::Anneal {
        return Err(bad("--trace records the annealer's curve; use it with --solver anneal"));
    }
    if let Some(t) = args.time_ms
        && !(1..=TIME_MAX_MS).contains(&t)
    {
        return Err(bad(format!("--time-ms {t}: give a budget from 1 to {TIME_MAX_MS} milliseconds")));
    }
    if let Some(path) = &args.export_ising {
        let model = IsingModel::from_problem(&problem).map_err(|e| bad(format!("--export-ising: {e}")))?;
        let body = serde_json::to_string(&model).map_err(|e| Failure::Other(e.into()))?;
        std::fs::write(path, body + "\n")
            .map_err(|e| bad(format!("--export-ising: cannot write {}: {e}", path.display())))?;
        eprintln!("Ising model: {} spins, {} couplings -> {}", model.h.len(), model.j.len(), path.display());
    }

    let started = Instant::now();
    let run = match args.solver {
        Solver::Greedy => {
            Run { best: greedy(&problem), steps: None, stopped_early: false, trace: None, visited: None }
        }
        Solver::Exact => {
            let out = exact(&problem).map_err(|e| bad(e.to_string()))?;
            Run { best: out.best, steps: None, stopped_early: false, trace: None, visited: Some(out.visited) }
        }
        Solver::Anneal => run_anneal(&problem, &args, started),
    };
    let millis = started.elapsed().as_secs_f64() * 1e3;
    report(&problem, &args, &run, millis);
    Ok(ExitCode::SUCCESS)
}

fn run_anneal(problem: &Problem, args: &ScheduleArgs, started: Instant) -> Run {
    let mut config = AnnealConfig::for_problem(problem, args.seed);
    if args.trace {
        config.trace_points = TRACE_POINTS;
    }
    let Some(budget_ms) = args.time_ms else {
        let out = anneal(problem, &config);
        return Run {
            best: out.best,
            steps: Some(out.steps),
            stopped_early: false,
            trace: Some(out.trace),
            visited: None,
        };
    };
    // Probe the speed with a short run (at most a tenth of the budget), then spend the rest.
    let budget = Duration::from_millis(budget_ms);
    let mut probe = config.clone();
    probe.steps = 4096;
    probe.trace_points = 0;
    let probe_started = Instant::now();
    let _ = anneal_with(problem, &probe, &mut |_| probe_started.elapsed() > budget / 10);
    let per_step = probe_started.elapsed().as_secs_f64() / probe.steps as f64;
    // Keep 15 % for greedy, calibration and the final evaluation, which the probe also paid.
    let left = budget.saturating_sub(started.elapsed()).as_secs_f64() * 0.85;
    config.steps = ((left / per_step.max(1e-9)) as u64).max(1);
    let deadline = started + budget;
    let mut stopped_early = false;
    let out = anneal_with(problem, &config, &mut |_| {
        stopped_early = Instant::now() >= deadline;
        stopped_early
    });
    Run { best: out.best, steps: Some(out.steps), stopped_early, trace: Some(out.trace), visited: None }
}

fn report(problem: &Problem, args: &ScheduleArgs, run: &Run, millis: f64) {
    let tasks = problem.tasks();
    let nodes = problem.nodes();
    let best = &run.best;
    let solver = match args.solver {
        Solver::Anneal => "anneal",
        Solver::Greedy => "greedy",
        Solver::Exact => "exact",
    };
    eprintln!(
        "{solver}: energy {:.6} (overload {:.6}, communication {:.6}, imbalance {:.6}) in {millis:.3} ms",
        best.energy, best.terms.overload, best.terms.communication, best.terms.imbalance
    );
    if let Some(steps) = run.steps {
        eprintln!(
            "  {steps} steps, seed {}{}",
            args.seed,
            if run.stopped_early { ", stopped at the deadline" } else { "" }
        );
    }
    let placed =
        || tasks.iter().zip(&best.assignment).map(|(t, &n)| (t.id.as_str(), nodes[n as usize].id.as_str()));
    if !args.json {
        for (task, node) in placed() {
            outln!("{task}\t{node}");
        }
        return;
    }
    let assignment: Map<String, Value> = placed().map(|(t, n)| (t.to_string(), Value::from(n))).collect();
    let mut out = json!({
        "assignment": assignment,
        "energy": best.energy,
        "terms": {
            "overload": best.terms.overload,
            "communication": best.terms.communication,
            "imbalance": best.terms.imbalance,
        },
        "millis": millis,
        "solver": solver,
    });
    if args.solver == Solver::Anneal {
        out["seed"] = json!(args.seed);
        out["steps"] = json!(run.steps);
        out["stopped_early"] = json!(run.stopped_early);
    }
    if let Some(visited) = run.visited {
        out["visited"] = json!(visited);
    }
    if args.trace
        && let Some(trace) = &run.trace
    {
        out["trace"] = Value::Array(trace.iter().map(|&(step, e)| json!([step, e])).collect());
    }
    print_json(&out);
}
