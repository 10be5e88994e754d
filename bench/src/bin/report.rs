//! Runs every workload for every library, one library after another, and writes
//! `bench/results/latest.json`, `bench/RESULTS.md` and SVG charts in `bench/results/`.
//!
//! ```text
//! cargo run --release -p weft-bench --bin report [-- OPTIONS]
//!   --quick          automerge-paper, seph-blog1 and the concurrent text scenario (< 5 min)
//!   --lib NAME       only this library (repeatable, or comma-separated)
//!   --ops N          operations per replica in the concurrent scenarios (default 6000)
//!   --out DIR        write latest.json, RESULTS.md and the charts into DIR
//!   --json-only      write only latest.json
//!   --no-progress    no progress bar
//! ```

use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use weft_bench::alloc::CountingAlloc;
use weft_bench::report::bars::{self, Status};
use weft_bench::report::machine::Machine;
use weft_bench::report::markdown::RunInfo;
use weft_bench::report::{LIBRARIES, Options, Outputs, Runner, write_outputs};
use weft_bench::trace::{self, QUICK_TRACES, Trace};
use weft_bench::workloads::CONCURRENT_OPS;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

const USAGE: &str = "usage: report [--quick] [--lib NAME]... [--ops N] [--out DIR] [--json-only] \
                     [--no-progress]";

struct Args {
    options: Options,
    outputs: Outputs,
}

fn parse_args() -> Result<Args, String> {
    let mut options = Options {
        quick: false,
        libraries: Vec::new(),
        concurrent_ops: CONCURRENT_OPS,
        progress: true,
    };
    let mut outputs = Outputs::default_paths();
    let mut json_only = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--json-only" => json_only = true,
            "--no-progress" => options.progress = false,
            "--out" => outputs = Outputs::under(value("--out")?.as_ref()),
            "--ops" => {
                let v = value("--ops")?;
                options.concurrent_ops = v
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(format!("--ops: not a positive number: {v}"))?;
            }
            "--lib" => {
                for lib in value("--lib")?.split(',') {
                    if !LIBRARIES.contains(&lib) {
                        return Err(format!("unknown library {lib} (one of {LIBRARIES:?})"));
                    }
                    options.libraries.push(lib.to_owned());
                }
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    outputs.json_only = json_only;
    Ok(Args { options, outputs })
}

/// Loads the traces to measure; prints why and returns none when they are absent.
fn load_traces(quick: bool) -> Result<Vec<Trace>, String> {
    let names = match trace::available_traces() {
        Ok(names) => names,
        Err(e) => {
            eprintln!("{e}\nSkipping the trace workloads; running the concurrent scenarios only.");
            return Ok(Vec::new());
        }
    };
    let wanted: Vec<String> = if quick {
        for missing in QUICK_TRACES
            .iter()
            .filter(|q| !names.iter().any(|n| n == *q))
        {
            eprintln!(
                "trace {missing} not found in {}",
                trace::traces_dir().display()
            );
        }
        names
            .into_iter()
            .filter(|n| QUICK_TRACES.contains(&n.as_str()))
            .collect()
    } else {
        names
    };
    wanted
        .iter()
        .map(|name| trace::load(name).map_err(|e| e.to_string()))
        .collect()
}

/// Today's UTC date as `YYYY-MM-DD` (civil-from-days on the Unix day number).
fn utc_date() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let doe = days.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let traces = match load_traces(args.options.quick) {
        Ok(traces) => traces,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "{} run: {} trace(s), {} concurrent scenario(s), libraries: {}",
        if args.options.quick { "quick" } else { "full" },
        traces.len(),
        args.options.scenarios().len(),
        if args.options.libraries.is_empty() {
            "all".to_owned()
        } else {
            args.options.libraries.join(", ")
        }
    );

    let mut runner = Runner::new(&args.options, &traces);
    weft_bench::for_each_library!(L => {
        runner.run_library::<L>();
    });
    let results = runner.finish();
    let bars = bars::evaluate(&results);

    let run = RunInfo {
        mode: if args.options.quick { "quick" } else { "full" },
        date: utc_date(),
        seconds: started.elapsed().as_secs_f64(),
        machine: Machine::detect(),
    };
    let missed: Vec<_> = bars.iter().filter(|b| b.status == Status::Missed).collect();
    let unevaluated = bars
        .iter()
        .filter(|b| b.status == Status::NotEvaluated)
        .count();
    println!(
        "Bars for Weft: {} met, {} missed, {unevaluated} not evaluated",
        bars.len() - missed.len() - unevaluated,
        missed.len()
    );
    for b in &missed {
        println!("  MISSED {} — {}", b.name, b.detail);
    }
    for f in &results.failures {
        println!("  FAILED {f}");
    }
    match write_outputs(&results, &bars, &run, &args.outputs) {
        Ok(paths) => {
            for p in paths {
                println!("wrote {}", p.display());
            }
        }
        Err(e) => {
            eprintln!("cannot write the report: {e}");
            return ExitCode::FAILURE;
        }
    }
    println!("done in {:.0} s", run.seconds);
    if results.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
