//! Network faults by gesture on the canvas (the built-in 100-node Plumtree run): a drag
//! from node to node opens the link menu, a shift-drag lassoes a partition, a click
//! inspects; the gesture is drawn on the canvas while it lasts and the permalink keeps the
//! faults. Also the layout switch, on the canvas and on a small gossip cluster in SVG.
#![cfg(target_arch = "wasm32")]

mod common;

use common::{attr, click, count, find, mount, mouse, placed, pointer, settle, share, sleep, step, text};
use void_core::sim::{self, Fault};
use void_web::components::lassoed;
use void_web::model::Permalink;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{CanvasRenderingContext2d, Element, HtmlCanvasElement, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

const CANVAS: &str = "[data-testid=cluster-canvas]";
const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 430.0;

/// Waits (up to 10 s) for the canvas's layout to settle.
async fn settled(canvas: &Element) {
    let mut waited = 0;
    while canvas.get_attribute("data-settled").is_none() && waited < 10_000 {
        sleep(50).await;
        waited += 50;
    }
    assert!(canvas.get_attribute("data-settled").is_some(), "the layout settles");
}

/// Scale and offset of the drawing on the page ("contain", as the canvas is drawn).
fn fit(canvas: &Element) -> (f64, f64, f64) {
    let rect = canvas.get_bounding_client_rect();
    let scale = (rect.width() / WIDTH).min(rect.height() / HEIGHT);
    let left = rect.left() + (rect.width() - WIDTH * scale) / 2.0;
    let top = rect.top() + (rect.height() - HEIGHT * scale) / 2.0;
    (scale, left, top)
}

fn to_page(canvas: &Element, (x, y): (f64, f64)) -> (f64, f64) {
    let (scale, left, top) = fit(canvas);
    ((left + x * scale).round(), (top + y * scale).round())
}

fn to_drawing(canvas: &Element, (x, y): (f64, f64)) -> (f64, f64) {
    let (scale, left, top) = fit(canvas);
    ((x - left) / scale, (y - top) / scale)
}

/// The colour of the canvas's pixel at drawing point `p` (read through the 2D context's
/// `getImageData`).
fn pixel(canvas: &Element, p: (f64, f64)) -> [u8; 3] {
    let canvas: &HtmlCanvasElement = canvas.dyn_ref().expect("a canvas");
    let ctx: CanvasRenderingContext2d =
        canvas.get_context("2d").expect("a context").expect("2d").dyn_into().expect("2d");
    let scale = f64::from(canvas.width()) / WIDTH;
    let get = js_sys::Reflect::get(&ctx, &"getImageData".into()).expect("getImageData");
    let get: js_sys::Function = get.dyn_into().expect("a function");
    let args = js_sys::Array::of4(
        &JsValue::from_f64((p.0 * scale).floor()),
        &JsValue::from_f64((p.1 * scale).floor()),
        &1.into(),
        &1.into(),
    );
    let image = get.apply(&ctx, &args).expect("the pixel is read");
    let data = js_sys::Reflect::get(&image, &"data".into()).expect("its data");
    let data = js_sys::Uint8ClampedArray::from(data).to_vec();
    [data[0], data[1], data[2]]
}

/// How many of 40 points along the segment `a`–`b` the canvas shows in `colour`.
fn drawn_along(canvas: &Element, a: (f64, f64), b: (f64, f64), colour: [u8; 3]) -> usize {
    (1..=40)
        .map(|i| f64::from(i) / 41.0)
        .map(|t| pixel(canvas, (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t)))
        .filter(|p| p.iter().zip(colour).all(|(c, want)| c.abs_diff(want) <= 24))
        .count()
}

const LINK_DRAG: [u8; 3] = [0xc0, 0x39, 0x2b];
const LASSO: [u8; 3] = [0x00, 0x72, 0xb2];

#[wasm_bindgen_test]
async fn on_the_canvas_gestures_break_links_partition_and_inspect() {
    // Once the overlay has formed: nodes still waiting to join sit in a row, and a line
    // along that row would hide behind them.
    let root = mount("s=plumtree&seed=1&at=3000").await;
    assert_eq!(attr(&root, "section.cluster", "data-render"), "canvas");
    assert_eq!(attr(&root, "[data-testid=layout]", "data-layout"), "force", "a big gossip cluster");
    let canvas = find(&root, CANVAS);
    canvas.set_attribute("style", "width: 1600px; height: 860px").expect("styled");
    settled(&canvas).await;
    sleep(100).await;
    let pos = placed(&canvas);
    assert_eq!(pos.len(), 100);

    // Drag from node 3 to node 7: a dashed line follows the pointer; on release over 7
    // the link menu opens; cut the link.
    let (from, to) = (to_page(&canvas, pos[3]), to_page(&canvas, pos[7]));
    let half = ((from.0 + to.0) / 2.0, (from.1 + to.1) / 2.0);
    pointer(&canvas, "pointerdown", from, false);
    pointer(&canvas, "pointermove", half, false);
    sleep(100).await;
    let drawn = drawn_along(&canvas, pos[3], to_drawing(&canvas, half), LINK_DRAG);
    assert!(drawn >= 8, "the drag line is drawn: {drawn} of 40 points");
    pointer(&canvas, "pointermove", to, false);
    pointer(&canvas, "pointerup", to, false);
    settle().await;
    assert_eq!(count(&root, "[data-testid=link-menu]"), 1, "the link menu opens");
    sleep(100).await;
    let left = drawn_along(&canvas, pos[3], to_drawing(&canvas, half), LINK_DRAG);
    assert_eq!(left, 0, "the drag line is gone");
    click(&root, "[data-testid=link-menu] li:first-child button").await;
    assert_eq!(count(&root, "[data-testid=link-menu]"), 0);
    sleep(100).await;
    // The cut link is drawn in the same red, dashed, from node to node.
    let broken = drawn_along(&canvas, pos[3], pos[7], LINK_DRAG);
    assert!(broken >= 8, "the broken link is drawn: {broken} of 40 points");

    // Shift-drag a box over the middle of the drawing: the nodes inside are split off.
    let corners = [(300.0, 120.0), (520.0, 120.0), (520.0, 320.0), (300.0, 320.0)];
    let page: Vec<(f64, f64)> = corners.iter().map(|c| to_page(&canvas, *c)).collect();
    pointer(&canvas, "pointerdown", page[0], true);
    for p in &page[1..] {
        pointer(&canvas, "pointermove", *p, true);
    }
    sleep(100).await;
    let outline: Vec<(f64, f64)> = page.iter().map(|p| to_drawing(&canvas, *p)).collect();
    let drawn = drawn_along(&canvas, outline[0], outline[1], LASSO);
    assert!(drawn >= 8, "the lasso is drawn: {drawn} of 40 points");
    pointer(&canvas, "pointerup", page[3], true);
    settle().await;
    let group = lassoed(&outline, &pos);
    assert!(!group.is_empty() && group.len() < 100, "the box holds some nodes: {group:?}");
    assert_eq!(count(&root, "[data-testid=node-legend] [data-legend=side]"), 2, "two sides");
    assert_eq!(count(&root, "[data-testid=heal]"), 1);
    // The two sides are drawn apart.
    let apart = |pos: &[(f64, f64)]| {
        let centre = |inside: bool| {
            let side: Vec<(f64, f64)> =
                (0..100u32).filter(|i| group.contains(i) == inside).map(|i| pos[i as usize]).collect();
            let n = side.len() as f64;
            (side.iter().map(|p| p.0).sum::<f64>() / n, side.iter().map(|p| p.1).sum::<f64>() / n)
        };
        let ((x1, y1), (x2, y2)) = (centre(true), centre(false));
        (x1 - x2).hypot(y1 - y2)
    };
    let before = apart(&pos);
    settled(&canvas).await;
    sleep(100).await;
    let pos = placed(&canvas);
    let after = apart(&pos);
    assert!(after > before + WIDTH / 16.0, "{before} → {after}");

    // A click inspects the node under the pointer.
    let (x, y) = to_page(&canvas, pos[11]);
    mouse(&canvas, "click", (x as i32, y as i32), 0).await;
    assert_eq!(attr(&root, "[data-testid=inspector]", "data-inspected"), "11");

    // The permalink carries the partition and both directions of the cut.
    step(&root, 5).await;
    let fragment = share(&root).await;
    let link = Permalink::decode(&fragment).expect("decodes").expect("not empty");
    assert_eq!(link.faults.len(), 3, "{:?}", link.faults);
    let partitions: Vec<&Vec<Vec<u32>>> = link
        .faults
        .iter()
        .filter_map(|f| if let Fault::Partition { groups, .. } = f { Some(groups) } else { None })
        .collect();
    assert_eq!(partitions, vec![&vec![group]]);
    let mut cut: Vec<(u32, u32, f64)> = link
        .faults
        .iter()
        .filter_map(
            |f| if let Fault::Link { from, to, drop, .. } = f { Some((*from, *to, *drop)) } else { None },
        )
        .collect();
    cut.sort_by_key(|c| (c.0, c.1));
    assert_eq!(cut, vec![(3, 7, 1.0), (7, 3, 1.0)]);
    let again = mount(&fragment).await;
    assert_eq!(text(&again, "trace-hash"), text(&root, "trace-hash"));
    again.remove();

    // Heal ends both.
    click(&root, "[data-testid=heal]").await;
    assert_eq!(count(&root, "[data-testid=node-legend] [data-legend=side]"), 0);
    assert_eq!(count(&root, "[data-testid=heal]"), 0);
    root.remove();
}

#[wasm_bindgen_test]
async fn the_layout_switch_moves_the_canvas_between_ring_and_force() {
    let root = mount("s=plumtree&seed=1&at=3000").await;
    let canvas = find(&root, CANVAS);
    settled(&canvas).await;
    let force = placed(&canvas);
    click(&root, "[data-layout-option=ring]").await;
    assert_eq!(attr(&root, "[data-testid=layout]", "data-layout"), "ring");
    assert_eq!(attr(&root, CANVAS, "data-layout"), "ring");
    sleep(100).await;
    let ring = placed(&canvas);
    assert_eq!(ring.len(), 100);
    assert_ne!(ring, force);
    // On the ring the nodes are evenly spaced around the centre, node 0 at the top.
    assert!((ring[0].0 - WIDTH / 2.0).abs() < 0.1 && ring[0].1 < ring[50].1, "{:?}", ring[0]);
    click(&root, "[data-layout-option=force]").await;
    settled(&canvas).await;
    sleep(100).await;
    assert_eq!(placed(&canvas), force, "the same overlay, the same picture");
    root.remove();
}

#[wasm_bindgen_test]
async fn a_small_gossip_cluster_in_svg_takes_the_force_layout_too() {
    let mut scenario: serde_json::Value =
        serde_json::from_str(sim::load_builtin("plumtree").expect("built in")).expect("JSON");
    scenario["nodes"] = 12.into();
    scenario["name"] = "plumtree-12".into();
    let fragment = Permalink {
        scenario: "plumtree-12".into(),
        seed: 1,
        at: 400,
        faults: Vec::new(),
        custom: Some(scenario.to_string()),
    }
    .encode();
    let root = mount(&fragment).await;
    assert_eq!(attr(&root, "section.cluster", "data-render"), "svg");
    assert_eq!(attr(&root, "[data-testid=layout]", "data-layout"), "ring", "small clusters open on the ring");
    assert_eq!(count(&root, "circle.ring"), 1);
    let centre = |root: &Element, i: u32| {
        let rect = find(root, &format!("[data-node=\"{i}\"] .node-body")).get_bounding_client_rect();
        (rect.left() + rect.width() / 2.0, rect.top() + rect.height() / 2.0)
    };
    let on_ring: Vec<(f64, f64)> = (0..12).map(|i| centre(&root, i)).collect();
    find(&root, "[data-layout-option=force]").dyn_into::<HtmlElement>().expect("a button").click();
    settle().await;
    assert_eq!(attr(&root, "[data-testid=layout]", "data-layout"), "force");
    assert_eq!(count(&root, "circle.ring"), 0, "no ring drawn");
    let placed: Vec<(f64, f64)> = (0..12).map(|i| centre(&root, i)).collect();
    assert_ne!(placed, on_ring, "the nodes moved");

    // Gestures follow the nodes where they now are.
    let svg = find(&root, ".cluster-svg");
    let (from, to) = (placed[0], placed[5]);
    pointer(&find(&root, "[data-node=\"0\"]"), "pointerdown", from, false);
    pointer(&svg, "pointermove", to, false);
    pointer(&find(&root, "[data-node=\"5\"]"), "pointerup", to, false);
    settle().await;
    assert_eq!(count(&root, "[data-testid=link-menu]"), 1, "the link menu opens");
    root.remove();
}
