//! Criterion benchmarks on the editing traces: local replay, remote merge, encode and load, for
//! every library and trace. Throughput is in trace operations (patches).
//!
//! Run one library or trace with a filter, e.g.
//! `cargo bench -p weft-bench --bench traces -- replay/diamond-types/automerge-paper`.
//! Without the traces (see bench/README.md) it says so and measures nothing.

use std::sync::OnceLock;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use weft_bench::trace::{self, Trace};
use weft_bench::{TextCrdt, workloads};

fn traces() -> &'static [Trace] {
    static TRACES: OnceLock<Vec<Trace>> = OnceLock::new();
    TRACES.get_or_init(|| match trace::available_traces() {
        Ok(names) => names
            .iter()
            .map(|n| trace::load(n).unwrap_or_else(|e| panic!("{e}")))
            .collect(),
        Err(e) => {
            eprintln!("{e}\nSkipping the trace benchmarks.");
            Vec::new()
        }
    })
}

fn replayed<L: TextCrdt>(trace: &Trace) -> L {
    workloads::replay_checked::<L>(trace)
        .unwrap_or_else(|e| panic!("{e}"))
        .0
}

fn replay(c: &mut Criterion) {
    let mut group = c.benchmark_group("replay");
    group.sample_size(10);
    for trace in traces() {
        group.throughput(Throughput::Elements(trace.patch_count() as u64));
        weft_bench::for_each_library!(L => {
            group.bench_with_input(BenchmarkId::new(L::NAME, trace.name()), trace, |b, t| {
                b.iter(|| workloads::replay::<L>(t, 1).unwrap_or_else(|e| panic!("{e}")));
            });
        });
    }
    group.finish();
}

// Setup (a replay, an encoding) runs lazily inside the benchmark closure, which criterion calls
// only for benchmarks that pass the command-line filter, and is cached across its calls.

fn merge(c: &mut Criterion) {
    let mut group = c.benchmark_group("merge");
    group.sample_size(10);
    for trace in traces() {
        group.throughput(Throughput::Elements(trace.patch_count() as u64));
        weft_bench::for_each_library!(L => {
            let mut update: Option<Vec<u8>> = None;
            let end = trace.end_content();
            group.bench_function(BenchmarkId::new(L::NAME, trace.name()), |b| {
                let update = update.get_or_insert_with(|| {
                    replayed::<L>(trace).full_update().unwrap_or_else(|e| panic!("{e}"))
                });
                b.iter(|| workloads::merge::<L>(update, end).unwrap_or_else(|e| panic!("{e}")));
            });
        });
    }
    group.finish();
}

/// Encodes one replayed document repeatedly (a library may cache its encoding; the report times
/// cold encodes of fresh documents instead).
fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    group.sample_size(10);
    for trace in traces() {
        group.throughput(Throughput::Elements(trace.patch_count() as u64));
        weft_bench::for_each_library!(L => {
            let mut doc: Option<L> = None;
            group.bench_function(BenchmarkId::new(L::NAME, trace.name()), |b| {
                let doc = doc.get_or_insert_with(|| replayed::<L>(trace));
                b.iter(|| workloads::encode(doc).unwrap_or_else(|e| panic!("{e}")));
            });
        });
    }
    group.finish();
}

fn load(c: &mut Criterion) {
    let mut group = c.benchmark_group("load");
    group.sample_size(10);
    for trace in traces() {
        group.throughput(Throughput::Elements(trace.patch_count() as u64));
        weft_bench::for_each_library!(L => {
            let mut bytes: Option<Vec<u8>> = None;
            let end = trace.end_content();
            group.bench_function(BenchmarkId::new(L::NAME, trace.name()), |b| {
                let bytes = bytes.get_or_insert_with(|| {
                    replayed::<L>(trace).encode().unwrap_or_else(|e| panic!("{e}"))
                });
                b.iter(|| workloads::load::<L>(bytes, end).unwrap_or_else(|e| panic!("{e}")));
            });
        });
    }
    group.finish();
}

criterion_group!(benches, replay, merge, encode, load);
criterion_main!(benches);
