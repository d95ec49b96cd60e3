//! Running PBFT in the simulator: scenario parameters, node construction, invariants.
//!
//! A scenario's `nodes` counts replicas (so `--nodes 7` gives f = 2); `params.clients`
//! clients are added after them (node ids `nodes..nodes + clients`). Faults name replicas
//! only; clients belong to the group of unlisted nodes in a partition, so list only the
//! replicas to cut off.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec;

use serde::{Deserialize, Serialize};

use super::PbftNode;
use super::auth::ClusterKeys;
use super::byzantine::{Behaviour, Bug};
use super::client::{Client, Workload};
use super::config::Config;
use super::invariants::{Agreement, AtMostOnce, CheckpointDigests, Linearizable, Liveness, Validity};
use super::metrics::PbftMetrics;
use super::replica::Replica;
use crate::check::hlc::{HlcBounded, HlcCausality, HlcMonotonic};
use crate::effect::{NodeId, ms};
use crate::sim::{Scenario, ScenarioError, Setup, Simulated};
use crate::vecmap::VecMap;

/// `params` of a PBFT scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Clients, added after the replicas.
    pub clients: u32,
    /// Faults tolerated; default the largest f with nodes >= 3f + 1.
    pub f: Option<u32>,
    pub workload: Workload,
    pub checkpoint_interval: u64,
    pub log_window: u64,
    pub max_batch: u32,
    pub batch_delay_ms: f64,
    pub view_change_timeout_ms: u64,
    pub client_timeout_ms: u64,
    pub fetch_interval_ms: u64,
    pub max_clock_offset_ms: u64,
    /// Byzantine replicas from the start: replica id → behaviour name.
    pub byzantine: VecMap<String, String>,
    /// Behaviours given to the highest-numbered replicas until `f + byzantine_extra`
    /// replicas are Byzantine (so one scenario scales with `--nodes`).
    pub byzantine_fill: alloc::vec::Vec<String>,
    /// Byzantine replicas beyond f (`1` breaks the fault assumption on purpose).
    pub byzantine_extra: u32,
    /// A deliberately broken code path in every replica (tests of the checker).
    pub bug: Bug,
    /// Liveness: after the last fault, every request completes within this bound.
    pub liveness_bound_ms: u64,
    /// Linearizability: most search states explored per key before giving up.
    pub linearizability_budget: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            clients: 4,
            f: None,
            workload: Workload::default(),
            checkpoint_interval: 128,
            log_window: 256,
            max_batch: 64,
            batch_delay_ms: 2.0,
            view_change_timeout_ms: 400,
            client_timeout_ms: 300,
            fetch_interval_ms: 150,
            max_clock_offset_ms: 1000,
            byzantine: VecMap::new(),
            byzantine_fill: alloc::vec::Vec::new(),
            byzantine_extra: 0,
            bug: Bug::None,
            liveness_bound_ms: 6000,
            linearizability_budget: 200_000,
        }
    }
}

impl Params {
    pub fn config(&self, replicas: u32) -> Result<Config, ScenarioError> {
        if self.clients > 1000 {
            return Err(ScenarioError::field(
                "params.clients",
                format!("{} is more than 1000", self.clients),
            ));
        }
        let mut cfg = match self.f {
            Some(f) => Config::with_faults(replicas, f, self.clients),
            None => Config::new(replicas, self.clients),
        }
        .map_err(|e| {
            ScenarioError::field(if self.f.is_some() { "params.f" } else { "nodes" }, format!("{e}"))
        })?;
        if !(self.batch_delay_ms.is_finite() && (0.0..=10_000.0).contains(&self.batch_delay_ms)) {
            return Err(ScenarioError::field(
                "params.batch_delay_ms",
                format!("{} is outside the allowed range, 0 to 10000", self.batch_delay_ms),
            ));
        }
        cfg.checkpoint_interval = self.checkpoint_interval;
        cfg.log_window = self.log_window;
        cfg.max_batch = self.max_batch;
        cfg.batch_delay = (self.batch_delay_ms * 1000.0) as u64;
        cfg.view_change_timeout = ms(self.view_change_timeout_ms);
        cfg.client_timeout = ms(self.client_timeout_ms);
        cfg.fetch_interval = ms(self.fetch_interval_ms);
        cfg.max_clock_offset = ms(self.max_clock_offset_ms);
        cfg.validate().map_err(|e| ScenarioError::field("params", format!("{e}")))?;
        Ok(cfg)
    }

    /// The Byzantine replicas and their behaviours, checked.
    pub fn byzantine(&self, cfg: &Config) -> Result<VecMap<NodeId, Behaviour>, ScenarioError> {
        let replicas = cfg.n;
        let mut out = VecMap::new();
        for (k, v) in &self.byzantine {
            let field = || format!("params.byzantine.{k}");
            let id: u32 =
                k.parse().map_err(|_| ScenarioError::field(field(), "the key must be a replica id"))?;
            if id >= replicas {
                return Err(ScenarioError::field(
                    field(),
                    format!("replica {id} does not exist (replicas are 0..{replicas})"),
                ));
            }
            let b = Behaviour::parse(v).map_err(|e| ScenarioError::field(field(), e))?;
            out.insert(NodeId(id), b);
        }
        let want = (cfg.f + self.byzantine_extra).min(replicas) as usize;
        let mut fill = self.byzantine_fill.iter();
        let mut next = replicas;
        while out.len() < want && next > 0 {
            next -= 1;
            if out.contains_key(&NodeId(next)) {
                continue;
            }
            let Some(name) = fill.next() else { break };
            let b = Behaviour::parse(name).map_err(|e| ScenarioError::field("params.byzantine_fill", e))?;
            out.insert(NodeId(next), b);
        }
        Ok(out)
    }
}

/// What the results of this scenario cannot mean: more Byzantine replicas than f (PBFT
/// then promises nothing), or a liveness bound the run is too short to break.
fn notes(scenario: &Scenario, cfg: &Config, byzantine: &[NodeId], bound_ms: u64) -> alloc::vec::Vec<String> {
    let mut notes = alloc::vec::Vec::new();
    let mut faulty: alloc::vec::Vec<u32> = byzantine.iter().map(|n| n.0).collect();
    for f in &scenario.faults {
        if let crate::sim::Fault::Misbehave { node, behaviour, .. } = f
            && behaviour != "honest"
            && !faulty.contains(node)
        {
            faulty.push(*node);
        }
    }
    if faulty.len() as u32 > cfg.f {
        crate::sort::sort(&mut faulty);
        let list: alloc::vec::Vec<String> = faulty.iter().map(|n| format!("{n}")).collect();
        notes.push(format!(
            "{} replicas turn Byzantine in this scenario ({}), more than f = {}: PBFT promises \
             neither agreement nor liveness then",
            faulty.len(),
            list.join(", "),
            cfg.f
        ));
    }
    if bound_ms >= scenario.duration_ms {
        notes.push(format!(
            "liveness_bound_ms is {bound_ms}, not shorter than the run ({} ms): the liveness check \
             cannot fire; set it lower to check that requests are answered",
            scenario.duration_ms
        ));
    }
    notes
}

impl Simulated for PbftNode {
    fn behaviours() -> &'static [&'static str] {
        Behaviour::NAMES
    }

    fn behaviour_summaries() -> &'static [&'static str] {
        Behaviour::SUMMARIES
    }

    fn setup(scenario: &Scenario, seed: u64) -> Result<Setup<Self>, ScenarioError> {
        let params: Params = scenario.params()?;
        let cfg = params.config(scenario.nodes)?;
        let byzantine = params.byzantine(&cfg)?;
        if params.workload.keys == 0
            || params.workload.ops > 100_000
            || params.workload.think_ms.is_nan()
            || params.workload.think_ms < 0.0
        {
            return Err(ScenarioError::field(
                "params.workload",
                "keys must be positive, ops at most 100000, think_ms >= 0",
            ));
        }
        let keys = ClusterKeys::simulated(seed, &cfg);
        let total = cfg.nodes();
        let faulty: alloc::vec::Vec<NodeId> = byzantine.keys().copied().collect();
        let (c, w, bug) = (cfg.clone(), params.workload.clone(), params.bug);
        let accomplices: alloc::vec::Vec<NodeId> =
            byzantine.iter().filter(|(_, b)| **b == Behaviour::Collude).map(|(id, _)| *id).collect();
        let factory = Box::new(move |id: NodeId| {
            if c.is_replica(id) {
                let mut r = Replica::new(c.clone(), keys.keyring(id), bug);
                if let Some(b) = byzantine.get(&id) {
                    r.behaviour = *b;
                    r.accomplices = accomplices.clone();
                }
                PbftNode::Replica(Box::new(r))
            } else {
                PbftNode::Client(Box::new(Client::new(c.clone(), keys.keyring(id), w.clone())))
            }
        });
        let linearizable = Linearizable::new(params.linearizability_budget);
        let coverage = linearizable.coverage();
        Ok(Setup {
            factory,
            invariants: vec![
                Box::new(Agreement::new(&faulty)),
                Box::new(CheckpointDigests::new(&faulty)),
                Box::new(Validity::new(&faulty)),
                Box::new(AtMostOnce::new(&faulty)),
                Box::new(linearizable),
                Box::new(Liveness::new(ms(params.liveness_bound_ms))),
                Box::new(HlcMonotonic::new(total)),
                Box::new(HlcCausality::new(total)),
                Box::new(HlcBounded),
            ],
            metrics: vec![Box::new(PbftMetrics::default()), Box::new(coverage)],
            commands: alloc::vec::Vec::new(),
            notes: notes(scenario, &cfg, &faulty, params.liveness_bound_ms),
        })
    }

    fn node_count(scenario: &Scenario) -> Result<u32, ScenarioError> {
        let params: Params = scenario.params()?;
        Ok(scenario.nodes.saturating_add(params.clients))
    }
}
