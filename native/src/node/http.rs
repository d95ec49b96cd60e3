//! The node's HTTP side: `/status`, `/metrics`, `/events` (WebSocket) and the playground.
//! Read-only; binds to the configured address (loopback by default).

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::metrics::Metrics;
use super::status::StatusCell;
use crate::net::Transport;

#[derive(Clone)]
pub struct HttpState {
    pub node: u32,
    pub started: Instant,
    pub status: Arc<StatusCell>,
    pub metrics: Arc<Metrics>,
    pub transport: Transport,
    /// Asks the runtime to bring the state digest up to date.
    pub digests: tokio::sync::mpsc::Sender<tokio::sync::oneshot::Sender<()>>,
}

pub fn router(state: HttpState, www: Option<std::path::PathBuf>) -> Router {
    let r = Router::new()
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .route("/events", get(events))
        .with_state(state);
    match www {
        Some(dir) => r.fallback_service(tower_http::services::ServeDir::new(dir)),
        None => r,
    }
}

async fn status(State(s): State<HttpState>) -> Json<serde_json::Value> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    if s.digests.try_send(tx).is_ok() {
        // A busy node may take a moment; without an answer the digest shows as empty.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), rx).await;
    }
    let st = s.status.get();
    let peers: Vec<_> =
        s.transport.peer_states().into_iter().map(|(id, state)| json!({"id": id, "state": state})).collect();
    Json(json!({
        "node": s.node,
        "role": st.role,
        "view": st.view,
        "last_executed": st.last_executed,
        "stable_checkpoint": st.stable_checkpoint,
        "hlc": st.hlc,
        "state_digest": st.state_digest,
        "keys": st.keys,
        "gossip": st.gossip,
        "peers": peers,
        "uptime_s": s.started.elapsed().as_secs_f64(),
        // Lets `void cluster` tell its own node from another process on the same port.
        "pid": std::process::id(),
    }))
}

async fn metrics(State(s): State<HttpState>) -> Response {
    let body = s.metrics.render(s.transport.counters());
    ([("content-type", "text/plain; version=0.0.4")], body).into_response()
}

async fn events(State(s): State<HttpState>, ws: WebSocketUpgrade) -> Response {
    let rx = s.metrics.subscribe();
    ws.on_upgrade(move |socket| stream(socket, rx))
}

async fn stream(mut socket: WebSocket, mut rx: tokio::sync::broadcast::Receiver<Arc<str>>) {
    loop {
        match rx.recv().await {
            Ok(line) => {
                if socket.send(Message::Text(line.as_ref().into())).await.is_err() {
                    return;
                }
            }
            // A slow viewer misses events rather than slowing the node; it is told how many.
            Err(RecvError::Lagged(n)) => {
                let note = json!({"category": "lagged", "missed": n}).to_string();
                if socket.send(Message::Text(note.into())).await.is_err() {
                    return;
                }
            }
            Err(RecvError::Closed) => return,
        }
    }
}
