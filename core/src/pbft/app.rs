//! The replicated application: a key-value store on [`VersionStore`] with put, get,
//! delete, compare-and-swap and use-once nonces.
//!
//! Every write of a batch is versioned at the batch's HLC timestamp, so a snapshot read
//! (`get KEY --at HLC`) sees the store as of that point. History is kept back to the
//! previous checkpoint; older snapshot reads see the state as of that checkpoint.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::messages::Digest;
use crate::clock::{Timestamp, VersionStore};

/// Longest key, value or nonce accepted (bytes).
pub const MAX_KEY_BYTES: usize = 256;
pub const MAX_VALUE_BYTES: usize = 4096;

/// A client operation (the `o` of ⟨REQUEST, o, t, c⟩).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Put {
        key: String,
        value: String,
    },
    /// Read the latest value, or the value as of `at` (a snapshot read).
    Get {
        key: String,
        at: Option<Timestamp>,
    },
    Delete {
        key: String,
    },
    /// Write `new` if the current value equals `expected` (`None`: the key is absent).
    Cas {
        key: String,
        expected: Option<String>,
        new: String,
    },
    /// Mark a use-once nonce consumed; the result says whether it was still fresh.
    ConsumeNonce {
        nonce: String,
    },
}

impl Op {
    /// The key this operation touches (nonces live in their own namespace).
    pub fn key(&self) -> (bool, &str) {
        match self {
            Op::Put { key, .. } | Op::Get { key, .. } | Op::Delete { key } | Op::Cas { key, .. } => {
                (false, key)
            }
            Op::ConsumeNonce { nonce } => (true, nonce),
        }
    }

    /// Whether sizes are within bounds (checked on every request a replica accepts).
    pub fn is_bounded(&self) -> bool {
        let v = |s: &String| s.len() <= MAX_VALUE_BYTES;
        let k = |s: &String| s.len() <= MAX_KEY_BYTES;
        match self {
            Op::Put { key, value } => k(key) && v(value),
            Op::Get { key, .. } | Op::Delete { key } => k(key),
            Op::Cas { key, expected, new } => k(key) && expected.as_ref().is_none_or(v) && v(new),
            Op::ConsumeNonce { nonce } => k(nonce),
        }
    }

    pub fn is_snapshot_read(&self) -> bool {
        matches!(self, Op::Get { at: Some(_), .. })
    }
}

/// The result of an operation, what clients compare across `f + 1` replies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpResult {
    /// Put and delete: the write's version.
    Written(Timestamp),
    /// Get: the value and its version, or nothing.
    Value(Option<(String, Timestamp)>),
    /// Compare-and-swap: whether it swapped, and the value it found.
    Swapped { ok: bool, found: Option<String> },
    /// Consume-nonce: whether the nonce was fresh.
    Fresh(bool),
    /// The operation was refused (oversized).
    Refused,
}

/// At most `n` characters of `s`, marked when cut (event lines stay one line).
struct Clip<'a>(&'a str, usize);

impl core::fmt::Display for Clip<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0.char_indices().nth(self.1) {
            Some((i, _)) => write!(f, "{}…", &self.0[..i]),
            None => f.write_str(self.0),
        }
    }
}

/// How event lines name an operation: `put k1 = v`, `get k1 at 20.0@0`, ...
impl core::fmt::Display for Op {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Op::Put { key, value } => write!(f, "put {} = {}", Clip(key, 32), Clip(value, 24)),
            Op::Get { key, at: None } => write!(f, "get {}", Clip(key, 32)),
            Op::Get { key, at: Some(at) } => write!(f, "get {} at {at}", Clip(key, 32)),
            Op::Delete { key } => write!(f, "delete {}", Clip(key, 32)),
            Op::Cas { key, expected, new } => match expected {
                Some(e) => write!(f, "cas {}: {} → {}", Clip(key, 32), Clip(e, 16), Clip(new, 16)),
                None => write!(f, "cas {}: absent → {}", Clip(key, 32), Clip(new, 16)),
            },
            Op::ConsumeNonce { nonce } => write!(f, "consume nonce {}", Clip(nonce, 32)),
        }
    }
}

/// How event lines name a result: `written at 20.0@0`, `value v (20.0@0)`, ...
impl core::fmt::Display for OpResult {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            OpResult::Written(ts) => write!(f, "written at {ts}"),
            OpResult::Value(Some((v, ts))) => write!(f, "value {} ({ts})", Clip(v, 24)),
            OpResult::Value(None) => f.write_str("no value"),
            OpResult::Swapped { ok: true, .. } => f.write_str("swapped"),
            OpResult::Swapped { ok: false, found: Some(v) } => {
                write!(f, "not swapped (found {})", Clip(v, 16))
            }
            OpResult::Swapped { ok: false, found: None } => f.write_str("not swapped (absent)"),
            OpResult::Fresh(true) => f.write_str("nonce fresh"),
            OpResult::Fresh(false) => f.write_str("nonce already used"),
            OpResult::Refused => f.write_str("refused (too large)"),
        }
    }
}

/// One write, kept since the garbage-collection watermark so snapshots can be rebuilt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Write {
    key: String,
    value: Option<String>,
    ts: Timestamp,
}

/// The key-value store.
#[derive(Clone, Debug, Default)]
pub struct KvApp {
    store: VersionStore<String, String>,
    /// Latest values as of the watermark (kept up to date at each collection from the
    /// writes it passes, not rebuilt; collected like the store, so one version a key),
    /// and the writes after it. A `VersionStore` like `store`, which shares its code.
    base: VersionStore<String, String>,
    writes: Vec<Write>,
    nonces: BTreeSet<String>,
    /// The version of the last batch executed (batch stamps are forced to increase).
    last_ts: Timestamp,
    /// `last_ts` at the previous checkpoint: history before it is collected at the next.
    checkpoint_ts: Option<Timestamp>,
    /// Deliberately broken reads, for the checker's own tests.
    pub stale_reads: bool,
    /// The previous batch's version (only the broken reads use it).
    prev_ts: Timestamp,
}

/// The serialized form of the application state: what checkpoints digest and state
/// transfer ships. Canonical: equal histories give equal bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvSnapshot {
    watermark: Option<Timestamp>,
    base: Vec<(String, String, Timestamp)>,
    writes: Vec<Write>,
    nonces: BTreeSet<String>,
    last_ts: Timestamp,
    checkpoint_ts: Option<Timestamp>,
}

/// [`KvSnapshot`] by reference: the same bytes without copying the store.
#[derive(Serialize)]
pub struct KvSnapshotRef<'a> {
    watermark: Option<Timestamp>,
    base: BaseRef<'a>,
    writes: &'a [Write],
    nonces: &'a BTreeSet<String>,
    last_ts: Timestamp,
    checkpoint_ts: Option<Timestamp>,
}

/// The base of a snapshot by reference: the (key, value, version) triples in key order,
/// encoded as the `Vec` of [`KvSnapshot`] is.
pub struct BaseRef<'a>(&'a VersionStore<String, String>);

impl Serialize for BaseRef<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for entry in self.0.iter_latest() {
            seq.serialize_element(&entry)?;
        }
        seq.end()
    }
}

impl KvApp {
    pub fn new() -> Self {
        Self::default()
    }

    /// The timestamp at which a batch stamped `hlc` executes: strictly after the previous
    /// batch, whatever the primary stamped (a faulty primary cannot rewrite history).
    pub fn batch_timestamp(&mut self, hlc: Timestamp) -> Timestamp {
        let next = Timestamp::new(self.last_ts.wall, self.last_ts.logical.saturating_add(1), hlc.node);
        let ts = if hlc > self.last_ts { hlc } else { next };
        self.prev_ts = self.last_ts;
        self.last_ts = ts;
        ts
    }

    pub fn last_ts(&self) -> Timestamp {
        self.last_ts
    }

    fn write(&mut self, key: &str, value: Option<String>, ts: Timestamp) {
        // Writes are at `ts >= last_ts > watermark`, so the store cannot refuse them.
        let res = self.store.write_borrowed(key, value.clone(), ts);
        if res.is_ok() {
            self.writes.push(Write { key: key.into(), value, ts });
        }
    }

    fn latest(&self, key: &str) -> Option<String> {
        self.store.get(key).map(|(v, _)| v.clone())
    }

    /// Execute `op` at version `ts`.
    pub fn execute(&mut self, op: &Op, ts: Timestamp) -> OpResult {
        if !op.is_bounded() {
            return OpResult::Refused;
        }
        match op {
            Op::Put { key, value } => {
                self.write(key, Some(value.clone()), ts);
                OpResult::Written(ts)
            }
            Op::Delete { key } => {
                self.write(key, None, ts);
                OpResult::Written(ts)
            }
            Op::Get { key, at } => {
                let key = key.as_str();
                let found = match at {
                    Some(at) => self.store.get_at(key, *at),
                    // The broken variant answers from just before the previous batch.
                    None if self.stale_reads && self.prev_ts.wall > 1 => {
                        let p = self.prev_ts;
                        let before = if p.logical > 0 {
                            Timestamp::upper(p.wall, p.logical - 1)
                        } else {
                            Timestamp::upper(p.wall - 1, u32::MAX)
                        };
                        self.store.get_at(key, before)
                    }
                    None => self.store.get(key),
                };
                OpResult::Value(found.map(|(v, t)| (v.clone(), t)))
            }
            Op::Cas { key, expected, new } => {
                let found = self.latest(key);
                let ok = found == *expected;
                if ok {
                    self.write(key, Some(new.clone()), ts);
                }
                OpResult::Swapped { ok, found }
            }
            Op::ConsumeNonce { nonce } => OpResult::Fresh(self.nonces.insert(nonce.clone())),
        }
    }

    /// Forget history below `watermark`. Only keys written since the last collection can
    /// lose history, and `base` changes by exactly those writes; when they are fewer than
    /// the keys in the store, they are applied one by one, otherwise `base` is read afresh
    /// from the collected store (same result, whichever costs less).
    fn collect(&mut self, watermark: Timestamp) {
        if self.store.watermark().is_some_and(|w| w >= watermark) {
            return;
        }
        // The log is in execution order, and batch versions only increase.
        let upto = self.writes.partition_point(|w| w.ts <= watermark);
        if upto > self.store.len() {
            self.store.gc(watermark);
            self.base = VersionStore::new();
            for (k, v, t) in self.store.scan(.., Some(watermark)) {
                let _ = self.base.put(k.clone(), v.clone(), t);
            }
            self.writes.drain(..upto);
            return;
        }
        let rest = self.writes.split_off(upto);
        let mut passed = core::mem::replace(&mut self.writes, rest);
        // Above the base's watermark (the previous one), so it takes them all.
        for w in &mut passed {
            let _ = self.base.write_borrowed(&w.key, w.value.take(), w.ts);
        }
        self.base.gc_keys(watermark, passed.iter().map(|w| &w.key));
        self.store.gc_keys(watermark, passed.iter().map(|w| &w.key));
    }

    /// What [`KvApp::snapshot`] serializes to, borrowed (checkpoints digest it).
    pub fn snapshot_ref(&self) -> KvSnapshotRef<'_> {
        KvSnapshotRef {
            watermark: self.store.watermark(),
            base: BaseRef(&self.base),
            writes: &self.writes,
            nonces: &self.nonces,
            last_ts: self.last_ts,
            checkpoint_ts: self.checkpoint_ts,
        }
    }

    pub fn snapshot(&self) -> KvSnapshot {
        KvSnapshot {
            watermark: self.store.watermark(),
            base: self.base.iter_latest().map(|(k, v, t)| (k.clone(), v.clone(), t)).collect(),
            writes: self.writes.clone(),
            nonces: self.nonces.clone(),
            last_ts: self.last_ts,
            checkpoint_ts: self.checkpoint_ts,
        }
    }

    /// At every checkpoint (the same point of the sequence on every replica): forget the
    /// history before the previous checkpoint.
    pub fn at_checkpoint(&mut self) {
        if let Some(wm) = self.checkpoint_ts {
            self.collect(wm);
        }
        self.checkpoint_ts = Some(self.last_ts);
    }

    /// Rebuild a store from a snapshot (state transfer, restart).
    pub fn restore(snap: KvSnapshot) -> KvApp {
        let mut app = KvApp::default();
        for (k, v, t) in &snap.base {
            let _ = app.store.put(k.clone(), v.clone(), *t);
        }
        for w in &snap.writes {
            let _ = match &w.value {
                Some(v) => app.store.put(w.key.clone(), v.clone(), w.ts),
                None => app.store.delete(w.key.clone(), w.ts),
            };
        }
        if let Some(wm) = snap.watermark {
            app.store.gc(wm);
        }
        for (k, v, t) in snap.base {
            let _ = app.base.put(k, v, t);
        }
        app.writes = snap.writes;
        app.nonces = snap.nonces;
        app.last_ts = snap.last_ts;
        app.checkpoint_ts = snap.checkpoint_ts;
        app
    }

    /// Whether a use-once nonce has been consumed (executed `ConsumeNonce`).
    pub fn nonce_consumed(&self, nonce: &str) -> bool {
        self.nonces.contains(nonce)
    }

    pub fn len(&self) -> usize {
        self.store.len()
    }

    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }
}

/// SHA-256 of bytes.
pub fn sha256(bytes: &[u8]) -> Digest {
    Sha256::digest(bytes).into()
}

/// A postcard output that feeds the bytes straight into a hash or MAC (no buffer to
/// allocate). Postcard writes arrays byte by byte, so bytes gather in a small buffer
/// and reach the hash in runs. The hash is borrowed: a MAC state is a few hundred
/// bytes, which moving into and out of the serializer would copy each time.
pub(crate) struct Feed<'a, H> {
    h: &'a mut H,
    buf: [u8; 64],
    len: usize,
}

impl<'a, H: sha2::digest::Update> Feed<'a, H> {
    fn new(h: &'a mut H) -> Self {
        Feed { h, buf: [0; 64], len: 0 }
    }

    fn flush(&mut self) {
        self.h.update(&self.buf[..self.len]);
        self.len = 0;
    }
}

impl<H: sha2::digest::Update> postcard::ser_flavors::Flavor for Feed<'_, H> {
    type Output = ();

    #[inline]
    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        if self.len == self.buf.len() {
            self.flush();
        }
        self.buf[self.len] = data;
        self.len += 1;
        Ok(())
    }

    #[inline]
    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        if data.len() <= 16 {
            // Varints and short strings: bytes one by one cost less than a call to memcpy.
            for &b in data {
                self.try_push(b)?;
            }
        } else if self.len + data.len() <= self.buf.len() {
            self.buf[self.len..self.len + data.len()].copy_from_slice(data);
            self.len += data.len();
        } else {
            self.flush();
            self.h.update(data);
        }
        Ok(())
    }

    fn finalize(mut self) -> postcard::Result<()> {
        self.flush();
        Ok(())
    }
}

/// Adds `postcard(value)` to a running hash or MAC. `None` only if `value` fails to
/// serialize, which the protocol's types never do (the output never refuses bytes).
pub(crate) fn feed_postcard<H: sha2::digest::Update, T: Serialize + ?Sized>(
    h: &mut H,
    value: &T,
) -> Option<()> {
    postcard::serialize_with_flavor(value, Feed::new(h)).ok()
}

/// Adds `postcard(value)` to a running SHA-256.
pub(crate) fn hash_postcard<T: Serialize + ?Sized>(mut h: Sha256, value: &T) -> Sha256 {
    match feed_postcard(&mut h, value) {
        Some(()) => h,
        // On a serialization failure, a digest that no honest message matches.
        None => Sha256::new_with_prefix(b"unserializable"),
    }
}

/// SHA-256 of `postcard(value)`.
pub fn sha256_postcard<T: Serialize + ?Sized>(value: &T) -> Digest {
    hash_postcard(Sha256::new(), value).finalize().into()
}

/// Latest values only, for tests and displays.
pub fn latest_values(app: &KvApp) -> BTreeMap<String, String> {
    app.store.iter_latest().map(|(k, v, _)| (k.clone(), v.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_while_serializing_equals_hashing_the_encoding() {
        let long: String = core::iter::repeat_n('x', 150).collect();
        for value in [(7u64, [3u8; 32], String::new()), (u64::MAX, [9u8; 32], long)] {
            assert_eq!(sha256_postcard(&value), sha256(&postcard::to_allocvec(&value).unwrap()));
        }
    }
    use crate::effect::NodeId;

    fn ts(w: u64) -> Timestamp {
        Timestamp::new(w, 0, NodeId(0))
    }

    #[test]
    fn operations_follow_their_specification() {
        let mut a = KvApp::new();
        let t1 = a.batch_timestamp(ts(10));
        assert_eq!(a.execute(&Op::Put { key: "k".into(), value: "1".into() }, t1), OpResult::Written(t1));
        let t2 = a.batch_timestamp(ts(20));
        let cas = Op::Cas { key: "k".into(), expected: Some("0".into()), new: "2".into() };
        assert_eq!(a.execute(&cas, t2), OpResult::Swapped { ok: false, found: Some("1".into()) });
        let cas = Op::Cas { key: "k".into(), expected: Some("1".into()), new: "2".into() };
        assert_eq!(a.execute(&cas, t2), OpResult::Swapped { ok: true, found: Some("1".into()) });
        let get = |at| Op::Get { key: "k".into(), at };
        assert_eq!(a.execute(&get(None), t2), OpResult::Value(Some(("2".into(), t2))));
        assert_eq!(
            a.execute(&get(Some(Timestamp::upper(15, 0))), t2),
            OpResult::Value(Some(("1".into(), t1)))
        );
        let n = Op::ConsumeNonce { nonce: "n".into() };
        assert_eq!(a.execute(&n, t2), OpResult::Fresh(true));
        assert_eq!(a.execute(&n, t2), OpResult::Fresh(false));
        let t3 = a.batch_timestamp(ts(5));
        assert!(t3 > t2, "a batch stamped in the past still executes after the previous one");
        a.execute(&Op::Delete { key: "k".into() }, t3);
        assert_eq!(a.execute(&get(None), t3), OpResult::Value(None));
        let big = Op::Put { key: "k".into(), value: "x".repeat(MAX_VALUE_BYTES + 1) };
        assert_eq!(a.execute(&big, t3), OpResult::Refused);
    }

    #[test]
    fn snapshot_round_trip_keeps_reads_after_the_watermark() {
        let mut a = KvApp::new();
        for i in 1..=20u64 {
            let t = a.batch_timestamp(ts(i * 10));
            a.execute(&Op::Put { key: alloc::format!("k{}", i % 3), value: alloc::format!("{i}") }, t);
            if i == 6 || i == 12 {
                a.at_checkpoint();
            }
        }
        let snap = a.snapshot();
        let b = KvApp::restore(snap.clone());
        assert_eq!(b.snapshot(), snap);
        for at in [60u64, 105, 150, 199, 250] {
            for k in ["k0", "k1", "k2"] {
                let op = Op::Get { key: k.into(), at: Some(Timestamp::upper(at, 0)) };
                let mut a2 = a.clone();
                let mut b2 = b.clone();
                assert_eq!(a2.execute(&op, ts(0)), b2.execute(&op, ts(0)), "{k} at {at}");
            }
        }
        assert_eq!(latest_values(&a), latest_values(&b));
    }
}
