//! What `/status` shows, published by the runtime after each round.

use std::collections::BTreeSet;
use std::sync::Mutex;

use serde::Serialize;

#[derive(Clone, Debug, Default, Serialize)]
pub struct Status {
    pub role: &'static str,
    pub view: u64,
    pub last_executed: u64,
    pub stable_checkpoint: u64,
    pub hlc: String,
    /// SHA-256 of the replicated state, `@` the sequence number it was taken at.
    pub state_digest: String,
    pub keys: u64,
    pub gossip: GossipStatus,
}

/// This node's gossip member: its HyParView active view and what it delivered.
#[derive(Clone, Debug, Default, Serialize)]
pub struct GossipStatus {
    pub active: BTreeSet<u32>,
    pub delivered: u64,
    pub last_delivered: Option<String>,
}

#[derive(Default)]
pub struct StatusCell(Mutex<Status>);

impl StatusCell {
    pub fn set(&self, s: Status) {
        if let Ok(mut g) = self.0.lock() {
            *g = s;
        }
    }

    pub fn get(&self) -> Status {
        self.0.lock().map(|g| g.clone()).unwrap_or_default()
    }
}
