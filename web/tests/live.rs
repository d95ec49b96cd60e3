//! Live mode in the browser: a snapshot built from streamed node events and `/live/status`
//! is drawn by the same cluster view and space-time diagram as a simulated run.
#![cfg(target_arch = "wasm32")]

mod common;

use std::rc::Rc;

use common::{all, attr, count, document, settle};
use serde_json::json;
use void_web::components::{ClusterView, SpaceTime};
use void_web::live::LiveFeed;
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
