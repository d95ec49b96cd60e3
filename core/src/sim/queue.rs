//! The event queue: a 4-ary min-heap of small keys. Four children per node halve the
//! levels a pop walks compared with a binary heap, and a node's children sit next to
//! each other in memory, so a pop from a queue of many in-flight messages touches about
//! half as many cache lines.

use alloc::vec::Vec;

use crate::effect::Micros;

/// A queue key; the item itself waits in a slot of the simulator's slab.
/// Keys order by `(time, class, seq)`, which is unique for every queued item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Entry {
    pub time: Micros,
    /// Faults (0) come before everything else (1) at the same instant, so that a fault
    /// added while a run is paused lands exactly where a replay puts it.
    pub class: u8,
    pub seq: u64,
    pub slot: u32,
}

impl Entry {
    /// Strictly before `other` in queue order (`slot` never decides: the rest is unique).
    #[inline(always)]
    fn before(&self, other: &Entry) -> bool {
        (self.time, self.class, self.seq) < (other.time, other.class, other.seq)
    }
}

const ARITY: usize = 4;

#[derive(Default)]
pub(crate) struct Queue {
    heap: Vec<Entry>,
}

impl Queue {
    pub fn push(&mut self, e: Entry) {
        self.heap.push(e);
        let mut i = self.heap.len() - 1;
        while i > 0 {
            let parent = (i - 1) / ARITY;
            if !e.before(&self.heap[parent]) {
                break;
            }
            self.heap[i] = self.heap[parent];
            i = parent;
        }
        self.heap[i] = e;
    }

    pub fn pop(&mut self) -> Option<Entry> {
        let last = self.heap.pop()?;
        let Some(top) = self.heap.first().copied() else {
            return Some(last);
        };
        // Move the hole from the root down to where `last` belongs.
        let n = self.heap.len();
        let mut i = 0;
        loop {
            let first = ARITY * i + 1;
            if first >= n {
                break;
            }
            let end = (first + ARITY).min(n);
            let mut best = first;
            for c in first + 1..end {
                if self.heap[c].before(&self.heap[best]) {
                    best = c;
                }
            }
            if !self.heap[best].before(&last) {
                break;
            }
            self.heap[i] = self.heap[best];
            i = best;
        }
        self.heap[i] = last;
        Some(top)
    }

    pub fn peek(&self) -> Option<&Entry> {
        self.heap.first()
    }

    /// Every queued key, in no particular order.
    pub fn iter(&self) -> core::slice::Iter<'_, Entry> {
        self.heap.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BinaryHeap;
    use core::cmp::Reverse;

    /// The same pops as the standard binary heap for any interleaving of pushes and pops.
    #[test]
    fn pops_in_key_order_like_a_binary_heap() {
        let mut q = Queue::default();
        let mut reference = BinaryHeap::new();
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut seq = 0;
        for round in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x % 3 != 0 || q.peek().is_none() {
                seq += 1;
                // Few distinct times, so ties on time and class are common.
                let e = Entry { time: x % 97, class: (x >> 20 & 1) as u8, seq, slot: round };
                q.push(e);
                reference.push(Reverse(e));
            } else {
                assert_eq!(q.peek().copied(), reference.peek().map(|Reverse(e)| *e));
                assert_eq!(q.pop(), reference.pop().map(|Reverse(e)| e));
            }
        }
        let mut rest = Vec::new();
        while let Some(e) = q.pop() {
            rest.push(e);
        }
        let expected: Vec<Entry> = core::iter::from_fn(|| reference.pop().map(|Reverse(e)| e)).collect();
        assert_eq!(rest, expected);
        assert!(q.iter().next().is_none());
    }
}
