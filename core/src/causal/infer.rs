//! Exact inference by variable elimination on the relevant ancestral subgraph.
//!
//! Only ancestors of the target and the evidence matter: every other node is barren
//! (its CPT sums to one over its own values once its descendants are gone), so it is
//! dropped before any factor is built. Observed nodes are fixed inside the CPT factors.
//! The remaining hidden nodes are summed out one at a time, always the one whose
//! combined factor is smallest (min-size heuristic, ties by index).
//!
//! Cost: `O(Σ_steps 2^{w_k} · f_k)` for `w_k` variables and `f_k` factors at step `k`,
//! i.e. exponential in the induced width of the pruned, moralised graph and linear in
//! its size. A query whose elimination would need a factor over more than
//! [`MAX_FACTOR_VARS`] variables is refused with [`QueryError::TooComplex`].

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::factor::{Factor, MAX_FACTOR_VARS};
use super::model::CausalModel;

/// Values per node: `None` unobserved, `Some(true)` failed, `Some(false)` healthy.
pub type Evidence = [Option<bool>];

/// Why a query could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("unknown node {0:?}")]
    UnknownNode(String),
    #[error("node {0:?} is given both 0 and 1")]
    Conflict(String),
    #[error("the evidence has probability zero under the model, so nothing can be conditioned on it")]
    Impossible,
    #[error(
        "exact inference here needs a factor over more than {MAX_FACTOR_VARS} variables; the relevant part of the model is too densely connected (give more evidence or query a smaller model)"
    )]
    TooComplex,
}

/// The CPT factor of `node` with observed variables fixed. `scalar` absorbs factors with
/// no free variable.
fn cpt_factor(
    model: &CausalModel,
    node: u32,
    evidence: &Evidence,
    scalar: &mut f64,
) -> Result<Option<Factor>, QueryError> {
    let parents = model.parents(node);
    let mut free: Vec<u32> =
        parents.iter().map(|&(p, _)| p).filter(|&p| evidence[p as usize].is_none()).collect();
    if evidence[node as usize].is_none() {
        free.push(node);
    }
    free.sort_unstable();
    if free.len() > MAX_FACTOR_VARS {
        return Err(QueryError::TooComplex);
    }
    let value_of = |v: u32, index: usize| match evidence[v as usize] {
        Some(x) => x,
        None => (index >> free.binary_search(&v).unwrap_or(0)) & 1 == 1,
    };
    let mut table = vec![0.0; 1 << free.len()];
    for (index, slot) in table.iter_mut().enumerate() {
        let p1 = model.fail_probability(node, |p| value_of(p, index));
        *slot = if value_of(node, index) { p1 } else { 1.0 - p1 };
    }
    if free.is_empty() {
        *scalar *= table[0];
        return Ok(None);
    }
    Ok(Some(Factor { vars: free, table }))
}

/// `[P(target = 0, e), P(target = 1, e)]`; without a target, `[P(e), 0]`.
pub(crate) fn joint(
    model: &CausalModel,
    evidence: &Evidence,
    target: Option<u32>,
) -> Result<[f64; 2], QueryError> {
    // A target that is observed is just more evidence.
    if let Some(t) = target
        && let Some(value) = evidence[t as usize]
    {
        let pe = joint(model, evidence, None)?[0];
        return Ok(if value { [0.0, pe] } else { [pe, 0.0] });
    }
    let n = model.len();
    let mut relevant = vec![false; n];
    let mut stack: Vec<u32> = (0..n as u32).filter(|&i| evidence[i as usize].is_some()).collect();
    stack.extend(target);
    while let Some(v) = stack.pop() {
        if !relevant[v as usize] {
            relevant[v as usize] = true;
            stack.extend(model.parents(v).iter().map(|&(p, _)| p));
        }
    }
    let mut scalar = 1.0;
    let mut factors = Vec::new();
    for v in 0..n as u32 {
        if relevant[v as usize]
            && let Some(f) = cpt_factor(model, v, evidence, &mut scalar)?
        {
            factors.push(f);
        }
    }
    let mut hidden: Vec<u32> = (0..n as u32)
        .filter(|&v| relevant[v as usize] && evidence[v as usize].is_none() && Some(v) != target)
        .collect();
    while !hidden.is_empty() && scalar != 0.0 {
        // Min-size: the variable whose factors span the fewest variables.
        let mut best = (usize::MAX, 0usize);
        let mut scope: Vec<u32> = Vec::new();
        for (k, &v) in hidden.iter().enumerate() {
            scope.clear();
            for f in factors.iter().filter(|f| f.vars.binary_search(&v).is_ok()) {
                scope.extend_from_slice(&f.vars);
            }
            scope.sort_unstable();
            scope.dedup();
            if scope.len() < best.0 {
                best = (scope.len(), k);
            }
        }
        let v = hidden.swap_remove(best.1);
        let (with, without): (Vec<Factor>, Vec<Factor>) =
            factors.into_iter().partition(|f| f.vars.binary_search(&v).is_ok());
        factors = without;
        if with.is_empty() {
            continue;
        }
        let summed = Factor::product_sum_out(&with, v).ok_or(QueryError::TooComplex)?;
        if summed.vars.is_empty() {
            scalar *= summed.table[0];
        } else {
            factors.push(summed);
        }
    }
    let last = Factor::product(&factors).ok_or(QueryError::TooComplex)?;
    match (target, last.vars.as_slice()) {
        (Some(t), [v]) if *v == t => Ok([scalar * last.table[0], scalar * last.table[1]]),
        // The target has no factor left only when the scalar is already zero.
        (Some(_), _) => Ok([0.0, 0.0]),
        (None, _) => Ok([scalar * last.table[0], 0.0]),
    }
}

impl CausalModel {
    /// `P(e)`: the probability of the evidence.
    pub fn evidence_probability(&self, evidence: &Evidence) -> Result<f64, QueryError> {
        Ok(joint(self, evidence, None)?[0])
    }

    /// `P(target fails | e)`. Refuses evidence of probability zero.
    pub fn query(&self, target: u32, evidence: &Evidence) -> Result<f64, QueryError> {
        let [p0, p1] = joint(self, evidence, Some(target))?;
        let z = p0 + p1;
        if z <= 0.0 {
            return Err(QueryError::Impossible);
        }
        Ok((p1 / z).clamp(0.0, 1.0))
    }

    /// `P(target fails | do(interventions), e)` by graph surgery on a copy of the model.
    pub fn query_do(
        &self,
        target: u32,
        evidence: &Evidence,
        interventions: &[(u32, bool)],
    ) -> Result<f64, QueryError> {
        let mut cut = self.clone();
        let mut evidence = evidence.to_vec();
        for &(x, value) in interventions {
            cut.intervene(x, value);
            match evidence[x as usize] {
                // Observing a different value than the one forced has probability zero.
                Some(seen) if seen != value => return Err(QueryError::Impossible),
                _ => evidence[x as usize] = Some(value),
            }
        }
        cut.query(target, &evidence)
    }

    /// Evidence by name (`(name, failed)`), refusing unknown names and contradictions.
    pub fn evidence(&self, settings: &[(&str, bool)]) -> Result<Vec<Option<bool>>, QueryError> {
        let mut evidence = vec![None; self.len()];
        for &(name, value) in settings {
            let v = self.node(name).ok_or_else(|| QueryError::UnknownNode(name.into()))?;
            match evidence[v as usize] {
                Some(seen) if seen != value => return Err(QueryError::Conflict(name.into())),
                _ => evidence[v as usize] = Some(value),
            }
        }
        Ok(evidence)
    }

    /// `P(target | do(interventions), given)` with every node named.
    pub fn query_named(
        &self,
        target: &str,
        given: &[(&str, bool)],
        interventions: &[(&str, bool)],
    ) -> Result<f64, QueryError> {
        let t = self.node(target).ok_or_else(|| QueryError::UnknownNode(target.into()))?;
        let evidence = self.evidence(given)?;
        let forced = self.evidence(interventions)?;
        let forced: Vec<(u32, bool)> =
            forced.iter().enumerate().filter_map(|(i, v)| v.map(|value| (i as u32, value))).collect();
        self.query_do(t, &evidence, &forced)
    }
}

/// Reference answer by enumerating the full joint (2^n states; `None` above 26 nodes or
/// for evidence of probability zero). Used by tests and as the benchmark baseline.
pub fn brute_force_query(model: &CausalModel, target: u32, evidence: &Evidence) -> Option<f64> {
    let n = model.len();
    if n > 26 {
        return None;
    }
    let order = model.topological_order();
    let (mut z, mut hit) = (0.0, 0.0);
    for state in 0u64..1 << n {
        let failed = |v: u32| (state >> v) & 1 == 1;
        if evidence.iter().enumerate().any(|(i, e)| e.is_some_and(|x| x != failed(i as u32))) {
            continue;
        }
        let mut p = 1.0;
        for &v in order {
            let p1 = model.fail_probability(v, failed);
            p *= if failed(v) { p1 } else { 1.0 - p1 };
        }
        z += p;
        if failed(target) {
            hit += p;
        }
    }
    (z > 0.0).then(|| hit / z)
}
