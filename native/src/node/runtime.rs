//! The tokio driver: runs `void-core`'s PBFT state machines (this node's replica and the
//! gateway's clients) and executes their effects with real time, sockets and disk.
//!
//! One task owns every state machine, so the protocol code runs exactly as in the
//! simulator: one input at a time. Inputs are taken in rounds (all that are ready, up to a
//! bound); the round's `Persist` effects are committed in one transaction (group commit)
//! before any message of the round leaves the node or any client hears an answer.

use std::collections::{BTreeMap, VecDeque};
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot, watch};
use void_core::effect::{DetRng, Effect, Env, Input, NodeId, Protocol};
use void_core::pbft::{ClientReply, Config, Op, OpResult, PbftCommand, PbftEvent, PbftNode, PbftTimer};
use void_core::sim::{TraceEvent, TraceKind};

use super::metrics::Metrics;
use super::status::{Status, StatusCell};
use super::store::Store;
use super::wire::Envelope;
use crate::net::{PeerFrame, Transport};

/// Most inputs handled in one round before committing and sending.
const ROUND: usize = 1024;

/// An operation for the gateway, with where to send its result.
pub struct Submit {
    pub op: Op,
    pub done: oneshot::Sender<OpResult>,
}

/// Which replica runs node `i`: replicas run themselves, gateway clients run on their host.
pub fn host_of(cfg: &Config, gateway: u32, i: u32) -> u32 {
    if i < cfg.n { i } else { (i - cfg.n) / gateway }
}

pub fn wall_micros() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

pub struct Runtime {
    cfg: Config,
    me: u32,
    gateway: u32,
    /// Index 0: this node's replica; 1..=gateway: its clients.
    nodes: Vec<PbftNode>,
    ids: Vec<NodeId>,
    rng: DetRng,
    timers: BTreeMap<(Instant, u64), (usize, PbftTimer)>,
    armed: BTreeMap<(usize, PbftTimer), (Instant, u64)>,
    timer_seq: u64,
    store: Store,
    transport: Transport,
    /// Commands waiting for their reply, per gateway client (FIFO: a client runs its
    /// commands in order).
    waiting: Vec<VecDeque<(oneshot::Sender<OpResult>, Instant)>>,
    inbox: VecDeque<(usize, Input<PbftNode>)>,
    // Effects of the current round, held until its persists are durable.
    persist: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    outbox: Vec<(NodeId, NodeId, Vec<u8>)>,
    local: Vec<(usize, Input<PbftNode>)>,
    replies: Vec<(usize, ClientReply)>,
    trace: Option<std::io::BufWriter<std::fs::File>>,
    trace_index: u64,
    started: Instant,
    metrics: Arc<Metrics>,
    status: Arc<StatusCell>,
    /// The last state digest taken: (last executed, hex SHA-256 of the snapshot).
    digest: (u64, String),
}

pub struct Parts {
    pub cfg: Config,
    pub me: u32,
    pub gateway: u32,
    pub nodes: Vec<PbftNode>,
    pub store: Store,
    pub transport: Transport,
    pub trace: Option<std::fs::File>,
    pub metrics: Arc<Metrics>,
    pub status: Arc<StatusCell>,
}

impl Runtime {
    pub fn new(p: Parts) -> Runtime {
        let ids = (0..p.nodes.len() as u32)
            .map(|k| if k == 0 { NodeId(p.me) } else { NodeId(p.cfg.n + p.me * p.gateway + k - 1) })
            .collect();
        let mut seed = [0u8; 32];
        // Without OS randomness the node still works; its random choices are just predictable.
        let _ = getrandom::fill(&mut seed);
        Runtime {
            waiting: (0..p.nodes.len()).map(|_| VecDeque::new()).collect(),
            cfg: p.cfg,
            me: p.me,
            gateway: p.gateway,
            nodes: p.nodes,
            ids,
            rng: DetRng::from_seed_bytes(seed),
            timers: BTreeMap::new(),
            armed: BTreeMap::new(),
            timer_seq: 0,
            store: p.store,
            transport: p.transport,
            inbox: VecDeque::new(),
            persist: Vec::new(),
            outbox: Vec::new(),
            local: Vec::new(),
            replies: Vec::new(),
            trace: p.trace.map(std::io::BufWriter::new),
            trace_index: 0,
            started: Instant::now(),
            digest: (u64::MAX, String::new()),
            metrics: p.metrics,
            status: p.status,
        }
    }

    fn local_index(&self, id: NodeId) -> Option<usize> {
        if id.0 == self.me {
            return Some(0);
        }
        let first = self.cfg.n + self.me * self.gateway;
        (id.0 >= first && id.0 < first + self.gateway).then(|| (id.0 - first + 1) as usize)
    }

    /// Boots every state machine: the replica from what it persisted, clients fresh.
    pub fn boot(&mut self) -> anyhow::Result<()> {
        let persisted = self.store.load()?;
        let fresh = persisted.is_empty();
        self.inbox.push_back((0, if fresh { Input::Start } else { Input::Restart(persisted) }));
        for k in 1..self.nodes.len() {
            self.inbox.push_back((k, Input::Start));
        }
        self.record(0, if fresh { TraceKind::Start } else { TraceKind::Restart });
        while !self.inbox.is_empty() {
            self.round()?;
        }
        Ok(())
    }

    /// The event loop; returns after `stop` flips, with storage flushed.
    pub async fn run(
        mut self,
        mut peers: mpsc::Receiver<PeerFrame>,
        mut submits: mpsc::Receiver<Submit>,
        mut digests: mpsc::Receiver<oneshot::Sender<()>>,
        mut stop: watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        loop {
            let next = self.timers.keys().next().map(|(t, _)| *t);
            let sleep = tokio::time::sleep_until(
                next.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600)).into(),
            );
            tokio::select! {
                biased;
                _ = stop.changed() => break,
                Some(f) = peers.recv() => self.on_frame(f),
                Some(s) = submits.recv() => self.on_submit(s),
                Some(done) = digests.recv() => {
                    self.take_digest();
                    let _ = done.send(());
                }
                _ = sleep => {}
            }
            for _ in 0..ROUND {
                match peers.try_recv() {
                    Ok(f) => self.on_frame(f),
                    Err(_) => break,
                }
            }
            while let Ok(s) = submits.try_recv() {
                self.on_submit(s);
            }
            self.fire_timers();
            self.round()?;
            // Messages between this node's own state machines (a gateway client and the
            // local replica) came out of the round: handle them before waiting again.
            while !self.inbox.is_empty() {
                self.round()?;
            }
            if *stop.borrow() {
                break;
            }
        }
        self.store.flush()?;
        if let Some(t) = self.trace.as_mut() {
            t.flush()?;
        }
        Ok(())
    }

    fn on_frame(&mut self, f: PeerFrame) {
        let env: Envelope = match postcard::from_bytes(&f.payload) {
            Ok(e) => e,
            Err(_) => {
                self.metrics.reject("transport", "undecodable");
                return;
            }
        };
        let (from, to, msg) = env.into_msg();
        // The transport proved which replica sent the frame; it may speak only for the
        // nodes it hosts.
        if host_of(&self.cfg, self.gateway, from.0) != f.from || from.0 >= self.cfg.nodes() {
            self.metrics.reject("transport", "spoofed_sender");
            return;
        }
        let Some(k) = self.local_index(to) else {
            self.metrics.reject("transport", "misaddressed");
            return;
        };
        self.inbox.push_back((k, Input::Message { from, msg }));
    }

    fn on_submit(&mut self, s: Submit) {
        // The gateway client with the fewest commands waiting takes it.
        let k = (1..self.nodes.len()).min_by_key(|&k| self.waiting[k].len()).unwrap_or(1);
        self.waiting[k].push_back((s.done, Instant::now()));
        self.inbox.push_back((k, Input::Command(PbftCommand::Submit(s.op))));
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some((&(at, seq), _)) = self.timers.iter().next() {
            if at > now {
                break;
            }
            if let Some((k, t)) = self.timers.remove(&(at, seq)) {
                self.armed.remove(&(k, t));
                self.inbox.push_back((k, Input::Timer(t)));
            }
        }
    }

    /// Handles everything in the inbox, then commits, sends and answers.
    fn round(&mut self) -> anyhow::Result<()> {
        let mut handled = 0;
        while let Some((k, input)) = self.inbox.pop_front() {
            self.step(k, input);
            handled += 1;
            if handled >= ROUND * 4 {
                break;
            }
        }
        if !self.persist.is_empty() {
            let batch = std::mem::take(&mut self.persist);
            self.store.apply(&batch)?;
            self.metrics.persist_commits.inc();
        }
        for (from, to, bytes) in self.outbox.drain(..) {
            let host = host_of(&self.cfg, self.gateway, to.0);
            self.metrics.messages_out.inc();
            if !self.transport.send(host, bytes) {
                tracing::debug!(%from, %to, "message dropped: peer queue full or unknown");
            }
        }
        let local: Vec<_> = self.local.drain(..).collect();
        self.inbox.extend(local);
        for (k, reply) in std::mem::take(&mut self.replies) {
            if let Some((done, at)) = self.waiting[k].pop_front() {
                self.metrics.client_latency.observe(at.elapsed());
                let _ = done.send(reply.result);
            }
        }
        self.publish_status();
        Ok(())
    }

    fn step(&mut self, k: usize, input: Input<PbftNode>) {
        let mut out = Vec::new();
        let mut env = Env { now: wall_micros(), rng: &mut self.rng, me: self.ids[k] };
        if matches!(input, Input::Message { .. }) {
            self.metrics.messages_in.inc();
        }
        self.nodes[k].on_input(input, &mut env, &mut out);
        for effect in out {
            match effect {
                Effect::Send { to, msg } => {
                    let from = self.ids[k];
                    match self.local_index(to) {
                        Some(j) => self.local.push((j, Input::Message { from, msg })),
                        None => match postcard::to_allocvec(&Envelope::new(from, to, msg)) {
                            Ok(bytes) => self.outbox.push((from, to, bytes)),
                            Err(e) => tracing::error!("cannot encode a message to {to}: {e}"),
                        },
                    }
                }
                Effect::SetTimer { timer, after } => {
                    if let Some(old) = self.armed.remove(&(k, timer)) {
                        self.timers.remove(&old);
                    }
                    self.timer_seq += 1;
                    let at = (Instant::now() + Duration::from_micros(after), self.timer_seq);
                    self.timers.insert(at, (k, timer));
                    self.armed.insert((k, timer), at);
                }
                Effect::CancelTimer(timer) => {
                    if let Some(old) = self.armed.remove(&(k, timer)) {
                        self.timers.remove(&old);
                    }
                }
                Effect::Persist { key, value } => self.persist.push((key, value)),
                Effect::Reply(r) => self.replies.push((k, r)),
                Effect::Observe(e) => self.observe(k, e),
                Effect::Log(s) => tracing::debug!(node = %self.ids[k], "{s}"),
            }
        }
    }

    fn observe(&mut self, k: usize, e: PbftEvent) {
        match &e {
            PbftEvent::Executed { requests, .. } if k == 0 => {
                self.metrics.committed_ops.add(requests.len() as u64);
                self.metrics.batches.inc();
            }
            PbftEvent::ViewChangeStarted { view, reason, .. } => {
                tracing::info!(view, "view change started: {reason}");
                self.metrics.view_changes.inc();
            }
            PbftEvent::NewViewEntered { view, .. } => tracing::info!(view, "entered new view"),
            PbftEvent::CheckpointStable { .. } => self.metrics.checkpoints_stable.inc(),
            PbftEvent::StateTransferred { seq, .. } => tracing::info!(seq, "state transferred"),
            PbftEvent::Rejected { kind, reason, from } => {
                tracing::debug!(%from, kind, "rejected: {reason}");
                self.metrics.reject("pbft", kind);
            }
            _ => {}
        }
        if let Some(line) = self.record(k, TraceKind::Observe(e)) {
            self.metrics.publish_event(line);
        }
    }

    /// Appends an event to the trace file and returns its JSON view (for `/events`).
    fn record(&mut self, k: usize, kind: TraceKind<PbftNode>) -> Option<Arc<str>> {
        let ev = TraceEvent::<PbftNode> {
            index: self.trace_index,
            time: self.started.elapsed().as_micros() as u64,
            node: self.ids[k],
            kind,
        };
        self.trace_index += 1;
        if self.trace.is_none() && !self.metrics.has_watchers() {
            return None;
        }
        let json = serde_json::to_string(&ev.view()).ok()?;
        if let Some(t) = self.trace.as_mut()
            && let Err(e) = writeln!(t, "{json}")
        {
            tracing::warn!("trace file: {e}; no longer tracing");
            self.trace = None;
        }
        Some(json.into())
    }

    /// The state digest costs a snapshot of the whole store: it is taken only when asked
    /// for (`/status`), and reused while nothing executed.
    fn take_digest(&mut self) {
        let Some(r) = self.nodes[0].replica() else { return };
        if r.last_executed() != self.digest.0 || self.digest.1.is_empty() {
            let snap = postcard::to_allocvec(&r.app().snapshot()).unwrap_or_default();
            self.digest = (r.last_executed(), hex::encode(void_core::pbft::app::sha256(&snap)));
        }
        self.publish_status();
    }

    fn publish_status(&mut self) {
        let Some(r) = self.nodes[0].replica() else { return };
        self.status.set(Status {
            role: self.nodes[0].role(),
            view: r.view(),
            last_executed: r.last_executed(),
            stable_checkpoint: r.low_watermark(),
            hlc: r.hlc().to_string(),
            state_digest: if self.digest.0 == r.last_executed() {
                format!("{}@{}", self.digest.1, self.digest.0)
            } else {
                String::new()
            },
            keys: r.app().len() as u64,
        });
    }
}
