//! State transfer: a replica that fell behind (partitioned, or restarted with only what
//! it persisted) fetches the latest stable checkpoint's state, checked against the 2f + 1
//! signatures of its certificate, and the committed batches after it, each accepted
//! once f + 1 replicas report the same one (at least one of them is correct, and a
//! correct replica reports only what committed).

use alloc::vec::Vec;

use super::Replica;
use crate::effect::{Env, NodeId};
use crate::pbft::app::sha256;
use crate::pbft::config::{SeqNo, View};
use crate::pbft::events::PbftEvent;
use crate::pbft::messages::{Body, Checkpoint, Mac, SharedBatch, Signed};
use crate::pbft::{Out, PbftTimer};

use super::normal::{TAG_COMMITTED, batch_digest, body_digest};

/// Most batches one `FetchCommitted` answer carries.
const MAX_FETCH: u64 = 64;

impl Replica {
    /// Something authenticated mentioned `seq`: if it is ahead of us, watch our progress.
    pub(crate) fn note_seen(&mut self, seq: SeqNo, out: &mut Out) {
        if seq > self.max_seen {
            self.max_seen = seq;
        }
        if self.max_seen > self.last_executed {
            self.arm_fetch(out);
        }
    }

    pub(crate) fn arm_fetch(&mut self, out: &mut Out) {
        if !self.fetch_timer_on {
            self.fetch_timer_on = true;
            self.set_timer(out, PbftTimer::Fetch, self.cfg.fetch_interval);
        }
    }

    /// Every fetch interval while behind or changing views (the paper's retransmission
    /// of status, §5.2 of TOCS): re-send our view change while the new view has not
    /// started; if nothing executed since the last tick, re-send our own votes for the
    /// sequence numbers in progress and ask the others for what we miss.
    pub(crate) fn on_fetch_timer(&mut self, env: &mut Env<'_>, out: &mut Out) {
        self.fetch_timer_on = false;
        let behind = self.max_seen > self.last_executed || self.h > self.last_executed;
        // Let a replica that missed a new-view message ask again.
        let view_behind = self.asked_new_view > self.view;
        self.asked_new_view = self.view;
        if !self.active
            && let Some(vc) = self.view_changes.get(&self.view).and_then(|m| m.get(&self.id)).cloned()
        {
            self.multicast(env, out, Body::ViewChange(vc.into()));
        }
        if behind && self.last_executed == self.fetch_progress {
            if self.h > self.last_executed {
                self.multicast(env, out, Body::FetchState { seq: self.h });
            } else {
                self.retransmit(self.last_executed + 1, None, env, out);
                let from = self.last_executed + 1;
                let to = self.max_seen.min(self.high_watermark()).min(from + MAX_FETCH - 1);
                self.multicast(env, out, Body::FetchCommitted { from, to });
            }
        }
        self.fetch_progress = self.last_executed;
        if behind || view_behind || !self.active {
            self.arm_fetch(out);
        }
    }

    /// Re-send our pre-prepares, prepares and commits for up to nine sequence numbers
    /// from `lo` (messages may have been lost), to everyone or to one replica.
    pub(crate) fn retransmit(&mut self, lo: SeqNo, to: Option<NodeId>, env: &mut Env<'_>, out: &mut Out) {
        if !self.active {
            return;
        }
        let (view, me) = (self.view, self.id);
        let pending: Vec<(SeqNo, bool, bool, bool, crate::pbft::messages::Digest, SharedBatch)> = self
            .log
            .entries
            .range(lo..=lo.saturating_add(8))
            .filter(|(_, e)| e.view == view)
            .filter_map(|(s, e)| {
                let (d, b) = e.pre_prepare.clone()?;
                Some((*s, self.cfg.primary(view) == me, e.prepares.contains_key(&me), e.sent_commit, d, b))
            })
            .collect();
        for (seq, primary, prepared, committed, digest, batch) in pending {
            let mut bodies = Vec::new();
            if primary {
                let pp = crate::pbft::messages::PrePrepare { view, seq, digest };
                let auth =
                    self.keys.authenticator(self.cfg.n, &body_digest(super::normal::TAG_PRE_PREPARE, &pp));
                bodies.push(Body::PrePrepare { pp, batch, auth });
            }
            for (yes, vote) in
                [(prepared, super::normal::Vote::Prepare), (committed, super::normal::Vote::Commit)]
            {
                if yes && !(primary && vote == super::normal::Vote::Prepare) {
                    match to {
                        None => self.send_vote(vote, view, seq, digest, env, out),
                        Some(_) => bodies.push(self.vote_body(vote, view, seq, digest)),
                    }
                }
            }
            for body in bodies {
                match to {
                    Some(t) => self.send(env, out, t, body),
                    None => self.multicast(env, out, body),
                }
            }
        }
    }

    /// After a restart: ask everyone for a newer view and for what comes next.
    pub(crate) fn probe(&mut self, env: &mut Env<'_>, out: &mut Out) {
        self.multicast(env, out, Body::FetchNewView { view: self.view + 1 });
        let from = self.last_executed + 1;
        self.multicast(env, out, Body::FetchCommitted { from, to: from });
        self.arm_fetch(out);
    }

    /// Our stable checkpoint with its state, if we hold both.
    fn stable_state(&self) -> Option<Body> {
        let (digest, snapshot) = self.checkpoints.get(&self.h)?.mine.clone()?;
        let first = self.stable_proof.first()?;
        (first.value.digest == digest && self.h > 0)
            .then(|| Body::State { proof: self.stable_proof.clone(), snapshot })
    }

    pub(crate) fn on_fetch_state(&mut self, from: NodeId, seq: SeqNo, env: &mut Env<'_>, out: &mut Out) {
        if self.cfg.is_replica(from)
            && self.h >= seq
            && let Some(body) = self.stable_state()
        {
            self.send(env, out, from, body);
        }
    }

    pub(crate) fn on_state(
        &mut self,
        from: NodeId,
        proof: Vec<Signed<Checkpoint>>,
        snapshot: Vec<u8>,
        env: &mut Env<'_>,
        out: &mut Out,
    ) {
        const K: &str = "State";
        let Some(seq) = proof.first().map(|s| s.value.seq) else {
            return self.reject(out, from, K, "no checkpoint certificate");
        };
        if seq <= self.last_executed {
            return;
        }
        let digest = sha256(&snapshot);
        if !self.valid_proof(seq, &digest, &proof) {
            return self.reject(
                out,
                from,
                K,
                "the state's digest is not certified by 2f + 1 signed checkpoints",
            );
        }
        if !self.install_snapshot(&snapshot) {
            return self.reject(out, from, K, "the certified state does not decode");
        }
        self.last_executed = seq;
        self.fetch_progress = seq;
        self.make_stable(seq, proof, env, out);
        // Requests executed by the installed state no longer keep the view timer running.
        let replies = &self.replies;
        self.waiting.retain(|c, w| replies.get(c).is_none_or(|r| r.timestamp < w.request.timestamp));
        self.persist_checkpoint(out, seq, &snapshot);
        self.checkpoints.get_or_default(seq).mine = Some((digest, snapshot));
        self.observe(env, out, |hlc| PbftEvent::StateTransferred { seq, hlc });
        self.try_execute(env, out);
    }

    pub(crate) fn on_fetch_committed(
        &mut self,
        from: NodeId,
        lo: SeqNo,
        hi: SeqNo,
        env: &mut Env<'_>,
        out: &mut Out,
    ) {
        if !self.cfg.is_replica(from) || from == self.id {
            return;
        }
        if lo <= self.h
            && let Some(body) = self.stable_state()
        {
            self.send(env, out, from, body);
        }
        // The asker may miss our votes rather than whole batches.
        if lo > self.h {
            self.retransmit(lo, Some(from), env, out);
        }
        let start = lo.max(self.h + 1);
        let end = hi.min(start.saturating_add(MAX_FETCH - 1)).min(self.last_executed);
        let mut batches = Vec::new();
        for seq in start..=end {
            if let Some((d, b)) = self.log.get(seq).and_then(|e| e.committed.clone()) {
                batches.push((seq, d, b));
            }
        }
        for (seq, d, batch) in batches {
            let mac = self.keys.mac(from, &body_digest(TAG_COMMITTED, &(seq, d)));
            self.send(env, out, from, Body::Committed { seq, batch, replica: self.id, mac });
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_committed(
        &mut self,
        from: NodeId,
        seq: SeqNo,
        batch: SharedBatch,
        replica: NodeId,
        mac: Mac,
        env: &mut Env<'_>,
        out: &mut Out,
    ) {
        let d = batch_digest(&batch);
        if !self.cfg.is_replica(replica)
            || !self.keys.check_mac(replica, &body_digest(TAG_COMMITTED, &(seq, d)), &mac)
        {
            return self.reject(out, from, "Committed", "the MAC does not verify for the named replica");
        }
        if seq <= self.last_executed || !self.in_window(seq) {
            return;
        }
        let weak = self.cfg.weak();
        let e = self.log.entries.get_or_default(seq);
        if e.committed.is_some() {
            return;
        }
        e.reported.insert(replica, (d, batch));
        if e.reported.values().filter(|(x, _)| *x == d).count() < weak {
            return;
        }
        e.committed = e.reported.remove(&replica);
        e.reported.clear();
        let view = e.view;
        self.persist_entry(out, seq);
        self.observe(env, out, |hlc| PbftEvent::Committed { view, seq, digest: d, transferred: true, hlc });
        self.try_execute(env, out);
    }

    /// A replica that sees messages from a view it has not entered asks for its new-view.
    pub(crate) fn ask_new_view(&mut self, from: NodeId, view: View, env: &mut Env<'_>, out: &mut Out) {
        if view > self.asked_new_view && self.cfg.is_replica(from) {
            self.asked_new_view = view;
            self.send(env, out, from, Body::FetchNewView { view });
            self.arm_fetch(out);
        }
    }

    pub(crate) fn on_fetch_new_view(&mut self, from: NodeId, view: View, env: &mut Env<'_>, out: &mut Out) {
        if let Some(nv) = &self.last_new_view
            && nv.value.view >= view
            && self.active
        {
            let nv = nv.clone();
            self.send(env, out, from, Body::NewView(nv.into()));
        }
    }
}
