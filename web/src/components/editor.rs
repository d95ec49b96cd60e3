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
    /// What the parameters plan besides `faults` ([`crate::model::Run::planned`]).
    #[prop_or_default]
    pub planned: Rc<[String]>,
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
    // A refusal that names a line and column, or a field, selects the line it is on.
    {
        let area = area.clone();
        use_effect_with(props.error.clone(), move |error| {
            if let (Some(el), Some(error)) = (area.cast::<HtmlTextAreaElement>(), error.as_deref()) {
                let text = el.value();
                let line =
                    position(error).map(|(line, _)| line).or_else(|| path_line(&text, field_path(error)?));
                if let Some(line) = line {
                    let (start, end) = line_span(&text, line);
                    let _ = el.focus();
                    let _ = el.set_selection_range(start, end);
                }
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
            if !props.planned.is_empty() {
                <p class="hint" data-testid="scenario-planned">
                    { format!("Planned by params, not listed under faults: {}.", props.planned.join("; ")) }
                </p>
            }
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

/// The field path a refusal names ("scenario field `network.loss`: ...").
fn field_path(error: &str) -> Option<&str> {
    let rest = &error[error.find("field `")? + 7..];
    Some(&rest[..rest.find('`')?])
}

/// The line (1-based) on which the last key of `path` is written in `text`. Each key is
/// looked for after the one before it, and after `key[i]` the next key's (i + 1)-th
/// occurrence is taken (the i-th element of an array of objects); a heuristic over the
/// text, good for the pretty JSON the editor starts from.
fn path_line(text: &str, path: &str) -> Option<u32> {
    let mut at = 0usize;
    let mut skip = 0usize;
    for part in path.split('.') {
        let (key, index) = match part.split_once('[') {
            Some((key, rest)) => (key, rest.split(']').next()?.parse::<usize>().ok()),
            None => (part, None),
        };
        if !key.is_empty() {
            let quoted = format!("\"{key}\"");
            for _ in 0..=skip {
                at += text.get(at..)?.find(&quoted)? + quoted.len();
            }
        }
        skip = index.unwrap_or(0);
    }
    (at > 0).then(|| text[..at].matches('\n').count() as u32 + 1)
}

/// The UTF-16 offsets (what a textarea's selection counts) of the start and end of `line`
/// (1-based) in `text`; past the end, the end.
fn line_span(text: &str, line: u32) -> (u32, u32) {
    let utf16 = |s: &str| s.chars().map(|c| c.len_utf16() as u32).sum::<u32>();
    let mut at = 0u32;
    for (i, l) in text.split('\n').enumerate() {
        if i + 1 == line as usize {
            return (at, at + utf16(l));
        }
        at += utf16(l) + 1;
    }
    let end = at.saturating_sub(1);
    (end, end)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn the_line_an_error_names_is_selected() {
        assert_eq!(position("expected `,` or `}` at line 6 column 3"), Some((6, 3)));
        assert_eq!(position("nodes: 0 is outside the allowed range"), None);
        let text = "{\n  \"a\": 1\n  \"b\": 2\n}";
        assert_eq!(line_span(text, 1), (0, 1));
        assert_eq!(line_span(text, 3), (11, 19));
        assert_eq!(&text[11..19], "  \"b\": 2");
        assert_eq!(line_span("é\nx", 2), (2, 3), "counted in UTF-16 units");
        assert_eq!(line_span("ab", 9), (2, 2), "past the end: the end");
    }

    #[test]
    fn a_field_path_leads_to_the_line_of_its_last_key() {
        let text = "{\n  \"nodes\": 4,\n  \"network\": {\n    \"loss\": 1.5\n  },\n  \"faults\": [\n    \
            { \"at_ms\": 1, \"node\": 0 },\n    { \"at_ms\": 2, \"node\": 9 }\n  ],\n  \"loss\": 0\n}";
        let err = "scenario field `network.loss`: 1.5 is outside 0 to 1";
        assert_eq!(field_path(err), Some("network.loss"));
        assert_eq!(path_line(text, "network.loss"), Some(4), "the loss under network, not the later one");
        assert_eq!(path_line(text, "faults[1].node"), Some(8), "the second fault's node");
        assert_eq!(path_line(text, "faults[0].node"), Some(7));
        assert_eq!(path_line(text, "nodes"), Some(2));
        assert_eq!(path_line(text, "params.clients"), None, "not written: nothing selected");
        assert_eq!(field_path("at line 3 column 1"), None);
    }
}
