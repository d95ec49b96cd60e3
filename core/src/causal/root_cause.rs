//! Root-cause ranking.
//!
//! In the noisy-OR model each node `i` has a latent "own cause" `C_i ~ Bernoulli(prior_i)`;
//! `i` fails iff `C_i` fires or some failed parent's link fires. The score of a failed
//! node is the posterior that its own cause fired, `P(C_i = 1 | e)`: the probability that
//! it would have failed even with every parent healthy. With `C_i = 1` the node fails
//! whatever its parents do, which is the same model with `prior_i := 1`, so
//!
//! ```text
//! P(C_i = 1 | e) = prior_i · P_{prior_i := 1}(e) / P(e)
//! ```
//!
//! costing one extra exact evidence probability per failed node. A failed root scores 1;
//! a node whose failure is well explained by failed parents with strong links scores low.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::infer::{Evidence, QueryError, joint};
use super::model::CausalModel;

/// One ranked node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cause {
    pub node: String,
    /// `P(own cause fired | evidence)`.
    pub score: f64,
}

impl CausalModel {
    /// `P(C_node = 1 | e)` for one node (any node, observed or not).
    pub fn own_cause_posterior(&self, node: u32, evidence: &Evidence) -> Result<f64, QueryError> {
        let pe = joint(self, evidence, None)?[0];
        if pe <= 0.0 {
            return Err(QueryError::Impossible);
        }
        self.own_cause_joint(node, evidence).map(|p| (p / pe).clamp(0.0, 1.0))
    }

    /// `P(C_node = 1, e)`.
    pub(crate) fn own_cause_joint(&self, node: u32, evidence: &Evidence) -> Result<f64, QueryError> {
        let prior = self.prior(node);
        if prior == 0.0 {
            return Ok(0.0);
        }
        let mut fired = self.clone();
        fired.prior[node as usize] = 1.0;
        Ok(prior * joint(&fired, evidence, None)?[0])
    }

    /// Rank `failed` nodes (observed failed) by the posterior that they failed on their own;
    /// `unobserved` nodes are unknown, every other node is observed healthy.
    /// Highest score first, ties by name.
    pub fn root_causes(&self, failed: &[&str], unobserved: &[&str]) -> Result<Vec<Cause>, QueryError> {
        let mut evidence = vec![Some(false); self.len()];
        let mut is_failed = vec![false; self.len()];
        for &name in failed {
            let v = self.node(name).ok_or_else(|| QueryError::UnknownNode(name.into()))?;
            evidence[v as usize] = Some(true);
            is_failed[v as usize] = true;
        }
        for &name in unobserved {
            let v = self.node(name).ok_or_else(|| QueryError::UnknownNode(name.into()))?;
            if is_failed[v as usize] {
                return Err(QueryError::Conflict(name.into()));
            }
            evidence[v as usize] = None;
        }
        let pe = joint(self, &evidence, None)?[0];
        if pe <= 0.0 {
            return Err(QueryError::Impossible);
        }
        let mut ranking = Vec::new();
        for v in (0..self.len() as u32).filter(|&v| is_failed[v as usize]) {
            let score = (self.own_cause_joint(v, &evidence)? / pe).clamp(0.0, 1.0);
            ranking.push(Cause { node: self.name(v).into(), score });
        }
        ranking.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.node.cmp(&b.node)));
        Ok(ranking)
    }
}
