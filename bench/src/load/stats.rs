//! Lock-free latency histograms and the error counters of a run.
//!
//! Every simulated client records into the same histograms from both runtime threads, so a
//! recording is two relaxed atomic additions and a `fetch_max`: no lock and no allocation.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Sub-buckets per power of two: 32, so a bucket is at most 1/32 (about 3 %) wide.
const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
/// Values below this get a bucket each.
const LINEAR: u64 = 2 * SUB;
const BUCKETS: usize = (LINEAR + (64 - SUB_BITS as u64 - 1) * SUB) as usize;

/// A log-linear histogram of durations in microseconds.
pub(crate) struct Histogram {
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    max: AtomicU64,
}

fn bucket_of(v: u64) -> usize {
    if v < LINEAR {
        return v as usize;
    }
    let exp = 63 - u64::from(v.leading_zeros()); // >= SUB_BITS + 1
    let mantissa = (v >> (exp - u64::from(SUB_BITS))) - SUB; // 0..SUB
    (LINEAR + (exp - u64::from(SUB_BITS) - 1) * SUB + mantissa) as usize
}

/// The largest value that falls into bucket `i`.
fn bucket_top(i: usize) -> u64 {
    let i = i as u64;
    if i < LINEAR {
        return i;
    }
    let exp = (i - LINEAR) / SUB + u64::from(SUB_BITS) + 1;
    let mantissa = (i - LINEAR) % SUB;
    let shift = exp - u64::from(SUB_BITS);
    let top = (u128::from(SUB + mantissa + 1) << shift) - 1;
    u64::try_from(top).unwrap_or(u64::MAX)
}

impl Histogram {
    /// An empty histogram.
    pub(crate) fn new() -> Self {
        Self {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            max: AtomicU64::new(0),
        }
    }

    /// Records one duration.
    pub(crate) fn record(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        if let Some(b) = self.buckets.get(bucket_of(us)) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.max.fetch_max(us, Ordering::Relaxed);
    }

    /// How many durations were recorded.
    pub(crate) fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The `q` quantile (0 < q ≤ 1) in milliseconds: the top of the bucket holding it, capped by
    /// the largest value recorded. `None` when empty.
    pub(crate) fn quantile_ms(&self, q: f64) -> Option<f64> {
        let count = self.count();
        if count == 0 {
            return None;
        }
        let rank = ((q * count as f64).ceil() as u64).clamp(1, count);
        let max = self.max.load(Ordering::Relaxed);
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= rank {
                return Some(bucket_top(i).min(max) as f64 / 1000.0);
            }
        }
        Some(max as f64 / 1000.0)
    }

    /// The bucket counts so far (for quantiles of an interval: see [`quantile_between`]).
    pub(crate) fn snapshot(&self) -> Vec<u64> {
        self.buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect()
    }

    /// The largest duration recorded, in milliseconds.
    pub(crate) fn max_ms(&self) -> Option<f64> {
        (self.count() > 0).then(|| self.max.load(Ordering::Relaxed) as f64 / 1000.0)
    }
}

/// The `q` quantile in milliseconds (bucket top) of the durations recorded between two
/// snapshots of one histogram; `None` when none were.
pub(crate) fn quantile_between(before: &[u64], after: &[u64], q: f64) -> Option<f64> {
    let diff: Vec<u64> = after
        .iter()
        .zip(before.iter().chain(std::iter::repeat(&0)))
        .map(|(a, b)| a.saturating_sub(*b))
        .collect();
    let count: u64 = diff.iter().sum();
    if count == 0 {
        return None;
    }
    let rank = ((q * count as f64).ceil() as u64).clamp(1, count);
    let mut seen = 0;
    for (i, n) in diff.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return Some(bucket_top(i) as f64 / 1000.0);
        }
    }
    None
}

/// What went wrong, counted per kind. Expected disconnections (the planned `kill -9`) are not
/// errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// A TCP connect or WebSocket handshake failed while the server was up.
    ConnectFailed,
    /// A connection closed while the server was meant to be up.
    UnexpectedClose,
    /// An update was answered with a status other than `Ok`.
    AckRejected,
    /// A join was refused.
    JoinFailed,
    /// The server sent an `Error` message.
    ServerError,
    /// The server dropped a subscription that fell behind (`Left(Resync)`).
    Resync,
    /// A frame could not be decoded, or arrived out of place.
    BadFrame,
    /// A tracked edit did not reach one of its room's peers.
    MissedDelivery,
    /// A tracked edit was never acknowledged (or echoed, for y-websocket).
    MissingAck,
    /// An update appeared twice in a verified document.
    Duplicate,
    /// A local edit or a verification step failed.
    Internal,
}

const KINDS: [ErrorKind; 11] = [
    ErrorKind::ConnectFailed,
    ErrorKind::UnexpectedClose,
    ErrorKind::AckRejected,
    ErrorKind::JoinFailed,
    ErrorKind::ServerError,
    ErrorKind::Resync,
    ErrorKind::BadFrame,
    ErrorKind::MissedDelivery,
    ErrorKind::MissingAck,
    ErrorKind::Duplicate,
    ErrorKind::Internal,
];

impl ErrorKind {
    fn name(self) -> &'static str {
        match self {
            ErrorKind::ConnectFailed => "connect_failed",
            ErrorKind::UnexpectedClose => "unexpected_close",
            ErrorKind::AckRejected => "ack_rejected",
            ErrorKind::JoinFailed => "join_failed",
            ErrorKind::ServerError => "server_error",
            ErrorKind::Resync => "resync",
            ErrorKind::BadFrame => "bad_frame",
            ErrorKind::MissedDelivery => "missed_delivery",
            ErrorKind::MissingAck => "missing_ack",
            ErrorKind::Duplicate => "duplicate",
            ErrorKind::Internal => "internal",
        }
    }
}

/// Error counts per [`ErrorKind`].
pub(crate) struct Errors([AtomicU64; KINDS.len()]);

impl Errors {
    /// No errors.
    pub(crate) fn new() -> Self {
        Self(std::array::from_fn(|_| AtomicU64::new(0)))
    }

    /// Counts `n` errors of `kind`.
    pub(crate) fn add(&self, kind: ErrorKind, n: u64) {
        if let Some(c) = self.0.get(kind as usize) {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Counts one error of `kind`.
    pub(crate) fn one(&self, kind: ErrorKind) {
        self.add(kind, 1);
    }

    /// The count of one kind.
    pub(crate) fn get(&self, kind: ErrorKind) -> u64 {
        self.0
            .get(kind as usize)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// All errors.
    pub(crate) fn total(&self) -> u64 {
        self.0.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// The non-zero counts by name.
    pub(crate) fn by_kind(&self) -> BTreeMap<String, u64> {
        KINDS
            .iter()
            .zip(self.0.iter())
            .map(|(k, c)| (k.name().to_owned(), c.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_contain_their_values() {
        let mut last = 0;
        for v in (0..200_000u64).chain([u64::MAX / 2, u64::MAX]) {
            let b = bucket_of(v);
            assert!(b < BUCKETS, "{v}");
            assert!(b >= last || v == 0);
            last = b;
            assert!(
                bucket_top(b) >= v,
                "{v} in bucket {b} topping at {}",
                bucket_top(b)
            );
            if b > 0 {
                assert!(bucket_top(b - 1) < v);
            }
        }
    }

    #[test]
    fn quantiles_are_within_a_bucket() {
        let h = Histogram::new();
        for ms in 1..=100u64 {
            h.record(Duration::from_millis(ms));
        }
        assert_eq!(h.count(), 100);
        let p50 = h.quantile_ms(0.5).unwrap_or(0.0);
        assert!((50.0..=51.6).contains(&p50), "{p50}");
        let p99 = h.quantile_ms(0.99).unwrap_or(0.0);
        assert!((99.0..=100.0).contains(&p99), "{p99}");
        assert_eq!(h.max_ms(), Some(100.0));
        assert_eq!(Histogram::new().quantile_ms(0.5), None);
        let before = h.snapshot();
        assert_eq!(quantile_between(&before, &h.snapshot(), 0.5), None);
        h.record(Duration::from_millis(500));
        let p = quantile_between(&before, &h.snapshot(), 0.5).unwrap_or(0.0);
        assert!((500.0..=516.0).contains(&p), "{p}");
    }

    #[test]
    fn errors_count_by_kind() {
        let e = Errors::new();
        e.one(ErrorKind::Resync);
        e.add(ErrorKind::MissedDelivery, 3);
        assert_eq!(e.total(), 4);
        let m = e.by_kind();
        assert_eq!(m.get("resync"), Some(&1));
        assert_eq!(m.get("missed_delivery"), Some(&3));
        assert_eq!(m.len(), 2);
    }
}
