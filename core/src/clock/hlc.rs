//! The HLC of Kulkarni et al. 2014, Figure 5: `l` (here `wall`) is the largest physical
//! time seen so far, `c` (here `logical`) breaks ties among events with the same `l`.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::effect::{Env, Micros, NodeId};

/// An HLC timestamp. Ordered by `(wall, logical, node)`, a total order consistent with
/// happened-before; `node` only breaks ties between distinct nodes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize)]
pub struct Timestamp {
    /// `l`: microseconds since the Unix epoch (natively) or since the start (simulated).
    pub wall: u64,
    /// `c`: the logical counter.
    pub logical: u32,
    pub node: NodeId,
}

impl Timestamp {
    pub const ZERO: Timestamp = Timestamp { wall: 0, logical: 0, node: NodeId(0) };

    pub const fn new(wall: u64, logical: u32, node: NodeId) -> Self {
        Timestamp { wall, logical, node }
    }

    /// The largest timestamp with this `(wall, logical)`, whatever the node: reads "as of"
    /// a point given without a node use it so they see every node's writes at that point.
    pub const fn upper(wall: u64, logical: u32) -> Self {
        Timestamp { wall, logical, node: NodeId(u32::MAX) }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}@{}", self.wall, self.logical, self.node)
    }
}

/// Why a timestamp string did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampParseError {
    #[error("expected <wall_micros>.<logical>@<node> (or <wall_micros>.<logical>), got {0:?}")]
    Shape(alloc::string::String),
    #[error("{part} is not a valid unsigned integer in {input:?}")]
    Number { part: &'static str, input: alloc::string::String },
}

impl FromStr for Timestamp {
    type Err = TimestampParseError;

    /// `<wall>.<logical>@<node>`; without `@<node>` the result is [`Timestamp::upper`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        use alloc::string::ToString;
        let (clock, node) = match s.split_once('@') {
            Some((c, n)) => (c, Some(n)),
            None => (s, None),
        };
        let (wall, logical) =
            clock.split_once('.').ok_or_else(|| TimestampParseError::Shape(s.to_string()))?;
        let num = |part: &'static str, v: &str| -> Result<u64, TimestampParseError> {
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(TimestampParseError::Number { part, input: s.to_string() });
            }
            v.parse().map_err(|_| TimestampParseError::Number { part, input: s.to_string() })
        };
        let wall = num("wall", wall)?;
        let logical = u32::try_from(num("logical", logical)?)
            .map_err(|_| TimestampParseError::Number { part: "logical", input: s.to_string() })?;
        match node {
            Some(n) => {
                let n = u32::try_from(num("node", n)?)
                    .map_err(|_| TimestampParseError::Number { part: "node", input: s.to_string() })?;
                Ok(Timestamp::new(wall, logical, NodeId(n)))
            }
            None => Ok(Timestamp::upper(wall, logical)),
        }
    }
}

/// A remote timestamp the clock refused to adopt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ClockError {
    /// Adopting it would move this clock more than `max_offset` ahead of physical time:
    /// either the sender's clock is broken or the message is forged.
    #[error(
        "remote timestamp {remote} is {ahead_us} us ahead of local physical time {physical}, more than the allowed {max_offset_us} us"
    )]
    TooFarAhead { remote: Timestamp, physical: Micros, ahead_us: u64, max_offset_us: u64 },
    /// The logical counter would overflow (only with a hostile peer).
    #[error("logical counter overflow at wall {wall}")]
    LogicalOverflow { wall: u64 },
}

/// A hybrid logical clock for one node.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Hlc {
    node: NodeId,
    wall: u64,
    logical: u32,
    /// Remote stamps more than this far ahead of our physical clock are refused.
    max_offset_us: u64,
}

impl Hlc {
    pub fn new(node: NodeId, max_offset_us: u64) -> Self {
        Hlc { node, wall: 0, logical: 0, max_offset_us }
    }

    /// A clock that resumes after `last`, e.g. from a persisted upper bound after a restart.
    pub fn resume(node: NodeId, max_offset_us: u64, last: Timestamp) -> Self {
        Hlc { node, wall: last.wall, logical: last.logical, max_offset_us }
    }

    pub fn node(&self) -> NodeId {
        self.node
    }

    pub fn max_offset_us(&self) -> u64 {
        self.max_offset_us
    }

    /// The last timestamp issued, without ticking.
    pub fn peek(&self) -> Timestamp {
        Timestamp::new(self.wall, self.logical, self.node)
    }

    /// A local or send event (Figure 5, "send or local event").
    pub fn now(&mut self, env: &Env<'_>) -> Timestamp {
        self.now_at(env.now)
    }

    /// [`Hlc::now`] with an explicit physical reading `pt`.
    pub fn now_at(&mut self, pt: Micros) -> Timestamp {
        if pt > self.wall {
            self.wall = pt;
            self.logical = 0;
        } else {
            // Saturation is unreachable with honest peers: `update` refuses overflow first.
            self.logical = self.logical.saturating_add(1);
        }
        self.peek()
    }

    /// A receive event (Figure 5, "receive event of message m"), refusing a remote stamp
    /// that lies more than `max_offset` ahead of our physical clock.
    pub fn update(&mut self, remote: &Timestamp, env: &Env<'_>) -> Result<Timestamp, ClockError> {
        self.update_at(remote, env.now)
    }

    /// [`Hlc::update`] with an explicit physical reading `pt`.
    pub fn update_at(&mut self, remote: &Timestamp, pt: Micros) -> Result<Timestamp, ClockError> {
        if remote.wall > pt.saturating_add(self.max_offset_us) {
            return Err(ClockError::TooFarAhead {
                remote: *remote,
                physical: pt,
                ahead_us: remote.wall - pt,
                max_offset_us: self.max_offset_us,
            });
        }
        let wall = self.wall.max(remote.wall).max(pt);
        let logical = if wall == self.wall && wall == remote.wall {
            self.logical.max(remote.logical).checked_add(1)
        } else if wall == self.wall {
            self.logical.checked_add(1)
        } else if wall == remote.wall {
            remote.logical.checked_add(1)
        } else {
            Some(0)
        };
        let logical = logical.ok_or(ClockError::LogicalOverflow { wall })?;
        self.wall = wall;
        self.logical = logical;
        Ok(self.peek())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn ts(w: u64, c: u32, n: u32) -> Timestamp {
        Timestamp::new(w, c, NodeId(n))
    }

    #[test]
    fn local_events_are_strictly_monotonic_even_if_physical_time_stalls_or_goes_back() {
        let mut h = Hlc::new(NodeId(1), 1000);
        let a = h.now_at(100);
        let b = h.now_at(100);
        let c = h.now_at(50);
        let d = h.now_at(200);
        assert!(a < b && b < c && c < d);
        assert_eq!(c, ts(100, 2, 1));
        assert_eq!(d, ts(200, 0, 1));
    }

    #[test]
    fn receive_is_after_both_local_and_remote() {
        let mut h = Hlc::new(NodeId(2), 1_000_000);
        h.now_at(100);
        let remote = ts(500, 7, 1);
        let r = h.update_at(&remote, 120).unwrap();
        assert!(r > remote);
        assert_eq!(r, ts(500, 8, 2));
        // Equal walls: max of the counters plus one.
        let r2 = h.update_at(&ts(500, 20, 3), 130).unwrap();
        assert_eq!(r2, ts(500, 21, 2));
        // Physical time overtakes everything: counter resets.
        assert_eq!(h.update_at(&ts(10, 0, 3), 900).unwrap(), ts(900, 0, 2));
    }

    #[test]
    fn remote_stamp_too_far_ahead_is_refused_and_clock_unchanged() {
        let mut h = Hlc::new(NodeId(0), 1000);
        let before = h.now_at(5000);
        let err = h.update_at(&ts(7001, 0, 1), 6000).unwrap_err();
        assert!(matches!(err, ClockError::TooFarAhead { ahead_us: 1001, .. }));
        assert_eq!(h.peek(), before);
        assert!(h.update_at(&ts(7000, 0, 1), 6000).is_ok());
    }

    #[test]
    fn logical_overflow_is_an_error_not_a_wrap() {
        let mut h = Hlc::new(NodeId(0), 1000);
        assert!(matches!(
            h.update_at(&ts(10, u32::MAX, 1), 10),
            Err(ClockError::LogicalOverflow { wall: 10 })
        ));
    }

    #[test]
    fn display_and_parse_round_trip() {
        let t = ts(1_790_000_000_000_000, 3, 2);
        assert_eq!(t.to_string(), "1790000000000000.3@2");
        assert_eq!("1790000000000000.3@2".parse::<Timestamp>().unwrap(), t);
        assert_eq!("5.1".parse::<Timestamp>().unwrap(), Timestamp::upper(5, 1));
        for bad in ["", "5", "5.", ".1", "a.1@2", "5.1@", "5.1@x", "5.99999999999@1", "-1.0@1", "+1.0@1"] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad:?} parsed");
        }
    }
}
