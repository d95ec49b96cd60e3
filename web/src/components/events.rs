//! "What just happened": the latest event's one-line explanation, then the few before it.

use std::rc::Rc;

use yew::prelude::*;

use crate::format;
use crate::model::Snapshot;

/// Earlier events listed under the headline.
const LISTED: usize = 6;

#[derive(Properties, PartialEq)]
pub struct EventLineProps {
    pub view: Rc<Snapshot>,
}

#[function_component(EventLine)]
pub fn event_line(props: &EventLineProps) -> Html {
    let view = &props.view;
    let Some(latest) = view.recent.last() else {
        return html! {
            <section class="events" aria-live="polite">
                <p class="headline" data-testid="what-happened">{ "Nothing yet: press ▶ play or ⏭ step (→)." }</p>
            </section>
        };
    };
    let stamp = |hlc: &Option<String>| hlc.as_deref().map(format::hlc_short).unwrap_or_default();
    html! {
        <section class="events" aria-live="polite">
            <p class="headline" data-testid="what-happened">
                <span class="ev-index">{ format!("#{}", latest.index) }</span>
                <span class="ev-time">{ format!("t={}", format::ms(latest.time)) }</span>
                <span class={classes!("ev-node")}>{ format!("N{}", latest.node) }</span>
                <span class="ev-text">{ format::event_text(latest) }</span>
                if let Some(r) = &latest.rejected {
                    <span class="ev-rejected">{ format!("rejected: {r}") }</span>
                }
                <span class="ev-hlc" title={latest.hlc.as_deref().map(format::hlc_long).unwrap_or_default()}>{ stamp(&latest.hlc) }</span>
            </p>
            <ol class="event-list" data-testid="event-list">
                { for view.recent.iter().rev().skip(1).take(LISTED).map(|e| html! {
                    <li class={format!("cat-{}", e.category)}>
                        <span class="ev-index">{ format!("#{}", e.index) }</span>
                        <span class="ev-time">{ format::ms(e.time) }</span>
                        <span class="ev-node">{ format!("N{}", e.node) }</span>
                        <span class="ev-text">{ format::event_text(e) }</span>
                        <span class="ev-hlc" title={e.hlc.as_deref().map(format::hlc_long).unwrap_or_default()}>{ stamp(&e.hlc) }</span>
                    </li>
                }) }
            </ol>
        </section>
    }
}
