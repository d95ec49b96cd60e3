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

/// The in-flight set the playground draws: reading it changes nothing, every message in it
/// leaves it exactly when the trace delivers or drops it, and new ones enter as they are sent.
#[test]
fn in_flight_messages_follow_the_trace_and_reading_them_changes_nothing() {
    use void_core::sim::{self, InFlight, Scenario};
    for (name, seed) in [("pbft-normal", 1), ("pbft-primary-crash", 7), ("plumtree-partition", 1)] {
        let scenario = Scenario::from_json(sim::load_builtin(name).expect("built in")).expect("valid");
        let mut run = sim::build(&scenario, seed, true).expect("builds");
        let mut before = run.in_flight();
        let mut steps = 0;
        while steps < 3_000 && run.step() {
            steps += 1;
            let now = run.now();
            let after = run.in_flight();
            assert!(after.windows(2).all(|w| w[0].deliver_at <= w[1].deliver_at), "{name}: arrival order");
            let mut gone: Vec<InFlight> = before.iter().filter(|m| !after.contains(m)).copied().collect();
            let first =
                (0..run.event_count()).rev().take_while(|i| run.event(*i).is_some_and(|e| e.time == now));
            let events: Vec<_> = first.filter_map(|i| run.event(i)).collect();
            for m in &gone {
                assert_eq!(m.deliver_at, now, "{name}: {m:?} left the network at its arrival time");
            }
            gone.retain(|m| {
                !events.iter().any(|e| {
                    e.kind == m.kind
                        && ((e.category == "deliver" && e.from == Some(m.from) && e.node == m.to)
                            || (e.category == "drop" && e.node == m.from && e.to == Some(m.to)))
                })
            });
            assert!(gone.is_empty(), "{name} step {steps}: {gone:?} vanished without a trace event");
            for m in after.iter().filter(|m| !before.contains(m)) {
                assert_eq!(m.sent_at, now, "{name}: {m:?} entered the network when sent");
                assert!(m.deliver_at >= now);
            }
            before = after;
        }
        assert!(steps > 100, "{name}: {steps} steps");
        run.run_to_end();
        assert_eq!(run.trace_hash(), void_tests::trace_hash(name, seed).expect("runs"), "{name}");
    }
}
