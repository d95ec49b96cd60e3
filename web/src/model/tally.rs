//! Counts the metrics drawer plots, kept up to date from the trace as the run moves: each
//! event is read once, and going back in time starts the count again.

use void_core::sim::EventBrief;

/// Fine time buckets over the whole scenario; the rate plot merges them into at most
/// [`PLOT_POINTS`] points over the time run so far.
pub const BUCKETS: u64 = 960;

/// Most points of the rate plot.
pub const PLOT_POINTS: usize = 48;

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
    /// Messages by kind, in the order first seen (a handful of kinds: a list is enough).
    pub by_kind: Vec<(String, KindCount)>,
    /// Rejected messages by the rule they broke, in the order first seen.
    pub rejected: Vec<(String, u64)>,
    /// Per time bucket: messages delivered and progress events.
    pub series: Vec<(u64, u64)>,
    /// Client request latencies (invoke to accepted result), microseconds.
    pub latencies_us: Vec<u64>,
    /// Requests sent and not yet answered: (client, request timestamp), sent at. Clients
    /// keep one request outstanding, so the list stays as short as the client count.
    invoked: Vec<((u32, u64), u64)>,
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
            by_kind: Vec::new(),
            rejected: Vec::new(),
            series: Vec::new(),
            latencies_us: Vec::new(),
            invoked: Vec::new(),
        }
    }

    /// Counts event `e`; `json` gives its full record when a request latency needs it.
    pub fn add(&mut self, e: &EventBrief, json: impl FnOnce() -> Option<String>) {
        self.upto = e.index + 1;
        let bucket = (e.time / self.bucket_us) as usize;
        if self.series.len() <= bucket {
            self.series.resize(bucket + 1, (0, 0));
        }
        match e.category {
            "deliver" => {
                entry(&mut self.by_kind, e.kind).delivered += 1;
                self.series[bucket].0 += 1;
            }
            "drop" => entry(&mut self.by_kind, e.kind).dropped += 1,
            "observe" => {
                if let Some(reason) = &e.rejected {
                    *entry(&mut self.rejected, reason) += 1;
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

    /// Requests waiting for their result: how many, and when the oldest was sent.
    pub fn waiting(&self) -> Option<(usize, u64)> {
        let oldest = self.invoked.iter().map(|(_, at)| *at).min()?;
        Some((self.invoked.len(), oldest))
    }

    /// Pairs a client's request with its accepted result by (client, request timestamp).
    fn request(&mut self, e: &EventBrief, json: Option<String>) {
        let Some(key) = json.as_deref().and_then(|j| request_key(j, e.kind)) else {
            return;
        };
        if e.kind == "Invoked" {
            self.invoked.push((key, e.time));
        } else if let Some(i) = self.invoked.iter().position(|(k, _)| *k == key) {
            let (_, at) = self.invoked.swap_remove(i);
            self.latencies_us.push(e.time.saturating_sub(at));
        }
    }
}

/// The count of `key` in `list`, added at zero when new.
fn entry<'a, V: Default>(list: &'a mut Vec<(String, V)>, key: &str) -> &'a mut V {
    let i = match list.iter().position(|(k, _)| k == key) {
        Some(i) => i,
        None => {
            list.push((key.to_owned(), V::default()));
            list.len() - 1
        }
    };
    &mut list[i].1
}

/// (client, timestamp) of an `Invoked`/`Completed` event's JSON record.
fn request_key(json: &str, kind: &str) -> Option<(u32, u64)> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let e = v.get("kind")?.get("Observe")?.get(kind)?;
    let client = e.get("client")?.as_u64()?;
    Some((u32::try_from(client).ok()?, e.get("timestamp")?.as_u64()?))
}

/// The rate plot's points up to `now_us`: (width of a point in microseconds, per point the
/// deliveries and progress events it holds). Only whole fine buckets count, so the last
/// point is never a partial one.
pub fn rate_points(t: &Tally, now_us: u64) -> (u64, Vec<(u64, u64)>) {
    let full = ((now_us / t.bucket_us) as usize).min(t.series.len());
    let per = full.div_ceil(PLOT_POINTS).max(1);
    let points = (0..full / per)
        .map(|p| {
            let chunk = &t.series[p * per..(p + 1) * per];
            (chunk.iter().map(|c| c.0).sum(), chunk.iter().map(|c| c.1).sum())
        })
        .collect();
    (t.bucket_us * per as u64, points)
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
