//! State shared by the driver and every simulated client of one run: switches, gauges,
//! histograms, and per room the edits awaiting delivery and the edits acknowledged.
//!
//! Each edit inserts a token `[client.seq]` at the start of the room's text. Tokens are unique in
//! the run, so the text of a room tells exactly which edits it holds: that is how verification
//! checks that every acknowledged edit survived.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{WebSocketStream, client_async_with_config};

use super::stats::{ErrorKind, Errors, Histogram};

/// Where the server under test is, and whether clients may connect to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ServerState {
    /// Its address (kept across restarts).
    pub(crate) addr: SocketAddr,
    /// False from just before a planned `kill -9` until the restarted server is verified.
    pub(crate) up: bool,
    /// Grows with each restart.
    pub(crate) epoch: u64,
}

/// Event counters of a run.
#[derive(Default)]
pub(crate) struct Counters {
    /// Edits sent on a live connection.
    pub(crate) edits_sent: AtomicU64,
    /// Edits sent while tracking (their delivery and ack are measured).
    pub(crate) tracked_sent: AtomicU64,
    /// Tracked edits acknowledged (or echoed) on the connection that sent them.
    pub(crate) tracked_acked: AtomicU64,
    /// Update frames received from the server while tracking.
    pub(crate) window_frames: AtomicU64,
    /// Edits acknowledged (or echoed), tracked or not.
    pub(crate) acked: AtomicU64,
}

/// The switches, gauges and measurements of one run.
pub(crate) struct Shared {
    /// While true, edits are stamped and their delivery and ack latencies recorded.
    pub(crate) tracking: AtomicBool,
    /// While true, writers edit on their timers.
    pub(crate) editing: AtomicBool,
    /// The server's state; clients connect only while it is up.
    pub(crate) server: watch::Receiver<ServerState>,
    /// Becomes true when clients must close and end.
    pub(crate) stop: watch::Receiver<bool>,
    /// Bounds the handshakes under way, so a ramp of thousands of clients does not overflow
    /// the server's accept queue.
    pub(crate) connecting: Arc<Semaphore>,
    /// Edit → peer delivery latency.
    pub(crate) delivery: Histogram,
    /// Edit → ack latency (Weft), or edit → echo of the edit to its author (y-websocket).
    pub(crate) ack: Histogram,
    /// Open connections.
    pub(crate) connected: AtomicI64,
    /// Clients whose document is synced on their current connection.
    pub(crate) synced: AtomicI64,
    /// Edits made and not yet acknowledged (or echoed).
    pub(crate) unacked: AtomicI64,
    /// Event counters.
    pub(crate) counts: Counters,
    /// Errors by kind.
    pub(crate) errors: Errors,
}

impl Shared {
    /// A run's shared state, with nothing tracked or edited yet.
    pub(crate) fn new(
        server: watch::Receiver<ServerState>,
        stop: watch::Receiver<bool>,
        concurrent_handshakes: usize,
    ) -> Self {
        Self {
            tracking: AtomicBool::new(false),
            editing: AtomicBool::new(false),
            server,
            stop,
            connecting: Arc::new(Semaphore::new(concurrent_handshakes.max(1))),
            delivery: Histogram::new(),
            ack: Histogram::new(),
            connected: AtomicI64::new(0),
            synced: AtomicI64::new(0),
            unacked: AtomicI64::new(0),
            counts: Counters::default(),
            errors: Errors::new(),
        }
    }

    /// Whether a connection that just ended was expected to: the server is down or was
    /// restarted since `epoch`, or the run is stopping.
    pub(crate) fn close_expected(&self, epoch: u64) -> bool {
        let s = *self.server.borrow();
        !s.up || s.epoch != epoch || *self.stop.borrow()
    }

    /// Counts an error unless the connection's end was expected.
    pub(crate) fn conn_error(&self, kind: ErrorKind, epoch: u64) {
        if !self.close_expected(epoch) {
            self.errors.one(kind);
        }
    }
}

/// A tracked edit awaiting delivery to its peers.
struct Pending {
    sent: Instant,
    remaining: u32,
}

/// One room (document) and the clients in it.
pub(crate) struct Room {
    /// The document id (Weft) or URL path segment (y-websocket).
    pub(crate) name: String,
    /// Peers each edit must reach (the room's clients other than its author).
    pub(crate) peers: u32,
    pending: Mutex<HashMap<u64, Pending>>,
    acked: Mutex<Vec<u64>>,
}

impl Room {
    /// A room with `clients` clients.
    pub(crate) fn new(name: String, clients: usize) -> Self {
        Self {
            name,
            peers: u32::try_from(clients.saturating_sub(1)).unwrap_or(u32::MAX),
            pending: Mutex::new(HashMap::new()),
            acked: Mutex::new(Vec::new()),
        }
    }

    /// Stamps a tracked edit identified by `key` as sent at `sent`.
    pub(crate) fn sent(&self, key: u64, sent: Instant) {
        if self.peers == 0 {
            return;
        }
        if let Ok(mut p) = self.pending.lock() {
            p.insert(
                key,
                Pending {
                    sent,
                    remaining: self.peers,
                },
            );
        }
    }

    /// A peer received the edit `key` at `now`: its delivery latency, if it is tracked.
    pub(crate) fn delivered(&self, key: u64, now: Instant) -> Option<Duration> {
        let mut p = self.pending.lock().ok()?;
        let e = p.get_mut(&key)?;
        let latency = now.saturating_duration_since(e.sent);
        e.remaining -= 1;
        if e.remaining == 0 {
            p.remove(&key);
        }
        Some(latency)
    }

    /// Deliveries of tracked edits still awaited.
    pub(crate) fn awaiting(&self) -> u64 {
        self.pending
            .lock()
            .map_or(0, |p| p.values().map(|e| u64::from(e.remaining)).sum())
    }

    /// Forgets the tracked edits still awaiting delivery, returning how many deliveries are
    /// missing.
    pub(crate) fn take_missed(&self) -> u64 {
        self.pending.lock().map_or(0, |mut p| {
            p.drain().map(|(_, e)| u64::from(e.remaining)).sum()
        })
    }

    /// Records that the edit with token `token` was acknowledged.
    pub(crate) fn acked(&self, token: u64) {
        if let Ok(mut a) = self.acked.lock() {
            a.push(token);
        }
    }

    /// The tokens acknowledged so far.
    pub(crate) fn acked_tokens(&self) -> Vec<u64> {
        self.acked.lock().map(|a| a.clone()).unwrap_or_default()
    }
}

/// The token id of edit `seq` of client `client`.
pub(crate) fn token_id(client: u32, seq: u32) -> u64 {
    (u64::from(client) << 32) | u64::from(seq)
}

/// Writes the text of a token into `out` (cleared first).
pub(crate) fn write_token(out: &mut String, client: u32, seq: u32) {
    use std::fmt::Write;
    out.clear();
    let _ = write!(out, "[{client}.{seq}]");
}

/// The tokens of a room's text, with how often each occurs, or why the text is malformed.
pub(crate) fn parse_tokens(text: &str) -> Result<HashMap<u64, u32>, String> {
    let mut found = HashMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let Some(body) = rest.strip_prefix('[') else {
            return Err(format!("unexpected text at {:?}", truncate(rest)));
        };
        let Some(end) = body.find(']') else {
            return Err(format!("unterminated token at {:?}", truncate(rest)));
        };
        let (inner, after) = body.split_at(end);
        let parsed = inner
            .split_once('.')
            .and_then(|(c, s)| Some(token_id(c.parse().ok()?, s.parse().ok()?)));
        let Some(id) = parsed else {
            return Err(format!("malformed token {inner:?}"));
        };
        *found.entry(id).or_insert(0) += 1;
        rest = after.get(1..).unwrap_or("");
    }
    Ok(found)
}

fn truncate(s: &str) -> &str {
    s.char_indices()
        .nth(24)
        .map_or(s, |(i, _)| s.get(..i).unwrap_or(s))
}

/// What a verification of stored documents found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Verified {
    /// Acknowledged edits looked for.
    pub(crate) checked: u64,
    /// Acknowledged edits absent from their document.
    pub(crate) missing: u64,
    /// Edits present more than once.
    pub(crate) duplicates: u64,
}

/// Compares a room's text with the tokens acknowledged in it.
pub(crate) fn check_room(text: &str, acked: &[u64]) -> Result<Verified, String> {
    let found = parse_tokens(text)?;
    let missing = acked.iter().filter(|t| !found.contains_key(t)).count() as u64;
    let duplicates = found.values().filter(|n| **n > 1).count() as u64;
    Ok(Verified {
        checked: acked.len() as u64,
        missing,
        duplicates,
    })
}

/// A 64-bit key for an update's bytes (Weft's server relays the bytes it received unchanged).
pub(crate) fn bytes_key(bytes: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// A WebSocket client stream.
pub(crate) type Ws = WebSocketStream<TcpStream>;

/// Small buffers, as the server uses: tungstenite's defaults (128 KiB each way) would cost the
/// generator over a gigabyte at 10,000 connections. Reads take at most 256 bytes at a time
/// (the library zero-fills that much on every poll for input; a broadcast update frame is
/// smaller, and the rare large join answer takes a few more reads).
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(256)
        .write_buffer_size(0)
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20))
}

/// Opens a WebSocket to `ws://{addr}{path}` (TCP_NODELAY, small buffers) within `timeout`.
pub(crate) async fn connect(addr: SocketAddr, path: &str, timeout: Duration) -> Result<Ws, String> {
    let open = async {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        tcp.set_nodelay(true)
            .map_err(|e| format!("TCP_NODELAY: {e}"))?;
        let url = format!("ws://{addr}{path}");
        let (ws, _) = client_async_with_config(url.as_str(), tcp, Some(ws_config()))
            .await
            .map_err(|e| format!("WebSocket handshake with {url}: {e}"))?;
        Ok(ws)
    };
    tokio::time::timeout(timeout, open)
        .await
        .map_err(|_| format!("connect {addr}{path}: timed out"))?
}

/// Resolves once `flag` is true (never, if its sender is gone while false).
pub(crate) async fn wait_true(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// A fast, seeded random number generator for phases and jitter.
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    /// The next 64 random bits (SplitMix64).
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A duration uniformly in `0..max`.
    pub(crate) fn below(&mut self, max: Duration) -> Duration {
        let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX).max(1);
        Duration::from_nanos(self.next_u64() % nanos)
    }
}

/// Adds `n` to a gauge.
pub(crate) fn gauge(g: &AtomicI64, n: i64) {
    g.fetch_add(n, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_detect_damage() {
        let mut text = String::new();
        let mut t = String::new();
        for (c, s) in [(3, 0), (1, 7), (3, 1), (4_000_000_000, 12)] {
            write_token(&mut t, c, s);
            text.insert_str(0, &t);
        }
        let found = parse_tokens(&text).unwrap_or_default();
        assert_eq!(found.len(), 4);
        assert_eq!(found.get(&token_id(1, 7)), Some(&1));
        let v = check_room(&text, &[token_id(3, 1), token_id(9, 9)]);
        assert_eq!(
            v,
            Ok(Verified {
                checked: 2,
                missing: 1,
                duplicates: 0
            })
        );
        let doubled = format!("{text}[1.7]");
        assert_eq!(check_room(&doubled, &[]).map(|v| v.duplicates), Ok(1));
        assert!(parse_tokens("[1.2][3.").is_err());
        assert!(parse_tokens("[1.2]x").is_err());
        assert!(parse_tokens("[1x2]").is_err());
        assert_eq!(parse_tokens("").map(|m| m.len()), Ok(0));
    }

    #[test]
    fn deliveries_count_down_per_peer() {
        let room = Room::new("r".into(), 3);
        let t0 = Instant::now();
        room.sent(7, t0);
        assert!(room.delivered(7, t0 + Duration::from_millis(2)).is_some());
        assert!(room.delivered(8, t0).is_none());
        assert_eq!(room.take_missed(), 1);
        assert_eq!(room.take_missed(), 0);
        room.sent(9, t0);
        assert!(room.delivered(9, t0).is_some());
        assert!(room.delivered(9, t0).is_some());
        assert!(room.delivered(9, t0).is_none());
        assert_eq!(room.take_missed(), 0);
    }
}
