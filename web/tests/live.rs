//! Live mode in the browser: a snapshot built from streamed node events and `/live/status`
//! is drawn by the same cluster view and space-time diagram as a simulated run.
#![cfg(target_arch = "wasm32")]

mod common;

use std::rc::Rc;

use common::{all, attr, count, document, settle};
use serde_json::json;
use void_web::components::{ClusterView, LiveBar, SpaceTime, TopBar};
use void_web::live::{FLIGHT_US, LiveFeed, OVERDUE_US};
use void_web::model::Snapshot;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use yew::prelude::*;

wasm_bindgen_test_configure!(run_in_browser);

#[derive(Properties, PartialEq)]
struct Props {
    view: Rc<Snapshot>,
}

#[function_component(Live)]
fn live(props: &Props) -> Html {
    html! {
        <>
            <ClusterView view={props.view.clone()} shown_us={props.view.now_us} speed={1.0}
                selected={None::<u32>} dispatch={Callback::noop()} live=true />
            <SpaceTime view={props.view.clone()} />
        </>
    }
}

fn event(node: u32, index: u64, kind: &str) -> String {
    json!({"index": index, "time": index, "node": node, "category": "observe", "kind": kind, "from": null,
        "sent_at": null, "cause": null, "to": null, "hlc": null, "text": kind, "rejected": null})
    .to_string()
}

#[wasm_bindgen_test]
async fn the_live_cluster_is_drawn_with_its_states_and_lanes() {
    let mut feed = LiveFeed::default();
    for (i, node) in [0u32, 1, 2, 3, 4].into_iter().enumerate() {
        feed.push(&event(node, i as u64, "Prepared"), 1_000 * i as u64).expect("an event");
    }
    let status: Vec<serde_json::Value> = (0..4)
        .map(|i| match i {
            1 => json!({"id": 1, "alive": false, "status": null}),
            _ => json!({"id": i, "alive": true,
                "status": {"role": if i == 0 { "primary" } else { "backup" }, "view": 0, "hlc": "1.0"}}),
        })
        .collect();
    let root = document().create_element("div").expect("a div");
    document().body().expect("a body").append_child(&root).expect("appended");
    let view = Rc::new(feed.snapshot(&status, 5_000));
    yew::Renderer::<Live>::with_root_and_props(root.clone(), Props { view }).render();
    settle().await;

    let states: Vec<String> =
        all(&root, "[data-node]").iter().map(|e| e.get_attribute("data-state").unwrap_or_default()).collect();
    assert_eq!(states, ["up", "crashed", "up", "up", "up"], "4 replicas and the client seen in events");
    assert_eq!(attr(&root, "[data-node=\"0\"]", "data-role"), "primary");
    assert_eq!(attr(&root, "[data-node=\"4\"]", "data-role"), "client");
    assert_eq!(count(&root, ".spacetime [data-lane]"), 5);
    assert_eq!(count(&root, ".spacetime .st-event"), 5, "one dot per live event");
    root.remove();
}

fn message(category: &str, node: u32, other: u32, id: u64, kind: &str) -> String {
    let (from, to) = if category == "send" { (None, Some(other)) } else { (Some(other), None) };
    json!({"index": id, "time": 1, "node": node, "category": category, "kind": kind, "from": from,
        "sent_at": null, "cause": null, "id": id, "to": to, "hlc": null, "text": "", "rejected": null})
    .to_string()
}

fn mount_live(view: Snapshot) -> web_sys::Element {
    let root = document().create_element("div").expect("a div");
    document().body().expect("a body").append_child(&root).expect("appended");
    yew::Renderer::<Live>::with_root_and_props(root.clone(), Props { view: Rc::new(view) }).render();
    root
}

#[wasm_bindgen_test]
async fn sends_not_yet_delivered_fly_between_the_nodes_and_overdue_ones_fade() {
    let mut feed = LiveFeed::default();
    let status: Vec<serde_json::Value> =
        (0..4).map(|i| json!({"id": i, "alive": true, "status": {"role": "backup", "view": 0}})).collect();
    let late = FLIGHT_US + (OVERDUE_US - FLIGHT_US) / 2;
    feed.push(&message("send", 0, 2, 7, "Prepare"), 1_000).expect("an event");
    feed.push(&message("send", 1, 3, 8, "Commit"), late - FLIGHT_US / 2).expect("an event");
    feed.push(&message("send", 2, 1, 9, "Reply"), late - 1_000).expect("an event");
    // The Reply is delivered: it still finishes its flight.
    feed.push(&message("deliver", 1, 2, 9, "Reply"), late - 500).expect("an event");
    let root = mount_live(feed.snapshot(&status, 1_000 + late));
    settle().await;

    let kinds: Vec<String> = all(&root, "[data-inflight]")
        .iter()
        .map(|e| e.get_attribute("data-msg-type").unwrap_or_default())
        .collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    for kind in ["Prepare", "Commit", "Reply"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in flight: {kinds:?}");
    }
    // The Prepare's delivery is overdue: it fades at the receiver; the others are opaque.
    let opacity: f64 =
        attr(&root, "[data-inflight][data-msg-type=Prepare]", "opacity").parse().expect("a number");
    assert!((opacity - 0.5).abs() < 0.02, "{opacity}");
    assert_eq!(count(&root, "[data-inflight][data-msg-type=Commit][opacity]"), 0);
    // Half way along its link, the Commit is between node 1 and node 3.
    let head = |kind: &str, axis: &str| -> f64 {
        attr(&root, &format!("[data-inflight][data-msg-type={kind}] .msg-head"), axis)
            .parse()
            .expect("a number")
    };
    let node = |i: u32| void_web::components::ring_position(i, 4);
    let (x, y) = (head("Commit", "cx"), head("Commit", "cy"));
    let (a, b) = (node(1), node(3));
    assert!((x - (a.0 + b.0) / 2.0).abs() < 40.0 && (y - (a.1 + b.1) / 2.0).abs() < 40.0, "({x}, {y})");
    assert_eq!(attr(&root, "[data-testid=in-flight-count]", "data-total"), "3");
    root.remove();
}

#[derive(Properties, PartialEq)]
struct BarProps {
    view: Rc<Snapshot>,
}

/// The top bar as the page uses it: live until "leave live" is pressed.
#[function_component(Bar)]
fn bar(props: &BarProps) -> Html {
    let live = use_state(|| Some(LiveBar { nodes: 4, down: 0, events_per_s: 37.0 }));
    let leave = {
        let live = live.clone();
        Callback::from(move |()| live.set(None))
    };
    html! {
        <TopBar view={props.view.clone()} shown_us={0} playing={false} speed={1.0} dispatch={Callback::noop()}
            on_share={Callback::noop()} large_text={false} on_large_text={Callback::noop()}
            live={(*live).clone()} on_leave_live={leave} />
    }
}

#[wasm_bindgen_test]
async fn the_top_bar_says_live_and_hides_the_run_controls_until_left() {
    let root = document().create_element("div").expect("a div");
    document().body().expect("a body").append_child(&root).expect("appended");
    let view = Rc::new(LiveFeed::default().snapshot(&[], 0));
    yew::Renderer::<Bar>::with_root_and_props(root.clone(), BarProps { view }).render();
    settle().await;
    let status = common::text(&root, "live-status");
    assert_eq!(status, "● live: 4 native nodes · 37 events/s");
    let run_controls =
        ["scenario", "seed", "step-back", "play", "step", "restart", "speed", "trace-hash", "share"];
    for testid in run_controls {
        assert_eq!(count(&root, &format!("[data-testid={testid}]")), 0, "{testid} hidden while live");
    }
    assert_eq!(count(&root, "[data-testid=large-text]"), 1, "large text still works");
    common::click(&root, "[data-testid=leave-live]").await;
    assert_eq!(count(&root, "[data-testid=live-status]"), 0);
    for testid in run_controls {
        assert_eq!(count(&root, &format!("[data-testid={testid}]")), 1, "{testid} back");
    }
    root.remove();
}
