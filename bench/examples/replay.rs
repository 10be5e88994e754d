//! Replays one trace with one library, for profilers: the replay runs in its own function
//! (`replay_n`), so `valgrind --tool=callgrind --toggle-collect='*replay_n*'` counts only the
//! replay, not loading the trace.
//!
//! ```sh
//! cargo build --release -p weft-bench --example replay
//! target/release/examples/replay weft automerge-paper 1
//! ```
//!
//! Arguments: library (`weft` or `diamond-types`), trace name, repetitions (default 1). Prints
//! the best wall time of the repetitions in milliseconds.

use std::time::{Duration, Instant};

use weft_bench::adapters::{DiamondTypes, Weft};
use weft_bench::{Result, TextCrdt, trace, workloads};

/// Replays `trace` `n` times; returns the best time and checks the last replay's text.
#[inline(never)]
fn replay_n<L: TextCrdt>(trace: &trace::Trace, n: usize) -> Result<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..n {
        let start = Instant::now();
        let mut doc = workloads::replay::<L>(trace, 1)?;
        best = best.min(start.elapsed());
        if doc.text()? != trace.end_content() {
            return Err(weft_bench::Error::new("wrong final text"));
        }
    }
    Ok(best)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let lib = args.get(1).map_or("weft", String::as_str);
    let name = args.get(2).map_or("automerge-paper", String::as_str);
    let n = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let trace = trace::load(name)?;
    let best = match lib {
        "weft" => replay_n::<Weft>(&trace, n)?,
        "diamond-types" => replay_n::<DiamondTypes>(&trace, n)?,
        other => return Err(weft_bench::Error::new(format!("unknown library {other}"))),
    };
    println!("{lib} {name}: {:.3} ms", best.as_secs_f64() * 1e3);
    Ok(())
}
