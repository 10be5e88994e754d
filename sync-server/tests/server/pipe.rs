//! A connection driven through channels instead of a socket: the test holds one end, the
//! server's connection loop (`connection::serve`) the other.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{Sink, Stream};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use weft::sync::{ClientId, ClientMessage, Handle, PROTOCOL_VERSION, ServerMessage};
use weft_server::auth::Auth;
use weft_server::config::{Config, Fanout};
use weft_server::connection::{self, ConnShared};
use weft_server::metrics::Metrics;
use weft_server::room::RoomConfig;
use weft_server::rooms::Rooms;
use weft_server::store::Store;

use crate::common::WAIT;

/// An in-process server without a listener: rooms over a store, open dev mode, connections
/// driven through channels.
pub(crate) struct Harness {
    shared: Arc<ConnShared>,
    /// Kept so the connections never see a stop signal.
    _stop: watch::Sender<bool>,
}

impl Harness {
    /// A server with the limits of `config`, storing into `store`, fanning out as `fanout` says.
    pub(crate) fn new(
        config: &Config,
        store: Arc<dyn Store>,
        fanout: Fanout,
        metrics: &Arc<Metrics>,
    ) -> Self {
        let rooms = Arc::new(Rooms::new(
            store,
            RoomConfig {
                max_doc_bytes: 1 << 20,
                presence_timeout: Duration::from_secs(30),
                compact_after_updates: 1000,
                compact_after_bytes: 1 << 20,
                idle_evict: Duration::from_secs(30),
                queue: 64,
                fanout,
            },
            Arc::clone(metrics),
        ));
        let (stop_tx, stop) = watch::channel(false);
        let shared = Arc::new(ConnShared {
            limits: config.limits.clone(),
            auth: Auth::new(None),
            rooms,
            metrics: Arc::clone(metrics),
            stop,
            shutdown_grace: Duration::from_secs(1),
        });
        Self {
            shared,
            _stop: stop_tx,
        }
    }

    /// Starts a connection whose outgoing side holds `out_capacity` frames and returns the
    /// test's end of it.
    pub(crate) fn connect(&self, client: ClientId, out_capacity: usize) -> Pipe {
        let (pipe, sink, stream) = channel_socket(out_capacity);
        let s = Arc::clone(&self.shared);
        tokio::spawn(async move { connection::serve(sink, stream, &s, client).await });
        pipe
    }
}

/// The test's end of a channel-driven connection.
pub(crate) struct Pipe {
    to_server: mpsc::Sender<Message>,
    from_server: mpsc::Receiver<Message>,
}

fn channel_socket(
    out_capacity: usize,
) -> (
    Pipe,
    impl Sink<Message, Error = &'static str> + Unpin,
    impl Stream<Item = Result<Message, WsError>> + Unpin,
) {
    let (to_server, server_in) = mpsc::channel::<Message>(64);
    let (server_out, from_server) = mpsc::channel::<Message>(out_capacity);
    let sink = Box::pin(futures_util::sink::unfold(
        server_out,
        |tx, msg: Message| async move {
            tx.send(msg).await.map_err(|_| "closed")?;
            Ok::<_, &'static str>(tx)
        },
    ));
    let stream = Box::pin(futures_util::stream::unfold(
        server_in,
        |mut rx| async move { rx.recv().await.map(|m| (Ok::<_, WsError>(m), rx)) },
    ));
    (
        Pipe {
            to_server,
            from_server,
        },
        sink,
        stream,
    )
}

impl Pipe {
    pub(crate) async fn send(&self, msg: ClientMessage<'_>) {
        self.to_server
            .send(Message::Binary(msg.encode().into()))
            .await
            .expect("server reads");
    }

    pub(crate) async fn recv(&mut self) -> Vec<u8> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.from_server.recv())
                .await
                .expect("frame in time")
                .expect("open");
            if let Message::Binary(b) = msg {
                return b.to_vec();
            }
        }
    }

    /// The next binary frame if one arrives within `wait`.
    pub(crate) async fn recv_within(&mut self, wait: Duration) -> Option<Vec<u8>> {
        tokio::time::timeout(wait, self.recv()).await.ok()
    }

    pub(crate) async fn handshake(&mut self) {
        self.send(ClientMessage::Hello {
            min_version: 1,
            max_version: PROTOCOL_VERSION,
            token: None,
        })
        .await;
        let frame = self.recv().await;
        assert!(matches!(
            ServerMessage::decode(&frame),
            Ok(ServerMessage::Welcome { .. })
        ));
    }

    /// Joins `doc` from `sv` and returns the handle and the update the server sent.
    pub(crate) async fn join(&mut self, doc: &str, sv: &[u8]) -> (Handle, Vec<u8>) {
        self.send(ClientMessage::Join {
            doc,
            state_vector: sv,
        })
        .await;
        loop {
            let frame = self.recv().await;
            if let Ok(ServerMessage::Joined { handle, update, .. }) = ServerMessage::decode(&frame)
            {
                return (handle, update.to_vec());
            }
        }
    }
}
