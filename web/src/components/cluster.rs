//! The cluster: nodes on a ring and every message in flight moving along its link, placed by
//! virtual time between its sending and its arrival; dropped messages fade out as a cross.

use std::f64::consts::PI;
use std::rc::Rc;

use void_core::sim::{DropReason, EventView, InFlight, NodeView};
use yew::prelude::*;

use super::canvas::CanvasCluster;
use super::gesture::{Drag, Point, nearest_node};
use crate::format;
use crate::layout::{self, Force};
use crate::math;
use crate::model::{Action, Snapshot, Spread, VIRTUAL_US_PER_REAL_MS_AT_1X, canvas_mode};
use crate::palette;

/// Tints of the sides of a partition (light, so nodes and messages stay readable).
pub(super) const SIDE_TINTS: [&str; 4] = ["#56b4e9", "#e69f00", "#009e73", "#cc79a7"];

/// How the nodes are placed: evenly on a ring, or by a force-directed layout of the
/// overlay's links (gossip clusters, where the overlay is the interesting shape).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrangement {
    Ring,
    Force,
}

impl Arrangement {
    pub fn name(self) -> &'static str {
        match self {
            Arrangement::Ring => "ring",
            Arrangement::Force => "force",
        }
    }
}

/// The layout a cluster opens with: force for gossip clusters too big for the ring to show
/// their overlay (canvas mode), the ring otherwise (PBFT and small clusters).
pub fn default_arrangement(nodes: &[NodeView]) -> Arrangement {
    if canvas_mode(nodes.len()) && nodes.iter().any(|n| n.role == "gossip") {
        Arrangement::Force
    } else {
        Arrangement::Ring
    }
}

/// The box force-directed layouts keep node centres in: room for the nodes' bodies.
pub(super) const LAYOUT_BOX: layout::Bounds = (40.0, 24.0, WIDTH - 40.0, HEIGHT - 24.0);

/// Where every node of `n` sits on the ring.
pub fn ring_positions(n: u32) -> Vec<Point> {
    (0..n).map(|i| ring_position(i, n)).collect()
}

/// The node drawn at `p`, if any (within its radius plus a margin for fingers).
fn node_at(p: Point, positions: &[Point]) -> Option<u32> {
    nearest_node(p, positions, node_radius(positions.len() as u32) + 6.0)
}

/// Page coordinates to drawing coordinates of the SVG (viewBox, "xMidYMid meet") or of the
/// canvas (its picture is scaled the same way, `object-fit: contain`).
pub(super) fn to_drawing(svg: &NodeRef, client: (i32, i32)) -> Option<(f64, f64)> {
    let rect = svg.cast::<web_sys::Element>()?.get_bounding_client_rect();
    let scale = (rect.width() / WIDTH).min(rect.height() / HEIGHT);
    if scale <= 0.0 || !scale.is_finite() {
        return None;
    }
    let left = rect.left() + (rect.width() - WIDTH * scale) / 2.0;
    let top = rect.top() + (rect.height() - HEIGHT * scale) / 2.0;
    Some(((f64::from(client.0) - left) / scale, (f64::from(client.1) - top) / scale))
}

pub(super) const WIDTH: f64 = 800.0;
pub(super) const HEIGHT: f64 = 430.0;
/// Real milliseconds a dropped message's cross takes to fade out.
const DROP_FADE_REAL_MS: f64 = 900.0;
/// Up to this many drawn messages also show their whole link, faintly.
const MAX_TRACKS: usize = 16;
/// Up to this many drawn messages carry their kind as text, not only on hover.
const MAX_LABELS: usize = 8;
/// Clusters of up to this many nodes show each node's HLC and behaviour as text (more
/// would not fit beside them), and up to [`MAX_NODE_NAMES`] their names.
const MAX_NODE_TEXT: u32 = 12;
const MAX_NODE_NAMES: u32 = 24;
/// Length of a message's tail, as a fraction of its link.
const TAIL: f64 = 0.1;

#[derive(Properties, PartialEq)]
pub struct ClusterProps {
    pub view: Rc<Snapshot>,
    /// Virtual time the animation shows (the simulation's time or later while playing).
    pub shown_us: u64,
    pub speed: f64,
    pub selected: Option<u32>,
    pub dispatch: Callback<Action>,
    /// The native cluster, not a simulated run: its faults come from the live panel.
    #[prop_or_default]
    pub live: bool,
    /// Text size relative to normal (the large-text toggle); labels keep clear of each
    /// other at this size.
    #[prop_or(1.0)]
    pub text_scale: f64,
}

/// Centre of node `i` of `n` on the ring, starting at the top and going clockwise.
pub fn ring_position(i: u32, n: u32) -> (f64, f64) {
    let (rx, ry) = ring_radii(n);
    let angle = -PI / 2.0 + 2.0 * PI * f64::from(i) / f64::from(n.max(1));
    (CENTRE.0 + rx * math::cos(angle), CENTRE.1 + ry * math::sin(angle))
}

/// The ring's centre in drawing units.
pub(super) const CENTRE: (f64, f64) = (WIDTH / 2.0, HEIGHT / 2.0);

/// Horizontal and vertical radius of the ring: a circle with room for labels in SVG; on a
/// canvas (no labels, many nodes) an ellipse as wide as the drawing, so nodes get more room.
pub(super) fn ring_radii(n: u32) -> (f64, f64) {
    if n <= 1 {
        (0.0, 0.0)
    } else if canvas_mode(n as usize) {
        (WIDTH / 2.0 - 70.0, HEIGHT / 2.0 - 30.0)
    } else {
        // Room above the top node and below the bottom one for their text.
        (150.0, 150.0)
    }
}

/// Length of the ring (Ramanujan's approximation for an ellipse).
pub(super) fn ring_length(n: u32) -> f64 {
    let (a, b) = ring_radii(n);
    PI * (3.0 * (a + b) - ((3.0 * a + b) * (a + 3.0 * b)).sqrt())
}

fn node_radius(n: u32) -> f64 {
    let room = ring_length(n) / f64::from(n.max(1));
    (room * 0.3).clamp(7.0, 32.0)
}

/// Plumtree's broadcast tree as the nodes see it, from their `eager_push_peers` and
/// `lazy_push_peers`: each link once (lower node first), eager when either end pushes
/// eagerly over it. Empty for protocols without these facts.
pub fn tree_links(nodes: &[NodeView]) -> Vec<(u32, u32, bool)> {
    // Each link packed into one u64 (low node, high node, eager) sorts in the same order
    // as the tuple, and through the sort the simulator's u64 lists already use.
    let mut links: Vec<u64> = Vec::new();
    for node in nodes {
        for (key, value) in &node.facts {
            let eager = match key.as_str() {
                "eager_push_peers" => true,
                "lazy_push_peers" => false,
                _ => continue,
            };
            for peer in peer_ids(value).filter(|p| *p != node.id && (*p as usize) < nodes.len()) {
                let (lo, hi) = (node.id.min(peer), node.id.max(peer));
                links.push(u64::from(lo) << 33 | u64::from(hi) << 1 | u64::from(eager));
            }
        }
    }
    // Eager sorts after lazy: keep the last entry of each link.
    void_core::sort::sort(&mut links);
    let mut tree: Vec<(u32, u32, bool)> = Vec::with_capacity(links.len());
    for l in links {
        let l = ((l >> 33) as u32, (l >> 1) as u32, l & 1 == 1);
        match tree.last_mut() {
            Some(t) if (t.0, t.1) == (l.0, l.1) => t.2 |= l.2,
            _ => tree.push(l),
        }
    }
    tree
}

/// The overlay the gossip nodes keep: every peer in a node's active view, push peers or
/// flood peers, each link once (lower node first). Empty for protocols without them.
pub fn overlay_links(nodes: &[NodeView]) -> Vec<(u32, u32)> {
    let mut links: Vec<(u32, u32)> = Vec::new();
    for node in nodes {
        for (key, value) in &node.facts {
            if matches!(key.as_str(), "active view" | "eager_push_peers" | "lazy_push_peers" | "flood peers")
            {
                links.extend(peer_ids(value).map(|p| (node.id, p)));
            }
        }
    }
    layout::normalise(nodes.len() as u32, &links)
}

/// The node ids in a fact such as `[NodeId(3), NodeId(7)]`.
fn peer_ids(value: &str) -> impl Iterator<Item = u32> + '_ {
    value.split("NodeId(").skip(1).filter_map(|part| part.split(')').next()?.parse().ok())
}

/// A box on the drawing: left, top, right, bottom.
pub type Rect = (f64, f64, f64, f64);

fn overlaps(a: &Rect, b: &Rect) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// Which of `wanted` labels to draw: in order, each whose box overlaps neither a box in
/// `taken` (nodes and their labels) nor a label already chosen.
pub fn place_labels(wanted: &[Rect], taken: &[Rect]) -> Vec<bool> {
    let mut placed: Vec<Rect> = Vec::new();
    wanted
        .iter()
        .map(|b| {
            let free = !taken.iter().chain(placed.iter()).any(|t| overlaps(b, t));
            if free {
                placed.push(*b);
            }
            free
        })
        .collect()
}

/// Height of a line of node text at the normal size.
const LINE_PX: f64 = 16.0;

/// The node's text goes above it (the top of the ring): a second line would run into the
/// node, so its behaviour follows its HLC on the one line.
fn text_above((x, y): Point) -> bool {
    let (dx, dy) = (x - CENTRE.0, y - CENTRE.1);
    dy / (dx * dx + dy * dy).sqrt().max(1.0) < -0.35
}

/// Whether a node's clock skew goes on a line of its own under the HLC stamp: beside it,
/// the line would leave the drawing (a node at the side of the ring, with large text).
fn skew_below(node: &NodeView, at: Point, r: f64, scale: f64) -> bool {
    let Some(skew) = skew(node) else { return false };
    let chars = node_text(node).chars().count() + 1 + skew.chars().count();
    let b = label_box(label_spot(at, r, scale), chars, 1, scale);
    b.0 < 0.0 || b.2 > WIDTH
}

/// Characters (of the longest line) and lines of a node's text beside the node at `at`.
fn text_size(node: &NodeView, at: Point, r: f64, scale: f64) -> (usize, usize) {
    let stamp = node_text(node).chars().count();
    let skew = skew(node).map_or(0, |s| s.chars().count());
    let mut lines = if skew == 0 {
        vec![stamp]
    } else if skew_below(node, at, r, scale) {
        vec![stamp, skew]
    } else {
        vec![stamp + 1 + skew]
    };
    match node.behaviour.as_ref().map(|b| b.chars().count()) {
        Some(b) if text_above(at) => *lines.last_mut().unwrap_or(&mut 0) += 1 + b,
        Some(b) => lines.push(b),
        None => {}
    }
    (lines.iter().copied().max().unwrap_or(0), lines.len())
}

/// Where the text (HLC, behaviour) of the node at `(x, y)` goes: outside the ring, beside it,
/// away from the messages crossing the middle, for text `scale` times the normal size.
/// Returns the anchor point and `text-anchor`.
pub fn label_spot((x, y): Point, r: f64, scale: f64) -> ((f64, f64), &'static str) {
    let (dx, dy) = (x - CENTRE.0, y - CENTRE.1);
    let len = (dx * dx + dy * dy).sqrt().max(1.0);
    let (ux, uy) = (dx / len, dy / len);
    // Below the ring, two nodes either side of the bottom (odd counts) would centre their
    // text into each other: each leans away from the other instead.
    let below = uy > 0.35;
    let anchor = if ux > 0.35 || (below && ux > 0.05) {
        "start"
    } else if ux < -0.35 || (below && ux < -0.05) {
        "end"
    } else {
        "middle"
    };
    // Below the node at the bottom, above it at the top, level with it at the sides.
    let gap = r + 8.0;
    let y_off = if below {
        gap + 10.0 * scale
    } else if text_above((x, y)) {
        -gap
    } else {
        4.0
    };
    let x_off = match anchor {
        "start" => gap,
        "end" => -gap,
        _ => 0.0,
    };
    ((x + x_off, y + y_off), anchor)
}

/// The box of `lines` lines of node text at `spot`, the longest `chars` characters (13 px
/// monospace times `scale`).
fn label_box(((x, y), anchor): ((f64, f64), &str), chars: usize, lines: usize, scale: f64) -> Rect {
    let w = chars as f64 * 7.9 * scale;
    let left = match anchor {
        "start" => x,
        "end" => x - w,
        _ => x - w / 2.0,
    };
    (left, y - 12.0 * scale, left + w, y + (4.0 + LINE_PX * (lines as f64 - 1.0)) * scale)
}

/// How far along its link a message is at `now_us`: 0 at the sender, 1 at the receiver.
pub fn progress(now_us: u64, sent_at: u64, deliver_at: u64) -> f64 {
    if deliver_at <= sent_at {
        return if now_us >= deliver_at { 1.0 } else { 0.0 };
    }
    (now_us.saturating_sub(sent_at) as f64 / (deliver_at - sent_at) as f64).clamp(0.0, 1.0)
}

/// The curve a message follows: a quadratic Bézier from the sender's rim to the receiver's,
/// bent to the right so that a message and its answer do not overlap; a node's message to
/// itself loops outside the ring.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Link {
    pub start: (f64, f64),
    pub control: (f64, f64),
    pub end: (f64, f64),
}

impl Link {
    /// The link from node `from` to node `to`, placed at `positions` and drawn with radius `r`.
    pub fn between(from: u32, to: u32, positions: &[Point], r: f64) -> Option<Link> {
        let (x1, y1) = *positions.get(from as usize)?;
        let (x2, y2) = *positions.get(to as usize)?;
        if from == to {
            let (cx, cy) = CENTRE;
            let (dx, dy) = (x1 - cx, y1 - cy);
            let len = (dx * dx + dy * dy).sqrt();
            let (ux, uy) = if len < 1.0 { (0.0, -1.0) } else { (dx / len, dy / len) };
            let rim = |turn: f64| {
                let (s, c) = (math::sin(turn), math::cos(turn));
                (x1 + (ux * c - uy * s) * r, y1 + (ux * s + uy * c) * r)
            };
            return Some(Link {
                start: rim(-0.6),
                control: (x1 + ux * r * 4.0, y1 + uy * r * 4.0),
                end: rim(0.6),
            });
        }
        let (dx, dy) = (x2 - x1, y2 - y1);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let (ux, uy) = (dx / len, dy / len);
        let start = (x1 + ux * (r + 3.0), y1 + uy * (r + 3.0));
        let end = (x2 - ux * (r + 3.0), y2 - uy * (r + 3.0));
        let bend = len * 0.12;
        let control = ((start.0 + end.0) / 2.0 - uy * bend, (start.1 + end.1) / 2.0 + ux * bend);
        Some(Link { start, control, end })
    }

    /// The point a fraction `t` (0..=1) of the way along.
    pub fn at(&self, t: f64) -> (f64, f64) {
        let t = t.clamp(0.0, 1.0);
        let (a, b, c) = ((1.0 - t) * (1.0 - t), 2.0 * (1.0 - t) * t, t * t);
        (
            a * self.start.0 + b * self.control.0 + c * self.end.0,
            a * self.start.1 + b * self.control.1 + c * self.end.1,
        )
    }

    fn path(&self) -> String {
        format!(
            "M {:.1} {:.1} Q {:.1} {:.1} {:.1} {:.1}",
            self.start.0, self.start.1, self.control.0, self.control.1, self.end.0, self.end.1
        )
    }
}

/// Opacity of a cross for a message dropped at `dropped_at`, seen at `now_us`: it fades over
/// [`DROP_FADE_REAL_MS`] of real time at `speed`, so a cross is as brief at 10× as at 1×.
pub fn drop_opacity(now_us: u64, dropped_at: u64, speed: f64) -> f64 {
    let fade_us = DROP_FADE_REAL_MS * VIRTUAL_US_PER_REAL_MS_AT_1X * speed.max(0.01);
    (1.0 - now_us.saturating_sub(dropped_at) as f64 / fade_us).max(0.0)
}

/// The cluster in SVG, or on a canvas when it has too many nodes for SVG to keep up.
#[function_component(ClusterView)]
pub fn cluster_view(props: &ClusterProps) -> Html {
    let view = &props.view;
    // The reader's choice of layout, for as long as the cluster keeps its size.
    let chosen = use_state(|| None::<(usize, Arrangement)>);
    // Only a gossip overlay gives a force layout links to place nodes by.
    let has_overlay = view.nodes.iter().any(|n| n.role == "gossip");
    let arrangement = match *chosen {
        Some((n, a)) if n == view.nodes.len() && has_overlay => a,
        _ => default_arrangement(&view.nodes),
    };
    let toggle = if !has_overlay {
        Html::default()
    } else {
        let n = view.nodes.len();
        let option = |a: Arrangement| {
            let chosen = chosen.clone();
            let pick = Callback::from(move |_: MouseEvent| chosen.set(Some((n, a))));
            html! {
                <button class={classes!((a == arrangement).then_some("on"))} data-layout-option={a.name()}
                    aria-pressed={(a == arrangement).to_string()} onclick={pick}>{ a.name() }</button>
            }
        };
        html! {
            <span class="layout-toggle" role="group" aria-label="layout" data-testid="layout"
                data-layout={arrangement.name()}
                title="ring: nodes in id order; force: placed by the links of the gossip overlay">
                { option(Arrangement::Ring) }{ option(Arrangement::Force) }
            </span>
        }
    };
    if !canvas_mode(view.nodes.len()) {
        return html! {
            <SvgCluster view={view.clone()} shown_us={props.shown_us} speed={props.speed}
                selected={props.selected} dispatch={props.dispatch.clone()} live={props.live}
                {arrangement} {toggle} text_scale={props.text_scale} />
        };
    }
    let now = props.shown_us;
    let drops: Vec<(&EventView, f64)> = view
        .recent
        .iter()
        .filter(|e| e.category == "drop" && e.to.is_some())
        .map(|e| (e, drop_opacity(now, e.time, props.speed)))
        .filter(|(_, o)| *o > 0.0)
        .collect();
    let tree = Rc::new(tree_links(&view.nodes));
    let eager = tree.iter().filter(|l| l.2).count();
    let overlay = Rc::new(overlay_links(&view.nodes));
    html! {
        <section class="cluster" aria-label="cluster view" data-render="canvas"
            data-nodes={view.nodes.len().to_string()} data-drawn={view.in_flight.len().to_string()}
            data-eager={eager.to_string()} data-lazy={(tree.len() - eager).to_string()}>
            <CanvasCluster view={view.clone()} shown_us={now} speed={props.speed}
                selected={props.selected} tree={tree.clone()} {overlay} {arrangement}
                dispatch={props.dispatch.clone()} />
            <p class="gesture-hint">
                { toggle }
                // One line even with large text: the node legend sits just above it.
                { format!("{} nodes · click: inspect · right-click: menu · shift-drag: partition · ", view.nodes.len()) }
                { "drag node to node: break the link" }
                { heal_button(view, &props.dispatch) }
            </p>
            // One column: the message key at the top, the node key at the bottom, never
            // over each other (large text, many kinds).
            <div class="legends">
                { legend(view, &drops) }
                { node_legend(view, &tree) }
            </div>
        </section>
    }
}

/// The button that ends every partition and link fault the user added.
fn heal(dispatch: &Callback<Action>) -> Callback<MouseEvent> {
    let dispatch = dispatch.clone();
    Callback::from(move |_: MouseEvent| dispatch.emit(Action::Heal))
}

/// "heal network", shown while the user's partitions or link faults are in force.
fn heal_button(view: &Snapshot, dispatch: &Callback<Action>) -> Html {
    if view.network_faults == 0 {
        return html! {};
    }
    html! {
        <button class="heal" data-testid="heal" onclick={heal(dispatch)}
            title="end every partition and link fault you added">
            { "heal network" }
        </button>
    }
}

#[derive(Properties, PartialEq)]
struct SvgProps {
    view: Rc<Snapshot>,
    shown_us: u64,
    speed: f64,
    selected: Option<u32>,
    dispatch: Callback<Action>,
    live: bool,
    arrangement: Arrangement,
    /// The ring | force switch, shown with the gesture hint.
    toggle: Html,
    /// Text size relative to normal (the large-text toggle).
    text_scale: f64,
}

#[function_component(SvgCluster)]
fn svg_cluster(props: &SvgProps) -> Html {
    let view = &props.view;
    let n = view.nodes.len() as u32;
    let r = node_radius(n);
    // A force layout settles at once here (at most 64 nodes), from where it was when the
    // overlay changes.
    let force = use_mut_ref(|| None::<Force>);
    let overlay = overlay_links(&view.nodes);
    // No links yet (a gossip cluster before it joins): nothing to place nodes by.
    let pos: Vec<Point> = match props.arrangement {
        Arrangement::Force if !overlay.is_empty() => {
            let mut force = force.borrow_mut();
            let f = force.get_or_insert_with(|| Force::new(n, &overlay, LAYOUT_BOX));
            f.reshape(n, &overlay);
            f.set_sides(&view.sides);
            f.settle();
            f.fitted()
        }
        _ => ring_positions(n),
    };
    let positions = Rc::new(pos);
    let pos = positions.as_slice();
    let now = props.shown_us;
    let drawn = &view.in_flight;
    let tracks = drawn.len() <= MAX_TRACKS;
    let labels = drawn.len() <= MAX_LABELS;
    // Dots shrink with the nodes, so a crowded ring stays legible.
    let head = (r * 0.3).clamp(4.5, 8.0);
    let scale = props.text_scale;
    // Message labels go only where they hide no node, node text, message dot or other label.
    let show_text = n <= MAX_NODE_TEXT;
    let mut taken: Vec<Rect> = Vec::new();
    for node in &view.nodes {
        let (x, y) = pos[node.id as usize];
        taken.push((x - r, y - r, x + r, y + r));
        if show_text {
            let (chars, lines) = text_size(node, (x, y), r, scale);
            taken.push(label_box(label_spot((x, y), r, scale), chars, lines, scale));
        }
    }
    let wanted: Vec<Rect> = if labels {
        let at: Vec<Option<Point>> = drawn
            .iter()
            .map(|m| Some(Link::between(m.from, m.to, pos, r)?.at(progress(now, m.sent_at, m.deliver_at))))
            .collect();
        // Nor any message's dot: a label over another dot reads as that message's.
        taken.extend(at.iter().flatten().map(|&(x, y)| (x - head, y - head, x + head, y + head)));
        drawn
            .iter()
            .zip(&at)
            .filter_map(|(m, at)| {
                let (x, y) = (*at)?;
                let w = m.kind.len() as f64 * 7.0 * scale + 4.0;
                Some((x - w / 2.0, y - head - 2.0 - 14.0 * scale, x + w / 2.0, y - head - 2.0))
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut placed = place_labels(&wanted, &taken).into_iter();
    let flying: Vec<Html> = drawn
        .iter()
        .map(|m| {
            let label = labels && placed.next().unwrap_or(false);
            let opacity = view.overdue.iter().find(|(id, _)| *id == m.id).map_or(1.0, |o| o.1);
            in_flight(m, now, pos, r, head, tracks, label, opacity)
        })
        .collect();
    let drops: Vec<(&EventView, f64)> = view
        .recent
        .iter()
        .filter(|e| e.category == "drop" && e.to.is_some())
        .map(|e| (e, drop_opacity(now, e.time, props.speed)))
        .filter(|(_, o)| *o > 0.0)
        .collect();
    let crosses = drops.iter().map(|(e, o)| dropped(e, *o, pos, r));
    let bounced: Vec<Html> = rejections(&view.recent)
        .into_iter()
        .map(|b| (drop_opacity(now, b.time, props.speed), b))
        .filter(|(o, _)| *o > 0.0)
        .map(|(o, b)| bounce(&b, o, pos, r))
        .collect();
    let svg = use_node_ref();
    let drag = use_state(|| None::<Drag>);
    let on_down = {
        let (svg, drag, positions) = (svg.clone(), drag.clone(), positions.clone());
        Callback::from(move |e: PointerEvent| {
            if e.button() != 0 {
                return;
            }
            let Some(p) = to_drawing(&svg, (e.client_x(), e.client_y())) else { return };
            if e.shift_key() {
                e.prevent_default();
            }
            if let Some(start) = Drag::start(p, e.shift_key(), node_at(p, &positions)) {
                drag.set(Some(start));
            }
        })
    };
    let on_move = {
        let (svg, drag) = (svg.clone(), drag.clone());
        Callback::from(move |e: PointerEvent| {
            let Some(mut current) = (*drag).clone() else { return };
            let Some(p) = to_drawing(&svg, (e.client_x(), e.client_y())) else { return };
            current.moved(p);
            drag.set(Some(current));
        })
    };
    let on_up = {
        let (svg, drag, dispatch, positions) =
            (svg.clone(), drag.clone(), props.dispatch.clone(), positions.clone());
        Callback::from(move |e: PointerEvent| {
            let Some(current) = (*drag).clone() else { return };
            drag.set(None);
            let client = (e.client_x(), e.client_y());
            let on = to_drawing(&svg, client).and_then(|p| node_at(p, &positions));
            if let Some(action) = current.finish(&positions, on, client) {
                dispatch.emit(action);
            }
        })
    };
    let on_leave = {
        let drag = drag.clone();
        Callback::from(move |_: PointerEvent| drag.set(None))
    };
    let gesture = match &*drag {
        Some(Drag::Lasso(outline)) if outline.len() > 1 => {
            let d = outline
                .iter()
                .enumerate()
                .map(|(i, (x, y))| format!("{}{x:.1} {y:.1}", if i == 0 { "M " } else { " L " }))
                .collect::<String>();
            html! { <path class="lasso" data-testid="lasso" d={format!("{d} Z")} /> }
        }
        Some(Drag::Link { from, to }) => {
            let (x, y) = pos[*from as usize];
            html! { <line class="link-drag" x1={format!("{x:.1}")} y1={format!("{y:.1}")}
            x2={format!("{:.1}", to.0)} y2={format!("{:.1}", to.1)} /> }
        }
        _ => html! {},
    };
    let regions = view.sides.iter().zip(pos).map(|(side, (x, y))| {
        let tint = SIDE_TINTS[*side as usize % SIDE_TINTS.len()];
        html! { <circle class="side-region" data-side={side.to_string()} cx={format!("{x:.1}")}
        cy={format!("{y:.1}")} r={format!("{:.1}", r * 1.8)} fill={tint} /> }
    });
    let tree = tree_links(&view.nodes);
    let broken = view.broken_links.iter().map(|(a, b, both, label)| broken_link(*a, *b, *both, label, pos));
    let nodes = view.nodes.iter().map(|node| {
        let on_click = {
            let dispatch = props.dispatch.clone();
            let id = node.id;
            Callback::from(move |_: MouseEvent| dispatch.emit(Action::Select(Some(id))))
        };
        let on_menu = {
            let dispatch = props.dispatch.clone();
            let id = node.id;
            Callback::from(move |e: MouseEvent| {
                e.prevent_default();
                dispatch.emit(Action::Menu(Some((id, e.client_x(), e.client_y()))));
            })
        };
        let reach = reach_of(view, node.id);
        node_view(node, pos, r, scale, props.selected == Some(node.id), reach, on_click, on_menu)
    });
    html! {
        <section class="cluster" aria-label="cluster view" data-render="svg"
            data-nodes={n.to_string()} data-drawn={drawn.len().to_string()}>
            <svg class={classes!("cluster-svg", drag.is_some().then_some("dragging"))}
                viewBox={format!("0 0 {WIDTH} {HEIGHT}")} ref={svg}
                preserveAspectRatio="xMidYMid meet" role="img"
                onpointerdown={on_down} onpointermove={on_move} onpointerup={on_up} onpointerleave={on_leave}>
                <g class="regions">{ for regions }</g>
                if props.arrangement == Arrangement::Ring {
                    <circle class="ring" cx={CENTRE.0.to_string()} cy={CENTRE.1.to_string()}
                        r={ring_radii(n).0.to_string()} />
                }
                <g class="tree">{ for tree.iter().map(|l| tree_link(*l, pos)) }</g>
                <g class="broken-links">{ for broken }</g>
                <g class="nodes">{ for nodes }</g>
                <g class="messages">{ for crosses }{ for bounced }{ for flying }</g>
                { gesture }
            </svg>
            <p class="gesture-hint">
                { props.toggle.clone() }
                if props.live && view.scenario == crate::recording::SCENARIO {
                    { "A recorded native run: play, step or scrub it in the bar below" }
                } else if props.live {
                    { "The native cluster: kill and restart its nodes, put and get keys in the Live cluster panel" }
                } else {
                    { "Shift-drag around nodes to partition them off · drag from one node to another to break their link · ? keys" }
                }
                { heal_button(view, &props.dispatch) }
            </p>
            // One column: the message key at the top, the node key at the bottom, never
            // over each other (large text, many kinds).
            <div class="legends">
                { legend(view, &drops) }
                { node_legend(view, &tree) }
            </div>
        </section>
    }
}

/// What the marks on nodes and links mean: only those on screen now, so the key stays short.
fn node_legend(view: &Snapshot, tree: &[(u32, u32, bool)]) -> Html {
    let any = |f: &dyn Fn(&NodeView) -> bool| view.nodes.iter().any(f);
    let mut sides: Vec<(u32, usize)> = Vec::new();
    // Kept sorted as they are built (few entries): no sort to compile for these types.
    for side in &view.sides {
        match sides.binary_search_by_key(side, |(s, _)| *s) {
            Ok(i) => sides[i].1 += 1,
            Err(i) => sides.insert(i, (*side, 1)),
        }
    }
    let mut behaviours: Vec<String> = Vec::new();
    for b in view.nodes.iter().filter_map(|n| n.behaviour.as_ref()) {
        if let Err(i) = behaviours.binary_search(b) {
            behaviours.insert(i, b.clone());
        }
    }
    let item = |key: &'static str, icon: Html, label: String| {
        html! { <li data-legend={key}><svg width="26" height="20" viewBox="-13 -10 26 20" aria-hidden="true">{ icon }</svg><span>{ label }</span></li> }
    };
    let disc = |class: &'static str| html! { <circle class={classes!("node-body", "key", class)} r="7" /> };
    html! {
        <ul class="legend node-legend" aria-label="what the marks mean" data-testid="node-legend">
            { item("node", disc("up"), if any(&|n| n.role == "client") { "replica".into() } else { "node".into() }) }
            // The broadcast's marks first: the key scrolls when long, and they change most.
            if let Some(s) = view.spread.as_deref() {
                { item("origin", html! { <><circle class="node-reach origin" r="9" />{ disc("up") }</> },
                    format!("N{}: sent broadcast {}", s.origin, s.id)) }
                { item("reached", html! { <><circle class="node-reach reached" r="9" />{ disc("up") }</> },
                    reached_text(&view.nodes, s)) }
            }
            if any(&|n| n.role == "client") {
                { item("client", html! { <rect class="node-body key up" x="-7" y="-7" width="14" height="14" rx="2" /> }, "client".into()) }
            }
            if any(&|n| n.role == "primary") {
                { item("primary", html! { <><circle class="node-primary" r="9" />{ disc("up") }</> }, "primary".into()) }
            }
            if any(&|n| n.state == "crashed") {
                { item("crashed", html! { <>{ disc("crashed") }<path class="node-cross" d="M -4 -4 L 4 4 M -4 4 L 4 -4" /></> }, "crashed".into()) }
            }
            if !behaviours.is_empty() {
                { item("byzantine", disc("byzantine"), format!("Byzantine: {}", behaviours.join(", "))) }
            }
            if any(&|n| n.state == "partitioned") {
                { item("partitioned", disc("partitioned"), "partitioned: some nodes unreachable".into()) }
            }
            { for sides.iter().map(|(side, count)| item("side",
                html! { <rect x="-11" y="-8" width="22" height="16" rx="4" fill={SIDE_TINTS[*side as usize % SIDE_TINTS.len()]} /> },
                format!("side {} ({count})", side + 1))) }
            if !view.broken_links.is_empty() {
                { item("broken-link", html! { <line class="key-broken" x1="-12" x2="12" /> }, "broken link".into()) }
            }
            if tree.iter().any(|l| l.2) {
                { item("eager", html! { <line class="tree-link eager" x1="-12" x2="12" /> }, "eager link".into()) }
            }
            if tree.iter().any(|l| !l.2) {
                { item("lazy", html! { <line class="tree-link lazy" x1="-12" x2="12" /> }, "lazy link (IHAVE)".into()) }
            }
            if any(&|n| n.clock_offset_us.unsigned_abs() >= 1000) {
                { item("skew", html! { <text class="node-skew" x="0" y="4" text-anchor="middle">{ "±ms" }</text> }, "clock skew".into()) }
            }
        </ul>
    }
}

/// The kinds of the drawn messages and drops, and how many messages are in flight.
fn legend(view: &Snapshot, drops: &[(&EventView, f64)]) -> Html {
    let drawn = &view.in_flight;
    let kinds = legend_kinds(drawn, drops);
    let hidden = view.in_flight_total.saturating_sub(drawn.len());
    let count = match (view.in_flight_total, hidden) {
        (0, _) => "no messages in flight".to_owned(),
        (1, _) => "1 message in flight".to_owned(),
        (total, 0) => format!("{total} messages in flight"),
        (total, hidden) => format!("{total} in flight: {} drawn, {hidden} hidden", drawn.len()),
    };
    html! {
        <ul class="legend" aria-label="message kinds">
            { for kinds.iter().map(|(k, flying, dropped)| html! {
                <li>
                    <svg width="34" height="12" aria-hidden="true">
                        <line x1="1" y1="6" x2="24" y2="6" stroke={palette::colour(k)}
                            stroke-width="3" stroke-dasharray={palette::dash(k)} />
                        <circle cx="27" cy="6" r="5" fill={palette::colour(k)} />
                    </svg>
                    <span class="legend-kind">{ k.clone() }</span>
                    if *flying > 0 {
                        <span class="legend-count">{ flying.to_string() }</span>
                    }
                    if *dropped > 0 {
                        <span class="legend-dropped" title={format!("{dropped} just dropped by the network (red crosses)")}>
                            { format!("✕{dropped}") }
                        </span>
                    }
                </li>
            }) }
            <li class="legend-note" data-testid="in-flight-count"
                data-total={view.in_flight_total.to_string()} data-hidden={hidden.to_string()}>
                { count }
            </li>
            if kinds.iter().any(|k| k.2 > 0) {
                <li class="legend-note" data-testid="dropped-note">{ "✕N: just dropped (red crosses)" }</li>
            }
        </ul>
    }
}

/// Each kind among the drawn messages and the fading drops: (kind, in flight, dropped).
fn legend_kinds(drawn: &[InFlight], drops: &[(&EventView, f64)]) -> Vec<(String, usize, usize)> {
    let mut kinds: Vec<(String, usize, usize)> = Vec::new();
    // Kept sorted by kind as it is built: each kind appears once.
    let mut add = |kind: &str, flying: usize, dropped: usize| match kinds
        .binary_search_by(|k| k.0.as_str().cmp(kind))
    {
        Ok(i) => {
            kinds[i].1 += flying;
            kinds[i].2 += dropped;
        }
        Err(i) => kinds.insert(i, (kind.to_owned(), flying, dropped)),
    };
    for m in drawn {
        add(m.kind, 1, 0);
    }
    for (e, _) in drops {
        add(&e.kind, 0, 1);
    }
    kinds
}

/// A message on its way: a dot with a short tail, where virtual time puts it on its link
/// (live mode fades one whose delivery is overdue).
#[allow(clippy::too_many_arguments)]
fn in_flight(
    m: &InFlight,
    now: u64,
    pos: &[Point],
    r: f64,
    head: f64,
    track: bool,
    label: bool,
    opacity: f64,
) -> Html {
    let Some(link) = Link::between(m.from, m.to, pos, r) else {
        return html! {};
    };
    let p = progress(now, m.sent_at, m.deliver_at);
    let (x, y) = link.at(p);
    let (tx, ty) = link.at(p - TAIL);
    let colour = palette::colour(m.kind);
    let title = format!(
        "{} from node {} to node {}: sent at {}, arrives at {}",
        m.kind,
        m.from,
        m.to,
        format::ms(m.sent_at),
        format::ms(m.deliver_at)
    );
    html! {
        <g class="msg" data-msg-type={m.kind} data-msg-state="in-flight" data-inflight={m.id.to_string()}
            opacity={(opacity < 1.0).then(|| format!("{opacity:.2}"))}>
            <title>{ title }</title>
            if track {
                <path class="msg-track" d={link.path()} stroke={colour}
                    stroke-dasharray={palette::dash(m.kind)} />
            }
            <line class="msg-tail" x1={format!("{tx:.1}")} y1={format!("{ty:.1}")}
                x2={format!("{x:.1}")} y2={format!("{y:.1}")} stroke={colour}
                stroke-width={format!("{:.1}", head * 0.6)} />
            <circle class="msg-head" cx={format!("{x:.1}")} cy={format!("{y:.1}")} r={format!("{head:.1}")} fill={colour} />
            if label {
                <text class="msg-label" x={format!("{x:.1}")} y={format!("{:.1}", y - head - 4.0)}
                    text-anchor="middle">{ m.kind }</text>
            }
        </g>
    }
}

/// A message its receiver refused (bad MAC, forged signature, outside the watermarks...).
#[derive(Clone, Debug, PartialEq)]
pub struct Rejection {
    pub from: u32,
    pub to: u32,
    pub kind: String,
    pub reason: String,
    pub time: u64,
}

/// Each rejection among `recent` events with the delivery that caused it (indices into
/// `recent`), when that delivery is still among them. What a node observes while handling
/// a delivery is recorded right after it, at the same node and instant.
pub fn rejection_causes(recent: &[EventView]) -> impl Iterator<Item = (usize, usize)> + '_ {
    recent.iter().enumerate().filter(|(_, e)| e.rejected.is_some()).filter_map(|(i, e)| {
        let back = recent[..i].iter().rev().take_while(|c| c.node == e.node && c.time == e.time);
        let steps = back.clone().position(|c| c.category == "deliver")?;
        Some((i - 1 - steps, i))
    })
}

/// The rejections among `recent` events, each with the sender and kind of its delivery.
pub fn rejections(recent: &[EventView]) -> Vec<Rejection> {
    rejection_causes(recent)
        .filter_map(|(c, i)| {
            let (cause, e) = (&recent[c], &recent[i]);
            Some(Rejection {
                from: cause.from?,
                to: e.node,
                kind: cause.kind.clone(),
                reason: e.rejected.clone()?,
                time: e.time,
            })
        })
        .collect()
}

/// The bounce of a refused message as a quadratic curve (start, control, end): it leaves
/// the receiver, swings off the link and points back at the sender.
pub fn hook(link: &Link) -> [Point; 3] {
    let ((hx, hy), (tx, ty)) = (link.at(1.0), link.at(0.8));
    let (nx, ny) = (-(hy - ty), hx - tx);
    [(hx, hy), ((hx + tx) / 2.0 + nx * 0.8, (hy + ty) / 2.0 + ny * 0.8), (tx, ty)]
}

/// A rejected message bounces off its receiver: a hooked arrow turned back towards the
/// sender, fading like a drop, the reason on hover.
fn bounce(b: &Rejection, opacity: f64, pos: &[Point], r: f64) -> Html {
    let Some(link) = Link::between(b.from, b.to, pos, r) else {
        return html! {};
    };
    let [(hx, hy), (cx, cy), (tx, ty)] = hook(&link);
    html! {
        <g class="msg rejected" data-msg-type={b.kind.clone()} data-msg-state="rejected"
            opacity={format!("{opacity:.2}")}>
            <title>{ format!("{} from node {} rejected by node {}: {}", b.kind, b.from, b.to, b.reason) }</title>
            <circle class="msg-drop-dot" cx={format!("{hx:.1}")} cy={format!("{hy:.1}")} r="8"
                fill={palette::colour(&b.kind)} />
            <path class="msg-bounce"
                d={format!("M {hx:.1} {hy:.1} Q {cx:.1} {cy:.1} {tx:.1} {ty:.1}")} />
            <circle class="msg-bounce-head" cx={format!("{tx:.1}")} cy={format!("{ty:.1}")} r="4" />
        </g>
    }
}

/// A message the network dropped: a fading cross where it died, at the receiver when the
/// receiver was down, half way along its link otherwise.
fn dropped(e: &EventView, opacity: f64, pos: &[Point], r: f64) -> Html {
    let to = e.to.unwrap_or(e.node);
    let Some(link) = Link::between(e.node, to, pos, r) else {
        return html! {};
    };
    let at = if e.dropped == Some(DropReason::Crashed) { 1.0 } else { 0.5 };
    let (x, y) = link.at(at);
    let c = 6.0;
    let cross = format!(
        "M {:.1} {:.1} L {:.1} {:.1} M {:.1} {:.1} L {:.1} {:.1}",
        x - c,
        y - c,
        x + c,
        y + c,
        x - c,
        y + c,
        x + c,
        y - c
    );
    html! {
        <g class="msg dropped" data-msg-type={e.kind.clone()} data-msg-state="dropped"
            opacity={format!("{opacity:.2}")}>
            <title>{ format::event_text(e) }</title>
            <circle class="msg-drop-dot" cx={format!("{x:.1}")} cy={format!("{y:.1}")} r="9"
                fill={palette::colour(&e.kind)} />
            <path class="msg-drop-cross" d={cross} />
        </g>
    }
}

/// A link of Plumtree's tree: solid while eager (payloads go over it), dashed while lazy
/// (only IHAVE announcements do).
fn tree_link((a, b, eager): (u32, u32, bool), pos: &[Point]) -> Html {
    let (Some((x1, y1)), Some((x2, y2))) = (pos.get(a as usize), pos.get(b as usize)) else {
        return html! {};
    };
    let (class, what) =
        if eager { ("eager", "eager: payloads are pushed") } else { ("lazy", "lazy: only IHAVE") };
    html! {
        <line class={classes!("tree-link", class)} data-link={class} x1={format!("{x1:.1}")} y1={format!("{y1:.1}")}
            x2={format!("{x2:.1}")} y2={format!("{y2:.1}")}>
            <title>{ format!("link N{a}–N{b}, {what}") }</title>
        </line>
    }
}

/// A link fault in force: a dashed line between the two nodes, its effect written on it.
fn broken_link(from: u32, to: u32, both: bool, label: &str, pos: &[Point]) -> Html {
    let (Some((x1, y1)), Some((x2, y2))) = (pos.get(from as usize), pos.get(to as usize)) else {
        return html! {};
    };
    let (mx, my) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0);
    let arrow = if both { "↔" } else { "→" };
    html! {
        <g class="broken-link" data-testid="broken-link" data-from={from.to_string()} data-to={to.to_string()}>
            <title>{ format!("link {from} {arrow} {to}: {label}") }</title>
            <line x1={format!("{x1:.1}")} y1={format!("{y1:.1}")} x2={format!("{x2:.1}")} y2={format!("{y2:.1}")} />
            <text x={format!("{mx:.1}")} y={format!("{:.1}", my - 6.0)} text-anchor="middle">{ label.to_owned() }</text>
        </g>
    }
}

/// A node's clock skew as a signed badge, when it is a millisecond or more.
fn skew(node: &NodeView) -> Option<String> {
    (node.clock_offset_us.unsigned_abs() >= 1000)
        .then(|| format!("clock {}", format::offset(node.clock_offset_us)))
}

/// The text beside a node: a PBFT replica's view and last executed sequence number (what a
/// class follows; its HLC is in the inspector), else its HLC stamp, or why it has none.
fn node_text(node: &NodeView) -> String {
    let fact = |key: &str| node.facts.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    if let (Some(view), Some(executed)) = (fact("view"), fact("last executed")) {
        return format!("v{view} · n{executed}");
    }
    match node.hlc.as_deref() {
        Some(h) => format::hlc_short(h),
        None if node.state == "crashed" => "crashed".into(),
        None => "no HLC yet".into(),
    }
}

/// Where a node stands with the latest gossip broadcast.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    None,
    Reached,
    Origin,
}

impl Reach {
    fn name(self) -> Option<&'static str> {
        match self {
            Reach::None => None,
            Reach::Reached => Some("reached"),
            Reach::Origin => Some("origin"),
        }
    }
}

/// How far the latest broadcast got among the nodes that could have it: up and in the
/// overlay (crashed nodes and those yet to join are left out, or churn would read as loss).
pub fn reached_text(nodes: &[NodeView], s: &Spread) -> String {
    let member =
        |n: &&NodeView| n.state != "crashed" && n.facts.iter().any(|(k, v)| k == "active view" && v != "[]");
    let members: Vec<&NodeView> = nodes.iter().filter(member).collect();
    let reached = members.iter().filter(|n| s.reached.get(n.id as usize).copied().unwrap_or(false)).count();
    let left_out = nodes.len() - members.len();
    let note = if left_out > 0 { format!(" ({left_out} down or not joined)") } else { String::new() };
    format!("reached by it: {reached} of {} nodes{note}", members.len())
}

/// Node `id` and the latest broadcast: its origin, reached by it, or neither.
pub fn reach_of(view: &Snapshot, id: u32) -> Reach {
    match view.spread.as_deref() {
        Some(s) if s.origin == id => Reach::Origin,
        Some(s) if s.reached.get(id as usize).copied().unwrap_or(false) => Reach::Reached,
        _ => Reach::None,
    }
}

#[allow(clippy::too_many_arguments)]
fn node_view(
    node: &NodeView,
    pos: &[Point],
    r: f64,
    scale: f64,
    selected: bool,
    reach: Reach,
    on_click: Callback<MouseEvent>,
    on_menu: Callback<MouseEvent>,
) -> Html {
    let n = pos.len() as u32;
    let (x, y) = pos.get(node.id as usize).copied().unwrap_or(CENTRE);
    let crashed = node.state == "crashed";
    let show_text = n <= MAX_NODE_TEXT;
    let cross = r * 0.6;
    let (spot, anchor) = label_spot((x, y), r, scale);
    let one_line = text_above((x, y));
    // The skew badge, and whether it goes under the stamp.
    let skewed = skew(node).map(|s| (skew_below(node, (x, y), r, scale), s));
    let title = format!(
        "node {} — {}, {}{}{}",
        node.id,
        node.state,
        node.role,
        node.behaviour.as_deref().map(|b| format!(", behaves: {b}")).unwrap_or_default(),
        node.hlc.as_deref().map(|h| format!(", HLC {}", format::hlc_short(h))).unwrap_or_default(),
    );
    html! {
        <g class={classes!("node", format!("state-{}", node.state), format!("role-{}", node.role),
                selected.then_some("selected"))}
            data-node={node.id.to_string()} data-state={node.state.clone()} data-role={node.role.clone()}
            data-reached={reach.name()}
            transform={format!("translate({x:.1} {y:.1})")}
            onclick={on_click} oncontextmenu={on_menu} tabindex="0">
            <title>{ title }</title>
            if selected {
                <circle class="node-halo" r={(r + 7.0).to_string()} />
            }
            if node.role == "primary" {
                <circle class="node-primary" r={(r + 4.0).to_string()} />
            }
            if let Some(class) = reach.name() {
                <circle class={classes!("node-reach", class)} r={(r + 3.0).to_string()} />
            }
            if node.role == "client" {
                // Clients are squares: they are not replicas of the state.
                <rect class="node-body" x={(-r * 0.9).to_string()} y={(-r * 0.9).to_string()}
                    width={(r * 1.8).to_string()} height={(r * 1.8).to_string()} rx="4" />
            } else {
                <circle class="node-body" r={r.to_string()} />
            }
            if crashed {
                <path class="node-cross"
                    d={format!("M {a} {a} L {b} {b} M {a} {b} L {b} {a}", a = -cross, b = cross)} />
            }
            if n <= MAX_NODE_NAMES {
                <text class="node-label" y={format!("{:.1}", 6.0 * scale)} text-anchor="middle">{ format!("N{}", node.id) }</text>
            }
            if show_text {
                <text class="node-hlc" x={format!("{:.1}", spot.0 - x)} y={format!("{:.1}", spot.1 - y)}
                    text-anchor={anchor}>
                    { node_text(node) }
                    if let Some((false, skew)) = &skewed {
                        <tspan class="node-skew">{ format!(" {skew}") }</tspan>
                    } else if let Some((true, skew)) = &skewed {
                        <tspan class="node-skew" x={format!("{:.1}", spot.0 - x)}
                            dy={format!("{:.1}", LINE_PX * scale)}>{ skew.clone() }</tspan>
                    }
                    if let Some(b) = node.behaviour.as_ref().filter(|_| one_line) {
                        <tspan class="node-behaviour">{ format!(" {b}") }</tspan>
                    } else if let Some(b) = &node.behaviour {
                        <tspan class="node-behaviour" x={format!("{:.1}", spot.0 - x)}
                            dy={format!("{:.1}", LINE_PX * scale)}>{ b.clone() }</tspan>
                    }
                </text>
            }
        </g>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn close(a: (f64, f64), b: (f64, f64)) -> bool {
        (a.0 - b.0).abs() < 1e-9 && (a.1 - b.1).abs() < 1e-9
    }

    #[test]
    fn a_replica_is_labelled_by_its_view_and_last_executed_number() {
        let mut node = NodeView {
            id: 1,
            state: "up".into(),
            role: "backup".into(),
            behaviour: None,
            hlc: Some("1790000000123456.2@1".into()),
            clock_offset_us: 0,
            facts: vec![("view".into(), "1 (changing)".into()), ("last executed".into(), "42".into())],
        };
        assert_eq!(node_text(&node), "v1 (changing) · n42");
        // Other nodes keep their HLC stamp.
        node.facts.clear();
        assert_eq!(node_text(&node), "(123.456 ms, 2)");
    }

    #[test]
    fn a_broadcast_is_counted_among_the_nodes_that_could_have_it() {
        let node = |id: u32, state: &str, active: &str| NodeView {
            id,
            state: state.into(),
            role: "gossip".into(),
            behaviour: None,
            hlc: None,
            clock_offset_us: 0,
            facts: vec![("active view".into(), active.into())],
        };
        let nodes = [
            node(0, "up", "[NodeId(1)]"),
            node(1, "up", "[NodeId(0)]"),
            node(2, "crashed", "[NodeId(0)]"),
            node(3, "up", "[]"),
        ];
        let spread =
            Spread { id: "0:1".into(), origin: 0, reached: vec![true, false, true, false], count: 2 };
        assert_eq!(reached_text(&nodes, &spread), "reached by it: 1 of 2 nodes (2 down or not joined)");
        let all = [node(0, "up", "[NodeId(1)]"), node(1, "up", "[NodeId(0)]")];
        let spread = Spread { id: "0:1".into(), origin: 0, reached: vec![true, true], count: 2 };
        assert_eq!(reached_text(&all, &spread), "reached by it: 2 of 2 nodes");
    }

    #[test]
    fn progress_is_the_share_of_transit_time_elapsed() {
        assert_eq!(progress(1_000, 1_000, 3_000), 0.0);
        assert_eq!(progress(1_500, 1_000, 3_000), 0.25);
        assert_eq!(progress(2_000, 1_000, 3_000), 0.5);
        assert_eq!(progress(3_000, 1_000, 3_000), 1.0);
        // Before sending and after arrival the dot waits at an end of its link.
        assert_eq!(progress(500, 1_000, 3_000), 0.0);
        assert_eq!(progress(9_000, 1_000, 3_000), 1.0);
        // Zero latency: at the sender until its instant, then at the receiver.
        assert_eq!(progress(999, 1_000, 1_000), 0.0);
        assert_eq!(progress(1_000, 1_000, 1_000), 1.0);
    }

    #[test]
    fn frames_between_two_items_interpolate_smoothly() {
        let link = Link::between(0, 2, &ring_positions(4), 20.0).unwrap();
        let mut last = link.at(0.0);
        let mut steps = Vec::new();
        for now in (1_000..=3_000).step_by(100) {
            let p = link.at(progress(now, 1_000, 3_000));
            steps.push(((p.0 - last.0).powi(2) + (p.1 - last.1).powi(2)).sqrt());
            last = p;
        }
        assert!(close(last, link.end));
        let (lo, hi) = steps[1..].iter().fold((f64::MAX, 0.0_f64), |(lo, hi), s| (lo.min(*s), hi.max(*s)));
        assert!(lo > 0.0, "the dot moves every frame");
        assert!(hi < lo * 1.5, "and at a nearly even pace: {lo}..{hi}");
    }

    #[test]
    fn a_link_runs_from_rim_to_rim_and_its_answer_takes_another_path() {
        let r = 20.0;
        let ring = ring_positions(4);
        let there = Link::between(1, 3, &ring, r).unwrap();
        let back = Link::between(3, 1, &ring, r).unwrap();
        let dist = |a: (f64, f64), b: (f64, f64)| ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
        assert!(close(there.at(0.0), there.start) && close(there.at(1.0), there.end));
        assert!((dist(there.start, ring_position(1, 4)) - (r + 3.0)).abs() < 1e-9);
        assert!((dist(there.end, ring_position(3, 4)) - (r + 3.0)).abs() < 1e-9);
        assert!(dist(there.at(0.5), back.at(0.5)) > 20.0, "a message and its answer do not overlap");
        let own = Link::between(2, 2, &ring, r).unwrap();
        assert!(dist(own.at(0.5), ring_position(2, 4)) > r, "a message to itself loops outside");
        assert_eq!(Link::between(0, 4, &ring, r), None);
    }

    fn gossip_node(id: u32, eager: &str, lazy: &str) -> NodeView {
        NodeView {
            id,
            state: "up".into(),
            role: "gossip".into(),
            behaviour: None,
            hlc: None,
            clock_offset_us: 0,
            facts: vec![("eager_push_peers".into(), eager.into()), ("lazy_push_peers".into(), lazy.into())],
        }
    }

    #[test]
    fn the_tree_takes_each_link_once_eager_when_either_end_pushes() {
        let nodes = [
            gossip_node(0, "[NodeId(1), NodeId(2)]", "[]"),
            gossip_node(1, "[NodeId(0)]", "[NodeId(2)]"),
            gossip_node(2, "[]", "[NodeId(0), NodeId(1), NodeId(9)]"),
        ];
        assert_eq!(tree_links(&nodes), vec![(0, 1, true), (0, 2, true), (1, 2, false)]);
        assert!(tree_links(&[gossip_node(0, "x", "y")]).is_empty());
    }

    #[test]
    fn the_overlay_joins_active_views_and_push_peers_once_each() {
        let mut nodes = vec![
            gossip_node(0, "[NodeId(1)]", "[]"),
            gossip_node(1, "[NodeId(0)]", "[NodeId(2)]"),
            gossip_node(2, "[]", "[NodeId(9)]"),
        ];
        nodes[2].facts.push(("active view".into(), "[NodeId(0), NodeId(1)]".into()));
        nodes[0].facts.push(("flood peers".into(), "[NodeId(2)]".into()));
        nodes[0].facts.push(("passive view".into(), "[NodeId(1), NodeId(2)]".into()));
        assert_eq!(overlay_links(&nodes), vec![(0, 1), (0, 2), (1, 2)]);
    }

    #[test]
    fn big_gossip_clusters_open_in_the_force_layout_and_the_rest_on_the_ring() {
        let gossip = |n: u32| (0..n).map(|i| gossip_node(i, "[]", "[]")).collect::<Vec<_>>();
        assert_eq!(default_arrangement(&gossip(100)), Arrangement::Force);
        assert_eq!(default_arrangement(&gossip(64)), Arrangement::Ring);
        let mut replicas = gossip(100);
        replicas.iter_mut().for_each(|n| n.role = "replica".into());
        assert_eq!(default_arrangement(&replicas), Arrangement::Ring, "PBFT keeps its ring");
        assert_eq!(default_arrangement(&[]), Arrangement::Ring);
    }

    #[test]
    fn labels_that_would_cover_a_node_or_another_label_are_left_out() {
        let node = (90.0, 90.0, 110.0, 110.0);
        let wanted = [
            (0.0, 0.0, 40.0, 14.0),
            (20.0, 5.0, 60.0, 19.0),    // overlaps the first
            (95.0, 95.0, 130.0, 109.0), // over the node
            (200.0, 0.0, 240.0, 14.0),
        ];
        assert_eq!(place_labels(&wanted, &[node]), vec![true, false, false, true]);
    }

    #[test]
    fn node_text_sits_outside_the_ring_and_off_its_neighbours() {
        // At the normal size and with large text.
        // Every count that shows text, odd ones included (two nodes either side of the
        // bottom), with a stamp as long as "(1493.768 ms, 15)".
        for (n, scale) in (3u32..=MAX_NODE_TEXT).flat_map(|n| [(n, 1.0), (n, 1.2)]) {
            let r = node_radius(n);
            let boxes: Vec<Rect> =
                (0..n).map(|i| label_box(label_spot(ring_position(i, n), r, scale), 17, 1, scale)).collect();
            // A Byzantine node's behaviour (the longest name) stays off its own node.
            let byzantine = NodeView {
                id: 0,
                state: "byzantine".into(),
                role: "backup".into(),
                behaviour: Some("lying-view-change".into()),
                hlc: Some("(1790000000123456, 12)".into()),
                clock_offset_us: 0,
                facts: Vec::new(),
            };
            // A skewed clock's badge keeps the text inside the drawing, under the stamp if
            // it must.
            let skewed = NodeView {
                state: "correct".into(),
                behaviour: None,
                hlc: Some("1790000002019191.12@1".into()),
                clock_offset_us: -30_400,
                ..byzantine.clone()
            };
            for i in 0..n {
                let at = ring_position(i, n);
                let (chars, lines) = text_size(&skewed, at, r, scale);
                let b = label_box(label_spot(at, r, scale), chars, lines, scale);
                assert!(
                    b.0 >= 0.0 && b.2 <= WIDTH,
                    "{n} nodes at {scale}: node {i}'s skew leaves the drawing: {b:?}"
                );
            }
            for i in 0..n {
                let at = ring_position(i, n);
                let (chars, lines) = text_size(&byzantine, at, r, scale);
                let b = label_box(label_spot(at, r, scale), chars, lines, scale);
                assert!(
                    !overlaps(&b, &(at.0 - r, at.1 - r, at.0 + r, at.1 + r)),
                    "{n} nodes at {scale}: behaviour covers node {i}"
                );
            }
            for (i, b) in boxes.iter().enumerate() {
                assert!(
                    b.0 >= 0.0 && b.2 <= WIDTH && b.1 >= 0.0 && b.3 <= HEIGHT,
                    "{n} nodes at {scale}: label {i} is not inside the drawing: {b:?}"
                );
            }
            for i in 0..n as usize {
                let (x, y) = ring_position(i as u32, n);
                let body = (x - r, y - r, x + r, y + r);
                for (j, b) in boxes.iter().enumerate() {
                    assert!(!overlaps(b, &body), "{n} nodes at {scale}: label {j} covers node {i}");
                    if j != i {
                        assert!(!overlaps(b, &boxes[i]), "{n} nodes at {scale}: labels {i} and {j} overlap");
                    }
                }
            }
        }
    }

    #[test]
    fn a_rejected_message_bounces_off_its_receiver_back_towards_its_sender() {
        // pbft-byzantine's replica 0 forges from 1.2 s: the others refuse its messages.
        let mut run = crate::model::Run::new("pbft-byzantine", 1, Vec::new()).unwrap();
        let mut events = Vec::new();
        while events.iter().all(|e: &EventView| e.rejected.is_none()) {
            assert!(run.step(), "the run ends before a rejection");
            events = (run.event_count().saturating_sub(60)..run.event_count())
                .filter_map(|i| run.event(i))
                .collect();
        }
        let found = rejections(&events);
        let b = found.last().expect("the rejection is drawn");
        assert_eq!(b.from, 0, "{b:?}");
        assert_ne!(b.to, 0);
        assert!(!b.reason.is_empty() && b.kind != "Rejected", "{b:?}");
        // Without the delivery that caused it, there is no sender to bounce towards.
        let alone: Vec<EventView> = events.iter().filter(|e| e.rejected.is_some()).cloned().collect();
        assert!(rejections(&alone).is_empty());
    }

    #[test]
    fn a_point_finds_the_node_drawn_there() {
        let (x, y) = ring_position(3, 7);
        assert_eq!(node_at((x + 2.0, y - 2.0), &ring_positions(7)), Some(3));
        assert_eq!(node_at(CENTRE, &ring_positions(7)), None, "the ring's centre is empty");
    }

    #[test]
    fn a_drop_fades_in_the_same_real_time_at_any_speed() {
        assert_eq!(drop_opacity(5_000, 5_000, 1.0), 1.0);
        let half = (DROP_FADE_REAL_MS / 2.0 * VIRTUAL_US_PER_REAL_MS_AT_1X) as u64;
        assert!((drop_opacity(half, 0, 1.0) - 0.5).abs() < 1e-9);
        assert!((drop_opacity(10 * half, 0, 10.0) - 0.5).abs() < 1e-9);
        assert_eq!(drop_opacity(100 * half, 0, 1.0), 0.0);
    }
}
