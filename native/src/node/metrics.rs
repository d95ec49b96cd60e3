//! Counters for `/metrics` (Prometheus text format, prefix `void_`) and the event fan-out
//! for `/events`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::broadcast;

use crate::net::NetCounters;

#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Upper bounds of the latency buckets, seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0];

#[derive(Default)]
pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_us: AtomicU64,
    /// Outliers are what the tail is made of; the buckets alone only bound them.
    max_us: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        let i = BUCKETS.iter().position(|&b| s <= b).unwrap_or(BUCKETS.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(d.as_micros() as u64, Ordering::Relaxed);
        self.max_us.fetch_max(d.as_micros() as u64, Ordering::Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, help: &str) {
        let max = self.max_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(
            out,
            "# HELP {name}_max The longest observed.\n# TYPE {name}_max gauge\n{name}_max {max}"
        );
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut total = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            total += self.counts[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {total}");
        }
        total += self.counts[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {total}");
        let _ = writeln!(out, "{name}_sum {}", self.sum_us.load(Ordering::Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {total}");
    }
}

pub struct Metrics {
    pub committed_ops: Counter,
    pub batches: Counter,
    pub view_changes: Counter,
    pub checkpoints_stable: Counter,
    pub messages_in: Counter,
    pub messages_out: Counter,
    pub persist_commits: Counter,
    pub client_requests: Counter,
    pub client_denied: Counter,
    pub client_latency: Histogram,
    /// Retry timers of gateway PBFT clients that fired with a request still unanswered.
    pub client_retransmissions: Counter,
    /// Handling one round of inputs: state machines, storage commit, sends.
    pub round: Histogram,
    /// Rounds in which this replica took a checkpoint (snapshot and digest of the store).
    pub checkpoint_round: Histogram,
    /// Storage commits: a round's persists, or (`fsync = "never"`) the writes gathered since the last.
    pub persist: Histogram,
    pub gossip_delivered: Counter,
    /// Rejections above the transport (undecodable envelopes, PBFT rule violations, bad
    /// client frames), by layer and reason.
    rejected: Mutex<BTreeMap<(&'static str, String), u64>>,
    events: broadcast::Sender<Arc<str>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            committed_ops: Counter::default(),
            batches: Counter::default(),
            view_changes: Counter::default(),
            checkpoints_stable: Counter::default(),
            messages_in: Counter::default(),
            messages_out: Counter::default(),
            persist_commits: Counter::default(),
            client_requests: Counter::default(),
            client_denied: Counter::default(),
            client_latency: Histogram::default(),
            client_retransmissions: Counter::default(),
            round: Histogram::default(),
            checkpoint_round: Histogram::default(),
            persist: Histogram::default(),
            gossip_delivered: Counter::default(),
            rejected: Mutex::new(BTreeMap::new()),
            events: broadcast::channel(4096).0,
        }
    }
}

impl Metrics {
    pub fn reject(&self, layer: &'static str, reason: &str) {
        if let Ok(mut m) = self.rejected.lock() {
            // Reasons are a closed set of labels; cap the map against unexpected growth.
            if m.len() < 256 || m.contains_key(&(layer, reason.to_string())) {
                *m.entry((layer, reason.to_string())).or_default() += 1;
            }
        }
    }

    pub fn publish_event(&self, json: Arc<str>) {
        // No subscribers is fine: nobody watches.
        let _ = self.events.send(json);
    }

    /// Whether anyone watches `/events` (events are only rendered for watchers or a trace).
    pub fn has_watchers(&self) -> bool {
        self.events.receiver_count() > 0
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.events.subscribe()
    }

    /// The Prometheus text exposition.
    pub fn render(&self, net: &NetCounters) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(out, "# HELP void_{name} {help}\n# TYPE void_{name} counter\nvoid_{name} {v}");
        };
        counter(
            &mut out,
            "committed_ops_total",
            "Requests executed by this replica.",
            self.committed_ops.get(),
        );
        counter(&mut out, "batches_total", "Batches executed by this replica.", self.batches.get());
        let mean = if self.batches.get() == 0 {
            0.0
        } else {
            self.committed_ops.get() as f64 / self.batches.get() as f64
        };
        let _ = writeln!(
            out,
            "# HELP void_batch_size_mean Mean requests per executed batch.\n# TYPE void_batch_size_mean gauge\nvoid_batch_size_mean {mean}"
        );
        counter(
            &mut out,
            "view_changes_total",
            "View changes this replica started.",
            self.view_changes.get(),
        );
        counter(
            &mut out,
            "checkpoints_stable_total",
            "Checkpoints that became stable.",
            self.checkpoints_stable.get(),
        );
        counter(
            &mut out,
            "messages_in_total",
            "Protocol messages delivered to this node.",
            self.messages_in.get(),
        );
        counter(&mut out, "messages_out_total", "Protocol messages sent to peers.", self.messages_out.get());
        counter(
            &mut out,
            "persist_commits_total",
            "Storage transactions committed.",
            self.persist_commits.get(),
        );
        counter(&mut out, "client_requests_total", "Client requests received.", self.client_requests.get());
        counter(
            &mut out,
            "client_denied_total",
            "Client requests refused by capability.",
            self.client_denied.get(),
        );
        counter(
            &mut out,
            "gossip_delivered_total",
            "Broadcasts this node's gossip member delivered.",
            self.gossip_delivered.get(),
        );
        counter(&mut out, "bytes_in_total", "Bytes read from replica links.", net.bytes_in());
        counter(&mut out, "bytes_out_total", "Bytes written to replica links.", net.bytes_out());
        counter(&mut out, "frames_in_total", "Frames read from replica links.", net.frames_in());
        counter(&mut out, "frames_out_total", "Frames written to replica links.", net.frames_out());
        counter(
            &mut out,
            "dials_total",
            "Connection attempts to replicas, reconnects included.",
            net.dials(),
        );
        self.client_latency.write(
            &mut out,
            "void_client_latency_seconds",
            "Time from a client request reaching the gateway to its f + 1 matching replies.",
        );
        counter(
            &mut out,
            "client_retransmissions_total",
            "Requests the gateway's PBFT clients sent again to every replica after their timeout.",
            self.client_retransmissions.get(),
        );
        self.round.write(
            &mut out,
            "void_round_seconds",
            "Handling one round of inputs: protocol code, storage commit and sends.",
        );
        self.checkpoint_round.write(
            &mut out,
            "void_checkpoint_round_seconds",
            "Rounds in which this replica took a checkpoint.",
        );
        self.persist.write(
            &mut out,
            "void_persist_seconds",
            "Storage commits (one round's writes, or those gathered without fsync).",
        );
        let _ = writeln!(
            out,
            "# HELP void_rejected_total Messages and frames refused, by layer and reason.\n# TYPE void_rejected_total counter"
        );
        for (reason, v) in net.rejected() {
            let _ = writeln!(out, "void_rejected_total{{layer=\"transport\",reason=\"{reason}\"}} {v}");
        }
        if let Ok(m) = self.rejected.lock() {
            for ((layer, reason), v) in m.iter() {
                let reason: String =
                    reason.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(64).collect();
                let _ = writeln!(out, "void_rejected_total{{layer=\"{layer}\",reason=\"{reason}\"}} {v}");
            }
        }
        out
    }
}
