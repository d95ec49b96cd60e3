//! The client API: framed connections whose every request carries a macaroon.
//!
//! A request is checked against the cluster's root key with the caveats `op`, `key-prefix`,
//! `time`, `user` and `ip` before it is ordered. Use-once tokens (`nonce = X` caveats) are
//! spent through PBFT's `ConsumeNonce`, so a token cannot be used twice anywhere in the
//! cluster; only then does the operation itself go to consensus.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use void_core::caps::{Context, Macaroon, NonceError, NonceStore, Verifier};
use void_core::pbft::{Op, OpResult};

use super::metrics::Metrics;
use super::runtime::Submit;
use super::wire::{
    ClientOp, ClientOutcome, ClientRequest, ClientResponse, MAX_BROADCAST_BYTES, MAX_TOKEN_BYTES,
    WIRE_VERSION,
};
use crate::net::ClientConn;

/// Requests one connection may have in flight (more wait for TCP to push back).
const PIPELINE: usize = 256;

pub struct Gateway {
    pub node: u32,
    pub root_key: Vec<u8>,
    pub submits: mpsc::Sender<Submit>,
    pub metrics: Arc<Metrics>,
}

/// The verifier sees every nonce as fresh: freshness is decided by consensus afterwards.
struct Fresh;

impl NonceStore for Fresh {
    fn is_consumed(&self, _nonce: &str) -> bool {
        false
    }
    fn consume(&mut self, _nonce: &str) -> Result<(), NonceError> {
        Ok(())
    }
}

impl Gateway {
    /// Serves one client connection until it closes.
    pub async fn serve(self: Arc<Self>, conn: ClientConn) {
        let ClientConn { addr, mut reader, mut writer } = conn;
        let (tx, mut rx) = mpsc::channel::<ClientResponse>(PIPELINE);
        let metrics = self.metrics.clone();
        let write = tokio::spawn(async move {
            while let Some(resp) = rx.recv().await {
                let Ok(bytes) = postcard::to_allocvec(&resp) else { continue };
                if writer.write(&bytes).await.is_err() {
                    break;
                }
                // Flush only when nothing else is ready, so pipelined answers share writes.
                if rx.is_empty() && writer.flush().await.is_err() {
                    break;
                }
            }
        });
        let slots = Arc::new(tokio::sync::Semaphore::new(PIPELINE));
        loop {
            let frame = match reader.read().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(%addr, "client connection: {e}");
                    metrics.reject("client", "bad_frame");
                    break;
                }
            };
            let req: ClientRequest = match postcard::from_bytes(&frame) {
                Ok(r) => r,
                Err(e) => {
                    metrics.reject("client", "undecodable");
                    let resp = ClientResponse {
                        id: 0,
                        node: self.node,
                        outcome: ClientOutcome::Error(format!("undecodable request: {e}")),
                    };
                    let _ = tx.send(resp).await;
                    continue;
                }
            };
            let Ok(permit) = slots.clone().acquire_owned().await else { break };
            let me = self.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let id = req.id;
                let outcome = me.handle(req, addr).await;
                let _ = tx.send(ClientResponse { id, node: me.node, outcome }).await;
                drop(permit);
            });
        }
        drop(tx);
        let _ = write.await;
    }

    async fn handle(&self, req: ClientRequest, addr: SocketAddr) -> ClientOutcome {
        self.metrics.client_requests.inc();
        if req.version != WIRE_VERSION {
            return ClientOutcome::Error(format!("request version {} is not {WIRE_VERSION}", req.version));
        }
        let nonces = match self.authorize(&req, addr) {
            Ok(n) => n,
            Err(why) => {
                self.metrics.client_denied.inc();
                self.metrics.reject("client", "denied");
                return ClientOutcome::Denied(why);
            }
        };
        for nonce in nonces {
            match self.order(Op::ConsumeNonce { nonce: nonce.clone() }).await {
                Ok(OpResult::Fresh(true)) => {}
                Ok(_) => {
                    self.metrics.client_denied.inc();
                    self.metrics.reject("client", "nonce_spent");
                    return ClientOutcome::Denied(format!(
                        "caveat \"nonce = {nonce}\" not satisfied: the use-once token was already spent"
                    ));
                }
                Err(e) => return ClientOutcome::Error(e),
            }
        }
        let op = match req.op {
            ClientOp::Broadcast { text } => {
                if text.len() > MAX_BROADCAST_BYTES {
                    return ClientOutcome::Error(format!(
                        "broadcast of {} bytes; the limit is {MAX_BROADCAST_BYTES}",
                        text.len()
                    ));
                }
                let (done, rx) = oneshot::channel();
                let submit = Submit::Broadcast { payload: text.into_bytes(), done };
                if self.submits.send(submit).await.is_err() {
                    return ClientOutcome::Error("the node is shutting down".into());
                }
                return match rx.await {
                    Ok(id) => ClientOutcome::Broadcast(id.to_string()),
                    Err(_) => ClientOutcome::Error("the node is shutting down".into()),
                };
            }
            ClientOp::Put { key, value } => Op::Put { key, value },
            ClientOp::Get { key, at } => Op::Get { key, at },
            ClientOp::Delete { key } => Op::Delete { key },
            ClientOp::Cas { key, expected, new } => Op::Cas { key, expected, new },
        };
        if !op.is_bounded() {
            return ClientOutcome::Error(format!(
                "key or value too long (keys up to {} bytes, values up to {})",
                void_core::pbft::app::MAX_KEY_BYTES,
                void_core::pbft::app::MAX_VALUE_BYTES
            ));
        }
        match self.order(op).await {
            Ok(r) => ClientOutcome::Done(r),
            Err(e) => ClientOutcome::Error(e),
        }
    }

    /// Checks the token; returns the use-once nonces it carries.
    fn authorize(&self, req: &ClientRequest, addr: SocketAddr) -> Result<Vec<String>, String> {
        let parse = |t: &str| {
            if t.len() > MAX_TOKEN_BYTES {
                return Err(format!("token is {} bytes, more than {MAX_TOKEN_BYTES}", t.len()));
            }
            Macaroon::deserialize(t.trim()).map(|(m, _)| m).map_err(|e| format!("token: {e}"))
        };
        let token = parse(&req.token)?;
        let discharges = req.discharges.iter().map(|d| parse(d)).collect::<Result<Vec<_>, _>>()?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let fresh = Fresh;
        let mut ctx = Context::new().op(req.op.name()).now(now).ip(addr.ip()).nonces(&fresh);
        if let Some(k) = req.op.key() {
            ctx = ctx.key(k);
        }
        if let Some(u) = &req.user {
            ctx = ctx.user(u.clone());
        }
        Verifier::new().verify(&token, &self.root_key, &discharges, &ctx).map_err(|e| e.to_string())?;
        let nonces = std::iter::once(&token)
            .chain(discharges.iter())
            .flat_map(|m| m.caveats().iter())
            .filter_map(|c| c.predicate())
            .filter_map(|p| p.strip_prefix("nonce = ").map(|n| n.trim().to_string()))
            .collect();
        Ok(nonces)
    }

    /// Orders `op` through the local gateway's PBFT clients and waits for f + 1 replies.
    async fn order(&self, op: Op) -> Result<OpResult, String> {
        let (done, rx) = oneshot::channel();
        self.submits
            .send(Submit::Order { op, done })
            .await
            .map_err(|_| "the node is shutting down".to_string())?;
        rx.await.map_err(|_| "the node is shutting down".to_string())
    }
}
