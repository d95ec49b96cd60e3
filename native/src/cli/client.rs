//! `void client --cluster DIR/cluster.toml [--token FILE] put K V | get K [--at HLC] |
//! delete K | cas K EXPECTED NEW | broadcast TEXT`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::json;
use void_core::clock::Timestamp;
use void_core::pbft::OpResult;

use super::{CliResult, Failure, bad, print_json, read_user_file};
use crate::node::client::Conn;
use crate::node::config::ClusterFile;
use crate::node::wire::{ClientOp, ClientOutcome};

#[derive(Args, Debug)]
pub struct ClientArgs {
    /// The cluster file `void cluster up` wrote.
    #[arg(long, value_name = "FILE")]
    pub cluster: PathBuf,
    /// A macaroon file (default: admin.macaroon beside the cluster file).
    #[arg(long, value_name = "FILE")]
    pub token: Option<PathBuf>,
    /// The user the request is made for, checked against `user = X` caveats. The node takes
    /// the client's word for it: such a caveat narrows a token, it does not authenticate.
    #[arg(long)]
    pub user: Option<String>,
    /// Seconds to wait for an answer before trying the next replica (1 to 3600).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// Print the answer as one JSON object (with the replica that gave it).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub op: OpCommand,
}

#[derive(Subcommand, Debug)]
pub enum OpCommand {
    /// Write VALUE under KEY.
    Put {
        /// The key (at most 256 bytes).
        key: String,
        /// The value (at most 4096 bytes).
        value: String,
    },
    /// Read KEY, or its value as of an HLC timestamp (`<wall_micros>.<logical>[@node]`).
    Get {
        /// The key (at most 256 bytes).
        key: String,
        /// Read the value as of this HLC timestamp: `wall.logical[@node]`, as `put` prints it.
        #[arg(long)]
        at: Option<String>,
    },
    /// Delete KEY.
    Delete {
        /// The key (at most 256 bytes).
        key: String,
    },
    /// Write NEW if KEY currently holds EXPECTED (`-` for absent).
    Cas {
        /// The key (at most 256 bytes).
        key: String,
        /// The value KEY must hold now, or `-` for no value.
        expected: String,
        /// The value written if it does (at most 4096 bytes).
        new: String,
    },
    /// Send TEXT to every node through the gossip layer (HyParView + Plumtree).
    Broadcast {
        /// The message (at most 4096 bytes).
        text: String,
    },
}

/// Parses `--at`: a full HLC timestamp, or `<wall>.<logical>` (node 0).
fn parse_at(s: &str) -> Result<Timestamp, Failure> {
    let full = if s.contains('@') { s.to_string() } else { format!("{s}@0") };
    full.parse::<Timestamp>().map_err(|_| {
        bad(format!(
            "--at {s:?}: expected an HLC timestamp `<wall_micros>.<logical>[@node]`, as `put` prints it"
        ))
    })
}

/// Keys and values longer than the store takes are refused here, naming which one.
fn check_sizes(op: &OpCommand) -> Result<(), Failure> {
    use void_core::pbft::app::{MAX_KEY_BYTES, MAX_VALUE_BYTES};
    let (key, values): (&str, Vec<(&str, &String)>) = match op {
        OpCommand::Put { key, value } => (key, vec![("VALUE", value)]),
        OpCommand::Get { key, .. } | OpCommand::Delete { key } => (key, vec![]),
        OpCommand::Cas { key, expected, new } => (key, vec![("EXPECTED", expected), ("NEW", new)]),
        OpCommand::Broadcast { text } => {
            use crate::node::wire::MAX_BROADCAST_BYTES;
            if text.len() > MAX_BROADCAST_BYTES {
                return Err(bad(format!(
                    "TEXT is {} bytes; a broadcast is at most {MAX_BROADCAST_BYTES} bytes",
                    text.len()
                )));
            }
            return Ok(());
        }
    };
    if key.len() > MAX_KEY_BYTES {
        return Err(bad(format!("KEY is {} bytes; keys are at most {MAX_KEY_BYTES} bytes", key.len())));
    }
    for (name, v) in values {
        if v.len() > MAX_VALUE_BYTES {
            return Err(bad(format!(
                "{name} is {} bytes; values are at most {MAX_VALUE_BYTES} bytes",
                v.len()
            )));
        }
    }
    Ok(())
}

pub fn run(a: ClientArgs) -> CliResult {
    if a.cluster.is_dir() {
        return Err(bad(format!(
            "--cluster {}: a directory; pass the cluster file in it, {}",
            a.cluster.display(),
            a.cluster.join("cluster.toml").display()
        )));
    }
    if !a.cluster.exists() {
        return Err(bad(format!(
            "--cluster {}: no such file; `void cluster up --replicas 4 --dir DIR` starts a cluster and writes DIR/cluster.toml",
            a.cluster.display()
        )));
    }
    let (_, replicas) = ClusterFile::load(&a.cluster).map_err(bad)?;
    // `--token @FILE`, as the macaroon commands write it, is the file too.
    let token_path = match &a.token {
        Some(t) => {
            let t = t.to_string_lossy();
            PathBuf::from(t.strip_prefix('@').unwrap_or(&t))
        }
        None => a.cluster.parent().unwrap_or(std::path::Path::new(".")).join(super::cluster::ADMIN_TOKEN),
    };
    let token = read_user_file(&token_path, "token file", 64 * 1024)?.trim().to_string();
    if token.is_empty() {
        return Err(bad(format!("token file {} is empty", token_path.display())));
    }
    // A token that does not even decode is the user's file, not the cluster's answer.
    void_core::caps::Macaroon::deserialize(&token)
        .map_err(|e| bad(format!("token file {}: {e}", token_path.display())))?;
    check_sizes(&a.op)?;
    let op = match &a.op {
        OpCommand::Put { key, value } => ClientOp::Put { key: key.clone(), value: value.clone() },
        OpCommand::Get { key, at } => {
            let at = at.as_deref().map(parse_at).transpose()?;
            // A timestamp's node names the replica whose clock stamped it.
            if let Some(ts) = at.filter(|ts| ts.node.0 as usize >= replicas.len()) {
                return Err(bad(format!(
                    "--at {ts}: node {} is not a replica of this cluster (it has {}, numbered from 0)",
                    ts.node.0,
                    replicas.len()
                )));
            }
            ClientOp::Get { key: key.clone(), at }
        }
        OpCommand::Delete { key } => ClientOp::Delete { key: key.clone() },
        OpCommand::Cas { key, expected, new } => ClientOp::Cas {
            key: key.clone(),
            expected: (expected != "-").then(|| expected.clone()),
            new: new.clone(),
        },
        OpCommand::Broadcast { text } => ClientOp::Broadcast { text: text.clone() },
    };
    let rt = tokio::runtime::Runtime::new()?;
    let mut last_err = None;
    // Any replica can take the request; try them in order until one answers.
    for r in &replicas {
        let attempt = rt.block_on(async {
            let mut c = Conn::connect(r, token.clone()).await?;
            c.call(op.clone(), a.user.clone(), Duration::from_secs(a.timeout)).await
        });
        match attempt {
            Ok(resp) => return report(&a, resp.node, resp.outcome),
            Err(e) => {
                eprintln!("replica {}: {e:#}", r.id);
                last_err = Some(e);
            }
        }
    }
    let Some(last) = last_err else {
        return Err(Failure::Other(anyhow::anyhow!("the cluster has no replicas")));
    };
    // A request that reached a replica before it went quiet may still be ordered.
    let maybe = if matches!(a.op, OpCommand::Get { .. }) {
        ""
    } else {
        "; the operation may still take effect if a replica passed it on before failing (read the key to check)"
    };
    let message = format!("no replica answered ({} tried, the last: {last:#}){maybe}", replicas.len());
    if a.json {
        // The `--json` contract: a JSON object as the last line of stdout, failures too.
        print_json(&json!({ "error": message }));
    }
    Err(Failure::Other(anyhow::anyhow!(message)))
}

/// An HLC's physical part (microseconds since the Unix epoch) as UTC date and time.
fn wall_time(micros: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_micros(micros);
    humantime::format_rfc3339_micros(t).to_string()
}

/// An answer as an exit code (0 done, 1 denied/refused/failed), a line for people and JSON.
pub fn describe(outcome: ClientOutcome) -> (u8, String, serde_json::Value) {
    match outcome {
        ClientOutcome::Denied(why) => (1, format!("denied: {why}"), json!({"denied": why})),
        ClientOutcome::Error(why) => (1, format!("error: {why}"), json!({"error": why})),
        ClientOutcome::Broadcast(id) => (
            0,
            format!(
                "broadcast {id} sent (its id: sending node:sequence number); it spreads to every node by gossip"
            ),
            json!({"broadcast": id}),
        ),
        ClientOutcome::Done(r) => match r {
            OpResult::Written(ts) => (
                0,
                format!("ok: version {ts} (HLC of {})", wall_time(ts.wall)),
                json!({"ok": true, "version": ts.to_string()}),
            ),
            OpResult::Value(Some((v, ts))) => (0, v.clone(), json!({"value": v, "version": ts.to_string()})),
            OpResult::Value(None) => {
                (0, "(no value: the key was never written, or was deleted)".into(), json!({"value": null}))
            }
            OpResult::Swapped { ok, found } => (
                if ok { 0 } else { 1 },
                match (ok, &found) {
                    (true, _) => "swapped".into(),
                    (false, Some(v)) => format!("not swapped: the key holds {v:?}"),
                    (false, None) => "not swapped: the key is absent".into(),
                },
                json!({"swapped": ok, "found": found}),
            ),
            OpResult::Fresh(f) => (0, format!("fresh: {f}"), json!({"fresh": f})),
            OpResult::Refused => {
                (1, "refused: the request is out of bounds".into(), json!({"refused": true}))
            }
        },
    }
}

fn report(a: &ClientArgs, node: u32, outcome: ClientOutcome) -> CliResult {
    let (code, mut text, value) = describe(outcome);
    if let OpCommand::Get { at: Some(at), .. } = &a.op
        && value.get("value").is_some_and(|v| v.is_null())
    {
        text = format!("(no value as of {at}: the key was not yet written, or deleted, then)");
    }
    // Where the version comes from, for a later snapshot read.
    if let (OpCommand::Put { key, .. }, Some(v)) = (&a.op, value.get("version").and_then(|v| v.as_str()))
        && code == 0
    {
        text = format!("{text}; `get {key} --at {v}` reads this version later");
    }
    if a.json {
        let mut v = value;
        v["node"] = json!(node);
        print_json(&v);
    } else if code == 0 && !value.get("value").is_some_and(|v| v.is_null()) {
        outln!("{text}");
    } else {
        eprintln!("{text}");
    }
    Ok(ExitCode::from(code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use void_core::effect::NodeId;

    #[test]
    fn answers_read_as_sentences() {
        let ts = Timestamp { wall: 1_795_801_179_445_984, logical: 1, node: NodeId(0) };
        let (code, text, value) = describe(ClientOutcome::Done(OpResult::Written(ts)));
        assert_eq!(code, 0);
        assert!(text.contains("2026-11-27T17:39:39.445984Z"), "{text}");
        assert_eq!(text, "ok: version 1795801179445984.1@0 (HLC of 2026-11-27T17:39:39.445984Z)");
        assert_eq!(value["version"], "1795801179445984.1@0");
        let (code, text, _) = describe(ClientOutcome::Done(OpResult::Swapped { ok: false, found: None }));
        assert_eq!((code, text.as_str()), (1, "not swapped: the key is absent"));
        let found = Some("v1".to_string());
        let (_, text, _) = describe(ClientOutcome::Done(OpResult::Swapped { ok: false, found }));
        assert_eq!(text, "not swapped: the key holds \"v1\"");
    }
}
