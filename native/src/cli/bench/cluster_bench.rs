//! `void bench cluster`: closed-loop clients against a local cluster of `void node`
//! processes, beside a plain framed TCP echo of the same request bytes between the same
//! kind of processes (the floor any request/response protocol on this machine stands on).

use std::path::Path;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use clap::Args;
use serde_json::json;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::cli::cluster::{
    ADMIN_TOKEN, create, free_base, http_get, node_status, running_pid, scratch_dir, signal, spawn_node,
};
use crate::cli::{CliResult, Failure, bad, print_json};
use crate::net::{FrameReader, FrameWriter};
use crate::node::client::Conn;
use crate::node::config::{ClusterFile, PbftTunables, Replica};
use crate::node::store::Fsync;
use crate::node::wire::{ClientOp, ClientOutcome, ClientRequest, WIRE_VERSION};

#[derive(Args, Debug)]
pub struct BenchClusterArgs {
    /// Replicas of the measured cluster (at least 4).
    #[arg(long, default_value_t = 4)]
    pub replicas: u32,
    /// Client connections, spread over the replicas.
    #[arg(long, default_value_t = 16)]
    pub clients: u32,
    /// Measured seconds (after one second of warm-up).
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Requests each connection keeps in flight.
    #[arg(long, default_value_t = 8)]
    pub depth: u32,
    /// Value size of each put, bytes.
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Node storage policy: always (durable, the default) or never.
    #[arg(long, default_value = "always", value_parser = ["always", "never"])]
    pub fsync: String,
    /// Most requests per batch at the primary.
    #[arg(long, default_value_t = 256)]
    pub max_batch: u32,
    /// Print one JSON object as the last line of stdout.
    #[arg(long)]
    pub json: bool,
}

struct Load {
    ops: u64,
    latencies_us: Vec<u64>,
    errors: u64,
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

pub fn run(a: BenchClusterArgs) -> CliResult {
    if a.clients == 0 || a.depth == 0 || a.duration == 0 || a.size == 0 || a.size > 4096 {
        return Err(bad("--clients, --depth and --duration must be positive; --size within 1..=4096"));
    }
    let dir = scratch_dir("void-bench")?;
    let base = free_base(a.replicas)?;
    let fsync = if a.fsync == "never" { Fsync::Never } else { Fsync::Always };
    let tunables =
        PbftTunables { max_batch: Some(a.max_batch), batch_delay_us: Some(500), ..Default::default() };
    create(&dir, a.replicas, base, fsync, tunables)?;
    let (_, replicas) = ClusterFile::load(&dir.join("cluster.toml")).map_err(bad)?;
    for r in &replicas {
        spawn_node(&dir, r.id, false)?;
    }
    let rt = tokio::runtime::Runtime::new()?;
    let result = rt.block_on(measure(&a, &dir, &replicas));
    for r in &replicas {
        if let Some(pid) = running_pid(&dir, r.id) {
            signal(pid, libc::SIGTERM);
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let _ = std::fs::remove_dir_all(&dir);
    let (load, batch_mean, echo, tail) = result.map_err(Failure::Other)?;
    let mut lat = load.latencies_us;
    lat.sort_unstable();
    let secs = a.duration as f64;
    let ops_per_sec = load.ops as f64 / secs;
    let echo_per_sec = echo.ops as f64 / secs.min(3.0);
    let report = json!({
        "ops_per_sec": ops_per_sec.round(),
        "p50_ms": percentile(&lat, 0.5),
        "p99_ms": percentile(&lat, 0.99),
        "batch_mean": batch_mean,
        "errors": load.errors,
        "replicas": a.replicas, "clients": a.clients, "depth": a.depth, "size": a.size,
        "fsync": a.fsync, "duration_s": a.duration,
        "echo_ops_per_sec": echo_per_sec.round(),
        "ratio_to_echo": if echo_per_sec > 0.0 { ops_per_sec / echo_per_sec } else { 0.0 },
        "retransmissions": tail.retransmissions,
        "checkpoint_rounds": tail.checkpoint_rounds,
        "checkpoint_round_ms_mean": tail.checkpoint_ms_mean(),
        "checkpoint_round_ms_max": tail.checkpoint_ms_max,
        "round_ms_max": tail.round_ms_max,
        "rounds_over_50ms": tail.rounds_over_50ms,
        "persist_ms_max": tail.persist_ms_max,
        "node_cpu_us_per_op": if load.ops > 0 { tail.node_cpu_s * 1e6 / load.ops as f64 } else { 0.0 },
    });
    eprintln!(
        "cluster: {:.0} ops/s, p50 {:.2} ms, p99 {:.2} ms, batch mean {:.1}, node CPU {:.1} µs/op; plain TCP echo: {:.0} ops/s (ratio {:.3})",
        ops_per_sec,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        batch_mean,
        report["node_cpu_us_per_op"].as_f64().unwrap_or(0.0),
        echo_per_sec,
        report["ratio_to_echo"].as_f64().unwrap_or(0.0)
    );
    eprintln!(
        "cluster: all replicas: {} gateway retransmissions; {} checkpoint rounds, mean {:.1} ms, max {:.1} ms; \
         longest round {:.1} ms; {} rounds over 50 ms; longest storage commit {:.1} ms",
        tail.retransmissions,
        tail.checkpoint_rounds,
        tail.checkpoint_ms_mean(),
        tail.checkpoint_ms_max,
        tail.round_ms_max,
        tail.rounds_over_50ms,
        tail.persist_ms_max,
    );
    if a.json {
        print_json(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn put(c: u32, i: u64, size: usize) -> ClientOp {
    ClientOp::Put { key: format!("c{c}-k{}", i % 1024), value: "x".repeat(size) }
}

/// What the replicas' `/metrics` say about latency outliers, summed or maxed over replicas.
#[derive(Default)]
struct Tail {
    retransmissions: u64,
    checkpoint_rounds: u64,
    checkpoint_ms_sum: f64,
    checkpoint_ms_max: f64,
    round_ms_max: f64,
    rounds_over_50ms: u64,
    persist_ms_max: f64,
    /// CPU seconds all node processes used during the measured seconds.
    node_cpu_s: f64,
}

impl Tail {
    fn checkpoint_ms_mean(&self) -> f64 {
        if self.checkpoint_rounds == 0 { 0.0 } else { self.checkpoint_ms_sum / self.checkpoint_rounds as f64 }
    }

    fn add(&mut self, metrics: &str) {
        let value = |name: &str| -> f64 {
            metrics
                .lines()
                .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0.0)
        };
        self.retransmissions += value("void_client_retransmissions_total") as u64;
        self.checkpoint_rounds += value("void_checkpoint_round_seconds_count") as u64;
        self.checkpoint_ms_sum += value("void_checkpoint_round_seconds_sum") * 1e3;
        self.checkpoint_ms_max = self.checkpoint_ms_max.max(value("void_checkpoint_round_seconds_max") * 1e3);
        self.round_ms_max = self.round_ms_max.max(value("void_round_seconds_max") * 1e3);
        self.persist_ms_max = self.persist_ms_max.max(value("void_persist_seconds_max") * 1e3);
        let over = value("void_round_seconds_count") - value("void_round_seconds_bucket{le=\"0.05\"}");
        self.rounds_over_50ms += over.max(0.0) as u64;
    }
}

async fn measure(
    a: &BenchClusterArgs,
    dir: &Path,
    replicas: &[Replica],
) -> anyhow::Result<(Load, f64, Load, Tail)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    for r in replicas {
        while node_status(r.http).await.is_none() {
            anyhow::ensure!(Instant::now() < deadline, "node {} did not become ready", r.id);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let token = std::fs::read_to_string(dir.join(ADMIN_TOKEN))?.trim().to_string();
    let warm = Instant::now() + Duration::from_secs(1);
    let end = warm + Duration::from_secs(a.duration);
    let mut tasks = Vec::new();
    for c in 0..a.clients {
        let r = replicas[c as usize % replicas.len()].clone();
        let (token, depth, size) = (token.clone(), a.depth, a.size);
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::connect(&r, token).await?;
            let mut sent = std::collections::HashMap::new();
            let mut load = Load { ops: 0, latencies_us: Vec::new(), errors: 0 };
            let mut i = 0u64;
            for _ in 0..depth {
                sent.insert(conn.send(put(c, i, size), None).await?, Instant::now());
                i += 1;
            }
            while Instant::now() < end {
                let resp = tokio::time::timeout(Duration::from_secs(10), conn.recv())
                    .await
                    .context("no answer within 10 s")??;
                let now = Instant::now();
                if let Some(t0) = sent.remove(&resp.id)
                    && now >= warm
                    && t0 >= warm
                {
                    match resp.outcome {
                        ClientOutcome::Done(_) => {
                            load.ops += 1;
                            load.latencies_us.push((now - t0).as_micros() as u64);
                        }
                        _ => load.errors += 1,
                    }
                }
                sent.insert(conn.send(put(c, i, size), None).await?, Instant::now());
                i += 1;
            }
            anyhow::Ok(load)
        }));
    }
    // CPU the node processes use while measured: robust to other work on the machine.
    let pids: Vec<i32> = replicas.iter().filter_map(|r| running_pid(dir, r.id)).collect();
    tokio::time::sleep_until(warm.into()).await;
    let cpu_before: f64 = pids.iter().map(|p| cpu_seconds(*p)).sum();
    tokio::time::sleep_until(end.into()).await;
    let node_cpu_s = pids.iter().map(|p| cpu_seconds(*p)).sum::<f64>() - cpu_before;
    let mut total = Load { ops: 0, latencies_us: Vec::new(), errors: 0 };
    for t in tasks {
        let l = t.await??;
        total.ops += l.ops;
        total.errors += l.errors;
        total.latencies_us.extend(l.latencies_us);
    }
    let primary = replicas.iter().find(|r| r.id == 0).map(|r| r.http).unwrap_or(replicas[0].http);
    let metrics = http_get(primary, "/metrics").await.unwrap_or_default();
    let batch_mean = metrics
        .lines()
        .find(|l| l.starts_with("void_batch_size_mean "))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let mut tail = Tail::default();
    for r in replicas {
        tail.add(&http_get(r.http, "/metrics").await.unwrap_or_default());
    }
    tail.node_cpu_s = node_cpu_s;
    let echo = echo_baseline(a, &token).await?;
    Ok((total, batch_mean, echo, tail))
}

/// User plus system CPU seconds a process has used so far (0 if it is gone).
fn cpu_seconds(pid: i32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    // Fields after the command name: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: f64 = [11, 12].iter().filter_map(|i| fields.get(*i)?.parse::<f64>().ok()).sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    ticks / if hz > 0 { hz as f64 } else { 100.0 }
}

/// The same request frames, answered by a process that echoes them back.
async fn echo_baseline(a: &BenchClusterArgs, token: &str) -> anyhow::Result<Load> {
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args(["bench", "echo-serve"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?).lines();
    let addr: std::net::SocketAddr =
        lines.next_line().await?.ok_or_else(|| anyhow!("echo server said nothing"))?.trim().parse()?;
    let end = Instant::now() + Duration::from_secs(a.duration.min(3));
    let mut tasks = Vec::new();
    for c in 0..a.clients {
        let (token, depth, size) = (token.to_string(), a.depth, a.size);
        tasks.push(tokio::spawn(async move {
            let s = TcpStream::connect(addr).await?;
            s.set_nodelay(true)?;
            let (r, w) = s.into_split();
            let (mut r, mut w) = (FrameReader::new(r, 1 << 20), FrameWriter::new(w, 1 << 20));
            let mut ops = 0u64;
            let frame = |i: u64| {
                let req = ClientRequest {
                    version: WIRE_VERSION,
                    id: i,
                    token: token.clone(),
                    discharges: vec![],
                    user: None,
                    op: put(c, i, size),
                };
                postcard::to_allocvec(&req)
            };
            for i in 0..u64::from(depth) {
                w.write(&frame(i)?).await?;
            }
            w.flush().await?;
            let mut i = u64::from(depth);
            while Instant::now() < end {
                if r.read().await?.is_none() {
                    break;
                }
                ops += 1;
                w.write(&frame(i)?).await?;
                w.flush().await?;
                i += 1;
            }
            anyhow::Ok(ops)
        }));
    }
    let mut ops = 0;
    for t in tasks {
        ops += t.await??;
    }
    drop(child.stdin.take());
    let _ = child.kill().await;
    Ok(Load { ops, latencies_us: Vec::new(), errors: 0 })
}

/// The echo process of the baseline: prints its address, echoes frames until stdin closes.
pub fn echo_serve() -> CliResult {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let l = TcpListener::bind("127.0.0.1:0").await?;
        outln!("{}", l.local_addr()?);
        let accept = async {
            loop {
                let (s, _) = l.accept().await?;
                s.set_nodelay(true)?;
                tokio::spawn(async move {
                    let (r, w) = s.into_split();
                    let (mut r, mut w) = (FrameReader::new(r, 1 << 20), FrameWriter::new(w, 1 << 20));
                    while let Ok(Some(f)) = r.read().await {
                        if w.write(&f).await.is_err() || w.flush().await.is_err() {
                            break;
                        }
                    }
                });
            }
            #[allow(unreachable_code)]
            anyhow::Ok(())
        };
        let mut stdin = BufReader::new(tokio::io::stdin()).lines();
        tokio::select! {
            r = accept => r?,
            _ = async { while let Ok(Some(_)) = stdin.next_line().await {} } => {}
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
