//! The event queue: a timing wheel for the next few milliseconds, a radix heap beyond.
//!
//! The simulator never schedules into its past, and almost everything it schedules is a
//! message delivery a few milliseconds ahead. A wheel of one-microsecond slots covers
//! that horizon: a push appends to its instant's slot, a pop takes the head of the next
//! occupied slot (found in a bitmap), and no item moves in between. Each slot is a list
//! threaded through a slab of items, kept in `(class, seq)` order; freed slab entries are
//! reused newest first, so the slab's hot part stays in cache. Items beyond the horizon
//! (timers, mostly) wait in a radix heap of slab indices and move into the wheel once it
//! reaches them. A key before the current time (which the simulator does not make) goes
//! to a plain binary heap, so the order stays right regardless.

use alloc::collections::BinaryHeap;
use alloc::vec;
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

/// An item before the current time, in the fallback heap (earliest on top).
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

/// A radix heap on time: every key pushed is at or after the last one popped, so items
/// sit in 64 buckets by the highest bit in which their time differs from that last time
/// and move down a few buckets before they are popped.
struct Radix<T> {
    /// Time of the last refill of `now`: every queued key is at or after it, except `late`.
    last: Micros,
    /// Items at time `last`, ascending by `(class, seq)`.
    now: alloc::collections::VecDeque<(Key, T)>,
    /// `buckets[b]`: items whose time differs from `last` in bit `b` and none above.
    buckets: Vec<Vec<(Key, T)>>,
    /// Bit `b` set when `buckets[b]` is not empty.
    occupied: u64,
    late: BinaryHeap<Late<T>>,
}

impl<T> Default for Radix<T> {
    fn default() -> Self {
        Radix {
            last: 0,
            now: Default::default(),
            buckets: (0..64).map(|_| Vec::new()).collect(),
            occupied: 0,
            late: BinaryHeap::new(),
        }
    }
}

impl<T> Radix<T> {
    fn push(&mut self, key: Key, item: T) {
        if key.time < self.last {
            self.late.push(Late(key, item));
        } else if key.time == self.last {
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

    fn pop(&mut self) -> Option<(Key, T)> {
        self.refill();
        match (self.now.front(), self.late.peek()) {
            (Some((n, _)), Some(l)) if l.0 < *n => self.late.pop().map(|Late(k, t)| (k, t)),
            (Some(_), _) => self.now.pop_front(),
            (None, _) => self.late.pop().map(|Late(k, t)| (k, t)),
        }
    }

    fn peek_time(&mut self) -> Option<Micros> {
        self.refill();
        self.min_time()
    }

    fn min_time(&self) -> Option<Micros> {
        let late = self.late.peek().map(|l| l.0.time);
        let queued = if !self.now.is_empty() {
            Some(self.last)
        } else if self.occupied != 0 {
            let b = self.occupied.trailing_zeros() as usize;
            self.buckets[b].iter().map(|(k, _)| k.time).min()
        } else {
            None
        };
        earliest(queued, late)
    }
}

/// Slots in the wheel, one per microsecond: the horizon covers typical link latencies.
const SLOTS: usize = 1 << 13;
const WORDS: usize = SLOTS / 64;
const NIL: u32 = u32::MAX;

/// A slab entry: an item and the next entry of its slot's list.
struct Entry<T> {
    key: Key,
    next: u32,
    item: Option<T>,
}

pub(crate) struct Queue<T> {
    /// The current time: the wheel holds keys in `[base, base + SLOTS)`.
    base: Micros,
    /// First and last slab entry of each slot's list, by `time % SLOTS`.
    ends: Vec<(u32, u32)>,
    /// Bit per occupied slot, and bit `w` of `summary` when `bits[w]` is not zero.
    bits: Vec<u64>,
    summary: u128,
    /// Items in the wheel or in `beyond`, with free entries among them.
    slab: Vec<Entry<T>>,
    /// Free slab entries, the most recently freed last.
    free: Vec<u32>,
    /// Slab entries at or after `base + SLOTS`.
    beyond: Radix<u32>,
    late: BinaryHeap<Late<T>>,
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue {
            base: 0,
            ends: vec![(NIL, NIL); SLOTS],
            bits: vec![0; WORDS],
            summary: 0,
            slab: Vec::new(),
            free: Vec::new(),
            beyond: Radix::default(),
            late: BinaryHeap::new(),
        }
    }
}

/// The earlier of two optional times.
fn earliest(a: Option<Micros>, b: Option<Micros>) -> Option<Micros> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn slot_of(time: Micros) -> usize {
    (time % SLOTS as u64) as usize
}

impl<T> Queue<T> {
    pub fn push(&mut self, key: Key, item: T) {
        if key.time < self.base {
            self.late.push(Late(key, item));
            return;
        }
        let e = Entry { key, next: NIL, item: Some(item) };
        let i = match self.free.pop() {
            Some(i) => {
                self.slab[i as usize] = e;
                i
            }
            None => {
                // Entries number far fewer than 2^32: they would not fit in memory.
                self.slab.push(e);
                (self.slab.len() - 1) as u32
            }
        };
        if key.time - self.base < SLOTS as u64 {
            self.link(i, key);
        } else {
            self.beyond.push(key, i);
        }
    }

    /// Put slab entry `i` into its slot's list, in `(class, seq)` order.
    fn link(&mut self, i: u32, key: Key) {
        let s = slot_of(key.time);
        let (head, tail) = self.ends[s];
        if head == NIL {
            self.ends[s] = (i, i);
            self.bits[s / 64] |= 1 << (s % 64);
            self.summary |= 1 << (s / 64);
        } else if self.slab[tail as usize].key < key {
            // Almost always: the newest seq goes last.
            self.slab[tail as usize].next = i;
            self.ends[s].1 = i;
        } else if key < self.slab[head as usize].key {
            self.slab[i as usize].next = head;
            self.ends[s].0 = i;
        } else {
            let mut at = head;
            loop {
                let next = self.slab[at as usize].next;
                if next == NIL || key < self.slab[next as usize].key {
                    self.slab[i as usize].next = next;
                    self.slab[at as usize].next = i;
                    break;
                }
                at = next;
            }
        }
    }

    /// The first occupied slot at or after `from` (wrapping), if any.
    fn next_slot(&self, from: usize) -> Option<usize> {
        let w = from / 64;
        let here = self.bits[w] & (u64::MAX << (from % 64));
        if here != 0 {
            return Some(w * 64 + here.trailing_zeros() as usize);
        }
        let above = self.summary & u128::MAX.checked_shl(w as u32 + 1).unwrap_or(0);
        // Nothing above: wrap around to the lowest occupied word (possibly `w`, below `from`).
        let word = if above != 0 {
            above.trailing_zeros() as usize
        } else if self.summary != 0 {
            self.summary.trailing_zeros() as usize
        } else {
            return None;
        };
        Some(word * 64 + self.bits[word].trailing_zeros() as usize)
    }

    /// Time of the earliest item in the wheel.
    fn wheel_time(&self) -> Option<Micros> {
        let from = slot_of(self.base);
        let s = self.next_slot(from)?;
        Some(self.base + ((s + SLOTS - from) % SLOTS) as u64)
    }

    /// Move to time `t` (no wheel item before it) and bring in what the horizon now covers.
    fn advance(&mut self, t: Micros) {
        self.base = t;
        while self.beyond.peek_time().is_some_and(|b| b.saturating_sub(t) < SLOTS as u64) {
            match self.beyond.pop() {
                Some((key, i)) => self.link(i, key),
                None => break,
            }
        }
    }

    pub fn pop(&mut self) -> Option<(Key, T)> {
        let t = match self.wheel_time() {
            Some(t) => Some(t),
            None => match self.beyond.peek_time() {
                Some(b) => {
                    self.advance(b.max(self.base));
                    self.wheel_time()
                }
                None => None,
            },
        };
        let Some(t) = t else {
            return self.late.pop().map(|Late(k, t)| (k, t));
        };
        let s = slot_of(t);
        let head = self.ends[s].0;
        let key = self.slab[head as usize].key;
        if self.late.peek().is_some_and(|l| l.0 < key) {
            return self.late.pop().map(|Late(k, t)| (k, t));
        }
        if t > self.base {
            self.advance(t);
        }
        let e = &mut self.slab[head as usize];
        let (next, item) = (e.next, e.item.take());
        if next == NIL {
            self.ends[s] = (NIL, NIL);
            self.bits[s / 64] &= !(1 << (s % 64));
            if self.bits[s / 64] == 0 {
                self.summary &= !(1 << (s / 64));
            }
        } else {
            self.ends[s].0 = next;
        }
        self.free.push(head);
        item.map(|item| (key, item))
    }

    /// Time of the next item to pop.
    pub fn peek_time(&mut self) -> Option<Micros> {
        let queued = self.wheel_time().or_else(|| self.beyond.peek_time());
        let late = self.late.peek().map(|l| l.0.time);
        earliest(queued, late)
    }

    /// Time of the next item to pop, without reorganising anything.
    pub fn min_time(&self) -> Option<Micros> {
        let queued = self.wheel_time().or_else(|| self.beyond.min_time());
        let late = self.late.peek().map(|l| l.0.time);
        earliest(queued, late)
    }

    /// Every queued item with its key, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (Key, &T)> {
        self.slab
            .iter()
            .filter_map(|e| e.item.as_ref().map(|t| (e.key, t)))
            .chain(self.late.iter().map(|Late(k, t)| (*k, t)))
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
        for spread in [1u64, 97, 5000, 20_000, 1 << 40] {
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
                if round % 16 == 0 {
                    assert_eq!(q.iter().count(), reference.len());
                }
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
