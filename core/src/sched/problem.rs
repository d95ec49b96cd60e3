//! The placement problem as validated types: parsed once at the edge, trusted inside.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

/// Largest problem accepted (the annealer's arrays are `u32`-indexed and sized by these).
pub const MAX_TASKS: usize = 100_000;
pub const MAX_NODES: usize = 4_096;
pub const MAX_LINKS: usize = 1_000_000;

/// A task and what it demands of the node it runs on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub cpu: f64,
    pub mem: f64,
}

/// A node and its capacities.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub id: String,
    pub cpu: f64,
    pub mem: f64,
}

/// A communication link between two tasks, as written in the JSON (task ids).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkSpec {
    pub a: String,
    pub b: String,
    pub weight: f64,
}

/// A link between two tasks, by index into [`Problem::tasks`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Link {
    pub a: u32,
    pub b: u32,
    pub weight: f64,
}

/// The weights of the three energy terms.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    pub overload: f64,
    pub communication: f64,
    pub imbalance: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights { overload: 1.0, communication: 1.0, imbalance: 1.0 }
    }
}

/// The JSON document as DESIGN.md gives it. `links` may be left out (none), and so may
/// `weights` (all three 1); a `weights` object that is present needs all three fields.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProblemSpec {
    pub tasks: Vec<Task>,
    pub nodes: Vec<Node>,
    #[serde(default)]
    pub links: Vec<LinkSpec>,
    #[serde(default)]
    pub weights: Weights,
}

/// Why a problem was refused. Every message names the offending item.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProblemError {
    #[error("problem JSON at {path}: {message}")]
    Json { path: String, message: String },
    #[error("the problem has no nodes; at least one node is needed to place tasks on")]
    NoNodes,
    #[error("the problem has {count} {what}, more than the limit of {limit}")]
    TooLarge { what: &'static str, count: usize, limit: usize },
    #[error("{what} has an empty id")]
    EmptyId { what: String },
    #[error("task id {0:?} appears more than once")]
    DuplicateTask(String),
    #[error("node id {0:?} appears more than once")]
    DuplicateNode(String),
    #[error("{what} is {value}; it must be a finite number ≥ 0")]
    BadNumber { what: String, value: f64 },
    #[error("link {link} names unknown task {task:?}")]
    UnknownTask { link: usize, task: String },
    #[error("link {link} joins task {task:?} to itself")]
    SelfLink { link: usize, task: String },
    #[error(
        "task {task:?} (cpu {cpu}, mem {mem}) is bigger than every node: no node has that much cpu and mem"
    )]
    FitsNowhere { task: String, cpu: f64, mem: f64 },
}

/// A validated placement problem. Tasks and nodes are addressed by index (`u32`).
#[derive(Clone, Debug)]
pub struct Problem {
    tasks: Vec<Task>,
    nodes: Vec<Node>,
    links: Vec<Link>,
    weights: Weights,
    /// CSR adjacency: task `t`'s links are `adjacency[adj_start[t]..adj_start[t + 1]]`.
    adj_start: Vec<u32>,
    adjacency: Vec<(u32, f64)>,
    /// Dense copies of `(cpu, mem)` demands and capacities for the hot loops.
    demand: Vec<[f64; 2]>,
    capacity: Vec<[f64; 2]>,
    total_cpu: f64,
    total_mem: f64,
}

fn check_number(what: impl FnOnce() -> String, value: f64) -> Result<(), ProblemError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(ProblemError::BadNumber { what: what(), value })
    }
}

impl Problem {
    /// Parse the JSON of DESIGN.md ("Scheduling problem JSON"); type errors name the field path.
    pub fn from_json(text: &str) -> Result<Problem, ProblemError> {
        let spec: ProblemSpec = crate::json_path::from_str(text)
            .map_err(|e| ProblemError::Json { message: e.message_at(), path: e.path })?;
        Problem::new(spec)
    }

    /// Validate a spec: unique non-empty ids, finite non-negative numbers, links between
    /// known distinct tasks, and every task small enough for at least one node.
    pub fn new(spec: ProblemSpec) -> Result<Problem, ProblemError> {
        let ProblemSpec { tasks, nodes, links: link_specs, weights } = spec;
        for (what, count, limit) in [
            ("tasks", tasks.len(), MAX_TASKS),
            ("nodes", nodes.len(), MAX_NODES),
            ("links", link_specs.len(), MAX_LINKS),
        ] {
            if count > limit {
                return Err(ProblemError::TooLarge { what, count, limit });
            }
        }
        if nodes.is_empty() {
            return Err(ProblemError::NoNodes);
        }
        check_number(|| "weights.overload".into(), weights.overload)?;
        check_number(|| "weights.communication".into(), weights.communication)?;
        check_number(|| "weights.imbalance".into(), weights.imbalance)?;

        let mut node_index = BTreeMap::new();
        for (i, n) in nodes.iter().enumerate() {
            if n.id.is_empty() {
                return Err(ProblemError::EmptyId { what: format!("node {i}") });
            }
            check_number(|| format!("node {:?} cpu", n.id), n.cpu)?;
            check_number(|| format!("node {:?} mem", n.id), n.mem)?;
            if node_index.insert(n.id.as_str(), i).is_some() {
                return Err(ProblemError::DuplicateNode(n.id.clone()));
            }
        }
        let mut task_index = BTreeMap::new();
        for (i, t) in tasks.iter().enumerate() {
            if t.id.is_empty() {
                return Err(ProblemError::EmptyId { what: format!("task {i}") });
            }
            check_number(|| format!("task {:?} cpu", t.id), t.cpu)?;
            check_number(|| format!("task {:?} mem", t.id), t.mem)?;
            if task_index.insert(t.id.as_str(), i as u32).is_some() {
                return Err(ProblemError::DuplicateTask(t.id.clone()));
            }
            if !nodes.iter().any(|n| t.cpu <= n.cpu && t.mem <= n.mem) {
                return Err(ProblemError::FitsNowhere { task: t.id.clone(), cpu: t.cpu, mem: t.mem });
            }
        }
        let mut links = Vec::with_capacity(link_specs.len());
        for (i, l) in link_specs.iter().enumerate() {
            let find = |id: &String| {
                task_index
                    .get(id.as_str())
                    .copied()
                    .ok_or_else(|| ProblemError::UnknownTask { link: i, task: id.clone() })
            };
            let (a, b) = (find(&l.a)?, find(&l.b)?);
            if a == b {
                return Err(ProblemError::SelfLink { link: i, task: l.a.clone() });
            }
            check_number(|| format!("link {i} weight"), l.weight)?;
            links.push(Link { a, b, weight: l.weight });
        }
        drop(task_index);
        drop(node_index);

        // CSR adjacency, both directions, in link order.
        let mut degree = alloc::vec![0u32; tasks.len() + 1];
        for l in &links {
            degree[l.a as usize + 1] += 1;
            degree[l.b as usize + 1] += 1;
        }
        for i in 1..degree.len() {
            degree[i] += degree[i - 1];
        }
        let adj_start = degree.clone();
        let mut fill = degree;
        let mut adjacency = alloc::vec![(0u32, 0.0f64); links.len() * 2];
        for l in &links {
            adjacency[fill[l.a as usize] as usize] = (l.b, l.weight);
            fill[l.a as usize] += 1;
            adjacency[fill[l.b as usize] as usize] = (l.a, l.weight);
            fill[l.b as usize] += 1;
        }
        let total_cpu = tasks.iter().map(|t| t.cpu).sum();
        let total_mem = tasks.iter().map(|t| t.mem).sum();
        let demand = tasks.iter().map(|t| [t.cpu, t.mem]).collect();
        let capacity = nodes.iter().map(|n| [n.cpu, n.mem]).collect();
        Ok(Problem {
            tasks,
            nodes,
            links,
            weights,
            adj_start,
            adjacency,
            demand,
            capacity,
            total_cpu,
            total_mem,
        })
    }

    pub fn tasks(&self) -> &[Task] {
        &self.tasks
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn links(&self) -> &[Link] {
        &self.links
    }

    pub fn weights(&self) -> Weights {
        self.weights
    }

    pub fn task_count(&self) -> u32 {
        self.tasks.len() as u32
    }

    pub fn node_count(&self) -> u32 {
        self.nodes.len() as u32
    }

    /// The links of task `t` as `(other task, weight)`.
    #[inline]
    pub fn neighbours(&self, t: u32) -> &[(u32, f64)] {
        let (s, e) = (self.adj_start[t as usize], self.adj_start[t as usize + 1]);
        &self.adjacency[s as usize..e as usize]
    }

    /// `[cpu, mem]` demanded by task `t`.
    #[inline]
    pub fn demand(&self, t: u32) -> [f64; 2] {
        self.demand[t as usize]
    }

    /// `[cpu, mem]` capacity of node `n`.
    #[inline]
    pub fn capacity(&self, n: u32) -> [f64; 2] {
        self.capacity[n as usize]
    }

    /// Σ cpu over all tasks (fixed: every task is placed somewhere).
    pub fn total_cpu(&self) -> f64 {
        self.total_cpu
    }

    pub fn total_mem(&self) -> f64 {
        self.total_mem
    }

    /// The mean cpu load per node, the reference of the imbalance term.
    pub fn mean_cpu_load(&self) -> f64 {
        self.total_cpu / self.nodes.len() as f64
    }

    /// The spec this problem was built from (for writing it back as JSON).
    pub fn to_spec(&self) -> ProblemSpec {
        ProblemSpec {
            tasks: self.tasks.clone(),
            nodes: self.nodes.clone(),
            links: self
                .links
                .iter()
                .map(|l| LinkSpec {
                    a: self.tasks[l.a as usize].id.clone(),
                    b: self.tasks[l.b as usize].id.clone(),
                    weight: l.weight,
                })
                .collect(),
            weights: self.weights,
        }
    }
}
