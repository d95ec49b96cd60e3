//! A last-writer-wins register: a state-based CRDT (Shapiro et al. 2011, "LWW-Register")
//! ordered by HLC [`Timestamp`]s.

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// A value and the timestamp of the write that set it; the write with the largest
/// timestamp wins. Timestamps from different nodes never tie (`node` is part of the
/// order); if one node reuses a timestamp for two values, the larger value wins, so
/// [`LwwRegister::merge`] stays commutative, associative and idempotent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LwwRegister<T> {
    entry: Option<(Timestamp, T)>,
}

impl<T> Default for LwwRegister<T> {
    fn default() -> Self {
        LwwRegister { entry: None }
    }
}

impl<T> LwwRegister<T> {
    /// An empty register: any write wins over it.
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self) -> Option<&T> {
        self.entry.as_ref().map(|(_, v)| v)
    }

    /// The timestamp of the winning write, `None` while empty.
    pub fn timestamp(&self) -> Option<Timestamp> {
        self.entry.as_ref().map(|(ts, _)| *ts)
    }
}

impl<T: Ord> LwwRegister<T> {
    /// A write at `ts`. Returns whether it won (an older write is ignored).
    pub fn set(&mut self, value: T, ts: Timestamp) -> bool {
        let wins = match &self.entry {
            None => true,
            Some((cur_ts, cur)) => (ts, &value) > (*cur_ts, cur),
        };
        if wins {
            self.entry = Some((ts, value));
        }
        wins
    }
}

impl<T: Ord + Clone> LwwRegister<T> {
    /// Joins another replica's state into this one.
    pub fn merge(&mut self, other: &Self) {
        if let Some((ts, v)) = &other.entry {
            let wins = match &self.entry {
                None => true,
                Some((cur_ts, cur)) => (ts, v) > (cur_ts, cur),
            };
            if wins {
                self.entry = Some((*ts, v.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effect::NodeId;
    use proptest::prelude::*;

    fn ts(w: u64, c: u32, n: u32) -> Timestamp {
        Timestamp::new(w, c, NodeId(n))
    }

    #[test]
    fn later_write_wins_regardless_of_arrival_order() {
        let mut r = LwwRegister::new();
        assert_eq!(r.get(), None);
        assert_eq!(r.timestamp(), None);
        assert!(r.set("b", ts(10, 0, 1)));
        assert!(!r.set("a", ts(9, 5, 2)), "an older write must lose");
        assert_eq!(r.get(), Some(&"b"));
        assert!(r.set("c", ts(10, 1, 0)));
        assert_eq!((r.get(), r.timestamp()), (Some(&"c"), Some(ts(10, 1, 0))));
    }

    #[test]
    fn node_breaks_ties_between_equal_wall_and_logical() {
        let mut a = LwwRegister::new();
        a.set(1, ts(5, 0, 1));
        let mut b = LwwRegister::new();
        b.set(2, ts(5, 0, 2));
        a.merge(&b);
        assert_eq!(a.get(), Some(&2));
        b.merge(&LwwRegister { entry: Some((ts(5, 0, 1), 1)) });
        assert_eq!(b.get(), Some(&2));
    }

    #[test]
    fn equal_timestamps_keep_the_larger_value() {
        let mut a = LwwRegister::new();
        a.set(3, ts(5, 0, 1));
        assert!(!a.set(2, ts(5, 0, 1)));
        assert!(a.set(4, ts(5, 0, 1)));
        assert!(!a.set(4, ts(5, 0, 1)), "rewriting the same write changes nothing");
        assert_eq!(a.get(), Some(&4));
    }

    #[test]
    fn merge_with_empty_is_identity() {
        let mut a = LwwRegister::new();
        a.set(7u8, ts(1, 0, 0));
        let before = a.clone();
        a.merge(&LwwRegister::new());
        assert_eq!(a, before);
        let mut e = LwwRegister::new();
        e.merge(&a);
        assert_eq!(e, a);
    }

    #[test]
    fn serde_round_trip() {
        let mut a = LwwRegister::new();
        a.set(7u8, ts(1, 2, 3));
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<LwwRegister<u8>>(&json).unwrap(), a);
    }

    /// Small domains so that equal timestamps and equal values actually occur.
    fn register() -> impl Strategy<Value = LwwRegister<u8>> {
        proptest::option::of((0u64..3, 0u32..2, 0u32..2, 0u8..3))
            .prop_map(|e| LwwRegister { entry: e.map(|(w, c, n, v)| (ts(w, c, n), v)) })
    }

    fn merged(a: &LwwRegister<u8>, b: &LwwRegister<u8>) -> LwwRegister<u8> {
        let mut m = a.clone();
        m.merge(b);
        m
    }

    proptest! {
        #[test]
        fn merge_is_commutative(a in register(), b in register()) {
            prop_assert_eq!(merged(&a, &b), merged(&b, &a));
        }

        #[test]
        fn merge_is_associative(a in register(), b in register(), c in register()) {
            prop_assert_eq!(merged(&merged(&a, &b), &c), merged(&a, &merged(&b, &c)));
        }

        #[test]
        fn merge_is_idempotent(a in register(), b in register()) {
            prop_assert_eq!(merged(&a, &a), a.clone());
            let ab = merged(&a, &b);
            prop_assert_eq!(merged(&ab, &b), ab);
        }

        #[test]
        fn set_is_merge_of_a_single_write(a in register(), w in 0u64..3, c in 0u32..2, n in 0u32..2, v in 0u8..3) {
            let mut by_set = a.clone();
            by_set.set(v, ts(w, c, n));
            let single = LwwRegister { entry: Some((ts(w, c, n), v)) };
            prop_assert_eq!(by_set, merged(&a, &single));
        }
    }
}
