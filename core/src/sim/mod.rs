//! The deterministic simulator: a whole cluster in one thread, on virtual time.
//!
//! An event queue ordered by (virtual time, class, sequence) drives every node's protocol
//! state machine; the network model decides latency, loss, duplication, reordering and
//! partitions from a seeded RNG; a fault schedule crashes, restarts, partitions, skews
//! clocks and turns nodes Byzantine. Every event goes into a trace whose SHA-256
//! (`trace_hash`) is the same for the same scenario and seed on every target.

mod network;
mod queue;
mod registry;
mod scenario;
mod trace;
mod world;

pub use network::{Latency, NetworkSpec};
pub use registry::{
    BuiltinScenario, PROTOCOLS, build, builtin, builtin_names, load_builtin, rehash_trace, trace_jsonl,
};
pub use scenario::{
    ClockSpec, Fault, HLC_EPOCH_US, MAX_NODES, MAX_SCENARIO_BYTES, NodeCount, Scenario, ScenarioError,
    de_probability, ms_to_us,
};
pub use trace::{DropReason, EventBrief, EventView, TraceEvent, TraceKind};
pub use world::{AnySim, InFlight, NodeView, Outcome, Setup, Sim, Simulated};

/// A run's failures as causal-model node names (`void sim --incidents`, the causal bench):
/// a crashed or Byzantine node.
pub fn incident_node(node: u32) -> alloc::string::String {
    alloc::format!("node-{node}")
}

/// A run's failures as causal-model node names: an invariant that fired.
pub fn incident_invariant(name: &str) -> alloc::string::String {
    alloc::format!("invariant:{name}")
}
