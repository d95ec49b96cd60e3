//! Invariants and metrics, evaluated on the event stream of a run.
//!
//! The simulator hands every trace event to each [`Invariant`] as it happens; the first
//! `Err` stops the run and becomes a [`Violation`] with the seed, the step and the
//! command that replays it. [`Metric`]s read the same stream and report numbers at the end.

pub mod hlc;

use alloc::collections::BTreeMap;
use alloc::string::String;

use serde::{Deserialize, Serialize};

use crate::effect::{Micros, Protocol};
use crate::sim::TraceEvent;

/// What an invariant may know besides the event itself.
pub struct CheckCtx<'a> {
    /// True (virtual) time since the start of the run.
    pub now: Micros,
    /// True time of the run's start on the physical clocks' scale.
    pub epoch_us: u64,
    /// ε: how far any physical clock may be from true time in this scenario.
    pub clock_uncertainty_us: u64,
    /// Which nodes are up right now.
    pub up: &'a [bool],
    /// Virtual time of the last fault in the schedule (for liveness after healing).
    pub last_fault_us: Micros,
}

/// A safety or liveness property of a run.
pub trait Invariant<P: Protocol> {
    /// Name used in `invariants: [...]`, in reports and in the playground.
    fn name(&self) -> &'static str;
    /// What it promises, in one line for people (the playground's invariant monitor).
    fn about(&self) -> &'static str;
    /// Check one event; `Err(message)` reports a violation at this event.
    fn observe(&mut self, ev: &TraceEvent<P>, ctx: &CheckCtx<'_>) -> Result<(), String>;
    /// Check at the end of the run (liveness); not called after a violation.
    fn finish(&mut self, _ctx: &CheckCtx<'_>) -> Result<(), String> {
        Ok(())
    }
    /// True if only [`Invariant::finish`] can find it violated: until the run is over it
    /// stands undecided, not "holding".
    fn at_end(&self) -> bool {
        false
    }
}

/// An invariant as people see it listed: its name, what it promises, and whether it is
/// judged only at the end of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvariantInfo {
    pub name: &'static str,
    pub about: &'static str,
    pub at_end: bool,
}

/// A number computed from a run.
pub trait Metric<P: Protocol> {
    fn observe(&mut self, ev: &TraceEvent<P>, ctx: &CheckCtx<'_>);
    /// Add this metric's values to `out` (may be called more than once).
    fn report(&self, ctx: &CheckCtx<'_>, out: &mut BTreeMap<String, f64>);
}

/// An invariant that failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    pub invariant: String,
    /// Index of the trace event at which it failed (the end of the run for liveness).
    pub step: u64,
    /// Virtual time in microseconds.
    pub time: Micros,
    pub message: String,
}
