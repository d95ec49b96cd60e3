//! The space-time diagram of the visible window: one lane per node, time to the right,
//! an arrow per delivery from (send time, sender) to (arrival time, receiver). A big
//! cluster gets lanes only for the nodes that matter now: the selected one and those in
//! the latest events.

use std::rc::Rc;

use void_core::sim::EventView;
use yew::prelude::*;

use crate::components::cluster::rejection_causes;
use crate::format;
use crate::model::Snapshot;
use crate::palette;

const WIDTH: f64 = 1200.0;
/// Room for the lane labels: two staggered columns when lanes are close together.
const LEFT: f64 = 66.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 8.0;
/// Lanes drawn at most; a bigger cluster shows its most recently active nodes.
pub const MAX_LANES: usize = 16;
/// Vertical room the lanes share.
const LANES_HEIGHT: f64 = 126.0;
/// Closest lanes whose labels fit in one column.
const LABEL_PITCH: f64 = 13.0;

#[derive(Properties, PartialEq)]
pub struct SpaceTimeProps {
    pub view: Rc<Snapshot>,
    #[prop_or_default]
    pub selected: Option<u32>,
    /// Text size relative to normal (the large-text toggle).
    #[prop_or(1.0)]
    pub text_scale: f64,
}

/// The nodes that get a lane, in node order: every node when at most `max`, else the
/// selected node and then the nodes of the latest events (newest first: receiver, sender,
/// intended receiver) until `max` are chosen.
pub fn lanes(nodes: usize, recent: &[EventView], selected: Option<u32>, max: usize) -> Vec<u32> {
    if nodes <= max {
        return (0..nodes as u32).collect();
    }
    let mut chosen: Vec<u32> = Vec::with_capacity(max);
    let mut take = |node: u32| {
        if (node as usize) < nodes && chosen.len() < max && !chosen.contains(&node) {
            chosen.push(node);
        }
    };
    if let Some(s) = selected {
        take(s);
    }
    for e in recent.iter().rev() {
        take(e.node);
        e.from.into_iter().chain(e.to).for_each(&mut take);
    }
    void_core::sort::sort(&mut chosen);
    chosen
}

/// Message kinds named in the caption; more are counted.
const MAX_KEYS: usize = 7;

#[function_component(SpaceTime)]
pub fn space_time(props: &SpaceTimeProps) -> Html {
    let view = &props.view;
    let events: &[EventView] = &view.recent;
    let shown = lanes(view.nodes.len(), events, props.selected, MAX_LANES);
    // Lane of each node, if it has one.
    let mut lane_of = vec![None; view.nodes.len()];
    for (lane, node) in shown.iter().enumerate() {
        lane_of[*node as usize] = Some(lane);
    }
    let count = shown.len().max(1);
    let lane_h = (LANES_HEIGHT / count as f64).clamp(8.0, 21.0);
    let height = TOP * 2.0 + lane_h * (count as f64 - 1.0) + 16.0;
    // With large text the whole caption would run into the time labels: only the arrows'
    // key is kept (a row of its own would shrink the diagram on short screens instead).
    let full_caption = props.text_scale <= 1.0;
    let t0 = events.first().map_or(0, |e| e.time);
    let t1 = view.now_us.max(events.last().map_or(0, |e| e.time)).max(t0 + 1);
    let x = move |t: u64| LEFT + (t.saturating_sub(t0)) as f64 * (WIDTH - LEFT - RIGHT) / (t1 - t0) as f64;
    let lane = |node: u32| lane_of.get(node as usize).copied().flatten();
    let y = move |lane: usize| TOP + lane_h * lane as f64;
    let stagger = lane_h < LABEL_PITCH * props.text_scale;
    let lines = shown.iter().enumerate().map(|(i, node)| {
        let label_x = if stagger && i % 2 == 1 { LEFT - 36.0 } else { LEFT - 6.0 };
        html! {
            <g class={classes!("lane", (props.selected == Some(*node)).then_some("selected"))}
                data-lane={node.to_string()}>
                <line x1={LEFT.to_string()} x2={(WIDTH - RIGHT).to_string()}
                    y1={y(i).to_string()} y2={y(i).to_string()} />
                <text x={label_x.to_string()} y={format!("{:.1}", y(i) + 4.0 * props.text_scale)} text-anchor="end">
                    { format!("N{node}") }
                </text>
            </g>
        }
    });
    // Deliveries their receiver refused, by position in `events`, with the reason.
    let refused: Vec<(usize, &str)> =
        rejection_causes(events).filter_map(|(c, i)| Some((c, events[i].rejected.as_deref()?))).collect();
    let arrows = events.iter().enumerate().filter(|(_, e)| e.category == "deliver").filter_map(|(i, e)| {
        let from = e.from?;
        let (a, b) = (lane(from)?, lane(e.node)?);
        // Sent before the window: start at its left edge.
        let sent = e.sent_at?.max(t0);
        let reason = refused.iter().find(|(c, _)| *c == i).map(|(_, r)| *r);
        let (hx, hy) = (x(e.time), y(b));
        // A refused message ends in a red cross at its receiver.
        let cross = reason.map(|_| {
            let c = 4.5;
            let d = format!(
                "M {:.1} {:.1} L {:.1} {:.1} M {:.1} {:.1} L {:.1} {:.1}",
                hx - c, hy - c, hx + c, hy + c, hx - c, hy + c, hx + c, hy - c
            );
            html! { <path class="st-refused" d={d} /> }
        });
        let title = match reason {
            Some(r) => format!("#{} {} (rejected: {r})", e.index, format::event_text(e)),
            None => format!("#{} {}", e.index, format::event_text(e)),
        };
        Some(html! {
            <g class={classes!("st-msg", reason.map(|_| "rejected"))}>
                <title>{ title }</title>
                <line x1={format!("{:.1}", x(sent))} y1={format!("{:.1}", y(a))}
                    x2={format!("{hx:.1}")} y2={format!("{hy:.1}")}
                    stroke={palette::colour(&e.kind)} stroke-dasharray={palette::dash(&e.kind)}
                    marker-end={reason.is_none().then(|| format!("url(#st-head-{})", palette::colour_index(&e.kind)))} />
                { for cross }
            </g>
        })
    });
    let last = events.last().map(|e| e.index);
    let marked = view.violation.as_ref().map(format::violation_events).unwrap_or_default();
    // A partition or heal is the whole network's: a line across every lane, not a dot on
    // the lane of node 0 (where it is filed).
    let (top, bottom) = (y(0) - lane_h / 2.0, y(count - 1) + lane_h / 2.0);
    let cuts = events.iter().filter(|e| e.network_wide()).map(|e| {
        html! {
            <line class={classes!("st-net", format!("kind-{}", e.kind))} x1={format!("{:.1}", x(e.time))}
                x2={format!("{:.1}", x(e.time))} y1={format!("{top:.1}")} y2={format!("{bottom:.1}")}
                data-index={e.index.to_string()}>
                <title>{ format!("#{} t={} {}", e.index, format::ms(e.time), format::event_text(e)) }</title>
            </line>
        }
    });
    let dots = events
        .iter()
        .filter(|e| !e.network_wide())
        .filter_map(|e| Some((e, lane(e.node)?)))
        .map(|(e, l)| {
        let class = classes!(
            "st-event",
            format!("cat-{}", e.category),
            e.rejected.is_some().then_some("rejected"),
            marked.contains(&e.index).then_some("violation"),
            (Some(e.index) == last).then_some("latest")
        );
        html! {
            <circle class={class} cx={format!("{:.1}", x(e.time))} cy={format!("{:.1}", y(l))} r="3.5">
                <title>{ format!("#{} t={} {}{}", e.index, format::ms(e.time), format::event_text(e),
                    e.hlc.as_deref().map(|h| format!(" · HLC {}", format::hlc_short(h))).unwrap_or_default()) }</title>
            </circle>
        }
    });
    let heads = palette::OKABE_ITO.iter().enumerate().map(|(i, c)| {
        html! {
            <marker id={format!("st-head-{i}")} viewBox="0 0 10 10" refX="9" refY="5"
                markerWidth="5" markerHeight="5" orient="auto-start-reverse">
                <path d="M 0 0 L 10 5 L 0 10 z" fill={*c} />
            </marker>
        }
    });
    // The caption is the arrows' key: the kinds of the messages drawn, in their colours
    // (the cluster view's legend lists only those in flight now).
    let mut keys: Vec<&str> = events
        .iter()
        .filter(|e| {
            e.category == "deliver" && e.from.is_some_and(|f| lane(f).is_some()) && lane(e.node).is_some()
        })
        .map(|e| e.kind.as_str())
        .collect();
    void_core::sort::sort(&mut keys);
    keys.dedup();
    let partial = shown.len() < view.nodes.len();
    html! {
        <section class="spacetime" aria-label="space-time diagram" data-lanes={shown.len().to_string()}>
            if partial {
                <p class="lanes-note" data-testid="lanes-note">
                    { format!("Lanes for {} of {} nodes: ", shown.len(), view.nodes.len()) }
                    { if props.selected.is_some() { "the selected node and " } else { "" } }
                    { "those in the latest events. Click a node to give it a lane." }
                </p>
            }
            <svg viewBox={format!("0 0 {WIDTH} {height:.0}")} preserveAspectRatio="none" class="spacetime-svg"
                style={format!("height: {height:.0}px")}>
                <defs>{ for heads }</defs>
                { for lines }
                { for arrows }
                { for cuts }
                { for dots }
                <text class="st-axis" x={LEFT.to_string()} y={(height - 2.0).to_string()}>{ format!("t={}", format::ms(t0)) }</text>
                <text class="st-axis st-caption" x={(WIDTH / 2.0).to_string()} y={(height - 2.0).to_string()}
                    text-anchor="middle">
                    { if full_caption { "lanes: nodes · arrows: " } else { "arrows: " } }
                    if keys.is_empty() {
                        { "messages" }
                    }
                    { for keys.iter().take(MAX_KEYS).enumerate().map(|(i, k)| html! {
                        <>
                            <tspan class="st-key" fill={palette::colour(k)}>{ if i == 0 { "━ " } else { ", ━ " } }</tspan>
                            <tspan data-key={k.to_string()}>{ k.to_string() }</tspan>
                        </>
                    }) }
                    if keys.len() > MAX_KEYS {
                        { format!(" and {} more", keys.len() - MAX_KEYS) }
                    }
                    if full_caption {
                        { " · dots: events · red: faults, drops, refusals" }
                    }
                </text>
                <text class="st-axis" x={(WIDTH - RIGHT).to_string()} y={(height - 2.0).to_string()} text-anchor="end">
                    { format!("t={}", format::ms(t1)) }
                </text>
            </svg>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn deliver(index: u64, from: u32, to: u32) -> EventView {
        EventView {
            index,
            time: index * 10,
            node: to,
            category: "deliver".into(),
            kind: "Gossip".into(),
            from: Some(from),
            sent_at: Some(index * 10 - 5),
            ..EventView::default()
        }
    }

    #[test]
    fn a_small_cluster_has_a_lane_per_node() {
        assert_eq!(lanes(5, &[], None, MAX_LANES), vec![0, 1, 2, 3, 4]);
        assert_eq!(lanes(MAX_LANES, &[], Some(3), MAX_LANES).len(), MAX_LANES);
    }

    #[test]
    fn a_big_cluster_shows_the_selected_node_and_the_latest_senders_and_receivers() {
        let recent: Vec<EventView> =
            (1..=40).map(|i| deliver(i, (i * 7 % 100) as u32, (i * 13 % 100) as u32)).collect();
        let shown = lanes(100, &recent, Some(99), 6);
        assert_eq!(shown.len(), 6);
        assert!(shown.contains(&99), "the selected node keeps its lane");
        let last = recent.last().unwrap();
        assert!(shown.contains(&last.node) && shown.contains(&last.from.unwrap()), "{shown:?}");
        assert!(shown.windows(2).all(|w| w[0] < w[1]), "in node order: {shown:?}");
        // Nothing happened yet: only the selected node.
        assert_eq!(lanes(100, &[], Some(42), 6), vec![42]);
        // A selection outside the cluster is ignored.
        assert_eq!(lanes(100, &[], Some(500), 6), Vec::<u32>::new());
    }
}
