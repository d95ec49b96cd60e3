//! Where in a JSON document a parse error happened, as a field path (`faults[0].at_ms`).
//!
//! Errors from `serde_json` carry a line and column; walking the text up to that point
//! gives the path. One small text scanner replaces a path-tracking wrapper around every
//! deserializer and visitor, whose copies per type were a large part of the browser bundle.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde::de::DeserializeOwned;

/// A parse error: the field path (`.` for the top level) and the message without position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathError {
    pub path: String,
    pub message: String,
    /// Where parsing stopped (1-based; 0 when the error has no position).
    pub line: usize,
    pub column: usize,
}

impl PathError {
    /// The message as serde_json prints it, with the position.
    pub fn message_at(&self) -> String {
        if self.line == 0 {
            self.message.clone()
        } else {
            alloc::format!("{} at line {} column {}", self.message, self.line, self.column)
        }
    }
}

/// Parses `text` into `T`; on failure names the field where parsing stopped.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, PathError> {
    serde_json::from_str(text).map_err(|e| describe(text, &e))
}

/// The path and bare message of `err`, an error from parsing `text`.
pub fn describe(text: &str, err: &serde_json::Error) -> PathError {
    let full = err.to_string();
    let suffix = alloc::format!(" at line {} column {}", err.line(), err.column());
    let message = plain_types(full.strip_suffix(suffix.as_str()).unwrap_or(&full));
    let path =
        if err.line() == 0 { String::from(".") } else { path_at(text, err.line(), err.column(), &message) };
    PathError { path, message, line: err.line(), column: err.column() }
}

/// serde names Rust types ("expected u64"); people reading a scenario want the kind of value.
fn plain_types(message: &str) -> String {
    const KINDS: [(&str, &str); 9] = [
        ("u8", "a whole number from 0 to 255"),
        ("u16", "a whole number from 0 to 65535"),
        ("u32", "a whole number from 0 to 4294967295"),
        ("u64", "a whole number of 0 or more"),
        ("usize", "a whole number of 0 or more"),
        ("i32", "a whole number"),
        ("i64", "a whole number"),
        ("f32", "a number"),
        ("f64", "a number"),
    ];
    for (rust, kind) in KINDS {
        if let Some(head) = message.strip_suffix(rust).and_then(|h| h.strip_suffix("expected ")) {
            return alloc::format!("{head}expected {kind}");
        }
    }
    String::from(message)
}

enum Frame {
    /// The key being read or whose value is being read; `value` once past the colon.
    Object {
        key: Option<String>,
        value: bool,
    },
    Array {
        index: usize,
    },
}

/// The path of the value being read when `line`:`column` (as serde_json reports them: the
/// column of the last byte read) was reached, for an error that says `message`.
pub fn path_at(text: &str, line: usize, column: usize, message: &str) -> String {
    // A structure's own error (a missing field) is raised after its closing brace, or
    // after its parent's when it was read ahead (an internally tagged enum); a value's is
    // raised after the value, which may have been followed by its parent's closing brace.
    let closer_ends_value = !message.starts_with("missing field");
    // An unknown field is named with its object; an unknown variant names the enum.
    let key_is_field = !message.starts_with("unknown variant");
    let bytes = text.as_bytes();
    let line_start = if line <= 1 {
        0
    } else {
        bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(line - 2)
            .map_or(bytes.len(), |(i, _)| i + 1)
    };
    let mut end = (line_start + column).min(bytes.len());
    let last = bytes[..end].iter().rposition(|b| !b.is_ascii_whitespace());
    if closer_ends_value {
        // An array's end reads the comma after an element whose check failed.
        if let Some(at) = last.filter(|&at| matches!(bytes[at], b'}' | b']' | b',')) {
            end = at;
        }
    } else if let Some(at) = last.filter(|&at| bytes[at] == b']') {
        // Only brackets and whitespace can follow the object: walk back to its brace.
        let before = bytes[..at].iter().rposition(|b| !b.is_ascii_whitespace() && *b != b']');
        if let Some(brace) = before.filter(|&i| bytes[i] == b'}') {
            end = brace + 1;
        }
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < end {
        match bytes[i] {
            b'{' => stack.push(Frame::Object { key: None, value: false }),
            b'[' => stack.push(Frame::Array { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            b':' => {
                if let Some(Frame::Object { value, .. }) = stack.last_mut() {
                    *value = true;
                }
            }
            b',' => match stack.last_mut() {
                Some(Frame::Object { key, value }) => {
                    *key = None;
                    *value = false;
                }
                Some(Frame::Array { index }) => *index += 1,
                None => {}
            },
            b'"' => {
                let start = i + 1;
                i = start;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if let Some(Frame::Object { key, value: false }) = stack.last_mut() {
                    *key = Some(unescape(&text[start..i.min(bytes.len())]));
                }
            }
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for frame in &stack {
        match frame {
            Frame::Object { key: Some(k), value } if *value || key_is_field => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
            }
            Frame::Object { .. } => {}
            Frame::Array { index } => {
                path.push('[');
                path.push_str(&index.to_string());
                path.push(']');
            }
        }
    }
    if path.is_empty() { String::from(".") } else { path }
}

/// A key's text with the common escapes undone (keys are names; others stay as written).
fn unescape(raw: &str) -> String {
    if !raw.contains('\\') {
        return raw.to_string();
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Scenario;

    /// The path the path-tracking deserializer names for the same error.
    fn reference_path(text: &str) -> String {
        let mut de = serde_json::Deserializer::from_str(text);
        match serde_path_to_error::deserialize::<_, Scenario>(&mut de) {
            Ok(_) => String::from("(parsed)"),
            Err(e) => e.path().to_string(),
        }
    }

    #[test]
    fn paths_match_a_path_tracking_deserializer() {
        let head = r#""name":"t","protocol":"p","#;
        let cases = [
            r#"{"name":"t","protocol":"p","nodes":"many","duration_ms":1}"#.to_string(),
            r#"{"name":"t","protocol":"p","nodes":2}"#.to_string(),
            alloc::format!(r#"{{{head}"nodes":2,"duration_ms":1,"network":{{"lossy":1}}}}"#),
            alloc::format!(r#"{{{head}"nodes":2,"duration_ms":1,"network":{{"loss":1.5}}}}"#),
            alloc::format!(r#"{{{head}"nodes":2,"duration_ms":1,"network":{{"loss":"x"}}}}"#),
            alloc::format!(r#"{{{head}"nodes":2,"duration_ms":1,"bogus":1}}"#),
            alloc::format!(r#"{{{head}"nodes":2,"duration_ms":-1}}"#),
            alloc::format!(r#"{{{head}"nodes":2,"duration_ms":1,"clocks":[{{"node":1}},{{"node":"x"}}]}}"#),
            alloc::format!(r#"{{{head}"nodes":2,"duration_ms":1,"clocks":[{{"node":1}},{{"nod":1}}]}}"#),
            alloc::format!(r#"{{{head}"nodes":2,"duration_ms":1,"clocks":[{{"node":1}},{{}}]}}"#),
            alloc::format!(
                r#"{{{head}"nodes":2,"duration_ms":1,"faults":[{{"kind":"crash","at_ms":1,"node":1}},{{"kind":"explode","at_ms":1}}]}}"#
            ),
            alloc::format!(
                r#"{{{head}"nodes":2,"duration_ms":1,"faults":[{{"kind":"crash","at_ms":"soon","node":1}}]}}"#
            ),
            alloc::format!(r#"{{{head}"nodes":2,"duration_ms":1,"faults":{{}}}}"#),
            alloc::format!(r#"{{{head}"nodes":2,"duration_ms":1,"invariants":["a",3]}}"#),
            "{\n  \"name\": \"t\",\n  \"protocol\": \"p\",\n  \"nodes\": 2,\n  \"duration_ms\": 1,\n  \"network\": {\n    \"loss\": [1]\n  }\n}"
                .to_string(),
            "{\n  \"name\": \"t\",\n  \"protocol\": \"p\",\n  \"nodes\": 2,\n  \"duration_ms\": true\n}".to_string(),
            alloc::format!(r#"{{{head}"nodes":2,"duration_ms":1,"max_events":{{"a":1}}}}"#),
            alloc::format!(r#"{{{head}"nodes":0,"duration_ms":1}}"#),
            alloc::format!(r#"{{{head}"nodes":2,"duration_ms":1,"network":{{"loss":1.5, "duplicate":0}}}}"#),
            alloc::format!(r#"{{{head}"nodes":2,"duration_ms":1,"network":{{"duplicate":0, "loss":-1 }} }}"#),
            alloc::format!(r#"{{{head}"nodes":2,"duration_ms":1,"faults":[{{"kind":"crash","at_ms":1}}]}}"#),
            alloc::format!(
                r#"{{{head}"nodes":2,"duration_ms":1,"faults":[{{"kind":"crash","at_ms":"soon","node":1}},{{"kind":"crash","at_ms":1,"node":1}}]}}"#
            ),
            alloc::format!(
                r#"{{{head}"nodes":2,"duration_ms":1,"network":{{"latency":{{"kind":"fixed"}}}}}}"#
            ),
            alloc::format!(
                r#"{{{head}"nodes":2,"duration_ms":1,"network":{{"latency":{{"fixed":{{"us":-4}}}}}}}}"#
            ),
        ];
        for text in &cases {
            let want = reference_path(text);
            let got = match from_str::<Scenario>(text) {
                Ok(_) => String::from("(parsed)"),
                Err(e) => e.path,
            };
            assert_eq!(got, want, "{text}");
        }
    }

    #[test]
    fn messages_lose_the_position_only() {
        let e = from_str::<u32>("\"x\"").unwrap_err();
        assert_eq!(e.message, "invalid type: string \"x\", expected a whole number from 0 to 4294967295");
        let e = from_str::<u64>("-5").unwrap_err();
        assert_eq!(e.message, "invalid value: integer `-5`, expected a whole number of 0 or more");
        assert_eq!(e.path, ".");
    }

    #[test]
    fn escaped_keys_and_nesting() {
        let text = r#"{"a\"b":{"c":[1,2,{"d":x"#;
        assert_eq!(path_at(text, 1, text.len(), "x"), "a\"b.c[2].d");
        let text = r#"{"a":1,"b""#;
        assert_eq!(path_at(text, 1, text.len(), "x"), "b");
        assert_eq!(path_at("[1, {}]", 1, 7, "missing field `a`"), "[1]");
        assert_eq!(path_at("[{}, 2]", 1, 4, "x"), "[0]");
        let text = r#"{"a":{"v""#;
        assert_eq!(path_at(text, 1, text.len(), "unknown variant `v`"), "a");
        assert_eq!(path_at(text, 1, text.len(), "unknown field `v`"), "a.v");
    }
}
