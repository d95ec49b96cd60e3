//! The space-time diagram of the visible window: one lane per node, time to the right,
//! an arrow per delivery from (send time, sender) to (arrival time, receiver).

use std::rc::Rc;

use void_core::sim::EventView;
use yew::prelude::*;

use crate::format;
use crate::model::Snapshot;
use crate::palette;

const WIDTH: f64 = 1200.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 8.0;
/// Lanes beyond this many are not drawn (the diagram stays readable).
const MAX_LANES: usize = 24;

#[derive(Properties, PartialEq)]
pub struct SpaceTimeProps {
    pub view: Rc<Snapshot>,
}

#[function_component(SpaceTime)]
pub fn space_time(props: &SpaceTimeProps) -> Html {
    let view = &props.view;
    let lanes = view.nodes.len().clamp(1, MAX_LANES);
    let lane_h = (120.0 / lanes as f64).clamp(6.0, 21.0);
    let height = TOP * 2.0 + lane_h * (lanes as f64 - 1.0) + 16.0;
    let events: &[EventView] = &view.recent;
    let t0 = events.first().map_or(0, |e| e.time);
    let t1 = view.now_us.max(events.last().map_or(0, |e| e.time)).max(t0 + 1);
    let x = move |t: u64| LEFT + (t.saturating_sub(t0)) as f64 * (WIDTH - LEFT - RIGHT) / (t1 - t0) as f64;
    let y = move |node: u32| TOP + lane_h * f64::from(node);
    let visible = |node: u32| (node as usize) < lanes;
    let lines = (0..lanes as u32).map(|i| {
        html! {
            <g class="lane">
                <line x1={LEFT.to_string()} x2={(WIDTH - RIGHT).to_string()}
                    y1={y(i).to_string()} y2={y(i).to_string()} />
                <text x={(LEFT - 8.0).to_string()} y={(y(i) + 4.0).to_string()} text-anchor="end">
                    { format!("N{i}") }
                </text>
            </g>
        }
    });
    let arrows = events.iter().filter(|e| e.category == "deliver").filter_map(|e| {
        let from = e.from?;
        if !visible(from) || !visible(e.node) {
            return None;
        }
        // Sent before the window: start at its left edge.
        let sent = e.sent_at?.max(t0);
        Some(html! {
            <line class="st-msg" x1={format!("{:.1}", x(sent))} y1={format!("{:.1}", y(from))}
                x2={format!("{:.1}", x(e.time))} y2={format!("{:.1}", y(e.node))}
                stroke={palette::colour(&e.kind)} stroke-dasharray={palette::dash(&e.kind)}
                marker-end={format!("url(#st-head-{})", palette::colour_index(&e.kind))}>
                <title>{ format!("#{} {}", e.index, e.text) }</title>
            </line>
        })
    });
    let last = events.last().map(|e| e.index);
    let dots = events.iter().filter(|e| visible(e.node)).map(|e| {
        let class =
            classes!("st-event", format!("cat-{}", e.category), (Some(e.index) == last).then_some("latest"));
        html! {
            <circle class={class} cx={format!("{:.1}", x(e.time))} cy={format!("{:.1}", y(e.node))} r="3.5">
                <title>{ format!("#{} t={} {}{}", e.index, format::ms(e.time), e.text,
                    e.hlc.as_deref().map(|h| format!(" [{h}]")).unwrap_or_default()) }</title>
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
    html! {
        <section class="spacetime" aria-label="space-time diagram">
            <svg viewBox={format!("0 0 {WIDTH} {height:.0}")} preserveAspectRatio="none" class="spacetime-svg"
                style={format!("height: {height:.0}px")}>
                <defs>{ for heads }</defs>
                { for lines }
                { for arrows }
                { for dots }
                <text class="st-axis" x={LEFT.to_string()} y={(height - 2.0).to_string()}>{ format!("t={}", format::ms(t0)) }</text>
                <text class="st-axis" x={(WIDTH - RIGHT).to_string()} y={(height - 2.0).to_string()} text-anchor="end">
                    { format!("t={}", format::ms(t1)) }
                </text>
            </svg>
        </section>
    }
}
