//! Our `Hlc` next to the `uhlc` crate (Zenoh's HLC) in the same run.
//!
//! The two APIs differ in where the physical time comes from: `Hlc::now_at`/`update_at`
//! take it as an argument, `uhlc::HLC` calls a clock function itself and guards its state
//! with a mutex (it is `&self`, shareable across threads; ours is `&mut self`). So each
//! operation is measured twice:
//! - "counter": both read the same synthetic clock, a shared atomic counter that advances
//!   1 us per call, isolating the clock logic itself;
//! - "system": both read `SystemTime::now()` once per call, as a real node would.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use uhlc::{HLCBuilder, ID, NTP64};
use void_core::clock::{Hlc, Timestamp};
use void_core::effect::NodeId;

/// Microseconds since an arbitrary start, +1 per reading.
static COUNTER_US: AtomicU64 = AtomicU64::new(1_700_000_000_000_000);

fn counter_us() -> u64 {
    COUNTER_US.fetch_add(1, Ordering::Relaxed)
}

/// The same counter in uhlc's NTP64 units (2^32 per second).
fn counter_ntp64() -> NTP64 {
    NTP64::from(Duration::from_micros(counter_us()))
}

fn system_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

const MAX_OFFSET: Duration = Duration::from_millis(500);

fn ours() -> Hlc {
    Hlc::new(NodeId(1), MAX_OFFSET.as_micros() as u64)
}

fn theirs(clock: fn() -> NTP64) -> uhlc::HLC {
    let id = ID::try_from([1u8]).expect("1 is a valid uhlc id");
    HLCBuilder::new().with_id(id).with_clock(clock).with_max_delta(MAX_OFFSET).build()
}

fn now(c: &mut Criterion) {
    let mut g = c.benchmark_group("hlc_now");
    let mut h = ours();
    g.bench_function("void_now_at/counter", |b| b.iter(|| black_box(h.now_at(counter_us()))));
    let u = theirs(counter_ntp64);
    g.bench_function("uhlc_new_timestamp/counter", |b| b.iter(|| black_box(u.new_timestamp())));
    let mut h = ours();
    g.bench_function("void_now_at/system", |b| b.iter(|| black_box(h.now_at(system_us()))));
    let u = theirs(uhlc::system_time_clock);
    g.bench_function("uhlc_new_timestamp/system", |b| b.iter(|| black_box(u.new_timestamp())));
    g.finish();
}

/// A message stamp from another node, a little behind local time: the common case in
/// which the physical reading wins.
fn update(c: &mut Criterion) {
    let mut g = c.benchmark_group("hlc_update");

    let remote = Timestamp::new(counter_us(), 3, NodeId(2));
    let mut h = ours();
    g.bench_function("void_update_at/counter", |b| {
        b.iter(|| black_box(h.update_at(black_box(&remote), counter_us())))
    });
    let remote_u = theirs(counter_ntp64).new_timestamp();
    let u = theirs(counter_ntp64);
    g.bench_function("uhlc_update_with_timestamp/counter", |b| {
        b.iter(|| black_box(u.update_with_timestamp(black_box(&remote_u))))
    });

    let remote = Timestamp::new(system_us(), 3, NodeId(2));
    let mut h = ours();
    g.bench_function("void_update_at/system", |b| {
        b.iter(|| black_box(h.update_at(black_box(&remote), system_us())))
    });
    let remote_u = theirs(uhlc::system_time_clock).new_timestamp();
    let u = theirs(uhlc::system_time_clock);
    g.bench_function("uhlc_update_with_timestamp/system", |b| {
        b.iter(|| black_box(u.update_with_timestamp(black_box(&remote_u))))
    });
    g.finish();
}

criterion_group!(benches, now, update);
criterion_main!(benches);
