//! The Markdown report (`RESULTS.md`).

use std::fmt::Write;
use std::path::Path;

use super::bars::{Bar, Status};
use super::machine::Machine;
use super::{LIBRARIES, Results};

/// Facts about one report run.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// `quick` or `full`.
    pub mode: &'static str,
    /// UTC date of the run (`YYYY-MM-DD`).
    pub date: String,
    /// Wall time of the whole run, in seconds.
    pub seconds: f64,
    /// The machine.
    pub machine: Machine,
}

/// How a figure is written in tables and charts.
pub type Format = fn(f64) -> String;

/// A number with thousands separators (`1234567` → `1,234,567`).
pub fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 { format!("-{out}") } else { out }
}

/// A time in milliseconds with three significant digits or so.
pub fn millis(v: f64) -> String {
    if v < 1.0 {
        format!("{v:.3}")
    } else if v < 10.0 {
        format!("{v:.2}")
    } else if v < 100.0 {
        format!("{v:.1}")
    } else {
        thousands(v)
    }
}

/// Bytes in megabytes (10⁶ bytes), two decimals.
pub fn megabytes(v: f64) -> String {
    format!("{:.2} MB", v / 1e6)
}

/// A table of one metric: a row per trace (or scenario), a column per library; the best
/// (smallest) value of each row is bold.
fn table(
    out: &mut String,
    results: &Results,
    rows: &[String],
    (workload, metric): (&str, &str),
    format: Format,
    first_column: &str,
) {
    let libs = results.libraries();
    let _ = writeln!(out, "| {first_column} | {} |", libs.join(" | "));
    let _ = writeln!(out, "|---|{}", "---:|".repeat(libs.len()));
    for row in rows {
        let values: Vec<Option<f64>> = libs
            .iter()
            .map(|l| results.get(workload, row, l, metric))
            .collect();
        let best = values
            .iter()
            .flatten()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let cells: Vec<String> = libs
            .iter()
            .zip(&values)
            .map(|(lib, v)| match v {
                Some(v) if *v == best && values.iter().flatten().count() > 1 => {
                    format!("**{}**", format(*v))
                }
                Some(v) => format(*v),
                None if results.has(workload, row, lib, metric) => "n/a".into(),
                None => "–".into(),
            })
            .collect();
        let label = match results.ops.get(row) {
            Some(ops) => format!("{row} ({} ops)", thousands(*ops as f64)),
            None => row.clone(),
        };
        let _ = writeln!(out, "| {label} | {} |", cells.join(" | "));
    }
    out.push('\n');
}

/// Path of `file` (in `results_dir`) as a link from the Markdown file at `markdown`.
fn link(results_dir: &Path, markdown: &Path, file: &str) -> String {
    let base = markdown.parent().unwrap_or(Path::new(""));
    let path = results_dir.join(file);
    path.strip_prefix(base)
        .unwrap_or(&path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Renders the report.
pub fn render(
    results: &Results,
    bars: &[Bar],
    run: &RunInfo,
    results_dir: &Path,
    markdown: &Path,
) -> String {
    let mut out = String::new();
    let m = &run.machine;
    let _ = writeln!(out, "# Weft benchmark results\n");
    let _ = writeln!(
        out,
        "Written by `cargo run --release -p weft-bench --bin report{}` on {} ({} run, {:.0} s). \
         See [README.md](README.md) for what each workload measures. Times are medians of \
         several runs; **bold** marks the best figure of a row.\n",
        if run.mode == "quick" {
            " -- --quick"
        } else {
            ""
        },
        run.date,
        run.mode,
        run.seconds
    );
    let _ = writeln!(out, "## Machine\n");
    let _ = writeln!(out, "- CPU: {} ({} cores)", m.cpu, m.cores);
    let _ = writeln!(out, "- OS: {}", m.os);
    let _ = writeln!(out, "- Compiler: {} (release profile)", m.rustc);
    let crates: Vec<String> = m.crates.iter().map(|(c, v)| format!("{c} {v}")).collect();
    let _ = writeln!(out, "- Crates: {}\n", crates.join(", "));
    let missing: Vec<&str> = LIBRARIES
        .into_iter()
        .filter(|l| !results.libraries().contains(l))
        .collect();
    if !missing.is_empty() {
        let _ = writeln!(out, "Not measured in this run: {}.\n", missing.join(", "));
    }

    let _ = writeln!(out, "## Bars for Weft\n");
    let missed: Vec<&Bar> = bars.iter().filter(|b| b.status == Status::Missed).collect();
    let unevaluated = bars
        .iter()
        .filter(|b| b.status == Status::NotEvaluated)
        .count();
    let met = bars.iter().filter(|b| b.status == Status::Met).count();
    let _ = writeln!(
        out,
        "{met} met, {} missed, {unevaluated} not evaluated (a figure is missing).\n",
        missed.len()
    );
    if !missed.is_empty() {
        let _ = writeln!(out, "Missed:\n");
        for b in &missed {
            let _ = writeln!(out, "- ❌ {} — {}", b.name, b.detail);
        }
        out.push('\n');
    }
    let _ = writeln!(out, "<details><summary>Every bar</summary>\n");
    for b in bars {
        let mark = match b.status {
            Status::Met => "✅",
            Status::Missed => "❌",
            Status::NotEvaluated => "–",
        };
        let _ = writeln!(out, "- {mark} {} — {}", b.name, b.detail);
    }
    let _ = writeln!(out, "\n</details>\n");

    let traces = &results.traces;
    let sections: [(&str, &str, &str, Format); 8] = [
        ("Local replay (ms)", "replay", "time_ms", millis),
        (
            "Remote merge: whole history into an empty replica (ms)",
            "merge",
            "time_ms",
            millis,
        ),
        (
            "Remote merge: update size (bytes)",
            "merge",
            "update_bytes",
            thousands,
        ),
        ("Encode (ms)", "encode", "time_ms", millis),
        ("Encoded document (bytes)", "encode", "bytes", thousands),
        (
            "Load: decode and read the text (ms)",
            "load",
            "time_ms",
            millis,
        ),
        ("Memory held after replay", "replay", "mem_bytes", megabytes),
        (
            "Peak memory during replay",
            "replay",
            "peak_mem_bytes",
            megabytes,
        ),
    ];
    if !traces.is_empty() {
        let _ = writeln!(out, "## Editing traces\n");
        for (title, workload, metric, format) in sections {
            let _ = writeln!(out, "### {title}\n");
            table(
                &mut out,
                results,
                traces,
                (workload, metric),
                format,
                "trace",
            );
        }
    }
    if !results.scenarios.is_empty() {
        let _ = writeln!(out, "## Concurrent scenarios\n");
        let metrics: [(&str, &str, Format); 3] = [
            ("Time to sync (ms)", "time_ms", millis),
            ("Update bytes exchanged", "update_bytes", thousands),
            ("Final document size (bytes)", "bytes", thousands),
        ];
        for (workload, scenario) in &results.scenarios {
            let _ = writeln!(out, "### {workload}: {scenario}\n");
            let rows: Vec<String> = vec![scenario.clone()];
            for (title, metric, format) in metrics {
                let _ = write!(out, "{title}:\n\n");
                table(
                    &mut out,
                    results,
                    &rows,
                    (workload, metric),
                    format,
                    "scenario",
                );
            }
        }
    }
    if !results.failures.is_empty() {
        let _ = writeln!(out, "## Failures\n");
        for f in &results.failures {
            let _ = writeln!(out, "- {f}");
        }
        out.push('\n');
    }
    let charts = super::svg::charts(results);
    if !charts.is_empty() {
        let _ = writeln!(out, "## Charts\n");
        for chart in charts {
            let _ = writeln!(
                out,
                "![{}]({})\n",
                chart.title,
                link(results_dir, markdown, chart.file)
            );
        }
    }
    let _ = writeln!(
        out,
        "## Credits\n\nThe editing traces are from the editing-traces collection by Joseph Gentle \
         and contributors (the json-crdt traces by JSON Joy), licensed CC BY 4.0 \
         (https://creativecommons.org/licenses/by/4.0/)."
    );
    out
}

#[cfg(test)]
mod tests {
    use super::super::Record;
    use super::*;

    #[test]
    fn formats_numbers() {
        assert_eq!(thousands(1234567.0), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(millis(0.1234), "0.123");
        assert_eq!(millis(12.345), "12.3");
        assert_eq!(millis(12345.6), "12,346");
        assert_eq!(megabytes(1_500_000.0), "1.50 MB");
    }

    #[test]
    fn renders_tables_bars_and_credits() {
        let mut results = Results {
            traces: vec!["t".into()],
            ..Results::default()
        };
        results.ops.insert("t".into(), 1200);
        for (lib, v) in [("loro", 5.0), ("yrs", 7.0)] {
            results.records.push(Record {
                workload: "replay",
                trace: "t".into(),
                library: lib,
                metric: "time_ms",
                value: Some(v),
            });
        }
        let run = RunInfo {
            mode: "quick",
            date: "2026-01-01".into(),
            seconds: 3.0,
            machine: Machine::detect(),
        };
        let bars = super::super::bars::evaluate(&results);
        let dir = Path::new("bench/results");
        let md = render(&results, &bars, &run, dir, Path::new("bench/RESULTS.md"));
        assert!(md.contains("| t (1,200 ops) | **5.00** | 7.00 |"), "{md}");
        assert!(md.contains("Not measured in this run: weft, diamond-types, automerge."));
        assert!(md.contains("CC BY 4.0"));
        assert!(md.contains("](results/replay-time.svg)"), "{md}");
    }
}
