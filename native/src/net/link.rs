//! Outbound link tasks (dial, handshake, drain the queue; reconnect with backoff) and the
//! inbound accept loop (handshake, then read and verify frames).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};

use super::frame::{FrameError, FrameReader, FrameWriter};
use super::handshake::{self, Accepted, HandshakeError, OVERHEAD};
use super::{ClientConn, HANDSHAKE_TIMEOUT, PeerFrame, PeerInfo, PeerState, Reason, Shared, state_to};

const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Frames written between flushes at most, so a busy queue still flushes regularly.
const BATCH_MAX: usize = 1024;

pub(super) struct OutboundCtx {
    pub me: u32,
    pub signing: Arc<SigningKey>,
    pub peer: PeerInfo,
    pub queue: mpsc::Receiver<Vec<u8>>,
    pub state: Arc<AtomicU8>,
    pub redial: Arc<tokio::sync::Notify>,
    pub shared: Arc<Shared>,
}

async fn stopped(rx: &mut watch::Receiver<bool>) {
    // An error means the sender is gone, which also means stop.
    let _ = rx.wait_for(|s| *s).await;
}

/// A uniformly drawn duration in [d/2, d], so reconnecting peers do not dial in lockstep.
fn jitter(d: Duration) -> Duration {
    let mut b = [0u8; 4];
    let r = if getrandom::fill(&mut b).is_ok() { u32::from_be_bytes(b) } else { u32::MAX };
    let half = d / 2;
    half + half.mul_f64(r as f64 / u32::MAX as f64)
}

pub(super) async fn outbound(mut ctx: OutboundCtx) {
    let mut shutdown = ctx.shared.shutdown.subscribe();
    let mut backoff = MIN_BACKOFF;
    loop {
        ctx.state.store(state_to(PeerState::Connecting), Ordering::Relaxed);
        let result = tokio::select! {
            _ = stopped(&mut shutdown) => break,
            r = run_link(&mut ctx, &mut backoff) => r,
        };
        match result {
            Ok(()) => break, // the transport is gone
            Err(e) => tracing::debug!(peer = ctx.peer.id, addr = %ctx.peer.addr, "net: link down: {e}"),
        }
        ctx.state.store(state_to(PeerState::Down), Ordering::Relaxed);
        tokio::select! {
            _ = stopped(&mut shutdown) => break,
            _ = tokio::time::sleep(jitter(backoff)) => backoff = (backoff * 2).min(MAX_BACKOFF),
            // The peer just dialled us, so it is listening: frames queued for it (a
            // gossip Join sent at start-up) go out now, not seconds later.
            _ = ctx.redial.notified() => backoff = MIN_BACKOFF,
        }
    }
    ctx.state.store(state_to(PeerState::Down), Ordering::Relaxed);
}

/// One connection's life: dial, handshake, then write queued frames until an error.
/// `Ok(())` only when the queue's sender side is gone.
async fn run_link(ctx: &mut OutboundCtx, backoff: &mut Duration) -> Result<(), String> {
    let addr = ctx.peer.addr;
    ctx.shared.counters.dials.fetch_add(1, Ordering::Relaxed);
    let stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (r, w) = stream.into_split();
    let wire_max = ctx.shared.max_frame + OVERHEAD;
    let mut reader = FrameReader::new(r, wire_max);
    let mut writer = FrameWriter::new(w, wire_max);
    let hs = handshake::dial(&mut reader, &mut writer, ctx.me, &ctx.signing, ctx.peer.id, &ctx.peer.key);
    let mut sealer = match tokio::time::timeout(HANDSHAKE_TIMEOUT, hs).await {
        Ok(Ok(s)) => s,
        Ok(Err(HandshakeError::Rejected(reason))) => {
            ctx.shared.counters.reject(reason, addr);
            return Err(format!("handshake rejected: {}", reason.name()));
        }
        Ok(Err(HandshakeError::Io(e))) => return Err(format!("handshake: {e}")),
        Err(_) => {
            ctx.shared.counters.reject(Reason::HandshakeTimeout, addr);
            return Err("handshake timed out".into());
        }
    };
    ctx.state.store(state_to(PeerState::Connected), Ordering::Relaxed);
    *backoff = MIN_BACKOFF;
    // The acceptor never writes after the handshake: anything readable means it closed.
    let mut read_half = reader.into_inner();
    let mut probe = [0u8; 1];
    loop {
        let first = tokio::select! {
            f = ctx.queue.recv() => match f {
                Some(f) => f,
                None => return Ok(()),
            },
            r = read_half.read(&mut probe) => {
                return Err(match r {
                    Ok(0) => "closed by peer".into(),
                    Ok(_) => "unexpected bytes from acceptor".into(),
                    Err(e) => format!("read: {e}"),
                });
            }
        };
        let (mut frames, mut bytes) = (0u64, 0u64);
        let mut next = Some(first);
        while let Some(payload) = next.take() {
            let (seq, tag) = sealer.seal(&payload);
            writer.write_parts(&[&seq, &payload, &tag]).await.map_err(|e| format!("write: {e}"))?;
            frames += 1;
            bytes += (4 + OVERHEAD + payload.len()) as u64;
            if frames < BATCH_MAX as u64 {
                next = ctx.queue.try_recv().ok();
            }
        }
        writer.flush().await.map_err(|e| format!("flush: {e}"))?;
        ctx.shared.counters.count_out(frames, bytes);
    }
}

pub(super) struct AcceptCtx {
    pub me: u32,
    pub signing: Arc<SigningKey>,
    pub listener: TcpListener,
    pub peers: Arc<Vec<PeerInfo>>,
    pub shared: Arc<Shared>,
    pub peer_tx: mpsc::Sender<PeerFrame>,
    pub client_tx: mpsc::Sender<ClientConn>,
    pub handshakes: Arc<Semaphore>,
}

struct InboundCtx {
    me: u32,
    signing: Arc<SigningKey>,
    peers: Arc<Vec<PeerInfo>>,
    shared: Arc<Shared>,
    peer_tx: mpsc::Sender<PeerFrame>,
    client_tx: mpsc::Sender<ClientConn>,
}

pub(super) async fn accept_loop(ctx: AcceptCtx) {
    let AcceptCtx { me, signing, listener, peers, shared, peer_tx, client_tx, handshakes } = ctx;
    let mut shutdown = shared.shutdown.subscribe();
    let inbound_ctx = Arc::new(InboundCtx { me, signing, peers, shared, peer_tx, client_tx });
    loop {
        let (stream, addr) = tokio::select! {
            _ = stopped(&mut shutdown) => break,
            r = listener.accept() => match r {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of descriptors and the like: back off briefly, keep accepting.
                    tracing::warn!("net: accept failed: {e}");
                    tokio::time::sleep(MIN_BACKOFF).await;
                    continue;
                }
            },
        };
        let Ok(permit) = handshakes.clone().try_acquire_owned() else {
            tracing::warn!(remote = %addr, "net: too many pending handshakes; closing");
            continue;
        };
        tokio::spawn(inbound(inbound_ctx.clone(), stream, addr, permit, shutdown.clone()));
    }
}

async fn inbound(
    ctx: Arc<InboundCtx>,
    stream: TcpStream,
    addr: SocketAddr,
    permit: OwnedSemaphorePermit,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let (r, w) = stream.into_split();
    let max_frame = ctx.shared.max_frame;
    let mut reader = FrameReader::new(r, max_frame + OVERHEAD);
    let mut writer = FrameWriter::new(w, max_frame);
    let lookup = |id: u32| ctx.peers.iter().find(|p| p.id == id).map(|p| p.key);
    let hs = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        handshake::accept(&mut reader, &mut writer, ctx.me, &ctx.signing, lookup),
    );
    let hs = tokio::select! {
        _ = stopped(&mut shutdown) => return,
        r = hs => r,
    };
    drop(permit);
    let counters = &ctx.shared.counters;
    let (id, mut opener) = match hs {
        Ok(Ok(Accepted::Peer { id, opener })) => {
            ctx.shared.peer_is_up(id);
            (id, opener)
        }
        Ok(Ok(Accepted::Client)) => {
            reader.set_max_frame(max_frame);
            if ctx.client_tx.try_send(ClientConn { addr, reader, writer }).is_err() {
                tracing::warn!(remote = %addr, "net: client queue full or closed; closing client connection");
            }
            return;
        }
        Ok(Err(HandshakeError::Rejected(reason))) => return counters.reject(reason, addr),
        Ok(Err(HandshakeError::Io(e))) => {
            tracing::debug!(remote = %addr, "net: inbound handshake failed: {e}");
            return;
        }
        Err(_) => return counters.reject(Reason::HandshakeTimeout, addr),
    };
    loop {
        let frame = tokio::select! {
            _ = stopped(&mut shutdown) => return,
            r = reader.read() => r,
        };
        let frame = match frame {
            Ok(Some(f)) => f,
            Ok(None) => return,
            Err(FrameError::TooLarge { .. }) => return counters.reject(Reason::Oversize, addr),
            Err(FrameError::Io(e)) => {
                tracing::debug!(remote = %addr, peer = id, "net: inbound link closed: {e}");
                return;
            }
        };
        let wire = 4 + frame.len();
        let payload = match opener.open(frame) {
            Ok(p) => p,
            Err(reason) => return counters.reject(reason, addr),
        };
        counters.count_in(wire);
        tokio::select! {
            _ = stopped(&mut shutdown) => return,
            r = ctx.peer_tx.send(PeerFrame { from: id, payload }) => if r.is_err() { return },
        }
    }
}
