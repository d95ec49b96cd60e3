//! The effect boundary: the seed's algebraic effects as plain data.
//!
//! A protocol is a state machine. It never reads a clock, draws OS randomness or touches
//! a socket; it receives an [`Input`] together with an [`Env`] (a reading of its node's
//! physical clock and a seeded RNG) and pushes [`Effect`]s for a driver to carry out.
//! The simulator, the native tokio node and the browser are such drivers.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;

/// Microseconds, of virtual time in the simulator and of real time natively.
pub type Micros = u64;

/// Milliseconds to microseconds, saturating.
pub const fn ms(ms: u64) -> Micros {
    ms.saturating_mul(1000)
}

/// A node's index in its cluster, 0-based, the same in the simulator, on the wire and in the UI.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub u32);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl NodeId {
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// The deterministic RNG every protocol draws from. Natively it is seeded from the OS;
/// in the simulator from the run's seed and the node id.
///
/// All draws go through `u64` so that 32-bit wasm and 64-bit hosts consume identical bits.
#[derive(Clone, Debug)]
pub struct DetRng(ChaCha8Rng);

impl DetRng {
    pub fn seed_from_u64(seed: u64) -> Self {
        DetRng(ChaCha8Rng::seed_from_u64(seed))
    }

    /// A stream derived from `seed` and a `stream` label, independent of other streams.
    pub fn derive(seed: u64, stream: u64) -> Self {
        // SplitMix64 of the pair keeps nearby seeds and streams far apart.
        let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        DetRng::seed_from_u64(z ^ (z >> 31))
    }

    pub fn from_seed_bytes(seed: [u8; 32]) -> Self {
        DetRng(ChaCha8Rng::from_seed(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    pub fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    pub fn fill_bytes(&mut self, dst: &mut [u8]) {
        self.0.fill_bytes(dst)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift with rejection); `n == 0` gives 0.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        loop {
            let m = (self.next_u64() as u128) * (n as u128);
            let lo = m as u64;
            if lo >= n.wrapping_neg() % n {
                return (m >> 64) as u64;
            }
        }
    }

    /// Uniform in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        match (hi - lo).checked_add(1) {
            Some(span) => lo + self.below(span),
            None => self.next_u64(),
        }
    }

    /// Uniform in `[0, 1)` with 53 bits of precision.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p` (clamped to [0, 1]).
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            false
        } else if p >= 1.0 {
            true
        } else {
            self.unit() < p
        }
    }

    /// The underlying ChaCha RNG, for crates that take a `rand_core` RNG (key generation).
    pub fn inner(&mut self) -> &mut ChaCha8Rng {
        &mut self.0
    }
}

/// What a protocol may know of the world when it handles an input.
pub struct Env<'a> {
    /// This node's physical clock reading (skewed and drifting in the simulator).
    pub now: Micros,
    pub rng: &'a mut DetRng,
    /// This node's own id.
    pub me: NodeId,
}

/// Durable state handed back to a restarted node: exactly what it persisted, by key.
pub type Persisted = crate::vecmap::VecMap<Vec<u8>, Vec<u8>>;

/// A message type: carries a short kind label (for colours, counters and legends).
pub trait Message: Clone + fmt::Debug + Serialize + DeserializeOwned {
    /// The message kind, in the paper's vocabulary (`"PrePrepare"`, `"Gossip"`, ...).
    fn kind(&self) -> &'static str;
    /// Whether this message carries application payload (counted by gossip's RMR).
    fn carries_payload(&self) -> bool {
        false
    }
    /// The sender's HLC stamp the message carries, if the protocol stamps its messages.
    fn hlc(&self) -> Option<Timestamp> {
        None
    }
}

/// An observed event: what happened, with the rule that made it happen.
pub trait ProtocolEvent: Clone + fmt::Debug + Serialize + DeserializeOwned {
    /// A short kind label (`"Prepared"`, `"Prune"`, `"ClockRefused"`).
    fn kind(&self) -> &'static str;
    /// One line for a human: what happened and which rule of the paper caused it.
    fn describe(&self) -> String;
    /// The node's HLC stamp attached to this event, if the protocol keeps one.
    fn hlc(&self) -> Option<Timestamp> {
        None
    }
    /// A rejected message (bad MAC, outside the watermarks, ...): its reason.
    fn rejection(&self) -> Option<&str> {
        None
    }
}

/// A sans-IO protocol state machine.
pub trait Protocol {
    type Msg: Message;
    /// Timer identities; setting a timer that is already pending re-arms it.
    type Timer: Clone + Ord + core::hash::Hash + fmt::Debug + Serialize + DeserializeOwned;
    /// Commands from outside the cluster's protocol (a client, the workload, a button).
    type Command: Clone + fmt::Debug + Serialize + DeserializeOwned;
    /// Answers to commands.
    type Reply: Clone + fmt::Debug + Serialize + DeserializeOwned;
    type Event: ProtocolEvent;

    fn on_input(&mut self, input: Input<Self>, env: &mut Env<'_>, out: &mut Vec<Effect<Self>>);

    /// The role a viewer should see (`"primary"`, `"backup"`, `"client"`, `"gossip"`).
    fn role(&self) -> &'static str {
        "node"
    }

    /// Key facts for an inspector panel, in display order.
    fn inspect(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    /// The Byzantine behaviour this node was built with, if any (a node made faulty by
    /// the scenario's parameters rather than by a `misbehave` fault).
    fn misbehaviour(&self) -> Option<&'static str> {
        None
    }
}

/// Everything that can happen to a protocol.
pub enum Input<P: Protocol + ?Sized> {
    /// First boot, with no durable state.
    Start,
    /// Boot after a crash, with exactly what the node persisted.
    Restart(Persisted),
    Message {
        from: NodeId,
        msg: P::Msg,
    },
    Timer(P::Timer),
    Command(P::Command),
    /// The driver learned that `peer` cannot be reached (connection refused or lost).
    Unreachable {
        peer: NodeId,
    },
    /// Simulation only: switch this node to a named (possibly Byzantine) behaviour.
    Misbehave(String),
}

/// Everything a protocol can ask its driver to do.
pub enum Effect<P: Protocol + ?Sized> {
    Send {
        to: NodeId,
        msg: P::Msg,
    },
    SetTimer {
        timer: P::Timer,
        after: Micros,
    },
    CancelTimer(P::Timer),
    /// Make `key = value` durable (`None` deletes) before any later `Send` leaves the node.
    Persist {
        key: Vec<u8>,
        value: Option<Vec<u8>>,
    },
    Reply(P::Reply),
    Observe(P::Event),
    /// Free text for humans only; nothing parses it.
    Log(String),
}

impl<P: Protocol + ?Sized> fmt::Debug for Input<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Start => write!(f, "Start"),
            Input::Restart(p) => write!(f, "Restart({} keys)", p.len()),
            Input::Message { from, msg } => write!(f, "Message {{ from: {from}, msg: {msg:?} }}"),
            Input::Timer(t) => write!(f, "Timer({t:?})"),
            Input::Command(c) => write!(f, "Command({c:?})"),
            Input::Unreachable { peer } => write!(f, "Unreachable {{ peer: {peer} }}"),
            Input::Misbehave(b) => write!(f, "Misbehave({b})"),
        }
    }
}

impl<P: Protocol + ?Sized> fmt::Debug for Effect<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Effect::Send { to, msg } => write!(f, "Send {{ to: {to}, msg: {msg:?} }}"),
            Effect::SetTimer { timer, after } => write!(f, "SetTimer({timer:?}, {after}us)"),
            Effect::CancelTimer(t) => write!(f, "CancelTimer({t:?})"),
            Effect::Persist { key, value } => {
                write!(f, "Persist({} bytes key, {:?} bytes)", key.len(), value.as_ref().map(Vec::len))
            }
            Effect::Reply(r) => write!(f, "Reply({r:?})"),
            Effect::Observe(e) => write!(f, "Observe({e:?})"),
            Effect::Log(s) => write!(f, "Log({s})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_stays_in_range_and_is_deterministic() {
        let mut a = DetRng::seed_from_u64(7);
        let mut b = DetRng::seed_from_u64(7);
        for n in 1..200u64 {
            let x = a.below(n);
            assert!(x < n);
            assert_eq!(x, b.below(n));
        }
        assert_eq!(a.below(0), 0);
    }

    #[test]
    fn derived_streams_differ() {
        let mut a = DetRng::derive(1, 0);
        let mut b = DetRng::derive(1, 1);
        assert_ne!(a.next_u64(), b.next_u64());
    }

    #[test]
    fn chance_extremes() {
        let mut r = DetRng::seed_from_u64(1);
        assert!(!r.chance(0.0));
        assert!(r.chance(1.0));
        let hits = (0..10_000).filter(|_| r.chance(0.25)).count();
        assert!((2_000..3_000).contains(&hits), "{hits}");
    }
}
