//! The timeline under the space-time diagram: the scrubber over the events seen so far,
//! the metrics drawer's switch, and the trace's downloads and import.

use std::rc::Rc;

use gloo_timers::callback::Interval;
use web_sys::{HtmlAnchorElement, HtmlInputElement};
use yew::prelude::*;

use crate::format;
use crate::model::{Action, Export, Imported, MAX_IMPORT_BYTES, Snapshot, Target};

/// One seek slice per frame (about 60 a second).
const SLICE_MS: u32 = 16;

/// The moments picker's value that goes on to the next protocol milestone.
const NEXT_MILESTONE: &str = "next";

#[derive(Properties, PartialEq)]
pub struct TimelineProps {
    pub view: Rc<Snapshot>,
    /// The scrubber's end: the furthest event of this branch of the run.
    pub high_water: u64,
    pub seeking: Option<Target>,
    pub metrics_open: bool,
    /// The scenario's scheduled faults and heals (virtual µs, what), offered to jump to.
    pub moments: Rc<[(u64, String)]>,
    pub imported: Option<Rc<Imported>>,
    pub dispatch: Callback<Action>,
    /// The run's trace in a download format.
    pub export: Callback<Export, String>,
}

/// Points `link` at a fresh download of `text` (the previous one is released).
pub(crate) fn offer_download(link: &HtmlAnchorElement, text: &str, mime: &str) -> Result<(), String> {
    let old = link.href();
    if old.starts_with("blob:") {
        let _ = web_sys::Url::revoke_object_url(&old);
    }
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(|e| format!("the browser refused to make the file: {}", format::js_error(&e)))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)
        .map_err(|e| format!("the browser refused a link to the file: {}", format::js_error(&e)))?;
    link.set_href(&url);
    Ok(())
}

#[function_component(Timeline)]
pub fn timeline(props: &TimelineProps) -> Html {
    let view = &props.view;
    // Long seeks go on one slice per frame until they arrive.
    {
        let dispatch = props.dispatch.clone();
        use_effect_with(props.seeking.is_some(), move |seeking| {
            let interval = seeking.then(|| Interval::new(SLICE_MS, move || dispatch.emit(Action::SeekSlice)));
            move || drop(interval)
        });
    }
    let on_scrub = {
        let dispatch = props.dispatch.clone();
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            if let Ok(at) = input.value().parse::<u64>() {
                dispatch.emit(Action::Seek(at));
            }
        })
    };
    let jsonl_link = use_node_ref();
    let shiviz_link = use_node_ref();
    let download = |format: Export, name: String, mime: &'static str, link: NodeRef| {
        let export = props.export.clone();
        let dispatch = props.dispatch.clone();
        Callback::from(move |e: MouseEvent| {
            // The link's own click downloads; its address is filled in just before.
            let Some(link) = link.cast::<HtmlAnchorElement>() else {
                return;
            };
            link.set_download(&name);
            if let Err(why) = offer_download(&link, &export.emit(format), mime) {
                e.prevent_default();
                dispatch.emit(Action::Fail(why));
            }
        })
    };
    let stem = format!("{}-seed{}-at{}", view.scenario, view.seed, view.events);
    let on_import = {
        let dispatch = props.dispatch.clone();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let Some(list) = input.files() else { return };
            let files: Vec<web_sys::File> = (0..list.length()).filter_map(|i| list.get(i)).collect();
            // Choosing the same file again must fire `change` again.
            input.set_value("");
            if files.is_empty() {
                return;
            }
            let dispatch = dispatch.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let mut read = Vec::with_capacity(files.len());
                for file in files {
                    let name = file.name();
                    // Checked before reading: the text of a huge file is never made.
                    if file.size() > MAX_IMPORT_BYTES as f64 {
                        let size = file.size();
                        dispatch.emit(Action::Fail(format!(
                            "{name}: {size} bytes, more than the {MAX_IMPORT_BYTES} read"
                        )));
                        return;
                    }
                    match wasm_bindgen_futures::JsFuture::from(file.text()).await {
                        Ok(text) => match text.as_string() {
                            Some(text) => read.push((name, Rc::from(text))),
                            None => return dispatch.emit(Action::Fail(format!("{name} is not text"))),
                        },
                        Err(e) => {
                            return dispatch
                                .emit(Action::Fail(format!("cannot read {name}: {}", format::js_error(&e))));
                        }
                    }
                }
                dispatch.emit(Action::ImportFiles(read));
            });
        })
    };
    let on_moment = {
        let dispatch = props.dispatch.clone();
        Callback::from(move |e: Event| {
            let select: web_sys::HtmlSelectElement = e.target_unchecked_into();
            match select.value().as_str() {
                NEXT_MILESTONE => dispatch.emit(Action::NextMilestone),
                value => {
                    if let Ok(us) = value.parse::<u64>() {
                        dispatch.emit(Action::SeekTime(us));
                    }
                }
            }
            // Back to the prompt, so the same moment can be chosen again, and the keys
            // back to the page (space plays, → steps).
            select.set_value("");
            let _ = select.blur();
        })
    };
    let toggle_metrics = {
        let dispatch = props.dispatch.clone();
        Callback::from(move |_: MouseEvent| dispatch.emit(Action::ToggleMetrics))
    };
    // PBFT's view changes and state transfers can be looked for ahead of the run.
    let milestones = view.protocol == "pbft" && view.violation.is_none() && !view.finished;
    let seeking = match props.seeking {
        Some(Target::Event(k)) => Some(format!("going to event {k}…")),
        Some(_) => Some(String::from("simulating again from the seed…")),
        None => None,
    };
    let max = props.high_water.max(view.events);
    html! {
        <>
            <div class="timeline">
                <label class="scrub" title="drag to any event seen: the run is simulated again from the seed">
                    <span class="field-label">{ "timeline" }</span>
                    <input data-testid="scrubber" type="range" min="0" max={max.to_string()} step="1"
                        value={view.events.to_string()} oninput={on_scrub} aria-label="go to event"
                        aria-valuetext={format!("event {} of {max}", view.events)} />
                    <span class="scrub-pos mono">{ format!("{}/{max}", view.events) }</span>
                </label>
                if !props.moments.is_empty() || milestones {
                    <select class="moments" data-testid="moments" onchange={on_moment}
                        title="go to a fault or heal the scenario schedules (simulated again from the seed), or on to the protocol's next view change or state transfer"
                        aria-label="jump to a scheduled moment">
                        <option value="" selected=true>{ "jump to…" }</option>
                        if milestones {
                            <option value={NEXT_MILESTONE} data-testid="next-milestone">{ "▸ next view change, state transfer or fault" }</option>
                        }
                        { for props.moments.iter().map(|(us, what)| html! {
                            <option value={us.to_string()}>{ format!("t={}: {what}", format::ms(*us)) }</option>
                        }) }
                    </select>
                }
                if let Some(note) = seeking {
                    <span class="seeking" data-testid="seeking">{ note }</span>
                }
                <div class="trace-io">
                    <button data-testid="metrics-toggle" class={classes!(props.metrics_open.then_some("on"))}
                        onclick={toggle_metrics} aria-pressed={props.metrics_open.to_string()}
                        title="plots of this run so far">{ "metrics" }</button>
                    <a data-testid="export-jsonl" class="button" href="#" role="button" ref={jsonl_link.clone()}
                        onclick={download(Export::TraceJsonl, format!("{stem}.jsonl"), "application/x-ndjson", jsonl_link)}
                        title="the trace as JSON lines, as `void sim --dump-trace` writes it">{ "⤓ trace" }</a>
                    <a data-testid="export-shiviz" class="button" href="#" role="button" ref={shiviz_link.clone()}
                        onclick={download(Export::ShiViz, format!("{stem}.shiviz.log"), "text/plain", shiviz_link)}
                        title="the trace with vector clocks, for ShiViz">{ "⤓ ShiViz" }</a>
                    <label class="button" title="check a simulator trace (`void sim --dump-trace`) against this run, or replay native nodes' traces (`void node --trace`, several files at once)">
                        { "import…" }
                        <input data-testid="import" type="file" multiple=true accept=".jsonl,.json,.ndjson,text/plain"
                            class="visually-hidden" onchange={on_import} />
                    </label>
                </div>
            </div>
            if let Some(imported) = &props.imported {
                <ImportReport imported={imported.clone()} run_events={view.events} dispatch={props.dispatch.clone()} />
            }
        </>
    }
}

#[derive(Properties, PartialEq)]
struct ImportReportProps {
    imported: Rc<Imported>,
    run_events: u64,
    dispatch: Callback<Action>,
}

#[function_component(ImportReport)]
fn import_report(props: &ImportReportProps) -> Html {
    let i = &props.imported;
    let go = {
        let dispatch = props.dispatch.clone();
        let end = i.events;
        Callback::from(move |_: MouseEvent| dispatch.emit(Action::Seek(end)))
    };
    let close = {
        let dispatch = props.dispatch.clone();
        Callback::from(move |_: MouseEvent| dispatch.emit(Action::CloseImport))
    };
    let (class, verdict) = if i.agree < i.compared {
        ("differs", format!("differs from this run at event {}", i.agree))
    } else if i.matches() {
        ("same", format!("every event is this run's ({} compared)", i.compared))
    } else {
        ("partial", format!("the first {} events are this run's; the run has not reached the rest", i.agree))
    };
    let hash = i.hash.clone().unwrap_or_default();
    html! {
        <div class={classes!("import-report", class)} data-testid="import-report"
            data-events={i.events.to_string()} data-hash={hash.clone()} data-agree={i.agree.to_string()}>
            <span>{ format!("{}: {} events", i.name, i.events) }</span>
            if !hash.is_empty() {
                <span>{ "trace " }<code class="mono" title={hash.clone()}>{ hash.get(..12).unwrap_or(&hash) }</code></span>
            }
            <strong>{ verdict }</strong>
            if !i.matches() && i.agree == i.compared && props.run_events < i.events {
                <button onclick={go}>{ format!("go to event {}", i.events) }</button>
            }
            <button onclick={close} aria-label="close">{ "✕" }</button>
        </div>
    }
}
