//! The cluster on one canvas, for clusters too big for SVG: the same ring (or force
//! layout), colours, links and gestures as the SVG view, drawn on animation frames from the
//! latest snapshot without re-rendering the component tree. Nodes are picked by position.

use std::cell::{Cell, RefCell};
use std::f64::consts::PI;
use std::rc::Rc;

use void_core::sim::{DropReason, NodeView};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};
use yew::prelude::*;

use super::cluster::{
    Arrangement, CENTRE, HEIGHT, LAYOUT_BOX, Link, SIDE_TINTS, WIDTH, drop_opacity, hook, progress,
    rejections, ring_length, ring_positions, ring_radii, to_drawing,
};
use super::gesture::{Drag, Point, nearest_node};
use crate::layout::Force;
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

/// Force-layout iterations per animation frame: a thousand nodes settle in about twenty
/// frames, each iteration a fraction of a millisecond.
const ITERATIONS_PER_FRAME: u32 = 15;

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
    arrangement: Arrangement,
    /// The gossip overlay the force layout follows.
    overlay: Rc<Vec<(u32, u32)>>,
    force: Option<Force>,
    /// Where each node is drawn now (the ring's places, or the force layout's so far).
    pos: Vec<Point>,
    /// The placement must be brought up to date before the next frame.
    placed: bool,
    /// The pointer gesture in progress, drawn over the cluster.
    drag: Option<Drag>,
    /// Where a gesture just ended in an action: the click the browser sends there after
    /// it is not a click on a node.
    gestured: Option<(i32, i32)>,
}

impl Frame {
    /// Brings node positions up to date: the ring's places, or some more iterations of the
    /// force layout (warm-started when the overlay changed). True if nodes moved.
    fn place(&mut self) -> bool {
        let n = self.view.nodes.len() as u32;
        match self.arrangement() {
            Arrangement::Ring => {
                if self.placed && self.pos.len() == n as usize {
                    return false;
                }
                // The force layout is kept: switching back shows it as it was.
                self.pos = ring_positions(n);
            }
            Arrangement::Force => {
                let force = self.force.get_or_insert_with(|| Force::new(n, &self.overlay, LAYOUT_BOX));
                if !self.placed {
                    force.reshape(n, &self.overlay);
                    force.set_sides(&self.view.sides);
                }
                if force.step(ITERATIONS_PER_FRAME) == 0 && self.placed && self.pos.len() == n as usize {
                    return false;
                }
                self.pos = force.fitted();
            }
        }
        self.placed = true;
        self.links_of = None;
        true
    }

    /// The layout drawn: the ring while there are no overlay links to place nodes by.
    fn arrangement(&self) -> Arrangement {
        if self.overlay.is_empty() { Arrangement::Ring } else { self.arrangement }
    }

    /// True once nodes stay where they are until the cluster changes.
    fn settled(&self) -> bool {
        self.placed
            && (self.arrangement() == Arrangement::Ring || self.force.as_ref().is_some_and(Force::settled))
    }
}

#[derive(Properties, PartialEq)]
pub struct CanvasProps {
    pub view: Rc<Snapshot>,
    pub shown_us: u64,
    pub speed: f64,
    pub selected: Option<u32>,
    pub tree: Rc<Vec<(u32, u32, bool)>>,
    /// The gossip overlay's links, for the force layout.
    pub overlay: Rc<Vec<(u32, u32)>>,
    pub arrangement: Arrangement,
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
        arrangement: props.arrangement,
        overlay: props.overlay.clone(),
        force: None,
        pos: Vec::new(),
        placed: false,
        drag: None,
        gestured: None,
    });
    {
        let mut f = frame.borrow_mut();
        if f.arrangement != props.arrangement
            || f.view.nodes.len() != props.view.nodes.len()
            || *f.overlay != *props.overlay
            || f.view.sides != props.view.sides
        {
            f.placed = false;
        }
        f.view = props.view.clone();
        f.shown_us = props.shown_us;
        f.speed = props.speed;
        f.selected = props.selected;
        f.tree = props.tree.clone();
        f.arrangement = props.arrangement;
        f.overlay = props.overlay.clone();
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
    // The node under page point `client`, where the frame drew it.
    let picked = {
        let (canvas, frame) = (canvas.clone(), frame.clone());
        move |client: (i32, i32)| {
            let p = to_drawing(&canvas, client)?;
            nearest_node(p, &frame.borrow().pos, reach)
        }
    };
    let on_click = {
        let (dispatch, picked) = (props.dispatch.clone(), picked.clone());
        let frame = frame.clone();
        Callback::from(move |e: MouseEvent| {
            if frame.borrow_mut().gestured.take() == Some((e.client_x(), e.client_y())) {
                return;
            }
            if let Some(id) = picked((e.client_x(), e.client_y())) {
                dispatch.emit(Action::Select(Some(id)));
            }
        })
    };
    let on_menu = {
        let (dispatch, picked) = (props.dispatch.clone(), picked.clone());
        Callback::from(move |e: MouseEvent| {
            if let Some(id) = picked((e.client_x(), e.client_y())) {
                e.prevent_default();
                dispatch.emit(Action::Menu(Some((id, e.client_x(), e.client_y()))));
            }
        })
    };
    // Gestures live in the frame, not in component state: the next animation frame draws
    // them, and no pointer move re-renders the component tree.
    let on_down = {
        let (canvas, frame, picked) = (canvas.clone(), frame.clone(), picked.clone());
        Callback::from(move |e: PointerEvent| {
            if e.button() != 0 {
                return;
            }
            let Some(p) = to_drawing(&canvas, (e.client_x(), e.client_y())) else { return };
            if e.shift_key() {
                e.prevent_default();
            }
            let on = if e.shift_key() { None } else { picked((e.client_x(), e.client_y())) };
            let mut f = frame.borrow_mut();
            f.drag = Drag::start(p, e.shift_key(), on);
            f.gestured = None;
            f.dirty = true;
        })
    };
    let on_move = {
        let (canvas, frame) = (canvas.clone(), frame.clone());
        Callback::from(move |e: PointerEvent| {
            let mut f = frame.borrow_mut();
            let Some(drag) = f.drag.as_mut() else { return };
            let Some(p) = to_drawing(&canvas, (e.client_x(), e.client_y())) else { return };
            drag.moved(p);
            f.dirty = true;
        })
    };
    let on_up = {
        let (frame, dispatch) = (frame.clone(), props.dispatch.clone());
        Callback::from(move |e: PointerEvent| {
            let client = (e.client_x(), e.client_y());
            let Some(drag) = frame.borrow_mut().drag.take() else { return };
            frame.borrow_mut().dirty = true;
            let on = picked(client);
            let action = drag.finish(&frame.borrow().pos, on, client);
            frame.borrow_mut().gestured = action.is_some().then_some(client);
            if let Some(action) = action {
                dispatch.emit(action);
            }
        })
    };
    let on_leave = {
        let frame = frame.clone();
        Callback::from(move |_: PointerEvent| {
            let mut f = frame.borrow_mut();
            f.dirty |= f.drag.take().is_some();
        })
    };
    let what = match props.arrangement {
        Arrangement::Ring => "on a ring",
        Arrangement::Force => "placed by their overlay links",
    };
    html! {
        <canvas class="cluster-canvas" data-testid="cluster-canvas" ref={canvas} role="img"
            aria-label={format!("{n} nodes {what} and their messages in flight")}
            data-layout={props.arrangement.name()}
            onclick={on_click} oncontextmenu={on_menu} onpointerdown={on_down} onpointermove={on_move}
            onpointerup={on_up} onpointerleave={on_leave} />
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
            let was_settled = f.settled();
            if f.place() {
                f.dirty = true;
            }
            if f.settled() && !was_settled {
                // Where the nodes came to rest, for whoever needs to find one on the page.
                let _ = element.set_attribute("data-positions", &positions_text(&f.pos));
                let _ = element.set_attribute("data-settled", "true");
            } else if !f.settled() && was_settled {
                let _ = element.remove_attribute("data-settled");
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
    // Taken for the frame (and put back at its end) so the link cache can be rebuilt too.
    let pos = std::mem::take(&mut f.pos);
    let at = |i: u32| pos.get(i as usize).copied().unwrap_or(CENTRE);
    let now = f.shown_us;

    // Partitions: a band of the side's colour behind the nodes of each side.
    if !view.sides.is_empty() {
        let halo = (ring_length(n) / f64::from(n.max(1)) * 0.75).max(r * 2.2);
        ctx.set_global_alpha(0.3);
        for (t, tint) in SIDE_TINTS.iter().enumerate() {
            ctx.begin_path();
            for (i, side) in view.sides.iter().enumerate() {
                if *side as usize % SIDE_TINTS.len() == t {
                    let (x, y) = at(i as u32);
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
    if f.arrangement == Arrangement::Ring {
        let (rx, ry) = ring_radii(n);
        ctx.set_stroke_style_str("#d9dde3");
        ctx.set_line_width(1.5);
        dash(&ctx, "3 6");
        ctx.begin_path();
        let _ = ctx.ellipse(CENTRE.0, CENTRE.1, rx, ry, 0.0, 0.0, 2.0 * PI);
        ctx.stroke();
    }

    // Plumtree's tree: eager links solid, lazy ones dashed and fainter.
    for (eager, colour, width, pattern) in [(false, "#b3bac2", 0.8, "2 3"), (true, "#5b6470", 1.2, "")] {
        ctx.begin_path();
        for (a, b, _) in f.tree.iter().filter(|l| l.2 == eager) {
            let ((x1, y1), (x2, y2)) = (at(*a), at(*b));
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
            let ((x1, y1), (x2, y2)) = (at(*a), at(*b));
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
            node_shape(&ctx, at(node.id), r, node.role == "client");
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
                node_shape(&ctx, at(node.id), r, node.role == "client");
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
        let (x, y) = at(node.id);
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
        let (x, y) = at(node.id);
        ctx.move_to(x + r + 3.0, y);
        let _ = ctx.arc(x, y, r + 3.0, 0.0, 2.0 * PI);
    }
    ctx.set_stroke_style_str("#1b1f24");
    ctx.stroke();
    // The latest broadcast: a green ring on each node it reached, a thick one on its sender.
    if let Some(s) = view.spread.as_deref() {
        ctx.begin_path();
        for node in view.nodes.iter().filter(|v| s.reached.get(v.id as usize).copied().unwrap_or(false)) {
            let (x, y) = at(node.id);
            ctx.move_to(x + r + 2.0, y);
            let _ = ctx.arc(x, y, r + 2.0, 0.0, 2.0 * PI);
        }
        ctx.set_stroke_style_str("#009e73");
        ctx.set_line_width(2.0);
        ctx.stroke();
        let (x, y) = at(s.origin);
        ctx.begin_path();
        let _ = ctx.arc(x, y, r + 4.0, 0.0, 2.0 * PI);
        ctx.set_stroke_style_str("#00694d");
        ctx.set_line_width(4.0);
        ctx.stroke();
    }

    // Messages in flight: per colour, one path of tails and one of heads.
    if !f.links_of.as_ref().is_some_and(|v| Rc::ptr_eq(v, &view)) {
        f.links.clear();
        f.links.extend(
            view.in_flight
                .iter()
                .filter_map(|m| Some((palette::colour_index(m.kind), Link::between(m.from, m.to, &pos, r)?))),
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
        let Some(link) = Link::between(e.node, to, &pos, r).filter(|_| opacity > 0.0) else { continue };
        let (x, y) = link.at(if e.dropped == Some(DropReason::Crashed) { 1.0 } else { 0.5 });
        faded_dot(&ctx, (x, y), 7.0, palette::colour(&e.kind), opacity);
        ctx.set_stroke_style_str("#c0392b");
        ctx.begin_path();
        let c = 5.0;
        ctx.move_to(x - c, y - c);
        ctx.line_to(x + c, y + c);
        ctx.move_to(x - c, y + c);
        ctx.line_to(x + c, y - c);
        ctx.stroke();
    }
    // Refused messages bounce off their receiver, as in the SVG view.
    ctx.set_stroke_style_str("#c0392b");
    ctx.set_line_width(3.0);
    for b in rejections(&view.recent) {
        let opacity = drop_opacity(now, b.time, f.speed);
        let Some(link) = Link::between(b.from, b.to, &pos, r).filter(|_| opacity > 0.0) else { continue };
        let [(hx, hy), (cx, cy), (tx, ty)] = hook(&link);
        faded_dot(&ctx, (hx, hy), 8.0, palette::colour(&b.kind), opacity);
        ctx.begin_path();
        ctx.move_to(hx, hy);
        ctx.quadratic_curve_to(cx, cy, tx, ty);
        ctx.stroke();
        ctx.set_fill_style_str("#c0392b");
        ctx.begin_path();
        let _ = ctx.arc(tx, ty, 4.0, 0.0, 2.0 * PI);
        ctx.fill();
    }
    ctx.set_global_alpha(1.0);

    // The selected node: a halo.
    if let Some(id) = f.selected.filter(|id| *id < n) {
        let (x, y) = at(id);
        ctx.set_stroke_style_str("#56b4e9");
        ctx.set_line_width(3.0);
        ctx.begin_path();
        let _ = ctx.arc(x, y, r + 6.0, 0.0, 2.0 * PI);
        ctx.stroke();
    }

    // The gesture in progress: the lasso's outline, or a line from the node dragged from.
    match &f.drag {
        Some(Drag::Lasso(outline)) if outline.len() > 1 => {
            ctx.begin_path();
            for (i, (x, y)) in outline.iter().enumerate() {
                if i == 0 {
                    ctx.move_to(*x, *y);
                } else {
                    ctx.line_to(*x, *y);
                }
            }
            ctx.close_path();
            ctx.set_fill_style_str(LASSO_FILL);
            ctx.fill();
            ctx.set_stroke_style_str(LASSO_STROKE);
            ctx.set_line_width(1.5);
            dash(&ctx, "4 3");
            ctx.stroke();
            dash(&ctx, "");
        }
        Some(Drag::Link { from, to }) => {
            let (x, y) = at(*from);
            ctx.begin_path();
            ctx.move_to(x, y);
            ctx.line_to(to.0, to.1);
            ctx.set_stroke_style_str(LINK_DRAG_STROKE);
            ctx.set_line_width(2.0);
            dash(&ctx, "4 3");
            ctx.stroke();
            dash(&ctx, "");
        }
        _ => {}
    }
    f.pos = pos;
}

/// The faint dot in a message's colour where it was dropped or refused; leaves the
/// context's alpha at `opacity` for the mark drawn over it.
fn faded_dot(ctx: &CanvasRenderingContext2d, (x, y): (f64, f64), r: f64, colour: &str, opacity: f64) {
    ctx.set_global_alpha(opacity * 0.45);
    ctx.set_fill_style_str(colour);
    ctx.begin_path();
    let _ = ctx.arc(x, y, r, 0.0, 2.0 * PI);
    ctx.fill();
    ctx.set_global_alpha(opacity);
}

/// Colours of a gesture being drawn (the SVG view's `.lasso` and `.link-drag`).
pub const LASSO_STROKE: &str = "#0072b2";
pub const LINK_DRAG_STROKE: &str = "#c0392b";
const LASSO_FILL: &str = "rgba(86, 180, 233, 0.12)";

/// Node positions as `x,y` pairs with one decimal, separated by spaces.
fn positions_text(pos: &[Point]) -> String {
    let mut text = String::with_capacity(pos.len() * 12);
    for (i, (x, y)) in pos.iter().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        text.push_str(&format!("{x:.1},{y:.1}"));
    }
    text
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
    use super::super::cluster::ring_position;
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
}
