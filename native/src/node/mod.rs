//! The native node: the seed's system orchestrator. Boots in order (config, key, storage,
//! transport, protocols, HTTP), serves until SIGINT/SIGTERM, then shuts down cleanly.
//! Call [`run`] inside a `tokio::task::LocalSet`: the protocol task stays on one thread.

pub mod client;
pub mod config;
pub mod gateway;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod runtime;
pub mod status;
pub mod store;
pub mod wire;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};
use void_core::effect::NodeId;
use void_core::pbft::{Bug, Client, PbftNode, Replica, Workload};

use crate::net::{self, PeerInfo, TransportConfig};
use config::NodeConfig;
use runtime::{Parts, Runtime, host_of};

/// Why the node did not run: a bad config is the user's (exit 2), the rest is ours.
pub enum NodeError {
    Config(String),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for NodeError {
    fn from(e: anyhow::Error) -> Self {
        NodeError::Other(e)
    }
}

/// How long a graceful shutdown may take before the node gives up waiting.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(4);

pub async fn run(config_path: &Path, trace: Option<&Path>) -> Result<(), NodeError> {
    let started = Instant::now();
    let cfg = NodeConfig::load(config_path).map_err(NodeError::Config)?;
    let pbft = cfg.pbft().map_err(|e| NodeError::Config(format!("{}: {e}", config_path.display())))?;
    tracing::info!(node = cfg.id, replicas = pbft.n, f = pbft.f, "config parsed");

    // A config that already names this node's public key expects its key file: making a
    // new one would only fail the check below, with the wrong reason.
    let key_file = cfg.data_dir.join("node.key");
    if cfg.me().key.is_some() && !key_file.exists() {
        return Err(NodeError::Config(format!(
            "{}: replicas[{}].key is set, but data_dir {} holds no node.key (a wrong data_dir? \
             leave the key out for a first boot, or make one with `void node --keygen DIR`)",
            config_path.display(),
            cfg.id,
            cfg.data_dir.display()
        )));
    }
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("creating data_dir {}", cfg.data_dir.display()))?;
    let (signing, created) = keys::load_or_create_signing(&cfg.data_dir.join("node.key"))?;
    let my_key = signing.verifying_key();
    if let Some(k) = cfg.me().key
        && k != my_key
    {
        return Err(NodeError::Config(format!(
            "{}: replicas[{}].key does not match this node's key file {} (public key {})",
            config_path.display(),
            cfg.id,
            cfg.data_dir.join("node.key").display(),
            hex::encode(my_key.as_bytes())
        )));
    }
    tracing::info!(created, public_key = %hex::encode(my_key.as_bytes()), "node key loaded");
    let root_key = read_root_key(&cfg.root_key_file)?;

    let store = store::Store::open(&cfg.data_dir.join("node.redb"), cfg.fsync)?;
    tracing::info!(fsync = ?cfg.fsync, "storage open");

    let keys: Vec<_> = cfg.replicas.iter().map(|r| r.key.unwrap_or(my_key)).collect();
    let listener = tokio::net::TcpListener::bind(cfg.me().addr)
        .await
        .with_context(|| format!("binding the transport on {}", cfg.me().addr))?;
    let peers = cfg
        .replicas
        .iter()
        .filter(|r| r.id != cfg.id)
        .map(|r| PeerInfo { id: r.id, addr: r.addr, key: keys[r.id as usize] })
        .collect();
    let (transport, peer_rx, mut client_rx) = net::start(TransportConfig {
        me: cfg.id,
        signing: signing.clone(),
        listener,
        peers,
        max_frame: net::DEFAULT_MAX_FRAME,
        queue_depth: 65_536,
    })
    .await
    .context("starting the transport")?;
    tracing::info!(addr = %cfg.me().addr, "transport listening");

    let g = cfg.gateway_clients;
    let host = |i: u32| host_of(&pbft, g, i);
    let mut nodes = vec![PbftNode::Replica(Box::new(Replica::new(
        pbft.clone(),
        keys::pbft_keyring(&pbft, NodeId(cfg.id), host, &signing, &keys),
        Bug::None,
    )))];
    for j in 0..g {
        let id = NodeId(pbft.n + cfg.id * g + j);
        let workload = Workload { ops: 0, ..Workload::default() };
        nodes.push(PbftNode::Client(Box::new(Client::new(
            pbft.clone(),
            keys::pbft_keyring(&pbft, id, host, &signing, &keys),
            workload,
        ))));
    }
    let trace_file = match trace {
        Some(p) => Some(
            std::fs::File::create(p)
                .map_err(|e| NodeError::Config(format!("--trace {}: {e}", p.display())))?,
        ),
        None => None,
    };
    let metrics = Arc::new(metrics::Metrics::default());
    let status = Arc::new(status::StatusCell::default());
    let gossip = runtime::gossip_member(cfg.id, pbft.n).map_err(|e| NodeError::Other(anyhow::anyhow!(e)))?;
    let mut rt = Runtime::new(Parts {
        cfg: pbft.clone(),
        me: cfg.id,
        gateway: g,
        nodes,
        gossip,
        store,
        transport: transport.clone(),
        trace: trace_file,
        metrics: metrics.clone(),
        status: status.clone(),
    });
    rt.boot()?;
    tracing::info!(gateway_clients = g, "PBFT replica and HyParView/Plumtree member started");

    let (stop_tx, stop_rx) = watch::channel(false);
    let (submit_tx, submit_rx) = mpsc::channel(65_536);
    let (digest_tx, digest_rx) = mpsc::channel(64);
    // The state machines stay on this thread (the gossip member shares its config by `Rc`).
    let runtime = tokio::task::spawn_local(rt.run(peer_rx, submit_rx, digest_rx, stop_rx.clone()));

    let gw =
        Arc::new(gateway::Gateway { node: cfg.id, root_key, submits: submit_tx, metrics: metrics.clone() });
    let mut stop_clients = stop_rx.clone();
    let clients = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop_clients.changed() => break,
                c = client_rx.recv() => match c {
                    Some(conn) => { tokio::spawn(gw.clone().serve(conn)); }
                    None => break,
                },
            }
        }
    });

    let http_state = http::HttpState {
        node: cfg.id,
        started,
        status,
        metrics,
        transport: transport.clone(),
        digests: digest_tx,
    };
    let http_listener = tokio::net::TcpListener::bind(cfg.me().http)
        .await
        .with_context(|| format!("binding HTTP on {}", cfg.me().http))?;
    let mut stop_http = stop_rx.clone();
    let app = http::router(http_state, cfg.www.clone());
    let http = tokio::spawn(async move {
        let _ = axum::serve(http_listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop_http.changed().await;
            })
            .await;
    });
    tracing::info!(http = %cfg.me().http, "HTTP serving /status /metrics /events");
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "ready");

    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = int.recv() => tracing::info!("SIGINT: shutting down"),
    }
    // A second signal forces the exit.
    tokio::spawn(async move {
        tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
        eprintln!("second signal: exiting now");
        std::process::exit(130);
    });
    let _ = stop_tx.send(true);
    transport.shutdown();
    let done = async {
        let _ = clients.await;
        let r = runtime.await;
        let _ = http.await;
        r
    };
    match tokio::time::timeout(SHUTDOWN_GRACE, done).await {
        Ok(Ok(Ok(()))) => tracing::info!("storage flushed; bye"),
        Ok(Ok(Err(e))) => return Err(NodeError::Other(e.context("while shutting down"))),
        Ok(Err(e)) => return Err(NodeError::Other(anyhow::anyhow!("runtime task failed: {e}"))),
        Err(_) => tracing::warn!("shutdown took longer than {SHUTDOWN_GRACE:?}; exiting"),
    }
    Ok(())
}

/// The cluster's macaroon root key, read as `void macaroon --root-key-file` reads it.
/// Shortest macaroon root key a node accepts (128 bits as raw bytes).
const MIN_ROOT_KEY_BYTES: usize = 16;

pub fn read_root_key(path: &Path) -> Result<Vec<u8>, NodeError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| NodeError::Config(format!("root_key_file {}: {e}", path.display())))?;
    if meta.len() > 4096 {
        return Err(NodeError::Config(format!("root_key_file {} is larger than 4096 bytes", path.display())));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| NodeError::Config(format!("root_key_file {}: {e}", path.display())))?;
    let key = text.strip_suffix('\n').map(|k| k.strip_suffix('\r').unwrap_or(k)).unwrap_or(&text);
    // A short root key could be guessed, and with it every capability forged.
    if key.len() < MIN_ROOT_KEY_BYTES {
        return Err(NodeError::Config(format!(
            "root_key_file {}: {} bytes; a root key needs at least {MIN_ROOT_KEY_BYTES} (`void cluster up` writes 64 hex digits)",
            path.display(),
            key.len()
        )));
    }
    Ok(key.as_bytes().to_vec())
}
