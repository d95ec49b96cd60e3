//! The noisy-OR causal graph: validated nodes, priors and weighted edges.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

pub const MAX_NODES: usize = 10_000;
pub const MAX_EDGES: usize = 100_000;

/// A node as written in the model JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeSpec {
    pub name: String,
    /// Probability that the node's own cause fires (it fails whatever its parents do).
    pub prior: f64,
}

/// An edge as written in the model JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EdgeSpec {
    pub from: String,
    pub to: String,
    /// Probability that a failed `from` makes `to` fail.
    pub weight: f64,
}

/// The model JSON of DESIGN.md: `{"nodes":[{"name","prior"}], "edges":[{"from","to","weight"}]}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub nodes: Vec<NodeSpec>,
    #[serde(default)]
    pub edges: Vec<EdgeSpec>,
}

/// Why a model was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("model JSON at {path}: {message}")]
    Json { path: String, message: String },
    #[error("the model has {count} {what}, more than the limit of {limit}")]
    TooLarge { what: &'static str, count: usize, limit: usize },
    #[error("node {0} has an empty name")]
    EmptyName(usize),
    #[error("node {0:?} appears more than once")]
    DuplicateNode(String),
    #[error("edge {edge} names unknown node {name:?}")]
    UnknownNode { edge: usize, name: String },
    #[error("edge {from} -> {to} appears more than once")]
    DuplicateEdge { from: String, to: String },
    #[error("{what} is {value}; probabilities must lie in [0, 1]")]
    Probability { what: String, value: f64 },
    #[error("cycle: {0}")]
    Cycle(String),
}

/// A validated noisy-OR network over binary nodes (1 = failed, 0 = healthy).
///
/// `P(X = 0 | parents) = (1 − prior_X) · Π_{failed parents j} (1 − w_jX)`.
#[derive(Clone, Debug, PartialEq)]
pub struct CausalModel {
    names: Vec<String>,
    index: BTreeMap<String, u32>,
    pub(crate) prior: Vec<f64>,
    /// Per node: `(parent, weight)`, sorted by parent.
    pub(crate) parents: Vec<Vec<(u32, f64)>>,
    /// Parents before children.
    topo: Vec<u32>,
}

fn probability(what: impl FnOnce() -> String, value: f64) -> Result<f64, ModelError> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(ModelError::Probability { what: what(), value })
    }
}

impl CausalModel {
    /// Parse the model JSON; type errors name the field path.
    pub fn from_json(text: &str) -> Result<CausalModel, ModelError> {
        let spec: ModelSpec = crate::json_path::from_str(text)
            .map_err(|e| ModelError::Json { message: e.message_at(), path: e.path })?;
        CausalModel::new(spec)
    }

    /// Validate: unique names, probabilities in [0, 1], known endpoints, no duplicate
    /// edges, no cycles.
    pub fn new(spec: ModelSpec) -> Result<CausalModel, ModelError> {
        if spec.nodes.len() > MAX_NODES {
            return Err(ModelError::TooLarge { what: "nodes", count: spec.nodes.len(), limit: MAX_NODES });
        }
        if spec.edges.len() > MAX_EDGES {
            return Err(ModelError::TooLarge { what: "edges", count: spec.edges.len(), limit: MAX_EDGES });
        }
        let mut index = BTreeMap::new();
        let mut names = Vec::with_capacity(spec.nodes.len());
        let mut prior = Vec::with_capacity(spec.nodes.len());
        for (i, node) in spec.nodes.into_iter().enumerate() {
            if node.name.is_empty() {
                return Err(ModelError::EmptyName(i));
            }
            prior.push(probability(|| format!("prior of node {:?}", node.name), node.prior)?);
            if index.insert(node.name.clone(), i as u32).is_some() {
                return Err(ModelError::DuplicateNode(node.name));
            }
            names.push(node.name);
        }
        let mut parents: Vec<Vec<(u32, f64)>> = vec![Vec::new(); names.len()];
        for (i, edge) in spec.edges.iter().enumerate() {
            let find = |name: &String| {
                index
                    .get(name)
                    .copied()
                    .ok_or_else(|| ModelError::UnknownNode { edge: i, name: name.clone() })
            };
            let (from, to) = (find(&edge.from)?, find(&edge.to)?);
            let weight = probability(|| format!("weight of edge {} -> {}", edge.from, edge.to), edge.weight)?;
            if parents[to as usize].iter().any(|&(p, _)| p == from) {
                return Err(ModelError::DuplicateEdge { from: edge.from.clone(), to: edge.to.clone() });
            }
            parents[to as usize].push((from, weight));
        }
        for list in &mut parents {
            list.sort_by_key(|&(p, _)| p);
        }
        let topo = topological_order(&names, &parents)?;
        Ok(CausalModel { names, index, prior, parents, topo })
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn name(&self, node: u32) -> &str {
        &self.names[node as usize]
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The index of a node by name.
    pub fn node(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    pub fn prior(&self, node: u32) -> f64 {
        self.prior[node as usize]
    }

    /// `(parent, weight)` pairs of `node`, sorted by parent index.
    pub fn parents(&self, node: u32) -> &[(u32, f64)] {
        &self.parents[node as usize]
    }

    /// Nodes with parents before children.
    pub fn topological_order(&self) -> &[u32] {
        &self.topo
    }

    /// `P(node fails | the given parents failed)`, from the noisy-OR rule.
    pub fn fail_probability(&self, node: u32, failed: impl Fn(u32) -> bool) -> f64 {
        let mut healthy = 1.0 - self.prior[node as usize];
        for &(p, w) in &self.parents[node as usize] {
            if failed(p) {
                healthy *= 1.0 - w;
            }
        }
        1.0 - healthy
    }

    /// The spec of this model (for writing a learned model back as JSON).
    pub fn to_spec(&self) -> ModelSpec {
        let nodes = self
            .names
            .iter()
            .zip(&self.prior)
            .map(|(n, &p)| NodeSpec { name: n.clone(), prior: p })
            .collect();
        let mut edges = Vec::new();
        for (to, list) in self.parents.iter().enumerate() {
            for &(from, weight) in list {
                edges.push(EdgeSpec {
                    from: self.names[from as usize].clone(),
                    to: self.names[to].clone(),
                    weight,
                });
            }
        }
        ModelSpec { nodes, edges }
    }

    /// Graph surgery for `do(node = value)`: cut the node's incoming edges and fix it.
    pub fn intervene(&mut self, node: u32, failed: bool) {
        self.parents[node as usize].clear();
        self.prior[node as usize] = if failed { 1.0 } else { 0.0 };
    }

    /// Replace all parameters (same structure), used by learning.
    pub(crate) fn set_parameters(&mut self, prior: Vec<f64>, parents: Vec<Vec<(u32, f64)>>) {
        self.prior = prior;
        self.parents = parents;
    }
}

/// Kahn's algorithm; on a cycle, walk parent links inside the leftover nodes to name one.
fn topological_order(names: &[String], parents: &[Vec<(u32, f64)>]) -> Result<Vec<u32>, ModelError> {
    let n = names.len();
    let mut children: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut missing: Vec<usize> = parents.iter().map(Vec::len).collect();
    for (child, list) in parents.iter().enumerate() {
        for &(p, _) in list {
            children[p as usize].push(child as u32);
        }
    }
    let mut ready: Vec<u32> = (0..n as u32).filter(|&i| missing[i as usize] == 0).rev().collect();
    let mut order = Vec::with_capacity(n);
    while let Some(v) = ready.pop() {
        order.push(v);
        for &c in children[v as usize].iter().rev() {
            missing[c as usize] -= 1;
            if missing[c as usize] == 0 {
                ready.push(c);
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    // Every leftover node has a leftover parent; following them must revisit a node.
    let start = (0..n).find(|&i| missing[i] > 0).unwrap_or(0) as u32;
    let mut seen = vec![usize::MAX; n];
    let mut path = Vec::new();
    let mut v = start;
    while seen[v as usize] == usize::MAX {
        seen[v as usize] = path.len();
        path.push(v);
        v = parents[v as usize].iter().map(|&(p, _)| p).find(|&p| missing[p as usize] > 0).unwrap_or(v);
    }
    // path[seen[v]..] runs child → parent; print it parent → child, closing the loop.
    let mut cycle: Vec<&str> =
        path[seen[v as usize]..].iter().rev().map(|&i| names[i as usize].as_str()).collect();
    cycle.push(cycle[0]);
    Err(ModelError::Cycle(cycle.join(" -> ")))
}
