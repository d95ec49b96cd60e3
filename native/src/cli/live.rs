//! The local native cluster `void play` runs for the playground's live mode, and the
//! endpoints the page uses to watch and disturb it (under `/live`).
//!
//! `GET /live/cluster` describes the nodes (their HTTP addresses serve `/status`,
//! `/metrics` and the `/events` WebSocket) and hands the page a token scoped to this
//! cluster's live controls; `GET /live/status` gathers every node's `/status`;
//! `POST /live/node/<i>/kill` (kill -9), `POST /live/node/<i>/restart` and `POST /live/kv`
//! (`{"op": "put"|"get"|"delete", "key", "value"}` or `{"op": "broadcast", "text"}`, sent
//! through the cluster's client gateway
//! with its admin capability) need that token in `Authorization: Bearer <token>`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde_json::json;
use void_core::caps::{Context, Format, Macaroon, Verifier};

use super::Failure;
use super::client::describe;
use super::cluster::{
    ADMIN_TOKEN, create, free_base, node_status, running_pid, scratch_dir, signal, spawn_node,
};
use crate::node::client::Conn;
use crate::node::config::{ClusterFile, PbftTunables, Replica};
use crate::node::store::Fsync;
use crate::node::wire::ClientOp;

pub struct LiveCluster {
    dir: PathBuf,
    replicas: Vec<Replica>,
    root_key: Vec<u8>,
    token: String,
}

const REPLICAS: u32 = 4;

impl LiveCluster {
    /// Creates a fresh 4-replica cluster in a temporary directory and waits for it.
    pub fn start() -> Result<LiveCluster, Failure> {
        let dir = scratch_dir("void-play")?;
        let base = free_base(REPLICAS)?;
        create(&dir, REPLICAS, base, Fsync::Never, PbftTunables::default())?;
        let (_, replicas) = ClusterFile::load(&dir.join("cluster.toml")).map_err(super::bad)?;
        for r in &replicas {
            spawn_node(&dir, r.id, false)?;
        }
        let root_key = crate::node::read_root_key(&dir.join("root.key"))
            .map_err(|_| Failure::Other(anyhow::anyhow!("cannot read the live cluster's root key")))?;
        let m = Macaroon::mint(&root_key, b"playground", "void-play")
            .and_then(|mut m| m.add_first_party_caveat("op = live").map(|()| m))
            .map_err(|e| Failure::Other(anyhow::anyhow!("minting the playground token: {e}")))?;
        let token = m.serialize(Format::V2).map_err(|e| Failure::Other(anyhow::anyhow!("{e}")))?;
        let live = LiveCluster { dir, replicas, root_key, token };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let deadline = Instant::now() + Duration::from_secs(20);
        for r in &live.replicas {
            while rt.block_on(node_status(r.http)).is_none() {
                if Instant::now() > deadline {
                    live.stop();
                    return Err(Failure::Other(anyhow::anyhow!("live cluster node {} did not start", r.id)));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        eprintln!(
            "live mode: a {REPLICAS}-replica native cluster in {} (node 0 status: http://{}/status; \
             each node logs to node-<i>/node.log there, removed when void play stops)",
            live.dir.display(),
            live.replicas[0].http
        );
        Ok(live)
    }

    /// SIGTERM every node, wait briefly, remove the directory.
    pub fn stop(&self) {
        let pids: Vec<i32> = self.replicas.iter().filter_map(|r| running_pid(&self.dir, r.id)).collect();
        for p in &pids {
            signal(*p, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(6);
        while self.replicas.iter().any(|r| running_pid(&self.dir, r.id).is_some())
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    fn authorized(&self, headers: &HeaderMap) -> Result<(), String> {
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or("missing Authorization: Bearer <token> (GET /live/cluster hands one out)")?;
        let (m, _) = Macaroon::deserialize(token.trim()).map_err(|e| format!("token: {e}"))?;
        Verifier::new().verify(&m, &self.root_key, &[], &Context::new().op("live")).map_err(|e| e.to_string())
    }
}

pub fn router(live: Arc<LiveCluster>) -> Router {
    Router::new()
        .route("/cluster", get(cluster))
        .route("/status", get(status))
        .route("/node/{id}/{action}", post(act))
        .route("/kv", post(kv))
        .with_state(live)
}

async fn cluster(State(l): State<Arc<LiveCluster>>) -> Json<serde_json::Value> {
    let nodes: Vec<_> = l
        .replicas
        .iter()
        .map(|r| json!({"id": r.id, "addr": r.addr.to_string(), "http": r.http.to_string()}))
        .collect();
    Json(json!({"replicas": nodes, "token": l.token}))
}

async fn status(State(l): State<Arc<LiveCluster>>) -> Json<serde_json::Value> {
    let mut out = Vec::new();
    for r in &l.replicas {
        let alive = running_pid(&l.dir, r.id).is_some();
        let st = if alive { node_status(r.http).await } else { None };
        out.push(json!({"id": r.id, "alive": alive, "status": st}));
    }
    Json(json!({"nodes": out}))
}

async fn act(
    State(l): State<Arc<LiveCluster>>,
    Path((id, action)): Path<(u32, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(why) = l.authorized(&headers) {
        return (StatusCode::FORBIDDEN, Json(json!({"error": why}))).into_response();
    }
    if id >= REPLICAS {
        return (StatusCode::NOT_FOUND, Json(json!({"error": format!("no node {id}")}))).into_response();
    }
    let result =
        match action.as_str() {
            "kill" => match running_pid(&l.dir, id) {
                Some(pid) => {
                    signal(pid, libc::SIGKILL);
                    Ok(json!({"killed": id}))
                }
                None => Err(format!("node {id} is not running")),
            },
            "restart" => match running_pid(&l.dir, id) {
                Some(_) => Err(format!("node {id} is already running")),
                None => spawn_node(&l.dir, id, false)
                    .map(|pid| json!({"restarted": id, "pid": pid}))
                    .map_err(|e| match e {
                        Failure::BadInput(m) => m,
                        Failure::Other(e) => e.to_string(),
                    }),
            },
            other => {
                return (
                    StatusCode::NOT_FOUND,
                    Json(json!({"error": format!("unknown action {other:?}; kill or restart")})),
                )
                    .into_response();
            }
        };
    // The page's disturbances, in the log beside what the nodes say about them.
    match result {
        Ok(v) => {
            eprintln!(
                "live mode: node {id}: {} from the page",
                if action == "kill" { "kill -9" } else { "restarted" }
            );
            Json(v).into_response()
        }
        Err(e) => (StatusCode::CONFLICT, Json(json!({"error": e}))).into_response(),
    }
}

/// Longest key or value the page may send (the gateway has its own limits too).
const MAX_KV_BYTES: usize = 4096;

/// The client operation a `/live/kv` body asks for, or what is wrong with it.
fn kv_op(body: &serde_json::Value) -> Result<ClientOp, String> {
    let field = |name: &str| -> Result<String, String> {
        let text = body[name].as_str().ok_or_else(|| format!("field {name:?} is missing or not a string"))?;
        if text.is_empty() || text.len() > MAX_KV_BYTES {
            return Err(format!("field {name:?} must have 1 to {MAX_KV_BYTES} bytes"));
        }
        Ok(text.to_owned())
    };
    match body["op"].as_str() {
        Some("put") => Ok(ClientOp::Put { key: field("key")?, value: field("value")? }),
        Some("get") => Ok(ClientOp::Get { key: field("key")?, at: None }),
        Some("delete") => Ok(ClientOp::Delete { key: field("key")? }),
        Some("broadcast") => Ok(ClientOp::Broadcast { text: field("text")? }),
        Some(other) => Err(format!("field \"op\" is {other:?}; put, get, delete or broadcast")),
        None => Err("field \"op\" is missing (put, get, delete or broadcast)".into()),
    }
}

async fn kv(State(l): State<Arc<LiveCluster>>, headers: HeaderMap, body: String) -> Response {
    if let Err(why) = l.authorized(&headers) {
        return (StatusCode::FORBIDDEN, Json(json!({"error": why}))).into_response();
    }
    let op = match serde_json::from_str::<serde_json::Value>(&body)
        .map_err(|e| format!("body: {e}"))
        .and_then(|b| kv_op(&b))
    {
        Ok(op) => op,
        Err(why) => return (StatusCode::BAD_REQUEST, Json(json!({"error": why}))).into_response(),
    };
    let token = match std::fs::read_to_string(l.dir.join(ADMIN_TOKEN)) {
        Ok(t) => t.trim().to_owned(),
        Err(e) => {
            let why = format!("the live cluster's admin token: {e}");
            return (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": why}))).into_response();
        }
    };
    // Any replica can take the request; try them in order until one answers.
    let mut failures = Vec::new();
    for r in &l.replicas {
        let attempt = async {
            let mut c = Conn::connect(r, token.clone()).await?;
            c.call(op.clone(), None, Duration::from_secs(5)).await
        };
        match attempt.await {
            Ok(resp) => {
                let (code, text, mut value) = describe(resp.outcome);
                value["node"] = json!(resp.node);
                value["text"] = json!(text);
                value["ok"] = json!(code == 0);
                return Json(value).into_response();
            }
            Err(e) => failures.push(format!("replica {}: {e:#}", r.id)),
        }
    }
    let why = format!("no replica answered: {}", failures.join("; "));
    (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"error": why}))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_bodies_become_client_operations() {
        let put = kv_op(&json!({"op": "put", "key": "k", "value": "v"})).unwrap();
        assert!(matches!(put, ClientOp::Put { ref key, ref value } if key == "k" && value == "v"));
        assert!(matches!(kv_op(&json!({"op": "get", "key": "k"})).unwrap(), ClientOp::Get { at: None, .. }));
        assert!(matches!(kv_op(&json!({"op": "delete", "key": "k"})).unwrap(), ClientOp::Delete { .. }));
        let b = kv_op(&json!({"op": "broadcast", "text": "hi"})).unwrap();
        assert!(matches!(b, ClientOp::Broadcast { ref text } if text == "hi"));
    }

    #[test]
    fn bad_kv_bodies_are_refused_naming_the_field() {
        let cases = [
            (json!({"key": "k"}), "\"op\" is missing"),
            (json!({"op": "cas", "key": "k"}), "put, get, delete or broadcast"),
            (json!({"op": "broadcast", "value": "v"}), "\"text\" is missing"),
            (json!({"op": "put", "key": "k"}), "\"value\""),
            (json!({"op": "get", "key": ""}), "\"key\" must have"),
            (json!({"op": "get", "key": 7}), "\"key\" is missing or not a string"),
            (json!({"op": "put", "key": "k", "value": "x".repeat(MAX_KV_BYTES + 1)}), "\"value\" must have"),
        ];
        for (body, says) in cases {
            let err = kv_op(&body).unwrap_err();
            assert!(err.contains(says), "{body}: {err:?} should say {says:?}");
        }
    }
}
