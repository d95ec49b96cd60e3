//! The cluster: nodes on a ring, the latest messages as arrows between them.

use std::f64::consts::PI;
use std::rc::Rc;

use void_core::sim::{EventView, NodeView};
use yew::prelude::*;

use crate::format;
use crate::model::{Action, Snapshot};
use crate::palette::{self, OKABE_ITO};

const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 430.0;
/// Message arrows shown: the latest deliveries and drops.
const ARROWS: usize = 10;

#[derive(Properties, PartialEq)]
pub struct ClusterProps {
    pub view: Rc<Snapshot>,
    pub selected: Option<u32>,
    pub dispatch: Callback<Action>,
}

/// Centre of node `i` of `n` on the ring, starting at the top and going clockwise.
pub fn ring_position(i: u32, n: u32) -> (f64, f64) {
    let radius = ring_radius(n);
    let angle = -PI / 2.0 + 2.0 * PI * f64::from(i) / f64::from(n.max(1));
    (WIDTH / 2.0 + radius * angle.cos(), HEIGHT / 2.0 - 10.0 + radius * angle.sin())
}

fn ring_radius(n: u32) -> f64 {
    if n <= 1 { 0.0 } else { 160.0 }
}

fn node_radius(n: u32) -> f64 {
    let room = 2.0 * PI * ring_radius(n) / f64::from(n.max(1));
    (room * 0.3).clamp(7.0, 32.0)
}

#[function_component(ClusterView)]
pub fn cluster_view(props: &ClusterProps) -> Html {
    let view = &props.view;
    let n = view.nodes.len() as u32;
    let r = node_radius(n);
    let markers = OKABE_ITO.iter().enumerate().map(|(i, c)| {
        html! {
            <marker id={format!("head-{i}")} viewBox="0 0 10 10" refX="9" refY="5"
                markerWidth="5" markerHeight="5" orient="auto-start-reverse">
                <path d="M 0 0 L 10 5 L 0 10 z" fill={*c} />
            </marker>
        }
    });
    let messages: Vec<&EventView> = view
        .recent
        .iter()
        .rev()
        .filter(|e| (e.category == "deliver" && e.from.is_some()) || (e.category == "drop" && e.to.is_some()))
        .take(ARROWS)
        .collect();
    let arrows = messages.iter().enumerate().rev().map(|(age, e)| arrow(e, age, n, r));
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
        node_view(node, n, r, props.selected == Some(node.id), on_click, on_menu)
    });
    let kinds = legend_kinds(&messages);
    html! {
        <section class="cluster" aria-label="cluster view">
            <svg class="cluster-svg" viewBox={format!("0 0 {WIDTH} {HEIGHT}")}
                preserveAspectRatio="xMidYMid meet" role="img">
                <defs>{ for markers }</defs>
                <circle class="ring" cx={(WIDTH / 2.0).to_string()} cy={(HEIGHT / 2.0 - 10.0).to_string()}
                    r={ring_radius(n).to_string()} />
                <g class="messages">{ for arrows }</g>
                <g class="nodes">{ for nodes }</g>
            </svg>
            <ul class="legend" aria-label="message kinds">
                { for kinds.iter().map(|k| html! {
                    <li>
                        <svg width="34" height="10" aria-hidden="true">
                            <line x1="1" y1="5" x2="33" y2="5" stroke={palette::colour(k)}
                                stroke-width="3" stroke-dasharray={palette::dash(k)} />
                        </svg>
                        { k.clone() }
                    </li>
                }) }
                <li class="legend-note">{ "arrows: latest messages, newest darkest" }</li>
            </ul>
        </section>
    }
}

fn legend_kinds(messages: &[&EventView]) -> Vec<String> {
    let mut kinds: Vec<String> = Vec::new();
    for e in messages {
        if !kinds.contains(&e.kind) {
            kinds.push(e.kind.clone());
        }
    }
    kinds.sort();
    kinds
}

/// A message from its sender to its receiver; a dropped one stops short with a cross.
fn arrow(e: &EventView, age: usize, n: u32, r: f64) -> Html {
    let (from, to, dropped) = match e.category.as_str() {
        "deliver" => (e.from.unwrap_or(e.node), e.node, false),
        _ => (e.node, e.to.unwrap_or(e.node), true),
    };
    if from == to || from >= n || to >= n {
        return html! {};
    }
    let (x1, y1) = ring_position(from, n);
    let (x2, y2) = ring_position(to, n);
    let (dx, dy) = (x2 - x1, y2 - y1);
    let len = (dx * dx + dy * dy).sqrt().max(1.0);
    let (ux, uy) = (dx / len, dy / len);
    // Bend each arrow slightly to the right, so a ping and its pong do not overlap.
    let (nx, ny) = (-uy, ux);
    let bend = len * 0.12;
    let start = (x1 + ux * (r + 3.0), y1 + uy * (r + 3.0));
    let end_fraction = if dropped { 0.6 } else { 1.0 };
    let end = (
        x1 + dx * end_fraction - ux * if dropped { 0.0 } else { r + 4.0 },
        y1 + dy * end_fraction - uy * if dropped { 0.0 } else { r + 4.0 },
    );
    let mid = ((start.0 + end.0) / 2.0 + nx * bend, (start.1 + end.1) / 2.0 + ny * bend);
    let path =
        format!("M {:.1} {:.1} Q {:.1} {:.1} {:.1} {:.1}", start.0, start.1, mid.0, mid.1, end.0, end.1);
    let opacity = format!("{:.2}", 1.0 - age as f64 * 0.8 / ARROWS as f64);
    let colour = palette::colour(&e.kind);
    let label = (mid.0 * 0.5 + (start.0 + end.0) / 4.0, mid.1 * 0.5 + (start.1 + end.1) / 4.0);
    let title = if dropped {
        format!("{} from node {from} to node {to}: {}", e.kind, e.text)
    } else {
        format!("{} from node {from} to node {to}, sent at {}", e.kind, format::ms(e.sent_at.unwrap_or(0)))
    };
    html! {
        <g class={classes!("message", dropped.then_some("dropped"))} opacity={opacity}
            data-kind={e.kind.clone()}>
            <title>{ title }</title>
            <path d={path} fill="none" stroke={colour} stroke-width="3"
                stroke-dasharray={palette::dash(&e.kind)}
                marker-end={(!dropped).then(|| format!("url(#head-{})", palette::colour_index(&e.kind)))} />
            if dropped {
                <text class="drop-cross" x={format!("{:.1}", end.0)} y={format!("{:.1}", end.1 + 6.0)}
                    text-anchor="middle">{ "✕" }</text>
            }
            if age < 3 {
                <text class="message-label" x={format!("{:.1}", label.0)} y={format!("{:.1}", label.1)}
                    text-anchor="middle">{ e.kind.clone() }</text>
            }
        </g>
    }
}

fn node_view(
    node: &NodeView,
    n: u32,
    r: f64,
    selected: bool,
    on_click: Callback<MouseEvent>,
    on_menu: Callback<MouseEvent>,
) -> Html {
    let (x, y) = ring_position(node.id, n);
    let crashed = node.state == "crashed";
    let show_text = n <= 24;
    let cross = r * 0.6;
    let hlc = node.hlc.as_deref().map(format::hlc_short);
    let title = format!(
        "node {} — {}, {}{}{}",
        node.id,
        node.state,
        node.role,
        node.behaviour.as_deref().map(|b| format!(", behaves: {b}")).unwrap_or_default(),
        node.hlc.as_deref().map(|h| format!(", HLC {h}")).unwrap_or_default(),
    );
    html! {
        <g class={classes!("node", format!("state-{}", node.state), format!("role-{}", node.role),
                selected.then_some("selected"))}
            data-node={node.id.to_string()} data-state={node.state.clone()} data-role={node.role.clone()}
            transform={format!("translate({x:.1} {y:.1})")}
            onclick={on_click} oncontextmenu={on_menu} tabindex="0">
            <title>{ title }</title>
            if selected {
                <circle class="node-halo" r={(r + 7.0).to_string()} />
            }
            if node.role == "primary" {
                <circle class="node-primary" r={(r + 4.0).to_string()} />
            }
            <circle class="node-body" r={r.to_string()} />
            if crashed {
                <path class="node-cross"
                    d={format!("M {a} {a} L {b} {b} M {a} {b} L {b} {a}", a = -cross, b = cross)} />
            }
            if show_text {
                <text class="node-label" y="6" text-anchor="middle">{ format!("N{}", node.id) }</text>
                <text class="node-hlc" y={(r + 18.0).to_string()} text-anchor="middle">
                    { hlc.unwrap_or_else(|| if crashed { "crashed".into() } else { "no HLC yet".into() }) }
                </text>
                if node.behaviour.is_some() {
                    <text class="node-behaviour" y={(r + 34.0).to_string()} text-anchor="middle">
                        { node.behaviour.clone().unwrap_or_default() }
                    </text>
                }
            }
            if node.clock_offset_us.unsigned_abs() >= 1000 && show_text {
                <g class="offset-badge" transform={format!("translate({:.1} {:.1})", r * 0.75, -r - 4.0)}>
                    <rect x="0" y="-11" width="66" height="18" rx="9" />
                    <text x="33" y="3" text-anchor="middle">{ format::offset(node.clock_offset_us) }</text>
                </g>
            }
        </g>
    }
}
