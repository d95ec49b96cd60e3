//! The playground in headless Chromium: mounted into a fresh element, driven by clicks,
//! checked through the `data-*` hooks the end-to-end tests use too.
#![cfg(target_arch = "wasm32")]

mod common;

use common::{click, find, mount, native_hash, recorded, scenario, share, step, text};
use void_core::sim;
use void_web::model::Permalink;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Element, HtmlInputElement};

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

/// The inspector's clock slider: pick an amount, jump, and the fault is in the run's link.
#[wasm_bindgen_test]
async fn the_clock_slider_jumps_a_node_by_the_chosen_amount() {
    let root = mount("s=hlc-ping&seed=9").await;
    step(&root, 5).await;
    click(&root, "[data-node=\"1\"]").await;
    let slider: web_sys::HtmlInputElement = find(&root, "[data-testid=skew]").dyn_into().expect("an input");
    slider.set_value("-250");
    slider.dispatch_event(&web_sys::Event::new("input").expect("an event")).expect("dispatched");
    common::settle().await;
    assert_eq!(text(&root, "skew-value"), "-250 ms");
    click(&root, "[data-testid=skew-apply]").await;
    let link = Permalink::decode(&share(&root).await).expect("decodes").expect("not empty");
    assert!(
        matches!(link.faults.as_slice(), [sim::Fault::ClockJump { node: 1, by_ms: -250, .. }]),
        "{:?}",
        link.faults
    );
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
async fn the_node_menu_makes_a_replica_byzantine_with_any_behaviour() {
    // Replicas 0 and 3 collude from the start (the scenario's parameters): drawn so at once.
    let root = mount("s=pbft-too-many-faults&seed=1").await;
    step(&root, 3).await;
    let state =
        |root: &Element, i: u32| find(root, &format!("[data-node=\"{i}\"]")).get_attribute("data-state");
    assert_eq!(state(&root, 0).as_deref(), Some("byzantine"));
    assert_eq!(state(&root, 2).as_deref(), Some("up"));
    common::mouse(&find(&root, "[data-node=\"2\"]"), "contextmenu", (300, 300), 2).await;
    let offered: Vec<String> = common::all(&root, "[data-testid=make-byzantine] button")
        .iter()
        .map(|b| b.text_content().unwrap_or_default())
        .collect();
    assert!(
        offered.contains(&"equivocate".to_owned()) && offered.contains(&"forge".to_owned()),
        "{offered:?}"
    );
    assert!(!offered.contains(&"honest".to_owned()), "{offered:?}");
    let equivocate = common::all(&root, "[data-testid=make-byzantine] button")
        .into_iter()
        .find(|b| b.text_content().as_deref() == Some("equivocate"))
        .expect("offered");
    // Each behaviour says what it does, in the protocol's words.
    let title = equivocate.get_attribute("title").unwrap_or_default();
    assert!(title.contains("different pre-prepares"), "{title:?}");
    equivocate.dyn_into::<web_sys::HtmlElement>().expect("a button").click();
    common::settle().await;
    click(&root, "[data-testid=step]").await;
    assert_eq!(state(&root, 2).as_deref(), Some("byzantine"));
    let fragment = share(&root).await;
    let again = mount(&fragment).await;
    assert_eq!(state(&again, 2).as_deref(), Some("byzantine"), "the link keeps the fault");
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

#[wasm_bindgen_test]
async fn the_key_explains_the_marks_on_screen_and_clients_look_different() {
    let root = mount("s=pbft-normal&seed=3&at=30").await;
    let legend = |key: &str| common::count(&root, &format!("[data-testid=node-legend] [data-legend={key}]"));
    assert_eq!((legend("node"), legend("client"), legend("primary")), (1, 1, 1));
    assert_eq!(legend("crashed"), 0, "only marks on screen are explained");
    let clients = common::all(&root, "[data-role=client]");
    assert!(!clients.is_empty());
    for c in &clients {
        assert_eq!(find(c, ".node-body").tag_name(), "rect", "a client is a square");
    }
    assert_eq!(find(&root, "[data-role=primary] .node-body").tag_name(), "circle");

    click(&root, "[data-node=\"1\"]").await;
    click(&root, "[data-testid=crash]").await;
    assert_eq!(legend("crashed"), 1);
    common::mouse(&find(&root, "[data-node=\"2\"]"), "contextmenu", (300, 300), 2).await;
    click(&root, "[data-testid=isolate]").await;
    assert_eq!(legend("side"), 2, "both sides of the partition are named");
}

#[wasm_bindgen_test]
async fn a_dropped_message_and_the_stamps_read_as_sentences() {
    let root = mount("s=hlc-ping&seed=5").await;
    step(&root, 3).await;
    click(&root, "[data-node=\"2\"]").await;
    click(&root, "[data-testid=crash]").await;
    // Step until a message to the crashed node is dropped.
    let mut line = String::new();
    for _ in 0..200 {
        step(&root, 1).await;
        line = text(&root, "what-happened");
        if line.contains("dropped") {
            break;
        }
    }
    assert!(line.contains("was dropped: node 2 is down"), "{line}");
    assert!(!line.contains("is destination"), "{line}");
    let stamps = common::all(&root, ".ev-hlc");
    assert!(!stamps.is_empty());
    for s in stamps.iter().filter(|s| !s.text_content().unwrap_or_default().is_empty()) {
        let shown = s.text_content().unwrap_or_default();
        assert!(shown.starts_with('(') && shown.ends_with(')') && shown.contains(" ms, "), "{shown}");
    }
    for dd in common::all(&root, ".facts dd") {
        let shown = dd.text_content().unwrap_or_default();
        assert!(!shown.contains("NodeId("), "{shown}");
    }
}

#[wasm_bindgen_test]
async fn large_text_makes_the_panels_text_bigger() {
    // The page's own stylesheet, which the test page does not load by itself.
    let style = common::document().create_element("style").expect("a style element");
    style.set_text_content(Some(include_str!("../../www/style.css")));
    common::document().head().expect("a head").append_child(&style).expect("appended");
    let root = mount("s=hlc-ping&seed=1").await;
    let heading = || find(&root, ".panel h2").get_bounding_client_rect().height();
    // SVG text too: node text in the cluster view, lane names in the space-time diagram.
    // Measured against something of a fixed size in the same drawing, since the drawings
    // are scaled to fit the page (which larger panel text changes).
    let height = |selector: &str| find(&root, selector).get_bounding_client_rect().height();
    let width = |selector: &str| find(&root, selector).get_bounding_client_rect().width();
    let svg_text = |selector: &str| match selector {
        // Text heights are whole pixels: a line of node text is wide enough to measure.
        ".node-hlc" => width(selector) / height("[data-node=\"0\"] .node-body"),
        _ => height(selector) / width(".spacetime-svg"),
    };
    let (node_before, lane_before) = (svg_text(".node-hlc"), svg_text(".lane text"));
    let before = heading();
    click(&root, "[data-testid=large-text]").await;
    assert!(svg_text(".node-hlc") > node_before * 1.1, "{} > {node_before}", svg_text(".node-hlc"));
    assert!(svg_text(".lane text") > lane_before * 1.1, "{} > {lane_before}", svg_text(".lane text"));
    assert!(find(&root, ".playground").class_name().contains("large-text"));
    assert_eq!(
        find(&root, "[data-testid=large-text]").get_attribute("aria-pressed").as_deref(),
        Some("true")
    );
    assert!(heading() > before * 1.1, "{} > {before}", heading());
    // A page opened again (a reload) starts large, as it was left.
    let again = common::document().create_element("div").expect("a div");
    common::document().body().expect("a body").append_child(&again).expect("appended");
    yew::Renderer::<void_web::components::App>::with_root(again.clone()).render();
    common::settle().await;
    assert!(find(&again, ".playground").class_name().contains("large-text"), "remembered");
    again.remove();
    click(&root, "[data-testid=large-text]").await;
    assert!((heading() - before).abs() < 0.5);
    style.remove();
}

#[wasm_bindgen_test]
async fn a_small_plumtree_draws_its_tree_eager_solid_and_lazy_dashed() {
    let mut doc: serde_json::Value =
        serde_json::from_str(sim::load_builtin("plumtree").expect("built in")).expect("JSON");
    doc["nodes"] = 12.into();
    doc["name"] = "plumtree-12".into();
    let at = 1_500;
    let link = Permalink {
        scenario: "plumtree-12".into(),
        seed: 2,
        at,
        faults: Vec::new(),
        custom: Some(doc.to_string()),
    };
    let root = mount(&link.encode()).await;
    let mut run =
        sim::build(&sim::Scenario::from_json(&doc.to_string()).expect("valid"), 2, true).expect("builds");
    run.run_events(at);
    assert_eq!(text(&root, "event-index"), run.event_count().to_string());
    let tree = void_web::components::tree_links(&run.nodes());
    let eager = tree.iter().filter(|l| l.2).count();
    assert!(eager > 0, "{tree:?}");
    assert_eq!(common::count(&root, "[data-link=eager]") as usize, eager);
    assert_eq!(common::count(&root, "[data-link=lazy]") as usize, tree.len() - eager);

    // The first broadcast: its sender ringed, and each node it reached.
    run.run_to_end();
    let first = (0..run.event_count())
        .filter_map(|i| run.event(i))
        .find(|e| e.kind == "Delivered" && e.text.ends_with(" after 0 hop(s)"))
        .expect("the run broadcasts");
    let at = first.index + 1;
    let link = Permalink { at, ..link };
    let root = mount(&link.encode()).await;
    let origin = root.query_selector_all("[data-reached=origin]").expect("a valid selector");
    assert_eq!(origin.length(), 1);
    let origin = origin.item(0).and_then(|n| n.dyn_into::<Element>().ok()).expect("an element");
    assert_eq!(origin.get_attribute("data-node"), Some(first.node.to_string()));
    find(&root, "[data-legend=origin]");
    let later = mount(&Permalink { at: at + 400, ..link }.encode()).await;
    assert!(common::count(&later, "[data-reached=reached]") > 0, "the broadcast spread");
}

#[wasm_bindgen_test]
async fn the_partition_scenario_tints_its_sides_while_split() {
    // plumtree-partition's split is planned from `params.partition` (6 s to 9 s, half the
    // nodes each side); 12 nodes keep it in SVG.
    let mut doc: serde_json::Value =
        serde_json::from_str(sim::load_builtin("plumtree-partition").expect("built in")).expect("JSON");
    doc["nodes"] = 12.into();
    doc["name"] = "plumtree-partition-12".into();
    let scenario = sim::Scenario::from_json(&doc.to_string()).expect("valid");
    let event_at = |us: u64| {
        let mut run = sim::build(&scenario, 1, true).expect("builds");
        while run.now() < us && run.step() {}
        run.event_count()
    };
    let link = |at: u64| Permalink {
        scenario: "plumtree-partition-12".into(),
        seed: 1,
        at,
        faults: Vec::new(),
        custom: Some(doc.to_string()),
    };
    let split = mount(&link(event_at(6_500_000)).encode()).await;
    let sides: Vec<String> = common::all(&split, "[data-side]")
        .iter()
        .map(|e| e.get_attribute("data-side").unwrap_or_default())
        .collect();
    assert_eq!(sides.len(), 12, "{sides:?}");
    assert_eq!(sides.iter().filter(|s| *s == "0").count(), 6, "{sides:?}");
    assert_eq!(sides.iter().filter(|s| *s == "1").count(), 6, "{sides:?}");
    assert_eq!(
        common::count(&split, "[data-testid=heal]"),
        0,
        "the scenario's own split is not the user's to heal"
    );
    let before = mount(&link(event_at(5_500_000)).encode()).await;
    assert_eq!(common::count(&before, "[data-side]"), 0, "not split yet");
}

#[wasm_bindgen_test]
async fn a_violation_comes_first_with_its_replay_command_and_its_event_marked() {
    let mut run = recorded("pbft-too-many-faults", 1);
    run.run_to_end();
    let step = run.violation().expect("f + 1 colluding replicas break agreement").step;
    let root = mount(&format!("s=pbft-too-many-faults&seed=1&at={}", run.event_count())).await;
    let first = find(&root, "aside.side").first_element_child().expect("a panel");
    assert!(first.class_name().contains("invariants"), "{}", first.class_name());
    assert!(first.query_selector("[data-testid=violation]").expect("a valid selector").is_some());
    assert_eq!(text(&root, "replay"), "void sim pbft-too-many-faults --seed 1");
    // Every invariant the run checks is listed; the broken one is marked.
    let statuses = |root: &Element| -> Vec<(String, String)> {
        common::all(root, "[data-invariant]")
            .iter()
            .map(|e| {
                (
                    e.get_attribute("data-invariant").unwrap_or_default(),
                    e.get_attribute("data-status").unwrap_or_default(),
                )
            })
            .collect()
    };
    let listed = statuses(&root);
    let infos = run.invariants();
    let names: Vec<&str> = infos.iter().map(|i| i.name).collect();
    assert_eq!(listed.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), names);
    let broken = run.violation().expect("a violation").invariant.clone();
    // The run stopped early: what only the end of a run decides stays undecided.
    assert!(infos.iter().any(|i| i.at_end), "PBFT judges liveness at the end");
    for (info, (name, status)) in infos.iter().zip(&listed) {
        let expected = if *name == broken {
            "violated"
        } else if info.at_end {
            "pending"
        } else {
            "holds"
        };
        assert_eq!(status, expected, "{name}");
    }
    let marked: Vec<u64> = (0..8)
        .filter_map(|i| root.query_selector_all(".events .violation[data-index]").ok()?.item(i))
        .filter_map(|n| n.dyn_into::<Element>().ok()?.get_attribute("data-index")?.parse().ok())
        .collect();
    let violation = run.violation().expect("a violation");
    let mut expected = void_web::format::violation_events(violation);
    assert!(expected.len() > 1, "the message cites the conflicting commit: {}", violation.message);
    let mut marked_sorted = marked.clone();
    marked_sorted.sort_unstable();
    expected.sort_unstable();
    assert_eq!(marked_sorted, expected, "the failing event and the one it conflicts with");
    let dots = root.query_selector_all(".spacetime .st-event.violation").expect("a valid selector").length();
    assert_eq!(dots as usize, expected.len());
    // The panel links to this moment itself.
    click(&root, "[data-testid=violation-link]").await;
    let url = find(&root, "[data-testid=permalink]")
        .dyn_into::<web_sys::HtmlInputElement>()
        .expect("an input")
        .value();
    assert!(url.contains(&format!("at={}", run.event_count())), "{url}");
    // A step back leaves the violation ahead, one click away.
    click(&root, "[data-testid=step-back]").await;
    common::arrived(&root).await;
    assert_eq!(common::count(&root, "[data-testid=violation]"), 0);
    assert!(
        text(&root, "violation-ahead").contains(&format!("event #{step}")),
        "{}",
        text(&root, "violation-ahead")
    );
    assert!(statuses(&root).contains(&(broken.clone(), "later".into())), "{:?}", statuses(&root));
    click(&root, "[data-testid=go-violation]").await;
    common::arrived(&root).await;
    assert_eq!(common::events(&root), run.event_count());
    assert_eq!(common::count(&root, "[data-testid=violation]"), 1);
    // Well before it, the invariants sit below the inspector again.
    let before = mount(&format!("s=pbft-too-many-faults&seed=1&at={}", step / 2)).await;
    let first = find(&before, "aside.side").first_element_child().expect("a panel");
    assert!(first.class_name().contains("inspector"), "{}", first.class_name());
}

#[wasm_bindgen_test]
async fn the_address_bar_follows_a_scenario_chosen_in_the_page_and_the_share_bar_closes() {
    let root = mount("s=hlc-ping&seed=3&at=40").await;
    let shared = share(&root).await;
    assert!(root.query_selector("[data-testid=notice]").expect("a valid selector").is_some());
    assert!(shared.contains("s=hlc-ping"), "{shared}");
    let picker =
        find(&root, "[data-testid=scenario]").dyn_into::<web_sys::HtmlSelectElement>().expect("a select");
    picker.set_value("pbft-normal");
    common::changed(&picker);
    common::settle().await;
    assert!(
        root.query_selector("[data-testid=notice]").expect("a valid selector").is_none(),
        "the old link is gone"
    );
    let hash = web_sys::window().expect("a window").location().hash().expect("a hash");
    let link = Permalink::decode(&hash).expect("decodes").expect("not empty");
    assert_eq!((link.scenario.as_str(), link.seed), ("pbft-normal", 3), "{hash}");
}

#[wasm_bindgen_test]
async fn a_scenario_picked_hands_the_keys_back_and_a_shared_link_says_when_the_run_moved_on() {
    let root = mount("s=hlc-ping&seed=3&at=40").await;
    let picker =
        find(&root, "[data-testid=scenario]").dyn_into::<web_sys::HtmlSelectElement>().expect("a select");
    picker.focus().expect("focusable");
    picker.set_value("pbft-normal");
    common::changed(&picker);
    common::settle().await;
    let focused = common::document().active_element().map(|e| e.tag_name()).unwrap_or_default();
    assert_ne!(focused, "SELECT", "→ must step, not pick the next scenario");
    // PBFT has no overlay to lay out by force: the ring only.
    assert_eq!(common::count(&root, "[data-testid=layout]"), 0);
    // Its view changes and state transfers can be looked for ahead.
    let moments =
        find(&root, "[data-testid=moments]").dyn_into::<web_sys::HtmlSelectElement>().expect("a select");
    let before: u64 = text(&root, "event-index").parse().expect("a number");
    moments.set_value("next");
    common::changed(&moments);
    common::settle().await;
    let after: u64 = text(&root, "event-index").parse().expect("a number");
    assert!(after > before, "went on from {before}");

    share(&root).await;
    assert_eq!(common::count(&root, "[data-testid=permalink-stale]"), 0);
    step(&root, 2).await;
    assert_eq!(common::count(&root, "[data-testid=permalink-stale]"), 1, "the link names an earlier event");
    click(&root, "[data-testid=share-again]").await;
    assert_eq!(common::count(&root, "[data-testid=permalink-stale]"), 0);
    let url =
        find(&root, "[data-testid=permalink]").dyn_into::<HtmlInputElement>().expect("an input").value();
    assert!(url.contains(&format!("at={}", text(&root, "event-index"))), "{url}");
}

#[wasm_bindgen_test]
async fn the_address_bar_names_the_moment_and_the_faults_once_the_run_stands_still() {
    let root = mount("s=hlc-ping&seed=4&at=10").await;
    step(&root, 3).await;
    click(&root, "[data-node=\"1\"]").await;
    click(&root, "[data-testid=crash]").await;
    step(&root, 2).await;
    common::settle().await;
    let hash = web_sys::window().expect("a window").location().hash().expect("a hash");
    let link = Permalink::decode(&hash).expect("decodes").expect("not empty");
    assert_eq!((link.scenario.as_str(), link.seed), ("hlc-ping", 4), "{hash}");
    assert_eq!(link.at.to_string(), text(&root, "event-index"), "{hash}");
    assert_eq!(link.faults.len(), 1, "the crash is in the address: {hash}");
}

#[wasm_bindgen_test]
async fn the_space_time_caption_keys_the_kinds_of_its_arrows() {
    let root = mount("s=pbft-normal&seed=2&at=400").await;
    let keys: Vec<String> = common::all(&root, ".spacetime [data-key]")
        .iter()
        .filter_map(|k| k.get_attribute("data-key"))
        .collect();
    let drawn = common::count(&root, ".spacetime .st-msg");
    assert!(drawn > 0, "arrows are drawn");
    for kind in ["Commit", "Prepare"] {
        assert!(keys.iter().any(|k| k == kind), "{kind} is keyed: {keys:?}");
    }
}

#[wasm_bindgen_test]
async fn more_faulty_replicas_than_f_are_pointed_out() {
    let root = mount("s=pbft-normal&seed=1&at=50").await;
    assert_eq!(common::count(&root, "[data-testid=beyond-f]"), 0, "one fault at most: nothing to say");
    let root = mount("s=pbft-too-many-faults&seed=1&at=5").await;
    let note = find(&root, "[data-testid=beyond-f]").text_content().unwrap_or_default();
    assert!(note.contains("2 of 4 replicas") && note.contains("f = 1"), "{note}");
}

#[wasm_bindgen_test]
async fn requests_waiting_on_a_stalled_cluster_are_pointed_out() {
    let root = mount("s=pbft-normal&seed=1&at=50").await;
    assert_eq!(common::count(&root, "[data-testid=stalled]"), 0, "a healthy start");
    let root = mount("s=pbft-byzantine&seed=3&at=885").await;
    let note = find(&root, "[data-testid=stalled]").text_content().unwrap_or_default();
    assert!(note.contains("client requests waiting"), "{note}");
}

#[wasm_bindgen_test]
async fn end_of_run_checks_before_the_failing_one_are_shown_as_held() {
    // Two of four replicas crash: requests stall, and liveness fails once the run is over.
    let faults =
        vec![sim::Fault::Crash { at_ms: 100.0, node: 1 }, sim::Fault::Crash { at_ms: 100.0, node: 2 }];
    let link = Permalink {
        scenario: "pbft-normal".into(),
        seed: 1,
        at: void_web::model::AT_END,
        faults,
        custom: None,
    };
    let root = mount(&link.encode()).await;
    let status = |name: &str| common::attr(&root, &format!("[data-invariant={name}]"), "data-status");
    assert_eq!(status("liveness"), "violated");
    // Linearizability is judged at the end too, before liveness: it held.
    assert_eq!(status("linearizability"), "holds");
    assert_eq!(status("agreement"), "holds");
}
