//! Same scenario + seed ⇒ same trace hash, pinned in `golden/trace-hashes.json`. The wasm
//! build checks the same file in Chromium. `VOID_BLESS=1` (`cargo xtask bless`) rewrites it.

use std::collections::BTreeMap;

use void_tests::{compute_golden, golden_path};

#[test]
fn golden_trace_hashes_match() {
    let computed = compute_golden().expect("every built-in scenario runs");
    let path = golden_path();
    if std::env::var_os("VOID_BLESS").is_some() {
        let text = serde_json::to_string_pretty(&computed).expect("serializable") + "\n";
        std::fs::write(&path, text).expect("write golden file");
        eprintln!("blessed {} trace hashes into {}", computed.len(), path.display());
        return;
    }
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run `cargo xtask bless`", path.display()));
    let golden: BTreeMap<String, String> = serde_json::from_str(&text).expect("golden file is a JSON object");
    let mut problems = Vec::new();
    for (case, hash) in &computed {
        match golden.get(case) {
            // A new scenario is not pinned until someone blesses it; say so, do not fail.
            None => eprintln!("note: {case} has no golden hash yet; `cargo xtask bless` pins it"),
            Some(g) if g != hash => problems.push(format!(
                "{case}: trace hash {hash} differs from golden {g}; replay with `void sim {} --seed {}`",
                case.split('/').next().unwrap_or(case),
                case.split('/').nth(1).unwrap_or("1")
            )),
            Some(_) => {}
        }
    }
    assert!(golden.len() >= 4, "the golden file pins too few cases: {}", golden.len());
    for case in golden.keys().filter(|c| !computed.contains_key(*c)) {
        problems.push(format!("{case}: in the golden file but no longer a built-in scenario"));
    }
    assert!(problems.is_empty(), "determinism broken:\n{}", problems.join("\n"));
}

#[test]
fn runs_twice_in_one_process_agree_and_seeds_differ() {
    let a = void_tests::trace_hash("hlc-ping", 7).unwrap();
    let b = void_tests::trace_hash("hlc-ping", 7).unwrap();
    let c = void_tests::trace_hash("hlc-ping", 8).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
}
