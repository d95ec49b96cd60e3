//! The scenario editor: the current scenario as JSON, editable or replaced by a file, run
//! from the start with the current seed. Refused input is explained under the text, with
//! the field path or the line and column the simulator's parser names.

use std::rc::Rc;

use void_core::sim::MAX_SCENARIO_BYTES;
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::model::Action;

#[derive(Properties, PartialEq)]
pub struct EditorProps {
    /// The current scenario as pretty JSON.
    pub text: Rc<str>,
    pub error: Option<String>,
    pub seed: u64,
    pub dispatch: Callback<Action>,
}

#[function_component(ScenarioEditor)]
pub fn scenario_editor(props: &EditorProps) -> Html {
    let area = use_node_ref();
    // A newly loaded run replaces whatever was typed.
    {
        let area = area.clone();
        use_effect_with(props.text.clone(), move |text| {
            if let Some(el) = area.cast::<HtmlTextAreaElement>() {
                el.set_value(text);
            }
        });
    }
    let run = {
        let (area, dispatch, seed) = (area.clone(), props.dispatch.clone(), props.seed);
        Callback::from(move |_: MouseEvent| {
            if let Some(el) = area.cast::<HtmlTextAreaElement>() {
                dispatch.emit(Action::LoadJson { text: el.value(), seed });
            }
        })
    };
    let reset = {
        let (area, text) = (area.clone(), props.text.clone());
        Callback::from(move |_: MouseEvent| {
            if let Some(el) = area.cast::<HtmlTextAreaElement>() {
                el.set_value(&text);
            }
        })
    };
    let open = {
        let (area, dispatch, seed) = (area.clone(), props.dispatch.clone(), props.seed);
        Callback::from(move |e: Event| {
            let Some(input) = e.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()) else { return };
            let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
            input.set_value("");
            let size = file.size();
            if size > MAX_SCENARIO_BYTES as f64 {
                dispatch.emit(Action::Fail(format!(
                    "{} is {size} bytes; a scenario may have at most {MAX_SCENARIO_BYTES}",
                    file.name()
                )));
                return;
            }
            let (area, dispatch) = (area.clone(), dispatch.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match wasm_bindgen_futures::JsFuture::from(file.text()).await {
                    Ok(value) => {
                        let text = value.as_string().unwrap_or_default();
                        if let Some(el) = area.cast::<HtmlTextAreaElement>() {
                            el.set_value(&text);
                        }
                        dispatch.emit(Action::LoadJson { text, seed });
                    }
                    Err(_) => dispatch.emit(Action::Fail(format!("{} could not be read", file.name()))),
                }
            });
        })
    };
    html! {
        <details class="panel editor" data-testid="scenario-editor">
            <summary><h2>{ "Scenario JSON" }</h2></summary>
            <p class="hint">{ "Edit the scenario (nodes, network, faults, params) and run it from the start, \
                or open a .json file as given to void sim." }</p>
            <textarea ref={area} data-testid="scenario-json" spellcheck="false" rows="14"
                aria-label="scenario JSON" />
            if let Some(e) = &props.error {
                <p class="editor-error" data-testid="scenario-error" role="alert">{ e.clone() }</p>
            }
            <div class="editor-actions">
                <button class="primary" data-testid="run-json" onclick={run}>{ "run this scenario" }</button>
                <button onclick={reset} title="back to the scenario that is running">{ "reset" }</button>
                <label class="file">
                    { "open file…" }
                    <input type="file" accept=".json,application/json" data-testid="scenario-file" onchange={open} />
                </label>
            </div>
        </details>
    }
}
