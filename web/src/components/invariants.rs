//! The invariant monitor: all clear, or the violated invariant with its replay command.

use std::rc::Rc;

use void_core::sim::Fault;
use yew::prelude::*;

use crate::format;
use crate::model::Snapshot;

#[derive(Properties, PartialEq)]
pub struct InvariantsProps {
    pub view: Rc<Snapshot>,
}

#[function_component(Invariants)]
pub fn invariants(props: &InvariantsProps) -> Html {
    let view = &props.view;
    let status = match &view.violation {
        Some(v) => html! {
            <div class="violation" data-testid="violation" role="alert">
                <p class="violation-title">{ format!("✗ {} violated", v.invariant) }</p>
                <p>{ format!("at event #{} (marked in red below), t={}", v.step, format::ms(v.time)) }</p>
                <p class="hint">{ "The run stops at the first violation, once the step that caused it is over." }</p>
                <p class="violation-message">{ v.message.clone() }</p>
                <p class="replay-label">{ "replay:" }</p>
                // Lines break between arguments only, never inside `--seed`.
                <code class="replay" data-testid="replay">
                    { for view.replay_command().split(' ').enumerate().map(|(i, word)| html! {
                        <>{ if i > 0 { " " } else { "" } }<span class="arg">{ word.to_owned() }</span></>
                    }) }
                </code>
                if !view.faults.is_empty() {
                    <p class="hint">{ "with the faults added here: use the share link" }</p>
                }
            </div>
        },
        None => html! {
            <p class="ok" data-testid="invariants-ok">
                { "✓ no invariant violated" }
                <span class="hint">{ if view.finished { " — run complete" } else { " — checked at every event" } }</span>
            </p>
        },
    };
    html! {
        <section class="panel invariants" aria-label="invariants">
            <h2>{ "Invariants" }</h2>
            { status }
            if let Some((faulty, n, f)) = beyond_f(view) {
                <p class="beyond-f" data-testid="beyond-f" role="status">
                    { format!("⚠ {faulty} of {n} replicas are crashed or Byzantine, more than f = {f}: \
                        PBFT promises nothing now — requests may stall, and with Byzantine replicas \
                        correct ones may commit different batches.") }
                </p>
            }
            if !view.faults.is_empty() {
                <h3>{ "Faults added" }</h3>
                <ul class="fault-list" data-testid="faults">
                    { for view.faults.iter().map(|f| html! { <li>{ describe(f) }</li> }) }
                </ul>
            }
        </section>
    }
}

fn describe(f: &Fault) -> String {
    format!("t={}: {}", format::ms(f.at_us()), format::fault(f))
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
