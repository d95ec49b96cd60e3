//! A cluster too big for SVG: a thousand Plumtree nodes drawn on one canvas, picked by
//! position, animated at the browser's frame pace while playing.
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::Cell;
use std::rc::Rc;

use common::{all, attr, find, mount, mouse, placed, recorded, sleep};
use void_core::sim;
use void_web::components::tree_links;
use void_web::model::{CANVAS_ABOVE_NODES, MAX_DRAWN_MESSAGES, Permalink};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

const NODES: usize = 1_000;

type FrameCallback = Closure<dyn FnMut(f64)>;

/// The built-in Plumtree scenario grown to `nodes` nodes.
fn big_plumtree(nodes: usize) -> String {
    let mut scenario: serde_json::Value =
        serde_json::from_str(sim::load_builtin("plumtree").expect("built in")).expect("JSON");
    scenario["nodes"] = nodes.into();
    scenario["name"] = "plumtree-1000".into();
    scenario.to_string()
}

/// The link that opens the big run at event `at`.
fn link(at: u64) -> String {
    Permalink {
        scenario: "plumtree-1000".into(),
        seed: 1,
        at,
        faults: Vec::new(),
        custom: Some(big_plumtree(NODES)),
    }
    .encode()
}

/// Page coordinates of node `i` on the canvas (drawn like the SVG: "contain"), where the
/// canvas says it placed it.
fn node_on_page(canvas: &Element, i: u32) -> (i32, i32) {
    let (x, y) = placed(canvas)[i as usize];
    let rect = canvas.get_bounding_client_rect();
    let (w, h) = (800.0, 430.0);
    let scale = (rect.width() / w).min(rect.height() / h);
    let left = rect.left() + (rect.width() - w * scale) / 2.0;
    let top = rect.top() + (rect.height() - h * scale) / 2.0;
    ((left + x * scale).round() as i32, (top + y * scale).round() as i32)
}

/// Waits (up to 10 s) for the canvas's first animation frame and its layout to settle.
async fn first_frame(canvas: &Element) {
    let mut waited = 0;
    while canvas.get_attribute("data-settled").is_none() && waited < 10_000 {
        sleep(50).await;
        waited += 50;
    }
}

#[wasm_bindgen_test]
async fn a_thousand_nodes_are_drawn_on_a_canvas_and_picked_by_position() {
    let root = mount(&link(0)).await;
    let section = "section.cluster";
    assert_eq!(attr(&root, section, "data-render"), "canvas");
    assert_eq!(attr(&root, section, "data-nodes"), NODES.to_string());
    assert!(root.query_selector("[data-node]").expect("a valid selector").is_none(), "no SVG nodes");
    find(&root, "[data-testid=in-flight-count]");
    let canvas = find(&root, "[data-testid=cluster-canvas]");
    first_frame(&canvas).await;
    let frames: u64 = attr(&root, "[data-testid=cluster-canvas]", "data-frames").parse().expect("a number");
    assert!(frames >= 1, "the canvas has been drawn");

    assert_eq!(attr(&root, "[data-testid=cluster-canvas]", "data-layout"), "force", "a big gossip cluster");

    // A thousand nodes are a few drawing units apart: drawn big enough that a page pixel
    // is finer than that, a click picks exactly one, where the layout put it.
    canvas.set_attribute("style", "width: 2800px; height: 1505px").expect("styled");
    sleep(100).await;
    for node in [0, 1, 250, 731] {
        mouse(&canvas, "click", node_on_page(&canvas, node), 0).await;
        assert_eq!(
            attr(&root, "[data-testid=inspector]", "data-inspected"),
            node.to_string(),
            "clicked {node}"
        );
    }
    // Right-click: the node's menu, for the node under the pointer.
    mouse(&canvas, "contextmenu", node_on_page(&canvas, 42), 2).await;
    find(&root, "[data-testid=node-menu]");
    assert_eq!(attr(&root, "[data-testid=inspector]", "data-inspected"), "42");
}

#[wasm_bindgen_test]
async fn the_built_in_plumtree_run_is_on_a_canvas_and_a_small_cluster_in_svg() {
    let root = mount("s=plumtree&seed=1&at=0").await;
    assert_eq!(attr(&root, "section.cluster", "data-render"), "canvas", "100 nodes");
    assert_eq!(attr(&root, "section.cluster", "data-nodes"), "100");
    let root = mount("s=hlc-ping&seed=1").await;
    assert_eq!(attr(&root, "section.cluster", "data-render"), "svg");
    let nodes = root.query_selector_all("[data-node]").expect("a valid selector").length();
    assert!(nodes as usize <= CANVAS_ABOVE_NODES && nodes > 0);
    assert_eq!(attr(&root, "section.cluster", "data-nodes"), nodes.to_string());
}

/// Frames and events of two seconds of play.
struct Played {
    canvas_fps: f64,
    animation_fps: f64,
    idle_fps: f64,
    events: u64,
    elapsed_ms: f64,
}

/// Opens the thousand-node run at event `at` in `layout` ("ring" or "force"), waits for it
/// to settle, measures the browser's frame rate paused for a second, then plays for two
/// seconds counting the canvas's drawn frames and the browser's animation frames.
async fn play_two_seconds(at: u64, layout: &str) -> (Played, usize) {
    let root = mount(&link(at)).await;
    let canvas = "[data-testid=cluster-canvas]";
    if attr(&root, "[data-testid=layout]", "data-layout") != layout {
        find(&root, &format!("[data-layout-option={layout}]"))
            .dyn_into::<HtmlElement>()
            .expect("a button")
            .click();
        // A thousand nodes re-render in tens of milliseconds, more on a loaded machine.
        let mut waited = 0;
        while attr(&root, canvas, "data-layout") != layout && waited < 10_000 {
            sleep(50).await;
            waited += 50;
        }
    }
    assert_eq!(attr(&root, canvas, "data-layout"), layout);
    first_frame(&find(&root, canvas)).await;
    let drawn: usize = attr(&root, "section.cluster", "data-drawn").parse().expect("a number");

    // The browser's own frame count, next to the canvas's.
    let ticks = Rc::new(Cell::new(0u32));
    let stop = Rc::new(Cell::new(false));
    let callback: Rc<Cell<Option<FrameCallback>>> = Rc::new(Cell::new(None));
    let again = callback.clone();
    let (t, s) = (ticks.clone(), stop.clone());
    let window = web_sys::window().expect("a window");
    let w = window.clone();
    callback.set(Some(Closure::new(move |_: f64| {
        t.set(t.get() + 1);
        if !s.get() {
            let f = again.take();
            if let Some(f) = &f {
                let _ = w.request_animation_frame(f.as_ref().unchecked_ref());
            }
            again.set(f);
        }
    })));
    let f = callback.take().expect("set");
    window.request_animation_frame(f.as_ref().unchecked_ref()).expect("a frame");
    callback.set(Some(f));
    let now = || window.performance().expect("performance").now();

    // Paused first: the browser's frame rate with nothing to simulate, on this machine now.
    let idle_start = now();
    let idle_ticks = ticks.get();
    sleep(1_000).await;
    let idle_fps = f64::from(ticks.get() - idle_ticks) * 1000.0 / (now() - idle_start);
    let events_before = common::events(&root);
    let frames_before: u64 = attr(&root, canvas, "data-frames").parse().expect("a number");
    let ticks_before = ticks.get();
    // At 1× (gossip runs start at 10×), so the figures compare with earlier ones.
    let speed = find(&root, "[data-testid=speed]").dyn_into::<web_sys::HtmlInputElement>().expect("a slider");
    speed.set_value(&void_web::components::speed_to_slider(1.0).to_string());
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    speed
        .dispatch_event(&web_sys::Event::new_with_event_init_dict("input", &init).expect("an event"))
        .expect("sent");
    find(&root, "[data-testid=play]").dyn_into::<HtmlElement>().expect("a button").click();
    let start = now();
    sleep(2_000).await;
    let elapsed_ms = now() - start;
    let played_ticks = ticks.get();
    let frames = attr(&root, canvas, "data-frames").parse::<u64>().expect("a number") - frames_before;
    stop.set(true);
    find(&root, "[data-testid=pause]").dyn_into::<HtmlElement>().expect("a button").click();
    let events = common::events(&root) - events_before;
    let per_sec = |count: f64| count * 1000.0 / elapsed_ms;
    let played = Played {
        canvas_fps: per_sec(frames as f64),
        animation_fps: per_sec(f64::from(played_ticks - ticks_before)),
        idle_fps,
        events,
        elapsed_ms,
    };
    root.remove();
    (played, drawn)
}

/// Plays the thousand-node run for two seconds on the ring, then from the same event in
/// the force layout, and reports the frames the canvas drew and the animation frames the
/// browser ran in each; checks that both played and drew more messages than SVG's limit,
/// not how fast.
#[wasm_bindgen_test]
async fn a_thousand_node_run_plays_on_the_canvas() {
    // A position in the first broadcast's flood, where many messages are in flight.
    let scenario = sim::Scenario::from_json(&big_plumtree(NODES)).expect("valid");
    let mut run = sim::build(&scenario, 1, false).expect("builds");
    let mut at = 0;
    while run.in_flight().len() < 2 * MAX_DRAWN_MESSAGES && at < 100_000 {
        run.run_events(500);
        at += 500;
    }
    for layout in ["ring", "force"] {
        let (p, drawn) = play_two_seconds(at, layout).await;
        console_log!(
            "{NODES} nodes from event {at}, {layout} layout: playing, {:.1} canvas frames/s and {:.1} animation frames/s (paused: {:.1} animation frames/s); {} events in {:.0} ms; {drawn} messages drawn at the start",
            p.canvas_fps,
            p.animation_fps,
            p.idle_fps,
            p.events,
            p.elapsed_ms,
        );
        assert!(drawn > MAX_DRAWN_MESSAGES, "{drawn} messages drawn at event {at}");
        assert!(p.canvas_fps > 0.0, "the canvas drew while playing");
        assert!(p.events > 0, "the run moved on");
    }
}

#[wasm_bindgen_test]
async fn a_hundred_node_plumtree_shows_its_tree_and_lanes_for_the_active_nodes() {
    // Simulated until the first duplicates have pruned some links to lazy.
    let mut run = recorded("plumtree", 1);
    while tree_links(&run.nodes()).iter().all(|l| l.2) && run.event_count() < 200_000 {
        run.run_events(2_000);
    }
    let at = run.event_count();
    let root = mount(&format!("s=plumtree&seed=1&at={at}")).await;
    assert_eq!(
        find(&root, "[data-testid=event-index]").text_content().unwrap_or_default(),
        run.event_count().to_string()
    );

    // The tree the nodes report, eager and lazy links counted as the canvas draws them.
    let tree = tree_links(&run.nodes());
    let eager = tree.iter().filter(|l| l.2).count();
    assert!(eager > 0 && eager < tree.len(), "a tree has formed: {eager} eager of {}", tree.len());
    assert_eq!(attr(&root, "section.cluster", "data-eager"), eager.to_string());
    assert_eq!(attr(&root, "section.cluster", "data-lazy"), (tree.len() - eager).to_string());
    find(&root, "[data-testid=node-legend] [data-legend=eager]");
    find(&root, "[data-testid=node-legend] [data-legend=lazy]");

    // The space-time diagram: a lane per node active in the latest events, said so.
    let lanes: Vec<u32> = all(&root, "[data-lane]")
        .iter()
        .map(|l| l.get_attribute("data-lane").expect("a lane").parse().expect("a node"))
        .collect();
    assert!(lanes.len() <= void_web::components::MAX_LANES && lanes.len() > 1, "{lanes:?}");
    let latest = run.event(run.event_count() - 1).expect("recorded");
    assert!(lanes.contains(&latest.node), "the latest event's node {} has a lane: {lanes:?}", latest.node);
    let note = find(&root, "[data-testid=lanes-note]").text_content().unwrap_or_default();
    assert!(note.contains(&format!("{} of 100 nodes", lanes.len())), "{note}");

    // Selecting a node gives it a lane.
    let quiet = (0..100).find(|n| !lanes.contains(n)).expect("a node without a lane");
    let canvas = find(&root, "[data-testid=cluster-canvas]");
    canvas.set_attribute("style", "width: 1600px; height: 860px").expect("styled");
    first_frame(&canvas).await;
    mouse(&canvas, "click", node_on_page(&canvas, quiet), 0).await;
    assert_eq!(attr(&root, "[data-testid=inspector]", "data-inspected"), quiet.to_string());
    find(&root, &format!("[data-lane=\"{quiet}\"]"));
}
