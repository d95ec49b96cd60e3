//! "What just happened": the latest event's one-line explanation, then the few before it.

use std::rc::Rc;

use yew::prelude::*;

use crate::format;
use crate::model::Snapshot;

/// Earlier events listed under the headline (a few show; the list scrolls back to the rest).
const LISTED: usize = 60;

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
    // The event at which an invariant failed.
    let marked = view.violation.as_ref().map(format::violation_events).unwrap_or_default();
    let violating = |index: u64| marked.contains(&index).then_some("violation");
    let text = format::event_text(latest);
    html! {
        <section class="events" aria-live="polite">
            <p class={classes!("headline", format!("cat-{}", latest.category), violating(latest.index))}
                data-testid="what-happened" data-index={latest.index.to_string()}
                title={text.clone()}>
                <span class="ev-index">{ format!("#{}", latest.index) }</span>
                <span class="ev-time">{ format!("t={}", format::ms(latest.time)) }</span>
                <span class={classes!("ev-node")}>{ format::event_node(latest) }</span>
                <span class={classes!("ev-text", latest.rejected.is_some().then_some("rejected"))}>{ text.clone() }</span>
                if let Some(note) = rejection_note(&text, latest.rejected.as_deref()) {
                    <span class="ev-rejected">{ note }</span>
                }
                <span class="ev-hlc" title={latest.hlc.as_deref().map(format::hlc_long).unwrap_or_default()}>{ stamp(&latest.hlc) }</span>
            </p>
            <ol class="event-list" data-testid="event-list">
                { for view.recent.iter().rev().skip(1).take(LISTED).map(|e| html! {
                    <li class={classes!(format!("cat-{}", e.category), violating(e.index))}
                        data-index={e.index.to_string()}>
                        <span class="ev-index">{ format!("#{}", e.index) }</span>
                        <span class="ev-time">{ format::ms(e.time) }</span>
                        <span class="ev-node">{ format::event_node(e) }</span>
                        <span class="ev-text">{ format::event_text(e) }</span>
                        <span class="ev-hlc" title={e.hlc.as_deref().map(format::hlc_long).unwrap_or_default()}>{ stamp(&e.hlc) }</span>
                    </li>
                }) }
            </ol>
        </section>
    }
}

/// Why a rejected message was refused, when the event's own sentence does not already say it.
fn rejection_note(text: &str, reason: Option<&str>) -> Option<String> {
    reason.filter(|r| !text.contains(r)).map(|r| format!("rejected: {r}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn a_rejection_reason_is_said_once() {
        let reason = "bad MAC";
        assert_eq!(rejection_note("node 2 rejects Prepare from node 0: bad MAC", Some(reason)), None);
        assert_eq!(rejection_note("node 2 rejects Prepare", Some(reason)), Some("rejected: bad MAC".into()));
        assert_eq!(rejection_note("node 2 receives Prepare", None), None);
    }
}
