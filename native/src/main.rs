//! `void`: the simulator CLI, the native node, cluster tools, macaroons, scheduler and
//! causal inference, and the playground server.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;
mod net;
mod node;

use cli::Failure;

// The node allocates and frees many small buffers per message on several threads;
// mimalloc's per-thread free lists cost less than the system allocator there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "void",
    version,
    about = "Void: distributed protocols you can watch, break and run for real"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a deterministic simulation of a scenario (built-in name or JSON file).
    Sim(cli::sim::SimArgs),
    /// Measure the simulator or a native cluster.
    #[command(subcommand)]
    Bench(cli::bench::BenchCommand),
    /// Serve the browser playground on 127.0.0.1.
    Play(cli::play::PlayArgs),
    /// Mint, attenuate, discharge, bind, verify and inspect macaroons.
    #[command(subcommand)]
    Macaroon(cli::macaroon::MacaroonCommand),
    /// Place tasks on nodes: annealer, greedy or exact solver; optional Ising export.
    Schedule(cli::schedule::ScheduleArgs),
    /// Run one native node (PBFT replica, transport, storage, HTTP) from a node.toml.
    Node(cli::node::NodeArgs),
    /// Start, inspect and stop a local cluster of native nodes.
    #[command(subcommand)]
    Cluster(cli::cluster::ClusterCommand),
    /// Talk to a native cluster: put, get, delete, compare-and-swap, broadcast.
    Client(cli::client::ClientArgs),
    /// Noisy-OR causal model: exact queries, root causes, learning from incidents.
    #[command(subcommand)]
    Causal(cli::causal::CausalCommand),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version with exit 0 and usage errors with exit 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Sim(args) => cli::sim::run(args),
        Command::Bench(cmd) => cli::bench::run(cmd),
        Command::Play(args) => cli::play::run(args),
        Command::Macaroon(cmd) => cli::macaroon::run(cmd),
        Command::Schedule(args) => cli::schedule::run(args),
        Command::Causal(cmd) => cli::causal::run(cmd),
        Command::Node(args) => cli::node::run(args),
        Command::Cluster(cmd) => cli::cluster::run(cmd),
        Command::Client(args) => cli::client::run(args),
    };
    match result {
        Ok(code) => code,
        Err(Failure::BadInput(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
        Err(Failure::Other(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
