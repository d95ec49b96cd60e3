//! `void causal`: exact queries, root-cause ranking and EM learning on a noisy-OR model
//! (`void_core::causal`). Values are 1 (failed) or 0 (healthy).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};
use void_core::causal::{CausalModel, LearnConfig, QueryError, parse_incidents};

use super::{CliResult, Failure, bad, print_json, read_user_file};

const MODEL_MAX: u64 = 16 * 1024 * 1024;
const INCIDENTS_MAX: u64 = 256 * 1024 * 1024;

#[derive(Subcommand, Debug)]
pub enum CausalCommand {
    /// P(target fails | evidence), optionally under interventions do(X = x).
    Query(QueryArgs),
    /// Rank failed nodes by the posterior that they failed on their own.
    RootCause(RootCauseArgs),
    /// Fit the model's priors and edge weights to incidents by EM.
    Learn(LearnArgs),
}

#[derive(Args, Debug)]
pub struct QueryArgs {
    /// The model JSON: nodes with priors, edges with weights.
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// The node whose failure probability is asked for.
    #[arg(long, value_name = "X")]
    target: String,
    /// Observed evidence NODE=1 (failed) or NODE=0 (healthy); repeatable.
    #[arg(long = "given", value_name = "NODE=V")]
    given: Vec<String>,
    /// Intervention do(NODE = V), V 1 or 0; repeatable.
    #[arg(long = "do", value_name = "NODE=V")]
    interventions: Vec<String>,
    /// Print the result as one JSON object on the last line of stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct RootCauseArgs {
    /// The model (JSON: nodes with priors, edges with weights).
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// Nodes observed failed, comma-separated (repeatable).
    #[arg(long, value_name = "A,B", required = true, value_delimiter = ',')]
    failed: Vec<String>,
    /// Nodes not observed, comma-separated (repeatable); all others are observed healthy.
    /// They are scored too, after the ranking (a hidden common cause shows there).
    #[arg(long, value_name = "C,D", value_delimiter = ',')]
    unobserved: Vec<String>,
    /// Print the result as one JSON object on the last line of stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct LearnArgs {
    /// The starting model: its structure is kept, its parameters are fitted.
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// Incidents, one JSON object per line: {"failed": [...], "unobserved": [...]}.
    #[arg(long, value_name = "FILE")]
    incidents: PathBuf,
    /// Write the learned model JSON here.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print the learned model and the log-likelihoods as one JSON object on stdout's last line.
    #[arg(long)]
    json: bool,
}

pub fn run(command: CausalCommand) -> CliResult {
    match command {
        CausalCommand::Query(args) => query(args),
        CausalCommand::RootCause(args) => root_cause(args),
        CausalCommand::Learn(args) => learn(args),
    }
}

fn load_model(path: &Path) -> Result<CausalModel, Failure> {
    let text = read_user_file(path, "model file", MODEL_MAX)?;
    CausalModel::from_json(&text).map_err(|e| bad(format!("{}: {e}", path.display())))
}

/// `NODE=1` or `NODE=0` from `--flag`.
fn setting<'a>(flag: &str, raw: &'a str) -> Result<(&'a str, bool), Failure> {
    let Some((name, value)) = raw.split_once('=') else {
        return Err(bad(format!("--{flag} {raw}: expected NODE=1 (failed) or NODE=0 (healthy)")));
    };
    match value.trim() {
        "1" => Ok((name.trim(), true)),
        "0" => Ok((name.trim(), false)),
        other => Err(bad(format!("--{flag} {raw}: the value {other:?} must be 1 (failed) or 0 (healthy)"))),
    }
}

/// The plain answer goes to stdout for scripts; when stdout and stderr are the same terminal
/// the person already reads it in the line written to stderr.
fn on_one_screen() -> bool {
    use std::io::IsTerminal as _;
    std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
}

/// Each flag once per node, or several as a comma list (`--given A=1,B=0`).
fn settings<'a>(flag: &str, raw: &'a [String]) -> Result<Vec<(&'a str, bool)>, Failure> {
    raw.iter().flat_map(|g| g.split(',')).map(|g| setting(flag, g)).collect()
}

/// Unknown nodes, contradictions, impossible evidence and too-wide queries are all bad input.
fn query_failure(e: QueryError, context: &str) -> Failure {
    bad(format!("{context}: {e}"))
}

fn query(args: QueryArgs) -> CliResult {
    let model = load_model(&args.model)?;
    let given = settings("given", &args.given)?;
    let forced = settings("do", &args.interventions)?;
    for (name, seen) in &given {
        if let Some((_, set)) = forced.iter().find(|(m, _)| m == name)
            && set != seen
        {
            return Err(bad(format!(
                "--do {name}={} and --given {name}={}: under the intervention the evidence has probability zero",
                u8::from(*set),
                u8::from(*seen)
            )));
        }
    }
    let probability =
        model.query_named(&args.target, &given, &forced).map_err(|e| query_failure(e, "query"))?;
    let mut condition: Vec<String> = given.iter().map(|(n, v)| format!("{n}={}", u8::from(*v))).collect();
    condition.extend(forced.iter().map(|(n, v)| format!("do({n}={})", u8::from(*v))));
    let bar = if condition.is_empty() { String::new() } else { format!(" | {}", condition.join(", ")) };
    eprintln!("P({}=1{bar}) = {probability:.6}", args.target);
    if args.json {
        let to_map = |list: &[(&str, bool)]| -> Map<String, Value> {
            list.iter().map(|(n, v)| (n.to_string(), json!(u8::from(*v)))).collect()
        };
        print_json(&json!({
            "probability": probability,
            "target": args.target,
            "given": to_map(&given),
            "do": to_map(&forced),
        }));
    } else if !on_one_screen() {
        outln!("{probability}");
    }
    Ok(ExitCode::SUCCESS)
}

fn names<'a>(flag: &str, list: &'a [String]) -> Result<Vec<&'a str>, Failure> {
    list.iter()
        .map(|n| {
            let n = n.trim();
            if n.is_empty() { Err(bad(format!("--{flag}: empty node name in the list"))) } else { Ok(n) }
        })
        .collect()
}

fn root_cause(args: RootCauseArgs) -> CliResult {
    let model = load_model(&args.model)?;
    let failed = names("failed", &args.failed)?;
    let unobserved = names("unobserved", &args.unobserved)?;
    if let Some(name) = failed.iter().find(|n| unobserved.contains(n)) {
        return Err(bad(format!(
            "{name} is both --failed and --unobserved: a node is seen failed, or not seen at all"
        )));
    }
    let ranking = model.root_causes(&failed, &unobserved).map_err(|e| query_failure(e, "root-cause"))?;
    // The nodes not observed, scored alike: a hidden common cause of the failures shows up
    // here (the ranking proper keeps to the failed nodes).
    let mut settings: Vec<(&str, bool)> = failed.iter().map(|&n| (n, true)).collect();
    settings.extend(
        model
            .names()
            .iter()
            .map(String::as_str)
            .filter(|n| !failed.contains(n) && !unobserved.contains(n))
            .map(|n| (n, false)),
    );
    let evidence = model.evidence(&settings).map_err(|e| query_failure(e, "root-cause"))?;
    let mut suspects = Vec::new();
    for &name in &unobserved {
        let v = model.node(name).ok_or_else(|| bad(format!("root-cause: unknown node {name:?}")))?;
        let score = model.own_cause_posterior(v, &evidence).map_err(|e| query_failure(e, "root-cause"))?;
        suspects.push(void_core::causal::Cause { node: name.to_string(), score });
    }
    suspects.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.node.cmp(&b.node)));
    for (i, cause) in ranking.iter().enumerate() {
        eprintln!("{:>3}. {:<24} {:.6}", i + 1, cause.node, cause.score);
    }
    for cause in &suspects {
        eprintln!(
            "     {:<24} {:.6}  (not observed: P(failed on its own | observations))",
            cause.node, cause.score
        );
    }
    if args.json {
        print_json(&json!({ "ranking": ranking, "unobserved": suspects }));
    } else if !on_one_screen() {
        for cause in &ranking {
            outln!("{}\t{}", cause.node, cause.score);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn learn(args: LearnArgs) -> CliResult {
    let model = load_model(&args.model)?;
    let text = read_user_file(&args.incidents, "incidents file", INCIDENTS_MAX)?;
    let incidents =
        parse_incidents(&model, &text).map_err(|e| bad(format!("{}: {e}", args.incidents.display())))?;
    let learned = model
        .learn(&incidents, LearnConfig::default())
        .map_err(|e| bad(format!("{}: {e}", args.incidents.display())))?;
    let spec = serde_json::to_value(learned.model.to_spec()).map_err(|e| Failure::Other(e.into()))?;
    eprintln!(
        "{} incidents, {} EM iterations, log-likelihood {:.6} (from {:.6})",
        incidents.len(),
        learned.iterations,
        learned.log_likelihood,
        learned.history.first().copied().unwrap_or(learned.log_likelihood)
    );
    if let Some(out) = &args.out {
        let body = serde_json::to_string_pretty(&spec).map_err(|e| Failure::Other(e.into()))?;
        std::fs::write(out, body + "\n")
            .map_err(|e| bad(format!("--out: cannot write {}: {e}", out.display())))?;
        eprintln!("learned model -> {}", out.display());
    }
    let result = json!({
        "log_likelihood": learned.log_likelihood,
        "iterations": learned.iterations,
        "incidents": incidents.len(),
        "model": spec,
    });
    if args.json {
        print_json(&result);
    } else if args.out.is_none() {
        outln!("{}", serde_json::to_string_pretty(&result["model"]).unwrap_or_default());
    }
    Ok(ExitCode::SUCCESS)
}
