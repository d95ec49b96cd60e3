//! A PBFT replica (Castro & Liskov, OSDI '99 and TOCS 2002): normal case, checkpoints and
//! garbage collection, view changes and state transfer, one file each.

mod checkpoint;
mod normal;
mod state_transfer;
mod view_change;

use crate::vecmap::VecMap;
use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::app::{KvApp, KvSnapshot, KvSnapshotRef, OpResult, sha256};
use super::auth::Keyring;
use super::byzantine::{Behaviour, Bug};
use super::config::{Config, SeqNo, View};
use super::events::PbftEvent;
use super::log::{DurableEntry, Log};
use super::messages::{
    Batch, Body, Checkpoint, Digest, NewView, PbftMsg, SharedBatch, Signed, ViewChange, check_bounds,
};
use super::{Out, PbftTimer};
use crate::clock::{Hlc, Timestamp};
use crate::effect::{Effect, Env, Micros, NodeId, Persisted};

pub(crate) use normal::TAG_REPLY;
pub use normal::{batch_digest, batch_digest_of, body_digest, request_digest};
pub use view_change::decide_new_view;

/// The last reply sent to a client: a retransmitted request gets it again, an older one
/// nothing (at-most-once execution, §4.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastReply {
    pub timestamp: u64,
    pub view: View,
    pub result: OpResult,
}

/// The replicated state at a checkpoint: the store and the last-reply table (timestamp
/// and result; the view a reply was sent in differs between replicas, so it stays out).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateSnapshot {
    pub app: KvSnapshot,
    pub replies: VecMap<NodeId, (u64, OpResult)>,
}

#[derive(Serialize)]
struct StateSnapshotRef<'a> {
    app: KvSnapshotRef<'a>,
    replies: ReplyTable<'a>,
}

/// The last-reply table as [`StateSnapshot::replies`] encodes it.
struct ReplyTable<'a>(&'a VecMap<NodeId, LastReply>);

impl Serialize for ReplyTable<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(c, r)| (c, (r.timestamp, &r.result))))
    }
}

/// A checkpoint in progress or stable: our own digest and snapshot, and signed votes.
#[derive(Clone, Debug, Default)]
pub struct CheckpointRecord {
    pub mine: Option<(Digest, Vec<u8>)>,
    pub votes: VecMap<NodeId, Signed<Checkpoint>>,
}

/// The stable checkpoint as persisted: its certificate and its state.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct DurableCheckpoint {
    seq: SeqNo,
    proof: Vec<Signed<Checkpoint>>,
    snapshot: Vec<u8>,
}

/// [`DurableCheckpoint`] by reference (the same bytes).
#[derive(Serialize)]
struct DurableCheckpointRef<'a> {
    seq: SeqNo,
    proof: &'a [Signed<Checkpoint>],
    snapshot: &'a [u8],
}

const KEY_VIEW: &[u8] = b"view";
const KEY_CHECKPOINT: &[u8] = b"checkpoint";
const KEY_ENTRY: u8 = b'e';
const KEY_BATCH: u8 = b'b';

fn entry_key(seq: SeqNo) -> Vec<u8> {
    let mut k = vec![KEY_ENTRY];
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// A batch is stored once per (sequence number, digest); status records name it.
fn batch_key(seq: SeqNo, digest: &Digest) -> Vec<u8> {
    let mut k = Vec::with_capacity(41);
    k.push(KEY_BATCH);
    k.extend_from_slice(&seq.to_be_bytes());
    k.extend_from_slice(digest);
    k
}

fn parse_seq(k: &[u8]) -> Option<SeqNo> {
    let b: [u8; 8] = k.get(1..9)?.try_into().ok()?;
    Some(SeqNo::from_be_bytes(b))
}

/// Counters for the inspector.
#[derive(Clone, Debug, Default)]
pub struct ReplicaStats {
    pub rejected: u64,
    pub executed_requests: u64,
    pub view_changes: u64,
}

/// One replica.
pub struct Replica {
    pub(crate) cfg: Config,
    pub(crate) keys: Keyring,
    pub(crate) id: NodeId,
    pub(crate) hlc: Hlc,
    pub(crate) view: View,
    /// False between sending a view change and entering the new view.
    pub(crate) active: bool,
    /// Low watermark h: the stable checkpoint. High watermark H = h + L.
    pub(crate) h: SeqNo,
    pub(crate) next_seq: SeqNo,
    pub(crate) last_executed: SeqNo,
    /// Highest sequence number seen in an authenticated message (lag detection).
    pub(crate) max_seen: SeqNo,
    pub(crate) log: Log,
    pub(crate) app: KvApp,
    pub(crate) replies: VecMap<NodeId, LastReply>,
    /// Requests a client retransmitted (client → timestamp): the reply to them carries the
    /// full result even from replicas the request did not designate (TOCS §5.1).
    pub(crate) retransmitted: VecMap<NodeId, u64>,
    pub(crate) checkpoints: VecMap<SeqNo, CheckpointRecord>,
    /// C: the certificate of the stable checkpoint (empty for the initial state).
    pub(crate) stable_proof: Vec<Signed<Checkpoint>>,
    /// Primary: requests waiting for a batch; the highest timestamp proposed per client.
    pub(crate) pending: VecDeque<(super::messages::AuthRequest, Digest)>,
    pub(crate) proposed: VecMap<NodeId, u64>,
    /// Requests this replica is waiting for (§4.4): authenticated, not yet executed, the
    /// newest per client (a client has one outstanding). They survive view changes: the
    /// new primary proposes them, backups forward them and time them.
    pub(crate) waiting: VecMap<NodeId, super::messages::AuthRequest>,
    pub(crate) view_timer_on: bool,
    pub(crate) batch_timer_on: bool,
    pub(crate) fetch_timer_on: bool,
    /// The view-change timeout, doubled after each view change that did not complete.
    pub(crate) vc_timeout: Micros,
    /// Latest view changes per view, by sender.
    pub(crate) view_changes: VecMap<View, VecMap<NodeId, Signed<ViewChange>>>,
    pub(crate) last_new_view: Option<Signed<NewView>>,
    pub(crate) fetch_progress: SeqNo,
    pub(crate) asked_new_view: View,
    pub(crate) behaviour: Behaviour,
    /// Colluding Byzantine replicas know each other.
    pub(crate) accomplices: Vec<NodeId>,
    pub(crate) bug: Bug,
    pub(crate) slow_queue: VecDeque<(NodeId, PbftMsg)>,
    /// Normal-case messages for a view this replica has not entered yet.
    pub(crate) early: Vec<(NodeId, Body)>,
    pub(crate) replay_buffer: VecDeque<PbftMsg>,
    pub(crate) sends: u64,
    pub(crate) stats: ReplicaStats,
    /// The digest of the last `Written` result replied: a batch's writes share one version,
    /// so their replies share one result digest.
    pub(crate) written_digest: Option<(Timestamp, Digest)>,
}

impl Replica {
    pub fn new(cfg: Config, keys: Keyring, bug: Bug) -> Replica {
        let id = keys.me();
        let mut app = KvApp::new();
        app.stale_reads = bug == Bug::StaleReads;
        Replica {
            hlc: Hlc::new(id, cfg.max_clock_offset),
            vc_timeout: cfg.view_change_timeout,
            cfg,
            keys,
            id,
            view: 0,
            active: true,
            h: 0,
            next_seq: 1,
            last_executed: 0,
            max_seen: 0,
            log: Log::default(),
            app,
            replies: VecMap::new(),
            retransmitted: VecMap::new(),
            checkpoints: VecMap::new(),
            stable_proof: Vec::new(),
            pending: VecDeque::new(),
            proposed: VecMap::new(),
            waiting: VecMap::new(),
            view_timer_on: false,
            batch_timer_on: false,
            fetch_timer_on: false,
            view_changes: VecMap::new(),
            last_new_view: None,
            fetch_progress: 0,
            asked_new_view: 0,
            behaviour: Behaviour::Honest,
            accomplices: Vec::new(),
            bug,
            slow_queue: VecDeque::new(),
            early: Vec::new(),
            replay_buffer: VecDeque::new(),
            sends: 0,
            stats: ReplicaStats::default(),
            written_digest: None,
        }
    }

    pub fn view(&self) -> View {
        self.view
    }
    pub fn is_primary(&self) -> bool {
        self.cfg.primary(self.view) == self.id
    }
    pub fn last_executed(&self) -> SeqNo {
        self.last_executed
    }
    pub fn low_watermark(&self) -> SeqNo {
        self.h
    }
    pub fn high_watermark(&self) -> SeqNo {
        self.h + self.cfg.log_window
    }
    pub fn app(&self) -> &KvApp {
        &self.app
    }
    pub fn behaviour(&self) -> Behaviour {
        self.behaviour
    }
    pub fn stats(&self) -> &ReplicaStats {
        &self.stats
    }
    pub fn hlc(&self) -> Timestamp {
        self.hlc.peek()
    }
    pub fn is_active(&self) -> bool {
        self.active
    }

    pub(crate) fn in_window(&self, seq: SeqNo) -> bool {
        seq > self.h && seq <= self.high_watermark()
    }

    /// An event stamped with a fresh HLC tick.
    pub(crate) fn observe(
        &mut self,
        env: &Env<'_>,
        out: &mut Out,
        make: impl FnOnce(Timestamp) -> PbftEvent,
    ) {
        let ts = self.hlc.now(env);
        out.push(Effect::Observe(make(ts)));
    }

    pub(crate) fn reject(&mut self, out: &mut Out, from: NodeId, kind: &str, reason: impl Into<String>) {
        self.stats.rejected += 1;
        out.push(Effect::Observe(PbftEvent::Rejected { from, kind: kind.into(), reason: reason.into() }));
    }

    /// Sends `body` to one node, stamped with the HLC.
    pub(crate) fn send(&mut self, env: &mut Env<'_>, out: &mut Out, to: NodeId, body: Body) {
        if self.behaviour == Behaviour::Silent || to == self.id {
            return;
        }
        let hlc = self.hlc.now(env);
        self.replay_some(env, out);
        out.push(Effect::Send { to, msg: PbftMsg { hlc, body } });
    }

    /// Sends `body` to every other replica (one HLC stamp for all).
    pub(crate) fn multicast(&mut self, env: &mut Env<'_>, out: &mut Out, body: Body) {
        if self.behaviour == Behaviour::Silent {
            return;
        }
        let body = if self.behaviour == Behaviour::Forge { self.forge(body) } else { body };
        let hlc = self.hlc.now(env);
        self.replay_some(env, out);
        for r in 0..self.cfg.n {
            if r != self.id.0 {
                out.push(Effect::Send { to: NodeId(r), msg: PbftMsg { hlc, body: body.clone() } });
            }
        }
    }

    /// Byzantine `forge`: claim another replica's name, or break the signature.
    fn forge(&self, body: Body) -> Body {
        let victim = NodeId((self.id.0 + 1) % self.cfg.n);
        match body {
            Body::Prepare { mut p, auth } => {
                p.replica = victim;
                Body::Prepare { p, auth }
            }
            Body::Commit { mut c, auth } => {
                c.replica = victim;
                Body::Commit { c, auth }
            }
            Body::Checkpoint(mut s) => {
                s.value.replica = victim;
                Body::Checkpoint(s)
            }
            Body::ViewChange(mut s) => {
                s.sig.0[0] ^= 1;
                Body::ViewChange(s)
            }
            other => other,
        }
    }

    /// Byzantine `replay`: every third send also re-sends an old message somewhere.
    fn replay_some(&mut self, env: &mut Env<'_>, out: &mut Out) {
        if self.behaviour != Behaviour::Replay || self.replay_buffer.is_empty() {
            return;
        }
        self.sends += 1;
        if self.sends.is_multiple_of(3) {
            let i = env.rng.below(self.replay_buffer.len() as u64) as usize;
            let to = NodeId(env.rng.below(u64::from(self.cfg.n)) as u32);
            if let Some(mut msg) = self.replay_buffer.get(i).cloned()
                && to != self.id
            {
                // The stamp is renewed (stamps are not authenticated); the body is old.
                msg.hlc = self.hlc.now(env);
                out.push(Effect::Send { to, msg });
            }
        }
    }

    pub(crate) fn set_timer(&mut self, out: &mut Out, timer: PbftTimer, after: Micros) {
        out.push(Effect::SetTimer { timer, after });
    }

    pub(crate) fn persist_view(&self, out: &mut Out) {
        let v = postcard::to_allocvec(&(self.view, self.active)).unwrap_or_default();
        out.push(Effect::Persist { key: KEY_VIEW.to_vec(), value: Some(v) });
    }

    /// Persists what the entry for `seq` holds: each batch the first time it is seen,
    /// then the small status record.
    pub(crate) fn persist_entry(&mut self, out: &mut Out, seq: SeqNo) {
        let Some(e) = self.log.entries.get_mut(&seq) else {
            return;
        };
        let mut fresh: Vec<(Digest, &SharedBatch)> = Vec::new();
        for (d, b) in e.batches() {
            if !e.stored.contains(d) && !fresh.iter().any(|(x, _)| x == d) {
                fresh.push((*d, b));
            }
        }
        for (d, b) in &fresh {
            let v = postcard::to_allocvec(&**b).unwrap_or_default();
            out.push(Effect::Persist { key: batch_key(seq, d), value: Some(v) });
        }
        let fresh: Vec<Digest> = fresh.into_iter().map(|(d, _)| d).collect();
        e.stored.extend(fresh);
        let v = postcard::to_allocvec(&DurableEntry::of(e)).unwrap_or_default();
        out.push(Effect::Persist { key: entry_key(seq), value: Some(v) });
    }

    pub(crate) fn unpersist_entry(&self, out: &mut Out, seq: SeqNo) {
        out.push(Effect::Persist { key: entry_key(seq), value: None });
        for d in self.log.get(seq).map(|e| e.stored.as_slice()).unwrap_or_default() {
            out.push(Effect::Persist { key: batch_key(seq, d), value: None });
        }
    }

    pub(crate) fn persist_checkpoint(&self, out: &mut Out, seq: SeqNo, snapshot: &[u8]) {
        let d = DurableCheckpointRef { seq, proof: &self.stable_proof, snapshot };
        // Sized up front: growing a copy of a large snapshot by doubling costs several
        // reallocations, each touching fresh pages.
        let proof_bytes = self.stable_proof.len() * 160 + 32;
        let v = postcard::to_extend(&d, Vec::with_capacity(snapshot.len() + proof_bytes)).unwrap_or_default();
        out.push(Effect::Persist { key: KEY_CHECKPOINT.to_vec(), value: Some(v) });
    }

    /// The state as checkpoints digest and state transfer ships it: the encoding of a
    /// [`StateSnapshot`], written from borrowed parts (no copy of the store).
    pub(crate) fn snapshot_bytes(&self) -> Vec<u8> {
        let s = StateSnapshotRef { app: self.app.snapshot_ref(), replies: ReplyTable(&self.replies) };
        // The previous snapshot's size is a good guess: no reallocation while writing.
        let hint = self.checkpoints.values().rev().find_map(|r| r.mine.as_ref()).map_or(0, |(_, b)| b.len());
        postcard::to_extend(&s, Vec::with_capacity(hint + hint / 4)).unwrap_or_default()
    }

    /// Replace the state by a snapshot (state transfer, restart). False if it does not decode.
    pub(crate) fn install_snapshot(&mut self, bytes: &[u8]) -> bool {
        match postcard::from_bytes::<StateSnapshot>(bytes) {
            Ok(s) => {
                self.app = KvApp::restore(s.app);
                self.app.stale_reads = self.bug == Bug::StaleReads;
                let view = self.view;
                self.replies = s
                    .replies
                    .into_iter()
                    .map(|(c, (timestamp, result))| (c, LastReply { timestamp, view, result }))
                    .collect();
                true
            }
            Err(_) => false,
        }
    }

    /// Boot after a crash with what was persisted: view, stable checkpoint, log entries.
    /// Committed entries above the checkpoint are executed again, which rebuilds the
    /// state exactly (execution is deterministic).
    pub(crate) fn restart(&mut self, persisted: Persisted, env: &mut Env<'_>, out: &mut Out) {
        if let Some(Ok((view, active))) =
            persisted.get(KEY_VIEW).map(|v| postcard::from_bytes::<(View, bool)>(v))
        {
            self.view = view;
            self.active = active;
        }
        if let Some(Ok(cp)) =
            persisted.get(KEY_CHECKPOINT).map(|v| postcard::from_bytes::<DurableCheckpoint>(v))
            && self.install_snapshot(&cp.snapshot)
        {
            self.h = cp.seq;
            self.last_executed = cp.seq;
            self.stable_proof = cp.proof;
            let digest = sha256(&cp.snapshot);
            self.checkpoints.get_or_default(cp.seq).mine = Some((digest, cp.snapshot));
        }
        let mut batches: VecMap<SeqNo, VecMap<Digest, SharedBatch>> = VecMap::new();
        for (k, v) in persisted.range(vec![KEY_BATCH]..vec![KEY_BATCH + 1]) {
            let (Some(seq), Some(d)) = (parse_seq(k), k.get(9..).and_then(|d| Digest::try_from(d).ok()))
            else {
                continue;
            };
            if seq <= self.h {
                // Left over from before the checkpoint became stable.
                out.push(Effect::Persist { key: k.clone(), value: None });
            } else if let Ok(b) = postcard::from_bytes::<Batch>(v) {
                batches.get_or_default(seq).insert(d, SharedBatch::new(b));
            }
        }
        for (k, v) in persisted.range(vec![KEY_ENTRY]..vec![KEY_ENTRY + 1]) {
            let Some(seq) = parse_seq(k).filter(|_| k.len() == 9) else {
                continue;
            };
            if seq > self.h
                && let Ok(d) = postcard::from_bytes::<DurableEntry>(v)
            {
                let found = batches.remove(&seq).unwrap_or_default();
                self.log.entries.insert(seq, d.restore(&found));
                self.max_seen = self.max_seen.max(seq);
            }
        }
        self.next_seq = self.max_seen.max(self.h) + 1;
        self.try_execute(env, out);
        if !self.active {
            let v = self.view;
            self.view = v.saturating_sub(1);
            self.start_view_change(v, "restarted during a view change", env, out);
        }
        self.probe(env, out);
    }

    /// Handle one authenticated-or-not message: the dispatcher.
    pub(crate) fn on_message(&mut self, from: NodeId, msg: PbftMsg, env: &mut Env<'_>, out: &mut Out) {
        if self.behaviour == Behaviour::Slow {
            if self.slow_queue.is_empty() {
                self.set_timer(out, PbftTimer::SlowFlush, 40_000);
            }
            if self.slow_queue.len() < 4096 {
                self.slow_queue.push_back((from, msg));
            }
            return;
        }
        self.handle_message(from, msg, env, out);
    }

    pub(crate) fn handle_message(&mut self, from: NodeId, msg: PbftMsg, env: &mut Env<'_>, out: &mut Out) {
        let kind = msg.body.kind();
        if let Err(reason) = check_bounds(&msg.body, &self.cfg) {
            self.reject(out, from, kind, reason);
            return;
        }
        if let Err(e) = self.hlc.update(&msg.hlc, env) {
            self.reject(out, from, kind, format!("{e}"));
            return;
        }
        if self.behaviour == Behaviour::Replay {
            if self.replay_buffer.len() >= 64 {
                self.replay_buffer.pop_front();
            }
            self.replay_buffer.push_back(msg.clone());
        }
        self.dispatch(from, msg.body, env, out);
    }

    pub(crate) fn dispatch(&mut self, from: NodeId, body: Body, env: &mut Env<'_>, out: &mut Out) {
        let kind = body.kind();
        match body {
            Body::Request(r) => self.on_request(from, r, env, out),
            Body::PrePrepare { pp, batch, auth } => self.on_pre_prepare(from, pp, batch, auth, env, out),
            Body::Prepare { p, auth } => self.on_prepare(from, p, auth, env, out),
            Body::Commit { c, auth } => self.on_commit(from, c, auth, env, out),
            Body::Checkpoint(c) => self.on_checkpoint(from, *c, env, out),
            Body::ViewChange(vc) => self.on_view_change(from, *vc, env, out),
            Body::NewView(nv) => self.on_new_view(from, *nv, env, out),
            Body::FetchState { seq } => self.on_fetch_state(from, seq, env, out),
            Body::State { proof, snapshot } => self.on_state(from, proof, snapshot, env, out),
            Body::FetchCommitted { from: lo, to: hi } => self.on_fetch_committed(from, lo, hi, env, out),
            Body::Committed { seq, batch, replica, mac } => {
                self.on_committed(from, seq, batch, replica, mac, env, out)
            }
            Body::FetchNewView { view } => self.on_fetch_new_view(from, view, env, out),
            Body::Reply { .. } => self.reject(out, from, kind, "replicas do not take replies"),
        }
    }

    pub(crate) fn on_timer(&mut self, timer: PbftTimer, env: &mut Env<'_>, out: &mut Out) {
        match timer {
            PbftTimer::Batch => {
                self.batch_timer_on = false;
                self.send_batches(true, env, out);
            }
            PbftTimer::ViewChange => self.on_view_timer(env, out),
            PbftTimer::Fetch => self.on_fetch_timer(env, out),
            PbftTimer::SlowFlush => {
                let queued: Vec<_> = self.slow_queue.drain(..).collect();
                for (from, msg) in queued {
                    self.handle_message(from, msg, env, out);
                }
            }
            PbftTimer::Think | PbftTimer::Retry => {}
        }
    }

    pub(crate) fn misbehave(&mut self, name: &str, env: &mut Env<'_>, out: &mut Out) {
        match Behaviour::parse(name) {
            Ok(b) => {
                self.behaviour = b;
                let name = String::from(b.name());
                self.observe(env, out, |hlc| PbftEvent::Behaviour { name, hlc });
                if b != Behaviour::Slow && !self.slow_queue.is_empty() {
                    self.set_timer(out, PbftTimer::SlowFlush, 1);
                }
            }
            Err(reason) => self.reject(out, self.id, "Misbehave", reason),
        }
    }

    pub fn inspect(&self) -> Vec<(String, String)> {
        vec![
            ("view".into(), format!("{}{}", self.view, if self.active { "" } else { " (changing)" })),
            ("primary".into(), format!("{}", self.cfg.primary(self.view))),
            ("watermarks h..H".into(), format!("{}..{}", self.h, self.high_watermark())),
            ("last executed".into(), format!("{}", self.last_executed)),
            ("log entries".into(), format!("{}", self.log.len())),
            ("keys in store".into(), format!("{}", self.app.len())),
            ("HLC".into(), format!("{}", self.hlc.peek())),
            ("behaviour".into(), self.behaviour.name().into()),
            ("rejected".into(), format!("{}", self.stats.rejected)),
        ]
    }
}
