//! A multi-version store keyed by HLC timestamps: every write is kept as a version, so a
//! read "as of" a timestamp sees a consistent snapshot of the past (MVCC).

use alloc::borrow::ToOwned;
use alloc::collections::BTreeMap;
use core::borrow::Borrow;
use core::ops::{Bound, RangeBounds};

use super::Timestamp;
use crate::vecmap::VecMap;

/// One key's history, oldest first: `None` is a tombstone (the key was deleted at that
/// timestamp).
type Versions<V> = VecMap<Timestamp, Option<V>>;

/// Keys with their versions. Reads at `at` see, per key, the newest version with
/// timestamp `<= at`; a tombstone there means the key is absent. [`VersionStore::gc`]
/// forgets history below a watermark while keeping every read at or after it unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionStore<K, V> {
    keys: BTreeMap<K, Versions<V>>,
    /// Keys whose newest version is a value, not a tombstone.
    live: usize,
    /// Versions stored, tombstones included.
    versions: usize,
    /// The highest watermark collected so far; writes must lie above it.
    watermark: Option<Timestamp>,
}

/// A write at or below the garbage-collection watermark: the history it would have to
/// be ordered against is gone, so accepting it could change reads after the watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("write at {ts} is at or below the garbage-collection watermark {watermark}")]
pub struct BelowWatermark {
    pub ts: Timestamp,
    pub watermark: Timestamp,
}

impl<K, V> Default for VersionStore<K, V> {
    fn default() -> Self {
        VersionStore { keys: BTreeMap::new(), live: 0, versions: 0, watermark: None }
    }
}

fn is_live<V>(versions: &Versions<V>) -> bool {
    matches!(versions.last_key_value(), Some((_, Some(_))))
}

/// The newest version visible at `at` (`None`: the latest).
fn visible<V>(versions: &Versions<V>, at: Option<Timestamp>) -> Option<(&V, Timestamp)> {
    let (ts, v) = match at {
        None => versions.last_key_value()?,
        Some(at) => versions.range(..=at).next_back()?,
    };
    v.as_ref().map(|v| (v, *ts))
}

/// Adds version `ts` to one key's history, keeping the live-key and version counts.
fn record<V>(
    versions: &mut Versions<V>,
    value: Option<V>,
    ts: Timestamp,
    live: &mut usize,
    count: &mut usize,
) {
    let was_live = is_live(versions);
    if versions.insert(ts, value).is_none() {
        *count += 1;
    }
    match (was_live, is_live(versions)) {
        (false, true) => *live += 1,
        (true, false) => *live -= 1,
        _ => {}
    }
}

/// Drops one key's versions older than its newest one at or below `watermark`; returns
/// how many went and whether the key stays (not when only an old tombstone is left).
fn collect_versions<V>(versions: &mut Versions<V>, watermark: Timestamp) -> (usize, bool) {
    let mut dropped = match versions.range(..=watermark).next_back() {
        Some((keep, _)) => {
            let keep = *keep;
            versions.remove_below(&keep)
        }
        None => 0,
    };
    let only_old_tombstone =
        versions.len() == 1 && matches!(versions.first_key_value(), Some((ts, None)) if *ts <= watermark);
    if only_old_tombstone {
        dropped += 1;
    }
    (dropped, !only_old_tombstone)
}

/// `BTreeMap::range` panics on an inverted range; such a range is simply empty here.
fn is_inverted<K: Ord, R: RangeBounds<K>>(range: &R) -> bool {
    match (range.start_bound(), range.end_bound()) {
        (Bound::Included(s) | Bound::Excluded(s), Bound::Included(e) | Bound::Excluded(e)) if s > e => true,
        (Bound::Excluded(s), Bound::Excluded(e)) => s == e,
        _ => false,
    }
}

impl<K: Ord, V> VersionStore<K, V> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `value` for `key` as of `ts` (a second write at the same `ts` replaces it).
    pub fn put(&mut self, key: K, value: V, ts: Timestamp) -> Result<(), BelowWatermark> {
        self.write(key, Some(value), ts)
    }

    /// Deletes `key` as of `ts` by writing a tombstone; reads before `ts` still see it.
    pub fn delete(&mut self, key: K, ts: Timestamp) -> Result<(), BelowWatermark> {
        self.write(key, None, ts)
    }

    fn write(&mut self, key: K, value: Option<V>, ts: Timestamp) -> Result<(), BelowWatermark> {
        self.check_watermark(ts)?;
        let versions = self.keys.entry(key).or_default();
        record(versions, value, ts, &mut self.live, &mut self.versions);
        Ok(())
    }

    /// [`VersionStore::put`] (`Some`) or [`VersionStore::delete`] (`None`) with a borrowed
    /// key, copied only when the store does not hold it yet.
    pub fn write_borrowed<Q>(
        &mut self,
        key: &Q,
        value: Option<V>,
        ts: Timestamp,
    ) -> Result<(), BelowWatermark>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized + ToOwned<Owned = K>,
    {
        self.check_watermark(ts)?;
        if let Some(versions) = self.keys.get_mut(key) {
            record(versions, value, ts, &mut self.live, &mut self.versions);
            return Ok(());
        }
        let versions = self.keys.entry(key.to_owned()).or_default();
        record(versions, value, ts, &mut self.live, &mut self.versions);
        Ok(())
    }

    fn check_watermark(&self, ts: Timestamp) -> Result<(), BelowWatermark> {
        match self.watermark.filter(|w| ts <= *w) {
            Some(watermark) => Err(BelowWatermark { ts, watermark }),
            None => Ok(()),
        }
    }

    /// The latest value of `key` and its version's timestamp.
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<(&V, Timestamp)>
    where
        K: Borrow<Q>,
    {
        visible(self.keys.get(key)?, None)
    }

    /// Snapshot read: the value of `key` as of `at`.
    pub fn get_at<Q: Ord + ?Sized>(&self, key: &Q, at: Timestamp) -> Option<(&V, Timestamp)>
    where
        K: Borrow<Q>,
    {
        visible(self.keys.get(key)?, Some(at))
    }

    /// Keys in `range` that are present as of `at` (latest if `None`), in key order, with
    /// their values and version timestamps.
    pub fn scan<R: RangeBounds<K>>(
        &self,
        range: R,
        at: Option<Timestamp>,
    ) -> impl Iterator<Item = (&K, &V, Timestamp)> + '_ {
        let keys = if is_inverted(&range) { None } else { Some(self.keys.range(range)) };
        keys.into_iter()
            .flatten()
            .filter_map(move |(k, versions)| visible(versions, at).map(|(v, ts)| (k, v, ts)))
    }

    /// Every present key with its latest value, in key order: what replicas hash to
    /// compare state. Tombstones are left out, so the result does not depend on when
    /// each replica collected garbage.
    pub fn iter_latest(&self) -> impl Iterator<Item = (&K, &V, Timestamp)> + '_ {
        self.scan(.., None)
    }

    /// Forgets history below `watermark`: per key, versions older than the newest one at
    /// or below it are dropped, and a key left with only a tombstone at or below it is
    /// removed. Reads at or after `watermark` are unchanged; later writes must be above
    /// it. Returns the number of versions dropped.
    pub fn gc(&mut self, watermark: Timestamp) -> usize {
        let mut dropped = 0;
        self.keys.retain(|_, versions| {
            let (n, keep) = collect_versions(versions, watermark);
            dropped += n;
            keep
        });
        self.versions -= dropped;
        self.watermark = self.watermark.max(Some(watermark));
        dropped
    }

    /// [`VersionStore::gc`] visiting only `keys`: the same result when `keys` holds every
    /// key written above the previous watermark (only those can have history to drop), at
    /// a cost in the keys written rather than in the size of the store. Repeated keys are
    /// fine.
    pub fn gc_keys<'a, Q>(&mut self, watermark: Timestamp, keys: impl IntoIterator<Item = &'a Q>) -> usize
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized + 'a,
    {
        let mut dropped = 0;
        for key in keys {
            let Some(versions) = self.keys.get_mut(key) else { continue };
            let (n, keep) = collect_versions(versions, watermark);
            dropped += n;
            if !keep {
                self.keys.remove(key);
            }
        }
        self.versions -= dropped;
        self.watermark = self.watermark.max(Some(watermark));
        dropped
    }

    pub fn watermark(&self) -> Option<Timestamp> {
        self.watermark
    }

    /// Number of keys present now (latest version not a tombstone).
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Number of versions stored, tombstones included.
    pub fn versions(&self) -> usize {
        self.versions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effect::NodeId;
    use alloc::string::ToString;
    use alloc::vec;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    fn ts(w: u64, n: u32) -> Timestamp {
        Timestamp::new(w, 0, NodeId(n))
    }

    fn store() -> VersionStore<&'static str, u32> {
        let mut s = VersionStore::new();
        s.put("a", 1, ts(10, 0)).unwrap();
        s.put("b", 2, ts(15, 0)).unwrap();
        s.put("a", 3, ts(20, 1)).unwrap();
        s.delete("b", ts(25, 0)).unwrap();
        s.put("c", 4, ts(30, 0)).unwrap();
        s
    }

    #[test]
    fn snapshot_reads_see_the_past() {
        let s = store();
        assert_eq!(s.get(&"a"), Some((&3, ts(20, 1))));
        assert_eq!(s.get_at(&"a", ts(5, 0)), None);
        assert_eq!(s.get_at(&"a", ts(10, 0)), Some((&1, ts(10, 0))));
        assert_eq!(s.get_at(&"a", ts(20, 0)), Some((&1, ts(10, 0))));
        assert_eq!(s.get_at(&"a", Timestamp::upper(20, 0)), Some((&3, ts(20, 1))));
        assert_eq!(s.get(&"zz"), None);
    }

    #[test]
    fn tombstones_hide_the_key_from_then_on() {
        let mut s = store();
        assert_eq!(s.get(&"b"), None);
        assert_eq!(s.get_at(&"b", ts(24, 9)), Some((&2, ts(15, 0))));
        assert_eq!(s.get_at(&"b", ts(25, 0)), None);
        assert_eq!((s.len(), s.versions()), (2, 5));
        s.put("b", 5, ts(40, 0)).unwrap();
        assert_eq!(s.get(&"b"), Some((&5, ts(40, 0))));
        assert_eq!(s.get_at(&"b", ts(39, 0)), None);
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn scan_is_in_key_order_as_of_a_timestamp() {
        let s = store();
        let at = |t| s.scan("a".."c", t).map(|(k, v, ts)| (*k, *v, ts)).collect::<Vec<_>>();
        assert_eq!(at(None), vec![("a", 3, ts(20, 1))]);
        assert_eq!(at(Some(ts(16, 0))), vec![("a", 1, ts(10, 0)), ("b", 2, ts(15, 0))]);
        assert_eq!(s.scan(.., None).count(), 2);
        assert_eq!(s.scan("b"..="b", Some(ts(20, 0))).count(), 1);
        // Inverted or empty ranges are empty, not a panic.
        assert_eq!(s.scan("c".."a", None).count(), 0);
        assert_eq!(s.scan("c"..="a", None).count(), 0);
        let excl = (Bound::Excluded("a"), Bound::Excluded("a"));
        assert_eq!(s.scan(excl, None).count(), 0);
        let latest: Vec<_> = s.iter_latest().map(|(k, v, _)| (*k, *v)).collect();
        assert_eq!(latest, vec![("a", 3), ("c", 4)]);
    }

    #[test]
    fn same_timestamp_rewrite_replaces_without_a_new_version() {
        let mut s = VersionStore::new();
        s.put(1u8, 1u8, ts(1, 0)).unwrap();
        s.put(1, 2, ts(1, 0)).unwrap();
        assert_eq!((s.get(&1), s.versions(), s.len()), (Some((&2, ts(1, 0))), 1, 1));
        s.delete(1, ts(1, 0)).unwrap();
        assert_eq!((s.get(&1), s.versions(), s.len()), (None, 1, 0));
    }

    #[test]
    fn gc_drops_old_history_and_dead_keys() {
        let mut s = store();
        let dropped = s.gc(ts(26, 0));
        // "a": version at 10 goes (20 is the newest <= 26); "b": 15 goes, then its lone
        // tombstone at 25 goes with the key; "c" (30) is above the watermark.
        assert_eq!(dropped, 3);
        assert_eq!((s.versions(), s.len()), (2, 2));
        assert_eq!(s.get_at(&"a", ts(26, 0)), Some((&3, ts(20, 1))));
        assert_eq!(s.get_at(&"b", ts(26, 0)), None);
        assert_eq!(s.get_at(&"c", ts(29, 0)), None);
        assert_eq!(s.watermark(), Some(ts(26, 0)));
        // A lower watermark later changes nothing.
        assert_eq!(s.gc(ts(1, 0)), 0);
        assert_eq!(s.watermark(), Some(ts(26, 0)));
    }

    #[test]
    fn tombstone_followed_by_newer_version_survives_gc() {
        let mut s = VersionStore::new();
        s.put("k", 1, ts(1, 0)).unwrap();
        s.delete("k", ts(2, 0)).unwrap();
        s.put("k", 3, ts(9, 0)).unwrap();
        assert_eq!(s.gc(ts(5, 0)), 1);
        assert_eq!(s.get_at(&"k", ts(5, 0)), None, "the tombstone still answers reads before 9");
        assert_eq!(s.get(&"k"), Some((&3, ts(9, 0))));
    }

    #[test]
    fn writes_at_or_below_the_watermark_are_refused() {
        let mut s = store();
        s.gc(ts(26, 0));
        let err = s.put("b", 9, ts(20, 0)).unwrap_err();
        assert_eq!(err, BelowWatermark { ts: ts(20, 0), watermark: ts(26, 0) });
        assert!(err.to_string().contains("20.0@0") && err.to_string().contains("26.0@0"));
        assert!(s.delete("a", ts(26, 0)).is_err());
        assert_eq!(s.get(&"b"), None);
        assert!(s.put("b", 9, ts(26, 1)).is_ok());
    }

    #[derive(Clone, Debug)]
    enum Op {
        Put(u8, u8, Timestamp),
        Delete(u8, Timestamp),
    }

    fn stamp() -> impl Strategy<Value = Timestamp> {
        (0u64..12, 0u32..2, 0u32..3).prop_map(|(w, c, n)| Timestamp::new(w, c, NodeId(n)))
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0u8..5, any::<u8>(), stamp()).prop_map(|(k, v, t)| Op::Put(k, v, t)),
            1 => (0u8..5, stamp()).prop_map(|(k, t)| Op::Delete(k, t)),
        ]
    }

    fn apply(s: &mut VersionStore<u8, u8>, op: &Op) -> Result<(), BelowWatermark> {
        match op {
            Op::Put(k, v, t) => s.put(*k, *v, *t),
            Op::Delete(k, t) => s.delete(*k, *t),
        }
    }

    /// Everything observable at `at` and later, for every key in the domain.
    fn reads_from(s: &VersionStore<u8, u8>, from: Timestamp) -> Vec<Vec<(u8, u8, Timestamp)>> {
        let mut all_ts: Vec<Timestamp> = (0u64..13)
            .flat_map(|w| {
                (0u32..2).flat_map(move |c| (0u32..3).map(move |n| Timestamp::new(w, c, NodeId(n))))
            })
            .filter(|t| *t >= from)
            .collect();
        all_ts.push(Timestamp::upper(u64::MAX, u32::MAX));
        let mut out: Vec<Vec<_>> =
            all_ts.iter().map(|t| s.scan(.., Some(*t)).map(|(k, v, ts)| (*k, *v, ts)).collect()).collect();
        for t in &all_ts {
            out.push((0u8..6).filter_map(|k| s.get_at(&k, *t).map(|(v, ts)| (k, *v, ts))).collect());
        }
        out.push(s.iter_latest().map(|(k, v, ts)| (*k, *v, ts)).collect());
        out
    }

    fn count_versions(s: &VersionStore<u8, u8>) -> usize {
        s.keys.values().map(VecMap::len).sum()
    }

    proptest! {
        #[test]
        fn gc_keeps_reads_at_and_after_the_watermark(
            before in proptest::collection::vec(op(), 0..40),
            after in proptest::collection::vec(op(), 0..20),
            watermark in stamp(),
        ) {
            let mut plain = VersionStore::new();
            let mut collected = VersionStore::new();
            for op in &before {
                apply(&mut plain, op).unwrap();
                apply(&mut collected, op).unwrap();
            }
            let dropped = collected.gc(watermark);
            prop_assert_eq!(collected.versions() + dropped, plain.versions());
            prop_assert_eq!(collected.versions(), count_versions(&collected));
            prop_assert_eq!(reads_from(&collected, watermark), reads_from(&plain, watermark));
            prop_assert_eq!(collected.len(), plain.len());
            // Only one version per key at or below the watermark is left, never a lone old tombstone.
            for versions in collected.keys.values() {
                prop_assert!(versions.range(..=watermark).count() <= 1);
                prop_assert!(!(versions.len() == 1 && matches!(versions.first_key_value(), Some((t, None)) if *t <= watermark)));
            }
            for op in &after {
                let res = apply(&mut collected, op);
                let t = match op { Op::Put(_, _, t) | Op::Delete(_, t) => *t };
                prop_assert_eq!(res.is_ok(), t > watermark);
                if res.is_ok() {
                    apply(&mut plain, op).unwrap();
                }
            }
            prop_assert_eq!(reads_from(&collected, watermark), reads_from(&plain, watermark));
            prop_assert_eq!(collected.len(), plain.len());
            prop_assert_eq!(plain.len(), plain.iter_latest().count());
        }

        #[test]
        fn gc_of_the_keys_written_since_the_last_watermark_equals_gc(
            first in proptest::collection::vec(op(), 0..30),
            second in proptest::collection::vec(op(), 0..30),
            w1 in stamp(),
            w2 in stamp(),
        ) {
            let (w1, w2) = (w1.min(w2), w1.max(w2));
            let mut full = VersionStore::new();
            let mut keyed = VersionStore::new();
            // (key, timestamp) of every accepted write, as the key-value store logs them.
            let mut written = Vec::new();
            for op in &first {
                let _ = apply(&mut full, op);
                if apply(&mut keyed, op).is_ok() {
                    written.push(match op { Op::Put(k, _, t) | Op::Delete(k, t) => (*k, *t) });
                }
            }
            prop_assert_eq!(keyed.gc_keys(w1, written.iter().map(|(k, _)| k)), full.gc(w1));
            written.retain(|(_, t)| *t > w1);
            for op in &second {
                let _ = apply(&mut full, op);
                if apply(&mut keyed, op).is_ok() {
                    written.push(match op { Op::Put(k, _, t) | Op::Delete(k, t) => (*k, *t) });
                }
            }
            prop_assert_eq!(keyed.gc_keys(w2, written.iter().map(|(k, _)| k)), full.gc(w2));
            prop_assert_eq!(&keyed, &full);
            prop_assert_eq!(keyed.versions(), count_versions(&keyed));
        }
    }
}
