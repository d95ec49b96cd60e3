//! A fixed amount of the PBFT criterion benchmark's work (4 replicas, MACs, batching),
//! for instruction counts that do not depend on the machine's load:
//!
//! cargo build --release -p void-core --example pbft_hot
//! valgrind --tool=cachegrind --cache-sim=no target/release/examples/pbft_hot [ROUNDS] [MAX_BATCH] [KEYS]

#[path = "../benches/pbft_harness.rs"]
mod harness;

use harness::{Cluster, requests};
use void_core::effect::NodeId;

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(16);
    let max_batch: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(256);
    let key_space: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    const PER_ROUND: u64 = 4096;
    let (mut cluster, cfg, keys) = Cluster::new(max_batch);
    let all: Vec<_> = (1..=rounds).map(|r| requests(&cfg, &keys, r, PER_ROUND, key_space)).collect();
    let t = std::time::Instant::now();
    for reqs in all {
        for (from, msg) in reqs {
            cluster.queue.push_back((from, NodeId(0), msg));
        }
        cluster.run();
    }
    let ops = rounds * PER_ROUND;
    assert_eq!(cluster.executed, ops, "every request executed");
    let s = t.elapsed().as_secs_f64();
    println!("{ops} ops in {:.1} ms: {:.0} ops/s", s * 1e3, ops as f64 / s);
}
