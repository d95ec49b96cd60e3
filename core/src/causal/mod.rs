//! Causal inference over a noisy-OR Bayesian network: the seed's `CausalGraph` and
//! `CausalInference`, made exact.
//!
//! Nodes are binary (1 = failed, 0 = healthy). Node `X` fails if its own cause fires
//! (probability `prior_X`) or, independently for each failed parent `j`, the link
//! `j → X` fires (probability `w_jX`):
//! `P(X = 0 | parents) = (1 − prior_X) Π_{failed j} (1 − w_jX)` (Pearl 1988, §4.3.2).
//!
//! - [`model`]: JSON parsing and validation (cycles named, probabilities checked);
//! - [`infer`]: exact `P(target | e)` and `P(target | do(X = x), e)` by variable
//!   elimination on the pruned ancestral subgraph (graph surgery for `do`, Pearl 2009 §3.2);
//! - [`root_cause`]: failed nodes ranked by the posterior that their own cause fired;
//! - [`learn`]: EM for priors and weights from incidents;
//! - [`r#gen`]: seeded random models.

pub mod factor;
pub mod r#gen;
pub mod infer;
pub mod learn;
pub mod model;
pub mod root_cause;

#[cfg(test)]
mod tests;

pub use infer::{Evidence, QueryError, brute_force_query};
pub use learn::{Incident, LearnConfig, LearnError, Learned, parse_incidents, sample_incident};
pub use model::{CausalModel, EdgeSpec, ModelError, ModelSpec, NodeSpec};
pub use root_cause::Cause;
