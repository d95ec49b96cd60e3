//! Outbound link tasks (dial, handshake, drain the queue; reconnect with backoff) and the
//! inbound accept loop (handshake, then read and verify frames).

use std::io::IoSlice;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use bytes::Buf;
use ed25519_dalek::SigningKey;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};

use super::frame::{FrameBuf, FrameError, FrameReader, FrameWriter};
use super::handshake::{self, Accepted, HandshakeError, OVERHEAD, SEQ_LEN, Sealer, TAG_LEN};
use super::{ClientConn, HANDSHAKE_TIMEOUT, PeerFrame, PeerInfo, PeerState, Reason, Shared, state_to};

const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Frames taken off the queue at once at most.
const BATCH_MAX: usize = 1024;
/// Payload bytes sealed per vectored write (a single larger frame is one write).
const RUN_BYTES: usize = 256 * 1024;

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
    let mut w = writer.into_inner();
    let mut probe = [0u8; 1];
    let mut batch = Vec::with_capacity(BATCH_MAX);
    let mut staging = Staging::default();
    loop {
        // All queued frames at once: one channel operation and one wake-up per batch.
        tokio::select! {
            n = ctx.queue.recv_many(&mut batch, BATCH_MAX) => if n == 0 { return Ok(()) },
            r = read_half.read(&mut probe) => {
                return Err(match r {
                    Ok(0) => "closed by peer".into(),
                    Ok(_) => "unexpected bytes from acceptor".into(),
                    Err(e) => format!("read: {e}"),
                });
            }
        }
        let mut rest = &batch[..];
        while !rest.is_empty() {
            // Runs of about RUN_BYTES: the first bytes leave before the whole batch is sealed.
            let (mut take, mut bytes) = (0, 0);
            while take < rest.len() && bytes < RUN_BYTES {
                bytes += rest[take].len();
                take += 1;
            }
            let (run, tail) = rest.split_at(take);
            write_sealed(&mut w, &mut sealer, run, &mut staging, wire_max).await?;
            let wire: usize = run.iter().map(|p| 4 + OVERHEAD + p.len()).sum();
            ctx.shared.counters.count_out(run.len() as u64, wire as u64);
            rest = tail;
        }
        batch.clear();
    }
}

/// Payloads shorter than this are copied next to their envelope: a separate I/O slice per
/// small payload costs the kernel more than the copy.
const COPY_BELOW: usize = 1024;

/// Buffers [`write_sealed`] reuses from batch to batch.
#[derive(Default)]
struct Staging {
    /// Envelopes (length prefix, sequence number; tag) and the small payloads between them.
    bytes: Vec<u8>,
    segments: Vec<Segment>,
}

/// One stretch of the output: staged bytes, or a large payload written from its own buffer.
enum Segment {
    Staged(Range<usize>),
    Payload(usize),
}

/// Seal `frames` and write them with vectored writes; large payloads are not copied.
async fn write_sealed<W: AsyncWrite + Unpin>(
    w: &mut W,
    sealer: &mut Sealer,
    frames: &[Vec<u8>],
    staging: &mut Staging,
    wire_max: usize,
) -> Result<(), String> {
    let Staging { bytes, segments } = staging;
    bytes.clear();
    segments.clear();
    let mut run = 0;
    for (i, payload) in frames.iter().enumerate() {
        let len = payload.len() + OVERHEAD;
        let len = u32::try_from(len)
            .ok()
            .filter(|&l| l as usize <= wire_max)
            .ok_or_else(|| format!("frame of {len} bytes exceeds the limit of {wire_max} bytes"))?;
        let (seq, tag) = sealer.seal(payload);
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes.extend_from_slice(&seq);
        if payload.len() < COPY_BELOW {
            bytes.extend_from_slice(payload);
        } else {
            segments.push(Segment::Staged(run..bytes.len()));
            segments.push(Segment::Payload(i));
            run = bytes.len();
        }
        bytes.extend_from_slice(&tag);
    }
    if run < bytes.len() {
        segments.push(Segment::Staged(run..bytes.len()));
    }
    // No slice is empty: each staged stretch holds at least a prefix or a tag.
    let mut slices: Vec<IoSlice> = segments
        .iter()
        .map(|s| match s {
            Segment::Staged(r) => IoSlice::new(&bytes[r.clone()]),
            Segment::Payload(i) => IoSlice::new(&frames[*i]),
        })
        .collect();
    let mut left = &mut slices[..];
    while !left.is_empty() {
        let n = w.write_vectored(left).await.map_err(|e| format!("write: {e}"))?;
        if n == 0 {
            return Err("write: connection closed".into());
        }
        IoSlice::advance_slices(&mut left, n);
    }
    Ok(())
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
    let (mut stream, buffered) = reader.into_parts();
    let mut frames = FrameBuf::new(&buffered, max_frame + OVERHEAD);
    let mut ready = Vec::new();
    loop {
        // Verify every complete frame in the buffer, then hand them over in one burst: the
        // receiving task wakes once per read, not once per frame.
        let mut wire = 0u64;
        let end = loop {
            let mut body = match frames.next_frame() {
                Ok(Some(b)) => b,
                Ok(None) => break None,
                Err(_) => break Some(Reason::Oversize),
            };
            if let Err(reason) = opener.open(&body) {
                break Some(reason);
            }
            wire += (4 + body.len()) as u64;
            body.advance(SEQ_LEN);
            body.truncate(body.len() - TAG_LEN);
            ready.push(PeerFrame { from: id, payload: body.freeze() });
        };
        counters.count_in(ready.len() as u64, wire);
        for frame in ready.drain(..) {
            let frame = match ctx.peer_tx.try_send(frame) {
                Ok(()) => continue,
                Err(mpsc::error::TrySendError::Full(f)) => f,
                Err(mpsc::error::TrySendError::Closed(_)) => return,
            };
            tokio::select! {
                _ = stopped(&mut shutdown) => return,
                r = ctx.peer_tx.send(frame) => if r.is_err() { return },
            }
        }
        if let Some(reason) = end {
            return counters.reject(reason, addr);
        }
        let more = tokio::select! {
            _ = stopped(&mut shutdown) => return,
            r = frames.fill(&mut stream) => r,
        };
        match more {
            Ok(true) => {}
            Ok(false) => return,
            Err(FrameError::TooLarge { .. }) => return counters.reject(Reason::Oversize, addr),
            Err(FrameError::Io(e)) => {
                tracing::debug!(remote = %addr, peer = id, "net: inbound link closed: {e}");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use super::*;

    /// Takes at most `step` bytes per write, so every vectored write ends part-way.
    struct Trickle {
        out: Vec<u8>,
        step: usize,
        calls: usize,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            let n = buf.len().min(self.step);
            self.out.extend_from_slice(&buf[..n]);
            self.calls += 1;
            Poll::Ready(Ok(n))
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<std::io::Result<usize>> {
            let mut n = 0;
            for b in bufs {
                let take = b.len().min(self.step - n);
                self.out.extend_from_slice(&b[..take]);
                n += take;
                if n == self.step {
                    break;
                }
            }
            self.calls += 1;
            Poll::Ready(Ok(n))
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn sealed_batches_survive_partial_writes_and_open_in_order() {
        // Empty, small (copied), exactly at and beyond the copy threshold, large.
        let sizes = [0, 1, 100, COPY_BELOW - 1, COPY_BELOW, 5000, 0, 70_000, 3];
        let frames: Vec<Vec<u8>> =
            sizes.iter().enumerate().map(|(i, &n)| (0..n).map(|b| (b * 7 + i) as u8).collect()).collect();
        let wire_max = 70_000 + OVERHEAD;
        for step in [1, 13, 4096, 1 << 20] {
            let (mut sealer, mut opener) = handshake::test_link();
            let mut w = Trickle { out: Vec::new(), step, calls: 0 };
            let mut staging = Staging::default();
            // Two batches through the same staging buffers.
            write_sealed(&mut w, &mut sealer, &frames[..4], &mut staging, wire_max).await.unwrap();
            write_sealed(&mut w, &mut sealer, &frames[4..], &mut staging, wire_max).await.unwrap();
            let wire: usize = sizes.iter().map(|n| 4 + OVERHEAD + n).sum();
            assert_eq!(w.out.len(), wire);
            if step == 1 {
                assert_eq!(w.calls, wire);
            }
            let mut buf = FrameBuf::new(&w.out, wire_max);
            for f in &frames {
                let body = buf.next_frame().unwrap().expect("a whole frame");
                assert_eq!(opener.open(&body).unwrap(), &f[..]);
            }
            assert!(buf.next_frame().unwrap().is_none());
        }
        // A frame over the limit is refused before anything is written.
        let (mut sealer, _) = handshake::test_link();
        let mut w = Trickle { out: Vec::new(), step: 64, calls: 0 };
        let err = write_sealed(&mut w, &mut sealer, &frames[7..8], &mut Staging::default(), 1000).await;
        assert!(err.unwrap_err().contains("exceeds the limit"));
        assert!(w.out.is_empty());
    }
}
