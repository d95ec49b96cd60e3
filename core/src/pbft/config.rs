//! Cluster configuration: `n = 3f + 1` replicas and the protocol's tunables.

use alloc::format;
use alloc::string::String;

use crate::effect::{Micros, NodeId, ms};
use crate::types::Range;

/// Sequence numbers are assigned by the primary; views number the primaries.
pub type SeqNo = u64;
/// A view: its primary is replica `v mod n`.
pub type View = u64;

/// Number of replicas a cluster may have (one primary needs at least three backups).
pub type ReplicaCount = Range<4, 1000>;

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("n = {n} replicas cannot tolerate f = {f} faults: PBFT needs n >= 3f + 1 = {need}")]
    TooFewReplicas { n: u32, f: u32, need: u32 },
    #[error("{field}: {message}")]
    Field { field: &'static str, message: String },
}

/// The static configuration every replica and client shares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Number of replicas; replicas are nodes `0..n`.
    pub n: u32,
    /// Faults tolerated.
    pub f: u32,
    /// Number of clients; clients are nodes `n..n + clients`.
    pub clients: u32,
    /// K: a checkpoint every K sequence numbers (Castro & Liskov §4.3).
    pub checkpoint_interval: SeqNo,
    /// L: the high watermark is `H = h + L`.
    pub log_window: SeqNo,
    /// Most requests the primary puts in one pre-prepare.
    pub max_batch: u32,
    /// How long the primary waits to fill a batch.
    pub batch_delay: Micros,
    /// Initial view-change timeout at backups; doubles with each unsuccessful view change.
    pub view_change_timeout: Micros,
    /// Client retransmission timeout.
    pub client_timeout: Micros,
    /// How often a lagging replica asks for what it misses.
    pub fetch_interval: Micros,
    /// Batch HLC stamps further ahead of a replica's physical clock are refused.
    pub max_clock_offset: Micros,
}

impl Config {
    /// `n` replicas tolerating the largest `f` with `n >= 3f + 1`.
    pub fn new(n: u32, clients: u32) -> Result<Config, ConfigError> {
        let checked = ReplicaCount::new(i64::from(n))
            .map_err(|e| ConfigError::Field { field: "replicas", message: format!("{e}") })?;
        let n = checked.get() as u32;
        Self::with_faults(n, (n - 1) / 3, clients)
    }

    /// `n` replicas tolerating exactly `f` faults; refused unless `n >= 3f + 1`.
    pub fn with_faults(n: u32, f: u32, clients: u32) -> Result<Config, ConfigError> {
        let need = f.saturating_mul(3).saturating_add(1);
        if f == 0 || n < need {
            return Err(ConfigError::TooFewReplicas { n, f, need: need.max(4) });
        }
        Ok(Config {
            n,
            f,
            clients,
            checkpoint_interval: 128,
            log_window: 256,
            max_batch: 64,
            batch_delay: 2_000,
            view_change_timeout: ms(400),
            client_timeout: ms(300),
            fetch_interval: ms(150),
            max_clock_offset: ms(1_000),
        })
    }

    /// Checks the tunables against each other (L must hold at least one checkpoint interval).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field, message: String| Err(ConfigError::Field { field, message });
        if self.checkpoint_interval == 0 || self.checkpoint_interval > 1 << 20 {
            return bad(
                "checkpoint_interval",
                format!("{} is outside 1..=1048576", self.checkpoint_interval),
            );
        }
        if self.log_window < self.checkpoint_interval || self.log_window > 1 << 22 {
            return bad(
                "log_window",
                format!(
                    "{} must be at least checkpoint_interval {} (and at most 4194304)",
                    self.log_window, self.checkpoint_interval
                ),
            );
        }
        if self.max_batch == 0 || self.max_batch > 10_000 {
            return bad("max_batch", format!("{} is outside 1..=10000", self.max_batch));
        }
        if self.view_change_timeout == 0 || self.client_timeout == 0 || self.fetch_interval == 0 {
            return bad(
                "timeouts",
                "view_change_timeout, client_timeout and fetch_interval must be positive".into(),
            );
        }
        Ok(())
    }

    /// Quorum of a certificate: `2f + 1`.
    pub fn quorum(&self) -> usize {
        2 * self.f as usize + 1
    }

    /// Matching messages a client or a fetcher needs: `f + 1` (one is surely correct).
    pub fn weak(&self) -> usize {
        self.f as usize + 1
    }

    /// The primary of view `v`: `p = v mod |R|`.
    pub fn primary(&self, v: View) -> NodeId {
        NodeId((v % u64::from(self.n)) as u32)
    }

    pub fn is_replica(&self, id: NodeId) -> bool {
        id.0 < self.n
    }

    pub fn is_client(&self, id: NodeId) -> bool {
        id.0 >= self.n && id.0 - self.n < self.clients
    }

    pub fn replicas(&self) -> impl Iterator<Item = NodeId> + use<> {
        (0..self.n).map(NodeId)
    }

    /// Total nodes: replicas then clients.
    pub fn nodes(&self) -> u32 {
        self.n + self.clients
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn n_below_3f_plus_1_is_refused() {
        let err = Config::with_faults(6, 2, 1).unwrap_err();
        assert_eq!(err, ConfigError::TooFewReplicas { n: 6, f: 2, need: 7 });
        assert!(err.to_string().contains("3f + 1 = 7"));
        assert!(Config::with_faults(3, 1, 0).is_err());
        assert!(Config::new(3, 0).is_err());
        assert_eq!(Config::new(4, 1).map(|c| c.f), Ok(1));
        assert_eq!(Config::new(7, 1).map(|c| c.f), Ok(2));
        assert_eq!(Config::new(10, 1).map(|c| (c.f, c.quorum())), Ok((3, 7)));
    }

    #[test]
    fn primary_rotates_with_the_view() {
        let c = Config::new(4, 2).unwrap();
        assert_eq!(c.primary(0), NodeId(0));
        assert_eq!(c.primary(5), NodeId(1));
        assert!(c.is_client(NodeId(5)) && !c.is_client(NodeId(6)) && !c.is_client(NodeId(3)));
    }
}
