//! Server configuration: command-line flags, each with an environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, ValueEnum};

/// Everything `weft-server` can be told at startup.
#[derive(Parser, Clone, Debug)]
#[command(
    name = "weft-server",
    version,
    about = "Durable WebSocket relay for Weft documents"
)]
pub struct Config {
    /// Address to listen on (HTTP and WebSocket share it).
    #[arg(long, env = "WEFT_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Directory of the embedded store (created if missing).
    #[arg(long, env = "WEFT_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Directory whose files are served at `/` (the demo). A built-in placeholder page is
    /// served at `/` while it is missing.
    #[arg(long, env = "WEFT_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,

    /// Directory whose files are served under `/pkg/` (the npm package).
    #[arg(long, env = "WEFT_PKG_DIR")]
    pub pkg_dir: Option<PathBuf>,

    /// HMAC-SHA256 secret for access tokens. Without it the server runs in open dev mode:
    /// anyone may read and write every document.
    #[arg(long, env = "WEFT_AUTH_SECRET", hide_env_values = true)]
    pub auth_secret: Option<String>,

    /// Browser origins allowed to open WebSockets (comma-separated, e.g.
    /// `https://app.example.com`). Empty allows every origin.
    #[arg(long, env = "WEFT_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Log format.
    #[arg(long, env = "WEFT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Limits, on by default.
    #[command(flatten)]
    pub limits: LimitsConfig,

    /// Store, room and shutdown tuning.
    #[command(flatten)]
    pub tuning: Tuning,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// When a document's actor sends an accepted update to the other subscribers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Fanout {
    /// Right after the engine accepts it, while its commit runs: peers see edits one commit
    /// (about a millisecond plus an fsync) sooner. If the server crashes before the commit, the
    /// peers that received it still hold it and send it back on their next join.
    Apply,
    /// Only after the commit: every update a peer receives is already durable.
    Commit,
}

/// Limits that protect the server from any one client. All are on by default.
#[derive(Args, Clone, Debug)]
pub struct LimitsConfig {
    /// Largest WebSocket message accepted, in bytes.
    #[arg(long, env = "WEFT_MAX_FRAME_BYTES", default_value_t = 4 << 20)]
    pub max_frame_bytes: usize,

    /// Largest update accepted, in bytes.
    #[arg(long, env = "WEFT_MAX_UPDATE_BYTES", default_value_t = 4 << 20)]
    pub max_update_bytes: usize,

    /// Largest stored size of one document (its snapshot plus updates since), in bytes.
    #[arg(long, env = "WEFT_MAX_DOC_BYTES", default_value_t = 64 << 20)]
    pub max_doc_bytes: usize,

    /// Messages per second one connection may send (sustained).
    #[arg(long, env = "WEFT_MSG_RATE", default_value_t = 200.0)]
    pub msg_rate: f64,

    /// Messages one connection may send in a burst.
    #[arg(long, env = "WEFT_MSG_BURST", default_value_t = 1000.0)]
    pub msg_burst: f64,

    /// Bytes per second one connection may send (sustained).
    #[arg(long, env = "WEFT_BYTE_RATE", default_value_t = 2.0 * 1024.0 * 1024.0)]
    pub byte_rate: f64,

    /// Bytes one connection may send in a burst (at least one full frame).
    #[arg(long, env = "WEFT_BYTE_BURST", default_value_t = 16.0 * 1024.0 * 1024.0)]
    pub byte_burst: f64,

    /// Most WebSocket connections at once.
    #[arg(long, env = "WEFT_MAX_CONNECTIONS", default_value_t = 20_000)]
    pub max_connections: usize,

    /// Most documents one connection may have joined.
    #[arg(long, env = "WEFT_MAX_DOCS_PER_CONNECTION", default_value_t = 64)]
    pub max_docs_per_connection: usize,

    /// Largest presence blob, in bytes.
    #[arg(long, env = "WEFT_MAX_PRESENCE_BYTES", default_value_t = 4096)]
    pub max_presence_bytes: usize,

    /// Presence messages per second one connection may send.
    #[arg(long, env = "WEFT_PRESENCE_RATE", default_value_t = 30.0)]
    pub presence_rate: f64,

    /// Presence messages one connection may send in a burst.
    #[arg(long, env = "WEFT_PRESENCE_BURST", default_value_t = 60.0)]
    pub presence_burst: f64,

    /// Presence entries not refreshed for this long are removed (milliseconds).
    #[arg(long, env = "WEFT_PRESENCE_TIMEOUT_MS", default_value_t = 30_000)]
    pub presence_timeout_ms: u64,

    /// Time allowed for the HTTP request and the `Hello` message (milliseconds).
    #[arg(long, env = "WEFT_HANDSHAKE_TIMEOUT_MS", default_value_t = 10_000)]
    pub handshake_timeout_ms: u64,

    /// Interval between WebSocket pings to a connection that sent nothing during the last one
    /// (milliseconds).
    #[arg(long, env = "WEFT_PING_INTERVAL_MS", default_value_t = 20_000)]
    pub ping_interval_ms: u64,

    /// A connection from which nothing (not even a pong) arrives for this long is closed
    /// (milliseconds).
    #[arg(long, env = "WEFT_IDLE_TIMEOUT_MS", default_value_t = 60_000)]
    pub idle_timeout_ms: u64,

    /// A write that does not complete within this long closes the connection as a slow
    /// consumer (milliseconds).
    #[arg(long, env = "WEFT_WRITE_TIMEOUT_MS", default_value_t = 30_000)]
    pub write_timeout_ms: u64,

    /// Messages queued for one connection before it is told to resync.
    #[arg(long, env = "WEFT_OUTBOUND_QUEUE", default_value_t = 256)]
    pub outbound_queue: usize,

    /// Updates of one connection awaiting their commit before the server stops reading from it.
    #[arg(long, env = "WEFT_MAX_INFLIGHT", default_value_t = 256)]
    pub max_inflight: usize,
}

/// Store, room and shutdown tuning.
#[derive(Args, Clone, Debug)]
pub struct Tuning {
    /// Group commit: how long the store waits for more writes after the first one of a batch
    /// (microseconds; 0 commits what is queued at once).
    #[arg(long, env = "WEFT_COMMIT_WINDOW_US", default_value_t = 1000)]
    pub commit_window_us: u64,

    /// Most writes in one commit.
    #[arg(long, env = "WEFT_MAX_COMMIT_BATCH", default_value_t = 4096)]
    pub max_commit_batch: usize,

    /// Compact a document into a snapshot after this many stored updates.
    #[arg(long, env = "WEFT_COMPACT_AFTER_UPDATES", default_value_t = 1000)]
    pub compact_after_updates: usize,

    /// Compact a document into a snapshot after this many bytes of stored updates.
    #[arg(long, env = "WEFT_COMPACT_AFTER_BYTES", default_value_t = 4 << 20)]
    pub compact_after_bytes: usize,

    /// Evict a document from memory after it has had no subscribers for this long
    /// (milliseconds).
    #[arg(long, env = "WEFT_IDLE_EVICT_MS", default_value_t = 30_000)]
    pub idle_evict_ms: u64,

    /// Commands queued for one document actor before senders wait.
    #[arg(long, env = "WEFT_ROOM_QUEUE", default_value_t = 1024)]
    pub room_queue: usize,

    /// When an update goes to the document's other subscribers: as soon as the engine accepts
    /// it (`apply`, while its commit runs), or only once it is committed (`commit`). The
    /// author's `Ack(Ok)` waits for the commit either way.
    #[arg(long, env = "WEFT_FANOUT", value_enum, default_value_t = Fanout::Apply)]
    pub fanout: Fanout,

    /// Threads that run connections and document actors: 1 runs them all on one thread (no
    /// hand-offs between threads; the store and file reads keep their own threads); 0 means one
    /// per CPU core.
    #[arg(long, env = "WEFT_WORKER_THREADS", default_value_t = 0)]
    pub worker_threads: usize,

    /// On shutdown, how long connections get to receive their pending acks (milliseconds).
    #[arg(long, env = "WEFT_SHUTDOWN_GRACE_MS", default_value_t = 5_000)]
    pub shutdown_grace_ms: u64,
}

impl Config {
    /// Whether access tokens are required.
    pub fn auth_enabled(&self) -> bool {
        self.auth_secret.as_deref().is_some_and(|s| !s.is_empty())
    }
}

impl LimitsConfig {
    /// The handshake timeout.
    pub fn handshake_timeout(&self) -> Duration {
        Duration::from_millis(self.handshake_timeout_ms)
    }

    /// The presence timeout.
    pub fn presence_timeout(&self) -> Duration {
        Duration::from_millis(self.presence_timeout_ms)
    }
}
