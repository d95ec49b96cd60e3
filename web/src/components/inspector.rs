//! The selected node: state, role, HLC, clock offset, the protocol's own facts, and the
//! faults that can be injected into it.

use std::rc::Rc;

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::format;
use crate::model::{Action, Snapshot, UserFault};

/// Facts the HLC row already shows (as one stamp, the same as in every other view).
const HLC_FACTS: [&str; 3] = ["HLC", "l (wall, µs)", "c (logical)"];

/// How far one press of a skew button moves a node's physical clock.
pub const SKEW_STEP_MS: i64 = 100;

/// A behaviour each protocol understands, offered first in the misbehave field.
pub fn default_behaviour(protocol: &str) -> &'static str {
    match protocol {
        "hlc-ping" => "ignore-remote",
        _ => "",
    }
}

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
    let view = &props.view;
    let Some(node) = props.selected.and_then(|i| view.nodes.get(i as usize)) else {
        return html! {
            <section class="panel inspector" data-testid="inspector">
                <h2>{ "Inspector" }</h2>
                if props.live {
                    <p class="hint">{ "Click a node of the live cluster to inspect it. Kill and restart native nodes from the Live cluster panel." }</p>
                } else {
                    <p class="hint">{ "Click a node to inspect it. Right-click a node to crash, restart, skew or corrupt it." }</p>
                    <p class="summary">{ scenario_summary(&view.scenario) }</p>
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
            let value = input.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            dispatch.emit(Action::Inject { node: id, fault: UserFault::Misbehave(value) });
        })
    };
    let crashed = node.state == "crashed";
    html! {
        <section class="panel inspector" data-testid="inspector" data-inspected={id.to_string()}>
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
                { for node.facts.iter().filter(|(k, _)| !HLC_FACTS.contains(&k.as_str())).map(|(k, v)| html! {
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
                <button data-testid="skew-plus" onclick={inject(UserFault::SkewClock(SKEW_STEP_MS))}
                    title="jump this node's physical clock forward">{ format!("+{SKEW_STEP_MS} ms clock") }</button>
                <button data-testid="skew-minus" onclick={inject(UserFault::SkewClock(-SKEW_STEP_MS))}
                    title="jump this node's physical clock back">{ format!("−{SKEW_STEP_MS} ms clock") }</button>
            </div>
            <div class="actions misbehave">
                <input data-testid="behaviour" ref={behaviour} type="text" list="behaviours"
                    value={default_behaviour(&view.protocol)} placeholder="behaviour (honest resets)"
                    aria-label="behaviour" title={format!("one of: {}", view.behaviours.join(", "))} />
                <datalist id="behaviours">
                    { for view.behaviours.iter().map(|b| html! { <option value={*b} /> }) }
                </datalist>
                <button data-testid="misbehave" onclick={on_misbehave}>{ "misbehave" }</button>
            </div>
            }
        </section>
    }
}

fn scenario_summary(name: &str) -> String {
    void_core::sim::builtin()
        .into_iter()
        .find(|b| b.name == name)
        .map(|b| format!("{name}: {}", b.summary))
        .unwrap_or_default()
}
