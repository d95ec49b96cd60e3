//! The trace: every event of a run, in order. Its postcard encoding, hashed with SHA-256,
//! is the run's fingerprint (`trace_hash`).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::Timestamp;
use crate::effect::{Message, Micros, NodeId, Protocol, ProtocolEvent};

/// Why the network did not deliver a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DropReason {
    Loss,
    Partition,
    /// The destination was down when the message arrived.
    Crashed,
    /// A link fault dropped it.
    LinkFault,
}

impl DropReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Loss => "lost",
            DropReason::Partition => "partitioned",
            DropReason::Crashed => "destination crashed",
            DropReason::LinkFault => "dropped by link fault",
        }
    }
}

/// What happened at one event.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum TraceKind<P: Protocol> {
    Start,
    Crash,
    Restart,
    /// `msg` from `from` arrives; it was sent at `sent_at` (virtual time) while the sender
    /// handled event `cause`, when the sender's HLC read `sender_hlc`.
    Deliver {
        id: u64,
        from: NodeId,
        sent_at: Micros,
        cause: u64,
        sender_hlc: Option<Timestamp>,
        msg: P::Msg,
    },
    /// A message sent by this event's node to `to` that the network did not deliver.
    Drop {
        id: u64,
        to: NodeId,
        reason: DropReason,
        msg: P::Msg,
    },
    Timer(P::Timer),
    Command(P::Command),
    Reply(P::Reply),
    Observe(P::Event),
    Unreachable {
        peer: NodeId,
    },
    Partition {
        groups: Vec<Vec<u32>>,
    },
    Heal,
    ClockJump {
        by_us: i64,
    },
    Misbehave(String),
    LinkFault {
        to: NodeId,
        drop: f64,
        duplicate: f64,
        delay_us: u64,
        until: Micros,
    },
    /// `msg` leaves this event's node for `to`. Only real nodes record sends (the
    /// simulator's deliveries and drops name their sending event); `id` is the key the
    /// receiver's `Deliver` carries too. Last, so that older variants keep their encoding.
    Send {
        id: u64,
        to: NodeId,
        msg: P::Msg,
    },
}

/// One event of a run.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct TraceEvent<P: Protocol> {
    /// Position in the trace, from 0.
    pub index: u64,
    /// Virtual time in microseconds since the start of the run.
    pub time: Micros,
    pub node: NodeId,
    pub kind: TraceKind<P>,
}

/// A protocol-independent view of an event, for displays and exports.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EventView {
    pub index: u64,
    pub time: Micros,
    pub node: u32,
    /// `deliver`, `drop`, `timer`, `command`, `reply`, `observe`, `fault`, `network`, `start`, ...
    pub category: String,
    /// Message or event kind (`Ping`, `Prepared`, ...), or the fault's name.
    pub kind: String,
    /// For deliveries: the sender, when it sent, and the event that sent it.
    pub from: Option<u32>,
    pub sent_at: Option<Micros>,
    pub cause: Option<u64>,
    /// For deliveries, drops and sends: the message's id (a real node's send and its
    /// delivery share it).
    #[serde(default)]
    pub id: Option<u64>,
    /// For drops: the intended destination, and why it was not reached.
    pub to: Option<u32>,
    #[serde(default)]
    pub dropped: Option<DropReason>,
    /// HLC stamp the event carries (observed events) or the sender's (deliveries).
    pub hlc: Option<String>,
    /// The one line a human reads: what happened and why.
    pub text: String,
    /// Rejected messages: the reason.
    pub rejected: Option<String>,
}

impl EventView {
    /// Whether the event belongs to the whole network rather than to the node it is filed
    /// under: partitions and heals are recorded at node 0.
    pub fn network_wide(&self) -> bool {
        self.category == "fault" && matches!(self.kind.as_str(), "Partition" | "Heal")
    }
}

/// What tallies need of an event (its category, kind and any refusal), without its text.
#[derive(Clone, Debug, PartialEq)]
pub struct EventBrief {
    pub index: u64,
    pub time: Micros,
    pub node: u32,
    /// As [`EventView::category`].
    pub category: &'static str,
    /// As [`EventView::kind`].
    pub kind: &'static str,
    pub rejected: Option<String>,
}

impl<P: Protocol> TraceEvent<P> {
    /// The event's category and kind, as its view names them.
    pub fn category_kind(&self) -> (&'static str, &'static str) {
        match &self.kind {
            TraceKind::Start => ("start", "Start"),
            TraceKind::Crash => ("fault", "Crash"),
            TraceKind::Restart => ("fault", "Restart"),
            TraceKind::Deliver { msg, .. } => ("deliver", msg.kind()),
            TraceKind::Drop { msg, .. } => ("drop", msg.kind()),
            TraceKind::Timer(_) => ("timer", "Timer"),
            TraceKind::Command(_) => ("command", "Command"),
            TraceKind::Reply(_) => ("reply", "Reply"),
            TraceKind::Observe(e) => ("observe", e.kind()),
            // Not a fault itself: the network telling a sender about one (a crashed peer).
            TraceKind::Unreachable { .. } => ("network", "Unreachable"),
            TraceKind::Partition { .. } => ("fault", "Partition"),
            TraceKind::Heal => ("fault", "Heal"),
            TraceKind::ClockJump { .. } => ("fault", "ClockJump"),
            TraceKind::Misbehave(_) => ("fault", "Misbehave"),
            TraceKind::LinkFault { .. } => ("fault", "LinkFault"),
            TraceKind::Send { msg, .. } => ("send", msg.kind()),
        }
    }

    /// The event for tallies: [`TraceEvent::view`] without formatting its text.
    pub fn brief(&self) -> EventBrief {
        let (category, kind) = self.category_kind();
        let rejected = match &self.kind {
            TraceKind::Observe(e) => e.rejection().map(String::from),
            _ => None,
        };
        EventBrief { index: self.index, time: self.time, node: self.node.0, category, kind, rejected }
    }

    pub fn view(&self) -> EventView {
        let (category, kind) = self.category_kind();
        let mut v = EventView {
            index: self.index,
            time: self.time,
            node: self.node.0,
            category: category.into(),
            kind: kind.into(),
            ..EventView::default()
        };
        v.text = match &self.kind {
            TraceKind::Start => format!("node {} boots", self.node),
            TraceKind::Crash => format!("node {} crashes and loses its volatile state", self.node),
            TraceKind::Restart => format!("node {} restarts with what it persisted", self.node),
            TraceKind::Deliver { id, from, sent_at, cause, sender_hlc, msg } => {
                v.id = Some(*id);
                v.from = Some(from.0);
                v.sent_at = Some(*sent_at);
                v.cause = Some(*cause);
                v.hlc = sender_hlc.map(|t| format!("{t}"));
                format!("node {} receives {} from node {from}", self.node, msg.kind())
            }
            TraceKind::Drop { id, to, reason, msg } => {
                v.id = Some(*id);
                v.to = Some(to.0);
                v.dropped = Some(*reason);
                format!("{} from node {} to node {to} is {}", msg.kind(), self.node, reason.as_str())
            }
            TraceKind::Timer(t) => format!("timer {t:?} fires at node {}", self.node),
            TraceKind::Command(c) => format!("node {} is asked: {c:?}", self.node),
            TraceKind::Reply(r) => format!("node {} answers: {r:?}", self.node),
            TraceKind::Observe(e) => {
                v.hlc = e.hlc().map(|t| format!("{t}"));
                v.rejected = e.rejection().map(String::from);
                e.describe()
            }
            TraceKind::Unreachable { peer } => format!("node {} finds node {peer} unreachable", self.node),
            TraceKind::Partition { groups } => format!("network splits into {groups:?}"),
            TraceKind::Heal => "a partition heals".into(),
            TraceKind::ClockJump { by_us } => {
                format!("node {}'s physical clock jumps by {by_us} us", self.node)
            }
            TraceKind::Misbehave(b) => format!("fault: node {} is told to behave {b}", self.node),
            TraceKind::LinkFault { to, drop, duplicate, delay_us, until } => format!(
                "link {}→{to}: drop {drop}, duplicate {duplicate}, delay {delay_us} us until t={until} us",
                self.node
            ),
            TraceKind::Send { id, to, msg } => {
                v.id = Some(*id);
                v.to = Some(to.0);
                format!("node {} sends {} to node {to}", self.node, msg.kind())
            }
        };
        v
    }
}

/// Encoded events are hashed in chunks of about this many bytes: SHA-256 is a stream, so
/// the hash is the same, and whole blocks go through without per-event buffering.
const HASH_CHUNK: usize = 4096;

/// Hashes (and optionally keeps) the events of a run.
pub(crate) struct TraceSink<P: Protocol> {
    hasher: Sha256,
    buf: Vec<u8>,
    pub(crate) events: Option<Vec<TraceEvent<P>>>,
    pub(crate) count: u64,
    /// Off only to measure the engine alone (`void bench sim`); a run without it has no hash.
    pub(crate) hashing: bool,
}

impl<P: Protocol> TraceSink<P> {
    pub(crate) fn new(record: bool) -> Self {
        TraceSink {
            hasher: Sha256::new(),
            buf: Vec::with_capacity(HASH_CHUNK + 256),
            events: record.then(Vec::new),
            count: 0,
            hashing: true,
        }
    }

    pub(crate) fn absorb(&mut self, ev: &TraceEvent<P>) {
        self.count += 1;
        if !self.hashing {
            return;
        }
        // Encoding into a Vec cannot fail for these types; an error would only skip bytes.
        let _ = postcard::serialize_with_flavor(ev, Bytes(&mut self.buf));
        if self.buf.len() >= HASH_CHUNK {
            self.hasher.update(&self.buf);
            self.buf.clear();
        }
    }

    pub(crate) fn hash(&self) -> [u8; 32] {
        let mut h = self.hasher.clone();
        h.update(&self.buf);
        h.finalize().into()
    }
}

/// Reads a trace written as JSON lines (`void sim --dump-trace`, the playground's export)
/// and hashes it exactly as the simulator did: event count and `trace_hash`.
pub fn rehash_jsonl<P: Protocol>(text: &str) -> Result<(u64, String), String> {
    let mut sink = TraceSink::<P>::new(false);
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let ev: TraceEvent<P> = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1))?;
        if ev.index != sink.count {
            return Err(format!(
                "line {}: event {} where event {} was expected",
                n + 1,
                ev.index,
                sink.count
            ));
        }
        sink.absorb(&ev);
    }
    Ok((sink.count, hex(&sink.hash())))
}

/// Postcard's output pushed byte by byte onto a reused buffer. The same bytes as
/// `postcard::to_extend`, which copies each varint of one to three bytes with a call.
struct Bytes<'a>(&'a mut Vec<u8>);

impl postcard::ser_flavors::Flavor for Bytes<'_> {
    type Output = ();

    #[inline]
    fn try_push(&mut self, b: u8) -> postcard::Result<()> {
        self.0.push(b);
        Ok(())
    }

    #[inline]
    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        for &b in data {
            self.0.push(b);
        }
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// Lower-case hex of a hash.
pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}
