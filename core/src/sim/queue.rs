//! The event queue: a radix heap on virtual time that holds the items themselves.
//!
//! The simulator never schedules into its past, so every key pushed is at or after the
//! last one popped. A radix heap keeps items in 64 buckets by the highest bit in which
//! their time differs from that last time, and moves each one down a few buckets before
//! it is popped. Buckets are filled and emptied front to back, so a thousand-node run's
//! queue costs far fewer cache misses than a heap's random walk over keys plus a read of
//! each item from wherever it waited. Items at the current instant wait in `now`, sorted
//! by `(class, seq)`. A key before the last popped one (which the simulator does not
//! make) goes to a plain binary heap, so the order stays right regardless.

use alloc::collections::{BinaryHeap, VecDeque};
use alloc::vec::Vec;
use core::cmp::Ordering;

use crate::effect::Micros;

/// A queue key. Keys order by `(time, class, seq)`, which is unique for every queued item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key {
    pub time: Micros,
    /// Faults (0) come before everything else (1) at the same instant, so that a fault
    /// added while a run is paused lands exactly where a replay puts it.
    pub class: u8,
    pub seq: u64,
}

/// An item before the last popped time, in the fallback heap (earliest on top).
struct Late<T>(Key, T);

impl<T> PartialEq for Late<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl<T> Eq for Late<T> {}
impl<T> PartialOrd for Late<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Late<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.cmp(&self.0)
    }
}

pub(crate) struct Queue<T> {
    /// Time of the last refill of `now`: every queued key is at or after it, except `late`.
    last: Micros,
    /// Items at time `last`, ascending by `(class, seq)`.
    now: VecDeque<(Key, T)>,
    /// `buckets[b]`: items whose time differs from `last` in bit `b` and none above.
    buckets: Vec<Vec<(Key, T)>>,
    /// Bit `b` set when `buckets[b]` is not empty.
    occupied: u64,
    late: BinaryHeap<Late<T>>,
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue {
            last: 0,
            now: VecDeque::new(),
            buckets: (0..64).map(|_| Vec::new()).collect(),
            occupied: 0,
            late: BinaryHeap::new(),
        }
    }
}

impl<T> Queue<T> {
    pub fn push(&mut self, key: Key, item: T) {
        if key.time < self.last {
            self.late.push(Late(key, item));
        } else if key.time == self.last {
            // Almost always behind everything at this instant (the newest seq).
            let at = self.now.partition_point(|(k, _)| (k.class, k.seq) < (key.class, key.seq));
            self.now.insert(at, (key, item));
        } else {
            let b = 63 - (key.time ^ self.last).leading_zeros() as usize;
            self.buckets[b].push((key, item));
            self.occupied |= 1 << b;
        }
    }

    /// Make `now` hold the earliest instant's items, if any are queued outside `late`.
    fn refill(&mut self) {
        if !self.now.is_empty() || self.occupied == 0 {
            return;
        }
        let b = self.occupied.trailing_zeros() as usize;
        let mut items = core::mem::take(&mut self.buckets[b]);
        self.occupied &= !(1 << b);
        let min = items.iter().map(|(k, _)| k.time).min().unwrap_or(self.last);
        self.last = min;
        for (key, item) in items.drain(..) {
            if key.time == min {
                self.now.push_back((key, item));
            } else {
                // Differs from `min` only below bit b: lands in a lower bucket.
                let lower = 63 - (key.time ^ min).leading_zeros() as usize;
                self.buckets[lower].push((key, item));
                self.occupied |= 1 << lower;
            }
        }
        self.now.make_contiguous().sort_unstable_by_key(|(k, _)| (k.class, k.seq));
        // Give the emptied bucket its allocation back.
        self.buckets[b] = items;
    }

    pub fn pop(&mut self) -> Option<(Key, T)> {
        self.refill();
        match (self.now.front(), self.late.peek()) {
            (Some((n, _)), Some(l)) if l.0 < *n => self.late.pop().map(|Late(k, t)| (k, t)),
            (Some(_), _) => self.now.pop_front(),
            (None, _) => self.late.pop().map(|Late(k, t)| (k, t)),
        }
    }

    /// Time of the next item to pop.
    pub fn peek_time(&mut self) -> Option<Micros> {
        self.refill();
        self.min_time()
    }

    /// Time of the next item to pop, without reorganising the buckets.
    pub fn min_time(&self) -> Option<Micros> {
        let late = self.late.peek().map(|l| l.0.time);
        let queued = if !self.now.is_empty() {
            Some(self.last)
        } else if self.occupied != 0 {
            let b = self.occupied.trailing_zeros() as usize;
            self.buckets[b].iter().map(|(k, _)| k.time).min()
        } else {
            None
        };
        match (queued, late) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Every queued item with its key, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &T)> {
        self.now
            .iter()
            .chain(self.buckets.iter().flatten())
            .map(|(k, t)| (k, t))
            .chain(self.late.iter().map(|Late(k, t)| (k, t)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cmp::Reverse;

    fn xorshift(x: &mut u64) -> u64 {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x
    }

    /// The same pops as the standard binary heap for any interleaving of pushes and pops,
    /// with pushes at, after and (rarely) before the last popped time.
    #[test]
    fn pops_in_key_order_like_a_binary_heap() {
        for spread in [1u64, 97, 5000, 1 << 40] {
            let mut q = Queue::default();
            let mut reference = BinaryHeap::new();
            let mut x = 0x2545_F491_4F6C_DD1Du64 ^ spread;
            let (mut seq, mut now) = (0, 0u64);
            for round in 0..20_000u32 {
                let r = xorshift(&mut x);
                if !r.is_multiple_of(3) || reference.is_empty() {
                    seq += 1;
                    let time =
                        if r.is_multiple_of(101) { now.saturating_sub(r % 7) } else { now + r % spread };
                    let key = Key { time, class: (r >> 20 & 1) as u8, seq };
                    q.push(key, round);
                    reference.push(Reverse((key, round)));
                } else {
                    let expected = reference.pop().map(|Reverse(e)| e);
                    assert_eq!(q.min_time(), expected.map(|(k, _)| k.time));
                    assert_eq!(q.peek_time(), expected.map(|(k, _)| k.time));
                    assert_eq!(q.pop(), expected);
                    now = expected.map_or(now, |(k, _)| k.time);
                }
                assert_eq!(q.iter().count(), reference.len());
            }
            let mut rest = Vec::new();
            while let Some(e) = q.pop() {
                rest.push(e);
            }
            let expected: Vec<(Key, u32)> =
                core::iter::from_fn(|| reference.pop().map(|Reverse(e)| e)).collect();
            assert_eq!(rest, expected);
            assert_eq!(q.peek_time(), None);
        }
    }
}
