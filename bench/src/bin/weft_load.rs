//! `weft-load`: starts the server under test, drives R rooms × C WebSocket clients against it on
//! loopback, and reports delivery and ack latency, throughput, server memory, errors and
//! acknowledged updates lost across `kill -9`.
//!
//! ```text
//! weft-load [--scenario quick|10k|watchers|ack|durability|all] [--target weft|y-websocket|both]
//!           [--server-bin PATH] [--y-websocket-bin PATH] [--json] [--write-results]
//!           [--render-results] [--measure-secs N] [--data-dir-parent DIR] [--seed N] [--quiet]
//!           [--threads N]
//! ```
//!
//! See `bench/README.md` ("Load generator") for the scenarios and the figures.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use weft_bench::load::{self, Options, RunRecord, Scenario, Target};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ScenarioArg {
    /// 1,000 connections over 100 rooms with one kill -9 and restart (under 2 minutes).
    Quick,
    /// 10,000 connections: 1,000 rooms × 10 clients, one edit per client every 2 s.
    #[value(name = "10k")]
    TenK,
    /// One writer and 1,000 watchers in one room at 20 edits/s.
    Watchers,
    /// 2,000 updates/s with durable acks.
    Ack,
    /// 20 kill -9 trials under load (Weft only).
    Durability,
    /// Every scenario above, in that order.
    All,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum TargetArg {
    /// weft-server.
    Weft,
    /// The y-websocket server (npm y-websocket@2).
    #[value(name = "y-websocket")]
    YWebsocket,
    /// Both, side by side (Weft first).
    Both,
}

/// Load generator for weft-server (and y-websocket, side by side).
#[derive(Parser, Debug)]
#[command(name = "weft-load", version)]
struct Args {
    /// Scenario to run.
    #[arg(long, value_enum, default_value_t = ScenarioArg::Quick)]
    scenario: ScenarioArg,

    /// Server(s) to run it against.
    #[arg(long, value_enum, default_value_t = TargetArg::Both)]
    target: TargetArg,

    /// The weft-server executable. Default: target/release/weft-server if it exists, else
    /// weft-server next to this executable.
    #[arg(long)]
    server_bin: Option<PathBuf>,

    /// The y-websocket server executable.
    #[arg(long, default_value = "node_modules/.bin/y-websocket")]
    y_websocket_bin: PathBuf,

    /// Print a final JSON line with the results.
    #[arg(long)]
    json: bool,

    /// Merge the results into the relay-load section of bench/RESULTS.md (replacing earlier runs
    /// of the same scenario and server).
    #[arg(long)]
    write_results: bool,

    /// Only rewrite the relay-load section of bench/RESULTS.md from the records it holds
    /// (nothing is run).
    #[arg(long)]
    render_results: bool,

    /// Length of the measured window in seconds (overrides the scenario's).
    #[arg(long)]
    measure_secs: Option<f64>,

    /// Number of rooms (overrides the scenario's; clients per room and edit rate stay), to run
    /// a scenario at a smaller or larger scale.
    #[arg(long)]
    rooms: Option<usize>,

    /// Directory for temporary server data (must be a real disk for durable commits).
    #[arg(long)]
    data_dir_parent: Option<PathBuf>,

    /// Seed for timer phases, jitter and kill times.
    #[arg(long, default_value_t = 7)]
    seed: u64,

    /// No progress lines on standard error.
    #[arg(long)]
    quiet: bool,

    /// Threads running the generator's clients. 1 (the default) runs them all on one thread:
    /// no hand-offs between threads, and the counters, histograms and per-room tables that every
    /// delivery updates stay in one core's cache, which costs the shared machine least.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

fn default_server_bin() -> PathBuf {
    let conventional = PathBuf::from("target/release/weft-server");
    if conventional.exists() {
        return conventional;
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("weft-server")))
        .filter(|p| p.exists())
        .unwrap_or(conventional)
}

/// This process's command line, the program named by its file name only.
fn command_line() -> String {
    let mut words: Vec<String> = std::env::args().collect();
    if let Some(program) = words.first_mut()
        && let Some(name) = Path::new(program.as_str()).file_name()
    {
        *program = name.to_string_lossy().into_owned();
    }
    words.join(" ")
}

/// `bench/RESULTS.md` of the source tree this binary was built from.
fn results_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("RESULTS.md")
}

fn print_summary(r: &RunRecord) {
    let f = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.2}"));
    println!(
        "{:>10} {:<11} conns {:>5}/{:<5} edits/s {:>7.0} frames/s {:>7.0} delivery p50/p99/max {}/{}/{} ms \
         ack p50/p99/max {}/{}/{} ms RSS {:.1} MiB ({:.1} KiB/conn) errors {} lost acked {} of {} ({} kills) \
         CPU % server/generator/other {:.0}/{:.0}/{:.0} waiting {:.0}/{:.0} in {:.0} s",
        r.scenario,
        r.target,
        r.connections,
        r.connections_planned,
        r.edits_per_s,
        r.delivered_frames_per_s,
        f(r.p50_delivery_ms),
        f(r.p99_delivery_ms),
        f(r.max_delivery_ms),
        f(r.p50_ack_ms),
        f(r.p99_ack_ms),
        f(r.max_ack_ms),
        r.server_rss_bytes as f64 / 1048576.0,
        r.memory_per_connection_bytes as f64 / 1024.0,
        r.errors,
        r.lost_acked,
        r.verified_updates,
        r.kill_trials,
        r.server_cpu_pct,
        r.generator_cpu_pct,
        r.other_cpu_pct,
        r.server_cpu_wait_pct,
        r.generator_cpu_wait_pct,
        r.run_time_s,
    );
    if !r.error_kinds.is_empty() {
        println!("{:>10} errors by kind: {:?}", "", r.error_kinds);
    }
}

async fn run_all(args: &Args) -> Result<Vec<RunRecord>, weft_bench::Error> {
    let scenarios: Vec<Scenario> = match args.scenario {
        ScenarioArg::Quick => vec![Scenario::Quick],
        ScenarioArg::TenK => vec![Scenario::TenK],
        ScenarioArg::Watchers => vec![Scenario::Watchers],
        ScenarioArg::Ack => vec![Scenario::Ack],
        ScenarioArg::Durability => vec![Scenario::Durability],
        ScenarioArg::All => Scenario::ALL.to_vec(),
    };
    let targets: Vec<Target> = match args.target {
        TargetArg::Weft => vec![Target::Weft],
        TargetArg::YWebsocket => vec![Target::YWebsocket],
        TargetArg::Both => vec![Target::Weft, Target::YWebsocket],
    };
    let opts = Options {
        weft_server: args.server_bin.clone().unwrap_or_else(default_server_bin),
        y_websocket: args.y_websocket_bin.clone(),
        measure: args
            .measure_secs
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(Duration::from_secs_f64),
        rooms: args.rooms.filter(|r| *r > 0),
        data_parent: args.data_dir_parent.clone(),
        seed: args.seed,
        progress: !args.quiet,
        command: command_line(),
    };
    for t in &targets {
        let bin = match t {
            Target::Weft => &opts.weft_server,
            Target::YWebsocket => &opts.y_websocket,
        };
        if !bin.exists() {
            return Err(weft_bench::Error::new(format!(
                "{} not found at {} (build it with `cargo build --release -p weft-server`, run `npm ci`, or pass its path)",
                t.name(),
                bin.display()
            )));
        }
    }
    let mut runs = Vec::new();
    for s in scenarios {
        for &t in &targets {
            if !s.applies_to(t) {
                continue;
            }
            let r = load::run(s, t, &opts).await?;
            print_summary(&r);
            runs.push(r);
        }
    }
    Ok(runs)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let md_path = results_path();
    if args.render_results {
        return match load::write_results(&[], &md_path) {
            Ok(runs) => {
                println!(
                    "rewrote the relay-load section of {} from {} runs",
                    md_path.display(),
                    runs.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("weft-load: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("weft-load: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        tokio::select! {
            r = run_all(&args) => Some(r),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    // Dropping the runtime cancels every client; servers were killed when their runs dropped.
    drop(runtime);
    let runs = match outcome {
        Some(Ok(runs)) => runs,
        Some(Err(e)) => {
            eprintln!("weft-load: {e}");
            return ExitCode::FAILURE;
        }
        None => {
            eprintln!("weft-load: interrupted; servers stopped");
            return ExitCode::from(130);
        }
    };
    if args.write_results {
        match load::write_results(&runs, &md_path) {
            Ok(all) => eprintln!(
                "weft-load: rewrote the relay-load section of {} ({} runs recorded)",
                md_path.display(),
                all.len()
            ),
            Err(e) => {
                eprintln!("weft-load: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    for b in load::bars(&runs) {
        if let Some(held) = b.held {
            println!(
                "{} {} — {}",
                if held { "HELD  " } else { "MISSED" },
                b.name,
                b.detail
            );
        }
    }
    if args.json {
        println!("{}", load::final_json(&runs));
    }
    ExitCode::SUCCESS
}
