//! `void sim`: run a scenario deterministically, one seed or a range of seeds.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use clap::Args;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use void_core::sim::{self, Outcome, Scenario};

use super::{CliResult, Failure, bad, print_json, read_user_file};

#[derive(Args, Debug)]
pub struct SimArgs {
    /// A built-in scenario name (see --list) or a path to a scenario .json file.
    #[arg(required_unless_present = "list")]
    pub scenario: Option<String>,
    /// List the built-in scenarios, one per line: name, then a summary.
    #[arg(long, conflicts_with_all = ["scenario", "seed", "seeds", "nodes", "params", "dump_trace", "incidents"])]
    pub list: bool,
    /// The seed of a single run (default 1).
    // A negative seed reaches the parser, which names the range, instead of clap's "use -- -1".
    #[arg(long, conflicts_with = "seeds", allow_negative_numbers = true, value_parser = seed)]
    pub seed: Option<u64>,
    /// An inclusive range of seeds, `A..B`, run as one aggregate.
    #[arg(long, value_name = "A..B")]
    pub seeds: Option<String>,
    /// Override the scenario's node count (1 to 10000).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(sim::MAX_NODES)))]
    pub nodes: Option<u32>,
    /// Set a scenario field (`network.loss=0.1`) or protocol parameter (`reply=0.2`).
    #[arg(long = "param", value_name = "K=V")]
    pub params: Vec<String>,
    /// Write the trace of a single run as JSON lines, one event each.
    #[arg(long, value_name = "FILE")]
    pub dump_trace: Option<PathBuf>,
    /// Append one incident line per run, `{"failed": [...]}`, for `void causal learn`: the
    /// nodes that crashed or behaved Byzantine (`node-<i>`) and the invariants that fired
    /// (`invariant:<name>`).
    #[arg(long, value_name = "FILE")]
    pub incidents: Option<PathBuf>,
    /// Print one JSON object as the last line of stdout.
    #[arg(long)]
    pub json: bool,
}

/// One line of an incidents file: what failed in the run `o` (see `--incidents`).
fn incident_line(o: &Outcome, faulty: &[u32]) -> String {
    let mut failed: Vec<String> = faulty.iter().map(|&n| sim::incident_node(n)).collect();
    let mut fired: Vec<String> = o.violations.iter().map(|v| sim::incident_invariant(&v.invariant)).collect();
    fired.sort();
    fired.dedup();
    failed.extend(fired);
    json!({ "failed": failed }).to_string()
}

/// Opens the `--incidents` file for appending before any run, so a bad path fails fast.
fn open_incidents(args: &SimArgs) -> Result<Option<(std::fs::File, &std::path::Path)>, Failure> {
    let Some(path) = &args.incidents else { return Ok(None) };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| bad(format!("--incidents {}: {e}", path.display())))?;
    Ok(Some((file, path.as_path())))
}

fn write_incidents(
    file: Option<(std::fs::File, &std::path::Path)>,
    lines: impl Iterator<Item = String>,
) -> Result<(), Failure> {
    let Some((file, path)) = file else { return Ok(()) };
    let mut w = std::io::BufWriter::new(file);
    for line in lines {
        writeln!(w, "{line}").map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    }
    w.flush().map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    Ok(())
}

/// A scenario as the user named it, loaded and parsed.
pub struct Loaded {
    pub scenario: Scenario,
    /// How to name it again in a replay command.
    pub reference: String,
    pub params: Vec<(String, String)>,
}

pub fn parse_params(raw: &[String]) -> Result<Vec<(String, String)>, Failure> {
    raw.iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| bad(format!("--param {p:?}: expected KEY=VALUE")))
        })
        .collect()
}

/// A seed: a whole number from 0 to 2^64 − 1.
fn seed(raw: &str) -> Result<u64, String> {
    raw.trim().parse().map_err(|_| format!("a seed is a whole number from 0 to {}", u64::MAX))
}

/// Load a built-in scenario by name, or a scenario file by path, with overrides.
pub fn load(reference: &str, nodes: Option<u32>, raw_params: &[String]) -> Result<Loaded, Failure> {
    let params = parse_params(raw_params)?;
    let text = match sim::load_builtin(reference) {
        Some(json) => json.to_string(),
        None => {
            let path = Path::new(reference);
            if !path.exists() {
                // The built-ins it begins, else the closest name when it looks misspelt.
                let names = sim::builtin_names();
                let begun: Vec<&str> = names
                    .iter()
                    .copied()
                    .filter(|n| !reference.is_empty() && n.starts_with(reference))
                    .collect();
                let near = names
                    .iter()
                    .map(|n| (strsim::levenshtein(n, reference), *n))
                    .min()
                    .filter(|(d, n)| *d <= 3.max(n.len() / 4));
                let hint = match (begun.as_slice(), near) {
                    ([], Some((_, n))) => format!("; did you mean {n:?}?"),
                    ([], None) => String::new(),
                    (begun, _) => format!("; the built-ins that begin so: {}", begun.join(", ")),
                };
                return Err(bad(format!(
                    "unknown scenario {reference:?}: not a built-in (see `void sim --list`) and no such file{hint}"
                )));
            }
            read_user_file(path, "scenario file", sim::MAX_SCENARIO_BYTES as u64)?
        }
    };
    let scenario =
        Scenario::from_json_with(&text, nodes, &params).map_err(|e| bad(format!("{reference}: {e}")))?;
    Ok(Loaded { scenario, reference: reference.to_string(), params })
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@".contains(&b)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The one command that replays `seed` of this run.
pub fn replay_command(loaded: &Loaded, nodes: Option<u32>, seed: u64) -> String {
    let mut cmd = format!("void sim {} --seed {seed}", shell_quote(&loaded.reference));
    if let Some(n) = nodes {
        cmd.push_str(&format!(" --nodes {n}"));
    }
    for (k, v) in &loaded.params {
        cmd.push_str(&format!(" --param {}", shell_quote(&format!("{k}={v}"))));
    }
    cmd
}

fn parse_seeds(s: &str) -> Result<(u64, u64), Failure> {
    let (a, b) =
        s.split_once("..").ok_or_else(|| bad(format!("--seeds {s:?}: expected A..B, e.g. 1..100")))?;
    let a: u64 = a
        .trim()
        .parse()
        .map_err(|_| bad(format!("--seeds {s:?}: {a:?} is not a seed (unsigned integer)")))?;
    let b: u64 = b
        .trim()
        .parse()
        .map_err(|_| bad(format!("--seeds {s:?}: {b:?} is not a seed (unsigned integer)")))?;
    if a > b {
        return Err(bad(format!("--seeds {s:?}: the range is empty ({a} > {b})")));
    }
    if b - a >= 10_000_000 {
        return Err(bad(format!("--seeds {s:?}: at most 10000000 seeds in one run")));
    }
    Ok((a, b))
}

fn violation_json(o: &Outcome, replay: &str) -> Vec<Value> {
    o.violations
        .iter()
        .map(|v| {
            json!({"seed": o.seed, "invariant": v.invariant, "step": v.step, "time_ms": v.time as f64 / 1000.0,
                   "message": v.message, "replay": replay})
        })
        .collect()
}

fn report_violations(o: &Outcome, replay: &str) {
    for v in &o.violations {
        eprintln!(
            "seed {}: invariant {} violated at event {} (t = {:.3} ms): {}\n  replay: {replay}",
            o.seed,
            v.invariant,
            v.step,
            v.time as f64 / 1000.0,
            v.message
        );
    }
}

pub fn run(args: SimArgs) -> CliResult {
    if args.list {
        let builtins = sim::builtin();
        if args.json {
            let list: Vec<_> =
                builtins.iter().map(|b| json!({"name": b.name, "summary": b.summary})).collect();
            print_json(&json!({ "scenarios": list }));
        } else {
            for b in builtins {
                outln!("{:<22} {}", b.name, b.summary);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let reference = args.scenario.as_deref().ok_or_else(|| bad("name a scenario or use --list"))?;
    let loaded = load(reference, args.nodes, &args.params)?;
    // Build once up front so protocol parameter errors are reported as bad input.
    let probe = sim::build(&loaded.scenario, 1, false).map_err(|e| bad(format!("{reference}: {e}")))?;
    for note in probe.notes() {
        eprintln!("note: {note}");
    }
    match &args.seeds {
        None => run_one(&args, &loaded, args.seed.unwrap_or(1)),
        Some(range) => {
            if args.dump_trace.is_some() {
                return Err(bad("--dump-trace needs a single run (--seed N), not --seeds"));
            }
            let (a, b) = parse_seeds(range)?;
            run_many(&args, &loaded, a, b)
        }
    }
}

fn run_one(args: &SimArgs, loaded: &Loaded, seed: u64) -> CliResult {
    let record = args.dump_trace.is_some();
    let incidents = open_incidents(args)?;
    let mut sim = sim::build(&loaded.scenario, seed, record).map_err(|e| bad(e.to_string()))?;
    // Open the dump file before running, so a bad path fails fast.
    let mut dump = match &args.dump_trace {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(|e| bad(format!("--dump-trace {}: {e}", p.display())))?,
        )),
        None => None,
    };
    sim.run_to_end();
    let outcome = sim.outcome();
    write_incidents(incidents, std::iter::once(incident_line(&outcome, &sim.faulty_nodes())))?;
    if let (Some(w), Some(path)) = (dump.as_mut(), &args.dump_trace) {
        // The playground's export writes the same bytes with the same function.
        w.write_all(sim::trace_jsonl(&*sim).as_bytes())
            .and_then(|()| w.flush())
            .map_err(|e| anyhow::anyhow!("writing the trace to {}: {e}", path.display()))?;
    }
    let replay = replay_command(loaded, args.nodes, seed);
    report_violations(&outcome, &replay);
    if outcome.event_limit_reached {
        warn_event_limit(&loaded.scenario, &[seed]);
    }
    eprintln!(
        "{} seed {seed}: {} events, {} messages delivered, {:.1} ms virtual, {} violation(s), trace {}",
        outcome.scenario,
        outcome.events,
        outcome.messages_delivered,
        outcome.virtual_time_ms,
        outcome.violations.len(),
        outcome.trace_hash
    );
    eprint_metrics("metrics", outcome.metrics.iter().map(|(k, v)| (k.as_str(), *v)));
    if args.json {
        let failing: Vec<u64> = if outcome.violations.is_empty() { vec![] } else { vec![seed] };
        print_json(&json!({
            "scenario": outcome.scenario, "protocol": outcome.protocol, "seed": seed, "nodes": outcome.nodes,
            "events": outcome.events, "messages_sent": outcome.messages_sent,
            "messages_delivered": outcome.messages_delivered, "messages_dropped": outcome.messages_dropped,
            "virtual_time_ms": outcome.virtual_time_ms, "violations": violation_json(&outcome, &replay),
            "failing_seeds": failing, "trace_hash": outcome.trace_hash, "metrics": outcome.metrics,
            "event_limit_reached": outcome.event_limit_reached,
        }));
    }
    Ok(if outcome.violations.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// The protocol's metrics for people: one `name value` pair each, whole numbers without a
/// fraction, several to a line.
fn eprint_metrics<'a>(title: &str, metrics: impl Iterator<Item = (&'a str, f64)>) {
    let pairs: Vec<String> = metrics.map(|(k, v)| format!("{k} {}", metric_text(v))).collect();
    if pairs.is_empty() {
        return;
    }
    eprintln!("{title}:");
    for line in pairs.chunks(4) {
        eprintln!("  {}", line.join(", "));
    }
}

fn metric_text(v: f64) -> String {
    if !v.is_finite() {
        "-".into()
    } else if v == v.trunc() && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() < 0.01 {
        format!("{v:.2e}")
    } else {
        format!("{v:.3}")
    }
}

/// A run cut short by `max_events` passed only the checks made along the way; say so.
fn warn_event_limit(scenario: &Scenario, seeds: &[u64]) {
    let which = match seeds {
        [one] => format!("seed {one}"),
        many if many.len() <= 8 => format!("seeds {many:?}"),
        many => format!("{} seeds (first {:?})", many.len(), &many[..8]),
    };
    eprintln!(
        "warning: {which} stopped at max_events = {} before duration_ms = {}: the end-of-run checks \
         (liveness, convergence) did not run; raise \"max_events\" in the scenario to run to the end",
        scenario.max_events, scenario.duration_ms
    );
}

fn run_many(args: &SimArgs, loaded: &Loaded, a: u64, b: u64) -> CliResult {
    let count = b - a + 1;
    let incidents = open_incidents(args)?;
    // Each run's outcome and its faulty nodes, in seed order.
    type Slot = Mutex<Option<(Outcome, Vec<u32>)>>;
    let results: Vec<Slot> = (0..count).map(|_| Mutex::new(None)).collect();
    let next = AtomicU64::new(0);
    let bar = std::io::stderr().is_terminal().then(|| indicatif::ProgressBar::new(count));
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(count as usize);
    let failed_build = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    match sim::build(&loaded.scenario, a + i, false) {
                        Ok(mut run) => {
                            run.run_to_end();
                            if let Ok(mut slot) = results[i as usize].lock() {
                                *slot = Some((run.outcome(), run.faulty_nodes()));
                            }
                        }
                        Err(e) => {
                            if let Ok(mut f) = failed_build.lock() {
                                *f = Some(e.to_string());
                            }
                            break;
                        }
                    }
                    if let Some(bar) = &bar {
                        bar.inc(1);
                    }
                }
            });
        }
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    if let Some(e) = failed_build.into_inner().ok().flatten() {
        return Err(bad(e));
    }
    let done: Vec<(Outcome, Vec<u32>)> =
        results.into_iter().filter_map(|m| m.into_inner().ok().flatten()).collect();
    if done.len() as u64 != count {
        return Err(Failure::Other(anyhow::anyhow!("only {} of {count} runs completed", done.len())));
    }
    write_incidents(incidents, done.iter().map(|(o, faulty)| incident_line(o, faulty)))?;
    let outcomes: Vec<Outcome> = done.into_iter().map(|(o, _)| o).collect();
    let mut hasher = Sha256::new();
    let mut violations = Vec::new();
    let mut failing = Vec::new();
    let mut limited = Vec::new();
    let mut metrics: std::collections::BTreeMap<String, (f64, u64)> = Default::default();
    let (mut events, mut delivered, mut vtime) = (0u64, 0u64, 0f64);
    let (mut sent, mut dropped) = (0u64, 0u64);
    for o in &outcomes {
        hasher.update(hex::decode(&o.trace_hash).unwrap_or_default());
        events += o.events;
        delivered += o.messages_delivered;
        sent += o.messages_sent;
        dropped += o.messages_dropped;
        vtime += o.virtual_time_ms;
        for (k, v) in &o.metrics {
            if v.is_finite() {
                let e = metrics.entry(k.clone()).or_insert((0.0, 0));
                e.0 += v;
                e.1 += 1;
            }
        }
        if o.event_limit_reached {
            limited.push(o.seed);
        }
        if !o.violations.is_empty() {
            let replay = replay_command(loaded, args.nodes, o.seed);
            report_violations(o, &replay);
            violations.extend(violation_json(o, &replay));
            failing.push(o.seed);
        }
    }
    let trace_hash = hex::encode(hasher.finalize());
    if !limited.is_empty() {
        warn_event_limit(&loaded.scenario, &limited);
    }
    let means: serde_json::Map<String, Value> =
        metrics.into_iter().map(|(k, (sum, n))| (k, json!(sum / n as f64))).collect();
    eprintln!(
        "{} seeds {a}..{b}: {count} runs, {events} events, {} failing seed(s){}",
        loaded.scenario.name,
        failing.len(),
        if failing.is_empty() { String::new() } else { format!(": {failing:?}") }
    );
    eprint_metrics(
        "metrics (mean per run)",
        means.iter().filter_map(|(k, v)| Some((k.as_str(), v.as_f64()?))),
    );
    if args.json {
        print_json(&json!({
            "scenario": loaded.scenario.name, "protocol": loaded.scenario.protocol, "seeds": format!("{a}..{b}"),
            "runs": count, "nodes": loaded.scenario.nodes, "events": events, "messages_sent": sent,
            "messages_delivered": delivered, "messages_dropped": dropped,
            "virtual_time_ms": vtime / count as f64, "violations": violations, "failing_seeds": failing,
            "trace_hash": trace_hash, "metrics": means, "event_limit_seeds": limited,
        }));
    }
    Ok(if failing.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
