//! Scenario parameters of the gossip stack (`params` of a scenario), validated once.

use alloc::vec::Vec;
use alloc::{format, vec};

use serde::{Deserialize, Serialize};

use crate::effect::{Micros, NodeId, ms};
use crate::sim::ScenarioError;

/// Which broadcast layer runs over HyParView.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BroadcastKind {
    Plumtree,
    /// Baseline: eager push to every active neighbour.
    Flood,
}

/// A deliberately broken Plumtree, so that each checker can be shown to fire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Defect {
    None,
    /// Missing-message timers expire without sending GRAFT.
    NeverGraft,
    /// Duplicates are ignored instead of pruning the link.
    NeverPrune,
    /// Duplicates are delivered to the application again.
    Redeliver,
}

impl Defect {
    pub const NAMES: &'static [&'static str] = &["honest", "never-graft", "never-prune", "redeliver"];

    /// What each of [`Defect::NAMES`] does, in the same order.
    pub const SUMMARIES: &'static [&'static str] = &[
        "follows the protocol",
        "never sends GRAFT when a missing message's timer expires",
        "ignores duplicates instead of pruning the link they came over",
        "delivers duplicates to the application again",
    ];

    pub fn parse(s: &str) -> Option<Defect> {
        match s {
            "honest" | "none" => Some(Defect::None),
            "never-graft" => Some(Defect::NeverGraft),
            "never-prune" => Some(Defect::NeverPrune),
            "redeliver" => Some(Defect::Redeliver),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Defect::None => "honest",
            Defect::NeverGraft => "never-graft",
            Defect::NeverPrune => "never-prune",
            Defect::Redeliver => "redeliver",
        }
    }
}

/// Crash a share of the members mid-run, then let new nodes join.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Churn {
    /// Share of the initial members (never the contact) that crash.
    pub crash_fraction: f64,
    pub crash_at_ms: f64,
    /// Crashes are spread over this window.
    #[serde(default)]
    pub crash_window_ms: f64,
    /// Share of the cluster (the highest ids) that joins later, from `join_at_ms`.
    #[serde(default)]
    pub join_fraction: f64,
    #[serde(default)]
    pub join_at_ms: f64,
}

/// Split the network in two random halves, then heal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Split {
    pub at_ms: f64,
    pub heal_ms: f64,
    /// Share of the nodes in the first group.
    #[serde(default = "half")]
    pub fraction: f64,
}

fn half() -> f64 {
    0.5
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    pub broadcast: BroadcastKind,
    /// The node new members send JOIN to.
    pub contact: u32,
    /// Active view size; default ⌈log₂ N⌉ + 1.
    pub active_view: Option<u32>,
    /// Passive view size; default 6 · (⌈log₂ N⌉ + 1).
    pub passive_view: Option<u32>,
    /// Active and passive random-walk lengths.
    pub arwl: u8,
    pub prwl: u8,
    /// SHUFFLE sample sizes from the active and passive views.
    pub shuffle_ka: u32,
    pub shuffle_kp: u32,
    pub shuffle_interval_ms: f64,
    pub keepalive_ms: f64,
    pub failure_timeout_ms: f64,
    pub neighbor_timeout_ms: f64,
    /// How many times a peer lost to a timeout is probed before it is forgotten.
    pub probe_attempts: u32,
    /// Initial members join one after another over this window.
    pub join_window_ms: f64,
    /// The last `late_joiners` nodes stay dormant and join from `late_join_at_ms`.
    pub late_joiners: u32,
    pub late_join_at_ms: f64,
    pub late_join_window_ms: f64,
    /// Plumtree's missing-message timers.
    pub timeout1_ms: f64,
    pub timeout2_ms: f64,
    /// IHAVE announcements are batched for this long.
    pub ihave_flush_ms: f64,
    pub cache_size: u32,
    pub cache_age_ms: f64,
    /// §3.8: promote a lazy link that beats the eager one by `optimization_threshold` hops.
    pub optimization: bool,
    pub optimization_threshold: u32,
    /// Observations of an (eager, lazy) link pair averaged before a swap; 1 is the paper's
    /// rule of acting on a single message.
    pub optimization_window: u32,
    /// Workload: `broadcasts` from uniformly drawn correct senders, the first `warmup` not measured.
    pub broadcasts: u32,
    pub warmup: u32,
    pub workload_start_ms: f64,
    pub broadcast_interval_ms: f64,
    pub payload_bytes: u32,
    /// Checkers ignore broadcasts within this long of a fault or join.
    pub settle_ms: f64,
    pub churn: Option<Churn>,
    pub partition: Option<Split>,
    pub defect: Defect,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            broadcast: BroadcastKind::Plumtree,
            contact: 0,
            active_view: None,
            passive_view: None,
            arwl: 6,
            prwl: 3,
            shuffle_ka: 3,
            shuffle_kp: 4,
            shuffle_interval_ms: 2000.0,
            keepalive_ms: 500.0,
            failure_timeout_ms: 1600.0,
            neighbor_timeout_ms: 400.0,
            probe_attempts: 40,
            join_window_ms: 1000.0,
            late_joiners: 0,
            late_join_at_ms: 0.0,
            late_join_window_ms: 500.0,
            timeout1_ms: 250.0,
            timeout2_ms: 100.0,
            ihave_flush_ms: 5.0,
            cache_size: 4096,
            cache_age_ms: 60_000.0,
            optimization: true,
            optimization_threshold: 1,
            optimization_window: 6,
            broadcasts: 200,
            warmup: 20,
            workload_start_ms: 3000.0,
            broadcast_interval_ms: 50.0,
            payload_bytes: 8,
            settle_ms: 2000.0,
            churn: None,
            partition: None,
            defect: Defect::None,
        }
    }
}

/// ⌈log₂ n⌉ for n ≥ 1.
pub fn ceil_log2(n: u32) -> u32 {
    if n <= 1 { 0 } else { 32 - (n - 1).leading_zeros() }
}

fn time(field: &str, v: f64, max: f64) -> Result<Micros, ScenarioError> {
    if !(v.is_finite() && (0.0..=max).contains(&v)) {
        return Err(ScenarioError::field(
            format!("params.{field}"),
            format!("{v} is outside the allowed range, 0 to {max} ms"),
        ));
    }
    Ok((v * 1000.0) as Micros)
}

/// Parameters resolved for a cluster of `nodes`, in protocol units.
#[derive(Clone, Debug)]
pub struct Config {
    pub nodes: u32,
    pub broadcast: BroadcastKind,
    pub contact: NodeId,
    pub active_size: usize,
    pub passive_size: usize,
    pub arwl: u8,
    pub prwl: u8,
    pub shuffle_ka: usize,
    pub shuffle_kp: usize,
    pub shuffle_interval: Micros,
    pub keepalive: Micros,
    pub failure_timeout: Micros,
    pub neighbor_timeout: Micros,
    pub probe_attempts: u32,
    pub join_window: Micros,
    pub late_joiners: u32,
    pub late_join_at: Micros,
    pub late_join_window: Micros,
    pub timeout1: Micros,
    pub timeout2: Micros,
    pub ihave_flush: Micros,
    pub cache_size: usize,
    pub cache_age: Micros,
    pub optimization: Option<u32>,
    pub optimization_window: u32,
    pub defect: Defect,
}

const DAY_MS: f64 = 86_400_000.0;

impl Params {
    /// The moments of the run these parameters schedule (ms, what), in time order: where a
    /// viewer wants to jump to.
    pub fn moments(&self) -> Vec<(f64, &'static str)> {
        let mut out = vec![(self.workload_start_ms, "broadcasts start")];
        if self.late_joiners > 0 {
            out.push((self.late_join_at_ms, "late nodes join"));
        }
        if let Some(c) = &self.churn {
            if c.crash_fraction > 0.0 {
                out.push((c.crash_at_ms, "churn: nodes crash"));
            }
            if c.join_fraction > 0.0 {
                out.push((c.join_at_ms, "churn: new nodes join"));
            }
        }
        if let Some(p) = &self.partition {
            out.push((p.at_ms, "partition"));
            out.push((p.heal_ms, "partition heals"));
        }
        crate::sort::sort_by(&mut out, |a, b| a.0.total_cmp(&b.0));
        out
    }

    pub fn resolve(&self, nodes: u32) -> Result<Config, ScenarioError> {
        if self.contact >= nodes {
            return Err(ScenarioError::field(
                "params.contact",
                format!("node {} does not exist (nodes are 0 to {})", self.contact, nodes.saturating_sub(1)),
            ));
        }
        let mut late_joiners = self.late_joiners;
        let mut late_join_at = self.late_join_at_ms;
        if let Some(c) = &self.churn {
            if !(0.0..1.0).contains(&c.join_fraction) {
                return Err(ScenarioError::field("params.churn.join_fraction", "must be in [0, 1)"));
            }
            let extra = (f64::from(nodes) * c.join_fraction) as u32;
            if extra > 0 {
                late_joiners = late_joiners.saturating_add(extra);
                late_join_at = c.join_at_ms;
            }
        }
        if late_joiners >= nodes {
            return Err(ScenarioError::field(
                "params.late_joiners",
                format!("{late_joiners} leaves no initial members among {nodes} nodes"),
            ));
        }
        if self.contact >= nodes - late_joiners {
            return Err(ScenarioError::field("params.contact", "the contact must be an initial member"));
        }
        let k = ceil_log2(nodes) + 1;
        let active = self.active_view.unwrap_or(k);
        let passive = self.passive_view.unwrap_or(6 * k);
        if !(1..=64).contains(&active) {
            return Err(ScenarioError::field("params.active_view", format!("{active} is outside 1..=64")));
        }
        if passive > 1024 {
            return Err(ScenarioError::field("params.passive_view", format!("{passive} is above 1024")));
        }
        for (name, v) in [("arwl", self.arwl), ("prwl", self.prwl)] {
            if v > 32 {
                return Err(ScenarioError::field(format!("params.{name}"), format!("{v} is above 32")));
            }
        }
        if self.prwl > self.arwl {
            return Err(ScenarioError::field("params.prwl", "must not exceed params.arwl"));
        }
        if self.shuffle_ka > 64 || self.shuffle_kp > 64 {
            return Err(ScenarioError::field("params.shuffle_ka", "shuffle samples are at most 64"));
        }
        if self.cache_size == 0 || self.cache_size > 1 << 20 {
            return Err(ScenarioError::field("params.cache_size", "must be in 1..=1048576"));
        }
        if self.warmup > self.broadcasts {
            return Err(ScenarioError::field("params.warmup", "exceeds params.broadcasts"));
        }
        if self.broadcasts > 100_000 || self.payload_bytes > 4096 {
            return Err(ScenarioError::field(
                "params.broadcasts",
                "at most 100000 broadcasts of at most 4096 payload bytes",
            ));
        }
        let positive = |name: &str, v: f64| -> Result<Micros, ScenarioError> {
            let t = time(name, v, DAY_MS)?;
            if t == 0 {
                return Err(ScenarioError::field(format!("params.{name}"), "must be positive"));
            }
            Ok(t)
        };
        if let Some(c) = &self.churn {
            if !(0.0..1.0).contains(&c.crash_fraction) {
                return Err(ScenarioError::field("params.churn.crash_fraction", "must be in [0, 1)"));
            }
            time("churn.crash_at_ms", c.crash_at_ms, DAY_MS)?;
            time("churn.crash_window_ms", c.crash_window_ms, DAY_MS)?;
        }
        if let Some(p) = &self.partition {
            time("partition.at_ms", p.at_ms, DAY_MS)?;
            time("partition.heal_ms", p.heal_ms, DAY_MS)?;
            if p.heal_ms < p.at_ms || !(p.fraction > 0.0 && p.fraction < 1.0) {
                return Err(ScenarioError::field(
                    "params.partition",
                    "heal_ms must not precede at_ms and fraction must be in (0, 1)",
                ));
            }
        }
        time("workload_start_ms", self.workload_start_ms, DAY_MS)?;
        time("broadcast_interval_ms", self.broadcast_interval_ms, DAY_MS)?;
        time("settle_ms", self.settle_ms, DAY_MS)?;
        Ok(Config {
            nodes,
            broadcast: self.broadcast,
            contact: NodeId(self.contact),
            active_size: active as usize,
            passive_size: passive as usize,
            arwl: self.arwl,
            prwl: self.prwl,
            shuffle_ka: self.shuffle_ka as usize,
            shuffle_kp: self.shuffle_kp as usize,
            shuffle_interval: positive("shuffle_interval_ms", self.shuffle_interval_ms)?,
            keepalive: positive("keepalive_ms", self.keepalive_ms)?,
            failure_timeout: positive("failure_timeout_ms", self.failure_timeout_ms)?,
            neighbor_timeout: positive("neighbor_timeout_ms", self.neighbor_timeout_ms)?,
            probe_attempts: self.probe_attempts,
            join_window: time("join_window_ms", self.join_window_ms, DAY_MS)?,
            late_joiners,
            late_join_at: time("late_join_at_ms", late_join_at, DAY_MS)?,
            late_join_window: time("late_join_window_ms", self.late_join_window_ms, DAY_MS)?,
            timeout1: positive("timeout1_ms", self.timeout1_ms)?,
            timeout2: positive("timeout2_ms", self.timeout2_ms)?,
            ihave_flush: time("ihave_flush_ms", self.ihave_flush_ms, DAY_MS)?,
            cache_size: self.cache_size as usize,
            cache_age: positive("cache_age_ms", self.cache_age_ms)?,
            optimization: self.optimization.then_some(self.optimization_threshold.max(1)),
            optimization_window: self.optimization_window.max(1),
            defect: self.defect,
        })
    }
}

impl Config {
    /// When node `id` sends its JOIN (the contact never does).
    pub fn join_at(&self, id: NodeId) -> Micros {
        let initial = self.nodes - self.late_joiners;
        if id.0 >= initial {
            let k = u64::from(id.0 - initial);
            self.late_join_at + self.late_join_window * k / u64::from(self.late_joiners.max(1))
        } else {
            // At least 1 ms so the contact is up before anyone joins it.
            ms(1) + self.join_window * u64::from(id.0) / u64::from(initial)
        }
    }

    pub fn is_late_joiner(&self, id: NodeId) -> bool {
        id.0 >= self.nodes - self.late_joiners
    }
}
