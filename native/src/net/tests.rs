use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use super::handshake::{self, Hello, Kind};
use super::*;

fn key(b: u8) -> SigningKey {
    SigningKey::from_bytes(&[b; 32])
}

async fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

async fn node(
    me: u32,
    listener: TcpListener,
    peers: Vec<PeerInfo>,
) -> (Transport, mpsc::Receiver<PeerFrame>, mpsc::Receiver<ClientConn>) {
    start(TransportConfig {
        me,
        signing: key(me as u8),
        listener,
        peers,
        max_frame: 1 << 16,
        queue_depth: 1024,
    })
    .await
    .unwrap()
}

fn info(id: u32, addr: SocketAddr) -> PeerInfo {
    PeerInfo { id, addr, key: key(id as u8).verifying_key() }
}

async fn recv(rx: &mut mpsc::Receiver<PeerFrame>) -> PeerFrame {
    tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("timed out").expect("closed")
}

async fn wait_until(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Two connected transports: ids 1 and 2.
async fn pair() -> ((Transport, mpsc::Receiver<PeerFrame>), (Transport, mpsc::Receiver<PeerFrame>), SocketAddr)
{
    let (la, lb) = (listener().await, listener().await);
    let (addr_a, addr_b) = (la.local_addr().unwrap(), lb.local_addr().unwrap());
    let (a, rx_a, _) = node(1, la, vec![info(2, addr_b)]).await;
    let (b, rx_b, _) = node(2, lb, vec![info(1, addr_a)]).await;
    ((a, rx_a), (b, rx_b), addr_b)
}

#[tokio::test]
async fn frames_flow_both_ways_in_order_and_are_counted() {
    let ((a, mut rx_a), (b, mut rx_b), _) = pair().await;
    let n = 200u32;
    for i in 0..n {
        assert!(a.send(2, format!("a{i}").into_bytes()));
        assert!(b.send(1, format!("b{i}").into_bytes()));
    }
    let mut wire = 0u64;
    for i in 0..n {
        let f = recv(&mut rx_b).await;
        assert_eq!((f.from, f.payload.to_vec()), (1, format!("a{i}").into_bytes()));
        wire += (4 + handshake::OVERHEAD + format!("a{i}").len()) as u64;
        let f = recv(&mut rx_a).await;
        assert_eq!((f.from, f.payload.to_vec()), (2, format!("b{i}").into_bytes()));
    }
    assert_eq!(b.counters().frames_in(), n as u64);
    assert_eq!(b.counters().bytes_in(), wire);
    wait_until("a's counters", || a.counters().frames_out() == n as u64).await;
    assert_eq!(a.counters().bytes_out(), wire);
    assert_eq!(a.peer_states(), vec![(2, PeerState::Connected)]);
    assert!(!a.send(7, b"nobody".to_vec()));
    assert_eq!(a.counters().rejected_for(Reason::UnknownPeer), 1);
    let names: Vec<_> = a.counters().rejected().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "garbage",
            "oversize",
            "unknown_peer",
            "bad_signature",
            "replay",
            "bad_mac",
            "handshake_timeout",
            "queue_full"
        ]
    );
    a.shutdown();
    b.shutdown();
}

#[tokio::test]
async fn full_queue_drops_and_counts() {
    let la = listener().await;
    // Peer 2 never answers (nothing listens there), so the queue fills.
    let dead = listener().await;
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    let (a, _rx, _) = start(TransportConfig {
        me: 1,
        signing: key(1),
        listener: la,
        peers: vec![info(2, dead_addr)],
        max_frame: 1024,
        queue_depth: 2,
    })
    .await
    .unwrap();
    assert!(a.send(2, vec![1]));
    assert!(a.send(2, vec![2]));
    assert!(!a.send(2, vec![3]));
    assert_eq!(a.counters().rejected_for(Reason::QueueFull), 1);
    assert!(!a.send(2, vec![0; 1025]));
    assert_eq!(a.counters().rejected_for(Reason::Oversize), 1);
    a.shutdown();
}

async fn raw_send(addr: SocketAddr, bytes: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    s.flush().await.unwrap();
    s
}

fn hello_frame(id: u32) -> Vec<u8> {
    let hello = Hello { version: handshake::VERSION, kind: Kind::Peer, id, nonce: [5; 32], eph: [9; 32] };
    let body = postcard::to_allocvec(&hello).unwrap();
    let mut v = (body.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(&body);
    v
}

#[tokio::test]
async fn hostile_connections_are_refused_and_good_peers_still_connect() {
    let ((a, _rx_a), (b, mut rx_b), addr_b) = pair().await;
    let c = b.counters();

    // A well-framed run of random bytes is not a Hello.
    let mut junk = vec![0u8; 204];
    getrandom::fill(&mut junk[4..]).unwrap();
    junk[..4].copy_from_slice(&200u32.to_be_bytes());
    let _s1 = raw_send(addr_b, &junk).await;
    wait_until("garbage", || c.rejected_for(Reason::Garbage) == 1).await;

    // A Hello from an id outside the allow-list.
    let _s2 = raw_send(addr_b, &hello_frame(99)).await;
    wait_until("unknown_peer", || c.rejected_for(Reason::UnknownPeer) == 1).await;

    // A valid-format Hello for peer 1, signed by another key.
    let s = TcpStream::connect(addr_b).await.unwrap();
    let (r, w) = s.into_split();
    let (mut r, mut w) = (FrameReader::new(r, 1 << 16), FrameWriter::new(w, 1 << 16));
    let kb = key(2).verifying_key();
    handshake::dial(&mut r, &mut w, 1, &key(42), 2, &kb).await.unwrap();
    wait_until("bad_signature", || c.rejected_for(Reason::BadSignature) == 1).await;

    // A length prefix beyond the frame limit.
    let _s3 = raw_send(addr_b, &[0xff, 0xff, 0xff, 0xff, 0]).await;
    wait_until("oversize", || c.rejected_for(Reason::Oversize) == 1).await;

    // Plain random bytes: refused as garbage or oversize depending on the first four bytes.
    let mut noise = [0u8; 64];
    getrandom::fill(&mut noise).unwrap();
    let _s4 = raw_send(addr_b, &noise).await;
    wait_until("noise refused", || c.rejected_for(Reason::Garbage) + c.rejected_for(Reason::Oversize) == 3)
        .await;

    assert!(a.send(2, b"still here".to_vec()));
    let f = recv(&mut rx_b).await;
    assert_eq!((f.from, &f.payload[..]), (1, &b"still here"[..]));
    assert_eq!(c.rejected_for(Reason::Replay) + c.rejected_for(Reason::BadMac), 0);
    a.shutdown();
    b.shutdown();
}

#[tokio::test]
async fn silent_connection_times_out() {
    let lb = listener().await;
    let addr_b = lb.local_addr().unwrap();
    let (b, _rx, _) = node(2, lb, vec![]).await;
    let _silent = TcpStream::connect(addr_b).await.unwrap();
    tokio::time::sleep(HANDSHAKE_TIMEOUT).await;
    wait_until("handshake_timeout", || b.counters().rejected_for(Reason::HandshakeTimeout) == 1).await;
    b.shutdown();
}

/// A raw socket that completed a real replica handshake with `addr` as peer 1.
async fn raw_link(addr: SocketAddr) -> (FrameWriter<tokio::net::tcp::OwnedWriteHalf>, handshake::Sealer) {
    let s = TcpStream::connect(addr).await.unwrap();
    let (r, w) = s.into_split();
    let (mut r, mut w) = (FrameReader::new(r, 1 << 16), FrameWriter::new(w, 1 << 16));
    let sealer = handshake::dial(&mut r, &mut w, 1, &key(1), 2, &key(2).verifying_key()).await.unwrap();
    (w, sealer)
}

#[tokio::test]
async fn replayed_and_tampered_frames_drop_the_link() {
    let dead = listener().await.local_addr().unwrap();
    let lb = listener().await;
    let addr_b = lb.local_addr().unwrap();
    let (b, mut rx_b, _) = node(2, lb, vec![info(1, dead)]).await;
    let c = b.counters();

    let (mut w, mut sealer) = raw_link(addr_b).await;
    let body = sealer.seal_to_vec(b"once");
    w.write(&body).await.unwrap();
    w.write(&body).await.unwrap();
    w.flush().await.unwrap();
    assert_eq!(recv(&mut rx_b).await.payload[..], b"once"[..]);
    wait_until("replay", || c.rejected_for(Reason::Replay) == 1).await;

    let (mut w, mut sealer) = raw_link(addr_b).await;
    let mut body = sealer.seal_to_vec(b"tampered");
    *body.last_mut().unwrap() ^= 0x01;
    w.write(&body).await.unwrap();
    w.flush().await.unwrap();
    wait_until("bad_mac", || c.rejected_for(Reason::BadMac) == 1).await;

    // A fresh handshake starts a fresh sequence; the tampered frame was never delivered.
    let (mut w, mut sealer) = raw_link(addr_b).await;
    w.write(&sealer.seal_to_vec(b"fresh")).await.unwrap();
    w.flush().await.unwrap();
    assert_eq!(recv(&mut rx_b).await.payload[..], b"fresh"[..]);
    assert_eq!(c.frames_in(), 2);
    b.shutdown();
}

#[tokio::test]
async fn link_reconnects_after_the_acceptor_restarts() {
    let ((a, _rx_a), (b, mut rx_b), addr_b) = pair().await;
    assert!(a.send(2, b"before".to_vec()));
    assert_eq!(recv(&mut rx_b).await.payload[..], b"before"[..]);
    b.shutdown();
    drop(rx_b);
    wait_until("link down", || a.peer_states()[0].1 != PeerState::Connected).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let lb = loop {
        match TcpListener::bind(addr_b).await {
            Ok(l) => break l,
            Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(e) => panic!("rebind {addr_b}: {e}"),
        }
    };
    // Peer 1's address does not matter for this direction.
    let addr_a = listener().await.local_addr().unwrap();
    let (b2, mut rx_b2, _) = node(2, lb, vec![info(1, addr_a)]).await;
    for i in 0..20u8 {
        assert!(a.send(2, vec![i]));
    }
    for i in 0..20u8 {
        let f = recv(&mut rx_b2).await;
        assert_eq!((f.from, f.payload.to_vec()), (1, vec![i]));
    }
    a.shutdown();
    b2.shutdown();
}

#[tokio::test]
async fn client_handshake_proves_the_server_identity() {
    let lb = listener().await;
    let addr_b = lb.local_addr().unwrap();
    let (b, _rx, mut clients) = node(2, lb, vec![]).await;
    let (mut r, mut w) = connect_client(addr_b, Some(key(2).verifying_key()), 1024).await.unwrap();
    let mut conn = tokio::time::timeout(Duration::from_secs(5), clients.recv()).await.unwrap().unwrap();
    w.write(b"request").await.unwrap();
    w.flush().await.unwrap();
    assert_eq!(conn.reader.read().await.unwrap().unwrap(), b"request");
    conn.writer.write(b"reply").await.unwrap();
    conn.writer.flush().await.unwrap();
    assert_eq!(r.read().await.unwrap().unwrap(), b"reply");

    let err = connect_client(addr_b, Some(key(3).verifying_key()), 1024).await;
    assert!(err.is_err());
    assert!(connect_client(addr_b, None, 1024).await.is_ok());
    b.shutdown();
}

/// A peer that starts late dials us first; our link to it must not wait out its backoff.
#[tokio::test]
async fn a_peer_that_dials_in_is_dialled_back_at_once() {
    let la = listener().await;
    let addr_a = la.local_addr().unwrap();
    // Reserve an address for peer 2, then free it: dials to it are refused for now.
    let addr_b = listener().await.local_addr().unwrap();
    let (a, _rx_a, _) = node(1, la, vec![info(2, addr_b)]).await;
    assert!(a.send(2, b"queued while 2 was away".to_vec()));
    // Dials 1–6 are refused with backoffs of 50 ms doubling up to 1.6 s; after the 7th
    // the link sleeps 1–2 s (jittered 2 s). Peer 2 starts right after that dial.
    wait_until("seven dials", || a.counters().dials() >= 7).await;
    let lb = TcpListener::bind(addr_b).await.expect("rebind peer 2's address");
    let start = Instant::now();
    let (b, mut rx_b, _) = node(2, lb, vec![info(1, addr_a)]).await;
    assert!(b.send(1, b"hello".to_vec()));
    let f = recv(&mut rx_b).await;
    assert_eq!((f.from, f.payload.to_vec()), (1, b"queued while 2 was away".to_vec()));
    // The sleep that began above lasts at least a second; the redial takes milliseconds.
    let waited = start.elapsed();
    assert!(waited < Duration::from_millis(700), "queued frame arrived after {waited:?}");
    a.shutdown();
    b.shutdown();
}

/// Many frames of mixed sizes at once: they travel in batches (several per write, several
/// per read) and still arrive whole, in order, and counted.
#[tokio::test]
async fn bursts_of_mixed_sizes_arrive_whole_and_in_order() {
    let ((a, _rx_a), (b, mut rx_b), _) = pair().await;
    let frame = |i: usize| -> Vec<u8> { (0..(i * 997) % 20_000).map(|k| (k ^ i) as u8).collect() };
    let n = 3000usize;
    let receiver = tokio::spawn(async move {
        for i in 0..n {
            let f = recv(&mut rx_b).await;
            assert_eq!((f.from, f.payload.len()), (1, frame(i).len()), "frame {i}");
            assert!(f.payload == frame(i), "frame {i} differs");
        }
        rx_b
    });
    let mut wire = 0u64;
    for i in 0..n {
        // A full queue refuses the frame: wait for the link to drain some, then resend.
        while !a.send(2, frame(i)) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        wire += (4 + handshake::OVERHEAD + frame(i).len()) as u64;
    }
    let _rx_b = tokio::time::timeout(Duration::from_secs(30), receiver).await.expect("timed out").unwrap();
    assert_eq!(b.counters().frames_in(), n as u64);
    assert_eq!(b.counters().bytes_in(), wire);
    wait_until("a's counters", || a.counters().bytes_out() == wire).await;
    a.shutdown();
    b.shutdown();
}
