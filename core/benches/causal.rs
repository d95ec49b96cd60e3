//! Exact causal queries per second on generated noisy-OR models of 10, 20 and 25 nodes
//! (`causal::gen::random_model`, up to 3 parents within a window of 5), by variable
//! elimination, beside enumeration of the full joint (the baseline, 2^n states) where it
//! finishes in reasonable time.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use void_core::causal::r#gen::random_model;
use void_core::causal::{CausalModel, brute_force_query};

/// The last node as target; every third node observed (alternating failed / healthy).
fn query_of(model: &CausalModel) -> (u32, Vec<Option<bool>>) {
    let n = model.len();
    let evidence = (0..n).map(|i| (i % 3 == 1 && i + 1 < n).then_some(i % 2 == 0)).collect();
    (n as u32 - 1, evidence)
}

fn queries(c: &mut Criterion) {
    for nodes in [10u32, 20, 25] {
        let model = random_model(nodes, 3, 5, 7);
        let (target, evidence) = query_of(&model);
        let mut group = c.benchmark_group(format!("causal/{nodes}-nodes"));
        group.sample_size(20);
        group.bench_function(BenchmarkId::new("elimination", "conditional"), |b| {
            b.iter(|| black_box(model.query(target, black_box(&evidence))))
        });
        let root = (0..nodes).find(|&v| model.parents(v).is_empty()).unwrap_or(0);
        group.bench_function(BenchmarkId::new("elimination", "do"), |b| {
            b.iter(|| black_box(model.query_do(target, black_box(&evidence), &[(root, true)])))
        });
        if nodes <= 20 {
            group.bench_function(BenchmarkId::new("enumeration", "conditional"), |b| {
                b.iter(|| black_box(brute_force_query(&model, target, black_box(&evidence))))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, queries);
criterion_main!(benches);
