//! The node menu (right click): the inspector's faults, next to the pointer.

use std::rc::Rc;

use yew::prelude::*;

use super::inspector::{SKEW_STEP_MS, default_behaviour};
use crate::model::{Action, Snapshot, UserFault};

#[derive(Properties, PartialEq)]
pub struct NodeMenuProps {
    pub view: Rc<Snapshot>,
    /// Node and page position of the pointer.
    pub at: (u32, i32, i32),
    pub dispatch: Callback<Action>,
}

#[function_component(NodeMenu)]
pub fn node_menu(props: &NodeMenuProps) -> Html {
    let (node, x, y) = props.at;
    let Some(view) = props.view.nodes.get(node as usize) else {
        return html! {};
    };
    let item = |label: String, fault: UserFault| {
        let dispatch = props.dispatch.clone();
        let onclick =
            Callback::from(move |_: MouseEvent| dispatch.emit(Action::Inject { node, fault: fault.clone() }));
        html! { <li><button role="menuitem" {onclick}>{ label }</button></li> }
    };
    let close = {
        let dispatch = props.dispatch.clone();
        Callback::from(move |_: MouseEvent| dispatch.emit(Action::Menu(None)))
    };
    let behaviour = default_behaviour(&props.view.protocol);
    html! {
        <div class="menu" data-testid="node-menu" role="menu" style={format!("left: {x}px; top: {y}px")}>
            <p class="menu-title">{ format!("Node {node}") }</p>
            <ul>
                if view.state == "crashed" {
                    { item("restart".into(), UserFault::Restart) }
                } else {
                    { item("crash".into(), UserFault::Crash) }
                }
                { item(format!("clock +{SKEW_STEP_MS} ms"), UserFault::SkewClock(SKEW_STEP_MS)) }
                { item(format!("clock −{SKEW_STEP_MS} ms"), UserFault::SkewClock(-SKEW_STEP_MS)) }
                if !behaviour.is_empty() {
                    { item(format!("misbehave: {behaviour}"), UserFault::Misbehave(behaviour.into())) }
                }
                if view.behaviour.is_some() {
                    { item("behave honestly".into(), UserFault::Misbehave("honest".into())) }
                }
                <li><button role="menuitem" onclick={close}>{ "close" }</button></li>
            </ul>
        </div>
    }
}
