//! Running the gossip stack in the simulator: the fault plan (churn, partition) drawn
//! from the parameters, the broadcast workload, and the checkers.

use alloc::boxed::Box;
use alloc::format;
use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;

use super::check::{EagerTree, EventualDelivery, NoDuplicateDelivery};
use super::metrics::GossipMetrics;
use super::params::{BroadcastKind, Config, Defect, Params};
use super::{GossipCommand, GossipNode};
use crate::check::{Invariant, Metric};
use crate::effect::{DetRng, Micros, NodeId};
use crate::sim::{AnySim, Fault, Scenario, ScenarioError, Setup, Sim, Simulated, ms_to_us};

const PLAN_STREAM: u64 = 0x676f_7373_6970_0001;
const WORKLOAD_STREAM: u64 = 0x676f_7373_6970_0002;

/// Faults the parameters ask for (`churn`, `partition`), sized to the cluster, so that
/// `--nodes 1000` crashes 20 % of 1000 nodes rather than of the default count.
pub fn fault_plan(scenario: &Scenario, params: &Params, cfg: &Config, seed: u64) -> Vec<Fault> {
    let mut rng = DetRng::derive(seed, PLAN_STREAM);
    let n = scenario.nodes;
    let mut plan = Vec::new();
    if let Some(c) = &params.churn {
        let initial = n - cfg.late_joiners;
        let mut candidates: Vec<u32> = (0..initial).filter(|i| *i != cfg.contact.0).collect();
        let count = ((f64::from(initial) * c.crash_fraction) as usize).min(candidates.len());
        for i in 0..count {
            let j = i + rng.below((candidates.len() - i) as u64) as usize;
            candidates.swap(i, j);
        }
        for (k, node) in candidates[..count].iter().enumerate() {
            let at_ms = c.crash_at_ms + c.crash_window_ms * k as f64 / count.max(1) as f64;
            plan.push(Fault::Crash { at_ms, node: *node });
        }
    }
    if let Some(p) = &params.partition {
        let mut ids: Vec<u32> = (0..n).collect();
        for i in 0..ids.len() {
            let j = i + rng.below((ids.len() - i) as u64) as usize;
            ids.swap(i, j);
        }
        let first = ((f64::from(n) * p.fraction) as usize).clamp(1, ids.len().saturating_sub(1).max(1));
        let mut group: Vec<u32> = ids[..first].to_vec();
        crate::sort::sort(&mut group);
        plan.push(Fault::Partition { at_ms: p.at_ms, heal_ms: p.heal_ms, groups: vec![group] });
    }
    plan
}

/// Nodes that crash or misbehave at some point: never chosen as senders.
fn faulty(faults: &[Fault], n: u32) -> Vec<bool> {
    let mut bad = vec![false; n as usize];
    for f in faults {
        if let Fault::Crash { node, .. } | Fault::Misbehave { node, .. } = f
            && let Some(b) = bad.get_mut(*node as usize)
        {
            *b = true;
        }
    }
    bad
}

/// The default workload: broadcasts at a fixed interval from uniformly drawn correct
/// senders that have joined.
fn workload(
    scenario: &Scenario,
    params: &Params,
    cfg: &Config,
    plan: &[Fault],
    seed: u64,
) -> Vec<(Micros, NodeId, GossipCommand)> {
    let mut rng = DetRng::derive(seed, WORKLOAD_STREAM);
    let mut all: Vec<Fault> = scenario.faults.clone();
    all.extend_from_slice(plan);
    let bad = faulty(&all, scenario.nodes);
    let start = ms_to_us(params.workload_start_ms);
    let every = ms_to_us(params.broadcast_interval_ms);
    let mut cmds = Vec::with_capacity(params.broadcasts as usize);
    for k in 0..params.broadcasts {
        let at = start + every * u64::from(k);
        let senders: Vec<u32> = (0..scenario.nodes)
            .filter(|i| !bad[*i as usize] && cfg.join_at(NodeId(*i)) + 100_000 <= at)
            .collect();
        if senders.is_empty() {
            continue;
        }
        let sender = senders[rng.below(senders.len() as u64) as usize];
        let mut payload = vec![0u8; params.payload_bytes as usize];
        for (i, b) in k.to_le_bytes().iter().enumerate() {
            if let Some(p) = payload.get_mut(i) {
                *p = *b;
            }
        }
        cmds.push((at, NodeId(sender), GossipCommand::Broadcast { payload }));
    }
    cmds
}

/// The last broadcast needs `settle_ms` before the run ends, or eventual delivery would
/// fail for want of time rather than for a fault of the protocol.
fn check_workload_fits(scenario: &Scenario, params: &Params) -> Result<(), ScenarioError> {
    if params.broadcasts == 0 {
        return Ok(());
    }
    let last_ms = params.workload_start_ms + params.broadcast_interval_ms * f64::from(params.broadcasts - 1);
    let needed_ms = last_ms + params.settle_ms;
    if needed_ms > scenario.duration_ms as f64 {
        return Err(ScenarioError::field(
            "params.broadcasts",
            format!(
                "the last of {} broadcasts goes out at {last_ms} ms and needs settle_ms = {} ms, \
                 but the run ends at {} ms; set duration_ms to at least {needed_ms} or send fewer",
                params.broadcasts, params.settle_ms, scenario.duration_ms
            ),
        ));
    }
    Ok(())
}

impl Simulated for GossipNode {
    fn behaviours() -> &'static [&'static str] {
        Defect::NAMES
    }

    fn behaviour_summaries() -> &'static [&'static str] {
        Defect::SUMMARIES
    }

    fn setup(scenario: &Scenario, seed: u64) -> Result<Setup<Self>, ScenarioError> {
        let params: Params = scenario.params()?;
        let cfg = Rc::new(params.resolve(scenario.nodes)?);
        check_workload_fits(scenario, &params)?;
        let plan = fault_plan(scenario, &params, &cfg, seed);
        let commands = workload(scenario, &params, &cfg, &plan, seed);
        let n = scenario.nodes;
        let settle = ms_to_us(params.settle_ms);
        let mut invariants: Vec<Box<dyn Invariant<Self>>> = vec![
            Box::new(NoDuplicateDelivery::new(n)),
            Box::new(EventualDelivery::new(n, settle, scenario.network.loss > 0.0)),
        ];
        if cfg.broadcast == BroadcastKind::Plumtree {
            invariants.push(Box::new(EagerTree::new(n, params.warmup, settle)));
        }
        let reports_heal = params.churn.is_some()
            || params.partition.is_some()
            || !scenario.faults.is_empty()
            || cfg.late_joiners > 0;
        let metrics: Vec<Box<dyn Metric<Self>>> =
            vec![Box::new(GossipMetrics::new(n, params.warmup, settle, reports_heal))];
        let factory_cfg = Rc::clone(&cfg);
        Ok(Setup {
            factory: Box::new(move |id| GossipNode::new(id, Rc::clone(&factory_cfg))),
            invariants,
            metrics,
            commands,
            notes: Vec::new(),
        })
    }
}

/// The moments a gossip scenario's parameters schedule ([`Params::moments`]); none when its
/// parameters do not parse (the run would be refused anyway). Not generic, so that the
/// playground does not carry a second copy of the parameters' decoder.
pub fn scheduled_moments(scenario: &Scenario) -> Vec<(f64, &'static str)> {
    scenario.params::<Params>().map(|p| p.moments()).unwrap_or_default()
}

/// A run of a gossip scenario with the parameters' fault plan added to its schedule.
pub fn simulate(scenario: &Scenario, seed: u64, record: bool) -> Result<Sim<GossipNode>, ScenarioError> {
    let params: Params = scenario.params()?;
    let cfg = params.resolve(scenario.nodes)?;
    let mut sim = Sim::<GossipNode>::new(scenario, seed, record)?;
    for f in fault_plan(scenario, &params, &cfg, seed) {
        sim.inject(f)?;
    }
    Ok(sim)
}
