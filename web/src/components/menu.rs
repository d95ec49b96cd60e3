//! The node menu (right click): the inspector's faults, next to the pointer; and the link
//! menu (drag from one node to another): what to do to the link between them.

use std::rc::Rc;

use yew::prelude::*;

use super::inspector::SKEW_STEP_MS;
use crate::model::{Action, LinkFault, Snapshot, UserFault};

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
    let titled = |label: String, fault: UserFault, title: Option<String>| {
        let dispatch = props.dispatch.clone();
        let onclick =
            Callback::from(move |_: MouseEvent| dispatch.emit(Action::Inject { node, fault: fault.clone() }));
        html! { <li><button role="menuitem" {onclick} {title}>{ label }</button></li> }
    };
    let item = |label: String, fault: UserFault| titled(label, fault, None);
    let close = {
        let dispatch = props.dispatch.clone();
        Callback::from(move |_: MouseEvent| dispatch.emit(Action::Menu(None)))
    };
    // Every behaviour the protocol has, the node's current one left out (none for a
    // client: the behaviours are the replicas').
    let behaviours: Vec<&'static str> = props
        .view
        .behaviours
        .iter()
        .copied()
        .filter(|b| *b != "honest" && Some(*b) != view.behaviour.as_deref() && view.role != "client")
        .collect();
    let isolate = {
        let dispatch = props.dispatch.clone();
        Callback::from(move |_: MouseEvent| dispatch.emit(Action::Partition(vec![node])))
    };
    let heal = {
        let dispatch = props.dispatch.clone();
        Callback::from(move |_: MouseEvent| dispatch.emit(Action::Heal))
    };
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
                if !behaviours.is_empty() {
                    <li>
                        <details class="submenu" data-testid="make-byzantine">
                            <summary role="menuitem">{ "make Byzantine ▸" }</summary>
                            <ul>
                                { for behaviours.iter().map(|b| {
                                    titled((*b).to_owned(), UserFault::Misbehave((*b).into()), summary(&props.view, b))
                                }) }
                            </ul>
                        </details>
                    </li>
                }
                if view.behaviour.is_some() {
                    { item("behave honestly".into(), UserFault::Misbehave("honest".into())) }
                }
                <li><button role="menuitem" data-testid="isolate" onclick={isolate}>{ "cut off from the others" }</button></li>
                if props.view.network_faults > 0 {
                    <li><button role="menuitem" onclick={heal}>{ "heal the network" }</button></li>
                }
                <li><button role="menuitem" onclick={close}>{ "close" }</button></li>
            </ul>
        </div>
    }
}

/// What behaviour `name` does, as the protocol says.
fn summary(view: &Snapshot, name: &str) -> Option<String> {
    let i = view.behaviours.iter().position(|b| *b == name)?;
    view.behaviour_summaries.get(i).map(|s| (*s).to_owned())
}

#[derive(Properties, PartialEq)]
pub struct LinkMenuProps {
    /// Both ends and the page position of the pointer.
    pub at: (u32, u32, i32, i32),
    pub dispatch: Callback<Action>,
}

#[function_component(LinkMenu)]
pub fn link_menu(props: &LinkMenuProps) -> Html {
    let (a, b, x, y) = props.at;
    let item = |fault: LinkFault| {
        let dispatch = props.dispatch.clone();
        let onclick = Callback::from(move |_: MouseEvent| dispatch.emit(Action::BreakLink { a, b, fault }));
        html! { <li><button role="menuitem" {onclick}>{ fault.label() }</button></li> }
    };
    let close = {
        let dispatch = props.dispatch.clone();
        Callback::from(move |_: MouseEvent| dispatch.emit(Action::LinkMenu(None)))
    };
    html! {
        <div class="menu" data-testid="link-menu" role="menu" style={format!("left: {x}px; top: {y}px")}>
            <p class="menu-title">{ format!("Link {a} ↔ {b}, both ways") }</p>
            <ul>
                { for LinkFault::CHOICES.into_iter().map(item) }
                <li><button role="menuitem" onclick={close}>{ "close" }</button></li>
            </ul>
        </div>
    }
}
