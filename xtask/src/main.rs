//! `cargo xtask`: sets up a machine for Void and runs its builds, tests, soaks and benchmarks.
//! Only std and anyhow, so it compiles in seconds on a fresh machine.

mod cmd;
mod install;
mod soak;
mod tasks;
mod testing;
mod wasm;
mod workspace;

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::install::{EMBEDDED_TARGET, WASM_TARGET};
use crate::workspace::Workspace;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  play [--port P] [--no-cluster]  build the web bundle and `void`, then run `void play`
                                  (default port 8080; other flags go to `void play`)
  test [--soak]                   tools, wasm build, release build, host tests, browser tests
                                  in Chromium; with --soak also `cargo xtask soak`
  soak [--seeds A..B]             10,000-seed sweeps of every built-in scenario, the
                                  #[ignore] soak tests and a million inputs per fuzz
                                  target; appends the results to SOAK.md
  bless                           rerun the determinism test with VOID_BLESS=1 to rewrite
                                  tests/golden/trace-hashes.json
  bench                           criterion benches and `void bench sim hlc-ping --nodes 100`
  build-web                       build void-web for wasm and write the bundle to www/pkg
  ensure                          install what is missing: rust targets, rustfmt, clippy,
                                  wasm-bindgen-cli (the Cargo.lock version), Chromium
  help                            this text

Cargo's target directory is honoured (CARGO_TARGET_DIR, build.target-dir).";

/// A command line that names no known command or has a bad flag.
struct Usage(String);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match dispatch(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => match err.downcast_ref::<Usage>() {
            Some(Usage(msg)) => {
                eprintln!("xtask: {msg}\nxtask: `cargo xtask help` lists the commands");
                ExitCode::from(2)
            }
            None => {
                eprintln!("xtask: error: {err:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn dispatch(args: &[String]) -> Result<()> {
    let (command, rest) = match args.split_first() {
        None => ("help", &[][..]),
        Some((first, rest)) => (first.as_str(), rest),
    };
    match command {
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(())
        }
        "play" => tasks::play(&Workspace::locate()?, rest),
        "test" => {
            let with_soak = match rest {
                [] => false,
                [flag] if flag == "--soak" => true,
                _ => return usage(format!("test: unexpected arguments {rest:?} (only --soak)")),
            };
            testing::test(&Workspace::locate()?, with_soak)
        }
        "soak" => {
            let opts = soak::SoakOptions::parse(rest).map_err(|e| Usage(format!("{e:#}")))?;
            soak::soak(&Workspace::locate()?, &opts)
        }
        "bless" => no_args(command, rest).and_then(|()| tasks::bless(&Workspace::locate()?)),
        "bench" => no_args(command, rest).and_then(|()| tasks::bench(&Workspace::locate()?)),
        "build-web" => no_args(command, rest).and_then(|()| {
            let ws = Workspace::locate()?;
            install::ensure_targets(&ws, &[WASM_TARGET])?;
            let wasm_bindgen = install::ensure_wasm_bindgen(&ws)?;
            wasm::build_web(&ws, &wasm_bindgen).map(|_| ())
        }),
        "ensure" => no_args(command, rest).and_then(|()| {
            let ws = Workspace::locate()?;
            install::ensure_targets(&ws, &[WASM_TARGET, EMBEDDED_TARGET])?;
            install::ensure_components(&ws, &["rustfmt", "clippy"])?;
            install::ensure_wasm_bindgen(&ws)?;
            install::ensure_wasm_opt(&ws)?;
            install::ensure_chromium().map(|_| ())
        }),
        other => usage(format!("unknown command `{other}`")),
    }
}

fn no_args(command: &str, rest: &[String]) -> Result<()> {
    if rest.is_empty() { Ok(()) } else { usage(format!("{command}: takes no arguments, got {rest:?}")) }
}

fn usage(msg: String) -> Result<()> {
    bail!(Usage(msg))
}

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Debug for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}
