//! `ensure` steps: each checks first, installs only what is missing, and says what it does.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::cmd::{self, say};
use crate::workspace::Workspace;

pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
pub const EMBEDDED_TARGET: &str = "thumbv7em-none-eabihf";

/// Adds the rustup targets that are not installed yet.
pub fn ensure_targets(ws: &Workspace, targets: &[&str]) -> Result<()> {
    let mut list = Command::new("rustup");
    list.args(["target", "list", "--installed"]).current_dir(&ws.root);
    let Some(installed) = cmd::probe(&mut list) else {
        return ensure_targets_without_rustup(ws, targets);
    };
    let missing: Vec<&str> =
        targets.iter().copied().filter(|t| !installed.lines().any(|l| l.trim() == *t)).collect();
    if missing.is_empty() {
        say(&format!("rust targets present: {}", targets.join(", ")));
        return Ok(());
    }
    say(&format!("adding rust targets {} (about a minute)...", missing.join(", ")));
    cmd::run(Command::new("rustup").args(["target", "add"]).args(&missing).current_dir(&ws.root))
}

/// Without rustup a target can still be present in the sysroot; we only cannot add it.
fn ensure_targets_without_rustup(ws: &Workspace, targets: &[&str]) -> Result<()> {
    let mut print = Command::new("rustc");
    print.args(["--print", "sysroot"]).current_dir(&ws.root);
    let sysroot = cmd::probe(&mut print).context("neither `rustup` nor `rustc` could be run")?;
    let rustlib = Path::new(sysroot.trim()).join("lib").join("rustlib");
    let missing: Vec<&str> = targets.iter().copied().filter(|t| !rustlib.join(t).is_dir()).collect();
    if !missing.is_empty() {
        bail!(
            "rust targets {} are missing and `rustup` is not available to add them; \
             install rustup (https://rustup.rs) or add the targets' standard libraries to {}",
            missing.join(", "),
            rustlib.display()
        );
    }
    Ok(())
}

/// Adds the rustup components CI uses (`cargo fmt`, `cargo clippy`).
pub fn ensure_components(ws: &Workspace, components: &[&str]) -> Result<()> {
    let mut list = Command::new("rustup");
    list.args(["component", "list", "--installed"]).current_dir(&ws.root);
    let installed = cmd::probe(&mut list).context("`rustup component list --installed` failed")?;
    // Installed components are listed with their host triple: `clippy-x86_64-unknown-linux-gnu`.
    let present =
        |c: &str| installed.lines().any(|l| l.trim() == c || l.trim().starts_with(&format!("{c}-")));
    let missing: Vec<&str> = components.iter().copied().filter(|c| !present(c)).collect();
    if missing.is_empty() {
        say(&format!("rust components present: {}", components.join(", ")));
        return Ok(());
    }
    say(&format!("adding rust components {}...", missing.join(", ")));
    cmd::run(Command::new("rustup").args(["component", "add"]).args(&missing).current_dir(&ws.root))
}

/// The wasm-bindgen tools, at the version Cargo.lock pins.
pub struct WasmBindgen {
    pub cli: PathBuf,
    pub test_runner: PathBuf,
    pub version: String,
}

/// Makes sure `wasm-bindgen` and `wasm-bindgen-test-runner` match the `wasm-bindgen` crate
/// in Cargo.lock exactly: the CLI refuses wasm built by any other version.
pub fn ensure_wasm_bindgen(ws: &Workspace) -> Result<WasmBindgen> {
    let lock_path = ws.root.join("Cargo.lock");
    let lock = std::fs::read_to_string(&lock_path)
        .with_context(|| format!("reading {} (run `cargo generate-lockfile`)", lock_path.display()))?;
    let version = locked_version(&lock, "wasm-bindgen")
        .with_context(|| format!("finding the wasm-bindgen version in {}", lock_path.display()))?;
    if let Some(found) = find_wasm_bindgen(&version) {
        say(&format!("wasm-bindgen-cli {version} present ({})", found.cli.display()));
        return Ok(found);
    }
    say(&format!("installing wasm-bindgen-cli {version} (about 2 minutes)..."));
    // Without --locked, the way DESIGN.md's toolchain notes found to work on these machines.
    let mut install = crate::workspace::cargo();
    install.args(["install", "wasm-bindgen-cli", "--version", &version]).stdin(Stdio::null());
    cmd::run(&mut install)?;
    let found = find_wasm_bindgen(&version).with_context(|| {
        format!(
            "`cargo install wasm-bindgen-cli --version {version}` finished, but neither PATH nor {} \
             holds wasm-bindgen and wasm-bindgen-test-runner {version}",
            cargo_bin_dir().display()
        )
    })?;
    say(&format!("wasm-bindgen-cli {version} installed ({})", found.cli.display()));
    Ok(found)
}

/// The first install (PATH first, then cargo's bin directory) whose two tools have `version`.
fn find_wasm_bindgen(version: &str) -> Option<WasmBindgen> {
    let candidates = [cmd::which("wasm-bindgen"), Some(cargo_bin_dir().join("wasm-bindgen"))];
    candidates.into_iter().flatten().find_map(|cli| {
        let test_runner = cli.with_file_name("wasm-bindgen-test-runner");
        let ok = tool_version(&cli).as_deref() == Some(version)
            && tool_version(&test_runner).as_deref() == Some(version);
        ok.then(|| WasmBindgen { cli, test_runner, version: version.to_owned() })
    })
}

/// `wasm-bindgen 0.2.130` (maybe followed by a commit) gives `0.2.130`.
fn tool_version(program: &Path) -> Option<String> {
    if !cmd::is_executable(program) {
        return None;
    }
    let out = cmd::probe(Command::new(program).arg("--version"))?;
    parse_tool_version(&out)
}

fn parse_tool_version(out: &str) -> Option<String> {
    out.split_whitespace().nth(1).map(str::to_owned)
}

/// Where `cargo install` puts binaries.
fn cargo_bin_dir() -> PathBuf {
    if let Some(root) = std::env::var_os("CARGO_INSTALL_ROOT") {
        return PathBuf::from(root).join("bin");
    }
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return PathBuf::from(home).join("bin");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".cargo").join("bin")
}

/// The one version of package `name` in a Cargo.lock; an error if it is absent or appears
/// at two versions (then no single CLI version can match).
pub fn locked_version(lock: &str, name: &str) -> Result<String> {
    let wanted = format!("name = \"{name}\"");
    let mut versions: Vec<String> = Vec::new();
    for block in lock.split("[[package]]").skip(1) {
        let mut lines = block.lines().map(str::trim);
        if !lines.clone().any(|l| l == wanted) {
            continue;
        }
        let version = lines
            .find_map(|l| l.strip_prefix("version = \"").and_then(|v| v.strip_suffix('"')))
            .with_context(|| format!("the `{name}` entry has no version line"))?;
        if !versions.iter().any(|v| v == version) {
            versions.push(version.to_owned());
        }
    }
    match versions.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!("no `{name}` package is locked"),
        many => bail!("`{name}` is locked at several versions ({}); pin one with `=`", many.join(", ")),
    }
}

/// Binaryen's optimizer, from the npm package (Debian's binaryen cannot read what
/// wasm-bindgen writes).
pub const BINARYEN_VERSION: &str = "132";

/// Makes sure `wasm-opt` of [`BINARYEN_VERSION`] is installed under the target directory
/// (`npm install binaryen`, a build that runs on Node.js) and returns it.
pub fn ensure_wasm_opt(ws: &Workspace) -> Result<PathBuf> {
    let prefix = ws.target_dir.join("tools").join(format!("binaryen-{BINARYEN_VERSION}"));
    let wasm_opt = prefix.join("node_modules").join("binaryen").join("bin").join("wasm-opt");
    let has_version = |p: &Path| {
        cmd::probe(Command::new(p).arg("--version"))
            .is_some_and(|v| v.split_whitespace().any(|w| w == BINARYEN_VERSION))
    };
    if cmd::is_executable(&wasm_opt) && has_version(&wasm_opt) {
        return Ok(wasm_opt);
    }
    if cmd::which("npm").is_none() || cmd::which("node").is_none() {
        bail!(
            "the web bundle is optimized with wasm-opt from the npm package binaryen@{BINARYEN_VERSION},              which needs Node.js and npm; install them (Debian: `apt-get install -y nodejs npm`)"
        );
    }
    say(&format!("installing wasm-opt (npm binaryen@{BINARYEN_VERSION}) into {}...", prefix.display()));
    std::fs::create_dir_all(&prefix).with_context(|| format!("creating {}", prefix.display()))?;
    cmd::run(
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--no-save", "--prefix"])
            .arg(&prefix)
            .arg(format!("binaryen@{BINARYEN_VERSION}"))
            .stdin(Stdio::null()),
    )?;
    if !has_version(&wasm_opt) {
        bail!("`npm install binaryen@{BINARYEN_VERSION}` finished, but {} does not run", wasm_opt.display());
    }
    Ok(wasm_opt)
}

/// The browser side of the tests.
pub struct Browser {
    pub chromedriver: PathBuf,
}

const BROWSER_NAMES: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];
const APT_PACKAGES: [&str; 2] = ["chromium", "chromium-driver"];

/// Finds chromedriver and a Chromium; as root on Debian installs them when missing.
pub fn ensure_chromium() -> Result<Browser> {
    if let Some(found) = find_browser() {
        say(&format!("chromedriver present ({})", found.chromedriver.display()));
        return Ok(found);
    }
    let how = format!("apt-get update && apt-get install -y {}", APT_PACKAGES.join(" "));
    let root = cmd::probe(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0");
    if !root {
        bail!(
            "the browser tests need Chromium and chromedriver; install them as root with \
             `{how}` (or set CHROMEDRIVER to a chromedriver matching your Chrome)"
        );
    }
    if cmd::which("apt-get").is_none() {
        bail!("the browser tests need Chromium and chromedriver, and there is no apt-get to install them");
    }
    say(&format!("installing {} with apt-get (about a minute)...", APT_PACKAGES.join(" ")));
    cmd::run(apt().arg("update"))?;
    cmd::run(apt().args(["install", "-y"]).args(APT_PACKAGES))?;
    find_browser()
        .with_context(|| format!("`{how}` finished, but chromedriver or chromium is still not on PATH"))
}

fn apt() -> Command {
    let mut c = Command::new("apt-get");
    c.env("DEBIAN_FRONTEND", "noninteractive").stdin(Stdio::null());
    c
}

/// `CHROMEDRIVER` when it names an executable, else chromedriver on PATH; and a Chromium on PATH.
fn find_browser() -> Option<Browser> {
    let chromedriver = std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .filter(|p| cmd::is_executable(p))
        .or_else(|| cmd::which("chromedriver"))?;
    BROWSER_NAMES.iter().find_map(|name| cmd::which(name))?;
    Some(Browser { chromedriver })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
[[package]]
name = "wasm-bindgen-test"
version = "0.3.80"

[[package]]
name = "wasm-bindgen"
version = "0.2.130"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = [
 "cfg-if",
]
"#;

    #[test]
    fn finds_the_exact_package_not_a_prefix() {
        assert_eq!(locked_version(LOCK, "wasm-bindgen").unwrap(), "0.2.130");
        assert_eq!(locked_version(LOCK, "wasm-bindgen-test").unwrap(), "0.3.80");
    }

    #[test]
    fn absent_package_is_an_error() {
        let err = locked_version(LOCK, "yew").unwrap_err();
        assert_eq!(err.to_string(), "no `yew` package is locked");
    }

    #[test]
    fn two_versions_are_an_error() {
        let lock = format!("{LOCK}\n[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.100\"\n");
        let err = locked_version(&lock, "wasm-bindgen").unwrap_err();
        assert!(err.to_string().contains("0.2.130, 0.2.100"), "{err}");
    }

    #[test]
    fn reads_tool_versions() {
        assert_eq!(parse_tool_version("wasm-bindgen 0.2.130\n").as_deref(), Some("0.2.130"));
        assert_eq!(parse_tool_version("wasm-bindgen 0.2.130 (a1b2c3)").as_deref(), Some("0.2.130"));
        assert_eq!(parse_tool_version(""), None);
    }

    #[test]
    fn the_workspace_lock_pins_one_wasm_bindgen() {
        let lock = include_str!("../../Cargo.lock");
        let version = locked_version(lock, "wasm-bindgen").unwrap();
        assert_eq!(version.split('.').count(), 3, "{version}");
    }
}
