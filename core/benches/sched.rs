//! Scheduler solvers side by side on generated instances (`sched::gen::random_problem`):
//! the annealing pipeline at its default step budget, the previous default (no component
//! repacking, whole cycles on the coarsest levels, 40 instead of 48 steps per task-node
//! pair), the default budget without the exact pair repartitions, with recombining cycles,
//! and with every level annealed and no local search (the earlier configuration), the
//! greedy baseline, and the exact solver where it can run (8×3). Energy gaps are printed
//! by `cargo run --release -p void-core --example sched_table`; this bench measures time.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use void_core::sched::{AnnealConfig, anneal, exact, greedy, random_problem};

fn solvers(c: &mut Criterion) {
    for (tasks, nodes) in [(8u32, 3u32), (40, 8), (100, 16), (400, 32)] {
        let problem = random_problem(tasks, nodes, 1);
        let config = AnnealConfig::for_problem(&problem, 1);
        let mut group = c.benchmark_group(format!("sched/{tasks}x{nodes}"));
        group.sample_size(if tasks >= 400 { 10 } else { 30 });
        group.bench_function(BenchmarkId::new("anneal", config.steps), |b| {
            b.iter(|| black_box(anneal(black_box(&problem), &config).best.energy))
        });
        let mut no_repack = config.clone();
        no_repack.repack_share = 0.0;
        no_repack.ils_share = 0.25;
        no_repack.coarse_share = 1.0;
        no_repack.steps = (tasks as u64 * nodes as u64 * 40).clamp(20_000, 50_000_000);
        group.bench_function(BenchmarkId::new("anneal_no_repack", no_repack.steps), |b| {
            b.iter(|| black_box(anneal(black_box(&problem), &no_repack).best.energy))
        });
        let mut no_pairs = config.clone();
        no_pairs.pair_items = 0;
        group.bench_function(BenchmarkId::new("anneal_no_pairs", no_pairs.steps), |b| {
            b.iter(|| black_box(anneal(black_box(&problem), &no_pairs).best.energy))
        });
        let mut recombining = config.clone();
        recombining.pool = 4;
        recombining.cycles = 12;
        group.bench_function(BenchmarkId::new("anneal_recombining", recombining.steps), |b| {
            b.iter(|| black_box(anneal(black_box(&problem), &recombining).best.energy))
        });
        let mut annealed = config.clone();
        annealed.pair_items = 0;
        annealed.repack_share = 0.0;
        annealed.level_refine = false;
        annealed.ils_share = 0.0;
        annealed.coarse_share = 0.4;
        group.bench_function(BenchmarkId::new("anneal_levels_annealed", annealed.steps), |b| {
            b.iter(|| black_box(anneal(black_box(&problem), &annealed).best.energy))
        });
        group.bench_function("greedy", |b| b.iter(|| black_box(greedy(black_box(&problem)).energy)));
        if tasks <= 12 {
            group.bench_function("exact", |b| {
                b.iter(|| black_box(exact(black_box(&problem)).map(|o| o.best.energy).unwrap_or(f64::NAN)))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, solvers);
criterion_main!(benches);
