//! `play`, `bless` and `bench`: thin wrappers that build what they need, then run it.

use std::process::Command;

use anyhow::{Context, Result};

use crate::cmd;
use crate::install::{self, WASM_TARGET};
use crate::wasm;
use crate::workspace::Workspace;

const DEFAULT_PORT: &str = "8080";

/// `cargo xtask play [--port P] [--no-cluster]`: builds the bundle and `void`, then becomes
/// `void play` (other flags are passed through unchanged).
pub fn play(ws: &Workspace, args: &[String]) -> Result<()> {
    install::ensure_targets(ws, &[WASM_TARGET])?;
    let wasm_bindgen = install::ensure_wasm_bindgen(ws)?;
    wasm::build_web(ws, &wasm_bindgen)?;
    let void = ws.build_void()?;
    let mut play = Command::new(&void);
    play.arg("play").args(play_args(args)).current_dir(&ws.root);
    cmd::say(&format!("running `{}`", cmd::display(&play)));
    exec(play)
}

/// The forwarded flags, with the default port added when none is given.
fn play_args(args: &[String]) -> Vec<String> {
    let mut out = args.to_vec();
    let has_port = args.iter().any(|a| a == "--port" || a.starts_with("--port="));
    if !has_port {
        out.extend(["--port".to_owned(), DEFAULT_PORT.to_owned()]);
    }
    out
}

/// Replaces this process so Ctrl-C and the exit code belong to `void play` alone.
#[cfg(unix)]
fn exec(mut command: Command) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let err = command.exec();
    Err(err).with_context(|| format!("could not start `{}`", cmd::display(&command)))
}

#[cfg(not(unix))]
fn exec(mut command: Command) -> Result<()> {
    cmd::run(&mut command)
}

/// `cargo xtask bless`: the determinism test rewrites tests/golden/trace-hashes.json.
pub fn bless(ws: &Workspace) -> Result<()> {
    let void = ws.build_void()?;
    cmd::run(
        ws.cargo()
            .args(["test", "-p", "void-tests", "--test", "determinism"])
            .env("VOID_BLESS", "1")
            .env("VOID_BIN", &void),
    )?;
    cmd::say("golden trace hashes rewritten; review `git diff tests/golden` before committing");
    Ok(())
}

/// `cargo xtask bench`: criterion benches, then the simulator's own throughput figure.
pub fn bench(ws: &Workspace) -> Result<()> {
    let void = ws.build_void()?;
    cmd::run(ws.cargo().args(["bench", "--workspace", "--exclude", "void-web"]).env("VOID_BIN", &void))?;
    cmd::run(
        Command::new(&void)
            .args(["bench", "sim", "hlc-ping", "--nodes", "100", "--json"])
            .current_dir(&ws.root),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn play_defaults_the_port() {
        assert_eq!(play_args(&[]), strings(&["--port", "8080"]));
        assert_eq!(play_args(&strings(&["--no-cluster"])), strings(&["--no-cluster", "--port", "8080"]));
    }

    #[test]
    fn play_keeps_a_given_port() {
        assert_eq!(play_args(&strings(&["--port", "9000"])), strings(&["--port", "9000"]));
        assert_eq!(play_args(&strings(&["--port=9000"])), strings(&["--port=9000"]));
    }
}
