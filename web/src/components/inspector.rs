//! The selected node: state, role, HLC, clock offset, the protocol's own facts, and the
//! faults that can be injected into it.

use std::rc::Rc;

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::format;
use crate::model::{Action, Snapshot, UserFault};

/// Facts the HLC row already shows (as one stamp, the same as in every other view).
const HLC_FACTS: [&str; 3] = ["HLC", "l (wall, µs)", "c (logical)"];

/// How far the node menu's clock items move a node's physical clock, and where the
/// inspector's clock slider starts.
pub const SKEW_STEP_MS: i64 = 100;

/// The inspector's clock slider spans ± this many milliseconds.
const SKEW_RANGE_MS: i64 = 1000;

#[derive(Properties, PartialEq)]
pub struct InspectorProps {
    pub view: Rc<Snapshot>,
    pub selected: Option<u32>,
    pub dispatch: Callback<Action>,
    /// A node of the native cluster: facts only, its faults are in the live panel.
    #[prop_or_default]
    pub live: bool,
}

#[function_component(Inspector)]
pub fn inspector(props: &InspectorProps) -> Html {
    let behaviour = use_node_ref();
    let skew = use_state(|| SKEW_STEP_MS);
    // A click on a node brings its facts into view when the side panel is scrolled away.
    let panel = use_node_ref();
    {
        let panel = panel.clone();
        use_effect_with(props.selected, move |selected| {
            if selected.is_some()
                && let Some(el) = panel.cast::<web_sys::Element>()
            {
                let options = web_sys::ScrollIntoViewOptions::new();
                options.set_block(web_sys::ScrollLogicalPosition::Nearest);
                el.scroll_into_view_with_scroll_into_view_options(&options);
            }
        });
    }
    let view = &props.view;
    let Some(node) = props.selected.and_then(|i| view.nodes.get(i as usize)) else {
        return html! {
            <section class="panel inspector" data-testid="inspector">
                <h2>{ "Inspector" }</h2>
                if props.live && view.scenario == crate::recording::SCENARIO {
                    <p class="hint">{ "Click a node of the recorded run to inspect it as of the position shown." }</p>
                } else if props.live {
                    <p class="hint">{ "Click a node of the live cluster to inspect it. Kill and restart native nodes from the Live cluster panel." }</p>
                } else {
                    <p class="hint">{ "Click a node to inspect it. Right-click a node to crash, restart, skew or corrupt it." }</p>
                    <p class="summary" data-testid="scenario-summary">{ scenario_summary(view) }</p>
                }
            </section>
        };
    };
    let id = node.id;
    let inject = |fault: UserFault| {
        let dispatch = props.dispatch.clone();
        Callback::from(move |_: MouseEvent| dispatch.emit(Action::Inject { node: id, fault: fault.clone() }))
    };
    let on_misbehave = {
        let dispatch = props.dispatch.clone();
        let input = behaviour.clone();
        Callback::from(move |_: MouseEvent| {
            let value = input.cast::<HtmlSelectElement>().map(|i| i.value()).unwrap_or_default();
            dispatch.emit(Action::Inject { node: id, fault: UserFault::Misbehave(value) });
        })
    };
    let on_skew_input = {
        let skew = skew.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(ms) = e.target_dyn_into::<HtmlInputElement>().and_then(|i| i.value().parse().ok()) {
                skew.set(ms);
            }
        })
    };
    let on_skew = {
        let (dispatch, by_ms) = (props.dispatch.clone(), *skew);
        Callback::from(move |_: MouseEvent| {
            if by_ms != 0 {
                dispatch.emit(Action::Inject { node: id, fault: UserFault::SkewClock(by_ms) });
            }
        })
    };
    let crashed = node.state == "crashed";
    html! {
        <section class="panel inspector" data-testid="inspector" data-inspected={id.to_string()} ref={panel}>
            <h2>
                { format!("Node {id}") }
                <span class={classes!("badge", format!("state-{}", node.state))}>{ node.state.clone() }</span>
            </h2>
            <dl class="facts">
                <dt>{ "role" }</dt><dd>{ node.role.clone() }</dd>
                if let Some(b) = &node.behaviour {
                    <dt>{ "behaviour" }</dt><dd class="byzantine">{ b.clone() }</dd>
                }
                <dt>{ "HLC (l, c)" }</dt>
                <dd class="mono" title={node.hlc.as_deref().map(format::hlc_long).unwrap_or_default()}>
                    { node.hlc.as_deref().map(format::hlc_short).unwrap_or_else(|| "—".into()) }
                </dd>
                <dt>{ "clock offset" }</dt><dd>{ format::offset(node.clock_offset_us) }</dd>
                { for node.facts.iter().filter(|(k, _)| !HLC_FACTS.contains(&k.as_str()))
                    .filter(|(k, _)| !(k == "behaviour" && node.behaviour.is_some())).map(|(k, v)| html! {
                    <>
                        <dt>{ k.replace('_', " ") }</dt><dd class="mono">{ format::fact_value(v) }</dd>
                    </>
                }) }
            </dl>
            if !props.live {
            <div class="actions" role="group" aria-label="faults">
                if crashed {
                    <button data-testid="restart-node" onclick={inject(UserFault::Restart)}>{ "restart" }</button>
                } else {
                    <button data-testid="crash" class="danger" onclick={inject(UserFault::Crash)}>{ "crash" }</button>
                }
            </div>
            <div class="actions skew">
                <label for="skew-ms">{ "jump clock by" }</label>
                <input id="skew-ms" data-testid="skew" type="range" min={(-SKEW_RANGE_MS).to_string()}
                    max={SKEW_RANGE_MS.to_string()} step="10" value={skew.to_string()} oninput={on_skew_input}
                    aria-label="clock jump in milliseconds" />
                <output data-testid="skew-value" for="skew-ms">{ format!("{:+} ms", *skew) }</output>
                <button data-testid="skew-apply" onclick={on_skew} disabled={*skew == 0}
                    title="jump this node's physical clock by the slider's amount">{ "jump" }</button>
            </div>
            // A client has no Byzantine behaviours: the protocol's are the replicas'.
            if node.role != "client" {
            <div class="actions misbehave">
                <label for="behaviour">{ "switch to" }</label>
                <select id="behaviour" data-testid="behaviour" ref={behaviour} aria-label="behaviour"
                    title="the behaviour to switch this node to (honest resets)">
                    // Offered first: a behaviour for an honest node, honesty for a Byzantine one.
                    { for view.behaviours.iter().filter(|b| **b != "honest").enumerate().map(|(i, b)| html! {
                        <option value={*b} selected={i == 0 && node.behaviour.is_none()}>{ *b }</option>
                    }) }
                    <option value="honest" selected={node.behaviour.is_some()}>{ "honest" }</option>
                </select>
                <button data-testid="misbehave" onclick={on_misbehave}>{ "misbehave" }</button>
            </div>
            }
            }
        </section>
    }
}

/// The scenario's own summary (a custom or edited one's, marked so: an edited built-in's
/// text may not have been brought up to date with the edit).
fn scenario_summary(view: &Snapshot) -> String {
    let edited = view.custom_mark();
    match view.summary.as_str() {
        "" => format!("{}{edited}", view.scenario),
        summary => format!("{}{edited}: {summary}", view.scenario),
    }
}
