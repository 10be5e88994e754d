//! The bars Weft must meet against its peers (issue 5), evaluated from [`Results`].

use super::Results;

/// Whether a bar was met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Weft meets the bar.
    Met,
    /// Weft misses the bar.
    Missed,
    /// A figure the bar needs was not measured (Weft's, or every peer's).
    NotEvaluated,
}

/// One evaluated bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// What the bar asks, for one trace or scenario.
    pub name: String,
    /// The verdict.
    pub status: Status,
    /// The figures behind the verdict (ratios against peers).
    pub detail: String,
}

/// Encoded size bar for automerge-paper, in bytes.
pub const PAPER_ENCODE_LIMIT: f64 = 100_000.0;
/// Memory bar for automerge-paper: 2 MB, read strictly as 2,000,000 bytes.
pub const PAPER_MEMORY_LIMIT: f64 = 2_000_000.0;
/// The trace the absolute size and memory bars name.
pub const PAPER: &str = "automerge-paper";

const WEFT: &str = "weft";
const SLOW_PEERS: [&str; 3] = ["loro", "yrs", "automerge"];
const PEERS: [&str; 4] = ["diamond-types", "loro", "yrs", "automerge"];

fn bar(name: String, status: Status, detail: String) -> Bar {
    Bar {
        name,
        status,
        detail,
    }
}

fn verdict(ok: bool) -> Status {
    if ok { Status::Met } else { Status::Missed }
}

/// Weft's figure and the peers' figures (those measured) for one cell.
fn figures<'p>(
    results: &Results,
    workload: &str,
    trace: &str,
    metric: &str,
    peers: &[&'p str],
) -> (Option<f64>, Vec<(&'p str, f64)>) {
    let weft = results.get(workload, trace, WEFT, metric);
    let peers = peers
        .iter()
        .filter_map(|p| Some((*p, results.get(workload, trace, p, metric)?)))
        .collect();
    (weft, peers)
}

/// "Weft ≤ every listed peer" (or `<` when `strict`), with each peer's ratio to Weft.
fn at_most_peers(
    name: String,
    results: &Results,
    (workload, trace, metric): (&str, &str, &str),
    peers: &[&str],
    strict: bool,
) -> Bar {
    let (weft, peers) = figures(results, workload, trace, metric, peers);
    let Some(weft) = weft else {
        return bar(name, Status::NotEvaluated, "no Weft figure".into());
    };
    if peers.is_empty() {
        return bar(name, Status::NotEvaluated, "no peer figure".into());
    }
    let ok = peers
        .iter()
        .all(|(_, p)| if strict { weft < *p } else { weft <= *p });
    let detail = peers
        .iter()
        .map(|(lib, p)| format!("{lib} {}", ratio(*p, weft)))
        .collect::<Vec<_>>()
        .join(", ");
    bar(name, verdict(ok), format!("peer ÷ Weft: {detail}"))
}

fn ratio(peer: f64, weft: f64) -> String {
    if weft > 0.0 {
        format!("{:.2}×", peer / weft)
    } else {
        "∞×".into()
    }
}

/// Evaluates every bar on what `results` holds.
pub fn evaluate(results: &Results) -> Vec<Bar> {
    let mut bars = Vec::new();
    for trace in &results.traces {
        let t = trace.as_str();
        bars.push(at_most_peers(
            format!("Replay {t}: Weft ≤ diamond-types"),
            results,
            ("replay", t, "time_ms"),
            &["diamond-types"],
            false,
        ));
        let (weft, peers) = figures(results, "replay", t, "time_ms", &SLOW_PEERS);
        let name = format!("Replay {t}: Weft ≥ 10× faster than loro, yrs, automerge");
        bars.push(match weft {
            None => bar(name, Status::NotEvaluated, "no Weft figure".into()),
            Some(_) if peers.is_empty() => bar(name, Status::NotEvaluated, "no peer figure".into()),
            Some(w) => {
                let ok = peers.iter().all(|(_, p)| *p >= 10.0 * w);
                let detail = peers
                    .iter()
                    .map(|(lib, p)| format!("{lib} {}", ratio(*p, w)))
                    .collect::<Vec<_>>()
                    .join(", ");
                bar(name, verdict(ok), format!("peer ÷ Weft: {detail}"))
            }
        });
    }
    if results.traces.iter().any(|t| t == PAPER) {
        let name = format!("Encoded {PAPER} ≤ 100,000 bytes");
        bars.push(match results.get("encode", PAPER, WEFT, "bytes") {
            None => bar(name, Status::NotEvaluated, "no Weft figure".into()),
            Some(b) => bar(name, verdict(b <= PAPER_ENCODE_LIMIT), format!("{b} bytes")),
        });
    }
    for trace in &results.traces {
        bars.push(at_most_peers(
            format!("Encoded {trace}: smaller than every peer"),
            results,
            ("encode", trace, "bytes"),
            &PEERS,
            true,
        ));
    }
    for (workload, label) in [("load", "Load"), ("merge", "Remote merge")] {
        for trace in &results.traces {
            bars.push(at_most_peers(
                format!("{label} {trace}: Weft ≤ fastest peer"),
                results,
                (workload, trace, "time_ms"),
                &PEERS,
                false,
            ));
        }
    }
    if results.traces.iter().any(|t| t == PAPER) {
        let name = format!("Memory after replaying {PAPER} ≤ 2 MB");
        bars.push(match results.get("replay", PAPER, WEFT, "mem_bytes") {
            None => bar(name, Status::NotEvaluated, "no Weft figure".into()),
            Some(b) => bar(name, verdict(b <= PAPER_MEMORY_LIMIT), format!("{b} bytes")),
        });
        bars.push(at_most_peers(
            format!("Memory after replaying {PAPER}: Weft ≤ every peer"),
            results,
            ("replay", PAPER, "mem_bytes"),
            &PEERS,
            false,
        ));
    }
    for (workload, scenario) in &results.scenarios {
        bars.push(at_most_peers(
            format!("{workload} ({scenario}): Weft fastest"),
            results,
            (workload, scenario, "time_ms"),
            &PEERS,
            false,
        ));
        bars.push(at_most_peers(
            format!("{workload} ({scenario}): Weft's updates smallest"),
            results,
            (workload, scenario, "update_bytes"),
            &PEERS,
            false,
        ));
    }
    bars
}

#[cfg(test)]
mod tests {
    use super::super::Record;
    use super::*;

    fn rec(workload: &'static str, library: &'static str, metric: &'static str, v: f64) -> Record {
        Record {
            workload,
            trace: PAPER.into(),
            library,
            metric,
            value: Some(v),
        }
    }

    #[test]
    fn bars_compare_weft_with_its_peers() {
        let mut results = Results {
            traces: vec![PAPER.into()],
            ..Results::default()
        };
        results.records = vec![
            rec("replay", "weft", "time_ms", 10.0),
            rec("replay", "diamond-types", "time_ms", 12.0),
            rec("replay", "loro", "time_ms", 90.0),
            rec("replay", "yrs", "time_ms", 500.0),
            rec("encode", "weft", "bytes", 120_000.0),
            rec("encode", "diamond-types", "bytes", 130_000.0),
            rec("replay", "weft", "mem_bytes", 1_000_000.0),
            rec("replay", "loro", "mem_bytes", 900_000.0),
        ];
        let bars = evaluate(&results);
        let status = |prefix: &str| bars.iter().find(|b| b.name.starts_with(prefix)).unwrap();
        assert_eq!(status("Replay automerge-paper: Weft ≤").status, Status::Met);
        let fast = status("Replay automerge-paper: Weft ≥ 10×");
        assert_eq!(fast.status, Status::Missed, "loro is only 9× slower");
        assert!(fast.detail.contains("loro 9.00×"), "{}", fast.detail);
        assert_eq!(status("Encoded automerge-paper ≤").status, Status::Missed);
        assert_eq!(
            status("Encoded automerge-paper: smaller").status,
            Status::Met
        );
        assert_eq!(
            status("Memory after replaying automerge-paper ≤").status,
            Status::Met
        );
        assert_eq!(
            status("Memory after replaying automerge-paper: Weft").status,
            Status::Missed
        );
        assert_eq!(status("Load").status, Status::NotEvaluated);
    }
}
