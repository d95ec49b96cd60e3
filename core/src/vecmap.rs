//! A map kept as a sorted `Vec`: the protocols' small per-node and per-sequence maps.
//!
//! Iteration is in key order as with `BTreeMap`, so traces do not change, and the encoded
//! form is the same map. Each `BTreeMap<K, V>` type compiles its own B-tree (several KB of
//! wasm); a sorted `Vec` needs a binary search and `Vec`'s insert and remove only.

use alloc::vec::Vec;
use core::borrow::Borrow;
use core::fmt;
use core::ops::{Bound, RangeBounds};

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A map ordered by key, backed by a sorted `Vec` of pairs (a few dozen entries at most).
#[derive(Clone, PartialEq, Eq)]
pub struct VecMap<K, V> {
    items: Vec<(K, V)>,
}

/// Entries in key order, by reference.
pub type Iter<'a, K, V> = core::iter::Map<core::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;

fn pair<K, V>((k, v): &(K, V)) -> (&K, &V) {
    (k, v)
}

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap { items: Vec::new() }
    }
}

impl<K: Ord, V> VecMap<K, V> {
    pub const fn new() -> Self {
        VecMap { items: Vec::new() }
    }

    fn find<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.items.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn clear(&mut self) {
        self.items.clear();
    }

    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| &self.items[i].1)
    }

    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| &mut self.items[i].1)
    }

    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.find(key).is_ok()
    }

    /// Inserts or replaces; returns the value replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(core::mem::replace(&mut self.items[i].1, value)),
            Err(i) => {
                self.items.insert(i, (key, value));
                None
            }
        }
    }

    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| self.items.remove(i).1)
    }

    /// The value at `key`, inserted with `make` first if missing.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(&key) {
            Ok(i) => i,
            Err(i) => {
                self.items.insert(i, (key, make()));
                i
            }
        };
        &mut self.items[i].1
    }

    /// The value at `key`, inserted as `V::default()` first if missing.
    pub fn get_or_default(&mut self, key: K) -> &mut V
    where
        V: Default,
    {
        self.get_or_insert_with(key, V::default)
    }

    /// Splits at `key`: `self` keeps the smaller keys, the result holds `key` and above.
    pub fn split_off<Q: Ord + ?Sized>(&mut self, key: &Q) -> Self
    where
        K: Borrow<Q>,
    {
        let i = self.find(key).unwrap_or_else(|i| i);
        VecMap { items: self.items.split_off(i) }
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.items.retain_mut(|(k, v)| keep(k, v));
    }

    /// Removes the entries with keys below `key`, in place; returns how many.
    pub fn remove_below<Q: Ord + ?Sized>(&mut self, key: &Q) -> usize
    where
        K: Borrow<Q>,
    {
        let i = self.find(key).unwrap_or_else(|i| i);
        self.items.drain(..i);
        i
    }

    pub fn iter(&self) -> Iter<'_, K, V> {
        self.items.iter().map(pair)
    }

    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = (&K, &mut V)> + ExactSizeIterator {
        self.items.iter_mut().map(|(k, v)| (&*k, v))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator {
        self.items.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator {
        self.items.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator {
        self.items.iter_mut().map(|(_, v)| v)
    }

    pub fn into_values(self) -> impl DoubleEndedIterator<Item = V> + ExactSizeIterator {
        self.items.into_iter().map(|(_, v)| v)
    }

    pub fn first_key_value(&self) -> Option<(&K, &V)> {
        self.items.first().map(|(k, v)| (k, v))
    }

    pub fn last_key_value(&self) -> Option<(&K, &V)> {
        self.items.last().map(|(k, v)| (k, v))
    }

    /// The entries whose keys lie in `range`, in key order.
    pub fn range<R: RangeBounds<K>>(&self, range: R) -> Iter<'_, K, V> {
        let start = match range.start_bound() {
            Bound::Included(k) => self.find(k).unwrap_or_else(|i| i),
            Bound::Excluded(k) => self.find(k).map_or_else(|i| i, |i| i + 1),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(k) => self.find(k).map_or_else(|i| i, |i| i + 1),
            Bound::Excluded(k) => self.find(k).unwrap_or_else(|i| i),
            Bound::Unbounded => self.items.len(),
        };
        self.items[start..end.max(start)].iter().map(pair)
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for VecMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut m = VecMap::new();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}

impl<'a, K: Ord, V> IntoIterator for &'a VecMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter().map(pair)
    }
}

impl<K, V> IntoIterator for VecMap<K, V> {
    type Item = (K, V);
    type IntoIter = alloc::vec::IntoIter<(K, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for VecMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.items.iter().map(|(k, v)| (k, v))).finish()
    }
}

/// Encoded as a map, the same bytes as the `BTreeMap` it replaces.
impl<K: Serialize, V: Serialize> Serialize for VecMap<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.items.iter().map(|(k, v)| (k, v)))
    }
}

impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for VecMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapVisitor<K, V>(core::marker::PhantomData<(K, V)>);

        impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for MapVisitor<K, V> {
            type Value = VecMap<K, V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }

            // Later duplicates replace earlier ones, as `BTreeMap`'s decoder does.
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut m = VecMap::new();
                while let Some((k, v)) = access.next_entry()? {
                    m.insert(k, v);
                }
                Ok(m)
            }
        }

        d.deserialize_map(MapVisitor(core::marker::PhantomData))
    }
}

/// A set ordered by value, backed by a sorted `Vec` (a few dozen values at most).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VecSet<T> {
    items: Vec<T>,
}

impl<T: Ord> VecSet<T> {
    pub const fn new() -> Self {
        VecSet { items: Vec::new() }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn contains(&self, value: &T) -> bool {
        self.items.binary_search(value).is_ok()
    }

    /// Adds `value`; false if it was already there.
    pub fn insert(&mut self, value: T) -> bool {
        match self.items.binary_search(&value) {
            Ok(_) => false,
            Err(i) => {
                self.items.insert(i, value);
                true
            }
        }
    }

    /// Removes `value`; false if it was not there.
    pub fn remove(&mut self, value: &T) -> bool {
        match self.items.binary_search(value) {
            Ok(i) => {
                self.items.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    pub fn iter(&self) -> core::slice::Iter<'_, T> {
        self.items.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;

    #[test]
    fn behaves_like_btreemap() {
        let mut v = VecMap::new();
        let mut b = BTreeMap::new();
        let mut x: u64 = 7;
        for step in 0..2000u32 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let k = (x >> 33) % 64;
            match step % 5 {
                0..=2 => assert_eq!(v.insert(k, step), b.insert(k, step)),
                3 => assert_eq!(v.remove(&k), b.remove(&k)),
                _ => *v.get_or_default(k) += 1,
            }
            if step % 5 == 4 {
                *b.entry(k).or_default() += 1;
            }
            assert!(v.iter().eq(b.iter()));
        }
        let lo = 10;
        let hi = 40;
        assert!(v.range(lo..hi).eq(b.range(lo..hi)));
        assert!(v.range(..=hi).eq(b.range(..=hi)));
        assert!(
            v.range((Bound::Excluded(lo), Bound::Unbounded))
                .eq(b.range((Bound::Excluded(lo), Bound::Unbounded)))
        );
        assert!(v.range(hi..lo).next().is_none());
        let vs = v.split_off(&30);
        let bs = b.split_off(&30);
        assert!(v.iter().eq(b.iter()));
        assert!(vs.iter().eq(bs.iter()));
        assert_eq!(v.first_key_value(), b.first_key_value());
        assert_eq!(vs.last_key_value(), bs.last_key_value());
    }

    #[test]
    fn set_behaves_like_btreeset() {
        let mut v = VecSet::new();
        let mut b = alloc::collections::BTreeSet::new();
        let mut x: u64 = 3;
        for step in 0..1000u32 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let k = (x >> 33) % 32;
            if step % 3 == 2 {
                assert_eq!(v.remove(&k), b.remove(&k));
            } else {
                assert_eq!(v.insert(k), b.insert(k));
            }
            assert_eq!(v.contains(&k), b.contains(&k));
            assert!(v.iter().eq(b.iter()));
            assert_eq!(v.len(), b.len());
        }
    }

    #[test]
    fn encodes_as_the_btreemap_it_replaces() {
        let pairs = [(5u32, 1u64), (1, 2), (9, 3)];
        let v: VecMap<u32, u64> = pairs.iter().copied().collect();
        let b: BTreeMap<u32, u64> = pairs.iter().copied().collect();
        let pv = postcard::to_allocvec(&v).ok();
        assert!(pv.is_some());
        assert_eq!(pv, postcard::to_allocvec(&b).ok());
        let back: Option<VecMap<u32, u64>> = pv.as_deref().and_then(|b| postcard::from_bytes(b).ok());
        assert_eq!(back, Some(v));
    }
}
