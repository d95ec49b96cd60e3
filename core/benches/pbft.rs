//! PBFT throughput with no network: 4 replicas in one thread, every effect delivered
//! straight from a queue, batching and MAC authenticators on. Baselines in the same run:
//! the key-value store alone (an upper bound), and one MAC authenticator against one
//! Ed25519 signature per message.
//!
//! cargo bench -p void-core --bench pbft -- --warm-up-time 1 --measurement-time 3

use std::collections::VecDeque;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use void_core::clock::Timestamp;
use void_core::effect::{DetRng, Effect, Env, Input, NodeId, Protocol};
use void_core::pbft::messages::{AuthRequest, Body, PbftMsg, Request};
use void_core::pbft::replica::{body_digest, request_digest};
use void_core::pbft::{Bug, ClusterKeys, Config, KvApp, Op, PbftNode, PbftTimer, Replica};

const CLIENTS: u32 = 16;

struct Cluster {
    nodes: Vec<PbftNode>,
    rngs: Vec<DetRng>,
    queue: VecDeque<(NodeId, NodeId, PbftMsg)>,
    batch_timer: Vec<bool>,
    now: u64,
    executed: u64,
    out: Vec<Effect<PbftNode>>,
}

impl Cluster {
    fn new(max_batch: u32) -> (Cluster, Config, ClusterKeys) {
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

    fn input(&mut self, i: usize, input: Input<PbftNode>) {
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
    fn run(&mut self) {
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
fn requests(cfg: &Config, keys: &ClusterKeys, round: u64, count: u64) -> Vec<(NodeId, PbftMsg)> {
    let rings: Vec<_> = (0..CLIENTS).map(|c| keys.keyring(NodeId(4 + c))).collect();
    (0..count)
        .map(|k| {
            let c = (k % u64::from(CLIENTS)) as u32;
            let client = NodeId(4 + c);
            let timestamp = round * count + k + 1;
            let request = Request {
                op: Op::Put { key: format!("k{}", k % 64), value: format!("v{round}-{k}") },
                timestamp,
                client,
                replier: NodeId(((u64::from(client.0) + timestamp) % 4) as u32),
            };
            let auth = rings[c as usize].authenticator(cfg.n, &request_digest(&request));
            (client, PbftMsg { hlc: Timestamp::ZERO, body: Body::Request(AuthRequest { request, auth }) })
        })
        .collect()
}

fn throughput(c: &mut Criterion) {
    const PER_ROUND: u64 = 4096;
    let mut g = c.benchmark_group("pbft_ops");
    g.throughput(Throughput::Elements(PER_ROUND));
    for max_batch in [64u32, 256] {
        g.bench_function(BenchmarkId::new("4_replicas_macs_batch", max_batch), |b| {
            let (mut cluster, cfg, keys) = Cluster::new(max_batch);
            let mut round = 0u64;
            b.iter_batched(
                || {
                    round += 1;
                    requests(&cfg, &keys, round, PER_ROUND)
                },
                |reqs| {
                    let before = cluster.executed;
                    for (from, msg) in reqs {
                        cluster.queue.push_back((from, NodeId(0), msg));
                    }
                    cluster.run();
                    assert_eq!(cluster.executed - before, PER_ROUND);
                },
                criterion::BatchSize::PerIteration,
            );
        });
    }
    g.bench_function("baseline_kv_store_only", |b| {
        let mut app = KvApp::new();
        let mut w = 0u64;
        b.iter(|| {
            w += 1;
            let ts = app.batch_timestamp(Timestamp::new(w, 0, NodeId(0)));
            for k in 0..PER_ROUND {
                black_box(
                    app.execute(&Op::Put { key: format!("k{}", k % 64), value: format!("v{w}-{k}") }, ts),
                );
            }
        });
    });
    g.finish();
}

fn authentication(c: &mut Criterion) {
    let cfg = Config::new(4, 1).unwrap();
    let keys = ClusterKeys::simulated(1, &cfg);
    let (r0, r1) = (keys.keyring(NodeId(0)), keys.keyring(NodeId(1)));
    let prepare =
        void_core::pbft::messages::Prepare { view: 3, seq: 77, digest: [9; 32], replica: NodeId(0) };
    let mut g = c.benchmark_group("pbft_auth_per_message");
    g.bench_function("mac_authenticator_create_and_check", |b| {
        b.iter(|| {
            let d = body_digest(2, black_box(&prepare));
            let auth = r0.authenticator(cfg.n, &d);
            assert!(r1.check_authenticator(NodeId(0), &body_digest(2, &prepare), &auth));
        })
    });
    g.bench_function("ed25519_sign_and_verify", |b| {
        b.iter(|| {
            let s = r0.sign(black_box(prepare));
            assert!(r1.verify(NodeId(0), &s));
        })
    });
    g.finish();
}

criterion_group!(benches, throughput, authentication);
criterion_main!(benches);
