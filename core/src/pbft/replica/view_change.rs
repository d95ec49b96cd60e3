//! View changes (Castro & Liskov §4.4, with the P and Q sets and the decision procedure
//! of TOCS 2002 §4.5). A backup whose request timer expires multicasts a signed
//! ⟨VIEW-CHANGE, v+1, n, C, P, Q, i⟩; the new primary collects 2f + 1 of them (V) and
//! computes, for every sequence number after the latest stable checkpoint, which batch
//! the new view must re-propose, or a null request for a gap (O). Backups recompute O
//! from V and accept the ⟨NEW-VIEW, v+1, V, O⟩ only if it matches.
//!
//! View changes are signed, so the new-view message proves its V to everyone and the
//! view-change acknowledgements that TOCS needs for MAC-only view changes are not needed.

use crate::vecmap::VecMap;
use alloc::vec::Vec;
use core::cmp::Reverse;

use super::Replica;
use crate::effect::{Effect, Env, NodeId};
use crate::pbft::byzantine::Behaviour;
use crate::pbft::config::{Config, SeqNo, View};
use crate::pbft::events::PbftEvent;
use crate::pbft::messages::{AuthRequest, Batch, Body, NewView, Reproposal, SharedBatch, Signed, ViewChange};
use crate::pbft::{Out, PbftTimer};

use super::normal::batch_digest;

/// Largest factor the view-change timeout grows to.
const MAX_BACKOFF: u64 = 64;

/// The new-view decision: from the view changes in V, the stable checkpoint the new view
/// starts from and the O set. `None` if V does not decide some sequence number yet (the
/// primary waits for more view changes).
///
/// For each n after the checkpoint, a batch d prepared in view v is chosen if
/// (A1) 2f + 1 view changes report no prepared batch at n with a view above v, or with
/// view v and another digest, and (A2) f + 1 report d pre-prepared at n in a view >= v;
/// the highest such v wins. Otherwise, if 2f + 1 report nothing prepared at n, n gets
/// the null request (B).
pub fn decide_new_view(cfg: &Config, v: &[&ViewChange]) -> Option<(SeqNo, Vec<Reproposal>)> {
    if v.len() < cfg.quorum() {
        return None;
    }
    let h = v.iter().map(|m| m.stable_seq).max()?;
    let last = v
        .iter()
        .flat_map(|m| m.prepared.iter().map(|p| p.seq))
        .filter(|s| *s > h && *s <= h + cfg.log_window)
        .max()
        .unwrap_or(h);
    let mut o = Vec::new();
    for n in h + 1..=last {
        let mut candidates: Vec<_> =
            v.iter().flat_map(|m| m.prepared.iter().filter(|p| p.seq == n)).collect();
        crate::sort::sort_by_key(&mut candidates, |p| (Reverse(p.view), p.digest));
        candidates.dedup_by_key(|p| (p.view, p.digest));
        let chosen = candidates.into_iter().find(|c| {
            let a1 = v
                .iter()
                .filter(|m| {
                    m.prepared
                        .iter()
                        .filter(|p| p.seq == n)
                        .all(|p| p.view < c.view || (p.view == c.view && p.digest == c.digest))
                })
                .count();
            let a2 = v
                .iter()
                .filter(|m| {
                    m.pre_prepared.iter().any(|q| q.seq == n && q.digest == c.digest && q.view >= c.view)
                })
                .count();
            a1 >= cfg.quorum() && a2 >= cfg.weak()
        });
        match chosen {
            Some(c) => o.push(Reproposal { seq: n, digest: c.digest, batch: c.batch.clone() }),
            None => {
                let silent = v.iter().filter(|m| !m.prepared.iter().any(|p| p.seq == n)).count();
                if silent < cfg.quorum() {
                    return None;
                }
                let null = Batch::null();
                o.push(Reproposal { seq: n, digest: batch_digest(&null), batch: SharedBatch::new(null) });
            }
        }
    }
    Some((h, o))
}

impl Replica {
    pub(crate) fn on_view_timer(&mut self, env: &mut Env<'_>, out: &mut Out) {
        self.view_timer_on = false;
        if self.active && (self.waiting.is_empty() || self.is_primary()) {
            return;
        }
        let reason =
            if self.active { "a request timer expired" } else { "the new view did not start in time" };
        self.vc_timeout = self.vc_timeout.saturating_mul(2).min(self.cfg.view_change_timeout * MAX_BACKOFF);
        self.start_view_change(self.view + 1, reason, env, out);
    }

    /// Stop accepting messages for the current view and multicast a view change.
    pub(crate) fn start_view_change(
        &mut self,
        new_view: View,
        reason: &str,
        env: &mut Env<'_>,
        out: &mut Out,
    ) {
        if new_view <= self.view {
            return;
        }
        self.view = new_view;
        self.active = false;
        self.stats.view_changes += 1;
        // Batching state is per view; `waiting` is not, the next view proposes it.
        self.pending.clear();
        self.proposed.clear();
        if self.batch_timer_on {
            self.batch_timer_on = false;
            out.push(Effect::CancelTimer(PbftTimer::Batch));
        }
        if self.view_timer_on {
            self.view_timer_on = false;
            out.push(Effect::CancelTimer(PbftTimer::ViewChange));
        }
        let lie = self.behaviour == Behaviour::LyingViewChange;
        let h = self.h;
        let (prepared, pre_prepared) = if lie {
            (Vec::new(), Vec::new())
        } else {
            let entries: Vec<_> = self.log.entries.range(h + 1..).map(|(_, e)| e).collect();
            (
                entries.iter().filter_map(|e| e.prepared_claim.clone()).collect(),
                entries.iter().flat_map(|e| e.pre_prepared_claims.iter().copied()).collect(),
            )
        };
        let vc = ViewChange {
            new_view,
            stable_seq: h,
            checkpoint_proof: self.stable_proof.clone(),
            prepared,
            pre_prepared,
            replica: self.id,
        };
        let signed = self.keys.sign(vc);
        self.persist_view(out);
        let reason = alloc::string::String::from(reason);
        self.observe(env, out, |hlc| PbftEvent::ViewChangeStarted { view: new_view, reason, hlc });
        self.view_changes.get_or_default(new_view).insert(self.id, signed.clone());
        self.view_changes = self.view_changes.split_off(&new_view);
        self.multicast(env, out, Body::ViewChange(signed.into()));
        self.arm_fetch(out);
        self.check_view_change_quorum(env, out);
    }

    /// Whether a view change is well formed: certified checkpoint, claims inside its
    /// window, batches matching their digests, views below the new one.
    pub(crate) fn valid_view_change(&self, vc: &ViewChange) -> Result<(), &'static str> {
        if vc.stable_seq == 0 {
            if !vc.checkpoint_proof.is_empty() {
                return Err("a checkpoint certificate for the initial state");
            }
        } else {
            let digest = vc.checkpoint_proof.first().map(|c| c.value.digest).unwrap_or_default();
            if !self.valid_proof(vc.stable_seq, &digest, &vc.checkpoint_proof) {
                return Err("the checkpoint certificate C does not verify");
            }
        }
        let window = vc.stable_seq + 1..=vc.stable_seq + self.cfg.log_window;
        let mut seen = Vec::new();
        for p in &vc.prepared {
            if !window.contains(&p.seq) || p.view >= vc.new_view || seen.contains(&p.seq) {
                return Err("a prepared claim in P lies outside the sender's window");
            }
            if batch_digest(&p.batch) != p.digest {
                return Err("a prepared claim's batch does not match its digest");
            }
            seen.push(p.seq);
        }
        if vc.pre_prepared.iter().any(|q| !window.contains(&q.seq) || q.view >= vc.new_view) {
            return Err("a pre-prepared claim in Q lies outside the sender's window");
        }
        Ok(())
    }

    pub(crate) fn on_view_change(
        &mut self,
        from: NodeId,
        s: Signed<ViewChange>,
        env: &mut Env<'_>,
        out: &mut Out,
    ) {
        const K: &str = "ViewChange";
        let sender = s.value.replica;
        let v = s.value.new_view;
        // A view change for the view we are in: its sender missed the new-view message and
        // keeps re-sending its view change, so send it the new-view again (TOCS §5.2).
        if v == self.view && self.active {
            if let Some(nv) = self.last_new_view.clone().filter(|nv| nv.value.view == v)
                && self.cfg.is_replica(from)
            {
                self.send(env, out, from, Body::NewView(nv.into()));
            }
            return;
        }
        // Stale or already known: drop before paying for signatures.
        if v < self.view
            || self.view_changes.get(&v).and_then(|m| m.get(&sender)).is_some_and(|known| *known == s)
        {
            return;
        }
        if !self.cfg.is_replica(sender) || !self.keys.verify(sender, &s) {
            return self.reject(out, from, K, "the signature does not verify for the named replica");
        }
        if let Err(reason) = self.valid_view_change(&s.value) {
            return self.reject(out, from, K, reason);
        }
        // Keep at most the two highest views per sender.
        self.view_changes.get_or_default(v).insert(sender, s);
        let mine: Vec<View> =
            self.view_changes.iter().filter(|(_, m)| m.contains_key(&sender)).map(|(v, _)| *v).collect();
        if mine.len() > 2 {
            for old in &mine[..mine.len() - 2] {
                if let Some(m) = self.view_changes.get_mut(old) {
                    m.remove(&sender);
                }
            }
        }
        // f + 1 replicas are in higher views: join the smallest view they justify (§4.5.2).
        let mut highest: VecMap<NodeId, View> = VecMap::new();
        for (view, m) in &self.view_changes {
            for r in m.keys() {
                if *r != self.id && *view > self.view {
                    highest.insert(*r, *view);
                }
            }
        }
        if highest.len() >= self.cfg.weak() {
            let mut views: Vec<View> = highest.into_values().collect();
            crate::sort::sort_by_key(&mut views, |v| Reverse(*v));
            let target = views[self.cfg.f as usize];
            self.start_view_change(target, "f + 1 replicas asked for higher views", env, out);
            return;
        }
        self.check_view_change_quorum(env, out);
    }

    /// With 2f + 1 view changes for the target view: start the timer, and as its primary,
    /// try to send the new-view message.
    fn check_view_change_quorum(&mut self, env: &mut Env<'_>, out: &mut Out) {
        if self.active {
            return;
        }
        let count = self.view_changes.get(&self.view).map_or(0, VecMap::len);
        if count < self.cfg.quorum() {
            return;
        }
        if !self.view_timer_on {
            self.view_timer_on = true;
            self.set_timer(out, PbftTimer::ViewChange, self.vc_timeout);
        }
        if self.cfg.primary(self.view) != self.id {
            return;
        }
        let vcs: Vec<Signed<ViewChange>> =
            self.view_changes.get(&self.view).map(|m| m.values().cloned().collect()).unwrap_or_default();
        let values: Vec<&ViewChange> = vcs.iter().map(|s| &s.value).collect();
        let Some((_, pre_prepares)) = decide_new_view(&self.cfg, &values) else {
            return;
        };
        let nv = self.keys.sign(NewView { view: self.view, view_changes: vcs, pre_prepares });
        self.multicast(env, out, Body::NewView(nv.clone().into()));
        self.enter_new_view(nv, env, out);
    }

    pub(crate) fn on_new_view(&mut self, from: NodeId, s: Signed<NewView>, env: &mut Env<'_>, out: &mut Out) {
        const K: &str = "NewView";
        let nv = &s.value;
        if nv.view < self.view || (nv.view == self.view && self.active) {
            return;
        }
        if !self.keys.verify(self.cfg.primary(nv.view), &s) {
            return self.reject(out, from, K, "not signed by the new view's primary");
        }
        let mut senders = Vec::new();
        for vc in &nv.view_changes {
            let r = vc.value.replica;
            if vc.value.new_view != nv.view
                || senders.contains(&r)
                || !self.cfg.is_replica(r)
                || !self.keys.verify(r, vc)
                || self.valid_view_change(&vc.value).is_err()
            {
                return self.reject(out, from, K, "V holds an invalid or duplicate view change");
            }
            senders.push(r);
        }
        let values: Vec<&ViewChange> = nv.view_changes.iter().map(|s| &s.value).collect();
        match decide_new_view(&self.cfg, &values) {
            Some((_, o)) if o == nv.pre_prepares => self.enter_new_view(s, env, out),
            _ => self.reject(out, from, K, "O does not follow from V"),
        }
    }

    /// Enter the new view: adopt its checkpoint, log its pre-prepares and prepare them.
    fn enter_new_view(&mut self, s: Signed<NewView>, env: &mut Env<'_>, out: &mut Out) {
        let nv = s.value.clone();
        self.view = nv.view;
        self.active = true;
        self.last_new_view = Some(s);
        self.view_changes = self.view_changes.split_off(&(self.view + 1));
        self.persist_view(out);
        if let Some(best) = nv.view_changes.iter().map(|s| &s.value).max_by_key(|m| m.stable_seq)
            && best.stable_seq > self.h
        {
            let seq = best.stable_seq;
            self.make_stable(seq, best.checkpoint_proof.clone(), env, out);
            if self.last_executed < seq {
                self.multicast(env, out, Body::FetchState { seq });
                self.arm_fetch(out);
            }
        }
        let reproposed = nv.pre_prepares.len() as u32;
        let view = self.view;
        self.observe(env, out, |hlc| PbftEvent::NewViewEntered { view, reproposed, hlc });
        let primary = self.is_primary();
        // The newest request per client that O re-proposes: it executes through O.
        let mut in_o: VecMap<NodeId, u64> = VecMap::new();
        for ar in nv.pre_prepares.iter().flat_map(|r| &r.batch.requests) {
            let t = in_o.get_or_insert_with(ar.request.client, || 0);
            *t = (*t).max(ar.request.timestamp);
        }
        let mut top = self.h;
        for r in nv.pre_prepares {
            top = top.max(r.seq);
            if r.seq <= self.h {
                continue;
            }
            if primary {
                let e = self.log.at(r.seq, view);
                e.pre_prepare = Some((r.digest, r.batch));
                e.note_pre_prepared(r.seq, r.digest, view);
                self.persist_entry(out, r.seq);
                self.check_prepared(r.seq, env, out);
            } else {
                self.accept_pre_prepare(r.seq, r.digest, r.batch, env, out);
            }
        }
        self.next_seq = top + 1;
        self.max_seen = self.max_seen.max(top);
        // Requests still waiting and not in O: the new primary proposes them, backups
        // forward them to it (§4.4), so they do not wait for a client retransmission.
        let replies = &self.replies;
        let queued: Vec<AuthRequest> = self
            .waiting
            .values()
            .filter(|w| {
                let (c, t) = (w.request.client, w.request.timestamp);
                replies.get(&c).is_none_or(|l| l.timestamp < t) && in_o.get(&c).is_none_or(|o| *o < t)
            })
            .cloned()
            .collect();
        if primary {
            self.proposed = in_o;
        }
        let to = self.cfg.primary(view);
        for r in queued {
            if primary {
                let d = super::normal::request_digest(&r.request);
                self.propose(r, d, env, out);
            } else {
                self.send(env, out, to, Body::Request(r));
            }
        }
        self.restart_request_timer(out);
        let early = core::mem::take(&mut self.early);
        for (from, body) in early {
            self.dispatch(from, body, env, out);
        }
    }
}
