//! Scenarios are data: a JSON document (a file or a built-in) that names a protocol, the
//! cluster size, the network model, per-node clocks, a fault schedule and protocol
//! parameters. Parsing validates everything once; the simulator trusts what it gets.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::network::NetworkSpec;
use crate::effect::{Micros, NodeId};
use crate::json_path;
use crate::types::{Probability, Range, Refined};

/// Simulated physical clocks start here (2026-09-21 in Unix microseconds), so HLC stamps
/// in a simulation look like the ones a native node prints.
pub const HLC_EPOCH_US: u64 = 1_790_000_000_000_000;

/// Largest cluster a scenario may ask for.
pub const MAX_NODES: u32 = 10_000;

/// The node count of a scenario: parsed, not validated afterwards.
pub type NodeCount = Range<1, { MAX_NODES as i64 }>;

fn de_node_count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = NodeCount::deserialize(d)?;
    u32::try_from(n.get()).map_err(serde::de::Error::custom)
}

/// Deserialize an `f64` through [`Probability`], so out-of-range values are refused at parse time.
pub fn de_probability<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Probability::deserialize(d).map(Refined::into_inner)
}

/// Largest scenario document accepted, checked before parsing.
pub const MAX_SCENARIO_BYTES: usize = 1 << 20;

/// Why a scenario was refused. The message names the field and the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    #[error("unknown scenario {name:?}; `void sim --list` shows the built-in ones, or pass a .json file")]
    UnknownScenario { name: String },
    #[error("scenario is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("scenario is not valid JSON: {0}")]
    Syntax(String),
    #[error("scenario field `{path}`: {message}")]
    Field { path: String, message: String },
    #[error("--param {0}")]
    Param(String),
}

impl ScenarioError {
    pub fn field(path: impl Into<String>, message: impl Into<String>) -> Self {
        ScenarioError::Field { path: path.into(), message: message.into() }
    }
}

/// A node's physical clock relative to true (virtual) time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockSpec {
    pub node: u32,
    /// Constant offset from true time, milliseconds (may be negative).
    #[serde(default)]
    pub offset_ms: i64,
    /// Drift in parts per million (positive = runs fast).
    #[serde(default)]
    pub drift_ppm: i64,
}

/// One entry of the fault schedule. `at_ms` is virtual time in (fractional) milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Fault {
    /// The node stops; it loses everything it did not persist.
    Crash { at_ms: f64, node: u32 },
    /// A crashed node boots again with what it persisted.
    Restart { at_ms: f64, node: u32 },
    /// From `at_ms` until `heal_ms`, only nodes in the same group can talk. Nodes listed in
    /// no group form one more group together.
    Partition { at_ms: f64, heal_ms: f64, groups: Vec<Vec<u32>> },
    /// The node's physical clock jumps by `by_ms` (forward if positive).
    ClockJump { at_ms: f64, node: u32, by_ms: i64 },
    /// The node switches to a named behaviour its protocol understands ("honest" resets).
    Misbehave { at_ms: f64, node: u32, behaviour: String },
    /// Messages from `from` to `to` are dropped, duplicated or delayed until `until_ms`.
    Link {
        at_ms: f64,
        until_ms: f64,
        from: u32,
        to: u32,
        #[serde(default, deserialize_with = "de_probability")]
        drop: f64,
        #[serde(default, deserialize_with = "de_probability")]
        duplicate: f64,
        #[serde(default)]
        delay_ms: f64,
    },
}

impl Fault {
    pub fn at_ms(&self) -> f64 {
        match self {
            Fault::Crash { at_ms, .. }
            | Fault::Restart { at_ms, .. }
            | Fault::Partition { at_ms, .. }
            | Fault::ClockJump { at_ms, .. }
            | Fault::Misbehave { at_ms, .. }
            | Fault::Link { at_ms, .. } => *at_ms,
        }
    }

    pub fn at_us(&self) -> Micros {
        ms_to_us(self.at_ms())
    }

    /// The nodes this fault names (for range checks).
    fn nodes(&self) -> Vec<u32> {
        match self {
            Fault::Crash { node, .. }
            | Fault::Restart { node, .. }
            | Fault::ClockJump { node, .. }
            | Fault::Misbehave { node, .. } => alloc::vec![*node],
            Fault::Partition { groups, .. } => groups.iter().flatten().copied().collect(),
            Fault::Link { from, to, .. } => alloc::vec![*from, *to],
        }
    }
}

/// Fractional milliseconds to whole microseconds (negative and NaN become 0).
pub fn ms_to_us(ms: f64) -> Micros {
    if ms.is_nan() || ms <= 0.0 { 0 } else { (ms * 1000.0) as u64 }
}

fn default_max_events() -> u64 {
    50_000_000
}

/// A complete, validated scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub summary: String,
    /// Which protocol runs on the nodes: `hlc-ping`, `pbft` or `gossip` (Plumtree or flood by its params).
    pub protocol: String,
    /// Cluster size, parsed through [`NodeCount`].
    #[serde(deserialize_with = "de_node_count")]
    pub nodes: u32,
    /// How long to simulate, in virtual milliseconds.
    pub duration_ms: u64,
    #[serde(default)]
    pub network: NetworkSpec,
    #[serde(default)]
    pub clocks: Vec<ClockSpec>,
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Protocol parameters; each protocol parses and validates its own.
    #[serde(default = "empty_object")]
    pub params: Value,
    /// Invariants to check; `None` = all of the protocol's.
    #[serde(default)]
    pub invariants: Option<Vec<String>>,
    /// Hard stop on the number of trace events.
    #[serde(default = "default_max_events")]
    pub max_events: u64,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

const TOP_LEVEL: &[&str] = &[
    "name",
    "summary",
    "protocol",
    "nodes",
    "duration_ms",
    "network",
    "clocks",
    "faults",
    "params",
    "invariants",
    "max_events",
];

impl Scenario {
    /// Parse and validate a scenario document.
    pub fn from_json(text: &str) -> Result<Scenario, ScenarioError> {
        Self::from_json_with(text, None, &[])
    }

    /// Parse with command-line overrides applied to the document before validation:
    /// `nodes` replaces the node count; each `(key, value)` sets a field. A key that is a
    /// top-level field or a dotted path into one (`network.loss`) sets that field; any
    /// other key sets `params.<key>`. Values are JSON if they parse as JSON, else strings.
    pub fn from_json_with(
        text: &str,
        nodes: Option<u32>,
        params: &[(String, String)],
    ) -> Result<Scenario, ScenarioError> {
        if text.len() > MAX_SCENARIO_BYTES {
            return Err(ScenarioError::TooLarge { size: text.len(), limit: MAX_SCENARIO_BYTES });
        }
        if text.trim().is_empty() {
            return Err(ScenarioError::Syntax("the file is empty; a scenario is a JSON object".into()));
        }
        let mut doc: Value = serde_json::from_str(text).map_err(|e| ScenarioError::Syntax(e.to_string()))?;
        if !doc.is_object() {
            return Err(ScenarioError::Syntax("the top level must be a JSON object".into()));
        }
        // Parsed from text, not from `doc`, so that errors have a position to name the
        // field by; the text is rewritten only when something was overridden.
        let rewritten;
        let text = if nodes.is_none() && params.is_empty() {
            text
        } else {
            if let Some(n) = nodes {
                doc["nodes"] = Value::from(n);
            }
            for (key, value) in params {
                apply_param(&mut doc, key, value)?;
            }
            rewritten = serde_json::to_string(&doc).map_err(|e| ScenarioError::Syntax(e.to_string()))?;
            rewritten.as_str()
        };
        let scenario: Scenario = json_path::from_str(text).map_err(|e| {
            ScenarioError::field(if e.path == "." { "(top level)".to_string() } else { e.path }, e.message)
        })?;
        if let Some(n) = nodes {
            scenario.check_fewer_nodes(n)?;
        }
        scenario.validate()?;
        Ok(scenario)
    }

    /// With the node count overridden, a clock or fault may name a node that is gone:
    /// say that the override did it, not the scenario.
    fn check_fewer_nodes(&self, n: u32) -> Result<(), ScenarioError> {
        let named = self.clocks.iter().enumerate().map(|(i, c)| (format!("clocks[{i}]"), c.node)).chain(
            self.faults
                .iter()
                .enumerate()
                .flat_map(|(i, f)| f.nodes().into_iter().map(move |k| (format!("faults[{i}]"), k))),
        );
        let need = named.filter(|(_, k)| *k >= n).max_by_key(|(_, k)| *k);
        match need {
            Some((field, k)) if n > 0 => Err(ScenarioError::field(
                "nodes",
                format!(
                    "{n} {} leave{} out node {k}, which the scenario's {field} names; use at least {} nodes",
                    if n == 1 { "node" } else { "nodes" },
                    if n == 1 { "s" } else { "" },
                    k + 1
                ),
            )),
            _ => Ok(()),
        }
    }

    fn validate(&self) -> Result<(), ScenarioError> {
        if self.nodes == 0 || self.nodes > MAX_NODES {
            return Err(ScenarioError::field(
                "nodes",
                format!("{} is outside the allowed range, 1 to {MAX_NODES}", self.nodes),
            ));
        }
        if self.duration_ms == 0 || self.duration_ms > 86_400_000 {
            return Err(ScenarioError::field(
                "duration_ms",
                format!("{} is outside the allowed range, 1 to 86400000 (one day)", self.duration_ms),
            ));
        }
        self.network.validate().map_err(|m| ScenarioError::field("network", m))?;
        // Node ids are dense: a flag per node instead of a set (less code in the browser).
        let mut seen = alloc::vec![false; self.nodes as usize];
        for (i, c) in self.clocks.iter().enumerate() {
            if c.node >= self.nodes {
                return Err(ScenarioError::field(
                    format!("clocks[{i}].node"),
                    format!(
                        "node {} does not exist (nodes are 0 to {})",
                        c.node,
                        self.nodes.saturating_sub(1)
                    ),
                ));
            }
            if core::mem::replace(&mut seen[c.node as usize], true) {
                return Err(ScenarioError::field(
                    format!("clocks[{i}].node"),
                    format!("node {} appears twice", c.node),
                ));
            }
            if c.offset_ms.unsigned_abs() > 86_400_000 || c.drift_ppm.unsigned_abs() > 1_000_000 {
                return Err(ScenarioError::field(
                    format!("clocks[{i}]"),
                    "offset_ms must be within ±1 day and drift_ppm within ±1000000",
                ));
            }
        }
        for (i, f) in self.faults.iter().enumerate() {
            let at = f.at_ms();
            if !at.is_finite() || at < 0.0 {
                return Err(ScenarioError::field(
                    format!("faults[{i}].at_ms"),
                    format!("{at} is not a time >= 0"),
                ));
            }
            if at > self.duration_ms as f64 {
                return Err(ScenarioError::field(
                    format!("faults[{i}].at_ms"),
                    format!(
                        "{at} is after the run ends (duration_ms {}): it would never happen",
                        self.duration_ms
                    ),
                ));
            }
            for n in f.nodes() {
                if n >= self.nodes {
                    return Err(ScenarioError::field(
                        format!("faults[{i}]"),
                        format!("node {n} does not exist (nodes are 0 to {})", self.nodes.saturating_sub(1)),
                    ));
                }
            }
            if let Fault::Partition { groups, .. } = f {
                if groups.iter().all(|g| g.is_empty()) {
                    return Err(ScenarioError::field(format!("faults[{i}].groups"), "names no node"));
                }
                let mut seen = alloc::vec![false; self.nodes as usize];
                let twice =
                    |n: &&u32| seen.get_mut(**n as usize).is_some_and(|s| core::mem::replace(s, true));
                if let Some(n) = groups.iter().flatten().find(twice) {
                    return Err(ScenarioError::field(
                        format!("faults[{i}].groups"),
                        format!("node {n} is in more than one group (or twice in one)"),
                    ));
                }
            }
            match f {
                Fault::Partition { heal_ms, .. } if !(heal_ms.is_finite() && *heal_ms >= at) => {
                    return Err(ScenarioError::field(
                        format!("faults[{i}].heal_ms"),
                        format!("{heal_ms} must be a time at or after at_ms {at}"),
                    ));
                }
                Fault::Link { until_ms, delay_ms, .. } => {
                    if !(until_ms.is_finite() && *until_ms >= at) {
                        return Err(ScenarioError::field(
                            format!("faults[{i}].until_ms"),
                            format!("{until_ms} must be a time at or after at_ms {at}"),
                        ));
                    }
                    if !(delay_ms.is_finite() && *delay_ms >= 0.0) {
                        return Err(ScenarioError::field(
                            format!("faults[{i}].delay_ms"),
                            format!("{delay_ms} is not >= 0"),
                        ));
                    }
                }
                Fault::ClockJump { by_ms, .. } if by_ms.unsigned_abs() > 86_400_000 => {
                    return Err(ScenarioError::field(format!("faults[{i}].by_ms"), "must be within ±1 day"));
                }
                _ => {}
            }
        }
        // A restart brings back a crashed node; one for a node that is up would do nothing,
        // which is almost always a mistake in the schedule (faults apply by time, then order).
        let mut order: Vec<usize> = (0..self.faults.len()).collect();
        crate::sort::sort_by(&mut order, |&a, &b| {
            self.faults[a].at_ms().total_cmp(&self.faults[b].at_ms()).then(a.cmp(&b))
        });
        let mut down = alloc::vec![false; self.nodes as usize];
        let mut flag = |node: u32, to: bool| down.get_mut(node as usize).map(|d| core::mem::replace(d, to));
        for i in order {
            match &self.faults[i] {
                Fault::Crash { node, .. } => {
                    flag(*node, true);
                }
                Fault::Restart { node, at_ms } if flag(*node, false) != Some(true) => {
                    return Err(ScenarioError::field(
                        format!("faults[{i}]"),
                        format!(
                            "node {node} is restarted at {at_ms} ms but is not down then (no crash before it)"
                        ),
                    ));
                }
                _ => {}
            }
        }
        if !self.params.is_object() {
            return Err(ScenarioError::field("params", "must be a JSON object"));
        }
        Ok(())
    }

    pub fn duration_us(&self) -> Micros {
        self.duration_ms.saturating_mul(1000)
    }

    /// The node ids of this scenario.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> {
        (0..self.nodes).map(NodeId)
    }

    /// The largest distance, in microseconds, between any node's physical clock and true
    /// time over the run: offsets, accumulated drift and clock jumps. This is the ε of the
    /// HLC paper's bound `|l - pt| <= ε`.
    pub fn clock_uncertainty_us(&self) -> u64 {
        let duration = self.duration_us();
        (0..self.nodes)
            .map(|n| {
                let base = self.clocks.iter().find(|c| c.node == n).map_or(0, |c| {
                    c.offset_ms.unsigned_abs() * 1000
                        + c.drift_ppm.unsigned_abs().saturating_mul(duration) / 1_000_000
                });
                let jumps: u64 = self
                    .faults
                    .iter()
                    .filter_map(|f| match f {
                        Fault::ClockJump { node, by_ms, .. } if *node == n => {
                            Some(by_ms.unsigned_abs() * 1000)
                        }
                        _ => None,
                    })
                    .sum();
                base + jumps
            })
            .max()
            .unwrap_or(0)
    }

    /// The protocol parameters parsed into `T`, with errors naming `params.<field>`.
    pub fn params<T: serde::de::DeserializeOwned>(&self) -> Result<T, ScenarioError> {
        let text =
            serde_json::to_string(&self.params).map_err(|e| ScenarioError::field("params", e.to_string()))?;
        json_path::from_str(&text).map_err(|e| {
            let path = if e.path == "." { "params".to_string() } else { format!("params.{}", e.path) };
            ScenarioError::field(path, e.message)
        })
    }
}

fn apply_param(doc: &mut Value, key: &str, raw: &str) -> Result<(), ScenarioError> {
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(ScenarioError::Param(format!("{key}={raw}: the key must be a name or a dotted path")));
    }
    let value = serde_json::from_str::<Value>(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
    let first = key.split('.').next().unwrap_or(key);
    let mut path: Vec<&str> = Vec::new();
    if !TOP_LEVEL.contains(&first) {
        path.push("params");
    }
    path.extend(key.split('.'));
    let (last, parents) =
        path.split_last().ok_or_else(|| ScenarioError::Param(format!("{key}: empty key")))?;
    let mut cur = doc;
    for p in parents {
        let obj = cur
            .as_object_mut()
            .ok_or_else(|| ScenarioError::Param(format!("{key}={raw}: `{p}` is not inside an object")))?;
        cur = obj.entry(p.to_string()).or_insert_with(empty_object);
    }
    let obj = cur.as_object_mut().ok_or_else(|| {
        ScenarioError::Param(format!("{key}={raw}: the parent of `{last}` is not an object"))
    })?;
    obj.insert(last.to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const MIN: &str = r#"{"name":"t","protocol":"hlc-ping","nodes":3,"duration_ms":100}"#;

    #[test]
    fn minimal_scenario_parses_with_defaults() {
        let s = Scenario::from_json(MIN).unwrap();
        assert_eq!(s.nodes, 3);
        assert_eq!(s.network, NetworkSpec::default());
        assert!(s.faults.is_empty());
    }

    #[test]
    fn overrides_reach_top_level_nested_and_params() {
        let params = vec![
            ("network.loss".to_string(), "0.25".to_string()),
            ("interval_ms".to_string(), "7".to_string()),
            ("mode".to_string(), "ignore-remote".to_string()),
        ];
        let s = Scenario::from_json_with(MIN, Some(9), &params).unwrap();
        assert_eq!(s.nodes, 9);
        assert_eq!(s.network.loss, 0.25);
        assert_eq!(s.params["interval_ms"], 7);
        assert_eq!(s.params["mode"], "ignore-remote");
    }

    #[test]
    fn errors_name_the_field_and_value() {
        let cases = [
            (r#"{"name":"t","protocol":"p","nodes":0,"duration_ms":1}"#, "nodes"),
            (
                r#"{"name":"t","protocol":"p","nodes":2,"duration_ms":1,"network":{"loss":1.5}}"#,
                "network.loss",
            ),
            (r#"{"name":"t","protocol":"p","nodes":2,"duration_ms":1,"network":{"lossy":1}}"#, "network"),
            (r#"{"name":"t","protocol":"p","nodes":"many","duration_ms":1}"#, "nodes"),
            (
                r#"{"name":"t","protocol":"p","nodes":2,"duration_ms":1,"faults":[{"kind":"crash","at_ms":1,"node":5}]}"#,
                "faults[0]",
            ),
            (
                r#"{"name":"t","protocol":"p","nodes":2,"duration_ms":1,"faults":[{"kind":"explode","at_ms":1}]}"#,
                "faults[0]",
            ),
            (
                r#"{"name":"t","protocol":"p","nodes":2,"duration_ms":1,"clocks":[{"node":1},{"node":1}]}"#,
                "clocks[1].node",
            ),
            (
                r#"{"name":"t","protocol":"p","nodes":3,"duration_ms":9,"faults":[{"kind":"partition","at_ms":1,"heal_ms":2,"groups":[[0,1],[1,2]]}]}"#,
                "faults[0].groups",
            ),
            (
                r#"{"name":"t","protocol":"p","nodes":3,"duration_ms":9,"faults":[{"kind":"partition","at_ms":1,"heal_ms":2,"groups":[]}]}"#,
                "faults[0].groups",
            ),
            (
                r#"{"name":"t","protocol":"p","nodes":3,"duration_ms":9,"faults":[{"kind":"restart","at_ms":1,"node":2}]}"#,
                "not down",
            ),
            (
                r#"{"name":"t","protocol":"p","nodes":3,"duration_ms":9,"faults":[{"kind":"restart","at_ms":1,"node":2},{"kind":"crash","at_ms":5,"node":2}]}"#,
                "faults[0]",
            ),
        ];
        for (doc, field) in cases {
            let err = Scenario::from_json(doc).unwrap_err().to_string();
            assert!(err.contains(field), "{doc}: {err}");
        }
        assert!(matches!(Scenario::from_json("{"), Err(ScenarioError::Syntax(_))));
        assert!(matches!(Scenario::from_json("[]"), Err(ScenarioError::Syntax(_))));
    }

    #[test]
    fn uncertainty_adds_offset_drift_and_jumps() {
        let doc = r#"{"name":"t","protocol":"p","nodes":3,"duration_ms":1000,
            "clocks":[{"node":1,"offset_ms":-20,"drift_ppm":100}],
            "faults":[{"kind":"clock-jump","at_ms":5,"node":2,"by_ms":50}]}"#;
        let s = Scenario::from_json(doc).unwrap();
        assert_eq!(s.clock_uncertainty_us(), 50_000);
        let s2 = Scenario::from_json_with(
            doc,
            None,
            &[("clocks".into(), r#"[{"node":1,"offset_ms":-60,"drift_ppm":100}]"#.into())],
        )
        .unwrap();
        assert_eq!(s2.clock_uncertainty_us(), 60_100);
    }
}
