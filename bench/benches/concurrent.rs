//! Criterion benchmarks of the concurrent scenarios: the time to sync (produce and apply the
//! updates) after two replicas made 6000 random edits each, after ⌊20·√6000⌋ replicas each set one
//! map key, and after as many replicas each inserted into one list. Throughput is in operations
//! synced.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use weft_bench::workloads::{self, CONCURRENT_OPS, SyncOutcome};
use weft_bench::{Result, TextCrdt};

fn sync_time(iters: u64, mut run: impl FnMut() -> Result<SyncOutcome>) -> Duration {
    (0..iters)
        .map(|_| run().unwrap_or_else(|e| panic!("{e}")).time)
        .sum()
}

fn concurrent(c: &mut Criterion) {
    let n = CONCURRENT_OPS;
    let replicas = workloads::replica_count(n);

    let mut group = c.benchmark_group("concurrent-text");
    group
        .sample_size(10)
        .throughput(Throughput::Elements(2 * n as u64));
    weft_bench::for_each_library!(L => {
        group.bench_function(BenchmarkId::new(L::NAME, format!("2x{n}")), |b| {
            b.iter_custom(|iters| sync_time(iters, || workloads::concurrent_text::<L>(n, 0xC0FFEE)));
        });
    });
    group.finish();

    let mut group = c.benchmark_group("concurrent-map");
    group
        .sample_size(10)
        .throughput(Throughput::Elements(replicas as u64));
    weft_bench::for_each_library!(L => {
        if L::has_map() {
            group.bench_function(BenchmarkId::new(L::NAME, replicas), |b| {
                b.iter_custom(|iters| sync_time(iters, || workloads::concurrent_map::<L>(replicas)));
            });
        }
    });
    group.finish();

    let mut group = c.benchmark_group("concurrent-list");
    group
        .sample_size(10)
        .throughput(Throughput::Elements(replicas as u64));
    weft_bench::for_each_library!(L => {
        group.bench_function(BenchmarkId::new(L::NAME, replicas), |b| {
            b.iter_custom(|iters| sync_time(iters, || workloads::concurrent_list::<L>(replicas)));
        });
    });
    group.finish();
}

criterion_group!(benches, concurrent);
criterion_main!(benches);
