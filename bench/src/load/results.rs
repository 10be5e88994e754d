//! Records of load runs, the bars they are held to, the final JSON line, and the load section of
//! `bench/RESULTS.md` (between `<!-- load:start -->` and `<!-- load:end -->`), which keeps its
//! raw records in an HTML comment so later runs can merge into it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Scenario, Target};
use crate::{Error, Result};

/// Marks the start of the load section in `RESULTS.md`.
pub const START_MARKER: &str = "<!-- load:start -->";
/// Marks the end of the load section in `RESULTS.md`.
pub const END_MARKER: &str = "<!-- load:end -->";

/// The figures of one scenario run against one server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Scenario name (`quick`, `10k`, `watchers`, `ack`, `durability`).
    pub scenario: String,
    /// Server: `weft` or `y-websocket`.
    pub target: String,
    /// UTC date of the run.
    pub date: String,
    /// The command that ran it.
    #[serde(default)]
    pub command: String,
    /// Connections held: the fewest open at any sample during the measured window.
    pub connections: u64,
    /// Connections the scenario opens.
    pub connections_planned: u64,
    /// Rooms (documents).
    pub rooms: u64,
    /// Writers per room.
    pub writers_per_room: u64,
    /// Watchers (receive-only clients) per room.
    pub watchers_per_room: u64,
    /// Time between a writer's edits, in milliseconds.
    pub edit_interval_ms: f64,
    /// Seconds from start until every client was connected and synced (or the ramp timed out).
    pub ramp_s: f64,
    /// Length of the measured window, in seconds.
    pub measure_s: f64,
    /// Edits sent during the window.
    pub edits_sent: u64,
    /// Edits sent per second during the window.
    pub edits_per_s: f64,
    /// Edits whose deliveries and ack were measured.
    pub tracked_edits: u64,
    /// Update frames received by clients during the window.
    pub delivered_frames: u64,
    /// Update frames received per second during the window.
    pub delivered_frames_per_s: f64,
    /// Median edit → peer delivery latency, in milliseconds.
    pub p50_delivery_ms: Option<f64>,
    /// 99th percentile edit → peer delivery latency, in milliseconds.
    pub p99_delivery_ms: Option<f64>,
    /// Largest edit → peer delivery latency, in milliseconds.
    pub max_delivery_ms: Option<f64>,
    /// What the ack latency measures: Weft's durable `Ack`, or y-websocket's echo of the edit
    /// to its author (the server applied it; nothing is stored).
    pub ack_kind: String,
    /// Median edit → ack latency, in milliseconds.
    pub p50_ack_ms: Option<f64>,
    /// 99th percentile edit → ack latency, in milliseconds.
    pub p99_ack_ms: Option<f64>,
    /// Largest edit → ack latency, in milliseconds.
    pub max_ack_ms: Option<f64>,
    /// The server's own p99 ack latency (from reading the update to sending the ack; Weft's
    /// `/metrics` histogram, so the bucket bound above it), in milliseconds.
    #[serde(default)]
    pub server_ack_p99_ms: Option<f64>,
    /// p99 duration of one store commit (transaction and fsync) on the server (bucket bound), in
    /// milliseconds.
    #[serde(default)]
    pub server_commit_p99_ms: Option<f64>,
    /// Errors of every kind.
    pub errors: u64,
    /// Errors by kind (only kinds that occurred).
    pub error_kinds: BTreeMap<String, u64>,
    /// `kill -9` and restart trials.
    pub kill_trials: u64,
    /// Acknowledged edits missing from the server's documents: after each restart (before any
    /// client reconnects) and at the end.
    pub lost_acked: u64,
    /// Acknowledged edits looked for in those checks.
    pub verified_updates: u64,
    /// Server resident memory after start, before any client connected, in bytes.
    pub server_rss_baseline_bytes: u64,
    /// Largest server resident memory sampled while every client was connected, in bytes.
    pub server_rss_bytes: u64,
    /// Server peak resident memory reported by the kernel (`VmHWM`), in bytes.
    pub server_hwm_bytes: u64,
    /// (`server_rss_bytes` − baseline) ÷ connections held, in bytes.
    pub memory_per_connection_bytes: u64,
    /// The generator's own resident memory at the end of the window, in bytes.
    pub generator_rss_bytes: u64,
    /// CPU the server used during the window, in percent of one core.
    #[serde(default)]
    pub server_cpu_pct: f64,
    /// CPU the generator used during the window, in percent of one core.
    #[serde(default)]
    pub generator_cpu_pct: f64,
    /// CPU every other process on the machine used during the window, in percent of one core
    /// (the machine has [`std::thread::available_parallelism`] × 100 %).
    #[serde(default)]
    pub other_cpu_pct: f64,
    /// Time the server's threads were runnable but waiting for a CPU during the window, in
    /// percent of one core (summed over threads, from `/proc/<pid>/task/*/schedstat`): how much
    /// the competition for the machine's cores held the server back.
    #[serde(default)]
    pub server_cpu_wait_pct: f64,
    /// The same for the generator's threads.
    #[serde(default)]
    pub generator_cpu_wait_pct: f64,
    /// Wall-clock time of the whole run (server start to stop), in seconds.
    pub run_time_s: f64,
}

/// A bar a run is held to.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// What is required.
    pub name: String,
    /// Whether it held; `None` when the run it needs is missing.
    pub held: Option<bool>,
    /// The measured figures.
    pub detail: String,
}

/// One gigabyte (10⁹ bytes), the 10k scenario's memory bar.
const GB: u64 = 1_000_000_000;

fn find(runs: &[RunRecord], scenario: Scenario, target: Target) -> Option<&RunRecord> {
    runs.iter()
        .find(|r| r.scenario == scenario.name() && r.target == target.name())
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v:.2}"))
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

fn le(v: Option<f64>, limit: f64) -> bool {
    v.is_some_and(|v| v <= limit)
}

/// `num ÷ den`, as `1.23×`.
fn ratio(num: Option<f64>, den: Option<f64>) -> String {
    match (num, den) {
        (Some(n), Some(d)) if d > 0.0 => format!("{:.2}×", n / d),
        _ => "–".into(),
    }
}

/// How much competition for the CPU held the server back, for bar details.
fn contention(r: &RunRecord) -> String {
    format!(
        "server waited for a CPU {:.0} % of one core, other processes used {:.0} %",
        r.server_cpu_wait_pct, r.other_cpu_pct
    )
}

/// The bars of the load scenarios, evaluated on `runs`.
pub fn bars(runs: &[RunRecord]) -> Vec<Bar> {
    let mut out = Vec::new();
    let weft = |s| find(runs, s, Target::Weft);
    let tenk = weft(Scenario::TenK);
    out.push(Bar {
        name: "10k: 10,000 connections held, p99 delivery ≤ 50 ms, zero errors, server RSS ≤ 1 GB"
            .into(),
        held: tenk.map(|r| {
            r.connections >= 10_000
                && le(r.p99_delivery_ms, 50.0)
                && r.errors == 0
                && r.server_rss_bytes <= GB
        }),
        detail: tenk.map_or_else(String::new, |r| {
            format!(
                "{} held, p99 {} ms, {} errors, RSS {} ({})",
                r.connections,
                ms(r.p99_delivery_ms),
                r.errors,
                mib(r.server_rss_bytes),
                contention(r)
            )
        }),
    });
    let w = weft(Scenario::Watchers);
    out.push(Bar {
        name: "watchers: 1 writer + 1,000 watchers at 20 edits/s, p99 delivery ≤ 25 ms".into(),
        held: w.map(|r| le(r.p99_delivery_ms, 25.0)),
        detail: w.map_or_else(String::new, |r| {
            format!(
                "p99 {} ms at {:.1} edits/s, {} errors ({})",
                ms(r.p99_delivery_ms),
                r.edits_per_s,
                r.errors,
                contention(r)
            )
        }),
    });
    let a = weft(Scenario::Ack);
    out.push(Bar {
        name: "ack: p99 durable ack ≤ 10 ms at 2,000 updates/s (≥ 1,900/s achieved)".into(),
        held: a.map(|r| le(r.p99_ack_ms, 10.0) && r.edits_per_s >= 1900.0),
        detail: a.map_or_else(String::new, |r| {
            format!(
                "p99 {} ms at {:.0} updates/s, {} errors ({})",
                ms(r.p99_ack_ms),
                r.edits_per_s,
                r.errors,
                contention(r)
            )
        }),
    });
    let d = weft(Scenario::Durability);
    out.push(Bar {
        name: "durability: 0 acknowledged updates lost over 20 kill -9 trials".into(),
        held: d.map(|r| r.lost_acked == 0 && r.kill_trials >= 20),
        detail: d.map_or_else(String::new, |r| {
            format!(
                "{} lost of {} checked over {} trials",
                r.lost_acked, r.verified_updates, r.kill_trials
            )
        }),
    });
    for s in Scenario::ALL {
        let (Some(w), Some(y)) = (weft(s), find(runs, s, Target::YWebsocket)) else {
            continue;
        };
        out.push(Bar {
            name: format!(
                "{} vs y-websocket: Weft holds as many connections, has the lower p99 delivery and the smaller server RSS",
                s.name()
            ),
            held: Some(
                w.connections >= y.connections
                    && match (w.p99_delivery_ms, y.p99_delivery_ms) {
                        (Some(a), Some(b)) => a <= b,
                        (Some(_), None) => true,
                        _ => false,
                    }
                    && w.server_rss_bytes <= y.server_rss_bytes,
            ),
            detail: format!(
                "connections {} vs {}, p99 {} vs {} ms, RSS {} vs {}",
                w.connections,
                y.connections,
                ms(w.p99_delivery_ms),
                ms(y.p99_delivery_ms),
                mib(w.server_rss_bytes),
                mib(y.server_rss_bytes)
            ),
        });
    }
    out
}

/// The final JSON line: the record itself for one run; for several, `runs` plus the key
/// figures of the Weft runs (or of all runs when none is Weft's) at their worst — most
/// connections, highest p99s, summed errors and losses, largest RSS.
pub fn final_json(runs: &[RunRecord]) -> serde_json::Value {
    if let [one] = runs {
        return serde_json::to_value(one).unwrap_or_default();
    }
    let weft: Vec<&RunRecord> = runs.iter().filter(|r| r.target == "weft").collect();
    let pick: Vec<&RunRecord> = if weft.is_empty() {
        runs.iter().collect()
    } else {
        weft
    };
    let max_f = |f: fn(&RunRecord) -> Option<f64>| {
        pick.iter()
            .filter_map(|r| f(r))
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
    };
    serde_json::json!({
        "connections": pick.iter().map(|r| r.connections).max().unwrap_or(0),
        "p99_delivery_ms": max_f(|r| r.p99_delivery_ms),
        "p99_ack_ms": max_f(|r| r.p99_ack_ms),
        "errors": pick.iter().map(|r| r.errors).sum::<u64>(),
        "lost_acked": pick.iter().map(|r| r.lost_acked).sum::<u64>(),
        "server_rss_bytes": pick.iter().map(|r| r.server_rss_bytes).max().unwrap_or(0),
        "runs": runs,
    })
}

/// `old` with every run of `new` added, replacing an older run of the same scenario and
/// server, sorted by scenario then server.
pub fn merge_runs(old: Vec<RunRecord>, new: &[RunRecord]) -> Vec<RunRecord> {
    let mut all: Vec<RunRecord> = old
        .into_iter()
        .filter(|o| {
            !new.iter()
                .any(|n| n.scenario == o.scenario && n.target == o.target)
        })
        .chain(new.iter().cloned())
        .collect();
    let order = |r: &RunRecord| {
        (
            Scenario::ALL
                .iter()
                .position(|s| s.name() == r.scenario)
                .unwrap_or(usize::MAX),
            r.target != "weft",
        )
    };
    all.sort_by_key(order);
    all
}

/// A short description of this machine (CPU model, cores, kernel).
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, Linux {kernel}")
}

/// The load section of `RESULTS.md`, markers included.
pub fn render_section(runs: &[RunRecord]) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "{START_MARKER}");
    let _ = writeln!(md, "## Relay load\n");
    let dates: std::collections::BTreeSet<&str> = runs.iter().map(|r| r.date.as_str()).collect();
    let _ = writeln!(
        md,
        "Written by `weft-load --write-results` (see [README.md](README.md#load-generator-weft-load)) on {} ({}). \
         Server and generator share the machine's cores on loopback; Weft's data directory is on the \
         same disk, with `synchronous = FULL`. The raw records (JSON) are in a comment at the end of \
         this section.\n",
        dates.into_iter().collect::<Vec<_>>().join(", "),
        machine()
    );
    let commands: std::collections::BTreeSet<&str> = runs
        .iter()
        .map(|r| r.command.as_str())
        .filter(|c| !c.is_empty())
        .collect();
    if !commands.is_empty() {
        // HTML-escaped, so a command can never end the section early.
        let _ = writeln!(md, "Commands:\n\n<pre>");
        for c in commands {
            let _ = writeln!(
                md,
                "{}",
                c.replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
            );
        }
        let _ = writeln!(md, "</pre>\n");
    }
    if runs.is_empty() {
        let _ = writeln!(md, "No load runs recorded yet.\n");
    } else {
        let _ = writeln!(
            md,
            "| scenario | server | connections held | edits/s | delivered frames/s | delivery p50 / p99 / max (ms) | ack p50 / p99 / max (ms) | server RSS | per connection | errors | lost acked (checked) | CPU % server / generator / other | waiting for a CPU % server / generator | run time |"
        );
        let _ = writeln!(
            md,
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for r in runs {
            let ack = if r.target == "weft" {
                format!(
                    "{} / {} / {} (commit p99 ≤ {})",
                    ms(r.p50_ack_ms),
                    ms(r.p99_ack_ms),
                    ms(r.max_ack_ms),
                    ms(r.server_commit_p99_ms)
                )
            } else {
                format!(
                    "echo: {} / {} / {}",
                    ms(r.p50_ack_ms),
                    ms(r.p99_ack_ms),
                    ms(r.max_ack_ms)
                )
            };
            let errors = if r.error_kinds.is_empty() {
                "0".to_owned()
            } else {
                let kinds: Vec<String> = r
                    .error_kinds
                    .iter()
                    .map(|(k, n)| format!("{k} {n}"))
                    .collect();
                format!("{} ({})", r.errors, kinds.join(", "))
            };
            let lost = if r.kill_trials > 0 {
                format!(
                    "{} ({}, {} kill -9)",
                    r.lost_acked, r.verified_updates, r.kill_trials
                )
            } else {
                format!("{} ({})", r.lost_acked, r.verified_updates)
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} / {} | {:.0} | {:.0} | {} / {} / {} | {} | {} | {} | {} | {} | {:.0} / {:.0} / {:.0} | {:.0} / {:.0} | {:.0} s |",
                r.scenario,
                r.target,
                r.connections,
                r.connections_planned,
                r.edits_per_s,
                r.delivered_frames_per_s,
                ms(r.p50_delivery_ms),
                ms(r.p99_delivery_ms),
                ms(r.max_delivery_ms),
                ack,
                mib(r.server_rss_bytes),
                kib(r.memory_per_connection_bytes),
                errors,
                lost,
                r.server_cpu_pct,
                r.generator_cpu_pct,
                r.other_cpu_pct,
                r.server_cpu_wait_pct,
                r.generator_cpu_wait_pct,
                r.run_time_s
            );
        }
        let _ = writeln!(
            md,
            "\n*Waiting for a CPU* is the time the server's (or the generator's) threads were \
             runnable but had no core, in percent of one core, summed over threads: well above zero, \
             it means other work competed for the cores during the window and the latencies include \
             that wait (*other* is the CPU every other process used). Latencies measured on a shared \
             machine therefore vary from run to run with the other work: compare runs by these \
             columns.\n"
        );
        let _ = writeln!(
            md,
            "y-websocket has no acknowledgement: its \"ack\" column is the echo of an edit to its \
             author (the server applied it; nothing is stored), and it has no durable store, so it \
             skips the durability scenario and the kill -9 of the quick one.\n"
        );
        let pairs: Vec<(&RunRecord, &RunRecord)> = Scenario::ALL
            .iter()
            .filter_map(|s| {
                Some((
                    find(runs, *s, Target::Weft)?,
                    find(runs, *s, Target::YWebsocket)?,
                ))
            })
            .collect();
        if !pairs.is_empty() {
            let _ = writeln!(md, "### Weft vs y-websocket\n");
            let _ = writeln!(
                md,
                "| scenario | connections held (Weft / y-websocket) | Weft ÷ y-websocket | p99 delivery ms (Weft / y-websocket) | y-websocket ÷ Weft | server RSS (Weft / y-websocket) | y-websocket ÷ Weft |"
            );
            let _ = writeln!(md, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
            for (w, y) in pairs {
                let _ = writeln!(
                    md,
                    "| {} | {} / {} | {} | {} / {} | {} | {} / {} | {} |",
                    w.scenario,
                    w.connections,
                    y.connections,
                    ratio(Some(w.connections as f64), Some(y.connections as f64)),
                    ms(w.p99_delivery_ms),
                    ms(y.p99_delivery_ms),
                    ratio(y.p99_delivery_ms, w.p99_delivery_ms),
                    mib(w.server_rss_bytes),
                    mib(y.server_rss_bytes),
                    ratio(
                        Some(y.server_rss_bytes as f64),
                        Some(w.server_rss_bytes as f64)
                    )
                );
            }
            md.push('\n');
        }
        let _ = writeln!(md, "### Bars\n");
        for b in bars(runs) {
            let mark = match b.held {
                Some(true) => "✅",
                Some(false) => "❌",
                None => "⏳ not run:",
            };
            if b.detail.is_empty() {
                let _ = writeln!(md, "- {mark} {}", b.name);
            } else {
                let _ = writeln!(md, "- {mark} {} — {}", b.name, b.detail);
            }
        }
        md.push('\n');
    }
    md.push_str(&records_comment(runs));
    let _ = writeln!(md, "{END_MARKER}");
    md
}

/// `markdown` with its load section replaced by `section` (appended when it has none).
fn replace_section(markdown: &str, section: &str) -> String {
    if let (Some(start), Some(end)) = (markdown.find(START_MARKER), markdown.find(END_MARKER))
        && start < end
    {
        let after = end + END_MARKER.len();
        let rest = markdown.get(after..).unwrap_or("");
        let rest = rest.strip_prefix('\n').unwrap_or(rest);
        return format!("{}{section}{rest}", markdown.get(..start).unwrap_or(""));
    }
    let mut out = markdown.to_owned();
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push_str(if out.ends_with('\n') { "\n" } else { "\n\n" });
    }
    out.push_str(section);
    out
}

/// Opens the comment that holds the section's raw records, one JSON object a line.
const RECORDS_START: &str = "<!-- load:records";
/// Closes it.
const RECORDS_END: &str = "-->";

/// The raw records as an HTML comment, one JSON object a line. `<` and `>` are written as JSON
/// escapes, so no record can end the comment or the section early.
fn records_comment(runs: &[RunRecord]) -> String {
    let mut out = format!("{RECORDS_START}\n");
    for r in runs {
        let line = serde_json::to_string(r).unwrap_or_default();
        out.push_str(&line.replace('<', "\\u003c").replace('>', "\\u003e"));
        out.push('\n');
    }
    out.push_str(RECORDS_END);
    out.push('\n');
    out
}

/// The raw records held in the load section of `markdown` (none when it has no section).
fn records_of(markdown: &str) -> Result<Vec<RunRecord>> {
    let Some(start) = markdown.find(START_MARKER) else {
        return Ok(Vec::new());
    };
    let section = markdown.get(start..).unwrap_or("");
    let section = section
        .find(END_MARKER)
        .and_then(|end| section.get(..end))
        .unwrap_or(section);
    let Some(body) = section
        .split_once(RECORDS_START)
        .and_then(|(_, rest)| rest.split_once(RECORDS_END))
        .map(|(body, _)| body)
    else {
        return Ok(Vec::new());
    };
    body.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_str(l).map_err(|e| {
                Error::new(format!(
                    "a record in the load section of RESULTS.md does not parse: {e}"
                ))
            })
        })
        .collect()
}

/// Merges `new` into the runs recorded in the load section of `markdown` and rewrites that
/// section from all of them (appending it when the file has none). Returns every run now
/// recorded.
pub fn write_results(new: &[RunRecord], markdown: &Path) -> Result<Vec<RunRecord>> {
    let io = |e: std::io::Error| Error::new(format!("{}: {e}", markdown.display()));
    let current = match std::fs::read_to_string(markdown) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io(e)),
    };
    let runs = merge_runs(records_of(&current)?, new);
    let updated = replace_section(&current, &render_section(&runs));
    std::fs::write(markdown, updated).map_err(io)?;
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(scenario: &str, target: &str) -> RunRecord {
        RunRecord {
            scenario: scenario.into(),
            target: target.into(),
            date: "2026-01-01".into(),
            command: "weft-load --scenario 10k".into(),
            connections: 10_000,
            connections_planned: 10_000,
            rooms: 1000,
            writers_per_room: 10,
            watchers_per_room: 0,
            edit_interval_ms: 2000.0,
            ramp_s: 10.0,
            measure_s: 60.0,
            edits_sent: 300_000,
            edits_per_s: 5000.0,
            tracked_edits: 300_000,
            delivered_frames: 2_700_000,
            delivered_frames_per_s: 45_000.0,
            p50_delivery_ms: Some(3.0),
            p99_delivery_ms: Some(20.0),
            max_delivery_ms: Some(80.0),
            ack_kind: "durable ack".into(),
            p50_ack_ms: Some(2.0),
            p99_ack_ms: Some(8.0),
            max_ack_ms: Some(30.0),
            server_ack_p99_ms: Some(10.0),
            server_commit_p99_ms: Some(5.0),
            errors: 0,
            error_kinds: BTreeMap::new(),
            kill_trials: 0,
            lost_acked: 0,
            verified_updates: 300_000,
            server_rss_baseline_bytes: 10 << 20,
            server_rss_bytes: 300 << 20,
            server_hwm_bytes: 310 << 20,
            memory_per_connection_bytes: 30_000,
            generator_rss_bytes: 200 << 20,
            server_cpu_pct: 80.0,
            generator_cpu_pct: 90.0,
            other_cpu_pct: 5.0,
            server_cpu_wait_pct: 10.0,
            generator_cpu_wait_pct: 12.0,
            run_time_s: 90.0,
        }
    }

    #[test]
    fn bars_judge_the_figures() {
        let mut tenk = record("10k", "weft");
        let mut peer = record("10k", "y-websocket");
        peer.p99_delivery_ms = Some(40.0);
        peer.server_rss_bytes = 900 << 20;
        let b = bars(&[tenk.clone(), peer.clone()]);
        assert_eq!(b.first().and_then(|b| b.held), Some(true));
        assert!(
            b.iter()
                .any(|b| b.name.starts_with("10k vs") && b.held == Some(true))
        );
        assert_eq!(b.get(1).and_then(|b| b.held), None, "watchers not run");
        tenk.errors = 1;
        peer.p99_delivery_ms = Some(10.0);
        let b = bars(&[tenk, peer]);
        assert_eq!(b.first().and_then(|b| b.held), Some(false));
        assert!(
            b.iter()
                .any(|b| b.name.starts_with("10k vs") && b.held == Some(false))
        );
    }

    #[test]
    fn merging_replaces_same_scenario_and_server() {
        let mut newer = record("10k", "weft");
        newer.date = "2026-02-02".into();
        let runs = merge_runs(
            vec![
                record("ack", "weft"),
                record("10k", "y-websocket"),
                record("10k", "weft"),
            ],
            &[newer],
        );
        let keys: Vec<(&str, &str, &str)> = runs
            .iter()
            .map(|r| (r.scenario.as_str(), r.target.as_str(), r.date.as_str()))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("10k", "weft", "2026-02-02"),
                ("10k", "y-websocket", "2026-01-01"),
                ("ack", "weft", "2026-01-01"),
            ]
        );
    }

    #[test]
    fn section_is_replaced_in_place_or_appended() {
        let section = format!("{START_MARKER}\nnew\n{END_MARKER}\n");
        let doc = format!("# R\n\nbefore\n\n{START_MARKER}\nold\n{END_MARKER}\n\nafter\n");
        assert_eq!(
            replace_section(&doc, &section),
            format!("# R\n\nbefore\n\n{section}\nafter\n")
        );
        assert_eq!(
            replace_section("# R\n", &section),
            format!("# R\n\n{section}")
        );
        assert_eq!(replace_section("", &section), section);
        let rendered = render_section(&[record("10k", "weft"), record("10k", "y-websocket")]);
        assert!(rendered.starts_with(START_MARKER));
        assert!(rendered.trim_end().ends_with(END_MARKER));
        assert!(rendered.contains("Weft vs y-websocket"));
        assert!(rendered.contains("## Relay load"));
        assert!(rendered.contains("<pre>\nweft-load --scenario 10k\n</pre>"));
        assert!(rendered.contains("| 10k | 10000 / 10000 | 1.00× |"));
    }

    #[test]
    fn records_round_trip_through_the_section() {
        let mut odd = record("ack", "weft");
        odd.command = "weft-load --data-dir-parent /tmp/a-->b<!-- load:end -->".into();
        let runs = vec![record("10k", "weft"), odd];
        let doc = replace_section("# R\n\nintro\n", &render_section(&runs));
        assert_eq!(records_of(&doc).ok(), Some(runs.clone()));
        assert!(doc.trim_end().ends_with(END_MARKER));
        // A second rendering replaces the first in place.
        let again = replace_section(&doc, &render_section(&runs));
        assert_eq!(again, doc);
        assert_eq!(records_of("# R\n").ok(), Some(Vec::new()));
        let broken = doc.replace("\"scenario\":\"ack\"", "\"scenario\":");
        assert!(records_of(&broken).is_err());
    }

    #[test]
    fn final_json_has_the_required_keys() {
        let one = final_json(&[record("quick", "weft")]);
        for k in [
            "connections",
            "p99_delivery_ms",
            "p99_ack_ms",
            "errors",
            "lost_acked",
            "server_rss_bytes",
        ] {
            assert!(one.get(k).is_some(), "{k}");
        }
        let mut worse = record("ack", "weft");
        worse.p99_ack_ms = Some(50.0);
        worse.errors = 2;
        let many = final_json(&[
            record("quick", "weft"),
            worse,
            record("quick", "y-websocket"),
        ]);
        assert_eq!(many.get("p99_ack_ms").and_then(|v| v.as_f64()), Some(50.0));
        assert_eq!(many.get("errors").and_then(|v| v.as_u64()), Some(2));
        assert_eq!(
            many.get("runs").and_then(|v| v.as_array()).map(Vec::len),
            Some(3)
        );
    }
}
