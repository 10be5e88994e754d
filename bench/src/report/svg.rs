//! Hand-written SVG bar charts: one chart per figure, a group of bars (one per library) per
//! trace, on a logarithmic axis because the libraries differ by orders of magnitude.

use std::fmt::Write;

use super::Results;
use super::markdown::{Format, millis, thousands};

/// One chart file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    /// File name in the results directory.
    pub file: &'static str,
    /// Title (also the Markdown alt text).
    pub title: &'static str,
    /// The SVG document.
    pub svg: String,
}

/// (file, title, workload, metric, value format) of every chart.
const CHARTS: [(&str, &str, &str, &str, Format); 5] = [
    (
        "replay-time.svg",
        "Local replay time (ms, log scale)",
        "replay",
        "time_ms",
        millis,
    ),
    (
        "merge-time.svg",
        "Remote merge time (ms, log scale)",
        "merge",
        "time_ms",
        millis,
    ),
    (
        "load-time.svg",
        "Load time (ms, log scale)",
        "load",
        "time_ms",
        millis,
    ),
    (
        "encode-bytes.svg",
        "Encoded document size (bytes, log scale)",
        "encode",
        "bytes",
        thousands,
    ),
    (
        "memory.svg",
        "Memory held after replay (bytes, log scale)",
        "replay",
        "mem_bytes",
        thousands,
    ),
];

fn color(library: &str) -> &'static str {
    match library {
        "weft" => "#d1495b",
        "diamond-types" => "#00798c",
        "loro" => "#66a182",
        "yrs" => "#edae49",
        "automerge" => "#8d6a9f",
        _ => "#888888",
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Every chart that has at least one figure.
pub fn charts(results: &Results) -> Vec<Chart> {
    CHARTS
        .iter()
        .filter_map(|(file, title, workload, metric, format)| {
            let svg = chart(results, title, (workload, metric), *format)?;
            Some(Chart { file, title, svg })
        })
        .collect()
}

const WIDTH: f64 = 860.0;
const LEFT: f64 = 190.0;
const RIGHT: f64 = 90.0;
const BAR: f64 = 12.0;
const GAP: f64 = 3.0;
const GROUP_GAP: f64 = 14.0;
const TOP: f64 = 70.0;

fn chart(
    results: &Results,
    title: &str,
    (workload, metric): (&str, &str),
    format: Format,
) -> Option<String> {
    let libs = results.libraries();
    let cells: Vec<(&str, Vec<(&str, f64)>)> = results
        .traces
        .iter()
        .map(|t| {
            let bars = libs
                .iter()
                .filter_map(|l| Some((*l, results.get(workload, t, l, metric)?)))
                .filter(|(_, v)| *v > 0.0)
                .collect();
            (t.as_str(), bars)
        })
        .collect();
    let values = || cells.iter().flat_map(|(_, b)| b.iter().map(|(_, v)| *v));
    let min = values().fold(f64::INFINITY, f64::min);
    let max = values().fold(0.0, f64::max);
    if !min.is_finite() {
        return None;
    }
    let lo = min.log10().floor();
    let hi = max.log10().ceil().max(lo + 1.0);
    let plot = WIDTH - LEFT - RIGHT;
    let x = |v: f64| LEFT + (v.log10() - lo) / (hi - lo) * plot;
    let group = libs.len() as f64 * (BAR + GAP) + GROUP_GAP;
    let bottom = TOP + group * cells.len() as f64;
    let height = bottom + 30.0;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="10" y="22" font-size="15" font-weight="bold">{}</text>"#,
        escape(title)
    );
    let mut lx = 10.0;
    for lib in &libs {
        let _ = writeln!(
            s,
            r#"<rect x="{lx}" y="34" width="11" height="11" fill="{}"/><text x="{}" y="44">{lib}</text>"#,
            color(lib),
            lx + 15.0
        );
        lx += 30.0 + 7.0 * lib.len() as f64;
    }
    let mut power = lo;
    while power <= hi {
        let gx = x(10f64.powf(power));
        let _ = writeln!(
            s,
            r##"<line x1="{gx:.1}" y1="{}" x2="{gx:.1}" y2="{bottom}" stroke="#ddd"/><text x="{gx:.1}" y="{}" text-anchor="middle" fill="#555">{}</text>"##,
            TOP - 8.0,
            bottom + 14.0,
            format(10f64.powf(power))
        );
        power += 1.0;
    }
    for (i, (trace, bars)) in cells.iter().enumerate() {
        let gy = TOP + i as f64 * group;
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 8.0,
            gy + (group - GROUP_GAP) / 2.0 + 4.0,
            escape(trace)
        );
        for (j, lib) in libs.iter().enumerate() {
            let by = gy + j as f64 * (BAR + GAP);
            let Some((_, v)) = bars.iter().find(|(l, _)| l == lib) else {
                continue;
            };
            let w = (x(*v) - LEFT).max(1.0);
            let _ = writeln!(
                s,
                r#"<rect x="{LEFT}" y="{by:.1}" width="{w:.1}" height="{BAR}" fill="{}"><title>{lib}: {}</title></rect><text x="{:.1}" y="{:.1}">{}</text>"#,
                color(lib),
                format(*v),
                LEFT + w + 4.0,
                by + BAR - 2.0,
                format(*v)
            );
        }
    }
    let _ = writeln!(s, "</svg>");
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::super::Record;
    use super::*;

    #[test]
    fn draws_a_bar_per_library_and_trace() {
        let mut results = Results {
            traces: vec!["a<b".into(), "c".into()],
            ..Results::default()
        };
        for (trace, lib, v) in [
            ("a<b", "loro", 3.0),
            ("a<b", "yrs", 300.0),
            ("c", "yrs", 0.5),
        ] {
            results.records.push(Record {
                workload: "replay",
                trace: trace.into(),
                library: lib,
                metric: "time_ms",
                value: Some(v),
            });
        }
        let charts = charts(&results);
        assert_eq!(charts.len(), 1, "only the replay time has figures");
        let svg = &charts[0].svg;
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<title>").count(), 3);
        assert!(svg.contains("a&lt;b") && !svg.contains("a<b"));
    }
}
