//! The tokio driver: runs `void-core`'s state machines (this node's PBFT replica, the
//! gateway's PBFT clients and the node's HyParView/Plumtree gossip member) and executes
//! their effects with real time, sockets and disk.
//!
//! One task owns every state machine, so the protocol code runs exactly as in the
//! simulator: one input at a time. Inputs are taken in rounds (all that are ready, up to a
//! bound); the round's `Persist` effects are committed in one transaction (group commit)
//! before any message of the round leaves the node or any client hears an answer
//! (`fsync = "never"`: handed to the store, which gathers them for a later commit).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::Write as _;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot, watch};
use void_core::effect::{DetRng, Effect, Env, Input, Message as _, NodeId, Persisted, Protocol};
use void_core::gossip::{DownCause, GossipCommand, GossipEvent, GossipNode, MsgId, PERSIST_PREFIX};
use void_core::pbft::{Config, Op, OpResult, PbftCommand, PbftEvent, PbftNode, PbftTimer};
use void_core::sim::{TraceEvent, TraceKind};

use super::metrics::Metrics;
use super::status::{GossipStatus, Status, StatusCell};
use super::store::Store;
use super::wire::{Bundler, Envelope, Frame, GossipEnvelope, LinkFrame, WIRE_VERSION, bundle_parts};
use crate::net::{PeerFrame, Transport};

/// Most inputs handled in one round before committing and sending.
const ROUND: usize = 1024;

/// Work for the runtime from the client gateway.
pub enum Submit {
    /// Order an operation through a gateway PBFT client; the result comes back on `done`.
    Order { op: Op, done: oneshot::Sender<OpResult> },
    /// Broadcast a payload from this node's gossip member; `done` gets the message id.
    Broadcast { payload: Vec<u8>, done: oneshot::Sender<MsgId> },
}

/// A message's id in traces: the first 8 bytes of SHA-256 over its frame as sent, which
/// the authenticated link delivers unchanged, so sender and receiver compute the same id
/// without carrying it. Frames name their sender and receiver, so two ids collide only
/// for identical messages on the same link (a retransmission), or by chance (2^-64).
pub fn message_id(frame: &[u8]) -> u64 {
    let h = void_core::pbft::app::sha256(frame);
    u64::from_be_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]])
}

/// A delivery as the receiver records it. The sender's trace index and clock are unknown
/// here: `cause` names no event (`u64::MAX`), `sent_at` is 0; the send is found by `id`.
fn deliver<P: Protocol>(frame: &[u8], from: NodeId, msg: P::Msg) -> TraceKind<P> {
    // The sender's stamp, when its messages carry one (as the simulator records it).
    let sender_hlc = msg.hlc();
    TraceKind::Deliver { id: message_id(frame), from, sent_at: 0, cause: u64::MAX, sender_hlc, msg }
}

/// Which replica runs PBFT node `i`: replicas run themselves, gateway clients their host.
pub fn host_of(cfg: &Config, gateway: u32, i: u32) -> u32 {
    if i < cfg.n { i } else { (i - cfg.n) / gateway }
}

pub fn wall_micros() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// The state machines of one protocol on this node, their timers, and the effects of the
/// current round, held until its persists are durable.
struct Driver<P: Protocol> {
    nodes: Vec<P>,
    ids: Vec<NodeId>,
    timers: BTreeMap<(Instant, u64), (usize, P::Timer)>,
    armed: BTreeMap<(usize, P::Timer), (Instant, u64)>,
    timer_seq: u64,
    inbox: VecDeque<(usize, Input<P>)>,
    persist: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    outbox: Vec<(NodeId, NodeId, P::Msg)>,
    local: Vec<(usize, Input<P>)>,
    replies: Vec<(usize, P::Reply)>,
    events: Vec<(usize, P::Event)>,
    delivered: u64,
}

impl<P: Protocol> Driver<P> {
    fn new(nodes: Vec<P>, ids: Vec<NodeId>) -> Self {
        Driver {
            nodes,
            ids,
            timers: BTreeMap::new(),
            armed: BTreeMap::new(),
            timer_seq: 0,
            inbox: VecDeque::new(),
            persist: Vec::new(),
            outbox: Vec::new(),
            local: Vec::new(),
            replies: Vec::new(),
            events: Vec::new(),
            delivered: 0,
        }
    }

    fn index(&self, id: NodeId) -> Option<usize> {
        self.ids.iter().position(|&i| i == id)
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.timers.keys().next().map(|(t, _)| *t)
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some((&(at, seq), _)) = self.timers.iter().next() {
            if at > now {
                break;
            }
            if let Some((k, t)) = self.timers.remove(&(at, seq)) {
                self.armed.remove(&(k, t.clone()));
                self.inbox.push_back((k, Input::Timer(t)));
            }
        }
    }

    /// Handles the inbox (up to a bound), sorting the effects for after the commit.
    fn run_inbox(&mut self, rng: &mut DetRng) {
        for _ in 0..ROUND * 4 {
            let Some((k, input)) = self.inbox.pop_front() else { break };
            if matches!(input, Input::Message { .. }) {
                self.delivered += 1;
            }
            let mut out = Vec::new();
            let mut env = Env { now: wall_micros(), rng: &mut *rng, me: self.ids[k] };
            self.nodes[k].on_input(input, &mut env, &mut out);
            for effect in out {
                self.apply(k, effect);
            }
        }
    }

    fn apply(&mut self, k: usize, effect: Effect<P>) {
        match effect {
            Effect::Send { to, msg } => {
                let from = self.ids[k];
                match self.index(to) {
                    Some(j) => self.local.push((j, Input::Message { from, msg })),
                    None => self.outbox.push((from, to, msg)),
                }
            }
            Effect::SetTimer { timer, after } => {
                if let Some(old) = self.armed.remove(&(k, timer.clone())) {
                    self.timers.remove(&old);
                }
                self.timer_seq += 1;
                let at = (Instant::now() + Duration::from_micros(after), self.timer_seq);
                self.timers.insert(at, (k, timer.clone()));
                self.armed.insert((k, timer), at);
            }
            Effect::CancelTimer(timer) => {
                if let Some(old) = self.armed.remove(&(k, timer)) {
                    self.timers.remove(&old);
                }
            }
            Effect::Persist { key, value } => self.persist.push((key, value)),
            Effect::Reply(r) => self.replies.push((k, r)),
            Effect::Observe(e) => self.events.push((k, e)),
            Effect::Log(s) => tracing::debug!(node = %self.ids[k], "{s}"),
        }
    }

    /// Messages between this node's own state machines go to the next round.
    fn release_local(&mut self) {
        let local: Vec<_> = self.local.drain(..).collect();
        self.inbox.extend(local);
    }
}

pub struct Runtime {
    cfg: Config,
    me: u32,
    gateway: u32,
    /// Index 0: this node's replica; 1..=gateway: its clients.
    pbft: Driver<PbftNode>,
    gossip: Driver<GossipNode>,
    rng: DetRng,
    store: Store,
    transport: Transport,
    /// Commands waiting for their reply, per gateway client (FIFO: a client runs its
    /// commands in order).
    waiting: Vec<VecDeque<(oneshot::Sender<OpResult>, Instant)>>,
    broadcasts: VecDeque<oneshot::Sender<MsgId>>,
    trace: Option<std::io::BufWriter<std::fs::File>>,
    trace_index: u64,
    started: Instant,
    metrics: Arc<Metrics>,
    status: Arc<StatusCell>,
    /// The last state digest taken: (last executed, hex SHA-256 of the snapshot).
    digest: (u64, String),
    gossip_status: GossipStatus,
    /// Gossip peers already logged as unreachable: a node whose contact is down joins it
    /// again every keep-alive round, and says so once, not twice a second.
    unreachable_logged: BTreeSet<u32>,
}

pub struct Parts {
    pub cfg: Config,
    pub me: u32,
    pub gateway: u32,
    pub nodes: Vec<PbftNode>,
    pub gossip: GossipNode,
    pub store: Store,
    pub transport: Transport,
    pub trace: Option<std::fs::File>,
    pub metrics: Arc<Metrics>,
    pub status: Arc<StatusCell>,
}

/// Builds this node's gossip member for a cluster of `n` replicas (node 0 is the contact).
pub fn gossip_member(me: u32, n: u32) -> Result<GossipNode, String> {
    // Each process starts on its own: nothing to stagger, so every member joins at once
    // (a JOIN sent before the contact listens waits in the link's queue).
    let params = void_core::gossip::Params { join_window_ms: 0.0, ..Default::default() };
    let cfg = params.resolve(n).map_err(|e| e.to_string())?;
    Ok(GossipNode::new(NodeId(me), Rc::new(cfg)))
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
            pbft: Driver::new(p.nodes, ids),
            gossip: Driver::new(vec![p.gossip], vec![NodeId(p.me)]),
            rng: DetRng::from_seed_bytes(seed),
            store: p.store,
            transport: p.transport,
            broadcasts: VecDeque::new(),
            trace: p.trace.map(std::io::BufWriter::new),
            trace_index: 0,
            started: Instant::now(),
            digest: (u64::MAX, String::new()),
            gossip_status: GossipStatus::default(),
            unreachable_logged: BTreeSet::new(),
            metrics: p.metrics,
            status: p.status,
        }
    }

    /// Boots every state machine: the replica from what it persisted, the rest fresh.
    pub fn boot(&mut self) -> anyhow::Result<()> {
        // One table holds both members' keys; the gossip member's are under `gossip/`.
        let (gossip, persisted): (Vec<_>, Vec<_>) =
            self.store.load()?.into_iter().partition(|(k, _)| k.starts_with(PERSIST_PREFIX));
        let (gossip, persisted): (Persisted, Persisted) =
            (gossip.into_iter().collect(), persisted.into_iter().collect());
        let fresh = persisted.is_empty();
        self.pbft.inbox.push_back((0, if fresh { Input::Start } else { Input::Restart(persisted) }));
        for k in 1..self.pbft.nodes.len() {
            self.pbft.inbox.push_back((k, Input::Start));
        }
        let restart = if gossip.is_empty() { Input::Start } else { Input::Restart(gossip) };
        self.gossip.inbox.push_back((0, restart));
        let node = NodeId(self.me);
        self.record::<PbftNode>(node, if fresh { TraceKind::Start } else { TraceKind::Restart });
        self.drain()
    }

    fn busy(&self) -> bool {
        !self.pbft.inbox.is_empty() || !self.gossip.inbox.is_empty()
    }

    fn drain(&mut self) -> anyhow::Result<()> {
        self.round()?;
        // Messages between this node's own state machines (a gateway client and the local
        // replica) came out of the round: handle them before waiting again.
        while self.busy() {
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
            let next = [self.pbft.next_deadline(), self.gossip.next_deadline(), self.store.durable_due()]
                .into_iter()
                .flatten()
                .min();
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
            let now = Instant::now();
            self.pbft.fire_timers(now);
            self.gossip.fire_timers(now);
            // A gateway client's retry timer with its command still unanswered is a
            // retransmission to every replica.
            let retries = self
                .pbft
                .inbox
                .iter()
                .filter(|(k, i)| matches!(i, Input::Timer(PbftTimer::Retry)) && !self.waiting[*k].is_empty())
                .count();
            self.metrics.client_retransmissions.add(retries as u64);
            self.drain()?;
            let t = Instant::now();
            if self.store.flush_if_due()? {
                self.metrics.persist.observe(t.elapsed());
                self.metrics.persist_commits.inc();
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
        match bundle_parts(&f.payload) {
            Ok(LinkFrame::One(bytes)) => self.on_message_frame(f.from, bytes),
            Ok(LinkFrame::Bundle(parts)) => {
                for bytes in parts {
                    self.on_message_frame(f.from, bytes);
                }
            }
            Err(reason) => self.metrics.reject("transport", reason),
        }
    }

    /// One encoded `Pbft` or `Gossip` frame from peer `sender` (alone or from a bundle).
    fn on_message_frame(&mut self, sender: u32, payload: &[u8]) {
        let frame: Frame = match postcard::from_bytes(payload) {
            Ok(e) => e,
            Err(_) => {
                self.metrics.reject("transport", "undecodable");
                return;
            }
        };
        match frame {
            Frame::Pbft(env) => {
                if env.version != WIRE_VERSION {
                    self.metrics.reject("transport", "wrong_version");
                    return;
                }
                let (from, to, msg) = env.into_msg();
                // The transport proved which replica sent the frame; it may speak only for
                // the nodes it hosts.
                if from.0 >= self.cfg.nodes() || host_of(&self.cfg, self.gateway, from.0) != sender {
                    self.metrics.reject("transport", "spoofed_sender");
                    return;
                }
                let Some(k) = self.pbft.index(to) else {
                    self.metrics.reject("transport", "misaddressed");
                    return;
                };
                if self.tracing() {
                    let kind = deliver(payload, from, msg.clone());
                    self.record_event::<PbftNode>(to, kind);
                }
                self.pbft.inbox.push_back((k, Input::Message { from, msg }));
            }
            Frame::Gossip(env) => {
                if env.version != WIRE_VERSION {
                    self.metrics.reject("transport", "wrong_version");
                    return;
                }
                if env.from.0 != sender {
                    self.metrics.reject("transport", "spoofed_sender");
                    return;
                }
                if env.to.0 != self.me {
                    self.metrics.reject("transport", "misaddressed");
                    return;
                }
                if self.tracing() {
                    let kind = deliver(payload, env.from, env.msg.clone());
                    self.record_event::<GossipNode>(env.to, kind);
                }
                self.gossip.inbox.push_back((0, Input::Message { from: env.from, msg: env.msg }));
            }
            // A bundle inside a bundle (`bundle_parts` refuses those before decoding).
            Frame::Bundle(_) => self.metrics.reject("transport", "nested_bundle"),
        }
    }

    fn on_submit(&mut self, s: Submit) {
        match s {
            Submit::Order { op, done } => {
                // The gateway client with the fewest commands waiting takes it.
                let k = (1..self.pbft.nodes.len()).min_by_key(|&k| self.waiting[k].len()).unwrap_or(1);
                self.waiting[k].push_back((done, Instant::now()));
                self.pbft.inbox.push_back((k, Input::Command(PbftCommand::Submit(op))));
            }
            Submit::Broadcast { payload, done } => {
                self.broadcasts.push_back(done);
                self.gossip.inbox.push_back((0, Input::Command(GossipCommand::Broadcast { payload })));
            }
        }
    }

    /// Handles everything in the inboxes, then commits, sends and answers.
    fn round(&mut self) -> anyhow::Result<()> {
        let started = Instant::now();
        let mut checkpoint = false;
        self.pbft.run_inbox(&mut self.rng);
        self.gossip.run_inbox(&mut self.rng);
        self.metrics.messages_in.add(self.pbft.delivered + self.gossip.delivered);
        self.pbft.delivered = 0;
        self.gossip.delivered = 0;
        // The gossip member persists only where its broadcast ids go on after a restart.
        self.pbft.persist.append(&mut self.gossip.persist);
        if !self.pbft.persist.is_empty() {
            let batch = std::mem::take(&mut self.pbft.persist);
            let t = Instant::now();
            if self.store.apply(batch)? {
                self.metrics.persist.observe(t.elapsed());
                self.metrics.persist_commits.inc();
            }
        }
        // Whether to trace this round's messages, asked once (it takes a lock).
        let traced = self.tracing();
        // The round's messages, bundled per peer (see `Frame::Bundle`).
        let mut bundles: BTreeMap<u32, Bundler> = BTreeMap::new();
        for (from, to, msg) in std::mem::take(&mut self.pbft.outbox) {
            let host = host_of(&self.cfg, self.gateway, to.0);
            let sent = traced.then(|| msg.clone());
            if let Some(bytes) = self.encode(&Frame::Pbft(Envelope::new(from, to, msg))) {
                if let Some(msg) = sent {
                    self.record_event::<PbftNode>(from, TraceKind::Send { id: message_id(&bytes), to, msg });
                }
                self.queue(&mut bundles, host, bytes);
            }
        }
        let mut unreachable: Vec<NodeId> = Vec::new();
        for (from, to, msg) in std::mem::take(&mut self.gossip.outbox) {
            if self.transport.is_down(to.0) && !unreachable.contains(&to) {
                unreachable.push(to);
            }
            let sent = traced.then(|| msg.clone());
            let frame = Frame::Gossip(GossipEnvelope { version: WIRE_VERSION, from, to, msg });
            if let Some(bytes) = self.encode(&frame) {
                if let Some(msg) = sent {
                    self.record_event::<GossipNode>(
                        from,
                        TraceKind::Send { id: message_id(&bytes), to, msg },
                    );
                }
                self.queue(&mut bundles, to.0, bytes);
            }
        }
        for (host, mut b) in bundles {
            if let Some(frame) = b.finish() {
                self.transmit(host, frame);
            }
        }
        // As the simulator does for a message to a crashed node: the gossip member learns
        // that the peer is unreachable (handled in this drain, see `drain`).
        for peer in unreachable {
            self.record_event::<GossipNode>(NodeId(self.me), TraceKind::Unreachable { peer });
            self.gossip.inbox.push_back((0, Input::Unreachable { peer }));
        }
        for (k, e) in std::mem::take(&mut self.pbft.events) {
            checkpoint |= k == 0 && matches!(e, PbftEvent::CheckpointTaken { .. });
            self.observe(k, e);
        }
        for (_, e) in std::mem::take(&mut self.gossip.events) {
            self.observe_gossip(e);
        }
        for (k, reply) in std::mem::take(&mut self.pbft.replies) {
            if let Some((done, at)) = self.waiting[k].pop_front() {
                self.metrics.client_latency.observe(at.elapsed());
                let _ = done.send(reply.result);
            }
        }
        self.gossip.replies.clear();
        if traced {
            self.trace_local();
        }
        self.pbft.release_local();
        self.gossip.release_local();
        self.metrics.round.observe(started.elapsed());
        if checkpoint {
            self.metrics.checkpoint_round.observe(started.elapsed());
        }
        Ok(())
    }

    /// The encoding of a frame to a peer (its bytes name the message in traces, see
    /// [`message_id`]).
    fn encode(&mut self, frame: &Frame) -> Option<Vec<u8>> {
        match postcard::to_allocvec(frame) {
            Ok(bytes) => {
                self.metrics.messages_out.inc();
                Some(bytes)
            }
            Err(e) => {
                tracing::error!("cannot encode a message: {e}");
                None
            }
        }
    }

    /// Adds an encoded frame to `host`'s bundle, sending the bundle once it is full.
    fn queue(&mut self, bundles: &mut BTreeMap<u32, Bundler>, host: u32, bytes: Vec<u8>) {
        if let Some(full) = bundles.entry(host).or_default().push(bytes) {
            self.transmit(host, full);
        }
    }

    fn transmit(&mut self, host: u32, frame: Vec<u8>) {
        if !self.transport.send(host, frame) {
            tracing::debug!(host, "message dropped: peer queue full or unknown");
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
        let node = self.pbft.ids[k];
        if let Some(line) = self.record::<PbftNode>(node, TraceKind::Observe(e)) {
            self.metrics.publish_event(line);
        }
    }

    fn observe_gossip(&mut self, e: GossipEvent) {
        let g = &mut self.gossip_status;
        match &e {
            GossipEvent::Broadcast { id } => {
                if let Some(done) = self.broadcasts.pop_front() {
                    let _ = done.send(*id);
                }
            }
            GossipEvent::Delivered { id, .. } => {
                g.delivered += 1;
                g.last_delivered = Some(id.to_string());
                self.metrics.gossip_delivered.inc();
            }
            GossipEvent::NeighborUp { peer, .. } => {
                g.active.insert(peer.0);
                if self.transport.is_down(peer.0) {
                    tracing::debug!(%peer, "gossip neighbour up (its link is down)");
                } else {
                    self.unreachable_logged.remove(&peer.0);
                    tracing::info!(%peer, "gossip neighbour up");
                }
            }
            GossipEvent::NeighborDown { peer, cause } => {
                g.active.remove(&peer.0);
                if *cause != DownCause::Unreachable {
                    tracing::info!(%peer, ?cause, "gossip neighbour down");
                } else if self.unreachable_logged.insert(peer.0) {
                    tracing::info!(%peer, "gossip neighbour down: unreachable (the connection failed)");
                } else {
                    tracing::debug!(%peer, "gossip neighbour down: still unreachable");
                }
            }
            GossipEvent::Refused { reason, from } => {
                tracing::debug!(%from, "gossip refused: {reason}");
                self.metrics.reject("gossip", "refused");
            }
            _ => {}
        }
        if let Some(line) = self.record::<GossipNode>(NodeId(self.me), TraceKind::Observe(e)) {
            self.metrics.publish_event(line);
        }
    }

    /// Records the messages between this node's own state machines (a gateway client and
    /// its host replica) as a send and its delivery, with the id the frame would have had.
    fn trace_local(&mut self) {
        let frames: Vec<Frame> = self
            .pbft
            .local
            .iter()
            .filter_map(|(j, input)| match input {
                Input::Message { from, msg } => {
                    Some(Frame::Pbft(Envelope::new(*from, self.pbft.ids[*j], msg.clone())))
                }
                _ => None,
            })
            .collect();
        for frame in frames {
            let (Ok(bytes), Frame::Pbft(envelope)) = (postcard::to_allocvec(&frame), frame) else {
                continue;
            };
            let (from, to, msg) = envelope.into_msg();
            self.record_event::<PbftNode>(
                from,
                TraceKind::Send { id: message_id(&bytes), to, msg: msg.clone() },
            );
            self.record_event::<PbftNode>(to, deliver::<PbftNode>(&bytes, from, msg));
        }
    }

    /// Whether events are wanted: a trace file is open or someone watches `/events`.
    fn tracing(&self) -> bool {
        self.trace.is_some() || self.metrics.has_watchers()
    }

    /// Records an event and publishes it on `/events`.
    fn record_event<P: Protocol>(&mut self, node: NodeId, kind: TraceKind<P>) {
        if let Some(line) = self.record::<P>(node, kind) {
            self.metrics.publish_event(line);
        }
    }

    /// Appends an event to the trace file and returns its JSON view (for `/events`).
    fn record<P: Protocol>(&mut self, node: NodeId, kind: TraceKind<P>) -> Option<Arc<str>> {
        self.trace_index += 1;
        if !self.tracing() {
            return None;
        }
        let ev = TraceEvent::<P> {
            index: self.trace_index - 1,
            time: self.started.elapsed().as_micros() as u64,
            node,
            kind,
        };
        let json = serde_json::to_string(&ev.view()).ok()?;
        if let Some(t) = self.trace.as_mut()
            && let Err(e) = writeln!(t, "{json}")
        {
            tracing::warn!("trace file: {e}; no longer tracing");
            self.trace = None;
        }
        Some(json.into())
    }

    /// Brings `/status` up to date when it is asked for (not on every round). The state
    /// digest costs a snapshot of the whole store, so it is reused while nothing executed.
    fn take_digest(&mut self) {
        let Some(r) = self.pbft.nodes[0].replica() else { return };
        if r.last_executed() != self.digest.0 || self.digest.1.is_empty() {
            let snap = postcard::to_allocvec(&r.app().snapshot()).unwrap_or_default();
            self.digest = (r.last_executed(), hex::encode(void_core::pbft::app::sha256(&snap)));
        }
        self.publish_status();
    }

    fn publish_status(&mut self) {
        let Some(r) = self.pbft.nodes[0].replica() else { return };
        self.status.set(Status {
            role: self.pbft.nodes[0].role(),
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
            gossip: self.gossip_status.clone(),
        });
    }
}
