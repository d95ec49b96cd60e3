//! A client of a native cluster: connect to a replica's transport, send capability-carrying
//! requests, match answers by id. Used by `void client` and `void bench cluster`.

use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::config::Replica;
use super::wire::{ClientOp, ClientRequest, ClientResponse, WIRE_VERSION};
use crate::net::{self, FrameReader, FrameWriter};

pub struct Conn {
    pub node: u32,
    reader: FrameReader<OwnedReadHalf>,
    writer: FrameWriter<OwnedWriteHalf>,
    next_id: u64,
    token: String,
}

impl Conn {
    /// Connects to `replica`, checking it proves the Ed25519 identity the cluster file names.
    pub async fn connect(replica: &Replica, token: String) -> anyhow::Result<Conn> {
        let (reader, writer) = tokio::time::timeout(
            Duration::from_secs(2),
            net::connect_client(replica.addr, replica.key, net::DEFAULT_MAX_FRAME),
        )
        .await
        .with_context(|| format!("connecting to {}: timed out", replica.addr))?
        .map_err(|e| {
            // The transport names the address and the cause; a key that does not match is
            // most often a cluster file of another cluster.
            if format!("{e:#}").contains("bad_signature") {
                e.context(format!(
                    "the process at {} does not prove the key the cluster file names for replica {} \
                     (a cluster file from another cluster?)",
                    replica.addr, replica.id
                ))
            } else {
                e
            }
        })?;
        Ok(Conn { node: replica.id, reader, writer, next_id: 1, token })
    }

    /// Sends a request without waiting; returns its id.
    pub async fn send(&mut self, op: ClientOp, user: Option<String>) -> anyhow::Result<u64> {
        let id = self.next_id;
        self.next_id += 1;
        let req = ClientRequest {
            version: WIRE_VERSION,
            id,
            token: self.token.clone(),
            discharges: vec![],
            user,
            op,
        };
        self.writer.write(&postcard::to_allocvec(&req)?).await?;
        self.writer.flush().await?;
        Ok(id)
    }

    /// The next answer from the node.
    pub async fn recv(&mut self) -> anyhow::Result<ClientResponse> {
        match self.reader.read().await? {
            Some(bytes) => Ok(postcard::from_bytes(&bytes).context("undecodable answer from the node")?),
            None => bail!("replica {} closed the connection", self.node),
        }
    }

    /// One request, one answer.
    pub async fn call(
        &mut self,
        op: ClientOp,
        user: Option<String>,
        timeout: Duration,
    ) -> anyhow::Result<ClientResponse> {
        let id = self.send(op, user).await?;
        let wait = async {
            loop {
                let r = self.recv().await?;
                if r.id == id {
                    return Ok::<_, anyhow::Error>(r);
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .with_context(|| format!("no answer from replica {} within {timeout:?}", self.node))?
    }
}
