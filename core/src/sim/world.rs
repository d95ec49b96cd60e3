//! The simulation engine: one event queue, many protocol state machines.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::queue::{Key, Queue};
use super::scenario::{Fault, HLC_EPOCH_US, Scenario, ScenarioError, ms_to_us};
use super::trace::{DropReason, EventBrief, EventView, TraceEvent, TraceKind, TraceSink, hex};
use crate::check::{CheckCtx, Invariant, Metric, Violation};
use crate::clock::Timestamp;
use crate::effect::{
    DetRng, Effect, Env, Input, Message, Micros, NodeId, Persisted, Protocol, ProtocolEvent,
};
use crate::idmap::IdMap;

/// What a protocol hands the simulator to run a scenario.
pub struct Setup<P: Protocol> {
    /// Builds node `id` in its initial (or post-crash) state.
    pub factory: Box<dyn FnMut(NodeId) -> P>,
    pub invariants: Vec<Box<dyn Invariant<P>>>,
    pub metrics: Vec<Box<dyn Metric<P>>>,
    /// Commands to inject: at virtual time, to node.
    pub commands: Vec<(Micros, NodeId, P::Command)>,
    /// What a reader of the results should know before trusting them (a fault assumption
    /// the scenario breaks, a check that cannot fire in it), one sentence each.
    pub notes: Vec<String>,
}

/// A protocol the simulator can run from a scenario.
pub trait Simulated: Protocol + Sized + 'static {
    /// Parse the scenario's `params`, build nodes, invariants, metrics and workload.
    fn setup(scenario: &Scenario, seed: u64) -> Result<Setup<Self>, ScenarioError>;

    /// How many nodes the run has: the scenario's `nodes` unless the protocol adds nodes
    /// of its own after them (PBFT's clients). Faults and clocks name only the first
    /// `scenario.nodes`; the extra nodes are never partitioned off by name.
    fn node_count(scenario: &Scenario) -> Result<u32, ScenarioError> {
        Ok(scenario.nodes)
    }

    /// The names a `misbehave` fault may give, `honest` included. Checked before the run
    /// starts so that a node is never drawn as Byzantine with a behaviour it ignores.
    fn behaviours() -> &'static [&'static str] {
        &["honest"]
    }

    /// One line on what each of [`Simulated::behaviours`] does, in the same order (the
    /// playground's fault menu shows them).
    fn behaviour_summaries() -> &'static [&'static str] {
        &["follows the protocol"]
    }
}

/// Refuse `misbehave` faults that name a behaviour the protocol does not have.
fn check_behaviours(known: &[&str], faults: &[Fault]) -> Result<(), ScenarioError> {
    for (i, f) in faults.iter().enumerate() {
        if let Fault::Misbehave { behaviour, .. } = f
            && !known.contains(&behaviour.as_str())
        {
            return Err(ScenarioError::field(
                format!("faults[{i}].behaviour"),
                format!("unknown behaviour {behaviour:?}; known: {}", known.join(", ")),
            ));
        }
    }
    Ok(())
}

/// How a run ended, in the shape `void sim --json` prints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub scenario: String,
    pub protocol: String,
    pub seed: u64,
    pub nodes: u32,
    pub events: u64,
    pub messages_sent: u64,
    pub messages_delivered: u64,
    pub messages_dropped: u64,
    pub virtual_time_ms: f64,
    pub violations: Vec<Violation>,
    pub trace_hash: String,
    pub metrics: BTreeMap<String, f64>,
    /// The run stopped at the scenario's `max_events` before its end: the end-of-run
    /// checks (liveness, convergence) did not run.
    #[serde(default)]
    pub event_limit_reached: bool,
}

/// A protocol-independent view of a node, for displays.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeView {
    pub id: u32,
    /// `up`, `crashed`, `byzantine` or `partitioned`.
    pub state: String,
    pub role: String,
    pub behaviour: Option<String>,
    pub hlc: Option<String>,
    /// Physical clock minus true time, microseconds.
    pub clock_offset_us: i64,
    pub facts: Vec<(String, String)>,
}

/// A message the network holds: sent and not yet delivered or dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InFlight {
    pub id: u64,
    pub from: u32,
    pub to: u32,
    pub sent_at: Micros,
    /// When it reaches `to` (where it is still dropped if `to` is down or cut off).
    pub deliver_at: Micros,
    pub kind: &'static str,
}

/// A simulation whose protocol is hidden: what the CLI and the playground drive.
pub trait AnySim {
    /// The scenario as run: its faults include those the protocol's setup plans from its
    /// parameters (a gossip scenario's `partition` and `churn`), so views can show them.
    fn scenario(&self) -> &Scenario;
    fn seed(&self) -> u64;
    /// Handle the next queued item (one or more trace events). False once finished.
    fn step(&mut self) -> bool;
    /// Run until at least `events` more trace events exist or the run ends. False once finished.
    fn run_events(&mut self, events: u64) -> bool;
    fn run_to_end(&mut self);
    fn is_finished(&self) -> bool;
    /// Virtual time, microseconds.
    fn now(&self) -> Micros;
    fn event_count(&self) -> u64;
    /// Virtual time of the next queued item (possibly past the run's end), if any.
    fn next_time(&self) -> Option<Micros>;
    /// Messages sent and not yet delivered or dropped, in the order they will arrive.
    /// Reads the queue only; the run and its trace are unchanged.
    fn in_flight(&self) -> Vec<InFlight>;
    /// The setup's [`Setup::notes`] about this scenario.
    fn notes(&self) -> &[String];
    /// A recorded event (only when the run records its trace).
    fn event(&self, index: u64) -> Option<EventView>;
    /// A recorded event's category, kind and refusal, without formatting its text.
    fn event_brief(&self, index: u64) -> Option<EventBrief>;
    /// A recorded event as one JSON line (the `--dump-trace` format).
    fn event_json(&self, index: u64) -> Option<String>;
    fn nodes(&self) -> Vec<NodeView>;
    /// Add a fault to the schedule (interactive faults); it happens at its `at_ms`,
    /// which must not be in the past.
    fn inject(&mut self, fault: Fault) -> Result<(), ScenarioError>;
    /// The behaviours a `misbehave` fault may name for this protocol, `honest` first.
    fn behaviours(&self) -> &'static [&'static str];
    /// What each of [`AnySim::behaviours`] does, in the same order.
    fn behaviour_summaries(&self) -> &'static [&'static str];
    fn violation(&self) -> Option<&Violation>;
    fn trace_hash(&self) -> String;
    /// Benchmarks only: skip encoding and hashing the trace to measure the engine alone.
    /// The run's `trace_hash` is then meaningless.
    fn set_trace_hashing(&mut self, on: bool);
    fn outcome(&self) -> Outcome;
    /// The nodes that crashed or behaved Byzantine at some point of the run, in id order
    /// (what an incident file records for `void causal learn`).
    fn faulty_nodes(&self) -> Vec<u32>;
    /// The invariants this run checks: name, what each promises, and when it is judged.
    fn invariants(&self) -> Vec<crate::check::InvariantInfo>;
}

enum Pending<P: Protocol> {
    Start(NodeId),
    Deliver {
        id: u64,
        from: NodeId,
        to: NodeId,
        sent_at: Micros,
        cause: u64,
        sender_hlc: Option<Timestamp>,
        msg: P::Msg,
    },
    Timer {
        node: NodeId,
        timer: P::Timer,
        generation: u64,
    },
    Command {
        node: NodeId,
        cmd: P::Command,
    },
    Unreachable {
        node: NodeId,
        peer: NodeId,
    },
    Fault(usize),
    Heal(usize),
}

struct Node<P: Protocol> {
    proto: Option<P>,
    rng: DetRng,
    /// Pending timers and their generation (looked up, never iterated).
    timers: IdMap<P::Timer, u64>,
    persisted: Persisted,
    behaviour: Option<String>,
    offset_us: i64,
    drift_ppm: i64,
    jumps_us: i64,
    last_hlc: Option<Timestamp>,
}

struct LinkRule {
    from: NodeId,
    to: NodeId,
    drop: f64,
    duplicate: f64,
    delay_us: u64,
    until: Micros,
}

/// A deterministic simulation of protocol `P`.
pub struct Sim<P: Protocol> {
    scenario: Scenario,
    seed: u64,
    now: Micros,
    seq: u64,
    generation: u64,
    next_msg: u64,
    queue: Queue<Pending<P>>,
    nodes: Vec<Node<P>>,
    up: Vec<bool>,
    /// Nodes that crashed or misbehaved so far (incident files).
    faulty: Vec<bool>,
    /// Crashed by a fault of t = 0, before its start: it stays down until a restart.
    down_from_start: Vec<bool>,
    notes: Vec<String>,
    factory: Box<dyn FnMut(NodeId) -> P>,
    invariants: Vec<Box<dyn Invariant<P>>>,
    metrics: Vec<Box<dyn Metric<P>>>,
    net_rng: DetRng,
    /// Active partitions: fault index and each node's group.
    partitions: Vec<(usize, Vec<u32>)>,
    links: Vec<LinkRule>,
    /// Per directed link: when its bandwidth is free again.
    link_free: IdMap<(u32, u32), Micros>,
    sink: TraceSink<P>,
    effects: Vec<Effect<P>>,
    violation: Option<Violation>,
    finished: bool,
    event_limit_reached: bool,
    behaviours: &'static [&'static str],
    summaries: &'static [&'static str],
    sent: u64,
    delivered: u64,
    dropped: u64,
    duration_us: Micros,
    uncertainty_us: u64,
    last_fault_us: Micros,
    scratch: Vec<u8>,
}

impl<P: Simulated> Sim<P> {
    /// Build a run of `scenario` with `seed`; `record` keeps every event for display/dump.
    pub fn new(scenario: &Scenario, seed: u64, record: bool) -> Result<Self, ScenarioError> {
        check_behaviours(P::behaviours(), &scenario.faults)?;
        let mut setup = P::setup(scenario, seed)?;
        if let Some(wanted) = &scenario.invariants {
            for name in wanted {
                if !setup.invariants.iter().any(|i| i.name() == name) {
                    let known: Vec<&str> = setup.invariants.iter().map(|i| i.name()).collect();
                    return Err(ScenarioError::field(
                        "invariants",
                        format!(
                            "{name:?} is not an invariant of {}; known: {}",
                            scenario.protocol,
                            known.join(", ")
                        ),
                    ));
                }
            }
            setup.invariants.retain(|i| wanted.iter().any(|w| w == i.name()));
        }
        let n = P::node_count(scenario)?;
        let nodes = (0..n)
            .map(|i| {
                let clock = scenario.clocks.iter().find(|c| c.node == i);
                Node {
                    proto: None,
                    rng: DetRng::derive(seed, u64::from(i) + 1),
                    timers: IdMap::default(),
                    persisted: Persisted::new(),
                    behaviour: None,
                    offset_us: clock.map_or(0, |c| c.offset_ms * 1000),
                    drift_ppm: clock.map_or(0, |c| c.drift_ppm),
                    jumps_us: 0,
                    last_hlc: None,
                }
            })
            .collect();
        let mut sim = Sim {
            scenario: scenario.clone(),
            seed,
            now: 0,
            seq: 0,
            generation: 0,
            next_msg: 0,
            queue: Queue::default(),
            nodes,
            up: vec![false; n as usize],
            faulty: vec![false; n as usize],
            down_from_start: vec![false; n as usize],
            factory: setup.factory,
            invariants: setup.invariants,
            metrics: setup.metrics,
            net_rng: DetRng::derive(seed, 0),
            partitions: Vec::new(),
            links: Vec::new(),
            link_free: IdMap::default(),
            sink: TraceSink::new(record),
            effects: Vec::new(),
            violation: None,
            finished: false,
            event_limit_reached: false,
            behaviours: P::behaviours(),
            summaries: P::behaviour_summaries(),
            sent: 0,
            delivered: 0,
            dropped: 0,
            duration_us: scenario.duration_us(),
            uncertainty_us: scenario.clock_uncertainty_us(),
            last_fault_us: scenario.faults.iter().map(last_effect_us).max().unwrap_or(0),
            scratch: Vec::new(),
            notes: setup.notes,
        };
        for i in 0..n {
            sim.push(0, 1, Pending::Start(NodeId(i)));
        }
        for (i, f) in scenario.faults.iter().enumerate() {
            sim.schedule_fault(i, f);
        }
        for (at, node, cmd) in setup.commands {
            if node.0 < n {
                sim.push(at, 1, Pending::Command { node, cmd });
            }
        }
        Ok(sim)
    }
}

fn last_effect_us(f: &Fault) -> Micros {
    match f {
        Fault::Partition { heal_ms, .. } => ms_to_us(*heal_ms),
        Fault::Link { until_ms, .. } => ms_to_us(*until_ms),
        other => other.at_us(),
    }
}

impl<P: Protocol> Sim<P> {
    fn push(&mut self, time: Micros, class: u8, item: Pending<P>) {
        self.seq += 1;
        let seq = self.seq;
        self.push_seq(time, class, seq, item);
    }

    fn push_seq(&mut self, time: Micros, class: u8, seq: u64, item: Pending<P>) {
        self.queue.push(Key { time, class, seq }, item);
    }

    fn pop(&mut self) -> Option<(Micros, Pending<P>)> {
        self.queue.pop().map(|(key, item)| (key.time, item))
    }

    fn peek_time(&mut self) -> Option<Micros> {
        self.queue.peek_time()
    }

    fn schedule_fault(&mut self, index: usize, fault: &Fault) {
        // Faults order among themselves by their place in the schedule, whenever added.
        let seq = index as u64 * 2;
        self.push_seq(fault.at_us(), 0, seq, Pending::Fault(index));
        if let Fault::Partition { heal_ms, .. } = fault {
            self.push_seq(ms_to_us(*heal_ms), 0, seq + 1, Pending::Heal(index));
        }
    }

    /// Node `i`'s physical clock at true time `t`, on the Unix-microsecond scale.
    fn physical(&self, i: usize, t: Micros) -> Micros {
        let n = &self.nodes[i];
        // Most nodes do not drift: skip the 128-bit division for them.
        let drift = if n.drift_ppm == 0 { 0 } else { i128::from(n.drift_ppm) * i128::from(t) / 1_000_000 };
        let pt = i128::from(HLC_EPOCH_US)
            + i128::from(t)
            + i128::from(n.offset_us)
            + drift
            + i128::from(n.jumps_us);
        pt.clamp(0, i128::from(u64::MAX)) as u64
    }

    fn ctx(&self) -> CheckCtx<'_> {
        CheckCtx {
            now: self.now,
            epoch_us: HLC_EPOCH_US,
            clock_uncertainty_us: self.uncertainty_us,
            up: &self.up,
            last_fault_us: self.last_fault_us,
        }
    }

    /// Record one event: hash it, check it, measure it, keep it if recording.
    fn emit(&mut self, node: NodeId, kind: TraceKind<P>) -> TraceEvent<P> {
        let ev = TraceEvent { index: self.sink.count, time: self.now, node, kind };
        self.sink.absorb(&ev);
        if let TraceKind::Observe(e) = &ev.kind
            && let Some(ts) = e.hlc()
            && let Some(n) = self.nodes.get_mut(node.index())
        {
            n.last_hlc = Some(ts);
        }
        let ctx = CheckCtx {
            now: self.now,
            epoch_us: HLC_EPOCH_US,
            clock_uncertainty_us: self.uncertainty_us,
            up: &self.up,
            last_fault_us: self.last_fault_us,
        };
        if self.violation.is_none() {
            for inv in self.invariants.iter_mut() {
                if let Err(message) = inv.observe(&ev, &ctx) {
                    self.violation = Some(Violation {
                        invariant: inv.name().to_string(),
                        step: ev.index,
                        time: self.now,
                        message,
                    });
                    break;
                }
            }
        }
        for m in self.metrics.iter_mut() {
            m.observe(&ev, &ctx);
        }
        ev
    }

    fn keep(&mut self, ev: TraceEvent<P>) {
        if let Some(events) = self.sink.events.as_mut() {
            events.push(ev);
        }
    }

    fn record(&mut self, node: NodeId, kind: TraceKind<P>) {
        let ev = self.emit(node, kind);
        self.keep(ev);
    }

    fn can_talk(&self, a: NodeId, b: NodeId) -> bool {
        self.partitions.iter().all(|(_, group)| group.get(a.index()) == group.get(b.index()))
    }

    /// Deliver `input` to node `i` (which must be up) and carry out its effects.
    fn handle(&mut self, i: usize, input: Input<P>, cause: u64) {
        let pt = self.physical(i, self.now);
        let mut effects = core::mem::take(&mut self.effects);
        {
            let node = &mut self.nodes[i];
            let Some(proto) = node.proto.as_mut() else {
                self.effects = effects;
                return;
            };
            let mut env = Env { now: pt, rng: &mut node.rng, me: NodeId(i as u32) };
            proto.on_input(input, &mut env, &mut effects);
        }
        let me = NodeId(i as u32);
        for effect in effects.drain(..) {
            match effect {
                Effect::Send { to, msg } => self.send(me, to, msg, cause),
                Effect::SetTimer { timer, after } => {
                    self.generation += 1;
                    let generation = self.generation;
                    self.nodes[i].timers.insert(timer.clone(), generation);
                    self.push(
                        self.now.saturating_add(after),
                        1,
                        Pending::Timer { node: me, timer, generation },
                    );
                }
                Effect::CancelTimer(timer) => {
                    self.nodes[i].timers.remove(&timer);
                }
                Effect::Persist { key, value } => match value {
                    Some(v) => {
                        self.nodes[i].persisted.insert(key, v);
                    }
                    None => {
                        self.nodes[i].persisted.remove(&key);
                    }
                },
                Effect::Reply(r) => self.record(me, TraceKind::Reply(r)),
                Effect::Observe(e) => self.record(me, TraceKind::Observe(e)),
                Effect::Log(_) => {}
            }
        }
        self.effects = effects;
    }

    fn send(&mut self, from: NodeId, to: NodeId, msg: P::Msg, cause: u64) {
        if to.index() >= self.nodes.len() {
            return;
        }
        self.sent += 1;
        let id = self.next_msg;
        self.next_msg += 1;
        let (mut drop_p, mut dup_p, mut extra) = (0.0, self.scenario.network.duplicate, 0u64);
        self.links.retain(|l| l.until > self.now);
        for l in self.links.iter().filter(|l| l.from == from && l.to == to) {
            drop_p = f64::max(drop_p, l.drop);
            dup_p = f64::max(dup_p, l.duplicate);
            extra = extra.max(l.delay_us);
        }
        let reason = if !self.can_talk(from, to) {
            Some(DropReason::Partition)
        } else if drop_p > 0.0 && self.net_rng.chance(drop_p) {
            Some(DropReason::LinkFault)
        } else if self.net_rng.chance(self.scenario.network.loss) {
            Some(DropReason::Loss)
        } else {
            None
        };
        if let Some(reason) = reason {
            self.dropped += 1;
            self.record(from, TraceKind::Drop { id, to, reason, msg });
            return;
        }
        // The stamp the message carries is the sender's clock at the send; the last one it
        // observed may be older (a timer's retransmission ticks the clock without an event).
        let sender_hlc = msg.hlc().or(self.nodes[from.index()].last_hlc);
        if self.net_rng.chance(dup_p) {
            let delay = self.transit(from, to, &msg) + extra;
            let item =
                Pending::Deliver { id, from, to, sent_at: self.now, cause, sender_hlc, msg: msg.clone() };
            self.push(self.now.saturating_add(delay), 1, item);
        }
        let delay = self.transit(from, to, &msg) + extra;
        let item = Pending::Deliver { id, from, to, sent_at: self.now, cause, sender_hlc, msg };
        self.push(self.now.saturating_add(delay), 1, item);
    }

    /// Latency, reordering delay and bandwidth queueing for one message.
    fn transit(&mut self, from: NodeId, to: NodeId, msg: &P::Msg) -> Micros {
        let net = &self.scenario.network;
        let mut delay = net.latency.sample(&mut self.net_rng);
        if net.reorder > 0.0 && self.net_rng.chance(net.reorder) {
            delay += self.net_rng.between(1, net.reorder_delay_us.max(1));
        }
        if let Some(bw) = net.bandwidth_bytes_per_s {
            self.scratch.clear();
            let size = match postcard::to_extend(msg, core::mem::take(&mut self.scratch)) {
                Ok(buf) => {
                    let len = buf.len() as u64;
                    self.scratch = buf;
                    len
                }
                Err(_) => 0,
            };
            let tx = size.saturating_mul(1_000_000) / bw;
            let free = self.link_free.entry((from.0, to.0)).or_insert(0);
            let start = (*free).max(self.now);
            *free = start + tx;
            delay += start - self.now + tx;
        }
        delay
    }

    fn apply_fault(&mut self, index: usize) {
        let Some(fault) = self.scenario.faults.get(index).cloned() else {
            return;
        };
        match fault {
            Fault::Crash { node, .. } => {
                let i = node as usize;
                if self.up[i] {
                    self.up[i] = false;
                    self.faulty[i] = true;
                    self.nodes[i].proto = None;
                    self.nodes[i].timers.clear();
                    self.nodes[i].last_hlc = None;
                    self.record(NodeId(node), TraceKind::Crash);
                } else if self.now == 0 && self.nodes[i].proto.is_none() && !self.down_from_start[i] {
                    // Faults of t = 0 come before the starts: this node does not boot.
                    self.down_from_start[i] = true;
                    self.faulty[i] = true;
                    self.record(NodeId(node), TraceKind::Crash);
                }
            }
            Fault::Restart { node, .. } => {
                let i = node as usize;
                if !self.up[i] {
                    self.boot(i, true);
                }
            }
            Fault::Partition { groups, .. } => {
                let n = self.nodes.len();
                let rest = groups.len() as u32;
                let mut group = vec![rest; n];
                for (g, members) in groups.iter().enumerate() {
                    for m in members {
                        group[*m as usize] = g as u32;
                    }
                }
                self.partitions.push((index, group));
                self.record(NodeId(0), TraceKind::Partition { groups });
            }
            Fault::ClockJump { node, by_ms, .. } => {
                self.nodes[node as usize].jumps_us += by_ms * 1000;
                self.record(NodeId(node), TraceKind::ClockJump { by_us: by_ms * 1000 });
            }
            Fault::Misbehave { node, behaviour, .. } => {
                let i = node as usize;
                self.nodes[i].behaviour = (behaviour != "honest").then(|| behaviour.clone());
                self.faulty[i] |= behaviour != "honest";
                let cause = self.sink.count;
                self.record(NodeId(node), TraceKind::Misbehave(behaviour.clone()));
                if self.up[i] {
                    self.handle(i, Input::Misbehave(behaviour), cause);
                }
            }
            Fault::Link { from, to, drop, duplicate, delay_ms, until_ms, .. } => {
                let rule = LinkRule {
                    from: NodeId(from),
                    to: NodeId(to),
                    drop,
                    duplicate,
                    delay_us: ms_to_us(delay_ms),
                    until: ms_to_us(until_ms),
                };
                let kind = TraceKind::LinkFault {
                    to: rule.to,
                    drop,
                    duplicate,
                    delay_us: rule.delay_us,
                    until: rule.until,
                };
                self.links.push(rule);
                self.record(NodeId(from), kind);
            }
        }
    }

    fn boot(&mut self, i: usize, restart: bool) {
        let id = NodeId(i as u32);
        self.nodes[i].proto = Some((self.factory)(id));
        self.up[i] = true;
        let cause = self.sink.count;
        if restart {
            self.record(id, TraceKind::Restart);
            let persisted = self.nodes[i].persisted.clone();
            self.handle(i, Input::Restart(persisted), cause);
        } else {
            self.record(id, TraceKind::Start);
            self.handle(i, Input::Start, cause);
        }
        if let Some(b) = self.nodes[i].behaviour.clone() {
            self.handle(i, Input::Misbehave(b), cause);
        }
    }

    fn next(&mut self) -> bool {
        if self.finished {
            return false;
        }
        if self.violation.is_some() || self.sink.count >= self.scenario.max_events {
            self.event_limit_reached = self.violation.is_none();
            self.finish(false);
            return false;
        }
        match self.peek_time() {
            None => {
                self.finish(true);
                return false;
            }
            Some(t) if t > self.duration_us => {
                self.now = self.duration_us;
                self.finish(true);
                return false;
            }
            Some(_) => {}
        }
        let Some((time, item)) = self.pop() else {
            self.finish(true);
            return false;
        };
        self.now = time;
        match item {
            Pending::Start(id) if self.down_from_start[id.index()] => {}
            Pending::Start(id) => self.boot(id.index(), false),
            Pending::Deliver { id, from, to, sent_at, cause, sender_hlc, msg } => {
                let t = to.index();
                if !self.can_talk(from, to) {
                    self.dropped += 1;
                    self.record(from, TraceKind::Drop { id, to, reason: DropReason::Partition, msg });
                } else if !self.up[t] {
                    self.dropped += 1;
                    self.record(from, TraceKind::Drop { id, to, reason: DropReason::Crashed, msg });
                    if let Some(after) = self.scenario.network.unreachable_after_us
                        && self.up[from.index()]
                    {
                        self.push(
                            self.now.saturating_add(after),
                            1,
                            Pending::Unreachable { node: from, peer: to },
                        );
                    }
                } else {
                    self.delivered += 1;
                    let ev = self.emit(to, TraceKind::Deliver { id, from, sent_at, cause, sender_hlc, msg });
                    let index = ev.index;
                    let msg = if let Some(events) = self.sink.events.as_mut() {
                        let msg = match &ev.kind {
                            TraceKind::Deliver { msg, .. } => Some(msg.clone()),
                            _ => None,
                        };
                        events.push(ev);
                        msg
                    } else {
                        match ev.kind {
                            TraceKind::Deliver { msg, .. } => Some(msg),
                            _ => None,
                        }
                    };
                    if let Some(msg) = msg {
                        self.handle(t, Input::Message { from, msg }, index);
                    }
                }
            }
            Pending::Timer { node, timer, generation } => {
                let i = node.index();
                if self.up[i] && self.nodes[i].timers.get(&timer) == Some(&generation) {
                    self.nodes[i].timers.remove(&timer);
                    let cause = self.sink.count;
                    self.record(node, TraceKind::Timer(timer.clone()));
                    self.handle(i, Input::Timer(timer), cause);
                }
            }
            Pending::Command { node, cmd } => {
                let i = node.index();
                if self.up[i] {
                    let cause = self.sink.count;
                    self.record(node, TraceKind::Command(cmd.clone()));
                    self.handle(i, Input::Command(cmd), cause);
                }
            }
            Pending::Unreachable { node, peer } => {
                let i = node.index();
                if self.up[i] {
                    let cause = self.sink.count;
                    self.record(node, TraceKind::Unreachable { peer });
                    self.handle(i, Input::Unreachable { peer }, cause);
                }
            }
            Pending::Fault(index) => self.apply_fault(index),
            Pending::Heal(index) => {
                let before = self.partitions.len();
                self.partitions.retain(|(i, _)| *i != index);
                if self.partitions.len() != before {
                    self.record(NodeId(0), TraceKind::Heal);
                }
            }
        }
        true
    }

    fn finish(&mut self, completed: bool) {
        if self.finished {
            return;
        }
        self.finished = true;
        if completed && self.violation.is_none() {
            let ctx = CheckCtx {
                now: self.now,
                epoch_us: HLC_EPOCH_US,
                clock_uncertainty_us: self.uncertainty_us,
                up: &self.up,
                last_fault_us: self.last_fault_us,
            };
            let step = self.sink.count;
            let mut found = None;
            for inv in self.invariants.iter_mut() {
                if let Err(message) = inv.finish(&ctx) {
                    found =
                        Some(Violation { invariant: inv.name().to_string(), step, time: ctx.now, message });
                    break;
                }
            }
            self.violation = found;
        }
    }

    /// Direct access to a node's protocol state (tests, inspectors).
    pub fn node(&self, id: NodeId) -> Option<&P> {
        self.nodes.get(id.index()).and_then(|n| n.proto.as_ref())
    }

    /// The recorded trace (empty unless the run records).
    pub fn events(&self) -> &[TraceEvent<P>] {
        self.sink.events.as_deref().unwrap_or(&[])
    }
}

impl<P: Protocol> AnySim for Sim<P> {
    fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    fn seed(&self) -> u64 {
        self.seed
    }

    fn step(&mut self) -> bool {
        self.next()
    }

    fn run_events(&mut self, events: u64) -> bool {
        let target = self.sink.count.saturating_add(events);
        while self.sink.count < target {
            if !self.next() {
                return false;
            }
        }
        !self.finished
    }

    fn run_to_end(&mut self) {
        while self.next() {}
    }

    fn is_finished(&self) -> bool {
        self.finished
    }

    fn now(&self) -> Micros {
        self.now
    }

    fn event_count(&self) -> u64 {
        self.sink.count
    }

    fn next_time(&self) -> Option<Micros> {
        self.queue.min_time()
    }

    fn in_flight(&self) -> Vec<InFlight> {
        let mut held: Vec<(Key, InFlight)> = self
            .queue
            .iter()
            .filter_map(|(k, item)| match item {
                Pending::Deliver { id, from, to, sent_at, msg, .. } => Some((
                    k,
                    InFlight {
                        id: *id,
                        from: from.0,
                        to: to.0,
                        sent_at: *sent_at,
                        deliver_at: k.time,
                        kind: msg.kind(),
                    },
                )),
                _ => None,
            })
            .collect();
        // The buckets' own order is an implementation detail; the queue order is not.
        crate::sort::sort_by_key(&mut held, |(e, _)| *e);
        held.into_iter().map(|(_, m)| m).collect()
    }

    fn notes(&self) -> &[String] {
        &self.notes
    }

    fn event(&self, index: u64) -> Option<EventView> {
        self.sink.events.as_ref()?.get(usize::try_from(index).ok()?).map(TraceEvent::view)
    }

    fn event_brief(&self, index: u64) -> Option<EventBrief> {
        self.sink.events.as_ref()?.get(usize::try_from(index).ok()?).map(TraceEvent::brief)
    }

    fn event_json(&self, index: u64) -> Option<String> {
        let ev = self.sink.events.as_ref()?.get(usize::try_from(index).ok()?)?;
        serde_json::to_string(ev).ok()
    }

    fn nodes(&self) -> Vec<NodeView> {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let partitioned = self.partitions.iter().any(|(_, g)| {
                    let mine = g[i];
                    g.iter().any(|x| *x != mine)
                });
                // A `misbehave` fault, else what the protocol was built with (parameters).
                let behaviour = n
                    .behaviour
                    .clone()
                    .or_else(|| n.proto.as_ref().and_then(|p| p.misbehaviour()).map(String::from));
                let state = if !self.up[i] {
                    "crashed"
                } else if behaviour.is_some() {
                    "byzantine"
                } else if partitioned {
                    "partitioned"
                } else {
                    "up"
                };
                let pt = self.physical(i, self.now) as i128;
                NodeView {
                    id: i as u32,
                    state: state.into(),
                    role: n.proto.as_ref().map_or("down", |p| p.role()).into(),
                    behaviour,
                    hlc: n.last_hlc.map(|t| format!("{t}")),
                    clock_offset_us: (pt - i128::from(HLC_EPOCH_US) - i128::from(self.now)) as i64,
                    facts: n.proto.as_ref().map(|p| p.inspect()).unwrap_or_default(),
                }
            })
            .collect()
    }

    fn inject(&mut self, fault: Fault) -> Result<(), ScenarioError> {
        let mut candidate = self.scenario.clone();
        candidate.faults.push(fault.clone());
        let text = serde_json::to_string(&candidate).map_err(|e| ScenarioError::Syntax(e.to_string()))?;
        let checked = Scenario::from_json(&text)?;
        check_behaviours(self.behaviours, &checked.faults)?;
        if fault.at_us() <= self.now && self.sink.count > 0 {
            return Err(ScenarioError::field(
                "faults",
                format!(
                    "a new fault must lie in the future: at_ms {} is not after now ({} us)",
                    fault.at_ms(),
                    self.now
                ),
            ));
        }
        self.scenario = checked;
        self.uncertainty_us = self.scenario.clock_uncertainty_us();
        self.last_fault_us = self.last_fault_us.max(last_effect_us(&fault));
        let index = self.scenario.faults.len() - 1;
        self.schedule_fault(index, &fault);
        Ok(())
    }

    fn behaviours(&self) -> &'static [&'static str] {
        self.behaviours
    }

    fn behaviour_summaries(&self) -> &'static [&'static str] {
        self.summaries
    }

    fn violation(&self) -> Option<&Violation> {
        self.violation.as_ref()
    }

    fn trace_hash(&self) -> String {
        hex(&self.sink.hash())
    }

    fn set_trace_hashing(&mut self, on: bool) {
        self.sink.hashing = on;
    }

    fn faulty_nodes(&self) -> Vec<u32> {
        (0..self.nodes.len())
            .filter(|&i| {
                self.faulty[i] || self.nodes[i].proto.as_ref().is_some_and(|p| p.misbehaviour().is_some())
            })
            .map(|i| i as u32)
            .collect()
    }

    fn invariants(&self) -> Vec<crate::check::InvariantInfo> {
        self.invariants
            .iter()
            .map(|i| crate::check::InvariantInfo { name: i.name(), about: i.about(), at_end: i.at_end() })
            .collect()
    }

    fn outcome(&self) -> Outcome {
        let ctx = self.ctx();
        let mut metrics = BTreeMap::new();
        for m in &self.metrics {
            m.report(&ctx, &mut metrics);
        }
        Outcome {
            scenario: self.scenario.name.clone(),
            protocol: self.scenario.protocol.clone(),
            seed: self.seed,
            nodes: self.scenario.nodes,
            events: self.sink.count,
            messages_sent: self.sent,
            messages_delivered: self.delivered,
            messages_dropped: self.dropped,
            virtual_time_ms: self.now as f64 / 1000.0,
            violations: self.violation.iter().cloned().collect(),
            trace_hash: self.trace_hash(),
            metrics,
            event_limit_reached: self.event_limit_reached,
        }
    }
}
