//! Learning priors and edge weights from incidents by expectation–maximisation.
//!
//! The noisy-OR model has latent Bernoulli variables: `C_i` (node `i`'s own cause, rate
//! `prior_i`) and, for each edge `j → i` while `j` is failed, `L_ji` (the link fires, rate
//! `w_ji`); `X_i = C_i ∨ ⋁_j (X_j ∧ L_ji)`. EM alternates:
//! - E-step: expected counts `E[C_i | e]` and `E[L_ji X_j | e]`, `E[X_j | e]` per incident.
//!   With every node observed they are local: for a failed `i` with failed parents `F`,
//!   `E[C_i] = prior_i / P(X_i = 1 | F)` and `E[L_ji] = w_ji / P(X_i = 1 | F)`; for a
//!   healthy `i` all are 0. With unobserved nodes they come from exact inference, by the
//!   identity of [`super::root_cause`]: `P(C_i = 1, e) = prior_i · P_{prior_i := 1}(e)`,
//!   and likewise `P(L_ji = 1, X_j = 1, e) = w_ji · P_{w_ji := 1}(e, X_j = 1)`.
//! - M-step: `prior_i = Σ E[C_i] / incidents`, `w_ji = Σ E[L_ji X_j] / Σ E[X_j]` (a weight
//!   whose parent never failed keeps its value).
//!
//! Each iteration cannot lower the log-likelihood `Σ ln P(incident)` (Dempster, Laird,
//! Rubin 1977). Identical incidents are grouped, so cost scales with distinct patterns.
//! Starting values are clamped into `[0.001, 0.999]`: a parameter at exactly 0 or 1 is a
//! fixed point of EM and could make an observed incident impossible.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::infer::{QueryError, joint};
use super::model::CausalModel;

/// Largest incident file accepted, in incidents.
pub const MAX_INCIDENTS: usize = 1_000_000;

/// One incident line: the failed nodes, the unobserved ones; all others healthy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub failed: Vec<String>,
    #[serde(default)]
    pub unobserved: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LearnError {
    #[error("incidents line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("no incidents to learn from")]
    Empty,
    #[error("more than {MAX_INCIDENTS} incidents")]
    TooMany,
    #[error("incidents line {line}: {source}")]
    Query { line: usize, source: QueryError },
}

/// Options for [`CausalModel::learn`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LearnConfig {
    pub max_iterations: u32,
    /// Stop when an iteration gains less than `tolerance · (1 + |log-likelihood|)`.
    pub tolerance: f64,
}

impl Default for LearnConfig {
    fn default() -> Self {
        LearnConfig { max_iterations: 500, tolerance: 1e-9 }
    }
}

/// The learned model and its fit.
#[derive(Clone, Debug)]
pub struct Learned {
    pub model: CausalModel,
    /// Log-likelihood of the incidents under `model`.
    pub log_likelihood: f64,
    /// M-steps applied.
    pub iterations: u32,
    /// Log-likelihood before each M-step and after the last one.
    pub history: Vec<f64>,
}

/// Parse incidents, one JSON object per line (blank lines skipped), into evidence vectors.
pub fn parse_incidents(model: &CausalModel, text: &str) -> Result<Vec<Vec<Option<bool>>>, LearnError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        if out.len() == MAX_INCIDENTS {
            return Err(LearnError::TooMany);
        }
        let incident: Incident = crate::json_path::from_str(raw)
            .map_err(|e| LearnError::Line { line, message: format!("at {}: {}", e.path, e.message_at()) })?;
        let names: Vec<(&str, bool)> = incident.failed.iter().map(|n| (n.as_str(), true)).collect();
        out.push(
            incident_evidence(model, &names, &incident.unobserved)
                .map_err(|e| LearnError::Line { line, message: e.to_string() })?,
        );
    }
    if out.is_empty() {
        return Err(LearnError::Empty);
    }
    Ok(out)
}

/// Evidence for one incident: `failed` true, `unobserved` unknown, all others healthy.
pub fn incident_evidence(
    model: &CausalModel,
    failed: &[(&str, bool)],
    unobserved: &[String],
) -> Result<Vec<Option<bool>>, QueryError> {
    let mut evidence = vec![Some(false); model.len()];
    for &(name, _) in failed {
        let v = model.node(name).ok_or_else(|| QueryError::UnknownNode(name.into()))?;
        evidence[v as usize] = Some(true);
    }
    for name in unobserved {
        let v = model.node(name).ok_or_else(|| QueryError::UnknownNode(name.clone()))?;
        if evidence[v as usize] == Some(true) {
            return Err(QueryError::Conflict(name.clone()));
        }
        evidence[v as usize] = None;
    }
    Ok(evidence)
}

/// Expected sufficient statistics of one E-step.
struct Counts {
    own: Vec<f64>,
    /// Per node, per parent (same order as `parents`): E[L X_parent], E[X_parent].
    link: Vec<Vec<(f64, f64)>>,
    log_likelihood: f64,
}

impl CausalModel {
    /// Fit priors and weights to `incidents` (structure unchanged) by EM.
    pub fn learn(&self, incidents: &[Vec<Option<bool>>], config: LearnConfig) -> Result<Learned, LearnError> {
        if incidents.is_empty() {
            return Err(LearnError::Empty);
        }
        // Group identical incidents; remember a line number for error messages.
        let mut patterns: BTreeMap<&[Option<bool>], (f64, usize)> = BTreeMap::new();
        for (i, e) in incidents.iter().enumerate() {
            patterns.entry(e.as_slice()).or_insert((0.0, i + 1)).0 += 1.0;
        }
        let patterns: Vec<(&[Option<bool>], f64, usize)> =
            patterns.into_iter().map(|(e, (count, line))| (e, count, line)).collect();
        let total = incidents.len() as f64;

        let mut model = self.clone();
        let clamp = |p: f64| p.clamp(0.001, 0.999);
        let prior = model.prior.iter().map(|&p| clamp(p)).collect();
        let parents = model.parents.iter().map(|l| l.iter().map(|&(j, w)| (j, clamp(w))).collect()).collect();
        model.set_parameters(prior, parents);

        let mut history = Vec::new();
        let mut iterations = 0;
        let mut counts = model.expected_counts(&patterns)?;
        history.push(counts.log_likelihood);
        while iterations < config.max_iterations {
            let mut next = model.clone();
            let prior = counts.own.iter().map(|c| (c / total).clamp(0.0, 1.0)).collect();
            let parents = model
                .parents
                .iter()
                .zip(&counts.link)
                .map(|(list, stats)| {
                    list.iter()
                        .zip(stats)
                        .map(|(&(j, w), &(fired, parent_failed))| {
                            (j, if parent_failed > 0.0 { (fired / parent_failed).clamp(0.0, 1.0) } else { w })
                        })
                        .collect()
                })
                .collect();
            next.set_parameters(prior, parents);
            let next_counts = next.expected_counts(&patterns)?;
            iterations += 1;
            let gain = next_counts.log_likelihood - counts.log_likelihood;
            model = next;
            counts = next_counts;
            history.push(counts.log_likelihood);
            if gain <= config.tolerance * (1.0 + counts.log_likelihood.abs()) {
                break;
            }
        }
        Ok(Learned { model, log_likelihood: counts.log_likelihood, iterations, history })
    }

    fn expected_counts(&self, patterns: &[(&[Option<bool>], f64, usize)]) -> Result<Counts, LearnError> {
        let n = self.len();
        let mut counts = Counts {
            own: vec![0.0; n],
            link: self.parents.iter().map(|l| vec![(0.0, 0.0); l.len()]).collect(),
            log_likelihood: 0.0,
        };
        for &(evidence, count, line) in patterns {
            let query = |source| LearnError::Query { line, source };
            if evidence.iter().all(Option::is_some) {
                self.observed_counts(evidence, count, &mut counts).map_err(query)?;
            } else {
                self.inferred_counts(evidence, count, &mut counts).map_err(query)?;
            }
        }
        Ok(counts)
    }

    /// Closed-form E-step for a fully observed incident.
    fn observed_counts(
        &self,
        evidence: &[Option<bool>],
        count: f64,
        counts: &mut Counts,
    ) -> Result<(), QueryError> {
        let failed = |v: u32| evidence[v as usize] == Some(true);
        for i in 0..self.len() as u32 {
            let p1 = self.fail_probability(i, failed);
            let fails = failed(i);
            let p = if fails { p1 } else { 1.0 - p1 };
            if p <= 0.0 {
                return Err(QueryError::Impossible);
            }
            counts.log_likelihood += count * libm::log(p);
            if fails {
                counts.own[i as usize] += count * self.prior[i as usize] / p1;
            }
            for (k, &(j, w)) in self.parents[i as usize].iter().enumerate() {
                if failed(j) {
                    let stat = &mut counts.link[i as usize][k];
                    stat.1 += count;
                    if fails {
                        stat.0 += count * w / p1;
                    }
                }
            }
        }
        Ok(())
    }

    /// E-step through exact inference, for an incident with unobserved nodes.
    fn inferred_counts(
        &self,
        evidence: &[Option<bool>],
        count: f64,
        counts: &mut Counts,
    ) -> Result<(), QueryError> {
        let pe = joint(self, evidence, None)?[0];
        if pe <= 0.0 {
            return Err(QueryError::Impossible);
        }
        counts.log_likelihood += count * libm::log(pe);
        let mut with_parent = evidence.to_vec();
        for i in 0..self.len() as u32 {
            if evidence[i as usize] != Some(false) {
                counts.own[i as usize] += count * self.own_cause_joint(i, evidence)? / pe;
            }
            for (k, &(j, w)) in self.parents[i as usize].iter().enumerate() {
                let p_parent = match evidence[j as usize] {
                    Some(true) => 1.0,
                    Some(false) => continue,
                    None => self.query(j, evidence)?,
                };
                let stat = &mut counts.link[i as usize][k];
                stat.1 += count * p_parent;
                // A healthy child means the link did not fire.
                if evidence[i as usize] == Some(false) || w == 0.0 {
                    continue;
                }
                let mut fired = self.clone();
                fired.parents[i as usize][k].1 = 1.0;
                with_parent[j as usize] = Some(true);
                let joint_fired = w * joint(&fired, &with_parent, None)?[0];
                with_parent[j as usize] = evidence[j as usize];
                stat.0 += count * joint_fired / pe;
            }
        }
        Ok(())
    }
}

/// Draw one incident from the model (every node observed): `true` = failed.
pub fn sample_incident(model: &CausalModel, rng: &mut crate::effect::DetRng) -> Vec<bool> {
    let mut failed = vec![false; model.len()];
    for &v in model.topological_order() {
        let mut fails = rng.chance(model.prior(v));
        for &(p, w) in model.parents(v) {
            // Draw every link so the stream does not depend on earlier outcomes' order.
            let fires = rng.chance(w);
            fails |= failed[p as usize] && fires;
        }
        failed[v as usize] = fails;
    }
    failed
}

/// One incident as its JSON line.
pub fn incident_line(model: &CausalModel, failed: &[bool], unobserved: &[bool]) -> String {
    let pick = |want: &[bool]| -> Vec<String> {
        (0..model.len()).filter(|&i| want[i]).map(|i| model.name(i as u32).to_string()).collect()
    };
    let failed: Vec<bool> = failed.iter().zip(unobserved).map(|(&f, &u)| f && !u).collect();
    let incident = Incident { failed: pick(&failed), unobserved: pick(unobserved) };
    serde_json::to_string(&incident).unwrap_or_default()
}
