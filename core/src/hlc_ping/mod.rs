//! `hlc-ping`: the smallest protocol that exercises hybrid logical clocks. Every node
//! pings random peers at random intervals and sometimes answers with a pong; every send
//! and receive is stamped with the node's HLC, so the trace shows the clock rules at work.

mod metrics;

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::check::hlc::{HlcBounded, HlcCausality, HlcMonotonic};
use crate::clock::{ClockError, Hlc, Timestamp};
use crate::effect::{Effect, Env, Input, Message, NodeId, Protocol, ProtocolEvent};
use crate::sim::{Scenario, ScenarioError, Setup, Simulated};

pub use metrics::PingMetrics;

/// How a node treats stamps it receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClockMode {
    /// The HLC receive rule: `l = max(l, l_m, pt)`.
    Hlc,
    /// Deliberately broken: ignore received stamps (a plain physical clock with a
    /// tie-breaking counter). Causality fails as soon as clocks disagree.
    IgnoreRemote,
}

/// Protocol parameters (`params` of a scenario).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Mean time between a node's pings, milliseconds.
    pub interval_ms: f64,
    /// Probability that a ping is answered with a pong.
    #[serde(deserialize_with = "crate::sim::de_probability")]
    pub reply: f64,
    /// Remote stamps further ahead of local physical time than this are refused.
    pub max_offset_ms: u64,
    pub clock: ClockMode,
}

impl Default for Params {
    fn default() -> Self {
        Params { interval_ms: 20.0, reply: 0.5, max_offset_ms: 250, clock: ClockMode::Hlc }
    }
}

impl Params {
    fn validate(&self) -> Result<(), ScenarioError> {
        if !(self.interval_ms.is_finite() && self.interval_ms >= 0.01 && self.interval_ms <= 3_600_000.0) {
            return Err(ScenarioError::field(
                "params.interval_ms",
                format!("{} is outside the allowed range, 0.01 to 3600000", self.interval_ms),
            ));
        }
        if !(0.0..=1.0).contains(&self.reply) {
            return Err(ScenarioError::field(
                "params.reply",
                format!("{} is not a probability in [0, 1]", self.reply),
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PingMsg {
    Ping { ts: Timestamp },
    Pong { ts: Timestamp },
}

impl Message for PingMsg {
    fn kind(&self) -> &'static str {
        match self {
            PingMsg::Ping { .. } => "Ping",
            PingMsg::Pong { .. } => "Pong",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
pub enum PingTimer {
    Tick,
}

/// Commands from outside: ping a given node now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PingCommand {
    PingNow { to: NodeId },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PingEvent {
    /// A send event: `l = max(l, pt)`, `c` bumped if `l` did not move.
    Sent { ts: Timestamp, to: NodeId, kind: String },
    /// A receive event: `l = max(l, l_m, pt)`, `c` from whichever was largest.
    Received { ts: Timestamp, from: NodeId, remote: Timestamp },
    /// A remote stamp refused as too far ahead.
    Refused { ts: Timestamp, from: NodeId, error: ClockError },
    /// The node changed how it treats received stamps.
    Mode { ts: Timestamp, mode: ClockMode },
}

impl ProtocolEvent for PingEvent {
    fn kind(&self) -> &'static str {
        match self {
            PingEvent::Sent { .. } => "Sent",
            PingEvent::Received { .. } => "Received",
            PingEvent::Refused { .. } => "Refused",
            PingEvent::Mode { .. } => "Mode",
        }
    }

    fn describe(&self) -> String {
        match self {
            PingEvent::Sent { ts, to, kind } => {
                format!("stamps {kind} to node {to} with {ts}: l = max(l, pt), c = c + 1 if l did not move")
            }
            PingEvent::Received { ts, from, remote } if ts.wall == remote.wall && ts.wall > 0 => format!(
                "receives {remote} from node {from}: remote HLC ahead or equal → l = l_m, c = c_m + 1 → {ts}"
            ),
            PingEvent::Received { ts, from, remote } => {
                format!("receives {remote} from node {from}: local clock ahead → l = max(l, pt) → {ts}")
            }
            PingEvent::Refused { from, error, .. } => format!("refuses a stamp from node {from}: {error}"),
            PingEvent::Mode { mode, .. } => format!("now treats received stamps as {mode:?}"),
        }
    }

    fn hlc(&self) -> Option<Timestamp> {
        match self {
            PingEvent::Sent { ts, .. } | PingEvent::Received { ts, .. } | PingEvent::Mode { ts, .. } => {
                Some(*ts)
            }
            // A refusal does not tick the clock.
            PingEvent::Refused { .. } => None,
        }
    }

    fn rejection(&self) -> Option<&str> {
        match self {
            PingEvent::Refused { .. } => Some("remote HLC too far ahead"),
            _ => None,
        }
    }
}

/// One `hlc-ping` node.
pub struct HlcPing {
    me: NodeId,
    nodes: u32,
    hlc: Hlc,
    params: Params,
    mode: ClockMode,
    pings: u64,
    refused: u64,
}

impl HlcPing {
    pub fn new(me: NodeId, nodes: u32, params: Params) -> Self {
        let hlc = Hlc::new(me, params.max_offset_ms * 1000);
        HlcPing { me, nodes, hlc, mode: params.clock, params, pings: 0, refused: 0 }
    }

    pub fn hlc(&self) -> Timestamp {
        self.hlc.peek()
    }

    fn arm(&self, env: &mut Env<'_>, out: &mut Vec<Effect<Self>>) {
        // Exponential gaps (a Poisson process per node), libm for identical bits everywhere.
        let mean = self.params.interval_ms * 1000.0;
        let gap = -libm::log(1.0 - env.rng.unit()) * mean;
        let after = (gap.min(mean * 20.0) as u64).max(1);
        out.push(Effect::SetTimer { timer: PingTimer::Tick, after });
    }

    fn send(&mut self, to: NodeId, pong: bool, env: &mut Env<'_>, out: &mut Vec<Effect<Self>>) {
        let ts = self.hlc.now(env);
        let msg = if pong { PingMsg::Pong { ts } } else { PingMsg::Ping { ts } };
        out.push(Effect::Observe(PingEvent::Sent { ts, to, kind: msg.kind().to_string() }));
        out.push(Effect::Send { to, msg });
        self.pings += 1;
    }

    fn receive(
        &mut self,
        from: NodeId,
        remote: Timestamp,
        env: &mut Env<'_>,
        out: &mut Vec<Effect<Self>>,
    ) -> bool {
        let stamped = match self.mode {
            ClockMode::Hlc => self.hlc.update(&remote, env),
            ClockMode::IgnoreRemote => Ok(self.hlc.now(env)),
        };
        match stamped {
            Ok(ts) => {
                out.push(Effect::Observe(PingEvent::Received { ts, from, remote }));
                true
            }
            Err(error) => {
                self.refused += 1;
                out.push(Effect::Observe(PingEvent::Refused { ts: self.hlc.peek(), from, error }));
                false
            }
        }
    }
}

impl Protocol for HlcPing {
    type Msg = PingMsg;
    type Timer = PingTimer;
    type Command = PingCommand;
    type Reply = ();
    type Event = PingEvent;

    fn on_input(&mut self, input: Input<Self>, env: &mut Env<'_>, out: &mut Vec<Effect<Self>>) {
        match input {
            Input::Start | Input::Restart(_) => self.arm(env, out),
            Input::Timer(PingTimer::Tick) => {
                if self.nodes > 1 {
                    let mut to = env.rng.below(u64::from(self.nodes - 1)) as u32;
                    if to >= self.me.0 {
                        to += 1;
                    }
                    self.send(NodeId(to), false, env, out);
                }
                self.arm(env, out);
            }
            Input::Message { from, msg } => match msg {
                PingMsg::Ping { ts } => {
                    if self.receive(from, ts, env, out) && env.rng.chance(self.params.reply) {
                        self.send(from, true, env, out);
                    }
                }
                PingMsg::Pong { ts } => {
                    self.receive(from, ts, env, out);
                }
            },
            Input::Command(PingCommand::PingNow { to }) => {
                if to != self.me && to.0 < self.nodes {
                    self.send(to, false, env, out);
                }
            }
            Input::Unreachable { .. } => {}
            Input::Misbehave(b) => {
                let mode = if b == "ignore-remote" { ClockMode::IgnoreRemote } else { ClockMode::Hlc };
                self.mode = mode;
                let ts = self.hlc.now(env);
                out.push(Effect::Observe(PingEvent::Mode { ts, mode }));
            }
        }
    }

    fn role(&self) -> &'static str {
        "node"
    }

    fn inspect(&self) -> Vec<(String, String)> {
        let ts = self.hlc.peek();
        vec![
            ("HLC".into(), format!("{ts}")),
            ("l (wall, µs)".into(), format!("{}", ts.wall)),
            ("c (logical)".into(), format!("{}", ts.logical)),
            ("clock rule".into(), format!("{:?}", self.mode)),
            ("messages sent".into(), format!("{}", self.pings)),
            ("stamps refused".into(), format!("{}", self.refused)),
        ]
    }
}

impl Simulated for HlcPing {
    fn behaviours() -> &'static [&'static str] {
        &["honest", "ignore-remote"]
    }

    fn behaviour_summaries() -> &'static [&'static str] {
        &["follows the HLC rules", "ignores the stamps it receives (its clock no longer tracks causality)"]
    }

    fn setup(scenario: &Scenario, _seed: u64) -> Result<Setup<Self>, ScenarioError> {
        let params: Params = scenario.params()?;
        params.validate()?;
        let n = scenario.nodes;
        Ok(Setup {
            factory: Box::new(move |id| HlcPing::new(id, n, params.clone())),
            invariants: vec![
                Box::new(HlcMonotonic::new(n)),
                Box::new(HlcCausality::new(n)),
                Box::new(HlcBounded),
            ],
            metrics: vec![Box::new(PingMetrics::default())],
            commands: Vec::new(),
            notes: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests;
