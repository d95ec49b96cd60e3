//! Built-in scenarios and the protocol dispatch.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::scenario::{Scenario, ScenarioError};
use super::world::{AnySim, Sim};

/// Built-in scenarios: name and JSON document. The same files ship with the playground.
const BUILTINS: &[(&str, &str)] = &[
    ("hlc-ping", include_str!("../../scenarios/hlc-ping.json")),
    ("clock-skew", include_str!("../../scenarios/clock-skew.json")),
    ("pbft-normal", include_str!("../../scenarios/pbft-normal.json")),
    ("pbft-primary-crash", include_str!("../../scenarios/pbft-primary-crash.json")),
    ("pbft-byzantine", include_str!("../../scenarios/pbft-byzantine.json")),
    ("pbft-state-transfer", include_str!("../../scenarios/pbft-state-transfer.json")),
    ("pbft-too-many-faults", include_str!("../../scenarios/pbft-too-many-faults.json")),
    ("plumtree", include_str!("../../scenarios/plumtree.json")),
    ("flood", include_str!("../../scenarios/flood.json")),
    ("plumtree-churn", include_str!("../../scenarios/plumtree-churn.json")),
    ("plumtree-partition", include_str!("../../scenarios/plumtree-partition.json")),
];

/// Protocols the simulator knows, by the name scenarios use.
pub const PROTOCOLS: &[&str] = &["hlc-ping", "pbft", "gossip"];

/// A built-in scenario.
#[derive(Clone, Debug)]
pub struct BuiltinScenario {
    pub name: &'static str,
    pub summary: String,
    pub json: &'static str,
}

pub fn builtin_names() -> Vec<&'static str> {
    BUILTINS.iter().map(|(n, _)| *n).collect()
}

pub fn load_builtin(name: &str) -> Option<&'static str> {
    BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, j)| *j)
}

pub fn builtin() -> Vec<BuiltinScenario> {
    BUILTINS
        .iter()
        .map(|(name, json)| BuiltinScenario {
            name,
            summary: serde_json::from_str::<serde_json::Value>(json)
                .ok()
                .and_then(|v| v.get("summary").and_then(|s| s.as_str()).map(String::from))
                .unwrap_or_default(),
            json,
        })
        .collect()
}

/// Build a run of `scenario` with `seed`; `record` keeps every event (display, dump).
pub fn build(scenario: &Scenario, seed: u64, record: bool) -> Result<Box<dyn AnySim>, ScenarioError> {
    match scenario.protocol.as_str() {
        "hlc-ping" => Ok(Box::new(Sim::<crate::hlc_ping::HlcPing>::new(scenario, seed, record)?)),
        "pbft" => Ok(Box::new(Sim::<crate::pbft::PbftNode>::new(scenario, seed, record)?)),
        "gossip" => Ok(Box::new(crate::gossip::simulate(scenario, seed, record)?)),
        other => Err(ScenarioError::field(
            "protocol",
            format!("unknown protocol {other:?}; known: {}", PROTOCOLS.join(", ")),
        )),
    }
}

/// A recorded run's trace as JSON lines, one event each: the `--dump-trace` format, which
/// the command line and the playground both write with this function.
pub fn trace_jsonl(sim: &dyn AnySim) -> String {
    let mut out = String::new();
    for i in 0..sim.event_count() {
        if let Some(line) = sim.event_json(i) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// Re-reads a JSON-lines trace of `protocol` and returns its event count and trace hash.
pub fn rehash_trace(protocol: &str, text: &str) -> Result<(u64, String), String> {
    match protocol {
        "hlc-ping" => super::trace::rehash_jsonl::<crate::hlc_ping::HlcPing>(text),
        "pbft" => super::trace::rehash_jsonl::<crate::pbft::PbftNode>(text),
        "gossip" => super::trace::rehash_jsonl::<crate::gossip::GossipNode>(text),
        other => Err(format!("unknown protocol {other:?}; known: {}", PROTOCOLS.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_trace_reads_back_to_the_same_hash() {
        for name in ["hlc-ping", "pbft-byzantine", "plumtree-churn"] {
            let s = Scenario::from_json(load_builtin(name).unwrap()).unwrap();
            let mut run = build(&s, 2, true).unwrap();
            run.run_events(3_000);
            let text = trace_jsonl(&*run);
            assert_eq!(text.lines().count() as u64, run.event_count(), "{name}");
            let read = rehash_trace(&s.protocol, &text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(read, (run.event_count(), run.trace_hash()), "{name}");
        }
    }

    #[test]
    fn a_crash_at_zero_keeps_the_node_down_from_the_start_until_its_restart() {
        let mut doc: serde_json::Value = serde_json::from_str(load_builtin("hlc-ping").unwrap()).unwrap();
        doc["faults"] = serde_json::json!([
            {"kind": "crash", "at_ms": 0, "node": 2},
            {"kind": "restart", "at_ms": 5, "node": 2}
        ]);
        let s = Scenario::from_json(&serde_json::to_string(&doc).unwrap()).unwrap();
        let mut run = build(&s, 1, true).unwrap();
        run.run_to_end();
        let mine: alloc::vec::Vec<_> =
            (0..run.event_count()).filter_map(|i| run.event(i)).filter(|e| e.node == 2).collect();
        assert_eq!((mine[0].kind.as_str(), mine[0].time), ("Crash", 0), "{:?}", mine[0]);
        assert_eq!((mine[1].kind.as_str(), mine[1].time), ("Restart", 5_000), "{:?}", mine[1]);
        assert!(!mine.iter().any(|e| e.kind == "Start"), "node 2 never booted as new");
        assert!(mine.len() > 2, "it runs after its restart");
    }

    #[test]
    fn a_pbft_scenario_that_breaks_its_assumptions_says_so() {
        let notes = |name: &str, bound: Option<u64>| {
            let mut s = Scenario::from_json(load_builtin(name).unwrap()).unwrap();
            if let Some(ms) = bound {
                s.params["liveness_bound_ms"] = ms.into();
            }
            build(&s, 1, false).unwrap().notes().to_vec()
        };
        assert!(notes("pbft-normal", None).is_empty());
        let more_than_f = notes("pbft-too-many-faults", None);
        assert_eq!(more_than_f.len(), 1, "{more_than_f:?}");
        assert!(more_than_f[0].contains("more than f = 1"), "{more_than_f:?}");
        let vacuous = notes("pbft-normal", Some(4000));
        assert!(vacuous.len() == 1 && vacuous[0].contains("cannot fire"), "{vacuous:?}");
    }

    #[test]
    fn an_events_brief_agrees_with_its_view() {
        for name in ["hlc-ping", "pbft-byzantine", "plumtree-churn"] {
            let s = Scenario::from_json(load_builtin(name).unwrap()).unwrap();
            let mut run = build(&s, 3, true).unwrap();
            run.run_events(5_000);
            let mut rejected = 0;
            for i in 0..run.event_count() {
                let (b, v) = (run.event_brief(i).unwrap(), run.event(i).unwrap());
                assert_eq!((b.index, b.time, b.node), (v.index, v.time, v.node), "{name} #{i}");
                assert_eq!((b.category, b.kind), (v.category.as_str(), v.kind.as_str()), "{name} #{i}");
                assert_eq!(b.rejected, v.rejected, "{name} #{i}");
                rejected += usize::from(b.rejected.is_some());
            }
            assert!(name != "pbft-byzantine" || rejected > 0, "the Byzantine run refuses messages");
        }
    }

    #[test]
    fn a_trace_with_a_gap_or_of_another_protocol_is_refused() {
        let s = Scenario::from_json(load_builtin("hlc-ping").unwrap()).unwrap();
        let mut run = build(&s, 1, true).unwrap();
        run.run_events(20);
        let text = trace_jsonl(&*run);
        let gap: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
        let err = rehash_trace("hlc-ping", &gap).unwrap_err();
        assert!(err.contains("line 1: event 1 where event 0 was expected"), "{err}");
        assert!(rehash_trace("pbft", &text).unwrap_err().starts_with("line "));
        assert!(rehash_trace("paxos", &text).unwrap_err().contains("unknown protocol"));
    }

    #[test]
    fn every_builtin_parses_and_builds() {
        for b in builtin() {
            let s = Scenario::from_json(b.json).unwrap_or_else(|e| panic!("{}: {e}", b.name));
            assert_eq!(s.name, b.name);
            assert!(!b.summary.is_empty(), "{} has no summary", b.name);
            let run = build(&s, 1, false).unwrap_or_else(|e| panic!("{}: {e}", b.name));
            // Every behaviour a fault may name is explained, in the same order.
            let (names, summaries) = (run.behaviours(), run.behaviour_summaries());
            assert_eq!(names.len(), summaries.len(), "{}: {names:?} against {summaries:?}", b.name);
            assert_eq!(names.first(), Some(&"honest"), "{}", b.name);
            assert!(summaries.iter().all(|s| !s.is_empty()), "{}", b.name);
            // Every invariant checked says what it promises, as a clause ("It promises that …").
            let invariants = run.invariants();
            assert!(!invariants.is_empty(), "{} checks nothing", b.name);
            for crate::check::InvariantInfo { name, about, .. } in invariants {
                assert!(about.len() > 20 && !about.ends_with('.'), "{}: {name}: {about:?}", b.name);
                assert!(about.starts_with(|c: char| c.is_lowercase()), "{}: {name}: {about:?}", b.name);
            }
        }
    }
}
