//! `void bench`: measure the simulator (and, with the native node, a real cluster).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Subcommand};
use serde_json::json;
use void_core::sim;

use super::{CliResult, bad, print_json};

mod cluster_bench;
mod net_bench;
pub use cluster_bench::BenchClusterArgs;
pub use net_bench::BenchNetArgs;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Simulated deliveries per second for a scenario, beside a bare event-queue baseline.
    Sim(BenchSimArgs),
    /// Authenticated replica-link throughput between two processes, beside plain TCP frames.
    Net(BenchNetArgs),
    /// Closed-loop clients against a local cluster of node processes, beside a TCP echo.
    Cluster(BenchClusterArgs),
    /// The echo process of `bench cluster`'s baseline.
    #[command(hide = true)]
    EchoServe,
    /// The receiving process of `bench net` (started by it; reads its setup from stdin).
    #[command(hide = true)]
    NetServe,
}

#[derive(Args, Debug)]
pub struct BenchSimArgs {
    /// A built-in scenario name or a scenario .json file.
    pub scenario: String,
    /// Override the scenario's node count.
    #[arg(long)]
    pub nodes: Option<u32>,
    /// Set a scenario field or protocol parameter, as `void sim --param` does (repeatable).
    #[arg(long = "param", value_name = "K=V")]
    pub params: Vec<String>,
    /// Seed of the measured run.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Repeat until this much wall time has been measured (milliseconds, 1 to 3600000).
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub min_ms: u64,
    /// Also run this many independent runs at once (one per thread, seeds apart) and
    /// report their total rate beside the single-thread one; 0 = one per core, 1 = skip
    /// (at most 256).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=256))]
    pub threads: u16,
    /// Print one JSON object as the last line of stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: BenchCommand) -> CliResult {
    match cmd {
        BenchCommand::Sim(args) => bench_sim(args),
        BenchCommand::Net(args) => net_bench::run(args),
        BenchCommand::NetServe => net_bench::serve(),
        BenchCommand::Cluster(args) => cluster_bench::run(args),
        BenchCommand::EchoServe => cluster_bench::echo_serve(),
    }
}

/// Push and pop `n` timestamped entries through a binary heap: the floor under any
/// discrete-event simulator, measured in the same process for the ratio.
fn queue_baseline(n: u64) -> f64 {
    let start = Instant::now();
    let mut heap = BinaryHeap::with_capacity(1024);
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut now = 0u64;
    let mut popped = 0u64;
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        heap.push(Reverse((now + (x % 5000), i)));
        if heap.len() > 512
            && let Some(Reverse((t, _))) = heap.pop()
        {
            now = t;
            popped += 1;
        }
    }
    while heap.pop().is_some() {
        popped += 1;
    }
    std::hint::black_box(popped);
    n as f64 / start.elapsed().as_secs_f64()
}

/// Seconds, deliveries, events, runs and violations of a measurement.
type Measured = (f64, u64, u64, u64, usize);

/// Runs of one scenario until `min_ms` of wall time.
fn measure(
    loaded: &super::sim::Loaded,
    seed: u64,
    min_ms: u64,
    hashing: bool,
    record: bool,
) -> Result<Measured, super::Failure> {
    let (mut wall, mut delivered, mut events, mut runs, mut violations) = (0f64, 0u64, 0u64, 0u64, 0usize);
    while runs == 0 || wall * 1000.0 < min_ms as f64 {
        let mut run = sim::build(&loaded.scenario, seed + runs, record).map_err(|e| bad(e.to_string()))?;
        run.set_trace_hashing(hashing);
        let start = Instant::now();
        run.run_to_end();
        wall += start.elapsed().as_secs_f64();
        let o = run.outcome();
        delivered += o.messages_delivered;
        events += o.events;
        violations += o.violations.len();
        runs += 1;
    }
    Ok((wall, delivered, events, runs, violations))
}

/// `threads` runners at once, each repeating runs for `min_ms` with its own seeds:
/// total deliveries per second of wall time, and the slowest runner's wall time.
fn measure_parallel(
    loaded: &super::sim::Loaded,
    seed: u64,
    min_ms: u64,
    threads: usize,
) -> Result<(f64, u64), super::Failure> {
    let start = Instant::now();
    let results: Vec<Result<Measured, super::Failure>> = std::thread::scope(|scope| {
        let runners: Vec<_> = (0..threads)
            .map(|t| {
                // Seeds far apart, so no two runners repeat a run.
                let first = seed.wrapping_add((t as u64) << 32);
                scope.spawn(move || measure(loaded, first, min_ms, true, false))
            })
            .collect();
        runners
            .into_iter()
            .map(|r| r.join().unwrap_or_else(|_| Err(bad("a benchmark thread panicked"))))
            .collect()
    });
    let wall = start.elapsed().as_secs_f64();
    let mut delivered = 0;
    for r in results {
        delivered += r?.1;
    }
    Ok((delivered as f64 / wall, delivered))
}

fn bench_sim(args: BenchSimArgs) -> CliResult {
    let loaded = super::sim::load(&args.scenario, args.nodes, &args.params)?;
    sim::build(&loaded.scenario, args.seed, false).map_err(|e| bad(format!("{}: {e}", args.scenario)))?;
    let (wall, delivered, events, runs, violations) = measure(&loaded, args.seed, args.min_ms, true, false)?;
    let (wall_nh, delivered_nh, _, _, _) = measure(&loaded, args.seed, args.min_ms, false, false)?;
    // As the playground runs: every event kept for the views.
    let (wall_rec, _, events_rec, _, _) = measure(&loaded, args.seed, args.min_ms, true, true)?;
    let deliveries_per_sec = delivered as f64 / wall;
    let unhashed = delivered_nh as f64 / wall_nh;
    let threads = match args.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => usize::from(n),
    };
    let parallel =
        if threads > 1 { Some(measure_parallel(&loaded, args.seed, args.min_ms, threads)?) } else { None };
    let baseline = queue_baseline(delivered.clamp(100_000, 5_000_000));
    eprintln!(
        "{} ({} nodes): {runs} run(s), {delivered} deliveries, {events} events in {:.0} ms → {:.0} deliveries/s \
         ({:.0}/s without trace hashing; {:.0} events/s keeping every event as the playground does); \
         bare event queue {:.0} ops/s (ratio {:.3})",
        loaded.scenario.name,
        loaded.scenario.nodes,
        wall * 1000.0,
        deliveries_per_sec,
        unhashed,
        events_rec as f64 / wall_rec,
        baseline,
        deliveries_per_sec / baseline
    );
    if let Some((rate, _)) = parallel {
        eprintln!(
            "  one thread: {deliveries_per_sec:.0} deliveries/s; {threads} threads at once (independent runs): \
             {rate:.0} deliveries/s in total ({:.0}/s per thread)",
            rate / threads as f64
        );
    }
    if args.json {
        print_json(&json!({
            "scenario": loaded.scenario.name, "nodes": loaded.scenario.nodes, "runs": runs,
            "deliveries_per_sec": deliveries_per_sec, "deliveries_per_sec_without_trace_hash": unhashed,
            "events_per_sec": events as f64 / wall,
            "events_per_sec_recording": events_rec as f64 / wall_rec,
            "events": events, "messages_delivered": delivered, "wall_ms": wall * 1000.0,
            "baseline_queue_ops_per_sec": baseline, "ratio_to_baseline": deliveries_per_sec / baseline,
            "violations": violations,
            "all_threads": parallel.map(|(rate, delivered)| json!({
                "threads": threads, "deliveries_per_sec": rate, "messages_delivered": delivered,
            })),
        }));
    }
    Ok(ExitCode::SUCCESS)
}
