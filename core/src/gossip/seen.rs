//! Which broadcasts a node has received, and the payloads it can still resend.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use super::msg::MsgId;
use crate::effect::{Micros, NodeId};
use crate::idmap::IdMap;
use crate::vecmap::VecSet;

/// Every id ever received, per origin as a contiguous prefix plus the ids above it.
/// Origins number their broadcasts 0, 1, 2, ..., so this stays small and never forgets:
/// an id evicted from the payload cache is still known, so it is never delivered twice.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    origins: IdMap<NodeId, (u32, VecSet<u32>)>,
    /// Ids marked seen by [`Seen::resume`] without being delivered in this incarnation.
    skipped: u64,
}

impl Seen {
    pub fn contains(&self, id: MsgId) -> bool {
        self.origins.get(&id.origin).is_some_and(|(below, above)| id.seq < *below || above.contains(&id.seq))
    }

    /// Record `id`; false if it was already there.
    pub fn insert(&mut self, id: MsgId) -> bool {
        let (below, above) = self.origins.entry(id.origin).or_default();
        if id.seq < *below {
            return false;
        }
        if id.seq > *below {
            return above.insert(id.seq);
        }
        // The common case, the next id in order: no set node is made or freed for it.
        *below += 1;
        while !above.is_empty() && above.remove(below) {
            *below += 1;
        }
        true
    }

    /// A restarted origin's own earlier ids, `0..below`: known, so the numbering stays a
    /// contiguous prefix, but not counted as delivered in this incarnation.
    pub fn resume(&mut self, origin: NodeId, below: u32) {
        let (prefix, _) = self.origins.entry(origin).or_default();
        if below > *prefix {
            self.skipped += u64::from(below - *prefix);
            *prefix = below;
        }
    }

    pub fn count(&self) -> u64 {
        self.origins.values().map(|(b, a)| u64::from(*b) + a.len() as u64).sum::<u64>() - self.skipped
    }
}

/// A received message kept to answer GRAFT: payload, our hop count, who sent it eagerly.
#[derive(Clone, Debug)]
pub struct Cached {
    pub payload: Vec<u8>,
    pub hops: u32,
    pub from: Option<NodeId>,
    pub at: Micros,
}

/// How many of the newest entries `Cache::meta` answers without probing the map.
const RECENT: usize = 4;

/// A cached message's hop count and eager sender: what an announcement is weighed against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    pub id: MsgId,
    pub hops: u32,
    pub from: Option<NodeId>,
}

/// Payload cache bounded by count and by age (oldest evicted first).
#[derive(Clone, Debug, Default)]
pub struct Cache {
    map: IdMap<MsgId, Cached>,
    order: VecDeque<(Micros, MsgId)>,
    /// The newest entries (a subset of `map`): announcements mostly name a message that
    /// arrived moments before, and this answers them from the node's own cache lines.
    recent: [Option<Meta>; RECENT],
    next: usize,
}

impl Cache {
    pub fn get(&self, id: &MsgId) -> Option<&Cached> {
        self.map.get(id)
    }

    /// Hop count and eager sender of a cached message.
    pub fn meta(&self, id: &MsgId) -> Option<Meta> {
        if let Some(m) = self.recent.iter().flatten().find(|m| m.id == *id) {
            return Some(*m);
        }
        self.map.get(id).map(|c| Meta { id: *id, hops: c.hops, from: c.from })
    }

    pub fn insert(&mut self, id: MsgId, c: Cached, max_len: usize, max_age: Micros) {
        let now = c.at;
        let meta = Meta { id, hops: c.hops, from: c.from };
        match self.recent.iter_mut().flatten().find(|m| m.id == id) {
            Some(m) => *m = meta,
            None => {
                self.recent[self.next] = Some(meta);
                self.next = (self.next + 1) % RECENT;
            }
        }
        self.order.push_back((now, id));
        self.map.insert(id, c);
        while let Some(&(at, old)) = self.order.front() {
            if self.map.len() > max_len || now.saturating_sub(at) > max_age {
                self.order.pop_front();
                self.map.remove(&old);
                for r in &mut self.recent {
                    if r.is_some_and(|m| m.id == old) {
                        *r = None;
                    }
                }
            } else {
                break;
            }
        }
    }

    pub fn count(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(o: u32, s: u32) -> MsgId {
        MsgId { origin: NodeId(o), seq: s }
    }

    #[test]
    fn seen_compacts_and_never_forgets() {
        let mut s = Seen::default();
        assert!(s.insert(id(1, 2)));
        assert!(s.insert(id(1, 0)));
        assert!(!s.insert(id(1, 0)));
        assert!(s.insert(id(1, 1)));
        assert!(s.contains(id(1, 2)) && !s.contains(id(1, 3)) && !s.contains(id(2, 0)));
        assert_eq!(s.origins[&NodeId(1)], (3, VecSet::new()));
        assert_eq!(s.count(), 3);
    }

    #[test]
    fn cache_is_bounded_by_size_and_age() {
        let mut c = Cache::default();
        let e = |at| Cached { payload: Vec::new(), hops: 0, from: None, at };
        for i in 0..10 {
            c.insert(id(0, i), e(u64::from(i)), 4, 1000);
        }
        assert_eq!(c.count(), 4);
        assert!(c.get(&id(0, 5)).is_none() && c.get(&id(0, 9)).is_some());
        c.insert(id(0, 10), e(5000), 4, 1000);
        assert_eq!(c.count(), 1);
        assert!(c.meta(&id(0, 9)).is_none() && c.meta(&id(0, 10)).is_some_and(|m| m.hops == 0));
    }

    /// `meta` agrees with `get` for every id, through evictions by size and by age.
    #[test]
    fn meta_matches_the_map() {
        let mut c = Cache::default();
        for i in 0..200u32 {
            let at = u64::from(i) * if i % 50 < 10 { 400 } else { 10 };
            let from = (i % 3 != 0).then_some(NodeId(i % 7));
            c.insert(id(i % 5, i), Cached { payload: Vec::new(), hops: i % 11, from, at }, 6, 1000);
            for j in 0..=i {
                let k = id(j % 5, j);
                assert_eq!(c.meta(&k), c.get(&k).map(|x| Meta { id: k, hops: x.hops, from: x.from }));
            }
        }
    }
}
