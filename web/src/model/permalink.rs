//! The URL fragment that reproduces a run: `s=<scenario>&seed=<n>&at=<event>&f=<faults>`,
//! where `f` is the user's added faults as base64url (no padding) of their JSON. A scenario
//! that is not built in travels whole as `j=<base64url of its JSON>`; `s` then only names it.

use super::base64url;
use void_core::sim::Fault;

use super::run::MAX_USER_FAULTS;

/// Longest fragment accepted, checked before decoding anything.
pub const MAX_FRAGMENT_BYTES: usize = 64 * 1024;

#[derive(Clone, Debug, PartialEq)]
pub struct Permalink {
    pub scenario: String,
    pub seed: u64,
    /// Event index to run to; [`AT_END`] (written `end`) runs the whole run, so the checks
    /// only the end of a run decides are decided again.
    pub at: u64,
    pub faults: Vec<Fault>,
    /// The scenario's JSON when it is not a built-in one.
    pub custom: Option<String>,
}

/// `name` reduced to letters, digits, `-`, `_` and `.` (what the `s` field and a file name
/// allow; a custom scenario may be named freely), or `fallback` when nothing is left.
pub(crate) fn safe_name(name: &str, fallback: &str) -> String {
    let cleaned: String = name
        .chars()
        .take(64)
        .map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '-' })
        .collect();
    if cleaned.is_empty() { fallback.into() } else { cleaned }
}

/// [`Permalink::at`] of a run shown at its end.
pub const AT_END: u64 = u64::MAX;

impl Permalink {
    /// The fragment without the leading `#`.
    pub fn encode(&self) -> String {
        let at = if self.at == AT_END { "end".to_owned() } else { self.at.to_string() };
        let mut out = format!("s={}&seed={}&at={at}", safe_name(&self.scenario, "custom"), self.seed);
        if !self.faults.is_empty() {
            // Serialising plain enums of numbers and strings cannot fail.
            let json = serde_json::to_vec(&self.faults).unwrap_or_default();
            out.push_str("&f=");
            out.push_str(&base64url::encode(json));
        }
        if let Some(json) = &self.custom {
            out.push_str("&j=");
            out.push_str(&base64url::encode(json));
        }
        out
    }

    /// Parses a fragment (with or without the leading `#`). `Ok(None)` when it is empty.
    pub fn decode(fragment: &str) -> Result<Option<Permalink>, String> {
        let text = fragment.strip_prefix('#').unwrap_or(fragment);
        if text.is_empty() {
            return Ok(None);
        }
        if text.len() > MAX_FRAGMENT_BYTES {
            return Err(format!("the link is {} bytes, more than {MAX_FRAGMENT_BYTES}", text.len()));
        }
        let (mut scenario, mut seed, mut at, mut faults, mut custom) = (None, None, 0u64, Vec::new(), None);
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            let (key, value) =
                pair.split_once('=').ok_or_else(|| format!("link part {pair:?} is not key=value"))?;
            match key {
                "s" => {
                    let ok = !value.is_empty()
                        && value.len() <= 64
                        && value.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
                    if !ok {
                        return Err(format!("link field s={value:?} is not a scenario name"));
                    }
                    scenario = Some(value.to_owned());
                }
                "seed" => {
                    seed = Some(value.parse::<u64>().map_err(|_| {
                        format!("link field seed={value:?} is not a whole number 0..=18446744073709551615")
                    })?)
                }
                "at" if value == "end" => at = AT_END,
                "at" => {
                    at = value
                        .parse::<u64>()
                        .map_err(|_| format!("link field at={value:?} is not an event index or end"))?
                }
                "f" => faults = decode_faults(value)?,
                "j" => {
                    let bytes = base64url::decode(value)
                        .map_err(|e| format!("link field j is not base64url: {e}"))?;
                    let text =
                        String::from_utf8(bytes).map_err(|_| "link field j is not UTF-8 text".to_owned())?;
                    custom = Some(text);
                }
                other => return Err(format!("link field {other:?} is unknown (known: s, seed, at, f, j)")),
            }
        }
        let scenario = scenario.ok_or("the link has no scenario (s=...)")?;
        let seed = seed.ok_or("the link has no seed (seed=...)")?;
        Ok(Some(Permalink { scenario, seed, at, faults, custom }))
    }
}

fn decode_faults(value: &str) -> Result<Vec<Fault>, String> {
    let bytes = base64url::decode(value).map_err(|e| format!("link field f is not base64url: {e}"))?;
    let faults: Vec<Fault> =
        serde_json::from_slice(&bytes).map_err(|e| format!("link field f is not a fault list: {e}"))?;
    if faults.len() > MAX_USER_FAULTS {
        return Err(format!("link field f has {} faults; at most {MAX_USER_FAULTS}", faults.len()));
    }
    Ok(faults)
}
