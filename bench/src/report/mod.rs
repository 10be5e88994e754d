//! The `report` binary's engine: runs every workload for every library, one library after
//! another, collects [`Record`]s, evaluates Weft's bars and writes `results/latest.json`,
//! `RESULTS.md` and SVG charts.

pub mod bars;
pub mod machine;
pub mod markdown;
pub mod svg;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::alloc;
use crate::trace::Trace;
use crate::workloads::{self, SyncOutcome};
use crate::{Error, Result, TextCrdt};

/// Every library the report knows, in the order tables and charts show them.
pub const LIBRARIES: [&str; 5] = ["weft", "diamond-types", "loro", "yrs", "automerge"];

/// One measured figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// `replay`, `merge`, `encode`, `load`, `concurrent-text`, `concurrent-map` or
    /// `concurrent-list`.
    pub workload: &'static str,
    /// The trace or scenario name.
    pub trace: String,
    /// The library (one of [`LIBRARIES`]).
    pub library: &'static str,
    /// `time_ms`, `bytes`, `mem_bytes`, `peak_mem_bytes` or `update_bytes`.
    pub metric: &'static str,
    /// The figure; `None` when it does not apply (diamond-types has no map).
    pub value: Option<f64>,
}

/// Everything one report run measured.
#[derive(Debug, Clone, Default)]
pub struct Results {
    /// The figures.
    pub records: Vec<Record>,
    /// Workloads that failed: a library error, a wrong text, a panic.
    pub failures: Vec<String>,
    /// The trace names measured, in order.
    pub traces: Vec<String>,
    /// Operation (patch) count of each trace.
    pub ops: BTreeMap<String, usize>,
    /// The concurrent scenarios measured, as (workload, scenario name), in order.
    pub scenarios: Vec<(&'static str, String)>,
}

impl Results {
    /// The figure for one cell, if measured.
    pub fn get(&self, workload: &str, trace: &str, library: &str, metric: &str) -> Option<f64> {
        self.records
            .iter()
            .find(|r| {
                r.workload == workload
                    && r.trace == trace
                    && r.library == library
                    && r.metric == metric
            })
            .and_then(|r| r.value)
    }

    /// True when some record (even an n/a one) exists for that cell.
    pub fn has(&self, workload: &str, trace: &str, library: &str, metric: &str) -> bool {
        self.records.iter().any(|r| {
            r.workload == workload && r.trace == trace && r.library == library && r.metric == metric
        })
    }

    /// The libraries that have at least one record, in [`LIBRARIES`] order.
    pub fn libraries(&self) -> Vec<&'static str> {
        LIBRARIES
            .into_iter()
            .filter(|lib| self.records.iter().any(|r| r.library == *lib))
            .collect()
    }

    /// The records as the JSON list written to `latest.json`.
    pub fn to_json(&self) -> serde_json::Value {
        let list = self
            .records
            .iter()
            .map(|r| {
                serde_json::json!({
                    "workload": r.workload,
                    "trace": r.trace,
                    "library": r.library,
                    "metric": r.metric,
                    "value": r.value,
                })
            })
            .collect();
        serde_json::Value::Array(list)
    }
}

/// How much to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Quick mode: the [`crate::trace::QUICK_TRACES`] and the concurrent text scenario only,
    /// with fewer repetitions.
    pub quick: bool,
    /// Only these libraries (all when empty).
    pub libraries: Vec<String>,
    /// Operations per replica in the concurrent text scenario (and N for the replica count of
    /// the map and list scenarios).
    pub concurrent_ops: usize,
    /// Show a progress bar.
    pub progress: bool,
}

impl Options {
    /// Wall time one figure may take when repeated; a single run may take longer.
    fn budget(&self) -> Duration {
        Duration::from_millis(if self.quick { 1000 } else { 2000 })
    }

    /// Most runs one figure takes the median of (the full run's figures of about a millisecond
    /// moved by up to 10% from run to run with 7 on a busy 2-core machine).
    fn max_runs(&self) -> usize {
        if self.quick { 5 } else { 15 }
    }

    /// True when `library` is selected.
    pub fn wants(&self, library: &str) -> bool {
        self.libraries.is_empty() || self.libraries.iter().any(|l| l == library)
    }

    /// The concurrent scenarios to run, as (workload, scenario name).
    pub fn scenarios(&self) -> Vec<(&'static str, String)> {
        let n = self.concurrent_ops;
        let replicas = workloads::replica_count(n);
        let mut list = vec![("concurrent-text", format!("2 replicas × {n} ops"))];
        if !self.quick {
            list.push((
                "concurrent-map",
                format!("{replicas} replicas, one map key"),
            ));
            list.push(("concurrent-list", format!("{replicas} replicas, one list")));
        }
        list
    }
}

/// Runs `f` (which returns the duration of its own timed part) repeatedly: at least once, then
/// again while the wall time spent stays within `budget` and fewer than `max_runs` runs were
/// made. Returns the median timed duration and the last run's value.
fn repeat<T>(
    budget: Duration,
    max_runs: usize,
    mut f: impl FnMut() -> Result<(Duration, T)>,
) -> Result<(Duration, T)> {
    let start = Instant::now();
    let (first, mut value) = f()?;
    let mut times = vec![first];
    while times.len() < max_runs {
        let spent = start.elapsed();
        let per_run = spent / times.len() as u32;
        if spent + per_run > budget {
            break;
        }
        let (time, v) = f()?;
        times.push(time);
        value = v;
    }
    Ok((median(&mut times), value))
}

/// The median of `times` (the upper one of the two middle values for an even count; zero for
/// none).
fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> Option<f64> {
    Some(d.as_secs_f64() * 1000.0)
}

/// Runs the workloads and collects [`Results`].
pub struct Runner<'a> {
    options: &'a Options,
    traces: &'a [Trace],
    progress: ProgressBar,
    results: Results,
}

impl<'a> Runner<'a> {
    /// A runner over `traces` (already loaded) with `options`.
    pub fn new(options: &'a Options, traces: &'a [Trace]) -> Self {
        let libraries = LIBRARIES.iter().filter(|l| options.wants(l)).count();
        let steps = libraries * (traces.len() * 4 + options.scenarios().len());
        let progress = if options.progress {
            let bar = ProgressBar::new(steps as u64);
            let style =
                ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {wide_msg}")
                    .map(|s| s.progress_chars("=> "));
            if let Ok(style) = style {
                bar.set_style(style);
            }
            bar
        } else {
            ProgressBar::hidden()
        };
        Self {
            options,
            traces,
            progress,
            results: Results {
                traces: traces.iter().map(|t| t.name().to_owned()).collect(),
                ops: traces
                    .iter()
                    .map(|t| (t.name().to_owned(), t.patch_count()))
                    .collect(),
                scenarios: options.scenarios(),
                ..Results::default()
            },
        }
    }

    fn record(
        &mut self,
        workload: &'static str,
        trace: &str,
        library: &'static str,
    ) -> Recorder<'_> {
        Recorder {
            results: &mut self.results,
            workload,
            trace: trace.to_owned(),
            library,
        }
    }

    fn fail(&mut self, what: String) {
        self.progress.println(format!("FAILED: {what}"));
        self.results.failures.push(what);
    }

    /// Runs every workload for library `L` (unless the options leave it out).
    pub fn run_library<L: TextCrdt>(&mut self) {
        if !self.options.wants(L::NAME) {
            return;
        }
        for trace in self.traces {
            self.progress
                .set_message(format!("{} · {}", L::NAME, trace.name()));
            let outcome = catch_unwind(AssertUnwindSafe(|| self.run_trace::<L>(trace)));
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(e)) => self.fail(format!("{} on {}: {e}", L::NAME, trace.name())),
                Err(_) => self.fail(format!("{} on {}: panicked", L::NAME, trace.name())),
            }
            self.progress.inc(4);
        }
        for (workload, scenario) in self.options.scenarios() {
            self.progress
                .set_message(format!("{} · {workload}", L::NAME));
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                self.run_scenario::<L>(workload, &scenario)
            }));
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(e)) => self.fail(format!("{} {workload}: {e}", L::NAME)),
                Err(_) => self.fail(format!("{} {workload}: panicked", L::NAME)),
            }
            self.progress.inc(1);
        }
    }

    fn run_trace<L: TextCrdt>(&mut self, trace: &Trace) -> Result<()> {
        let (budget, max_runs) = (self.options.budget(), self.options.max_runs());
        let name = trace.name();
        let end = trace.end_content();
        let lib = L::NAME;

        // Replay: every run replays into a new document, checks its text and encodes it right
        // away (a cold encode: some libraries cache their encoding once made). The first run
        // also measures memory, and its document is kept for the other workloads.
        let (first, usage) = alloc::measure(|| workloads::replay_checked::<L>(trace));
        let (mut doc, first_time) = first?;
        let (bytes, first_encode) = workloads::encode(&mut doc)?;
        let mut first_run = Some((first_time, first_encode));
        let mut encode_times = Vec::new();
        let (replay_time, ()) = repeat(budget, max_runs, || {
            let (replay, encode) = match first_run.take() {
                Some(times) => times,
                None => {
                    let (mut other, replay) = workloads::replay_checked::<L>(trace)?;
                    (replay, workloads::encode(&mut other)?.1)
                }
            };
            encode_times.push(encode);
            Ok((replay, ()))
        })?;
        let mut rec = self.record("replay", name, lib);
        rec.put("time_ms", ms(replay_time));
        if alloc::CountingAlloc::is_active() {
            rec.put("mem_bytes", Some(usage.retained as f64));
            rec.put("peak_mem_bytes", Some(usage.peak as f64));
        }
        let mut rec = self.record("encode", name, lib);
        rec.put("time_ms", ms(median(&mut encode_times)));
        rec.put("bytes", Some(bytes.len() as f64));

        let update = doc.full_update()?;
        let (merge_time, ()) = repeat(budget, max_runs, || {
            workloads::merge::<L>(&update, end).map(|t| (t, ()))
        })?;
        let mut rec = self.record("merge", name, lib);
        rec.put("time_ms", ms(merge_time));
        rec.put("update_bytes", Some(update.len() as f64));
        drop(update);

        drop(doc);

        let (load_time, ()) = repeat(budget, max_runs, || {
            workloads::load::<L>(&bytes, end).map(|t| (t, ()))
        })?;
        self.record("load", name, lib).put("time_ms", ms(load_time));
        Ok(())
    }

    fn run_scenario<L: TextCrdt>(&mut self, workload: &'static str, scenario: &str) -> Result<()> {
        let n = self.options.concurrent_ops;
        let replicas = workloads::replica_count(n);
        let run = || -> Result<SyncOutcome> {
            match workload {
                "concurrent-text" => workloads::concurrent_text::<L>(n, 0xC0FFEE),
                "concurrent-map" => workloads::concurrent_map::<L>(replicas),
                "concurrent-list" => workloads::concurrent_list::<L>(replicas),
                other => Err(Error::new(format!("unknown scenario {other}"))),
            }
        };
        let (budget, max_runs) = (self.options.budget(), self.options.max_runs());
        let figures = if workload == "concurrent-map" && !L::has_map() {
            [None; 3] // not applicable: recorded as n/a
        } else {
            let (time, outcome) = repeat(budget, max_runs, || run().map(|o| (o.time, o)))?;
            [
                ms(time),
                Some(outcome.update_bytes as f64),
                Some(outcome.doc_bytes as f64),
            ]
        };
        let mut rec = self.record(workload, scenario, L::NAME);
        for (metric, value) in ["time_ms", "update_bytes", "bytes"]
            .into_iter()
            .zip(figures)
        {
            rec.put(metric, value);
        }
        Ok(())
    }

    /// Ends the progress bar and returns what was measured.
    pub fn finish(self) -> Results {
        self.progress.finish_and_clear();
        self.results
    }
}

/// Adds records for one (workload, trace, library) cell.
struct Recorder<'r> {
    results: &'r mut Results,
    workload: &'static str,
    trace: String,
    library: &'static str,
}

impl Recorder<'_> {
    fn put(&mut self, metric: &'static str, value: Option<f64>) {
        self.results.records.push(Record {
            workload: self.workload,
            trace: self.trace.clone(),
            library: self.library,
            metric,
            value,
        });
    }
}

/// Where the report writes: the JSON and SVGs into `results_dir`, the Markdown to `markdown`.
#[derive(Debug, Clone)]
pub struct Outputs {
    /// Directory of `latest.json` and the SVG charts.
    pub results_dir: PathBuf,
    /// Path of the Markdown report.
    pub markdown: PathBuf,
    /// Write only the JSON.
    pub json_only: bool,
}

impl Outputs {
    /// The default places: `bench/results/` and `bench/RESULTS.md`.
    pub fn default_paths() -> Self {
        let bench = Path::new(env!("CARGO_MANIFEST_DIR"));
        Self {
            results_dir: bench.join("results"),
            markdown: bench.join("RESULTS.md"),
            json_only: false,
        }
    }

    /// Everything under one directory (`--out DIR`).
    pub fn under(dir: &Path) -> Self {
        Self {
            results_dir: dir.to_path_buf(),
            markdown: dir.join("RESULTS.md"),
            json_only: false,
        }
    }
}

/// The part of an existing `RESULTS.md` from its first `<!-- name:start -->` marker on.
fn foreign_sections(existing: &str) -> &str {
    let mut from = 0;
    while let Some(i) = existing[from..].find("<!-- ") {
        let at = from + i;
        let line_end = existing[at..].find('\n').map_or(existing.len(), |n| at + n);
        if existing[at..line_end].trim_end().ends_with(":start -->") {
            return &existing[at..];
        }
        from = line_end;
    }
    ""
}

/// Writes the JSON, and unless `json_only` the Markdown report and the charts. Returns the
/// paths written.
pub fn write_outputs(
    results: &Results,
    bars: &[bars::Bar],
    run: &markdown::RunInfo,
    outputs: &Outputs,
) -> Result<Vec<PathBuf>> {
    let io = |path: &Path, e: std::io::Error| Error::new(format!("{}: {e}", path.display()));
    std::fs::create_dir_all(&outputs.results_dir).map_err(|e| io(&outputs.results_dir, e))?;
    let mut written = Vec::new();
    let json_path = outputs.results_dir.join("latest.json");
    let json = serde_json::to_string_pretty(&results.to_json())
        .map_err(|e| Error::new(format!("JSON: {e}")))?;
    std::fs::write(&json_path, json + "\n").map_err(|e| io(&json_path, e))?;
    written.push(json_path);
    if outputs.json_only {
        return Ok(written);
    }
    for chart in svg::charts(results) {
        let path = outputs.results_dir.join(chart.file);
        std::fs::write(&path, chart.svg).map_err(|e| io(&path, e))?;
        written.push(path);
    }
    let mut md = markdown::render(results, bars, run, &outputs.results_dir, &outputs.markdown);
    // Sections that other tools write (the JS benchmark, the relay load generator) sit between
    // `<!-- name:start -->` markers at the end of the file; keep them.
    if let Ok(existing) = std::fs::read_to_string(&outputs.markdown) {
        let kept = foreign_sections(&existing);
        if !kept.is_empty() {
            md.push('\n');
            md.push_str(kept);
        }
    }
    std::fs::write(&outputs.markdown, md).map_err(|e| io(&outputs.markdown, e))?;
    written.push(outputs.markdown.clone());
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_sections_other_tools_wrote() {
        let file = "# Results\n<!-- a comment -->\ntext\n<!-- js-bench:start -->\nJS\n<!-- js-bench:end -->\n";
        assert_eq!(
            foreign_sections(file),
            "<!-- js-bench:start -->\nJS\n<!-- js-bench:end -->\n"
        );
        assert_eq!(foreign_sections("# Results\n<!-- a comment -->\n"), "");
    }

    #[test]
    fn repeat_takes_the_median_within_the_budget() {
        let mut calls = 0u32;
        let (median, last) = repeat(Duration::from_secs(60), 5, || {
            calls += 1;
            Ok((
                Duration::from_millis([5, 1, 9, 3, 7][calls as usize - 1]),
                calls,
            ))
        })
        .unwrap();
        assert_eq!((median, last), (Duration::from_millis(5), 5));

        let mut calls = 0;
        let (_, runs) = repeat(Duration::ZERO, 5, || {
            calls += 1;
            Ok((Duration::from_millis(1), calls))
        })
        .unwrap();
        assert_eq!(runs, 1, "a spent budget still gives one run");
    }

    #[test]
    fn runner_records_every_workload() {
        let json = r#"{"endContent":"hello","txns":[{"patches":[[0,0,"hello"]]}]}"#;
        let traces = [Trace::from_json("tiny", json.as_bytes()).unwrap()];
        let options = Options {
            quick: true,
            libraries: vec!["loro".into(), "diamond-types".into()],
            concurrent_ops: 20,
            progress: false,
        };
        let mut runner = Runner::new(&options, &traces);
        runner.run_library::<crate::adapters::Loro>();
        runner.run_library::<crate::adapters::DiamondTypes>();
        runner.run_library::<crate::adapters::Yrs>(); // not selected
        let results = runner.finish();
        assert!(results.failures.is_empty(), "{:?}", results.failures);
        assert_eq!(results.libraries(), ["diamond-types", "loro"]);
        for lib in ["loro", "diamond-types"] {
            assert!(results.get("replay", "tiny", lib, "time_ms").is_some());
            assert!(results.get("replay", "tiny", lib, "mem_bytes").is_some());
            assert!(results.get("encode", "tiny", lib, "bytes").unwrap() > 0.0);
            assert!(results.get("load", "tiny", lib, "time_ms").is_some());
            assert!(results.get("merge", "tiny", lib, "update_bytes").is_some());
            let scenario = &results.scenarios[0].1;
            assert!(
                results
                    .get("concurrent-text", scenario, lib, "update_bytes")
                    .is_some()
            );
        }
        let json = results.to_json();
        assert_eq!(json[0]["workload"], "replay");
        assert_eq!(json[0]["library"], "loro");
    }
}
