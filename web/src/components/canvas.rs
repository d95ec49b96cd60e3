//! The cluster on one canvas, for clusters too big for SVG: the same ring, colours and
//! links as the SVG view, drawn on every animation frame from the latest snapshot without
//! re-rendering the component tree. Nodes are picked by position.

use std::cell::{Cell, RefCell};
use std::f64::consts::PI;
use std::rc::Rc;

use void_core::sim::{DropReason, NodeView};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};
use yew::prelude::*;

use super::cluster::{
    CENTRE, HEIGHT, Link, SIDE_TINTS, WIDTH, drop_opacity, progress, ring_length, ring_position, ring_radii,
    to_drawing,
};
use crate::model::{Action, Snapshot};
use crate::palette;

/// Length of a message's tail, as a fraction of its link (as in the SVG view).
const TAIL: f64 = 0.1;

/// Radius of a node of `n` on the canvas: small enough that a thousand stay apart, also
/// at the ends of the ellipse where nodes are closest.
pub fn dot_radius(n: u32) -> f64 {
    let room = ring_length(n) / f64::from(n.max(1));
    (room * 0.35).clamp(1.5, 8.0)
}

/// The node nearest to `p` among `n` on the ring, if it is within `reach` of it.
pub fn nearest_node(p: (f64, f64), n: u32, reach: f64) -> Option<u32> {
    let distance = |i: u32| {
        let (x, y) = ring_position(i, n);
        (x - p.0).powi(2) + (y - p.1).powi(2)
    };
    (0..n).min_by(|a, b| distance(*a).total_cmp(&distance(*b))).filter(|i| distance(*i) <= reach * reach)
}

/// What the next frame draws: the latest props, shared with the animation loop.
struct Frame {
    view: Rc<Snapshot>,
    shown_us: u64,
    speed: f64,
    selected: Option<u32>,
    /// Plumtree's tree links: (a, b, eager).
    tree: Rc<Vec<(u32, u32, bool)>>,
    /// Something changed since the last frame was drawn.
    dirty: bool,
    /// Frames drawn so far (exposed as `data-frames` for measurements).
    frames: u64,
    /// Per message: its colour's index and its link, rebuilt when the snapshot changes and
    /// kept between frames (the buffer is reused, not reallocated).
    links: Vec<(usize, Link)>,
    links_of: Option<Rc<Snapshot>>,
}

#[derive(Properties, PartialEq)]
pub struct CanvasProps {
    pub view: Rc<Snapshot>,
    pub shown_us: u64,
    pub speed: f64,
    pub selected: Option<u32>,
    pub tree: Rc<Vec<(u32, u32, bool)>>,
    pub dispatch: Callback<Action>,
}

#[function_component(CanvasCluster)]
pub fn canvas_cluster(props: &CanvasProps) -> Html {
    let canvas = use_node_ref();
    let frame = use_mut_ref(|| Frame {
        view: props.view.clone(),
        shown_us: props.shown_us,
        speed: props.speed,
        selected: props.selected,
        tree: props.tree.clone(),
        dirty: true,
        frames: 0,
        links: Vec::new(),
        links_of: None,
    });
    {
        let mut f = frame.borrow_mut();
        f.view = props.view.clone();
        f.shown_us = props.shown_us;
        f.speed = props.speed;
        f.selected = props.selected;
        f.tree = props.tree.clone();
        f.dirty = true;
    }
    {
        let (canvas, frame) = (canvas.clone(), frame.clone());
        use_effect_with((), move |_| {
            let stop = animate(canvas, frame);
            move || stop()
        });
    }
    let n = props.view.nodes.len() as u32;
    let reach = dot_radius(n) + 6.0;
    let on_click = {
        let (canvas, dispatch) = (canvas.clone(), props.dispatch.clone());
        Callback::from(move |e: MouseEvent| {
            if let Some(id) =
                to_drawing(&canvas, (e.client_x(), e.client_y())).and_then(|p| nearest_node(p, n, reach))
            {
                dispatch.emit(Action::Select(Some(id)));
            }
        })
    };
    let on_menu = {
        let (canvas, dispatch) = (canvas.clone(), props.dispatch.clone());
        Callback::from(move |e: MouseEvent| {
            let p = to_drawing(&canvas, (e.client_x(), e.client_y()));
            if let Some(id) = p.and_then(|p| nearest_node(p, n, reach)) {
                e.prevent_default();
                dispatch.emit(Action::Menu(Some((id, e.client_x(), e.client_y()))));
            }
        })
    };
    html! {
        <canvas class="cluster-canvas" data-testid="cluster-canvas" ref={canvas} role="img"
            aria-label={format!("{n} nodes on a ring and their messages in flight")}
            onclick={on_click} oncontextmenu={on_menu} />
    }
}

type FrameCallback = Closure<dyn FnMut(f64)>;

/// Starts drawing `frame` on `canvas` at every animation frame; the returned function stops.
fn animate(canvas: NodeRef, frame: Rc<RefCell<Frame>>) -> impl FnOnce() {
    let handle = Rc::new(Cell::new(None::<i32>));
    let tick: Rc<RefCell<Option<FrameCallback>>> = Rc::new(RefCell::new(None));
    let next = {
        let (handle, tick) = (handle.clone(), tick.clone());
        move || {
            let id = web_sys::window().and_then(|w| {
                let tick = tick.borrow();
                w.request_animation_frame(tick.as_ref()?.as_ref().unchecked_ref()).ok()
            });
            handle.set(id);
        }
    };
    let again = next.clone();
    *tick.borrow_mut() = Some(Closure::new(move |_: f64| {
        if let Some(element) = canvas.cast::<HtmlCanvasElement>() {
            let mut f = frame.borrow_mut();
            if fit(&element) {
                f.dirty = true;
            }
            if f.dirty {
                draw(&element, &mut f);
                f.dirty = false;
                f.frames += 1;
                let _ = element.set_attribute("data-frames", &f.frames.to_string());
            }
        }
        again();
    }));
    next();
    move || {
        if let (Some(id), Some(w)) = (handle.take(), web_sys::window()) {
            let _ = w.cancel_animation_frame(id);
        }
        // Breaks the closure's reference to itself.
        tick.borrow_mut().take();
    }
}

/// Sizes the canvas's pixels to its box on the screen; true if they changed.
fn fit(canvas: &HtmlCanvasElement) -> bool {
    let ratio = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
    let rect = canvas.get_bounding_client_rect();
    let scale = (rect.width() / WIDTH).min(rect.height() / HEIGHT).max(0.25) * ratio;
    let (w, h) = ((WIDTH * scale).round() as u32, (HEIGHT * scale).round() as u32);
    if canvas.width() == w && canvas.height() == h {
        return false;
    }
    canvas.set_width(w);
    canvas.set_height(h);
    true
}

fn context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok()??.dyn_into().ok()
}

/// Sets the line dash (`""` = solid) from an SVG dash list.
fn dash(ctx: &CanvasRenderingContext2d, pattern: &str) {
    let list = js_sys::Array::new();
    for part in pattern.split_whitespace() {
        if let Ok(v) = part.parse::<f64>() {
            list.push(&v.into());
        }
    }
    let _ = ctx.set_line_dash(&list);
}

/// Body fill and outline of a node in `state` (the SVG view's stylesheet colours).
fn node_colours(state: &str) -> (&'static str, &'static str) {
    match state {
        "crashed" => ("#e6e8eb", "#9aa1a9"),
        "byzantine" => ("#fdeee4", "#d55e00"),
        "partitioned" => ("#f3f0fa", "#7d2e5c"),
        _ => ("#e8f1f8", "#0072b2"),
    }
}

/// Adds node `i`'s shape to the current path: a disc, or a square for a client.
fn node_shape(ctx: &CanvasRenderingContext2d, (x, y): (f64, f64), r: f64, client: bool) {
    if client {
        ctx.rect(x - r, y - r, 2.0 * r, 2.0 * r);
    } else {
        ctx.move_to(x + r, y);
        let _ = ctx.arc(x, y, r, 0.0, 2.0 * PI);
    }
}

fn draw(canvas: &HtmlCanvasElement, f: &mut Frame) {
    let Some(ctx) = context(canvas) else { return };
    let scale = f64::from(canvas.width()) / WIDTH;
    let _ = ctx.set_transform(scale, 0.0, 0.0, scale, 0.0, 0.0);
    ctx.clear_rect(0.0, 0.0, WIDTH, HEIGHT);
    let view = f.view.clone();
    let n = view.nodes.len() as u32;
    let r = dot_radius(n);
    let now = f.shown_us;

    // Partitions: a band of the side's colour behind the nodes of each side.
    if !view.sides.is_empty() {
        let halo = (ring_length(n) / f64::from(n.max(1)) * 0.75).max(r * 2.2);
        ctx.set_global_alpha(0.3);
        for (t, tint) in SIDE_TINTS.iter().enumerate() {
            ctx.begin_path();
            for (i, side) in view.sides.iter().enumerate() {
                if *side as usize % SIDE_TINTS.len() == t {
                    let (x, y) = ring_position(i as u32, n);
                    ctx.move_to(x + halo, y);
                    let _ = ctx.arc(x, y, halo, 0.0, 2.0 * PI);
                }
            }
            ctx.set_fill_style_str(tint);
            ctx.fill();
        }
        ctx.set_global_alpha(1.0);
    }

    // The ring.
    let (rx, ry) = ring_radii(n);
    ctx.set_stroke_style_str("#d9dde3");
    ctx.set_line_width(1.5);
    dash(&ctx, "3 6");
    ctx.begin_path();
    let _ = ctx.ellipse(CENTRE.0, CENTRE.1, rx, ry, 0.0, 0.0, 2.0 * PI);
    ctx.stroke();

    // Plumtree's tree: eager links solid, lazy ones dashed and fainter.
    for (eager, colour, width, pattern) in [(false, "#b3bac2", 0.8, "2 3"), (true, "#5b6470", 1.2, "")] {
        ctx.begin_path();
        for (a, b, _) in f.tree.iter().filter(|l| l.2 == eager) {
            let ((x1, y1), (x2, y2)) = (ring_position(*a, n), ring_position(*b, n));
            ctx.move_to(x1, y1);
            ctx.line_to(x2, y2);
        }
        ctx.set_stroke_style_str(colour);
        ctx.set_line_width(width);
        dash(&ctx, pattern);
        ctx.stroke();
    }
    dash(&ctx, "");

    // Link faults in force.
    if !view.broken_links.is_empty() {
        ctx.set_stroke_style_str("#c0392b");
        ctx.set_line_width(2.0);
        dash(&ctx, "7 5");
        ctx.begin_path();
        for (a, b, _, _) in &view.broken_links {
            let ((x1, y1), (x2, y2)) = (ring_position(*a, n), ring_position(*b, n));
            ctx.move_to(x1, y1);
            ctx.line_to(x2, y2);
        }
        ctx.stroke();
    }
    dash(&ctx, "");

    // Nodes, one path per state; partitioned nodes are filled with their side's colour.
    for state in ["up", "partitioned", "byzantine", "crashed"] {
        let mut any = false;
        ctx.begin_path();
        for node in view.nodes.iter().filter(|v| state_of(v) == state && state != "partitioned") {
            node_shape(&ctx, ring_position(node.id, n), r, node.role == "client");
            any = true;
        }
        if any {
            let (fill, outline) = node_colours(state);
            ctx.set_fill_style_str(fill);
            ctx.fill();
            ctx.set_stroke_style_str(outline);
            ctx.set_line_width(if state == "byzantine" { 2.0 } else { 1.0 });
            ctx.stroke();
        }
    }
    for (t, tint) in SIDE_TINTS.iter().enumerate() {
        let mut any = false;
        ctx.begin_path();
        for node in view.nodes.iter().filter(|v| state_of(v) == "partitioned") {
            let side = view.sides.get(node.id as usize).copied().unwrap_or(0) as usize;
            if side % SIDE_TINTS.len() == t {
                node_shape(&ctx, ring_position(node.id, n), r, node.role == "client");
                any = true;
            }
        }
        if any {
            ctx.set_fill_style_str(tint);
            ctx.fill();
            ctx.set_stroke_style_str(node_colours("partitioned").1);
            ctx.set_line_width(1.0);
            ctx.stroke();
        }
    }
    // Crashed nodes also carry a cross; primaries a dark ring.
    ctx.begin_path();
    for node in view.nodes.iter().filter(|v| v.state == "crashed") {
        let (x, y) = ring_position(node.id, n);
        let c = r.max(3.0);
        ctx.move_to(x - c, y - c);
        ctx.line_to(x + c, y + c);
        ctx.move_to(x - c, y + c);
        ctx.line_to(x + c, y - c);
    }
    ctx.set_stroke_style_str("#6b7178");
    ctx.set_line_width(1.5);
    ctx.stroke();
    ctx.begin_path();
    for node in view.nodes.iter().filter(|v| v.role == "primary") {
        let (x, y) = ring_position(node.id, n);
        ctx.move_to(x + r + 3.0, y);
        let _ = ctx.arc(x, y, r + 3.0, 0.0, 2.0 * PI);
    }
    ctx.set_stroke_style_str("#1b1f24");
    ctx.stroke();

    // Messages in flight: per colour, one path of tails and one of heads.
    if !f.links_of.as_ref().is_some_and(|v| Rc::ptr_eq(v, &view)) {
        f.links.clear();
        f.links.extend(
            view.in_flight
                .iter()
                .filter_map(|m| Some((palette::colour_index(m.kind), Link::between(m.from, m.to, n, r)?))),
        );
        f.links_of = Some(view.clone());
    }
    let head = (r * 0.8).clamp(2.0, 4.5);
    for (c, colour) in palette::OKABE_ITO.iter().enumerate() {
        ctx.begin_path();
        let mut any = false;
        for ((ci, link), m) in f.links.iter().zip(view.in_flight.iter()) {
            if *ci != c {
                continue;
            }
            let p = progress(now, m.sent_at, m.deliver_at);
            let (x, y) = link.at(p);
            let (tx, ty) = link.at(p - TAIL);
            ctx.move_to(tx, ty);
            ctx.line_to(x, y);
            any = true;
        }
        if !any {
            continue;
        }
        ctx.set_stroke_style_str(colour);
        ctx.set_line_width(head * 0.6);
        ctx.set_global_alpha(0.5);
        ctx.stroke();
        ctx.set_global_alpha(1.0);
        ctx.begin_path();
        for ((ci, link), m) in f.links.iter().zip(view.in_flight.iter()) {
            if *ci != c {
                continue;
            }
            let (x, y) = link.at(progress(now, m.sent_at, m.deliver_at));
            ctx.move_to(x + head, y);
            let _ = ctx.arc(x, y, head, 0.0, 2.0 * PI);
        }
        ctx.set_fill_style_str(colour);
        ctx.fill();
    }

    // Dropped messages: a fading cross where they died.
    ctx.set_line_width(2.5);
    for e in view.recent.iter().filter(|e| e.category == "drop") {
        let Some(to) = e.to else { continue };
        let opacity = drop_opacity(now, e.time, f.speed);
        let Some(link) = Link::between(e.node, to, n, r).filter(|_| opacity > 0.0) else { continue };
        let (x, y) = link.at(if e.dropped == Some(DropReason::Crashed) { 1.0 } else { 0.5 });
        ctx.set_global_alpha(opacity * 0.45);
        ctx.set_fill_style_str(palette::colour(&e.kind));
        ctx.begin_path();
        let _ = ctx.arc(x, y, 7.0, 0.0, 2.0 * PI);
        ctx.fill();
        ctx.set_global_alpha(opacity);
        ctx.set_stroke_style_str("#c0392b");
        ctx.begin_path();
        let c = 5.0;
        ctx.move_to(x - c, y - c);
        ctx.line_to(x + c, y + c);
        ctx.move_to(x - c, y + c);
        ctx.line_to(x + c, y - c);
        ctx.stroke();
    }
    ctx.set_global_alpha(1.0);

    // The selected node: a halo.
    if let Some(id) = f.selected.filter(|id| *id < n) {
        let (x, y) = ring_position(id, n);
        ctx.set_stroke_style_str("#56b4e9");
        ctx.set_line_width(3.0);
        ctx.begin_path();
        let _ = ctx.arc(x, y, r + 6.0, 0.0, 2.0 * PI);
        ctx.stroke();
    }
}

/// The node states the canvas tells apart (any other counts as up).
fn state_of(node: &NodeView) -> &str {
    match node.state.as_str() {
        s @ ("crashed" | "byzantine" | "partitioned") => s,
        _ => "up",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn a_thousand_nodes_stay_apart_on_the_ring() {
        let n = 1_000;
        let r = dot_radius(n);
        let (a, b) = (ring_position(0, n), ring_position(1, n));
        let gap = ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
        assert!(r * 2.0 <= gap.max(3.0), "radius {r}, neighbours {gap} apart");
        assert!(dot_radius(8) > dot_radius(100), "a small cluster gets bigger dots");
    }

    #[test]
    fn a_click_picks_the_nearest_node_not_the_first_in_reach() {
        let n = 1_000;
        for i in [0, 1, 499, 500, 999] {
            let (x, y) = ring_position(i, n);
            assert_eq!(nearest_node((x + 0.2, y - 0.2), n, 8.0), Some(i));
        }
        assert_eq!(nearest_node(CENTRE, n, 8.0), None, "the centre is empty");
        assert_eq!(nearest_node((0.0, 0.0), 0, 8.0), None, "no nodes, nothing to pick");
    }
}
