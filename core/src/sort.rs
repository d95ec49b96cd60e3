//! Stable sorting that costs the browser bundle little code.
//!
//! Every `slice::sort*` call on a new element or key type compiles its own copy of the
//! standard library's sorts (about 4.5 KB of wasm for a stable one). In the browser these
//! functions instead sort a permutation of indices with one merge sort compiled once, and
//! move the elements into place by following its cycles; per call site only the comparison
//! and the permutation's application are generic. Natively they are the standard sorts.
//!
//! All of them are stable, so both builds give the same order (`sort_unstable` over a
//! total order leaves nothing to choose between equal elements, which are equal
//! throughout), and the simulator's traces do not depend on which build ran them. Hot
//! paths of the simulator keep the standard sorts in both builds.

use core::cmp::Ordering;

/// Sorts `v` stably by `cmp`.
pub fn sort_by<T>(v: &mut [T], mut cmp: impl FnMut(&T, &T) -> Ordering) {
    if cfg!(target_arch = "wasm32") {
        let order = permutation(v.len(), &mut |i, j| cmp(&v[j], &v[i]) == Ordering::Less);
        apply(v, &order);
    } else {
        v.sort_by(cmp);
    }
}

/// Sorts `v` stably by the key `f` gives.
pub fn sort_by_key<T, K: Ord>(v: &mut [T], mut f: impl FnMut(&T) -> K) {
    sort_by(v, |a, b| f(a).cmp(&f(b)));
}

/// Sorts `v` in its own order.
pub fn sort<T: Ord>(v: &mut [T]) {
    sort_by(v, T::cmp);
}

/// The order of `n` items as the item to place at each position: a bottom-up merge sort
/// of indices that takes the left one unless `after(l, r)` (left after right) holds.
fn permutation(n: usize, after: &mut dyn FnMut(usize, usize) -> bool) -> alloc::vec::Vec<usize> {
    let mut from: alloc::vec::Vec<usize> = (0..n).collect();
    let mut to = from.clone();
    let mut width = 1;
    while width < n {
        let mut start = 0;
        while start < n {
            let mid = (start + width).min(n);
            let end = (start + 2 * width).min(n);
            let (mut l, mut r) = (start, mid);
            for slot in &mut to[start..end] {
                let left = l < mid && (r >= end || !after(from[l], from[r]));
                *slot = if left { from[l] } else { from[r] };
                if left {
                    l += 1;
                } else {
                    r += 1;
                }
            }
            start = end;
        }
        core::mem::swap(&mut from, &mut to);
        width *= 2;
    }
    from
}

/// Moves `v[order[k]]` to position `k` for every `k`, by swaps along each cycle.
fn apply<T>(v: &mut [T], order: &[usize]) {
    let mut placed = alloc::vec![false; v.len()];
    for start in 0..v.len() {
        let mut at = start;
        while !placed[at] {
            placed[at] = true;
            let next = order[at];
            if next == start {
                break;
            }
            v.swap(at, next);
            at = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    fn compact<T: Clone>(v: &[T], mut cmp: impl FnMut(&T, &T) -> Ordering) -> Vec<T> {
        let mut out = v.to_vec();
        let order = permutation(out.len(), &mut |i, j| cmp(&v[j], &v[i]) == Ordering::Less);
        apply(&mut out, &order);
        out
    }

    proptest! {
        /// The browser's sort gives exactly the standard stable sort's order, ties included.
        #[test]
        fn the_compact_sort_is_the_standard_stable_sort(v in proptest::collection::vec((0u8..6, any::<u16>()), 0..300)) {
            let mut expected = v.clone();
            expected.sort_by_key(|e| e.0);
            prop_assert_eq!(compact(&v, |a, b| a.0.cmp(&b.0)), expected);
            let mut full = v.clone();
            full.sort_unstable();
            prop_assert_eq!(compact(&v, Ord::cmp), full);
        }
    }

    #[test]
    fn reversed_and_empty_slices() {
        let v: Vec<u32> = (0..37).rev().collect();
        assert_eq!(compact(&v, Ord::cmp), (0..37).collect::<Vec<_>>());
        assert!(compact::<u32>(&[], Ord::cmp).is_empty());
        let mut w = alloc::vec![3, 1, 2];
        sort(&mut w);
        assert_eq!(w, [1, 2, 3]);
        sort_by_key(&mut w, |x| core::cmp::Reverse(*x));
        assert_eq!(w, [3, 2, 1]);
    }
}
