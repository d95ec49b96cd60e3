//! Changing the run by hand in headless Chromium: network faults by gesture (drag from node
//! to node breaks a link, shift-drag lassoes a partition, "heal network" ends both) and the
//! scenario editor; the permalink keeps all of it.
#![cfg(target_arch = "wasm32")]

mod common;

use common::{click, count, find, mount, pointer, settle, share, step, text};
use void_web::model::Permalink;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Element, HtmlSelectElement, HtmlTextAreaElement};

wasm_bindgen_test_configure!(run_in_browser);

/// Page coordinates of the centre of node `i`.
fn centre(root: &Element, i: u32) -> (f64, f64) {
    let rect = find(root, &format!("[data-node=\"{i}\"] .node-body")).get_bounding_client_rect();
    (rect.left() + rect.width() / 2.0, rect.top() + rect.height() / 2.0)
}

fn states(root: &Element) -> Vec<String> {
    (0..5)
        .map(|i| find(root, &format!("[data-node=\"{i}\"]")).get_attribute("data-state").unwrap_or_default())
        .collect()
}

#[wasm_bindgen_test]
async fn links_and_partitions_by_gesture_heal_and_travel_in_the_link() {
    let root = mount("s=hlc-ping&seed=2").await;
    step(&root, 5).await;
    let svg = find(&root, ".cluster-svg");

    // Drag from node 0 to node 2: the link menu opens; cut the link.
    let (from, to) = (centre(&root, 0), centre(&root, 2));
    pointer(&find(&root, "[data-node=\"0\"]"), "pointerdown", from, false);
    pointer(&svg, "pointermove", ((from.0 + to.0) / 2.0, (from.1 + to.1) / 2.0), false);
    pointer(&svg, "pointermove", to, false);
    pointer(&find(&root, "[data-node=\"2\"]"), "pointerup", to, false);
    settle().await;
    assert_eq!(count(&root, "[data-testid=link-menu]"), 1, "the link menu opens");
    click(&root, "[data-testid=link-menu] li:first-child button").await;
    assert_eq!(count(&root, "[data-testid=link-menu]"), 0);
    let broken = find(&root, "[data-testid=broken-link]");
    assert_eq!(broken.get_attribute("data-from").as_deref(), Some("0"));
    assert_eq!(broken.get_attribute("data-to").as_deref(), Some("2"));
    assert!(broken.text_content().unwrap_or_default().contains("cut"));
    assert_eq!(states(&root), vec!["up"; 5], "a broken link is not a partition");

    // Shift-drag a box around node 1 only: it is split off.
    let (x, y) = centre(&root, 1);
    pointer(&svg, "pointerdown", (x - 25.0, y - 25.0), true);
    for p in [(x + 25.0, y - 25.0), (x + 25.0, y + 25.0), (x - 25.0, y + 25.0)] {
        pointer(&svg, "pointermove", p, true);
    }
    pointer(&svg, "pointerup", (x - 25.0, y + 25.0), true);
    settle().await;
    assert_eq!(states(&root), vec!["partitioned"; 5]);
    let sides: Vec<String> = (0..5)
        .map(|i| {
            let region = root.query_selector_all("[data-side]").expect("regions").get(i).expect("a region");
            region.dyn_into::<Element>().expect("an element").get_attribute("data-side").unwrap_or_default()
        })
        .collect();
    assert_eq!(sides, vec!["0", "1", "0", "0", "0"]);
    step(&root, 20).await;

    // The permalink carries the partition and both directions of the cut.
    let fragment = share(&root).await;
    let link = Permalink::decode(&fragment).expect("decodes").expect("not empty");
    assert_eq!(link.faults.len(), 3, "{:?}", link.faults);
    let again = mount(&fragment).await;
    assert_eq!(text(&again, "trace-hash"), text(&root, "trace-hash"));
    assert_eq!(count(&again, "[data-side]"), 5);

    // Heal: the regions, the broken link and the button go; nodes are up again.
    click(&root, "[data-testid=heal]").await;
    assert_eq!(count(&root, "[data-side]"), 0);
    assert_eq!(count(&root, "[data-testid=broken-link]"), 0);
    assert_eq!(count(&root, "[data-testid=heal]"), 0);
    assert_eq!(states(&root), vec!["up"; 5]);
}

#[wasm_bindgen_test]
async fn the_scenario_editor_runs_edits_and_explains_refusals_in_place() {
    let root = mount("s=hlc-ping&seed=3").await;
    let area =
        find(&root, "[data-testid=scenario-json]").dyn_into::<HtmlTextAreaElement>().expect("a textarea");
    let mut doc: serde_json::Value =
        serde_json::from_str(&area.value()).expect("the running scenario as JSON");
    assert_eq!(doc["name"], "hlc-ping");

    find(&root, "[data-testid=scenario-editor]").set_attribute("open", "").expect("opened");
    area.set_value("{\"name\": ");
    click(&root, "[data-testid=run-json]").await;
    let error = text(&root, "scenario-error");
    assert!(error.contains("line 1"), "{error}");
    // The line the parser stopped on is selected.
    let active = common::document().active_element().expect("something has focus");
    assert_eq!(active.get_attribute("data-testid").as_deref(), Some("scenario-json"));
    let selected = || (area.selection_start().ok().flatten(), area.selection_end().ok().flatten());
    assert_eq!(selected(), (Some(0), Some(9)), "{error}");
    assert_eq!(count(&root, "[data-testid=error]"), 0, "the error stays by the editor");

    // A value out of range: the line of the field the refusal names.
    let mut lossy = doc.clone();
    lossy["network"]["loss"] = 1.5.into();
    let pretty = serde_json::to_string_pretty(&lossy).expect("JSON");
    area.set_value(&pretty);
    click(&root, "[data-testid=run-json]").await;
    let error = text(&root, "scenario-error");
    assert!(error.contains("`network.loss`"), "{error}");
    let (start, end) = selected();
    let line = &pretty[start.expect("selected") as usize..end.expect("selected") as usize];
    assert!(line.trim_start().starts_with("\"loss\": 1.5"), "{line:?}");

    doc["nodes"] = 4.into();
    doc["clocks"] = serde_json::json!([]);
    doc["name"] = "four pings".into();
    area.set_value(&doc.to_string());
    click(&root, "[data-testid=run-json]").await;
    assert_eq!(count(&root, "[data-testid=scenario-error]"), 0);
    assert_eq!(count(&root, "[data-node]"), 4);
    assert!(area.value().contains("\"four pings\""), "the editor shows the running scenario");
    let summary = text(&root, "scenario-summary");
    assert!(summary.starts_with("four pings (custom): "), "its own summary, marked custom: {summary}");
    let picker = find(&root, "[data-testid=scenario]").dyn_into::<HtmlSelectElement>().expect("a select");
    let chosen = picker.selected_options().item(0).expect("a chosen option");
    assert_eq!(chosen.text_content().as_deref(), Some("four pings (custom)"), "not a built-in's name");
    assert_eq!(count(&root, "[data-testid=scenario] option[data-custom]"), 1);
    step(&root, 10).await;
    let fragment = share(&root).await;
    let again = mount(&fragment).await;
    assert_eq!(count(&again, "[data-node]"), 4);
    assert_eq!(text(&again, "trace-hash"), text(&root, "trace-hash"));
}
