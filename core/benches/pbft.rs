//! PBFT throughput with no network: 4 replicas in one thread, every effect delivered
//! straight from a queue, batching and MAC authenticators on. Baselines in the same run:
//! the key-value store alone (an upper bound), and one MAC authenticator against one
//! Ed25519 signature per message.
//!
//! cargo bench -p void-core --bench pbft -- --warm-up-time 1 --measurement-time 3

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use void_core::clock::Timestamp;
use void_core::effect::NodeId;
use void_core::pbft::replica::body_digest;
use void_core::pbft::{ClusterKeys, Config, KvApp, Op};

// The native node's allocator (native/src/main.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "pbft_harness.rs"]
mod harness;
use harness::{Cluster, requests};

fn throughput(c: &mut Criterion) {
    const PER_ROUND: u64 = 4096;
    let mut g = c.benchmark_group("pbft_ops");
    g.throughput(Throughput::Elements(PER_ROUND));
    // 64 keys: history dominates the state; 16,384 keys: the state is large (as in
    // `void bench cluster`) and checkpoints cost what they copy.
    for (name, max_batch, key_space) in [
        ("4_replicas_macs_batch", 64u32, 64),
        ("4_replicas_macs_batch", 256, 64),
        ("4_replicas_16k_keys_batch", 256, 16_384),
    ] {
        g.bench_function(BenchmarkId::new(name, max_batch), |b| {
            let (mut cluster, cfg, keys) = Cluster::new(max_batch);
            let mut round = 0u64;
            b.iter_batched(
                || {
                    round += 1;
                    requests(&cfg, &keys, round, PER_ROUND, key_space)
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
