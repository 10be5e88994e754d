//! Replays one trace with Weft and diamond-types and splits the time by kind of transaction:
//! typing at the caret, an insert after a jump, a backspace, a selection delete, a replace, a
//! paste, and transactions of several patches. Each transaction is timed on its own (the clock
//! reads add the same overhead to both libraries); the best of the repetitions is kept per kind.
//!
//! ```sh
//! cargo build --release -p weft-bench --example kinds
//! target/release/examples/kinds sveltecomponent 30
//! ```
//!
//! Arguments: trace name, repetitions (default 30).

use std::time::Instant;

use weft_bench::adapters::{DiamondTypes, Weft};
use weft_bench::trace::{self, Edit, Trace};
use weft_bench::{Result, TextCrdt};

const KINDS: [&str; 7] = [
    "typing",
    "jump",
    "backspace",
    "sel-del",
    "replace",
    "paste",
    "multi",
];

/// The kind of a transaction, given where the previous one left the caret.
fn kind(edits: &[Edit<'_>], caret: usize) -> usize {
    let [e] = edits else { return 6 };
    match (e.del, e.ins_chars()) {
        (0, 1) if e.pos == caret => 0,
        (0, 1) => 1,
        (1, 0) => 2,
        (_, 0) => 3,
        (0, _) => 5,
        _ => 4,
    }
}

/// Replays `trace` once; adds each kind's time (ms) to `best` where lower.
fn replay<L: TextCrdt>(trace: &Trace, kinds: &[usize], best: &mut [f64; 7]) -> Result<()> {
    let mut doc = L::new(1);
    let mut edits: Vec<Edit<'_>> = Vec::new();
    let mut sums = [0f64; 7];
    for (txn, &k) in trace.txns().zip(kinds) {
        edits.clear();
        edits.extend(txn);
        let start = Instant::now();
        doc.apply_txn(&edits)?;
        sums[k] += start.elapsed().as_secs_f64() * 1e3;
    }
    if doc.text()? != trace.end_content() {
        return Err(weft_bench::Error::new("wrong final text"));
    }
    for (b, s) in best.iter_mut().zip(sums) {
        *b = b.min(s);
    }
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let name = args.get(1).map_or("sveltecomponent", String::as_str);
    let reps: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(30);
    let trace = trace::load(name)?;
    let mut kinds = Vec::with_capacity(trace.txn_count());
    let mut counts = [0usize; 7];
    let mut caret = usize::MAX;
    for txn in trace.txns() {
        let edits: Vec<Edit<'_>> = txn.collect();
        let k = kind(&edits, caret);
        counts[k] += 1;
        kinds.push(k);
        if let Some(e) = edits.last() {
            caret = e.pos + e.ins_chars();
        }
    }
    let (mut weft, mut dt) = ([f64::MAX; 7], [f64::MAX; 7]);
    for _ in 0..reps {
        replay::<Weft>(&trace, &kinds, &mut weft)?;
        replay::<DiamondTypes>(&trace, &kinds, &mut dt)?;
    }
    println!("{name}: ms per kind, best of {reps}");
    println!(
        "{:10} {:>6} {:>8} {:>8} {:>9}",
        "kind", "txns", "weft", "dt", "dt/weft"
    );
    for (k, label) in KINDS.iter().enumerate() {
        println!(
            "{label:10} {:>6} {:>8.3} {:>8.3} {:>8.2}×",
            counts[k],
            weft[k],
            dt[k],
            dt[k] / weft[k]
        );
    }
    let (w, d): (f64, f64) = (weft.iter().sum(), dt.iter().sum());
    println!(
        "{:10} {:>6} {w:>8.3} {d:>8.3} {:>8.2}×",
        "all",
        kinds.len(),
        d / w
    );
    Ok(())
}
