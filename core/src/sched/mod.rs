//! Quantum-inspired task placement: the seed's `IsingScheduler`, as an Ising model, a
//! simulated annealer and two baselines (greedy and exact branch and bound).
//!
//! A [`Problem`] has tasks (cpu, mem demand), nodes (cpu, mem capacity), weighted links
//! between tasks and three weights. The energy of an assignment (DESIGN.md) is
//!
//! ```text
//! E = w_o · Σ_nodes Σ_{cpu,mem} max(0, load − capacity)²          overload
//!   + w_c · Σ_{links cut by the assignment} weight                  communication
//!   + w_i · Σ_nodes (cpu_load − mean cpu_load)²                     imbalance
//! ```
//!
//! - [`problem`]: JSON parsing into validated types (errors name the field or item);
//! - [`energy`]: the terms from scratch and the incremental [`State`] used by the annealer;
//! - [`ising`]: the Ising / QUBO export (Lucas 2014), its encoding documented there;
//! - [`anneal`]: seeded, deterministic multilevel simulated annealing with a step budget;
//! - [`refine`]: the greedy refinement and iterated local search it uses on finer levels;
//! - [`greedy`] and [`exact`]: baselines; [`gen`]: seeded random instances.
//!
//! The core takes step budgets, never wall-clock time; a host that wants a time budget
//! converts it (see `void schedule --time-ms`) or stops a run through [`anneal_with`].

pub mod anneal;
pub mod energy;
pub mod exact;
pub mod r#gen;
pub mod greedy;
pub mod ising;
pub mod problem;
pub mod refine;

#[cfg(test)]
mod tests;

pub use anneal::{AnnealConfig, AnnealOutcome, anneal, anneal_with};
pub use energy::{Solution, State, Terms};
pub use exact::{ExactOutcome, ExactTooLarge, MAX_EXACT_NODES, MAX_EXACT_TASKS, exact};
pub use r#gen::random_problem;
pub use greedy::greedy;
pub use ising::{IsingModel, IsingTooLarge};
pub use problem::{Problem, ProblemError, ProblemSpec, Weights};
pub use refine::KickConfig;

/// "Within 1 %" of DESIGN.md: `energy ≤ best + max(0.01·|best|, 1e-9)`.
pub fn within_one_percent(energy: f64, best: f64) -> bool {
    energy <= best + (0.01 * best.abs()).max(1e-9)
}
