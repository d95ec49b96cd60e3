//! The top bar: scenario, seed, transport controls, speed, position, trace hash, share.

use std::rc::Rc;

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::format;
use crate::math;
use crate::model::{Action, MAX_SPEED, MIN_SPEED, Snapshot, VIRTUAL_US_PER_REAL_MS_AT_1X};

#[derive(Properties, PartialEq)]
pub struct TopBarProps {
    pub view: Rc<Snapshot>,
    /// Virtual time the animation shows.
    pub shown_us: u64,
    pub playing: bool,
    pub speed: f64,
    pub dispatch: Callback<Action>,
    pub on_share: Callback<()>,
    /// Larger text for a projector.
    pub large_text: bool,
    pub on_large_text: Callback<()>,
    /// Shown at the right end (the page switch).
    #[prop_or_default]
    pub children: Html,
    /// The native cluster is drawn instead of the run: the bar says so and offers a way
    /// back instead of the run's controls.
    #[prop_or_default]
    pub live: Option<LiveBar>,
    #[prop_or_default]
    pub on_leave_live: Callback<()>,
    /// With `live`: what is drawn is a recording of a native run, in short (its bar says more).
    #[prop_or_default]
    pub recording: Option<String>,
}

/// What the top bar says about the live cluster being watched.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveBar {
    /// Native nodes drawn (replicas; clients seen in events are not counted).
    pub nodes: usize,
    /// Of those, the ones down (killed, or not answering).
    pub down: usize,
    pub events_per_s: f64,
}

impl LiveBar {
    pub fn text(&self) -> String {
        let nodes = match self.nodes {
            1 => "1 native node".to_owned(),
            n => format!("{n} native nodes"),
        };
        let down = if self.down > 0 { format!(" ({} down)", self.down) } else { String::new() };
        let rate = self.events_per_s;
        let rate = if rate > 0.0 && rate < 10.0 { format!("{rate:.1}") } else { format!("{rate:.0}") };
        format!("● live: {nodes}{down} · {rate} events/s")
    }
}

/// Slider position (0..=300) for a speed: logarithmic from 0.1× to 100×.
pub fn speed_to_slider(speed: f64) -> f64 {
    ((math::log10(speed.clamp(MIN_SPEED, MAX_SPEED)) + 1.0) * 100.0).round()
}

pub fn slider_to_speed(pos: f64) -> f64 {
    math::pow(10.0, pos / 100.0 - 1.0).clamp(MIN_SPEED, MAX_SPEED)
}

/// A speed as what it does: virtual time shown per second of real time (1× is 10 ms a
/// second, slow enough to follow each message; 100× is real time).
fn speed_label(speed: f64) -> String {
    let ms = speed * VIRTUAL_US_PER_REAL_MS_AT_1X;
    if ms >= 999.5 {
        format!("{:.0} s/s", ms / 1000.0)
    } else if ms < 9.95 {
        format!("{ms:.1} ms/s")
    } else {
        format!("{ms:.0} ms/s")
    }
}

/// A small filled icon (the transport symbols are missing from many system fonts).
fn icon(path: &'static str) -> Html {
    html! { <svg viewBox="0 0 16 16" aria-hidden="true"><path d={path} /></svg> }
}

#[function_component(TopBar)]
pub fn top_bar(props: &TopBarProps) -> Html {
    let view = &props.view;
    let send = |action: Action| {
        let dispatch = props.dispatch.clone();
        Callback::from(move |_: MouseEvent| dispatch.emit(action.clone()))
    };
    let on_scenario = {
        let dispatch = props.dispatch.clone();
        let seed = view.seed;
        Callback::from(move |e: Event| {
            let select: HtmlSelectElement = e.target_unchecked_into();
            dispatch.emit(Action::Load { scenario: select.value(), seed });
            // Hand the keys back to the page: → steps, not picks the next scenario.
            let _ = select.blur();
        })
    };
    let on_seed = {
        let dispatch = props.dispatch.clone();
        let (scenario, current) = (view.scenario.clone(), view.seed);
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            match input.value().trim().parse::<u64>() {
                Ok(seed) => dispatch.emit(Action::Load { scenario: scenario.clone(), seed }),
                Err(_) => {
                    dispatch.emit(Action::Fail(format!(
                        "seed {:?} is not a whole number from 0 to 18446744073709551615; still seed {current}",
                        input.value()
                    )));
                    // The field shows the seed of the run on screen, not the refused text.
                    input.set_value(&current.to_string());
                }
            }
        })
    };
    let on_speed = {
        let dispatch = props.dispatch.clone();
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            if let Ok(pos) = input.value().parse::<f64>() {
                dispatch.emit(Action::SetSpeed(slider_to_speed(pos)));
            }
        })
    };
    let on_share = {
        let share = props.on_share.clone();
        Callback::from(move |_: MouseEvent| share.emit(()))
    };
    let on_large_text = {
        let toggle = props.on_large_text.clone();
        Callback::from(move |_: MouseEvent| toggle.emit(()))
    };
    let shown_us = props.shown_us;
    let done = view.finished || view.violation.is_some();
    let large_text = html! {
        <button data-testid="large-text" class={classes!("text-size", props.large_text.then_some("on"))}
            onclick={on_large_text} aria-pressed={props.large_text.to_string()}
            title="larger text, for a projector" aria-label="large text">{ "A+" }</button>
    };
    if let Some(live) = &props.live {
        // The paused run's controls would act on what is not shown: they wait, hidden.
        let leave = {
            let leave = props.on_leave_live.clone();
            Callback::from(move |_: MouseEvent| leave.emit(()))
        };
        if let Some(summary) = &props.recording {
            return html! {
                <header class="topbar live recording" data-mode="recording">
                    <h1 class="brand">{ "Void" }</h1>
                    <span class="live-status" data-testid="recording-status" role="status"
                        data-nodes={live.nodes.to_string()} title={summary.clone()}>
                        { "▶ recording of a native run · " }{ summary.clone() }
                    </span>
                    <button data-testid="leave-recording-top" class="primary leave-live" onclick={leave}
                        title="back to the simulated run, as it was left">{ "leave recording" }</button>
                    <span class="topbar-gap"></span>
                    { large_text }
                    { props.children.clone() }
                </header>
            };
        }
        return html! {
            <header class="topbar live" data-mode="live">
                <h1 class="brand">{ "Void" }</h1>
                <span class="live-status" data-testid="live-status" role="status"
                    data-nodes={live.nodes.to_string()}>{ live.text() }</span>
                <button data-testid="leave-live" class="primary leave-live" onclick={leave}
                    title="back to the simulated run, as it was left">{ "leave live" }</button>
                <span class="topbar-gap"></span>
                { large_text }
                { props.children.clone() }
            </header>
        };
    }
    html! {
        <header class="topbar">
            <h1 class="brand">{ "Void" }</h1>
            <label class="field">
                <select data-testid="scenario" onchange={on_scenario} title="built-in scenario"
                    aria-label="scenario">
                    // A scenario from the editor or a link is named as such, not as a built-in.
                    if view.custom.is_some() {
                        <option value="" selected=true disabled=true data-custom="">
                            { format!("{}{}", view.scenario, view.custom_mark()) }
                        </option>
                    }
                    { for void_core::sim::builtin().into_iter().map(|b| html! {
                        <option value={b.name} selected={view.custom.is_none() && b.name == view.scenario}
                            title={b.summary.clone()}>
                            { b.name }
                        </option>
                    }) }
                </select>
            </label>
            <label class="field">
                <span class="field-label">{ "seed" }</span>
                <input data-testid="seed" class="seed" type="text" inputmode="numeric"
                    value={view.seed.to_string()} onchange={on_seed} aria-label="seed" />
            </label>
            <div class="transport" role="group" aria-label="run controls">
                <button data-testid="step-back" onclick={send(Action::StepBack)}
                    disabled={view.at_origin} title="step back (←)" aria-label="step back">
                    { icon("M11 3 L3 8 L11 13 Z M12 3 H14 V13 H12 Z") }
                </button>
                if props.playing {
                    <button data-testid="pause" class="primary" onclick={send(Action::Pause)}
                        title="pause (space)">{ icon("M3 2 H7 V14 H3 Z M9 2 H13 V14 H9 Z") }{ "pause" }</button>
                } else {
                    <button data-testid="play" class="primary" onclick={send(Action::Play)}
                        disabled={done}
                        title={if view.violation.is_some() { "the run stopped at the first violation (see Invariants)" }
                            else if done { "the run is complete" } else { "play (space)" }}>{ icon("M4 2 L14 8 L4 14 Z") }{ "play" }</button>
                }
                <button data-testid="step" onclick={send(Action::Step)} disabled={done}
                    title="step (→): the next delivery or timer, with every event it causes at that node"
                    aria-label="step">{ icon("M2 3 L10 8 L2 13 Z M11 3 H13 V13 H11 Z") }</button>
                <button data-testid="restart" onclick={send(Action::Restart)}
                    title="restart from the seed" aria-label="restart">
                    { icon("M8 2 A6 6 0 1 0 14 8 H12 A4 4 0 1 1 8 4 V6 L11.5 3 L8 0 Z") }
                </button>
            </div>
            <label class="field speed"
                title="playing speed (+ / −), in virtual time per real second: 10 ms/s (1×) is slow enough to follow each message, 1 s/s (100×) is real time">
                <input data-testid="speed" type="range" min="0" max="300" step="1"
                    value={speed_to_slider(props.speed).to_string()} oninput={on_speed}
                    aria-label="speed" />
                <span class="speed-value">{ speed_label(props.speed) }</span>
            </label>
            <div class="position">
                <div class="pos-line">
                    <span class="clock" data-testid="virtual-time">{ format!("t={}", format::ms(shown_us)) }</span>
                    <span class="event-index" title="trace events so far (the latest is numbered one less)">
                        <span data-testid="event-index">{ view.events }</span>{ " events" }
                    </span>
                </div>
                <span class="hash" title={format!("trace hash (SHA-256 of the events so far): {}", view.trace_hash)}>
                    // On this line rather than beside the events: it keeps the bar one line
                    // wide with large text at the end of a long run.
                    if done { <span class="status">{ if view.violation.is_some() { "stopped · " } else { "end · " } }</span> }
                    { "trace " }<code data-testid="trace-hash">{ view.trace_hash.clone() }</code>
                </span>
            </div>
            <button data-testid="share" class="share" onclick={on_share}
                title="copy a link that reproduces this run">{ "share" }</button>
            { large_text }
            { props.children.clone() }
        </header>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn the_live_bar_names_nodes_and_rate() {
        let bar = |nodes, down, events_per_s| LiveBar { nodes, down, events_per_s }.text();
        assert_eq!(bar(4, 0, 37.4), "● live: 4 native nodes · 37 events/s");
        assert_eq!(bar(4, 1, 37.4), "● live: 4 native nodes (1 down) · 37 events/s");
        assert_eq!(bar(1, 0, 2.34), "● live: 1 native node · 2.3 events/s");
        assert_eq!(bar(0, 0, 0.0), "● live: 0 native nodes · 0 events/s");
    }

    #[test]
    fn the_speed_reads_as_virtual_time_per_real_second() {
        assert_eq!(speed_label(1.0), "10 ms/s");
        assert_eq!(speed_label(0.1), "1.0 ms/s");
        assert_eq!(speed_label(0.25), "2.5 ms/s");
        assert_eq!(speed_label(31.6), "316 ms/s");
        assert_eq!(speed_label(100.0), "1 s/s", "real time");
    }

    #[test]
    fn slider_covers_a_tenth_to_a_hundred() {
        assert_eq!(slider_to_speed(0.0), 0.1);
        assert!((slider_to_speed(100.0) - 1.0).abs() < 1e-9);
        assert!((slider_to_speed(300.0) - 100.0).abs() < 1e-9);
        for speed in [0.1, 1.0, 10.0, 100.0] {
            assert!((slider_to_speed(speed_to_slider(speed)) - speed).abs() < speed * 0.03, "{speed}");
        }
    }
}
