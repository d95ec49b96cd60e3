//! The PBFT hot-path harness shared by `benches/pbft.rs` (criterion) and
//! `examples/pbft_hot.rs` (a fixed amount of the same work, for instruction counts):
//! four replicas in one thread, every `Send` delivered straight from a queue, a pending
//! batch timer fired when the queue is empty.

use std::collections::VecDeque;

use void_core::clock::Timestamp;
use void_core::effect::{DetRng, Effect, Env, Input, NodeId, Protocol};
use void_core::pbft::messages::{AuthRequest, Body, PbftMsg, Request};
use void_core::pbft::replica::request_digest;
use void_core::pbft::{Bug, ClusterKeys, Config, Op, PbftNode, PbftTimer, Replica};

pub const CLIENTS: u32 = 16;

pub struct Cluster {
    pub nodes: Vec<PbftNode>,
    pub rngs: Vec<DetRng>,
    pub queue: VecDeque<(NodeId, NodeId, PbftMsg)>,
    pub batch_timer: Vec<bool>,
    pub now: u64,
    pub executed: u64,
    pub out: Vec<Effect<PbftNode>>,
}

impl Cluster {
    pub fn new(max_batch: u32) -> (Cluster, Config, ClusterKeys) {
        let mut cfg = Config::new(4, CLIENTS).unwrap();
        cfg.max_batch = max_batch;
        let keys = ClusterKeys::simulated(1, &cfg);
        let nodes = (0..4)
            .map(|i| {
                PbftNode::Replica(Box::new(Replica::new(cfg.clone(), keys.keyring(NodeId(i)), Bug::None)))
            })
            .collect();
        let rngs = (0..4).map(DetRng::seed_from_u64).collect();
        let c = Cluster {
            nodes,
            rngs,
            queue: VecDeque::new(),
            batch_timer: vec![false; 4],
            now: 1_790_000_000_000_000,
            executed: 0,
            out: Vec::new(),
        };
        (c, cfg, keys)
    }

    pub fn input(&mut self, i: usize, input: Input<PbftNode>) {
        self.now += 1;
        let mut env = Env { now: self.now, rng: &mut self.rngs[i], me: NodeId(i as u32) };
        let mut out = std::mem::take(&mut self.out);
        self.nodes[i].on_input(input, &mut env, &mut out);
        for e in out.drain(..) {
            match e {
                Effect::Send { to, msg } if to.0 < 4 => self.queue.push_back((NodeId(i as u32), to, msg)),
                Effect::SetTimer { timer: PbftTimer::Batch, .. } => self.batch_timer[i] = true,
                Effect::Observe(void_core::pbft::PbftEvent::Executed { requests, .. }) if i == 0 => {
                    self.executed += requests.len() as u64
                }
                _ => {}
            }
        }
        self.out = out;
    }

    /// Deliver until nothing is left; a pending batch timer fires when the queue is empty.
    pub fn run(&mut self) {
        loop {
            while let Some((from, to, msg)) = self.queue.pop_front() {
                self.input(to.index(), Input::Message { from, msg });
            }
            let Some(i) = self.batch_timer.iter().position(|t| *t) else { break };
            self.batch_timer[i] = false;
            self.input(i, Input::Timer(PbftTimer::Batch));
        }
    }
}

/// Requests from `CLIENTS` clients, each with increasing timestamps, authenticated.
/// Puts over `key_space` keys, taken in turn across rounds.
pub fn requests(
    cfg: &Config,
    keys: &ClusterKeys,
    round: u64,
    count: u64,
    key_space: u64,
) -> Vec<(NodeId, PbftMsg)> {
    let rings: Vec<_> = (0..CLIENTS).map(|c| keys.keyring(NodeId(4 + c))).collect();
    (0..count)
        .map(|k| {
            let c = (k % u64::from(CLIENTS)) as u32;
            let client = NodeId(4 + c);
            let timestamp = round * count + k + 1;
            let request = Request {
                op: Op::Put {
                    key: format!("k{}", (round * count + k) % key_space),
                    value: format!("v{round}-{k}"),
                }
                .into(),
                timestamp,
                client,
                replier: NodeId(((u64::from(client.0) + timestamp) % 4) as u32),
            };
            let auth = rings[c as usize].authenticator(cfg.n, &request_digest(&request));
            (client, PbftMsg { hlc: Timestamp::ZERO, body: Body::Request(AuthRequest { request, auth }) })
        })
        .collect()
}
