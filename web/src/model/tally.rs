//! Counts the metrics drawer plots, kept up to date from the trace as the run moves: each
//! event is read once, and going back in time starts the count again.

use std::collections::BTreeMap;

use void_core::sim::EventView;

/// Time buckets of the rate plot over the whole scenario.
pub const BUCKETS: u64 = 48;

/// Delivered and dropped messages of one kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindCount {
    pub delivered: u64,
    pub dropped: u64,
}

/// What the run did so far, as the drawer plots it.
#[derive(Clone, Debug, PartialEq)]
pub struct Tally {
    /// Events counted: `0..upto`.
    pub upto: u64,
    /// Width of one rate bucket, microseconds.
    pub bucket_us: u64,
    /// The protocol's event of progress (commits, broadcast deliveries, stamps received).
    pub progress_kind: &'static str,
    pub by_kind: BTreeMap<String, KindCount>,
    /// Rejected messages by the rule they broke.
    pub rejected: BTreeMap<String, u64>,
    /// Per time bucket: messages delivered and progress events.
    pub series: Vec<(u64, u64)>,
    /// Client request latencies (invoke to accepted result), microseconds.
    pub latencies_us: Vec<u64>,
    /// Requests sent and not yet answered: (client, request timestamp) → sent at.
    invoked: BTreeMap<(u32, u64), u64>,
}

/// The observed event that counts as progress for `protocol`.
pub fn progress_kind(protocol: &str) -> &'static str {
    match protocol {
        "pbft" => "Executed",
        "gossip" => "Delivered",
        _ => "Received",
    }
}

impl Tally {
    pub fn new(protocol: &str, duration_us: u64) -> Tally {
        Tally {
            upto: 0,
            bucket_us: duration_us.div_ceil(BUCKETS).max(1),
            progress_kind: progress_kind(protocol),
            by_kind: BTreeMap::new(),
            rejected: BTreeMap::new(),
            series: Vec::new(),
            latencies_us: Vec::new(),
            invoked: BTreeMap::new(),
        }
    }

    /// Counts event `e`; `json` gives its full record when a request latency needs it.
    pub fn add(&mut self, e: &EventView, json: impl FnOnce() -> Option<String>) {
        self.upto = e.index + 1;
        let bucket = (e.time / self.bucket_us) as usize;
        if self.series.len() <= bucket {
            self.series.resize(bucket + 1, (0, 0));
        }
        match e.category.as_str() {
            "deliver" => {
                self.by_kind.entry(e.kind.clone()).or_default().delivered += 1;
                self.series[bucket].0 += 1;
            }
            "drop" => self.by_kind.entry(e.kind.clone()).or_default().dropped += 1,
            "observe" => {
                if let Some(reason) = &e.rejected {
                    *self.rejected.entry(reason.clone()).or_default() += 1;
                }
                if e.kind == self.progress_kind {
                    self.series[bucket].1 += 1;
                }
                if e.kind == "Invoked" || e.kind == "Completed" {
                    self.request(e, json());
                }
            }
            _ => {}
        }
    }

    /// Pairs a client's request with its accepted result by (client, request timestamp).
    fn request(&mut self, e: &EventView, json: Option<String>) {
        let Some(key) = json.as_deref().and_then(|j| request_key(j, &e.kind)) else {
            return;
        };
        if e.kind == "Invoked" {
            self.invoked.insert(key, e.time);
        } else if let Some(at) = self.invoked.remove(&key) {
            self.latencies_us.push(e.time.saturating_sub(at));
        }
    }
}

/// (client, timestamp) of an `Invoked`/`Completed` event's JSON record.
fn request_key(json: &str, kind: &str) -> Option<(u32, u64)> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let e = v.get("kind")?.get("Observe")?.get(kind)?;
    let client = e.get("client")?.as_u64()?;
    Some((u32::try_from(client).ok()?, e.get("timestamp")?.as_u64()?))
}

/// Counts of `values` in `bins` equal bins from 0 to the largest value: (bin width, counts).
pub fn histogram(values: &[u64], bins: usize) -> (u64, Vec<u64>) {
    let max = values.iter().copied().max().unwrap_or(0);
    let bins = bins.max(1);
    let width = (max / bins as u64 + 1).max(1);
    let mut counts = vec![0; bins];
    for v in values {
        counts[((v / width) as usize).min(bins - 1)] += 1;
    }
    (width, counts)
}
