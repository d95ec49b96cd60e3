//! Shared helpers for Void's cross-crate tests.

use std::collections::BTreeMap;
use std::path::PathBuf;

use void_core::sim::{self, Scenario};

/// Seeds every built-in scenario is pinned at in the golden file.
pub const GOLDEN_SEEDS: &[u64] = &[1, 7];

/// The golden file: `"<scenario>/<seed>"` → trace hash.
pub fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden").join("trace-hashes.json")
}

/// Run a built-in scenario with its own defaults and return its trace hash.
pub fn trace_hash(scenario: &str, seed: u64) -> Result<String, String> {
    let json = sim::load_builtin(scenario).ok_or_else(|| format!("no built-in scenario {scenario}"))?;
    let s = Scenario::from_json(json).map_err(|e| e.to_string())?;
    let mut run = sim::build(&s, seed, false).map_err(|e| e.to_string())?;
    run.run_to_end();
    Ok(run.trace_hash())
}

/// Every golden case, computed now.
pub fn compute_golden() -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for name in sim::builtin_names() {
        for seed in GOLDEN_SEEDS {
            out.insert(format!("{name}/{seed}"), trace_hash(name, *seed)?);
        }
    }
    Ok(out)
}

/// The release `void` binary, from `VOID_BIN` (set by `cargo xtask test`) or the
/// workspace's target directory.
pub fn void_bin() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("VOID_BIN") {
        return Some(PathBuf::from(p));
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| root.join("target"));
    ["release", "debug"].iter().map(|p| target.join(p).join("void")).find(|p| p.exists())
}
