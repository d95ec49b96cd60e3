//! The message log of one replica, per sequence number, with the paper's predicates:
//! `prepared(m, v, n, i)` and `committed-local(m, v, n, i)` (Castro & Liskov §4.2).

use crate::vecmap::VecMap;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::config::{SeqNo, View};
use super::messages::{Digest, PrePreparedClaim, PreparedClaim, SharedBatch};
use crate::effect::NodeId;

/// How many pre-prepared digests per sequence number a view change reports (Q); the
/// oldest views go first.
const MAX_Q_PER_SEQ: usize = 4;

/// What a replica knows about one sequence number.
#[derive(Clone, Debug, Default)]
pub struct Entry {
    /// The view the fields below (pre-prepare, prepares, commits) belong to.
    pub view: View,
    /// The accepted pre-prepare in `view`: digest and batch.
    pub pre_prepare: Option<(Digest, SharedBatch)>,
    /// Prepares in `view`, by sender (the primary's own never counts).
    pub prepares: VecMap<NodeId, Digest>,
    /// Commits in `view`, by sender.
    pub commits: VecMap<NodeId, Digest>,
    /// `prepared(m, v, n, i)` holds for the pre-prepare in `view`.
    pub prepared: bool,
    pub sent_commit: bool,
    /// The batch this replica committed here (committed-local, or learned from f + 1).
    pub committed: Option<(Digest, SharedBatch)>,
    /// P: the request that prepared in the highest view, survives view changes.
    pub prepared_claim: Option<PreparedClaim>,
    /// Q: digests that pre-prepared here, each with the latest view.
    pub pre_prepared_claims: Vec<PrePreparedClaim>,
    /// State transfer of single batches: `Committed` reports by sender.
    pub reported: VecMap<NodeId, (Digest, SharedBatch)>,
    /// Digests of the batches already persisted for this sequence number.
    pub stored: Vec<Digest>,
}

impl Entry {
    /// Moves the entry to `view`, forgetting the previous view's votes but not its claims.
    pub fn enter_view(&mut self, view: View) {
        if view > self.view {
            self.view = view;
            self.pre_prepare = None;
            self.prepares.clear();
            self.commits.clear();
            self.prepared = false;
            self.sent_commit = false;
        }
    }

    /// `prepared(m, v, n, i)`: the pre-prepare and `2f` matching prepares from distinct
    /// backups (the log holds only prepares from backups).
    pub fn is_prepared(&self, f: u32) -> bool {
        let Some((d, _)) = &self.pre_prepare else {
            return false;
        };
        self.prepares.values().filter(|x| *x == d).count() >= 2 * f as usize
    }

    /// `committed-local(m, v, n, i)`: prepared and `2f + 1` matching commits.
    pub fn is_committed_local(&self, f: u32) -> bool {
        let Some((d, _)) = &self.pre_prepare else {
            return false;
        };
        self.prepared && self.commits.values().filter(|x| *x == d).count() > 2 * f as usize
    }

    /// Records that `digest` pre-prepared in `view` (for the Q set).
    pub fn note_pre_prepared(&mut self, seq: SeqNo, digest: Digest, view: View) {
        match self.pre_prepared_claims.iter_mut().find(|c| c.digest == digest) {
            Some(c) => c.view = c.view.max(view),
            None => {
                self.pre_prepared_claims.push(PrePreparedClaim { seq, digest, view });
                if self.pre_prepared_claims.len() > MAX_Q_PER_SEQ {
                    crate::sort::sort_by_key(&mut self.pre_prepared_claims, |c| core::cmp::Reverse(c.view));
                    self.pre_prepared_claims.truncate(MAX_Q_PER_SEQ);
                }
            }
        }
    }

    /// Records that the pre-prepare prepared in `view` (for the P set).
    pub fn note_prepared(&mut self, seq: SeqNo) {
        if let Some((digest, batch)) = &self.pre_prepare
            && self.prepared_claim.as_ref().is_none_or(|c| c.view <= self.view)
        {
            self.prepared_claim =
                Some(PreparedClaim { seq, digest: *digest, view: self.view, batch: batch.clone() });
        }
    }
}

/// What a replica persists per sequence number before it sends anything about it. The
/// batches themselves are persisted once each, apart (see [`Entry::batches`]); this
/// status record names them by digest, so updating it copies no batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DurableEntry {
    /// The P claim without its batch.
    pub prepared: Option<PrePreparedClaim>,
    pub pre_prepared: Vec<PrePreparedClaim>,
    pub committed: Option<Digest>,
}

impl DurableEntry {
    pub fn of(e: &Entry) -> DurableEntry {
        DurableEntry {
            prepared: e.prepared_claim.as_ref().map(|c| PrePreparedClaim {
                seq: c.seq,
                digest: c.digest,
                view: c.view,
            }),
            pre_prepared: e.pre_prepared_claims.clone(),
            committed: e.committed.as_ref().map(|(d, _)| *d),
        }
    }

    /// The entry again, with its batches looked up by digest; a claim whose batch was not
    /// persisted is dropped (it was never sent: batches go to storage first).
    pub fn restore(self, batches: &VecMap<Digest, SharedBatch>) -> Entry {
        let prepared_claim = self.prepared.and_then(|c| {
            let batch = batches.get(&c.digest)?.clone();
            Some(PreparedClaim { seq: c.seq, digest: c.digest, view: c.view, batch })
        });
        let committed = self.committed.and_then(|d| Some((d, batches.get(&d)?.clone())));
        Entry {
            prepared_claim,
            pre_prepared_claims: self.pre_prepared,
            committed,
            stored: batches.keys().copied().collect(),
            ..Entry::default()
        }
    }
}

impl Entry {
    /// The batches the entry holds (pre-prepared, committed, in the P claim), by digest.
    pub fn batches(&self) -> impl Iterator<Item = (&Digest, &SharedBatch)> {
        self.pre_prepare
            .iter()
            .chain(self.committed.iter())
            .map(|(d, b)| (d, b))
            .chain(self.prepared_claim.iter().map(|c| (&c.digest, &c.batch)))
    }
}

/// The log: entries by sequence number, within the watermarks.
#[derive(Clone, Debug, Default)]
pub struct Log {
    pub entries: VecMap<SeqNo, Entry>,
}

impl Log {
    pub fn get(&self, seq: SeqNo) -> Option<&Entry> {
        self.entries.get(&seq)
    }

    /// The entry for `seq`, moved to `view`.
    pub fn at(&mut self, seq: SeqNo, view: View) -> &mut Entry {
        let e = self.entries.get_or_default(seq);
        e.enter_view(view);
        e
    }

    /// Garbage collection: discard every entry at or below the stable checkpoint.
    pub fn discard_through(&mut self, seq: SeqNo) {
        self.entries = self.entries.split_off(&(seq + 1));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pbft::messages::Batch;

    #[test]
    fn prepared_needs_2f_matching_prepares_and_committed_2f_plus_1_commits() {
        let (d, x) = ([1u8; 32], [2u8; 32]);
        let mut e = Entry { pre_prepare: Some((d, SharedBatch::new(Batch::null()))), ..Entry::default() };
        e.prepares.insert(NodeId(1), d);
        e.prepares.insert(NodeId(2), x);
        assert!(!e.is_prepared(1), "a prepare for another digest does not count");
        e.prepares.insert(NodeId(3), d);
        assert!(e.is_prepared(1));
        e.prepared = true;
        e.commits.insert(NodeId(0), d);
        e.commits.insert(NodeId(1), d);
        e.commits.insert(NodeId(2), x);
        assert!(!e.is_committed_local(1));
        e.commits.insert(NodeId(3), d);
        assert!(e.is_committed_local(1));
    }

    #[test]
    fn entering_a_new_view_keeps_the_claims() {
        let mut e =
            Entry { pre_prepare: Some(([1u8; 32], SharedBatch::new(Batch::null()))), ..Entry::default() };
        e.note_pre_prepared(5, [1u8; 32], 0);
        e.note_prepared(5);
        e.enter_view(2);
        assert!(e.pre_prepare.is_none() && e.prepares.is_empty());
        assert_eq!(e.prepared_claim.as_ref().map(|c| c.view), Some(0));
        assert_eq!(e.pre_prepared_claims.len(), 1);
        for v in 1..10 {
            e.note_pre_prepared(5, [v as u8 + 1; 32], v);
        }
        assert_eq!(e.pre_prepared_claims.len(), MAX_Q_PER_SEQ);
        assert!(e.pre_prepared_claims.iter().all(|c| c.view >= 6));
    }

    #[test]
    fn discard_through_keeps_only_later_entries() {
        let mut l = Log::default();
        for s in 1..=10 {
            l.at(s, 0);
        }
        l.discard_through(4);
        assert_eq!(l.entries.keys().copied().collect::<Vec<_>>(), (5..=10).collect::<Vec<_>>());
    }
}
