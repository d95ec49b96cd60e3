//! Normal-case operation (Castro & Liskov §4.2): the primary batches requests and
//! multicasts a pre-prepare; backups multicast prepares; once `prepared` holds everyone
//! multicasts a commit; once `committed-local` holds and every lower sequence number has
//! executed, the batch executes and each client gets a reply.

use alloc::vec::Vec;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::{LastReply, Replica};
use crate::clock::Timestamp;
use crate::effect::{Effect, Env, NodeId};
use crate::pbft::app::{OpResult, hash_postcard, sha256_postcard};
use crate::pbft::byzantine::{Behaviour, Bug};
use crate::pbft::config::SeqNo;
use crate::pbft::events::{ExecutedRequest, PbftEvent};
use crate::pbft::messages::{
    AuthRequest, Authenticator, Batch, Body, Commit, Digest, PrePrepare, Prepare, Reply, ReplyMacInput,
    ReplyResult, Request, SharedBatch,
};
use crate::pbft::{Out, PbftTimer};

/// Domain tags, so a MAC over one kind of message never verifies another.
pub(crate) const TAG_PRE_PREPARE: u8 = 1;
pub(crate) const TAG_PREPARE: u8 = 2;
pub(crate) const TAG_COMMIT: u8 = 3;
pub(crate) const TAG_REPLY: u8 = 4;
pub(crate) const TAG_COMMITTED: u8 = 5;

/// SHA-256 of `tag || postcard(value)`: what MACs are computed over.
pub fn body_digest<T: Serialize>(tag: u8, value: &T) -> Digest {
    hash_postcard(Sha256::new_with_prefix([tag]), value).finalize().into()
}

pub fn request_digest(r: &Request) -> Digest {
    sha256_postcard(r)
}

/// The batch digest d: SHA-256 over the primary's stamp and the requests' digests. The
/// request digests are needed anyway to check the clients' MACs, so each request is
/// hashed once; the clients' authenticators are evidence, not part of the batch.
pub fn batch_digest_of(hlc: &Timestamp, requests: &[Digest]) -> Digest {
    let mut h = hash_postcard(Sha256::new(), hlc);
    for d in requests {
        h.update(d);
    }
    h.finalize().into()
}

pub fn batch_digest(b: &Batch) -> Digest {
    let digests: Vec<Digest> = b.requests.iter().map(|r| request_digest(&r.request)).collect();
    batch_digest_of(&b.hlc, &digests)
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Vote {
    Prepare,
    Commit,
}

impl Replica {
    fn client_authentic(&self, r: &AuthRequest, digest: &Digest) -> bool {
        self.bug == Bug::SkipClientAuth || self.keys.check_authenticator(r.request.client, digest, &r.auth)
    }

    /// ⟨REQUEST, o, t, c⟩ from a client (or relayed by a backup).
    pub(crate) fn on_request(&mut self, from: NodeId, r: AuthRequest, env: &mut Env<'_>, out: &mut Out) {
        let client = r.request.client;
        let ts = r.request.timestamp;
        if !self.cfg.is_client(client) {
            return self.reject(out, from, "Request", "the request names a node that is not a client");
        }
        let digest = request_digest(&r.request);
        if !self.client_authentic(&r, &digest) {
            return self.reject(
                out,
                from,
                "Request",
                "the client's MAC in the authenticator does not verify",
            );
        }
        if let Some(last) = self.replies.get(&client).filter(|_| self.bug != Bug::ExecuteTwice) {
            if ts == last.timestamp {
                // Already executed: send the reply again (§4.1), with the full result,
                // since the designated replier's may have been lost.
                let last = last.clone();
                return self.send_reply(client, last, true, env, out);
            }
            if ts < last.timestamp {
                return;
            }
        }
        // A client sends a request to the primary first and to every replica when it
        // retransmits: straight from the client to a backup, or twice to the primary,
        // means the designated replier may be faulty.
        let again = self.waiting.get(&client).is_some_and(|w| w.request.timestamp == ts);
        if from == client && (again || !self.is_primary()) {
            self.retransmitted.insert(client, ts);
        }
        // Kept even during a view change, so the next view proposes it (§4.4).
        if self.waiting.get(&client).is_none_or(|w| w.request.timestamp < ts) {
            self.waiting.insert(client, r.clone());
        }
        if !self.active {
            return;
        }
        if self.is_primary() {
            self.propose(r, digest, env, out);
        } else {
            // A backup relays the request and starts its timer (§4.4).
            let primary = self.cfg.primary(self.view);
            self.send(env, out, primary, Body::Request(r));
            if !self.view_timer_on {
                self.view_timer_on = true;
                self.set_timer(out, PbftTimer::ViewChange, self.vc_timeout);
            }
        }
    }

    /// The primary queues a request for a batch unless it already proposed it in this view.
    pub(crate) fn propose(&mut self, r: AuthRequest, digest: Digest, env: &mut Env<'_>, out: &mut Out) {
        let (client, ts) = (r.request.client, r.request.timestamp);
        if self.proposed.get(&client).is_some_and(|t| *t >= ts) && self.bug != Bug::ExecuteTwice {
            return;
        }
        self.proposed.insert(client, ts);
        self.pending.push_back((r, digest));
        self.send_batches(false, env, out);
    }

    /// The primary turns pending requests into pre-prepares: at once if nothing is in
    /// flight or a batch is full, otherwise after the batching delay (`flush`).
    pub(crate) fn send_batches(&mut self, flush: bool, env: &mut Env<'_>, out: &mut Out) {
        if !self.active || !self.is_primary() {
            return;
        }
        let max = self.cfg.max_batch as usize;
        while !self.pending.is_empty() && self.next_seq <= self.high_watermark() {
            let in_flight = self.next_seq > self.last_executed + 1;
            if !flush && in_flight && self.pending.len() < max {
                if !self.batch_timer_on {
                    self.batch_timer_on = true;
                    self.set_timer(out, PbftTimer::Batch, self.cfg.batch_delay);
                }
                return;
            }
            let take = self.pending.len().min(max);
            let (requests, digests) = self.pending.drain(..take).unzip();
            self.send_pre_prepare(requests, digests, env, out);
        }
    }

    fn send_pre_prepare(
        &mut self,
        mut requests: Vec<AuthRequest>,
        mut digests: Vec<Digest>,
        env: &mut Env<'_>,
        out: &mut Out,
    ) {
        if self.behaviour == Behaviour::Forge && self.cfg.clients > 0 {
            // A forging primary invents a request in a client's name; it cannot produce
            // the client's MACs, so correct backups refuse the batch.
            let request = Request {
                op: crate::pbft::app::Op::Put { key: "forged".into(), value: "by the primary".into() }.into(),
                timestamp: u64::MAX - self.next_seq,
                client: NodeId(self.cfg.n),
                replier: self.id,
            };
            let d = request_digest(&request);
            let auth = self.keys.authenticator(self.cfg.n, &d);
            requests.push(AuthRequest { request, auth });
            digests.push(d);
        }
        let (view, seq) = (self.view, self.next_seq);
        self.next_seq += 1;
        self.max_seen = self.max_seen.max(seq);
        let batch = SharedBatch::new(Batch { hlc: self.hlc.now(env), requests });
        let digest = batch_digest_of(&batch.hlc, &digests);
        let count = batch.requests.len() as u32;
        let e = self.log.at(seq, view);
        e.pre_prepare = Some((digest, batch.clone()));
        e.note_pre_prepared(seq, digest, view);
        self.persist_entry(out, seq);
        self.observe(env, out, |hlc| PbftEvent::PrePrepared { view, seq, digest, requests: count, hlc });
        let pp = PrePrepare { view, seq, digest };
        match self.behaviour {
            Behaviour::Equivocate | Behaviour::Collude => self.equivocate(pp, batch, env, out),
            Behaviour::WrongDigest => {
                let pp = PrePrepare { digest: corrupt(digest), ..pp };
                let auth = self.keys.authenticator(self.cfg.n, &body_digest(TAG_PRE_PREPARE, &pp));
                self.multicast(env, out, Body::PrePrepare { pp, batch, auth });
            }
            _ => {
                let auth = self.keys.authenticator(self.cfg.n, &body_digest(TAG_PRE_PREPARE, &pp));
                self.multicast(env, out, Body::PrePrepare { pp, batch, auth });
            }
        }
    }

    /// Byzantine primary: variant A (the real batch) to backups with even ids, variant B
    /// (the same stamp, no requests) to those with odd ids. Colluders also send both
    /// variants to their accomplices and commit, towards each correct backup, the variant
    /// it got; accomplice backups prepare and commit the same way.
    fn equivocate(&mut self, pp: PrePrepare, a: SharedBatch, env: &mut Env<'_>, out: &mut Out) {
        let b = SharedBatch::new(Batch { hlc: a.hlc, requests: Vec::new() });
        let pa = pp.clone();
        let pb = PrePrepare { digest: batch_digest(&b), ..pp };
        let auth_a = self.keys.authenticator(self.cfg.n, &body_digest(TAG_PRE_PREPARE, &pa));
        let auth_b = self.keys.authenticator(self.cfg.n, &body_digest(TAG_PRE_PREPARE, &pb));
        let msg_a = Body::PrePrepare { pp: pa.clone(), batch: a, auth: auth_a };
        let msg_b = Body::PrePrepare { pp: pb.clone(), batch: b, auth: auth_b };
        let collude = self.behaviour == Behaviour::Collude;
        for r in 0..self.cfg.n {
            let to = NodeId(r);
            if to == self.id {
                continue;
            }
            if collude && self.accomplices.contains(&to) {
                self.send(env, out, to, msg_a.clone());
                self.send(env, out, to, msg_b.clone());
            } else {
                let m = if r % 2 == 0 { &msg_a } else { &msg_b };
                self.send(env, out, to, m.clone());
            }
        }
        if collude {
            self.collude_votes(&[Vote::Commit], &pa, true, env, out);
            self.collude_votes(&[Vote::Commit], &pb, false, env, out);
        }
    }

    /// Votes for `pp` to the correct replicas that were sent that variant (even ids get
    /// the variant with requests).
    fn collude_votes(
        &mut self,
        votes: &[Vote],
        pp: &PrePrepare,
        even: bool,
        env: &mut Env<'_>,
        out: &mut Out,
    ) {
        for r in 0..self.cfg.n {
            let to = NodeId(r);
            if to == self.id || self.accomplices.contains(&to) || (r % 2 == 0) != even {
                continue;
            }
            for v in votes {
                let body = self.vote_body(*v, pp.view, pp.seq, pp.digest);
                self.send(env, out, to, body);
            }
        }
    }

    pub(crate) fn vote_body(&self, vote: Vote, view: u64, seq: SeqNo, digest: Digest) -> Body {
        let me = self.id;
        match vote {
            Vote::Prepare => {
                let p = Prepare { view, seq, digest, replica: me };
                Body::Prepare { p, auth: self.keys.authenticator(self.cfg.n, &body_digest(TAG_PREPARE, &p)) }
            }
            Vote::Commit => {
                let c = Commit { view, seq, digest, replica: me };
                Body::Commit { c, auth: self.keys.authenticator(self.cfg.n, &body_digest(TAG_COMMIT, &c)) }
            }
        }
    }

    /// Multicast a prepare or commit, as the behaviour dictates.
    pub(crate) fn send_vote(
        &mut self,
        vote: Vote,
        view: u64,
        seq: SeqNo,
        digest: Digest,
        env: &mut Env<'_>,
        out: &mut Out,
    ) {
        match self.behaviour {
            Behaviour::WrongDigest => {
                let b = self.vote_body(vote, view, seq, corrupt(digest));
                self.multicast(env, out, b);
            }
            Behaviour::ConflictingVotes => {
                let good = self.vote_body(vote, view, seq, digest);
                let bad = self.vote_body(vote, view, seq, corrupt(digest));
                for r in 0..self.cfg.n {
                    let b = if r % 2 == 0 { good.clone() } else { bad.clone() };
                    self.send(env, out, NodeId(r), b);
                }
            }
            Behaviour::Collude => {}
            _ => {
                let b = self.vote_body(vote, view, seq, digest);
                self.multicast(env, out, b);
            }
        }
    }

    /// ⟨PRE-PREPARE, v, n, d⟩ with the batch: accept if authentic, in view, within the
    /// watermarks, the digest matches, and no other digest was accepted for (v, n).
    pub(crate) fn on_pre_prepare(
        &mut self,
        from: NodeId,
        pp: PrePrepare,
        batch: SharedBatch,
        auth: Authenticator,
        env: &mut Env<'_>,
        out: &mut Out,
    ) {
        const K: &str = "PrePrepare";
        let primary = self.cfg.primary(pp.view);
        if !self.keys.check_authenticator(primary, &body_digest(TAG_PRE_PREPARE, &pp), &auth) {
            return self.reject(out, from, K, "the authenticator does not verify for the view's primary");
        }
        if primary == self.id {
            return;
        }
        self.note_seen(pp.seq, out);
        if self.not_now(
            from,
            pp.view,
            Body::PrePrepare { pp: pp.clone(), batch: batch.clone(), auth },
            env,
            out,
        ) {
            return;
        }
        if !self.in_window(pp.seq) {
            return self.reject(out, from, K, "sequence number outside the watermarks h..H");
        }
        let digests: Vec<Digest> = batch.requests.iter().map(|r| request_digest(&r.request)).collect();
        if batch_digest_of(&batch.hlc, &digests) != pp.digest {
            return self.reject(out, from, K, "the digest does not match the batch");
        }
        if batch.hlc.wall > env.now.saturating_add(self.cfg.max_clock_offset) {
            return self.reject(
                out,
                from,
                K,
                "the batch's HLC stamp is too far ahead of this replica's clock",
            );
        }
        // Each request carries a MAC under its own client's key, so a backup checks one
        // per request; the request digests are the ones the batch digest was built from.
        if !batch
            .requests
            .iter()
            .zip(&digests)
            .all(|(r, d)| self.cfg.is_client(r.request.client) && self.client_authentic(r, d))
        {
            return self.reject(out, from, K, "a request in the batch is not authenticated by its client");
        }
        let _ = self.hlc.update(&batch.hlc, env);
        if self.behaviour == Behaviour::Collude {
            let even = !batch.requests.is_empty();
            self.collude_votes(&[Vote::Prepare, Vote::Commit], &pp, even, env, out);
        }
        let e = self.log.at(pp.seq, self.view);
        if let Some((d, _)) = &e.pre_prepare {
            if *d != pp.digest {
                return self.reject(
                    out,
                    from,
                    K,
                    "another pre-prepare for the same view and sequence number was accepted",
                );
            }
            return;
        }
        self.accept_pre_prepare(pp.seq, pp.digest, batch, env, out);
    }

    /// Log the pre-prepare for `seq` in the current view and, as a backup, prepare it.
    pub(crate) fn accept_pre_prepare(
        &mut self,
        seq: SeqNo,
        digest: Digest,
        batch: SharedBatch,
        env: &mut Env<'_>,
        out: &mut Out,
    ) {
        let view = self.view;
        let me = self.id;
        let primary = self.is_primary();
        let count = batch.requests.len() as u32;
        let e = self.log.at(seq, view);
        e.pre_prepare = Some((digest, batch));
        e.note_pre_prepared(seq, digest, view);
        if !primary {
            e.prepares.insert(me, digest);
        }
        self.persist_entry(out, seq);
        self.observe(env, out, |hlc| PbftEvent::PrePrepared { view, seq, digest, requests: count, hlc });
        if !primary {
            self.send_vote(Vote::Prepare, view, seq, digest, env, out);
        }
        self.check_prepared(seq, env, out);
    }

    /// Normal-case messages for another view: newer ones are kept for when this replica
    /// gets there (and make it ask for the new-view message); older ones are dropped.
    /// True if the message is not for now.
    pub(crate) fn not_now(
        &mut self,
        from: NodeId,
        view: u64,
        body: Body,
        env: &mut Env<'_>,
        out: &mut Out,
    ) -> bool {
        if view == self.view && self.active {
            return false;
        }
        if view > self.view || (view == self.view && !self.active) {
            if self.early.len() < 1024 {
                self.early.push((from, body));
            }
            if view > self.view {
                self.ask_new_view(from, view, env, out);
            }
        }
        true
    }

    pub(crate) fn on_prepare(
        &mut self,
        from: NodeId,
        p: Prepare,
        auth: Authenticator,
        env: &mut Env<'_>,
        out: &mut Out,
    ) {
        const K: &str = "Prepare";
        if !self.cfg.is_replica(p.replica)
            || !self.keys.check_authenticator(p.replica, &body_digest(TAG_PREPARE, &p), &auth)
        {
            return self.reject(out, from, K, "the authenticator does not verify for the named replica");
        }
        self.note_seen(p.seq, out);
        if self.not_now(from, p.view, Body::Prepare { p, auth }, env, out) {
            return;
        }
        if p.replica == self.cfg.primary(p.view) {
            return self.reject(out, from, K, "the primary does not send prepares");
        }
        if !self.in_window(p.seq) {
            return self.reject(out, from, K, "sequence number outside the watermarks h..H");
        }
        let e = self.log.at(p.seq, self.view);
        match e.prepares.get(&p.replica) {
            Some(d) if *d != p.digest => {
                return self.reject(out, from, K, "a conflicting prepare from the same replica for (v, n)");
            }
            Some(_) => return,
            None => {
                e.prepares.insert(p.replica, p.digest);
            }
        }
        self.check_prepared(p.seq, env, out);
    }

    pub(crate) fn on_commit(
        &mut self,
        from: NodeId,
        c: Commit,
        auth: Authenticator,
        env: &mut Env<'_>,
        out: &mut Out,
    ) {
        const K: &str = "Commit";
        if !self.cfg.is_replica(c.replica)
            || !self.keys.check_authenticator(c.replica, &body_digest(TAG_COMMIT, &c), &auth)
        {
            return self.reject(out, from, K, "the authenticator does not verify for the named replica");
        }
        self.note_seen(c.seq, out);
        if self.not_now(from, c.view, Body::Commit { c, auth }, env, out) {
            return;
        }
        if !self.in_window(c.seq) {
            return self.reject(out, from, K, "sequence number outside the watermarks h..H");
        }
        let e = self.log.at(c.seq, self.view);
        match e.commits.get(&c.replica) {
            Some(d) if *d != c.digest => {
                return self.reject(out, from, K, "a conflicting commit from the same replica for (v, n)");
            }
            Some(_) => return,
            None => {
                e.commits.insert(c.replica, c.digest);
            }
        }
        self.check_committed(c.seq, env, out);
    }

    /// `prepared(m, v, n, i)` → multicast ⟨COMMIT, v, n, d, i⟩.
    pub(crate) fn check_prepared(&mut self, seq: SeqNo, env: &mut Env<'_>, out: &mut Out) {
        let (f, me, broken) = (self.cfg.f, self.id, self.bug == Bug::CommitWithoutQuorum);
        let Some(e) = self.log.entries.get_mut(&seq) else {
            return;
        };
        if e.prepared || !(e.is_prepared(f) || (broken && e.pre_prepare.is_some())) {
            return;
        }
        let Some(digest) = e.pre_prepare.as_ref().map(|(d, _)| *d) else {
            return;
        };
        e.prepared = true;
        e.note_prepared(seq);
        e.sent_commit = true;
        e.commits.insert(me, digest);
        let view = e.view;
        self.persist_entry(out, seq);
        self.observe(env, out, |hlc| PbftEvent::Prepared { view, seq, digest, hlc });
        self.send_vote(Vote::Commit, view, seq, digest, env, out);
        self.check_committed(seq, env, out);
    }

    /// `committed-local(m, v, n, i)` → execute in sequence order.
    pub(crate) fn check_committed(&mut self, seq: SeqNo, env: &mut Env<'_>, out: &mut Out) {
        let (f, broken) = (self.cfg.f, self.bug == Bug::CommitWithoutQuorum);
        let Some(e) = self.log.entries.get_mut(&seq) else {
            return;
        };
        if e.committed.is_some() || !(e.is_committed_local(f) || (broken && e.prepared)) {
            return;
        }
        e.committed = e.pre_prepare.clone();
        let (view, digest) = (e.view, e.pre_prepare.as_ref().map(|(d, _)| *d).unwrap_or_default());
        self.persist_entry(out, seq);
        self.observe(env, out, |hlc| PbftEvent::Committed { view, seq, digest, transferred: false, hlc });
        self.try_execute(env, out);
    }

    /// Execute every committed batch that is next in sequence order.
    pub(crate) fn try_execute(&mut self, env: &mut Env<'_>, out: &mut Out) {
        while let Some((digest, batch)) =
            self.log.get(self.last_executed + 1).and_then(|e| e.committed.clone())
        {
            self.execute(self.last_executed + 1, digest, batch, env, out);
        }
        self.send_batches(false, env, out);
    }

    fn execute(&mut self, seq: SeqNo, digest: Digest, batch: SharedBatch, env: &mut Env<'_>, out: &mut Out) {
        let ts = self.app.batch_timestamp(batch.hlc);
        let mut done = Vec::new();
        for ar in &batch.requests {
            let Request { ref op, timestamp, client, replier } = ar.request;
            if self.waiting.get(&client).is_some_and(|w| w.request.timestamp <= timestamp) {
                self.waiting.remove(&client);
            }
            let seen = self.replies.get(&client).is_some_and(|l| l.timestamp >= timestamp);
            if seen && self.bug != Bug::ExecuteTwice {
                continue;
            }
            let result = self.app.execute(op, ts);
            let last = LastReply { timestamp, view: self.view, result };
            self.replies.insert(client, last.clone());
            let retried = self.retransmitted.get(&client).is_some_and(|t| *t <= timestamp);
            if retried {
                self.retransmitted.remove(&client);
            }
            self.send_reply(client, last, replier == self.id || retried, env, out);
            done.push(ExecutedRequest { client, timestamp, op: op.clone() });
        }
        self.last_executed = seq;
        self.stats.executed_requests += done.len() as u64;
        let any = !done.is_empty();
        self.observe(env, out, |hlc| PbftEvent::Executed { seq, digest, requests: done, hlc });
        if seq.is_multiple_of(self.cfg.checkpoint_interval) {
            self.take_checkpoint(seq, env, out);
        }
        if any {
            // A request executed: the view works, so the timeout returns to its base and
            // the timer restarts if other requests still wait (§4.4).
            self.vc_timeout = self.cfg.view_change_timeout;
            self.restart_request_timer(out);
        }
    }

    /// A backup times the requests it waits for; the primary, whose own proposals sit in
    /// `waiting` too, does not suspect itself.
    pub(crate) fn restart_request_timer(&mut self, out: &mut Out) {
        if self.waiting.is_empty() || (self.active && self.is_primary()) {
            if self.view_timer_on {
                self.view_timer_on = false;
                out.push(Effect::CancelTimer(PbftTimer::ViewChange));
            }
        } else if self.active {
            self.view_timer_on = true;
            self.set_timer(out, PbftTimer::ViewChange, self.vc_timeout);
        }
    }

    /// ⟨REPLY⟩ with the full result if `full`, otherwise with the result's digest.
    pub(crate) fn send_reply(
        &mut self,
        client: NodeId,
        last: LastReply,
        full: bool,
        env: &mut Env<'_>,
        out: &mut Out,
    ) {
        if self.bug == Bug::NoReplies {
            return;
        }
        let result_digest = match (&last.result, self.written_digest) {
            (OpResult::Written(ts), Some((cached, d))) if *ts == cached => d,
            (OpResult::Written(ts), _) => {
                let d = sha256_postcard(&last.result);
                self.written_digest = Some((*ts, d));
                d
            }
            _ => sha256_postcard(&last.result),
        };
        let input = ReplyMacInput {
            view: last.view,
            timestamp: last.timestamp,
            client,
            replica: self.id,
            result: result_digest,
        };
        let mac = self.keys.mac_value(client, TAG_REPLY, &input);
        let result = if full { ReplyResult::Full(last.result) } else { ReplyResult::Digest(result_digest) };
        let r = Reply { view: last.view, timestamp: last.timestamp, client, replica: self.id, result };
        self.send(env, out, client, Body::Reply { r, mac });
    }
}

/// A different digest (Byzantine behaviours).
pub(crate) fn corrupt(mut d: Digest) -> Digest {
    d[0] ^= 0xff;
    d
}
