//! Where the workspace and its cargo target directory are, as cargo itself sees them.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::cmd;

/// Paths every command needs.
pub struct Workspace {
    pub root: PathBuf,
    /// Honours `CARGO_TARGET_DIR` and `build.target-dir`; `<root>/target` otherwise.
    pub target_dir: PathBuf,
}

impl Workspace {
    /// Asks `cargo metadata` so the answer matches what cargo builds into.
    pub fn locate() -> Result<Workspace> {
        let mut meta = cargo();
        meta.args(["metadata", "--no-deps", "--format-version", "1"]).stdin(Stdio::null());
        let shown = cmd::display(&meta);
        let out = meta.output().with_context(|| format!("could not start `{shown}`"))?;
        if let Some(why) = cmd::failure(out.status) {
            bail!("`{shown}` failed ({why}): {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        let json: serde_json::Value =
            serde_json::from_slice(&out.stdout).with_context(|| format!("`{shown}` printed no JSON"))?;
        let path = |key: &str| -> Result<PathBuf> {
            json.get(key)
                .and_then(|v| v.as_str())
                .map(PathBuf::from)
                .with_context(|| format!("`{shown}` has no `{key}`"))
        };
        Ok(Workspace { root: path("workspace_root")?, target_dir: path("target_directory")? })
    }

    /// `target/release/void`, the binary the integration tests and `play` use.
    pub fn void_bin(&self) -> PathBuf {
        self.target_dir.join("release").join("void")
    }

    /// Builds the release `void` binary and returns its path.
    pub fn build_void(&self) -> Result<PathBuf> {
        cmd::run(self.cargo().args(["build", "--release", "-p", "void-node"]))?;
        let bin = self.void_bin();
        if !bin.is_file() {
            bail!("cargo reported success but {} is missing", bin.display());
        }
        Ok(bin)
    }

    /// A cargo command run from the workspace root.
    pub fn cargo(&self) -> Command {
        let mut c = cargo();
        c.current_dir(&self.root);
        c
    }
}

/// The cargo that started us (so the same toolchain builds everything), without the
/// per-package variables `cargo run` gave this process.
pub fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut c = Command::new(program);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let from_cargo_run = key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_MANIFEST_")
            || matches!(&*key, "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE");
        if from_cargo_run {
            c.env_remove(&*key);
        }
    }
    c
}
