//! What the browser tests share: mounting the app at a permalink, finding elements by their
//! `data-*` hooks, and driving them as a person would (clicks, pointer gestures).
#![allow(dead_code)]

use std::time::Duration;

use void_core::sim;
use void_web::App;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, HtmlInputElement, PointerEvent, PointerEventInit};

pub fn document() -> web_sys::Document {
    web_sys::window().expect("a window").document().expect("a document")
}

/// Sets the URL fragment without a `hashchange` (so apps mounted by other tests stay put).
pub fn set_fragment(fragment: &str) {
    let window = web_sys::window().expect("a window");
    let path = window.location().pathname().expect("a path");
    let url = if fragment.is_empty() { path } else { format!("{path}#{fragment}") };
    window
        .history()
        .expect("a history")
        .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url))
        .expect("the URL is replaced");
}

pub async fn sleep(ms: u64) {
    yew::platform::time::sleep(Duration::from_millis(ms)).await;
}

/// Long enough for Yew to render what the last action changed.
pub async fn settle() {
    sleep(50).await;
}

/// Waits until a seek in progress (simulating again from the seed) has arrived.
pub async fn arrived(root: &Element) {
    for _ in 0..400 {
        settle().await;
        if root.query_selector("[data-testid=seeking]").expect("a valid selector").is_none() {
            return;
        }
    }
    panic!("the seek did not arrive");
}

/// Mounts the app (reading `fragment` as its permalink) into a new element.
pub async fn mount(fragment: &str) -> Element {
    set_fragment(fragment);
    // Each test starts from the page's defaults (A+ is remembered in the browser's storage).
    if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = s.remove_item(void_web::components::LARGE_TEXT_KEY);
    }
    let root = document().create_element("div").expect("a div");
    document().body().expect("a body").append_child(&root).expect("appended");
    yew::Renderer::<App>::with_root(root.clone()).render();
    settle().await;
    set_fragment("");
    root
}

pub fn find(root: &Element, selector: &str) -> Element {
    root.query_selector(selector).expect("a valid selector").unwrap_or_else(|| panic!("{selector} is shown"))
}

pub fn count(root: &Element, selector: &str) -> u32 {
    root.query_selector_all(selector).expect("a valid selector").length()
}

/// Every element matching `selector`, in document order.
pub fn all(root: &Element, selector: &str) -> Vec<Element> {
    let list = root.query_selector_all(selector).expect("a valid selector");
    (0..list.length()).filter_map(|i| list.item(i)?.dyn_into::<Element>().ok()).collect()
}

/// The text of the element with `data-testid=testid`.
pub fn text(root: &Element, testid: &str) -> String {
    find(root, &format!("[data-testid={testid}]")).text_content().unwrap_or_default()
}

pub fn attr(root: &Element, selector: &str, name: &str) -> String {
    find(root, selector).get_attribute(name).unwrap_or_else(|| panic!("{selector} has {name}"))
}

/// The event index the top bar shows.
pub fn events(root: &Element) -> u64 {
    text(root, "event-index").parse().expect("a number")
}

/// Clicks the element; SVG elements have no click(), so they get the event it would send.
pub async fn click(root: &Element, selector: &str) {
    let el = find(root, selector);
    match el.dyn_ref::<HtmlElement>() {
        Some(html) => html.click(),
        None => {
            let init = web_sys::MouseEventInit::new();
            init.set_bubbles(true);
            let event =
                web_sys::MouseEvent::new_with_mouse_event_init_dict("click", &init).expect("an event");
            el.dispatch_event(&event).expect("dispatched");
        }
    }
    settle().await;
}

pub async fn step(root: &Element, times: usize) {
    for _ in 0..times {
        click(root, "[data-testid=step]").await;
    }
}

/// Presses "share" and returns the fragment of the link it shows.
pub async fn share(root: &Element) -> String {
    click(root, "[data-testid=share]").await;
    let url = find(root, "[data-testid=permalink]").dyn_into::<HtmlInputElement>().expect("an input").value();
    url.split_once('#').expect("a fragment").1.to_owned()
}

/// A mouse event of `kind` at page coordinates `at`, then a moment to render.
pub async fn mouse(target: &Element, kind: &str, at: (i32, i32), button: i16) {
    let init = web_sys::MouseEventInit::new();
    init.set_bubbles(true);
    init.set_cancelable(true);
    init.set_client_x(at.0);
    init.set_client_y(at.1);
    init.set_button(button);
    let event = web_sys::MouseEvent::new_with_mouse_event_init_dict(kind, &init).expect("an event");
    target.dispatch_event(&event).expect("dispatched");
    settle().await;
}

/// A pointer event of `kind` at page coordinates `at` (no wait: gestures are a sequence).
pub fn pointer(target: &Element, kind: &str, at: (f64, f64), shift: bool) {
    let init = PointerEventInit::new();
    init.set_bubbles(true);
    init.set_client_x(at.0.round() as i32);
    init.set_client_y(at.1.round() as i32);
    init.set_shift_key(shift);
    init.set_button(0);
    let event = PointerEvent::new_with_event_init_dict(kind, &init).expect("an event");
    target.dispatch_event(&event).expect("dispatched");
}

/// A built-in scenario, parsed.
pub fn scenario(name: &str) -> sim::Scenario {
    sim::Scenario::from_json(sim::load_builtin(name).expect("built in")).expect("valid")
}

/// The simulator itself on a built-in scenario (recording its events).
pub fn recorded(name: &str, seed: u64) -> Box<dyn sim::AnySim> {
    sim::build(&scenario(name), seed, true).expect("builds")
}

/// The trace hash of a built-in scenario run to its end, outside the page.
pub fn native_hash(name: &str, seed: u64) -> String {
    let mut run = sim::build(&scenario(name), seed, false).expect("builds");
    run.run_to_end();
    run.trace_hash()
}

/// The node positions a canvas reports once its layout has settled, in drawing units.
pub fn placed(canvas: &Element) -> Vec<(f64, f64)> {
    let text = canvas.get_attribute("data-positions").expect("the layout has settled");
    text.split(' ')
        .map(|pair| {
            let (x, y) = pair.split_once(',').expect("x,y");
            (x.parse().expect("a number"), y.parse().expect("a number"))
        })
        .collect()
}

/// Fires a bubbling `change` on `target`, as choosing in a select or a file input does.
pub fn changed(target: &web_sys::EventTarget) {
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    let event = web_sys::Event::new_with_event_init_dict("change", &init).expect("an event");
    target.dispatch_event(&event).expect("sent");
}
