//! `node.toml` and `cluster.toml`, parsed straight into checked types.
//!
//! ```toml
//! id = 0                          # this node's replica id
//! data_dir = "node-0"             # key, storage and log; relative to this file
//! root_key_file = "root.key"      # the cluster's macaroon root key (hex)
//! fsync = "always"                # or "never"
//! gateway_clients = 16            # PBFT clients this node runs for its API clients
//!
//! [[replicas]]                    # every replica, this node included
//! id = 0
//! addr = "127.0.0.1:7100"         # replica and client transport
//! http = "127.0.0.1:7200"         # /status, /metrics, /events, playground
//! key = "3b6a27bc..."             # Ed25519 public key, hex (may be left out for this node)
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use super::store::Fsync;

/// Largest config file read.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicaEntry {
    pub id: u32,
    pub addr: SocketAddr,
    pub http: SocketAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// Tunables of the PBFT replica (defaults are the simulator's).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PbftTunables {
    pub checkpoint_interval: Option<u64>,
    pub log_window: Option<u64>,
    pub max_batch: Option<u32>,
    pub batch_delay_us: Option<u64>,
    pub view_change_timeout_ms: Option<u64>,
    pub client_timeout_ms: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeFile {
    pub id: u32,
    pub data_dir: PathBuf,
    pub root_key_file: PathBuf,
    #[serde(default = "default_fsync")]
    pub fsync: Fsync,
    #[serde(default = "default_gateway")]
    pub gateway_clients: u32,
    #[serde(default)]
    pub pbft: PbftTunables,
    /// Where `GET /` serves the playground from (defaults to none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub www: Option<PathBuf>,
    pub replicas: Vec<ReplicaEntry>,
}

fn default_fsync() -> Fsync {
    Fsync::Always
}

fn default_gateway() -> u32 {
    16
}

/// `cluster.toml`, written by `void cluster up` and read by `void client`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFile {
    pub replicas: Vec<ReplicaEntry>,
}

/// A replica as the node knows it after checking.
#[derive(Clone, Debug)]
pub struct Replica {
    pub id: u32,
    pub addr: SocketAddr,
    pub http: SocketAddr,
    pub key: Option<VerifyingKey>,
}

/// A checked node configuration.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub id: u32,
    pub data_dir: PathBuf,
    pub root_key_file: PathBuf,
    pub fsync: Fsync,
    pub gateway_clients: u32,
    pub pbft: PbftTunables,
    pub www: Option<PathBuf>,
    pub replicas: Vec<Replica>,
}

/// Parses a public key written as 64 hex digits.
pub fn parse_key(hex_key: &str) -> Result<VerifyingKey, String> {
    let bytes = hex::decode(hex_key.trim()).map_err(|e| format!("not hex: {e}"))?;
    let arr: [u8; 32] =
        bytes.try_into().map_err(|b: Vec<u8>| format!("{} bytes, an Ed25519 public key has 32", b.len()))?;
    VerifyingKey::from_bytes(&arr).map_err(|_| "not a valid Ed25519 public key".to_string())
}

/// Checks the replica table (ids 0..n in order, n = 3f + 1 with f >= 1, distinct addresses).
pub fn check_replicas(entries: &[ReplicaEntry], me: Option<u32>) -> Result<Vec<Replica>, String> {
    let n = entries.len() as u32;
    if n < 4 {
        return Err(format!(
            "replicas: {n} listed; PBFT needs n = 3f + 1 >= 4 replicas to tolerate one fault"
        ));
    }
    if let Err(e) = void_core::pbft::Config::new(n, 0) {
        return Err(e.to_string());
    }
    let mut out = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        if e.id != i as u32 {
            return Err(format!("replicas[{i}].id: is {}, expected {i} (ids are 0..n in order)", e.id));
        }
        if e.addr == e.http {
            return Err(format!(
                "replicas[{i}].http: {} is also its addr (the two need their own ports)",
                e.http
            ));
        }
        for (j, o) in entries[..i].iter().enumerate() {
            for (field, a) in [("addr", e.addr), ("http", e.http)] {
                for (other, b) in [("addr", o.addr), ("http", o.http)] {
                    if a == b {
                        return Err(format!("replicas[{i}].{field}: {a} is also replicas[{j}].{other}"));
                    }
                }
            }
        }
        let key = match &e.key {
            Some(k) => Some(parse_key(k).map_err(|m| format!("replicas[{i}].key: {m}"))?),
            None if Some(e.id) == me => None,
            None => return Err(format!("replicas[{i}].key: missing (every peer needs its public key)")),
        };
        if let Some(j) = key.and_then(|k| out.iter().position(|o: &Replica| o.key == Some(k))) {
            return Err(format!(
                "replicas[{i}].key: the same public key as replicas[{j}] (each replica has its own)"
            ));
        }
        out.push(Replica { id: e.id, addr: e.addr, http: e.http, key });
    }
    Ok(out)
}

fn read(path: &Path, what: &str) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?;
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(format!("{what} {} is larger than {MAX_CONFIG_BYTES} bytes", path.display()));
    }
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
}

fn toml_error(path: &Path, e: toml::de::Error) -> String {
    // toml's message already names the key and shows the line.
    format!("{}: {}", path.display(), e.to_string().trim_end())
}

impl NodeConfig {
    /// Reads and checks `node.toml`; relative paths are taken from the file's directory.
    pub fn load(path: &Path) -> Result<NodeConfig, String> {
        let text = read(path, "config")?;
        let file: NodeFile = toml::from_str(&text).map_err(|e| toml_error(path, e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let replicas =
            check_replicas(&file.replicas, Some(file.id)).map_err(|e| format!("{}: {e}", path.display()))?;
        if file.id as usize >= replicas.len() {
            return Err(format!(
                "{}: id: {} is not one of the {} replicas",
                path.display(),
                file.id,
                replicas.len()
            ));
        }
        if file.gateway_clients == 0 || file.gateway_clients > 256 {
            return Err(format!(
                "{}: gateway_clients: {} is outside the allowed range, 1 to 256",
                path.display(),
                file.gateway_clients
            ));
        }
        Ok(NodeConfig {
            id: file.id,
            data_dir: base.join(&file.data_dir),
            root_key_file: base.join(&file.root_key_file),
            fsync: file.fsync,
            gateway_clients: file.gateway_clients,
            pbft: file.pbft,
            www: file.www.map(|w| base.join(w)),
            replicas,
        })
    }

    pub fn me(&self) -> &Replica {
        &self.replicas[self.id as usize]
    }

    /// The PBFT configuration: n replicas, `gateway_clients` clients hosted by each.
    pub fn pbft(&self) -> Result<void_core::pbft::Config, String> {
        let n = self.replicas.len() as u32;
        let mut c = void_core::pbft::Config::new(n, n * self.gateway_clients).map_err(|e| e.to_string())?;
        let t = &self.pbft;
        if let Some(v) = t.checkpoint_interval {
            c.checkpoint_interval = v;
        }
        if let Some(v) = t.log_window {
            c.log_window = v;
        }
        if let Some(v) = t.max_batch {
            c.max_batch = v;
        }
        if let Some(v) = t.batch_delay_us {
            c.batch_delay = v;
        }
        if let Some(v) = t.view_change_timeout_ms {
            c.view_change_timeout = v * 1000;
        }
        if let Some(v) = t.client_timeout_ms {
            c.client_timeout = v * 1000;
        }
        c.validate().map_err(|e| format!("pbft.{e}"))?;
        Ok(c)
    }
}

impl ClusterFile {
    pub fn load(path: &Path) -> Result<(ClusterFile, Vec<Replica>), String> {
        let text = read(path, "cluster file")?;
        let file: ClusterFile = toml::from_str(&text).map_err(|e| toml_error(path, e))?;
        let replicas =
            check_replicas(&file.replicas, None).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok((file, replicas))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: u32, port: u16) -> ReplicaEntry {
        let key = ed25519_dalek::SigningKey::from_bytes(&[id as u8 + 1; 32]).verifying_key();
        ReplicaEntry {
            id,
            addr: format!("127.0.0.1:{port}").parse().unwrap(),
            http: format!("127.0.0.1:{}", port + 100).parse().unwrap(),
            key: Some(hex::encode(key.as_bytes())),
        }
    }

    #[test]
    fn replica_tables_are_checked_with_the_key_named() {
        let good: Vec<_> = (0..4).map(|i| entry(i, 7000 + i as u16)).collect();
        assert_eq!(check_replicas(&good, None).unwrap().len(), 4);
        let err = check_replicas(&good[..3], None).unwrap_err();
        assert!(err.contains("3f + 1"), "{err}");
        let mut bad = good.clone();
        bad[2].id = 5;
        assert!(check_replicas(&bad, None).unwrap_err().contains("replicas[2].id"));
        let mut bad = good.clone();
        bad[1].key = Some("zz".into());
        assert!(check_replicas(&bad, None).unwrap_err().contains("replicas[1].key: not hex"));
        let mut bad = good.clone();
        bad[3].addr = bad[0].addr;
        assert_eq!(
            check_replicas(&bad, None).unwrap_err(),
            "replicas[3].addr: 127.0.0.1:7000 is also replicas[0].addr"
        );
        let mut bad = good.clone();
        bad[2].http = bad[1].addr;
        assert_eq!(
            check_replicas(&bad, None).unwrap_err(),
            "replicas[2].http: 127.0.0.1:7001 is also replicas[1].addr"
        );
        let mut bad = good.clone();
        bad[0].http = bad[0].addr;
        assert!(
            check_replicas(&bad, None)
                .unwrap_err()
                .starts_with("replicas[0].http: 127.0.0.1:7000 is also its addr")
        );
        let mut bad = good.clone();
        bad[2].key = bad[1].key.clone();
        assert!(
            check_replicas(&bad, None)
                .unwrap_err()
                .starts_with("replicas[2].key: the same public key as replicas[1]")
        );
        let mut mine = good;
        mine[0].key = None;
        assert!(check_replicas(&mine, Some(0)).is_ok());
        assert!(check_replicas(&mine, Some(1)).unwrap_err().contains("replicas[0].key: missing"));
    }

    #[test]
    fn node_files_name_the_bad_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("node.toml");
        std::fs::write(
            &p,
            "id = 0\ndata_dir = \"d\"\nroot_key_file = \"r\"\nfsync = \"sometimes\"\nreplicas = []\n",
        )
        .unwrap();
        let err = NodeConfig::load(&p).unwrap_err();
        assert!(err.contains("fsync"), "{err}");
        std::fs::write(&p, "id = 0\ndata_dir = \"d\"\nroot_key_file = \"r\"\nbogus = 1\nreplicas = []\n")
            .unwrap();
        assert!(NodeConfig::load(&p).unwrap_err().contains("bogus"));
    }
}
