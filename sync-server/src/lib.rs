//! The Weft relay server: WebSocket sync of many documents per connection, a durable embedded
//! store, access tokens, limits, metrics and static hosting of the demo, in one process.
//!
//! [`run`] serves on a bound listener until a shutdown future resolves; the `weft-server` binary
//! adds flags, logging and signal handling around it. The wire protocol is `weft::sync`,
//! described in `docs/PROTOCOL.md`.
//!
//! Code map: [`connection`] (one client) → [`rooms`] (registry) → [`room`] (one actor per
//! document, owns its `weft::Doc`) → [`store`] (durable, group commit) and [`fanout`]
//! (delivery to subscribers); [`http`] and [`static_files`] serve everything else; [`woken`]
//! keeps a connection from polling its socket on wake-ups that were not for it.

pub mod auth;
pub mod config;
pub mod connection;
pub mod fanout;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod room;
pub mod rooms;
pub mod static_files;
pub mod store;
pub mod woken;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::auth::{Auth, OriginPolicy};
use crate::config::Config;
use crate::connection::ConnShared;
use crate::metrics::Metrics;
use crate::room::RoomConfig;
use crate::rooms::Rooms;
use crate::store::{GroupCommit, SqliteStore, Store, StoreError};

/// Why the server could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store failed to open or to flush at shutdown.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// State shared by every connection.
pub(crate) struct Server {
    conn: ConnShared,
    origins: OriginPolicy,
    static_dir: Option<PathBuf>,
    pkg_dir: Option<PathBuf>,
    ws_config: WebSocketConfig,
    next_client: AtomicU64,
    open_sockets: AtomicUsize,
    ready: AtomicBool,
}

/// Resolves once `stop` becomes true (or its sender is gone).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// The WebSocket settings for a configuration: small buffers (so thousands of idle
/// connections stay cheap) and the frame limit. Frames queued together (up to 4 KiB) go out in
/// one socket write when the connection flushes. Reads take at most 1 KiB at a time: the
/// WebSocket library zero-fills that much of its buffer each time the connection polls for
/// input, which it does whenever it wakes (for every frame it sends, too), while the frames a
/// client sends are mostly far smaller.
pub fn websocket_config(config: &Config) -> WebSocketConfig {
    let max = config.limits.max_frame_bytes.max(1024);
    WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(4 * 1024)
        .max_write_buffer_size(max.saturating_mul(2).saturating_add(64 * 1024))
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
}

/// Serves on `listener` until `shutdown` resolves, then stops accepting, closes every client
/// with a "going away, retry" code once its pending acks are sent, commits everything and
/// closes the store.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let metrics = Arc::new(Metrics::default());
    let commit = GroupCommit {
        window: Duration::from_micros(config.tuning.commit_window_us),
        max_batch: config.tuning.max_commit_batch,
    };
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(
        &config.data_dir,
        commit,
        Arc::clone(&metrics),
    )?);
    let room_config = RoomConfig {
        max_doc_bytes: config.limits.max_doc_bytes,
        presence_timeout: config.limits.presence_timeout(),
        compact_after_updates: config.tuning.compact_after_updates,
        compact_after_bytes: config.tuning.compact_after_bytes,
        idle_evict: Duration::from_millis(config.tuning.idle_evict_ms),
        queue: config.tuning.room_queue,
        fanout: config.tuning.fanout,
    };
    let rooms = Arc::new(Rooms::new(
        Arc::clone(&store),
        room_config,
        Arc::clone(&metrics),
    ));
    let (stop_tx, stop_rx) = watch::channel(false);
    let server = Arc::new(Server {
        conn: ConnShared {
            limits: config.limits.clone(),
            auth: Auth::new(config.auth_secret.as_deref()),
            rooms: Arc::clone(&rooms),
            metrics: Arc::clone(&metrics),
            stop: stop_rx,
            shutdown_grace: Duration::from_millis(config.tuning.shutdown_grace_ms),
        },
        origins: OriginPolicy::new(&config.allowed_origins),
        static_dir: config.static_dir.clone(),
        pkg_dir: config.pkg_dir.clone(),
        ws_config: websocket_config(&config),
        next_client: AtomicU64::new(1),
        open_sockets: AtomicUsize::new(0),
        ready: AtomicBool::new(true),
    });

    // Every TCP connection holds a clone; shutdown waits until all are dropped.
    let (alive, mut all_closed) = mpsc::channel::<()>(1);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _peer)) => {
                    tokio::spawn(http::serve_tcp(Arc::clone(&server), tcp, alive.clone()));
                }
                Err(error) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    tracing::info!("shutting down: closing connections");
    drop(listener);
    server.ready.store(false, Ordering::Relaxed);
    stop_tx.send_replace(true);
    drop(alive);
    let grace = Duration::from_millis(config.tuning.shutdown_grace_ms) + Duration::from_secs(3);
    if tokio::time::timeout(grace, all_closed.recv())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not close in time");
    }
    tracing::info!("shutting down: committing documents");
    rooms.shutdown().await;
    store.close().await?;
    tracing::info!("shutdown complete");
    Ok(())
}
