//! `void bench net`: the parent sends SIZE-byte frames for S seconds to a child process of the
//! same executable, first as plain length-prefixed TCP frames (the baseline), then through
//! the authenticated transport. The child times what it receives and reports on stdout.
//! Both processes also count the CPU time each stream cost them: on a shared machine the
//! rates depend on the load, the CPU seconds per gigabyte much less.

use std::net::SocketAddr;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use clap::Args;
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::{TcpListener, TcpStream};

use super::super::{CliResult, bad, print_json};
use crate::net::{self, FrameReader, FrameWriter, PeerInfo, PeerState, TransportConfig};

#[derive(Args, Debug)]
pub struct BenchNetArgs {
    /// How long each of the two streams runs.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Payload bytes per frame.
    #[arg(long, default_value_t = 4096)]
    pub size: usize,
    /// Print one JSON object as the last line of stdout.
    #[arg(long)]
    pub json: bool,
}

const PARENT: u32 = 1;
const CHILD: u32 = 2;
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")
}

fn random_key() -> anyhow::Result<SigningKey> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow!("getrandom: {e}"))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// CPU time (user and system, all threads) this process has used so far, in seconds.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return 0.0;
    }
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

/// What one stream cost and delivered.
struct Stream {
    frames: u64,
    bytes: u64,
    secs: f64,
    /// Both processes' CPU seconds while it ran.
    cpu: f64,
}

impl Stream {
    fn mb_per_sec(&self) -> f64 {
        self.bytes as f64 / self.secs / 1e6
    }

    fn cpu_per_gb(&self) -> f64 {
        self.cpu / (self.bytes as f64 / 1e9).max(1e-12)
    }
}

/// What the child measured for one stream: (frames, payload bytes, seconds, its CPU seconds).
fn parse_report(line: &str, tag: &str) -> anyhow::Result<(u64, u64, f64, f64)> {
    let f: Vec<&str> = line.split_whitespace().collect();
    match f.as_slice() {
        [t, frames, bytes, secs, cpu] if *t == tag => {
            Ok((frames.parse()?, bytes.parse()?, secs.parse()?, cpu.parse()?))
        }
        _ => Err(anyhow!("unexpected line from the receiving process: {line:?}")),
    }
}

async fn next_line<R: tokio::io::AsyncBufRead + Unpin>(lines: &mut Lines<R>) -> anyhow::Result<String> {
    tokio::time::timeout(SETUP_TIMEOUT * 2, lines.next_line())
        .await
        .context("the receiving process did not answer")??
        .ok_or_else(|| anyhow!("the receiving process exited early"))
}

pub fn run(args: BenchNetArgs) -> CliResult {
    if !(args.seconds > 0.0 && args.seconds <= 3600.0) {
        return Err(bad(format!("--seconds must be in (0, 3600], not {}", args.seconds)));
    }
    if args.size == 0 || args.size > 64 << 20 {
        return Err(bad(format!("--size must be between 1 and {} bytes, not {}", 64 << 20, args.size)));
    }
    let (link, base) = runtime()?.block_on(measure(&args))?;
    let (mb, base_mb) = (link.mb_per_sec(), base.mb_per_sec());
    let fps = link.frames as f64 / link.secs;
    eprintln!(
        "net: {} B frames for {} s: authenticated link {mb:.1} MB/s ({fps:.0} frames/s, {:.2} CPU s/GB); \
         plain TCP frames {base_mb:.1} MB/s ({:.2} CPU s/GB); ratio {:.3}",
        args.size,
        args.seconds,
        link.cpu_per_gb(),
        base.cpu_per_gb(),
        mb / base_mb
    );
    if args.json {
        print_json(&json!({
            "mb_per_sec": mb, "frames_per_sec": fps, "size": args.size, "seconds": args.seconds,
            "baseline_mb_per_sec": base_mb, "ratio": mb / base_mb,
            "cpu_s_per_gb": link.cpu_per_gb(), "baseline_cpu_s_per_gb": base.cpu_per_gb(),
        }));
    }
    Ok(ExitCode::SUCCESS)
}

async fn measure(args: &BenchNetArgs) -> anyhow::Result<(Stream, Stream)> {
    let max_frame = args.size.max(net::DEFAULT_MAX_FRAME);
    let (parent_key, child_key) = (random_key()?, random_key()?);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let parent_addr = listener.local_addr()?;
    let exe = std::env::current_exe().context("locating the void executable")?;
    let mut child = tokio::process::Command::new(exe)
        .args(["bench", "net-serve"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting the receiving process")?;
    let mut stdin = child.stdin.take().ok_or_else(|| anyhow!("no stdin"))?;
    let mut lines = BufReader::new(child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?).lines();
    // Keys go through the pipe, not the command line, where other users could read them.
    let setup = format!(
        "{} {} {parent_addr} {max_frame}\n",
        hex::encode(child_key.to_bytes()),
        hex::encode(parent_key.verifying_key().to_bytes())
    );
    stdin.write_all(setup.as_bytes()).await?;
    stdin.flush().await?;
    let ready = next_line(&mut lines).await?;
    let (link_addr, plain_addr): (SocketAddr, SocketAddr) =
        match ready.split_whitespace().collect::<Vec<_>>()[..] {
            ["ready", a, b] => (a.parse()?, b.parse()?),
            _ => return Err(anyhow!("unexpected line from the receiving process: {ready:?}")),
        };
    let duration = Duration::from_secs_f64(args.seconds);
    let payload = vec![0xA5u8; args.size];

    // Baseline: the same stream as plain frames on one TCP connection.
    let stream = TcpStream::connect(plain_addr).await?;
    stream.set_nodelay(true)?;
    let mut w = FrameWriter::new(stream, max_frame);
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    while start.elapsed() < duration {
        for _ in 0..16 {
            w.write(&payload).await?;
        }
    }
    w.write(&[]).await?;
    w.flush().await?;
    let (frames, bytes, secs, child_cpu) = parse_report(&next_line(&mut lines).await?, "plain")?;
    let base = Stream { frames, bytes, secs, cpu: cpu_seconds() - cpu0 + child_cpu };

    // The authenticated transport.
    let (transport, _rx, _clients) = net::start(TransportConfig {
        me: PARENT,
        signing: parent_key,
        listener,
        peers: vec![PeerInfo { id: CHILD, addr: link_addr, key: child_key.verifying_key() }],
        max_frame,
        queue_depth: 4096,
    })
    .await?;
    let deadline = Instant::now() + SETUP_TIMEOUT;
    while transport.peer_states().first().map(|p| p.1) != Some(PeerState::Connected) {
        if Instant::now() > deadline {
            return Err(anyhow!("the link to the receiving process did not come up"));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    while start.elapsed() < duration {
        if !transport.send(CHILD, payload.clone()) {
            // Queue full: the link is the bottleneck, which is what is being measured.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    while !transport.send(CHILD, Vec::new()) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let (frames, bytes, secs, child_cpu) = parse_report(&next_line(&mut lines).await?, "link")?;
    let link = Stream { frames, bytes, secs, cpu: cpu_seconds() - cpu0 + child_cpu };
    transport.shutdown();
    drop(stdin);
    if tokio::time::timeout(SETUP_TIMEOUT, child.wait()).await.is_err() {
        child.kill().await?;
    }
    Ok((link, base))
}

/// Counts frames until an empty one; (frames, bytes, seconds and CPU seconds from the first
/// frame).
struct Tally {
    first: Option<(Instant, f64)>,
    frames: u64,
    bytes: u64,
}

impl Tally {
    fn new() -> Self {
        Tally { first: None, frames: 0, bytes: 0 }
    }

    /// Count one payload; true when it was the end marker.
    fn add(&mut self, payload: &[u8]) -> bool {
        if payload.is_empty() {
            return true;
        }
        self.first.get_or_insert_with(|| (Instant::now(), cpu_seconds()));
        self.frames += 1;
        self.bytes += payload.len() as u64;
        false
    }

    fn report(&self, tag: &str) {
        let (secs, cpu) =
            self.first.map_or((0.0, 0.0), |(t, c)| (t.elapsed().as_secs_f64(), cpu_seconds() - c));
        outln!("{tag} {} {} {} {cpu}", self.frames, self.bytes, secs.max(1e-9));
    }
}

pub fn serve() -> CliResult {
    runtime()?.block_on(serve_async())?;
    Ok(ExitCode::SUCCESS)
}

async fn serve_async() -> anyhow::Result<()> {
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let setup = stdin.next_line().await?.ok_or_else(|| anyhow!("no setup line on stdin"))?;
    let (seed, parent_pub, parent_addr, max_frame) = match setup.split_whitespace().collect::<Vec<_>>()[..] {
        [a, b, c, d] => (a, b, c, d),
        _ => return Err(anyhow!("bad setup line")),
    };
    let seed: [u8; 32] = hex::decode(seed)?.try_into().map_err(|_| anyhow!("bad key"))?;
    let parent_pub: [u8; 32] = hex::decode(parent_pub)?.try_into().map_err(|_| anyhow!("bad key"))?;
    let parent_key = VerifyingKey::from_bytes(&parent_pub)?;
    let max_frame: usize = max_frame.parse()?;
    let link_listener = TcpListener::bind("127.0.0.1:0").await?;
    let plain_listener = TcpListener::bind("127.0.0.1:0").await?;
    let (link_addr, plain_addr) = (link_listener.local_addr()?, plain_listener.local_addr()?);
    let (transport, mut rx, _clients) = net::start(TransportConfig {
        me: CHILD,
        signing: SigningKey::from_bytes(&seed),
        listener: link_listener,
        peers: vec![PeerInfo { id: PARENT, addr: parent_addr.parse()?, key: parent_key }],
        max_frame,
        queue_depth: 16,
    })
    .await?;
    outln!("ready {link_addr} {plain_addr}");
    let plain = async move {
        let (stream, _) = plain_listener.accept().await?;
        let mut r = FrameReader::new(stream, max_frame);
        let mut tally = Tally::new();
        while let Some(f) = r.read().await? {
            if tally.add(&f) {
                break;
            }
        }
        tally.report("plain");
        anyhow::Ok(())
    };
    let link = async move {
        let mut tally = Tally::new();
        while let Some(f) = rx.recv().await {
            if tally.add(&f.payload) {
                break;
            }
        }
        tally.report("link");
    };
    // The parent closes stdin when it is done (or dies): stop then.
    let parent_gone = async move { while let Ok(Some(_)) = stdin.next_line().await {} };
    tokio::select! {
        _ = parent_gone => {}
        r = async { tokio::join!(plain, link).0 } => {
            r?;
        }
    }
    transport.shutdown();
    Ok(())
}
