//! The metrics drawer: small plots of the run so far, over the side panels so the cluster
//! view keeps its place. Message colours and dashes are the legend's.

use std::rc::Rc;

use yew::prelude::*;

use crate::model::{Action, Metrics, Snapshot, histogram, rate_points};
use crate::palette;

/// Plot width in SVG units (the drawer scales it to its width).
const W: f64 = 360.0;
const BAR_H: f64 = 15.0;
const LABEL_W: f64 = 104.0;
const COUNT_W: f64 = 112.0;
/// Bins of the latency histogram.
const LATENCY_BINS: usize = 12;

#[derive(Properties, PartialEq)]
pub struct MetricsDrawerProps {
    pub view: Rc<Snapshot>,
    pub dispatch: Callback<Action>,
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e12 { format!("{v:.0}") } else { format!("{v:.3}") }
}

/// Horizontal bars: (label, value, colour, dash, extra attributes as `data-*`).
fn bars(rows: Vec<(String, u64, &'static str, &'static str, Html)>, attr: &'static str) -> Html {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1) as f64;
    let h = BAR_H * rows.len() as f64 + 2.0;
    let rows = rows.into_iter().enumerate().map(|(i, (label, value, colour, dash, extra))| {
        let y = BAR_H * i as f64 + 1.0;
        let w = (W - LABEL_W - COUNT_W) * value as f64 / max;
        html! {
            <g class="bar" data-label={label.clone()} data-count={value.to_string()} data-attr={attr}>
                <text x={(LABEL_W - 6.0).to_string()} y={format!("{:.1}", y + 11.0)} text-anchor="end">{ label.clone() }</text>
                <rect x={LABEL_W.to_string()} y={format!("{:.1}", y + 2.0)} width={format!("{w:.1}")}
                    height={(BAR_H - 4.0).to_string()} fill={colour} stroke={colour} stroke-dasharray={dash} />
                <text class="count" x={format!("{:.1}", LABEL_W + w + 4.0)} y={format!("{:.1}", y + 11.0)}>{ extra }</text>
            </g>
        }
    });
    html! { <svg class="plot" viewBox={format!("0 0 {W} {h}")}>{ for rows }</svg> }
}

/// Deliveries and progress events per virtual second over the time run so far.
fn rates(m: &Metrics, now_us: u64) -> Html {
    let (width_us, points) = rate_points(&m.tally, now_us);
    if points.len() < 2 {
        return html! { <p class="hint">{ "too early to plot a rate" }</p> };
    }
    let secs = width_us as f64 / 1e6;
    let max = points.iter().map(|(d, p)| (*d).max(*p)).max().unwrap_or(0).max(1) as f64 / secs;
    let (h, left, bottom) = (90.0, 44.0, 14.0);
    let n = points.len() as f64;
    let x = |i: usize| left + (W - left - 6.0) * (i as f64 + 0.5) / n;
    let y = |v: u64| 4.0 + (h - bottom - 4.0) * (1.0 - v as f64 / secs / max);
    let line = |pick: fn(&(u64, u64)) -> u64| {
        points
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{:.1},{:.1}", x(i), y(pick(s))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    html! {
        <svg class="plot rates" viewBox={format!("0 0 {W} {h}")}>
            <line class="axis" x1={left.to_string()} x2={(W - 6.0).to_string()} y1={(h - bottom).to_string()} y2={(h - bottom).to_string()} />
            <text class="tick" x={(left - 4.0).to_string()} y="12" text-anchor="end">{ format!("{max:.0}/s") }</text>
            <text class="tick" x={(left - 4.0).to_string()} y={(h - bottom).to_string()} text-anchor="end">{ "0" }</text>
            <text class="tick" x={left.to_string()} y={(h - 2.0).to_string()}>{ "t=0" }</text>
            <text class="tick" x={(W - 6.0).to_string()} y={(h - 2.0).to_string()} text-anchor="end">
                { format!("t={:.0} ms", width_us as f64 * n / 1000.0) }
            </text>
            <polyline class="rate deliveries" points={line(|s| s.0)} />
            <polyline class="rate progress" points={line(|s| s.1)} />
        </svg>
    }
}

#[function_component(MetricsDrawer)]
pub fn metrics_drawer(props: &MetricsDrawerProps) -> Html {
    let close = {
        let dispatch = props.dispatch.clone();
        Callback::from(move |_: MouseEvent| dispatch.emit(Action::ToggleMetrics))
    };
    let Some(m) = props.view.metrics.as_ref() else {
        return html! {};
    };
    let t = &m.tally;
    let kinds: Vec<_> = t
        .by_kind
        .iter()
        .map(|(kind, c)| {
            let extra = html! {
                <>
                    { c.delivered }
                    if c.dropped > 0 { <tspan class="dropped">{ format!(" +{} dropped", c.dropped) }</tspan> }
                </>
            };
            (kind.clone(), c.delivered + c.dropped, palette::colour(kind), palette::dash(kind), extra)
        })
        .collect();
    let kind_attrs = t.by_kind.iter().map(|(kind, c)| {
        html! { <li data-kind={kind.clone()} data-delivered={c.delivered.to_string()} data-dropped={c.dropped.to_string()} hidden=true /> }
    });
    let rejected: Vec<_> =
        t.rejected.iter().map(|(reason, n)| (reason.clone(), *n, "#c0392b", "", html! { { *n } })).collect();
    let latency = (!t.latencies_us.is_empty()).then(|| {
        let (width, counts) = histogram(&t.latencies_us, LATENCY_BINS);
        let rows = counts
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let label = format!(
                    "{:.1}–{:.1} ms",
                    (i as u64 * width) as f64 / 1e3,
                    ((i as u64 + 1) * width) as f64 / 1e3
                );
                (label, *c, "#0072B2", "", html! { { *c } })
            })
            .collect();
        bars(rows, "latency")
    });
    let highlights: &[(&str, &str)] = match props.view.protocol.as_str() {
        "gossip" => {
            &[("rmr", "RMR (redundancy)"), ("ldh", "LDH (last delivery hop)"), ("reliability", "reliability")]
        }
        "pbft" => {
            &[("client_latency_p50_ms", "latency p50 (ms)"), ("client_latency_p99_ms", "latency p99 (ms)")]
        }
        _ => &[],
    };
    html! {
        <aside class="drawer" data-testid="metrics" aria-label="metrics of this run">
            <header>
                <h2>{ "Metrics" }<span class="hint">{ format!("events 0–{}", t.upto) }</span></h2>
                <button onclick={close} aria-label="close the metrics">{ "✕" }</button>
            </header>
            if !highlights.is_empty() {
                <dl class="big-numbers">
                    { for highlights.iter().filter_map(|(key, label)| m.protocol.get(*key).map(|v| {
                        // A latency of no request at all is not 0 ms.
                        let none_yet = key.starts_with("client_latency")
                            && m.protocol.get("requests_completed") == Some(&0.0);
                        html! {
                            <div data-metric={*key}><dt>{ *label }</dt>
                                if none_yet { <dd title="no request has completed yet">{ "–" }</dd> } else { <dd>{ num(*v) }</dd> }
                            </div>
                        }
                    })) }
                </dl>
            }
            <h3>{ "Messages by type" }</h3>
            if kinds.is_empty() { <p class="hint">{ "no message yet" }</p> } else { { bars(kinds, "kind") } }
            <ul class="kind-counts">{ for kind_attrs }</ul>
            <h3>
                { "Per virtual second: " }
                <span class="key deliveries">{ "messages delivered" }</span>{ " · " }
                <span class="key progress">{ progress_label(t.progress_kind) }</span>
            </h3>
            { rates(m, props.view.now_us) }
            <h3>{ "Rejected messages by reason" }</h3>
            if rejected.is_empty() { <p class="hint">{ "none rejected" }</p> } else { { bars(rejected, "reason") } }
            if let Some(plot) = latency {
                <h3>{ format!("Client latency ({} requests)", t.latencies_us.len()) }</h3>
                { plot }
            }
            <h3>{ "The protocol's figures (as `void sim --json`)" }</h3>
            <dl class="facts metric-table">
                { for m.protocol.iter().map(|(k, v)| html! {
                    <><dt>{ k.clone() }</dt><dd class="mono" data-metric-value={k.clone()}>{ num(*v) }</dd></>
                }) }
            </dl>
        </aside>
    }
}

/// The protocol's progress event as a plot key (a fixed table: `to_lowercase` would bring
/// the Unicode case tables into the bundle, about 9 KB).
fn progress_label(kind: &str) -> &str {
    match kind {
        "Executed" => "requests executed",
        "Delivered" => "broadcasts delivered",
        "Received" => "stamps received",
        other => other,
    }
}
