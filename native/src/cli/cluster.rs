//! `void cluster up | status | down`: a local cluster of separate `void node` processes.

use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::{CliResult, Failure, bad, print_json};
use crate::node::config::{ClusterFile, NodeFile, PbftTunables, ReplicaEntry};
use crate::node::keys;
use crate::node::store::Fsync;

#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// Create (first time) and start a local cluster; start any node of DIR not running.
    Up(UpArgs),
    /// Each node: pid, alive, role, view, last executed; exits 1 if a node is down or not
    /// answering.
    Status(DirArgs),
    /// SIGTERM every node and wait for clean exits.
    Down(DirArgs),
}

/// Where `cluster up` puts a new cluster's ports unless told.
const DEFAULT_BASE_PORT: u16 = 7100;

#[derive(Args, Debug)]
pub struct UpArgs {
    /// Replicas in a new cluster, at least 4: n replicas tolerate f = (n - 1) / 3 faulty ones
    /// (4, 7, 10, ... use them best); an existing cluster must match.
    #[arg(long, default_value_t = 4)]
    pub replicas: u32,
    /// The cluster's directory: cluster.toml, node-<i>/ and admin.macaroon live there.
    #[arg(long)]
    pub dir: PathBuf,
    /// Replica i listens on P + i and serves HTTP on P + 100 + i (default 7100; a cluster
    /// already in DIR keeps its ports).
    #[arg(long)]
    pub base_port: Option<u16>,
    /// Storage flush policy of the nodes: always (durable) or never.
    #[arg(long, default_value = "always", value_parser = ["always", "never"])]
    pub fsync: String,
    /// Nodes started now write their observed events to DIR/node-<i>/trace.jsonl.
    #[arg(long)]
    pub trace: bool,
    /// Print one JSON object as the last line of stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DirArgs {
    /// The cluster's directory, as given to `void cluster up`.
    #[arg(long)]
    pub dir: PathBuf,
    /// Print one JSON object as the last line of stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: ClusterCommand) -> CliResult {
    match cmd {
        ClusterCommand::Up(a) => up(a),
        ClusterCommand::Status(a) => status(a),
        ClusterCommand::Down(a) => down(a),
    }
}

pub const ADMIN_TOKEN: &str = "admin.macaroon";

fn node_dir(dir: &Path, i: u32) -> PathBuf {
    dir.join(format!("node-{i}"))
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

/// Writes a fresh cluster into `dir`: keys, configs, cluster.toml and the admin macaroon.
pub fn create(
    dir: &Path,
    replicas: u32,
    base_port: u16,
    fsync: Fsync,
    tunables: PbftTunables,
) -> Result<(), Failure> {
    void_core::pbft::Config::new(replicas, 0).map_err(|e| {
        let e = e.to_string();
        let e = e.strip_prefix("replicas: ").unwrap_or(&e);
        bad(format!(
            "--replicas {replicas}: {e}; PBFT tolerates f faulty replicas with n >= 3f + 1, so at least 4"
        ))
    })?;
    if u32::from(base_port) + 100 + replicas > 65_535 || base_port < 1024 {
        return Err(bad(format!("--base-port {base_port}: ports P..P+100+N must lie in 1024..65535")));
    }
    std::fs::create_dir_all(dir).map_err(|e| bad(format!("--dir {}: {e}", dir.display())))?;
    let root = dir.join("root.key");
    let root_key = if root.exists() { keys::read_secret(&root)? } else { keys::create_secret(&root)? };
    let mut entries = Vec::new();
    for i in 0..replicas {
        let nd = node_dir(dir, i);
        std::fs::create_dir_all(&nd)?;
        let key_path = nd.join("node.key");
        let secret =
            if key_path.exists() { keys::read_secret(&key_path)? } else { keys::create_secret(&key_path)? };
        let public = ed25519_dalek::SigningKey::from_bytes(&secret).verifying_key();
        let port =
            |off: u32| -> SocketAddr { ([127, 0, 0, 1], (u32::from(base_port) + off + i) as u16).into() };
        entries.push(ReplicaEntry {
            id: i,
            addr: port(0),
            http: port(100),
            key: Some(hex::encode(public.as_bytes())),
        });
    }
    for i in 0..replicas {
        let file = NodeFile {
            id: i,
            data_dir: PathBuf::from("."),
            root_key_file: PathBuf::from("../root.key"),
            fsync,
            gateway_clients: 128,
            pbft: tunables.clone(),
            www: None,
            replicas: entries.clone(),
        };
        let text = toml::to_string(&file).map_err(anyhow::Error::from)?;
        std::fs::write(node_dir(dir, i).join("node.toml"), text)?;
    }
    let cluster = toml::to_string(&ClusterFile { replicas: entries }).map_err(anyhow::Error::from)?;
    std::fs::write(dir.join("cluster.toml"), cluster)?;
    // The admin token: every operation on every key. The root key file's text is the secret,
    // exactly as `void macaroon mint --root-key-file` reads it.
    let secret = hex::encode(root_key);
    let m = void_core::caps::Macaroon::mint(secret.as_bytes(), b"admin", "void-cluster")
        .map_err(anyhow::Error::from)?;
    let text = m.serialize(void_core::caps::Format::V2).map_err(anyhow::Error::from)?;
    write_private(&dir.join(ADMIN_TOKEN), &format!("{text}\n"))?;
    Ok(())
}

/// A fresh directory under the system's temporary directory, named `<prefix>-<random>`.
pub fn scratch_dir(prefix: &str) -> Result<PathBuf, Failure> {
    let mut r = [0u8; 8];
    let _ = getrandom::fill(&mut r);
    let d = std::env::temp_dir().join(format!("{prefix}-{}", hex::encode(r)));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

/// A base port P with P..P+n (transport) and P+100..P+100+n (HTTP) free on loopback.
pub fn free_base(n: u32) -> Result<u16, Failure> {
    let mut r = [0u8; 2];
    for _ in 0..100 {
        let _ = getrandom::fill(&mut r);
        let base = 20_000 + u16::from_le_bytes(r) % 30_000;
        let free = (0..n as u16).all(|i| {
            std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()
                && std::net::TcpListener::bind(("127.0.0.1", base + 100 + i)).is_ok()
        });
        if free {
            return Ok(base);
        }
    }
    Err(Failure::Other(anyhow::anyhow!("no free range of {n} + {n} ports on 127.0.0.1 for a cluster")))
}

/// The pid in `node.pid` if that process is alive and is a `void node`.
pub fn running_pid(dir: &Path, i: u32) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(node_dir(dir, i).join("node.pid")).ok()?.trim().parse().ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 3 is the state; a zombie has exited.
    let state = stat.rsplit(')').next()?.split_whitespace().next()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    (state != "Z" && cmdline.split(|b| *b == 0).any(|a| a == b"node")).then_some(pid)
}

/// Starts node `i` of `dir` as a detached process logging to `node.log`.
pub fn spawn_node(dir: &Path, i: u32, trace: bool) -> Result<i32, Failure> {
    let nd = node_dir(dir, i);
    let log = std::fs::OpenOptions::new().create(true).append(true).open(nd.join("node.log"))?;
    let exe = std::env::current_exe()?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("node").arg("--config").arg(nd.join("node.toml"));
    if trace {
        cmd.arg("--trace").arg(nd.join("trace.jsonl"));
    }
    let child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()?;
    let pid = child.id() as i32;
    std::fs::write(nd.join("node.pid"), format!("{pid}\n"))?;
    Ok(pid)
}

/// A bare HTTP/1.1 GET on loopback (status and metrics only; no client library needed).
pub async fn http_get(addr: SocketAddr, path: &str) -> anyhow::Result<String> {
    let mut s = tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr)).await??;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes())
        .await?;
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut buf)).await??;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| anyhow::anyhow!("malformed HTTP answer"))?;
    if !head.starts_with("HTTP/1.1 200") {
        anyhow::bail!("{}", head.lines().next().unwrap_or(""));
    }
    Ok(body.to_string())
}

pub async fn node_status(addr: SocketAddr) -> Option<Value> {
    serde_json::from_str(&http_get(addr, "/status").await.ok()?).ok()
}

fn load_cluster(dir: &Path) -> Result<Vec<crate::node::config::Replica>, Failure> {
    let path = dir.join("cluster.toml");
    if !path.exists() {
        return Err(bad(format!(
            "--dir {}: no cluster.toml (create one with `void cluster up`)",
            dir.display()
        )));
    }
    ClusterFile::load(&path).map(|(_, r)| r).map_err(bad)
}

/// The first of a new cluster's ports (replica links P.., HTTP P+100..) that cannot be bound.
fn busy_port(base: u16, replicas: u32) -> Option<u32> {
    (0..replicas)
        .flat_map(|i| [i, 100 + i])
        .map(|off| u32::from(base) + off)
        .find(|&p| u16::try_from(p).is_ok_and(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_err()))
}

fn up(a: UpArgs) -> CliResult {
    let fsync = if a.fsync == "never" { Fsync::Never } else { Fsync::Always };
    if !a.dir.join("cluster.toml").exists() {
        let base = a.base_port.unwrap_or(DEFAULT_BASE_PORT);
        // Checked before anything is written, so a busy port leaves no half-made cluster.
        if let Some(busy) = busy_port(base, a.replicas) {
            return Err(bad(format!(
                "--base-port {base}: port {busy} is in use (a cluster needs {base}..{} and {}..{}; choose another --base-port)",
                u32::from(base) + a.replicas - 1,
                u32::from(base) + 100,
                u32::from(base) + 100 + a.replicas - 1
            )));
        }
        create(&a.dir, a.replicas, base, fsync, PbftTunables::default())?;
        eprintln!("created a {}-replica cluster in {}", a.replicas, a.dir.display());
    }
    let replicas = load_cluster(&a.dir)?;
    if let (Some(p), Some(first)) = (a.base_port, replicas.first())
        && first.addr.port() != p
    {
        return Err(bad(format!(
            "--base-port {p}: {} already holds a cluster on ports from {} (leave --base-port out, or use another --dir)",
            a.dir.display(),
            first.addr.port()
        )));
    }
    if replicas.len() as u32 != a.replicas {
        return Err(bad(format!(
            "--replicas {}: {} already holds a {}-replica cluster",
            a.replicas,
            a.dir.display(),
            replicas.len()
        )));
    }
    let mut started = Vec::new();
    for r in &replicas {
        if running_pid(&a.dir, r.id).is_none() {
            started.push((r.id, spawn_node(&a.dir, r.id, a.trace)?));
        }
    }
    if a.trace && started.len() < replicas.len() {
        // A running node keeps the options it was started with.
        eprintln!(
            "note: --trace applies to the nodes started now; {} of {} were already running without it (`cluster down`, then `up --trace`, traces all)",
            replicas.len() - started.len(),
            replicas.len()
        );
    }
    let rt = tokio::runtime::Runtime::new()?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut ready = Vec::new();
    for r in &replicas {
        let st = rt.block_on(async {
            loop {
                let pid = running_pid(&a.dir, r.id);
                if let Some(s) = node_status(r.http).await.filter(|s| answers_for(s, pid)) {
                    return Some(s);
                }
                if Instant::now() > deadline || pid.is_none() {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let Some(st) = st else {
            let log = node_dir(&a.dir, r.id).join("node.log");
            let last = std::fs::read_to_string(&log)
                .ok()
                .and_then(|t| t.lines().rev().find(|l| !l.trim().is_empty()).map(str::to_string))
                .map(|l| l.strip_prefix("error: ").map(str::to_string).unwrap_or(l))
                .map_or(String::new(), |l| format!(": {l}"));
            return Err(Failure::Other(anyhow::anyhow!(
                "node {} did not become ready{last} (see {})",
                r.id,
                log.display()
            )));
        };
        ready.push(st);
    }
    // A node just (re)started reports view 0 until it hears of the cluster's view:
    // give it a moment so the roles printed are the cluster's, not the config's.
    let settle = Instant::now() + Duration::from_secs(3);
    while ready.iter().any(|s| s["view"] != ready_view(&ready)) && Instant::now() < settle {
        std::thread::sleep(Duration::from_millis(100));
        for (st, r) in ready.iter_mut().zip(&replicas) {
            if let Some(fresh) = rt.block_on(node_status(r.http)) {
                *st = fresh;
            }
        }
    }
    let mut nodes = Vec::new();
    for (st, r) in ready.iter().zip(&replicas) {
        let role = st["role"].as_str().unwrap_or("?").to_string();
        nodes.push(json!({"node": r.id, "pid": running_pid(&a.dir, r.id), "addr": r.addr.to_string(),
            "http": r.http.to_string(), "role": role, "view": st["view"]}));
        let how = if started.iter().any(|(i, _)| *i == r.id) { "started" } else { "already running" };
        eprintln!(
            "node {} ready ({how}): {role} in view {} (transport {}, http {})",
            r.id, st["view"], r.addr, r.http
        );
    }
    let mut views: Vec<u64> = ready.iter().filter_map(|s| s["view"].as_u64()).collect();
    views.sort_unstable();
    views.dedup();
    if views.len() > 1 {
        eprintln!("the nodes report different views {views:?}: a view change or catch-up is under way");
    }
    eprintln!("admin token: {}", a.dir.join(ADMIN_TOKEN).display());
    if a.json {
        print_json(
            &json!({"dir": a.dir.display().to_string(), "started": started.iter().map(|s| s.0).collect::<Vec<_>>(), "nodes": nodes}),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// True when `status` came from the process `pid` (the node this directory started), not
/// from another process listening on the same address.
fn answers_for(status: &Value, pid: Option<i32>) -> bool {
    pid.is_some_and(|p| status["pid"].as_i64() == Some(i64::from(p)))
}

/// The highest view any node reports: the one the cluster is in.
fn ready_view(statuses: &[Value]) -> Value {
    statuses.iter().filter_map(|s| s["view"].as_u64()).max().map_or(Value::Null, Value::from)
}

fn status(a: DirArgs) -> CliResult {
    let replicas = load_cluster(&a.dir)?;
    let rt = tokio::runtime::Runtime::new()?;
    let mut nodes = Vec::new();
    let mut healthy = true;
    for r in &replicas {
        let pid = running_pid(&a.dir, r.id);
        let answer = rt.block_on(node_status(r.http));
        let stranger = answer.as_ref().is_some_and(|s| !answers_for(s, pid));
        let st = answer.filter(|s| answers_for(s, pid));
        let field = |k: &str| st.as_ref().map(|s| s[k].clone()).unwrap_or(Value::Null);
        let facts = match &st {
            Some(s) => {
                format!(
                    " role {} view {} last executed {}",
                    s["role"].as_str().unwrap_or("?"),
                    field("view"),
                    field("last_executed")
                )
            }
            None if stranger => format!(" (another process answers on {})", r.http),
            None if pid.is_some() => " (not answering on its HTTP address)".to_string(),
            None => String::new(),
        };
        healthy &= st.is_some();
        eprintln!(
            "node {}: pid {} {}{facts}",
            r.id,
            pid.map_or("-".into(), |p| p.to_string()),
            if pid.is_some() { "alive" } else { "down" },
        );
        nodes.push(json!({"node": r.id, "pid": pid, "alive": pid.is_some(), "role": field("role"),
            "view": field("view"), "last_executed": field("last_executed"), "state_digest": field("state_digest")}));
    }
    if a.json {
        print_json(&json!({"nodes": nodes}));
    }
    // Like `systemctl is-active`: scripts can wait for a whole cluster.
    Ok(if healthy { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Sends `sig` to `pid`.
pub fn signal(pid: i32, sig: i32) -> bool {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(pid, sig) == 0 }
}

fn down(a: DirArgs) -> CliResult {
    let replicas = load_cluster(&a.dir)?;
    let pids: Vec<(u32, i32)> =
        replicas.iter().filter_map(|r| running_pid(&a.dir, r.id).map(|p| (r.id, p))).collect();
    for (_, pid) in &pids {
        signal(*pid, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stuck = Vec::new();
    for (i, _) in &pids {
        while running_pid(&a.dir, *i).is_some() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if running_pid(&a.dir, *i).is_some() {
            stuck.push(*i);
        } else {
            let _ = std::fs::remove_file(node_dir(&a.dir, *i).join("node.pid"));
        }
    }
    eprintln!(
        "stopped {} node(s){}",
        pids.len() - stuck.len(),
        if stuck.is_empty() { String::new() } else { format!("; still running: {stuck:?}") }
    );
    if a.json {
        print_json(&json!({"stopped": pids.len() - stuck.len(), "still_running": stuck}));
    }
    Ok(if stuck.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
