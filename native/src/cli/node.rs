//! `void node --config node.toml [--trace FILE]`: one native node.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{CliResult, Failure, bad};
use crate::node::{self, NodeError};

#[derive(Args, Debug)]
pub struct NodeArgs {
    /// The node's configuration (see the README for an example).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Write the observed events, in the simulator's trace format (JSON lines).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
}

pub fn run(args: NodeArgs) -> CliResult {
    init_logging();
    // One thread per node: a replica is one state machine, and on a shared machine cross-thread
    // wake-ups cost more than they save.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local = tokio::task::LocalSet::new();
    match local.block_on(&rt, node::run(&args.config, args.trace.as_deref())) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(NodeError::Config(msg)) => Err(bad(msg)),
        Err(NodeError::Other(e)) => Err(Failure::Other(e)),
    }
}

/// `tracing` to stderr, level from `RUST_LOG` (default info).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal as _;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}
