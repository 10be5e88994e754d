//! Prometheus metrics: lock-free counters, gauges and fixed-bucket histograms, rendered in the
//! Prometheus text exposition format at `/metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use weft::sync::Status;

/// A monotonically increasing count.
#[derive(Default, Debug)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Relaxed);
    }

    /// Adds one.
    pub fn inc(&self) {
        self.add(1);
    }

    /// The current count.
    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Default, Debug)]
pub struct Gauge(AtomicI64);

impl Gauge {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Relaxed);
    }

    /// Subtracts one.
    pub fn dec(&self) {
        self.0.fetch_sub(1, Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> i64 {
        self.0.load(Relaxed)
    }
}

/// A histogram with fixed upper bounds.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    /// Sum of observations in millionths of the unit.
    sum_micros: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    /// Records one observation.
    pub fn observe(&self, value: f64) {
        if let Some(i) = self.bounds.iter().position(|&b| value <= b)
            && let Some(bucket) = self.buckets.get(i)
        {
            bucket.fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_micros
            .fetch_add((value.max(0.0) * 1e6) as u64, Relaxed);
    }

    /// Records a duration in seconds.
    pub fn observe_duration(&self, d: Duration) {
        self.observe(d.as_secs_f64());
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, bucket) in self.bounds.iter().zip(&self.buckets) {
            cumulative += bucket.load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count();
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

const LATENCY_BOUNDS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
const BATCH_BOUNDS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 1024.0, 4096.0,
];

/// Every metric the server exports.
#[derive(Debug)]
pub struct Metrics {
    /// Open WebSocket connections.
    pub connections: Gauge,
    /// WebSocket connections accepted since start.
    pub connections_total: Counter,
    /// Connections refused because the server was at its connection limit.
    pub connections_refused: Counter,
    /// Documents loaded in memory.
    pub documents_loaded: Gauge,
    /// Updates received from clients.
    pub updates_in: Counter,
    /// Update frames sent to subscribers (one per receiving connection).
    pub updates_out: Counter,
    /// Bytes received in WebSocket messages.
    pub bytes_in: Counter,
    /// Bytes sent in WebSocket messages.
    pub bytes_out: Counter,
    /// Presence messages received.
    pub presence_in: Counter,
    /// Requests rejected, by status.
    rejections: [Counter; 10],
    /// Subscriptions dropped because the connection fell behind (told to resync).
    pub resyncs: Counter,
    /// Connections closed by the server, for protocol or limit violations.
    pub protocol_closes: Counter,
    /// Time from receiving an update to sending its ack, in seconds.
    pub ack_latency: Histogram,
    /// Writes per store commit.
    pub commit_batch_size: Histogram,
    /// Duration of one store commit, in seconds.
    pub commit_duration: Histogram,
    /// Documents compacted into a snapshot.
    pub compactions: Counter,
    /// Store operations that failed.
    pub store_errors: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            connections: Gauge::default(),
            connections_total: Counter::default(),
            connections_refused: Counter::default(),
            documents_loaded: Gauge::default(),
            updates_in: Counter::default(),
            updates_out: Counter::default(),
            bytes_in: Counter::default(),
            bytes_out: Counter::default(),
            presence_in: Counter::default(),
            rejections: Default::default(),
            resyncs: Counter::default(),
            protocol_closes: Counter::default(),
            ack_latency: Histogram::new(LATENCY_BOUNDS),
            commit_batch_size: Histogram::new(BATCH_BOUNDS),
            commit_duration: Histogram::new(LATENCY_BOUNDS),
            compactions: Counter::default(),
            store_errors: Counter::default(),
        }
    }
}

const ALL_STATUSES: [Status; 10] = [
    Status::Ok,
    Status::Invalid,
    Status::PermissionDenied,
    Status::TooLarge,
    Status::RateLimited,
    Status::UnknownDocument,
    Status::Unavailable,
    Status::Resync,
    Status::TooManyDocuments,
    Status::BadRequest,
];

impl Metrics {
    /// Counts one rejected request.
    pub fn reject(&self, status: Status) {
        if let Some(c) = self.rejections.get(usize::from(status.code())) {
            c.inc();
        }
    }

    /// Requests rejected with `status` so far.
    pub fn rejected(&self, status: Status) -> u64 {
        self.rejections
            .get(usize::from(status.code()))
            .map_or(0, Counter::get)
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let mut scalar = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        scalar(
            "weft_connections",
            "gauge",
            "Open WebSocket connections.",
            self.connections.get().to_string(),
        );
        scalar(
            "weft_connections_total",
            "counter",
            "WebSocket connections accepted.",
            self.connections_total.get().to_string(),
        );
        scalar(
            "weft_connections_refused_total",
            "counter",
            "WebSocket connections refused at the connection limit.",
            self.connections_refused.get().to_string(),
        );
        scalar(
            "weft_documents_loaded",
            "gauge",
            "Documents loaded in memory.",
            self.documents_loaded.get().to_string(),
        );
        scalar(
            "weft_updates_in_total",
            "counter",
            "Updates received from clients.",
            self.updates_in.get().to_string(),
        );
        scalar(
            "weft_updates_out_total",
            "counter",
            "Update frames sent to subscribers.",
            self.updates_out.get().to_string(),
        );
        scalar(
            "weft_bytes_in_total",
            "counter",
            "Bytes received in WebSocket messages.",
            self.bytes_in.get().to_string(),
        );
        scalar(
            "weft_bytes_out_total",
            "counter",
            "Bytes sent in WebSocket messages.",
            self.bytes_out.get().to_string(),
        );
        scalar(
            "weft_presence_in_total",
            "counter",
            "Presence messages received.",
            self.presence_in.get().to_string(),
        );
        scalar(
            "weft_resyncs_total",
            "counter",
            "Subscriptions dropped because the connection fell behind.",
            self.resyncs.get().to_string(),
        );
        scalar(
            "weft_protocol_closes_total",
            "counter",
            "Connections closed for protocol or limit violations.",
            self.protocol_closes.get().to_string(),
        );
        scalar(
            "weft_compactions_total",
            "counter",
            "Documents compacted into a snapshot.",
            self.compactions.get().to_string(),
        );
        scalar(
            "weft_store_errors_total",
            "counter",
            "Store operations that failed.",
            self.store_errors.get().to_string(),
        );
        let _ = writeln!(
            out,
            "# HELP weft_rejections_total Requests rejected, by status.\n\
             # TYPE weft_rejections_total counter"
        );
        for status in ALL_STATUSES.iter().filter(|s| **s != Status::Ok) {
            let _ = writeln!(
                out,
                "weft_rejections_total{{status=\"{status}\"}} {}",
                self.rejected(*status)
            );
        }
        self.ack_latency.render(
            &mut out,
            "weft_ack_latency_seconds",
            "Time from receiving an update to sending its ack.",
        );
        self.commit_batch_size.render(
            &mut out,
            "weft_commit_batch_size",
            "Writes per store commit.",
        );
        self.commit_duration.render(
            &mut out,
            "weft_commit_duration_seconds",
            "Duration of one store commit.",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_once() {
        let m = Metrics::default();
        m.updates_in.add(3);
        m.reject(Status::TooLarge);
        m.ack_latency.observe(0.0015);
        m.ack_latency.observe(7.0);
        let text = m.render();
        assert!(text.contains("weft_updates_in_total 3\n"));
        assert!(text.contains("weft_rejections_total{status=\"too_large\"} 1\n"));
        assert!(text.contains("weft_ack_latency_seconds_bucket{le=\"0.002\"} 1\n"));
        assert!(text.contains("weft_ack_latency_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("weft_ack_latency_seconds_count 2\n"));
        for line in text.lines().filter(|l| l.starts_with("# TYPE")) {
            let name = line.split(' ').nth(2).unwrap_or_default();
            assert_eq!(
                text.matches(&format!("# TYPE {name} ")).count(),
                1,
                "{name}"
            );
        }
    }
}
