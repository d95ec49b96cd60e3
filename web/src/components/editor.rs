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
    // A refusal that names a line and column puts the cursor there.
    {
        let area = area.clone();
        use_effect_with(props.error.clone(), move |error| {
            if let (Some(el), Some((line, column))) =
                (area.cast::<HtmlTextAreaElement>(), error.as_deref().and_then(position))
            {
                let at = offset(&el.value(), line, column);
                let _ = el.focus();
                let _ = el.set_selection_range(at, at);
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
                if e.contains("expected `,`") {
                    <p class="hint">{ "The parser notices a missing comma where the next item starts: look at the end of the line before." }</p>
                }
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

/// The line and column (1-based) a parse error names ("... at line 6 column 3").
fn position(error: &str) -> Option<(u32, u32)> {
    let rest = &error[error.find("line ")? + 5..];
    let line: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let rest = &rest[rest.find("column ")? + 7..];
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.parse().ok()?, column.parse().ok()?))
}

/// The UTF-16 offset (what a textarea's selection counts) of `line`:`column` in `text`,
/// where the column counts characters; past the end, the end.
fn offset(text: &str, line: u32, column: u32) -> u32 {
    let mut at = 0u32;
    for (i, l) in text.split('\n').enumerate() {
        if i + 1 == line as usize {
            let col: u32 =
                l.chars().take(column.saturating_sub(1) as usize).map(|c| c.len_utf16() as u32).sum();
            return at + col;
        }
        at += l.chars().map(|c| c.len_utf16() as u32).sum::<u32>() + 1;
    }
    at.saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn the_cursor_goes_to_the_line_and_column_the_error_names() {
        assert_eq!(position("expected `,` or `}` at line 6 column 3"), Some((6, 3)));
        assert_eq!(position("nodes: 0 is outside the allowed range"), None);
        let text = "{\n  \"a\": 1\n  \"b\": 2\n}";
        assert_eq!(offset(text, 1, 1), 0);
        assert_eq!(offset(text, 3, 3), 13);
        assert_eq!(&text[13..16], "\"b\"");
        assert_eq!(offset("é\nx", 2, 1), 2, "counted in UTF-16 units");
        assert_eq!(offset("ab", 9, 1), 2, "past the end: the end");
    }
}
