//! Authenticated TCP transport between replicas, and the server side of client links.
//!
//! Every node dials every peer and only writes on the connection it dialed; connections
//! it accepts are only read. See `handshake` for the identity proof and frame MACs.

pub mod frame;
pub mod handshake;
mod link;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

#[allow(unused_imports)] // part of the API the node matches on; unused by the binary so far
pub use frame::{FrameError, FrameReader, FrameWriter};

pub const DEFAULT_MAX_FRAME: usize = 4 << 20;
/// A silent or slow connection gives up its handshake slot after this long.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);
/// Inbound connections that may be in their handshake at once.
const MAX_PENDING_HANDSHAKES: usize = 64;
const PEER_FRAME_CAPACITY: usize = 65536;
const CLIENT_CAPACITY: usize = 256;

#[derive(Clone, Debug)]
pub struct PeerInfo {
    pub id: u32,
    pub addr: SocketAddr,
    pub key: ed25519_dalek::VerifyingKey,
}

pub struct TransportConfig {
    pub me: u32,
    pub signing: ed25519_dalek::SigningKey,
    /// Already bound by the caller.
    pub listener: tokio::net::TcpListener,
    /// The allow-list; excludes `me`.
    pub peers: Vec<PeerInfo>,
    pub max_frame: usize,
    /// Per outbound peer, in frames.
    pub queue_depth: usize,
}

/// One authenticated frame from a replica peer. The payload is a slice of the link's read
/// buffer (about 1 MiB, or one large frame), shared with the other frames read into it: a
/// payload kept for long keeps that buffer allocated, so copy out what is to be kept.
pub struct PeerFrame {
    pub from: u32,
    pub payload: bytes::Bytes,
}

/// A client connection, after the server side of the client handshake.
pub struct ClientConn {
    pub addr: SocketAddr,
    pub reader: FrameReader<OwnedReadHalf>,
    pub writer: FrameWriter<OwnedWriteHalf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerState {
    Connected,
    Connecting,
    Down,
}

/// Why a connection or frame was refused; the fixed set exported as counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Garbage,
    Oversize,
    UnknownPeer,
    BadSignature,
    Replay,
    BadMac,
    HandshakeTimeout,
    QueueFull,
}

impl Reason {
    pub const ALL: [Reason; 8] = [
        Reason::Garbage,
        Reason::Oversize,
        Reason::UnknownPeer,
        Reason::BadSignature,
        Reason::Replay,
        Reason::BadMac,
        Reason::HandshakeTimeout,
        Reason::QueueFull,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Reason::Garbage => "garbage",
            Reason::Oversize => "oversize",
            Reason::UnknownPeer => "unknown_peer",
            Reason::BadSignature => "bad_signature",
            Reason::Replay => "replay",
            Reason::BadMac => "bad_mac",
            Reason::HandshakeTimeout => "handshake_timeout",
            Reason::QueueFull => "queue_full",
        }
    }
}

/// Counters for /metrics. Bytes are wire bytes of replica data frames (prefix and MAC
/// envelope included); handshakes and client links are not counted.
#[derive(Default)]
pub struct NetCounters {
    rejected: [AtomicU64; Reason::ALL.len()],
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    frames_in: AtomicU64,
    frames_out: AtomicU64,
    dials: AtomicU64,
}

impl NetCounters {
    /// Every reason, zero included, in a fixed order.
    pub fn rejected(&self) -> Vec<(&'static str, u64)> {
        Reason::ALL.iter().map(|&r| (r.name(), self.rejected[r as usize].load(Ordering::Relaxed))).collect()
    }

    #[cfg(test)]
    pub fn rejected_for(&self, reason: Reason) -> u64 {
        self.rejected[reason as usize].load(Ordering::Relaxed)
    }

    pub fn bytes_in(&self) -> u64 {
        self.bytes_in.load(Ordering::Relaxed)
    }

    pub fn bytes_out(&self) -> u64 {
        self.bytes_out.load(Ordering::Relaxed)
    }

    pub fn frames_in(&self) -> u64 {
        self.frames_in.load(Ordering::Relaxed)
    }

    pub fn frames_out(&self) -> u64 {
        self.frames_out.load(Ordering::Relaxed)
    }

    /// Outbound connection attempts to replicas (the first of each link included).
    pub fn dials(&self) -> u64 {
        self.dials.load(Ordering::Relaxed)
    }

    fn reject(&self, reason: Reason, remote: impl std::fmt::Display) {
        self.rejected[reason as usize].fetch_add(1, Ordering::Relaxed);
        tracing::warn!(reason = reason.name(), %remote, "net: rejected");
    }

    fn count_in(&self, frames: u64, wire_bytes: u64) {
        if frames > 0 {
            self.frames_in.fetch_add(frames, Ordering::Relaxed);
            self.bytes_in.fetch_add(wire_bytes, Ordering::Relaxed);
        }
    }

    fn count_out(&self, frames: u64, wire_bytes: u64) {
        self.frames_out.fetch_add(frames, Ordering::Relaxed);
        self.bytes_out.fetch_add(wire_bytes, Ordering::Relaxed);
    }
}

struct Outbound {
    id: u32,
    queue: mpsc::Sender<Vec<u8>>,
    state: Arc<AtomicU8>,
    /// Woken when the peer proves itself on an inbound link: it is up, so dial now
    /// instead of at the end of the backoff.
    redial: Arc<tokio::sync::Notify>,
}

struct Shared {
    counters: NetCounters,
    outbound: Vec<Outbound>,
    max_frame: usize,
    shutdown: tokio::sync::watch::Sender<bool>,
}

#[derive(Clone)]
pub struct Transport {
    shared: Arc<Shared>,
}

fn state_from(v: u8) -> PeerState {
    match v {
        0 => PeerState::Connected,
        1 => PeerState::Connecting,
        _ => PeerState::Down,
    }
}

fn state_to(s: PeerState) -> u8 {
    match s {
        PeerState::Connected => 0,
        PeerState::Connecting => 1,
        PeerState::Down => 2,
    }
}

impl Shared {
    /// Peer `id` just proved itself inbound: cut its outbound link's backoff short.
    fn peer_is_up(&self, id: u32) {
        if let Some(o) = self.outbound.iter().find(|o| o.id == id)
            && state_from(o.state.load(Ordering::Relaxed)) != PeerState::Connected
        {
            o.redial.notify_one();
        }
    }
}

impl Transport {
    /// Queue `payload` for peer `to`. Never blocks: returns false (and counts the drop)
    /// when the peer is unknown or its bounded queue is full.
    pub fn send(&self, to: u32, payload: Vec<u8>) -> bool {
        let Some(out) = self.shared.outbound.iter().find(|o| o.id == to) else {
            self.shared.counters.reject(Reason::UnknownPeer, format_args!("peer {to} (send)"));
            return false;
        };
        if payload.len() > self.shared.max_frame {
            self.shared.counters.reject(Reason::Oversize, format_args!("peer {to} (send)"));
            return false;
        }
        match out.queue.try_send(payload) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.shared.counters.reject(Reason::QueueFull, format_args!("peer {to} (send)"));
                false
            }
            // Closed only after shutdown.
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    pub fn counters(&self) -> &NetCounters {
        &self.shared.counters
    }

    /// Whether peer `id`'s outbound link is down: its last dial or connection failed and it
    /// waits to dial again. Over TCP this is what a sender learns as a refused or reset
    /// connection; frames queued for the peer still go out if it comes back.
    pub fn is_down(&self, id: u32) -> bool {
        self.shared
            .outbound
            .iter()
            .find(|o| o.id == id)
            .is_some_and(|o| state_from(o.state.load(Ordering::Relaxed)) == PeerState::Down)
    }

    /// Each configured peer and whether its outbound link is up.
    pub fn peer_states(&self) -> Vec<(u32, PeerState)> {
        self.shared.outbound.iter().map(|o| (o.id, state_from(o.state.load(Ordering::Relaxed)))).collect()
    }

    /// Stop accepting and dialing; close links.
    pub fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
        for o in &self.shared.outbound {
            o.state.store(state_to(PeerState::Down), Ordering::Relaxed);
        }
    }
}

pub async fn start(
    cfg: TransportConfig,
) -> std::io::Result<(Transport, mpsc::Receiver<PeerFrame>, mpsc::Receiver<ClientConn>)> {
    if cfg.queue_depth == 0 {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "queue_depth must be at least 1"));
    }
    let (shutdown, _) = tokio::sync::watch::channel(false);
    let signing = Arc::new(cfg.signing);
    let mut outbound = Vec::with_capacity(cfg.peers.len());
    let mut link_queues = Vec::with_capacity(cfg.peers.len());
    for peer in &cfg.peers {
        let (tx, rx) = mpsc::channel(cfg.queue_depth);
        let state = Arc::new(AtomicU8::new(state_to(PeerState::Connecting)));
        let redial = Arc::new(tokio::sync::Notify::new());
        outbound.push(Outbound { id: peer.id, queue: tx, state: state.clone(), redial: redial.clone() });
        link_queues.push((peer.clone(), rx, state, redial));
    }
    let shared =
        Arc::new(Shared { counters: NetCounters::default(), outbound, max_frame: cfg.max_frame, shutdown });
    let (peer_tx, peer_rx) = mpsc::channel(PEER_FRAME_CAPACITY);
    let (client_tx, client_rx) = mpsc::channel(CLIENT_CAPACITY);
    for (peer, rx, state, redial) in link_queues {
        tokio::spawn(link::outbound(link::OutboundCtx {
            me: cfg.me,
            signing: signing.clone(),
            peer,
            queue: rx,
            state,
            redial,
            shared: shared.clone(),
        }));
    }
    tokio::spawn(link::accept_loop(link::AcceptCtx {
        me: cfg.me,
        signing,
        listener: cfg.listener,
        peers: Arc::new(cfg.peers),
        shared: shared.clone(),
        peer_tx,
        client_tx,
        handshakes: Arc::new(tokio::sync::Semaphore::new(MAX_PENDING_HANDSHAKES)),
    }));
    Ok((Transport { shared }, peer_rx, client_rx))
}

/// Client side: connect, do the client handshake, and if `expect` is given check that the
/// server proved that Ed25519 identity.
pub async fn connect_client(
    addr: SocketAddr,
    expect: Option<ed25519_dalek::VerifyingKey>,
    max_frame: usize,
) -> anyhow::Result<(FrameReader<OwnedReadHalf>, FrameWriter<OwnedWriteHalf>)> {
    use anyhow::Context as _;
    let stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, tokio::net::TcpStream::connect(addr))
        .await
        .with_context(|| format!("connecting to {addr}: timed out"))?
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let (r, w) = stream.into_split();
    let (mut reader, mut writer) = (FrameReader::new(r, max_frame), FrameWriter::new(w, max_frame));
    tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake::client(&mut reader, &mut writer, expect.as_ref()))
        .await
        .with_context(|| format!("handshake with {addr}: timed out"))?
        .map_err(|e| match e {
            // An answer that is no frame at all: another protocol listens there.
            handshake::HandshakeError::Rejected(Reason::Oversize) => anyhow::anyhow!(
                "handshake with {addr}: the answer is not a Void frame; is {addr} a node's transport `addr` \
                 (not its `http` port)?"
            ),
            e => anyhow::Error::new(e).context(format!("handshake with {addr}")),
        })?;
    Ok((reader, writer))
}

#[cfg(test)]
mod tests;
