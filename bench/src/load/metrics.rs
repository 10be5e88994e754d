//! Reads `weft-server`'s Prometheus histograms (`GET /metrics`) before and after the measured
//! window, to split the ack latency into the store's commit time and everything else.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Cumulative bucket counts of every histogram, keyed by name, as (upper bound in seconds,
/// count) pairs in the order the server wrote them.
pub(crate) type Histograms = HashMap<String, Vec<(f64, f64)>>;

/// Fetches and parses `/metrics` (blocking, with a 5 s timeout). `None` if it fails.
pub(crate) fn scrape(addr: SocketAddr) -> Option<Histograms> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let body = text.split_once("\r\n\r\n")?.1;
    Some(parse(body))
}

fn parse(body: &str) -> Histograms {
    let mut out: Histograms = HashMap::new();
    for line in body.lines() {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Some((name, rest)) = series.split_once("_bucket{le=\"") else {
            continue;
        };
        let Some(bound) = rest.strip_suffix("\"}") else {
            continue;
        };
        let bound = if bound == "+Inf" {
            f64::INFINITY
        } else {
            match bound.parse() {
                Ok(b) => b,
                Err(_) => continue,
            }
        };
        if let Ok(v) = value.parse::<f64>() {
            out.entry(name.to_owned()).or_default().push((bound, v));
        }
    }
    out
}

/// The `q` quantile, in milliseconds, of histogram `name` between two scrapes: the upper bound
/// of the bucket it falls in (`None` without observations, or when it is past the last finite
/// bound).
pub(crate) fn quantile_ms(
    before: &Histograms,
    after: &Histograms,
    name: &str,
    q: f64,
) -> Option<f64> {
    let after = after.get(name)?;
    let before = before.get(name);
    let counts: Vec<(f64, f64)> = after
        .iter()
        .enumerate()
        .map(|(i, (bound, n))| {
            let was = before
                .and_then(|b| b.get(i))
                .filter(|(b, _)| b == bound)
                .map_or(0.0, |(_, n)| *n);
            (*bound, n - was)
        })
        .collect();
    let total = counts.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = (q * total).ceil().max(1.0);
    let (bound, _) = counts.iter().find(|(_, n)| *n >= rank)?;
    bound.is_finite().then_some(bound * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_between_scrapes() {
        let before = parse(
            "x_bucket{le=\"0.001\"} 1\nx_bucket{le=\"0.01\"} 2\nx_bucket{le=\"+Inf\"} 2\nx_sum 1\n",
        );
        let after = parse(
            "# HELP x\nx_bucket{le=\"0.001\"} 1\nx_bucket{le=\"0.01\"} 101\nx_bucket{le=\"+Inf\"} 102\n",
        );
        assert_eq!(quantile_ms(&before, &after, "x", 0.5), Some(10.0));
        assert_eq!(quantile_ms(&before, &after, "x", 1.0), None);
        assert_eq!(
            quantile_ms(&Histograms::new(), &before, "x", 0.5),
            Some(1.0)
        );
        assert_eq!(quantile_ms(&after, &after, "x", 0.5), None);
        assert_eq!(quantile_ms(&before, &after, "y", 0.5), None);
    }
}
