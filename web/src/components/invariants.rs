//! The invariant monitor: all clear, or the violated invariant with its replay command.

use std::rc::Rc;

use void_core::check::InvariantInfo;
use void_core::sim::Fault;
use yew::prelude::*;

use crate::format;
use crate::model::{Action, Ahead, Export, Snapshot};

#[derive(Properties, PartialEq)]
pub struct InvariantsProps {
    pub view: Rc<Snapshot>,
    /// A violation this run reached later than the moment shown.
    #[prop_or_default]
    pub ahead: Option<Ahead>,
    pub dispatch: Callback<Action>,
    /// Copy the link to the moment shown (the top bar's share).
    pub on_share: Callback<()>,
    /// The run in a download format (here: the scenario with the faults added in the page).
    pub export: Callback<Export, String>,
}

#[function_component(Invariants)]
pub fn invariants(props: &InvariantsProps) -> Html {
    let view = &props.view;
    let share = props.on_share.reform(|_: MouseEvent| ());
    let scenario_link = use_node_ref();
    let scenario_file = format!("{}-with-faults.json", crate::model::safe_name(&view.scenario, "scenario"));
    let save_scenario = {
        let (export, dispatch, link, name) =
            (props.export.clone(), props.dispatch.clone(), scenario_link.clone(), scenario_file.clone());
        Callback::from(move |e: MouseEvent| {
            let Some(link) = link.cast::<web_sys::HtmlAnchorElement>() else { return };
            link.set_download(&name);
            let text = export.emit(Export::Scenario);
            if let Err(why) = super::timeline::offer_download(&link, &text, "application/json") {
                e.prevent_default();
                dispatch.emit(Action::Fail(why));
            }
        })
    };
    let ahead = props.ahead.as_ref().filter(|a| view.violation.is_none() && a.events > view.events);
    let status = match (&view.violation, ahead) {
        (Some(v), _) => html! {
            <div class="violation" data-testid="violation" role="alert">
                <p class="violation-title">{ format!("✗ {} violated", v.invariant) }</p>
                if v.step >= view.events {
                    // Liveness and its kind are judged once the run is over, not at an event.
                    <p>{ format!("at the end of the run, t={}, after its last event (#{})", format::ms(v.time), view.events.saturating_sub(1)) }</p>
                    <p class="hint">{ "Judged when the run was over, from everything that had happened by then." }</p>
                } else {
                    <p>{ format!("at event #{} (marked in red below), t={}", v.step, format::ms(v.time)) }</p>
                    <p class="hint">{ "The run stops at the first violation, once the step that caused it is over." }</p>
                }
                <p class="violation-message">{ v.message.clone() }</p>
                <p class="replay-label">{ "replay:" }</p>
                // Lines break between arguments only, never inside `--seed`.
                <code class="replay" data-testid="replay">
                    { for view.replay_command().split(' ').enumerate().map(|(i, word)| html! {
                        <>{ if i > 0 { " " } else { "" } }<span class="arg">{ word.to_owned() }</span></>
                    }) }
                </code>
                <p class="violation-actions">
                    <button data-testid="violation-link" onclick={share}
                        title="copy a link that opens this run at this moment, faults included">
                        { "copy link to this violation" }</button>
                    if !view.faults.is_empty() {
                        <a data-testid="export-scenario" class="button" href="#" role="button" ref={scenario_link.clone()}
                            onclick={save_scenario}
                            title="the scenario with the faults added here, as a file for void sim">{ "⤓ scenario with these faults" }</a>
                        <span class="hint">{ format!(" the command above runs without the faults added here; \
                            with them: void sim {scenario_file} --seed {}", view.seed) }</span>
                    }
                </p>
            </div>
        },
        (None, Some(a)) => {
            let events = a.events;
            let go = props.dispatch.reform(move |_: MouseEvent| Action::Seek(events));
            html! {
                <div class="violation-ahead" data-testid="violation-ahead" role="status">
                    <p>{ format!("✗ {} is violated later in this run, at event #{}", a.invariant, a.step) }</p>
                    <button data-testid="go-violation" onclick={go}>{ "go to the violation" }</button>
                </div>
            }
        }
        (None, None) => html! {
            <p class="ok" data-testid="invariants-ok">
                { "✓ no invariant violated" }
                <span class="hint">{
                    if view.finished {
                        " — run complete"
                    } else if view.invariants.iter().any(|i| i.at_end) {
                        " so far (… = judged at the end)"
                    } else {
                        " — checked at every event"
                    }
                }</span>
            </p>
        },
    };
    html! {
        <section class="panel invariants" aria-label="invariants">
            <h2>{ "Invariants" }</h2>
            { status }
            // Before the list: on a short screen it must not scroll out of sight.
            if let Some((faulty, n, f)) = beyond_f(view) {
                <p class="beyond-f" data-testid="beyond-f" role="status">
                    { format!("⚠ {faulty} of {n} replicas are crashed or Byzantine, more than f = {f}: \
                        PBFT promises nothing now — requests may stall, and with Byzantine replicas \
                        correct ones may commit different batches.") }
                </p>
            }
            if let Some((count, since)) = stalled(view) {
                <p class="stalled" data-testid="stalled" role="status">
                    { format!("⏳ {count} client request{} waiting, the oldest for {}: no result yet", if count == 1 { "" } else { "s" }, format::ms(since)) }
                </p>
            }
            { checked(view, ahead) }
            if !view.faults.is_empty() {
                <h3>{ "Faults added" }</h3>
                <ul class="fault-list" data-testid="faults">
                    { for view.faults.iter().map(|f| html! { <li>{ describe(f) }</li> }) }
                </ul>
            }
        </section>
    }
}

/// Each invariant the run checks, marked by where it stands at the moment shown, and what
/// each one promises (folded away: the names are what a class follows along).
fn checked(view: &Snapshot, ahead: Option<&Ahead>) -> Html {
    if view.invariants.is_empty() {
        return Html::default();
    }
    let violated = view.violation.as_ref().map(|v| v.invariant.as_str());
    let later = ahead.map(|a| &*a.invariant);
    // The end-of-run checks run in list order and stop at the first failure: those before
    // it were judged and held.
    let end_failure = view
        .violation
        .as_ref()
        .filter(|v| v.step >= view.events)
        .and_then(|v| view.invariants.iter().position(|i| i.name == v.invariant));
    let item = |(i, &InvariantInfo { name, about, at_end }): (usize, &InvariantInfo)| {
        let (mark, status, stands) = if violated == Some(name) {
            ("✗", "violated", "violated here")
        } else if later == Some(name) {
            ("✗", "later", "violated later in this run")
        } else if end_failure.is_some_and(|failed| i < failed) {
            ("✓", "holds", if at_end { "held at the end of the run" } else { "held" })
        } else if let Some(v) = view.violation.as_ref().filter(|_| at_end) {
            let why = if v.step >= view.events {
                "not judged: another end-of-run check failed first"
            } else {
                "not judged: the run stopped at the violation, before its end"
            };
            ("…", "pending", why)
        } else if at_end && !view.finished {
            ("…", "pending", "judged when the run is over")
        } else {
            ("✓", "holds", if at_end { "held at the end of the run" } else { "holds so far" })
        };
        let title = format!("{name}: {stands}. It promises that {about}.");
        html! {
            <li class={status} data-invariant={name} data-status={status} {title}>
                <span class="mark" aria-hidden="true">{ mark }</span>{ name }
            </li>
        }
    };
    html! {
        <>
            <ul class="invariant-list" data-testid="invariant-list" aria-label="invariants checked">
                { for view.invariants.iter().enumerate().map(item) }
            </ul>
            <details class="invariant-about">
                <summary>{ "what each one promises" }</summary>
                <dl>
                    { for view.invariants.iter().map(|i| html! {
                        <><dt>{ i.name }</dt><dd>{ i.about }{ if i.at_end { " (judged at the end of the run)" } else { "" } }</dd></>
                    }) }
                </dl>
            </details>
        </>
    }
}

fn describe(f: &Fault) -> String {
    format!("t={}: {}{}", format::ms(f.at_us()), format::fault(f), format::fault_until(f))
}

/// How long a request may wait before the panel says the cluster is not answering it.
const STALL_US: u64 = 250_000;

/// PBFT requests waiting longer than [`STALL_US`]: how many, and for how long the oldest.
fn stalled(view: &Snapshot) -> Option<(usize, u64)> {
    let (count, oldest) = view.waiting?;
    let waited = view.now_us.saturating_sub(oldest);
    (waited >= STALL_US && !view.finished).then_some((count, waited))
}

/// PBFT with more faulty replicas than n = 3f + 1 tolerates: (faulty, n, f).
fn beyond_f(view: &Snapshot) -> Option<(usize, usize, usize)> {
    if view.protocol != "pbft" {
        return None;
    }
    let replicas = view.nodes.iter().filter(|n| n.role != "client");
    let (n, faulty): (usize, usize) = replicas.fold((0, 0), |(n, faulty), r| {
        (n + 1, faulty + usize::from(r.state == "crashed" || r.state == "byzantine"))
    });
    let f = n.saturating_sub(1) / 3;
    (faulty > f).then_some((faulty, n, f))
}
