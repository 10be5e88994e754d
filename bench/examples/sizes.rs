//! Prints Weft's encoding sizes: every trace's whole-document encoding (`encode_state`) and the
//! update bytes of the three concurrent scenarios, with the same workloads as the report. Sizes
//! are deterministic, so this is the quick check for format changes.
//!
//! ```sh
//! cargo run --release -p weft-bench --example sizes
//! ```
//!
//! Optional argument: the library (`weft`, `diamond-types`, `loro`, `yrs` or `automerge`;
//! default `weft`).

use weft_bench::adapters::{Automerge, DiamondTypes, Loro, Weft, Yrs};
use weft_bench::{Result, TextCrdt, trace, workloads};

fn sizes<L: TextCrdt>() -> Result<()> {
    for name in trace::available_traces()? {
        let trace = trace::load(&name)?;
        let mut doc = workloads::replay::<L>(&trace, 1)?;
        let (bytes, _) = workloads::encode(&mut doc)?;
        println!("{name:<22} {:>9}", bytes.len());
    }
    let n = workloads::CONCURRENT_OPS;
    let replicas = workloads::replica_count(n);
    let text = workloads::concurrent_text::<L>(n, 0xC0FFEE)?;
    println!("{:<22} {:>9}", "concurrent-text", text.update_bytes);
    if L::has_map() {
        let map = workloads::concurrent_map::<L>(replicas)?;
        println!("{:<22} {:>9}", "concurrent-map", map.update_bytes);
    }
    let list = workloads::concurrent_list::<L>(replicas)?;
    println!("{:<22} {:>9}", "concurrent-list", list.update_bytes);
    Ok(())
}

fn main() -> Result<()> {
    match std::env::args().nth(1).as_deref().unwrap_or("weft") {
        "weft" => sizes::<Weft>(),
        "diamond-types" => sizes::<DiamondTypes>(),
        "loro" => sizes::<Loro>(),
        "yrs" => sizes::<Yrs>(),
        "automerge" => sizes::<Automerge>(),
        other => Err(weft_bench::Error::new(format!("unknown library {other}"))),
    }
}
