//! The message log of one replica, per sequence number, with the paper's predicates:
//! `prepared(m, v, n, i)` and `committed-local(m, v, n, i)` (Castro & Liskov §4.2).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::config::{SeqNo, View};
use super::messages::{Batch, Digest, PrePreparedClaim, PreparedClaim};
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
    pub pre_prepare: Option<(Digest, Batch)>,
    /// Prepares in `view`, by sender (the primary's own never counts).
    pub prepares: BTreeMap<NodeId, Digest>,
    /// Commits in `view`, by sender.
    pub commits: BTreeMap<NodeId, Digest>,
    /// `prepared(m, v, n, i)` holds for the pre-prepare in `view`.
    pub prepared: bool,
    pub sent_commit: bool,
    /// The batch this replica committed here (committed-local, or learned from f + 1).
    pub committed: Option<(Digest, Batch)>,
    /// P: the request that prepared in the highest view, survives view changes.
    pub prepared_claim: Option<PreparedClaim>,
    /// Q: digests that pre-prepared here, each with the latest view.
    pub pre_prepared_claims: Vec<PrePreparedClaim>,
    /// State transfer of single batches: `Committed` reports by sender.
    pub reported: BTreeMap<NodeId, (Digest, Batch)>,
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
                    self.pre_prepared_claims.sort_by_key(|c| core::cmp::Reverse(c.view));
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

/// What a replica persists per sequence number before it sends anything about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DurableEntry {
    pub prepared: Option<PreparedClaim>,
    pub pre_prepared: Vec<PrePreparedClaim>,
    pub committed: Option<(Digest, Batch)>,
}

impl DurableEntry {
    pub fn of(e: &Entry) -> DurableEntry {
        DurableEntry {
            prepared: e.prepared_claim.clone(),
            pre_prepared: e.pre_prepared_claims.clone(),
            committed: e.committed.clone(),
        }
    }

    pub fn restore(self) -> Entry {
        Entry {
            prepared_claim: self.prepared,
            pre_prepared_claims: self.pre_prepared,
            committed: self.committed,
            ..Entry::default()
        }
    }
}

/// The log: entries by sequence number, within the watermarks.
#[derive(Clone, Debug, Default)]
pub struct Log {
    pub entries: BTreeMap<SeqNo, Entry>,
}

impl Log {
    pub fn get(&self, seq: SeqNo) -> Option<&Entry> {
        self.entries.get(&seq)
    }

    /// The entry for `seq`, moved to `view`.
    pub fn at(&mut self, seq: SeqNo, view: View) -> &mut Entry {
        let e = self.entries.entry(seq).or_default();
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

    #[test]
    fn prepared_needs_2f_matching_prepares_and_committed_2f_plus_1_commits() {
        let (d, x) = ([1u8; 32], [2u8; 32]);
        let mut e = Entry { pre_prepare: Some((d, Batch::null())), ..Entry::default() };
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
        let mut e = Entry { pre_prepare: Some(([1u8; 32], Batch::null())), ..Entry::default() };
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
