//! The playground in headless Chromium: mounted into a fresh element, driven by clicks,
//! checked through the `data-*` hooks the end-to-end tests use too.
#![cfg(target_arch = "wasm32")]

mod common;

use common::{click, find, mount, native_hash, recorded, scenario, share, step, text};
use void_core::sim;
use void_web::model::Permalink;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::Element;

wasm_bindgen_test_configure!(run_in_browser);

/// Golden hashes when tests/golden/trace-hashes.json exists (copied by build.rs), else `{}`.
const GOLDEN: &str = include_str!(concat!(env!("OUT_DIR"), "/golden-trace-hashes.json"));

#[wasm_bindgen_test]
async fn every_node_is_drawn_with_its_hooks() {
    let root = mount("s=hlc-ping&seed=3").await;
    let nodes = root.query_selector_all("[data-node]").expect("a valid selector");
    let nodes_in_scenario = scenario("hlc-ping").nodes;
    assert_eq!(nodes.length(), nodes_in_scenario);
    for i in 0..nodes_in_scenario {
        let node = find(&root, &format!("[data-node=\"{i}\"]"));
        assert_eq!(node.get_attribute("data-state").as_deref(), Some("up"), "node {i}");
        assert_eq!(node.get_attribute("data-role").as_deref(), Some("node"), "node {i}");
    }
    let options = root.query_selector_all("[data-testid=scenario] option").expect("a valid selector");
    assert_eq!(options.length() as usize, sim::builtin().len());
    for testid in ["play", "step", "step-back", "seed", "speed", "share", "trace-hash", "event-index"] {
        find(&root, &format!("[data-testid={testid}]"));
    }
}

#[wasm_bindgen_test]
async fn step_moves_the_event_index_and_step_back_returns() {
    let root = mount("s=hlc-ping&seed=4").await;
    let start: u64 = text(&root, "event-index").parse().expect("a number");
    let start_hash = text(&root, "trace-hash");
    step(&root, 2).await;
    let after: u64 = text(&root, "event-index").parse().expect("a number");
    assert!(after > start, "{after} > {start}");
    assert_ne!(text(&root, "trace-hash"), start_hash);
    click(&root, "[data-testid=step-back]").await;
    click(&root, "[data-testid=step-back]").await;
    assert_eq!(text(&root, "event-index").parse::<u64>().expect("a number"), start);
    assert_eq!(text(&root, "trace-hash"), start_hash);
    assert!(!text(&root, "what-happened").is_empty());
}

#[wasm_bindgen_test]
async fn hash_at_the_end_of_hlc_ping_seed_7_matches_the_native_run() {
    let root = mount(&format!("s=hlc-ping&seed=7&at={}", u64::MAX)).await;
    let shown = text(&root, "trace-hash");
    assert_eq!(shown, native_hash("hlc-ping", 7), "same code, same scenario, same seed");
    let golden: serde_json::Value = serde_json::from_str(GOLDEN).expect("the golden file is JSON");
    if let Some(expected) = golden.get("hlc-ping/7").and_then(|v| v.as_str()) {
        assert_eq!(shown, expected, "the hash computed on x86_64 (tests/golden/trace-hashes.json)");
    }
}

/// Every pinned scenario and seed, simulated here in wasm32, against the hashes x86_64 wrote.
#[wasm_bindgen_test]
fn every_golden_trace_hash_matches_in_the_browser() {
    let golden: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(GOLDEN).expect("the golden file is JSON");
    let mut checked = 0;
    for (entry, expected) in &golden {
        let (name, seed) = entry.rsplit_once('/').expect("entries are scenario/seed");
        let seed: u64 = seed.parse().expect("a numeric seed");
        assert_eq!(native_hash(name, seed), expected.as_str().expect("a hex hash"), "{entry}");
        checked += 1;
    }
    assert!(golden.is_empty() || checked >= 2);
}

#[wasm_bindgen_test]
async fn crash_from_the_inspector_greys_the_node_and_the_link_keeps_it() {
    let root = mount("s=hlc-ping&seed=9").await;
    step(&root, 5).await;
    click(&root, "[data-node=\"2\"]").await;
    assert_eq!(find(&root, "[data-testid=inspector]").get_attribute("data-inspected").as_deref(), Some("2"));
    click(&root, "[data-testid=crash]").await;
    assert_eq!(find(&root, "[data-node=\"2\"]").get_attribute("data-state").as_deref(), Some("crashed"));
    click(&root, "[data-testid=step]").await;
    let hash = text(&root, "trace-hash");
    let events = text(&root, "event-index");

    let fragment = share(&root).await;
    let link = Permalink::decode(&fragment).expect("decodes").expect("not empty");
    assert_eq!((link.scenario.as_str(), link.seed), ("hlc-ping", 9));
    assert_eq!(link.at.to_string(), events);
    assert_eq!(link.faults.len(), 1);
    assert_eq!(Permalink::decode(&link.encode()).expect("decodes"), Some(link.clone()));

    let again = mount(&fragment).await;
    assert_eq!(text(&again, "trace-hash"), hash);
    assert_eq!(text(&again, "event-index"), events);
    assert_eq!(find(&again, "[data-node=\"2\"]").get_attribute("data-state").as_deref(), Some("crashed"));
}

#[wasm_bindgen_test]
async fn a_bad_link_is_explained_and_the_default_run_opens() {
    let root = mount("s=hlc-ping&seed=banana").await;
    let error = text(&root, "error");
    assert!(error.contains("seed=\"banana\""), "{error}");
    assert!(root.query_selector_all("[data-node]").expect("a valid selector").length() > 0);
}

/// The kinds of `elements`' `data-msg-type`, sorted.
fn msg_types(root: &Element, selector: &str) -> Vec<String> {
    let list = root.query_selector_all(selector).expect("a valid selector");
    let mut kinds: Vec<String> = (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<Element>().ok()?.get_attribute("data-msg-type"))
        .collect();
    kinds.sort();
    kinds
}

#[wasm_bindgen_test]
async fn messages_in_flight_are_drawn_with_their_types() {
    let at = 40;
    let root = mount(&format!("s=pbft-normal&seed=2&at={at}")).await;
    let mut run = recorded("pbft-normal", 2);
    run.run_events(at);
    assert_eq!(text(&root, "event-index"), run.event_count().to_string(), "the same position");
    let mut expected: Vec<String> = run.in_flight().iter().map(|m| m.kind.to_owned()).collect();
    expected.sort();
    assert!(!expected.is_empty(), "PBFT has messages in flight after {at} events");
    assert!(expected.len() <= void_web::model::MAX_DRAWN_MESSAGES);
    let selector = "[data-msg-state=in-flight][data-msg-type]";
    assert_eq!(msg_types(&root, selector), expected);
    let count = find(&root, "[data-testid=in-flight-count]");
    assert_eq!(count.get_attribute("data-total"), Some(expected.len().to_string()));
    assert_eq!(count.get_attribute("data-hidden").as_deref(), Some("0"));

    // Two more steps: the drawing follows the simulator's in-flight set.
    step(&root, 2).await;
    run.step();
    run.step();
    let mut expected: Vec<String> = run.in_flight().iter().map(|m| m.kind.to_owned()).collect();
    expected.sort();
    assert_eq!(msg_types(&root, selector), expected);
    for kind in &expected {
        assert!(
            ["Request", "PrePrepare", "Prepare", "Commit", "Reply", "Checkpoint"].contains(&kind.as_str()),
            "{kind} is a normal-case PBFT message"
        );
    }
}
