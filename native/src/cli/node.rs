//! `void node --config node.toml [--trace FILE]`: one native node.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{CliResult, Failure, bad};
use crate::node::{self, NodeError};

#[derive(Args, Debug)]
pub struct NodeArgs {
    /// The node's configuration (see the README for an example).
    #[arg(long, value_name = "FILE", required_unless_present = "keygen")]
    pub config: Option<PathBuf>,
    /// Create DIR/node.key if it is missing (0600), print its public key and exit: the `key`
    /// of this node's `[[replicas]]` entry, before any node.toml exists. DIR is the node's
    /// `data_dir`.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["config", "trace"])]
    pub keygen: Option<PathBuf>,
    /// Write one JSON line per event the node observes, sends or receives (the event views
    /// the playground imports and replays; not the `void sim --dump-trace` format).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
}

pub fn run(args: NodeArgs) -> CliResult {
    if let Some(dir) = &args.keygen {
        if !dir.exists() {
            return Err(bad(format!("--keygen {}: no such directory (create it first)", dir.display())));
        }
        if !dir.is_dir() {
            return Err(bad(format!("--keygen {}: not a directory", dir.display())));
        }
        let path = dir.join("node.key");
        let (key, created) = crate::node::keys::load_or_create_signing(&path)
            .map_err(|e| bad(format!("--keygen {}: {e:#}", path.display())))?;
        eprintln!("{} {}", if created { "created" } else { "read" }, path.display());
        outln!("{}", hex::encode(key.verifying_key().as_bytes()));
        return Ok(ExitCode::SUCCESS);
    }
    let Some(config) = &args.config else {
        return Err(bad("--config FILE is required"));
    };
    init_logging();
    // One thread per node: a replica is one state machine, and on a shared machine cross-thread
    // wake-ups cost more than they save.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local = tokio::task::LocalSet::new();
    match local.block_on(&rt, node::run(config, args.trace.as_deref())) {
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
