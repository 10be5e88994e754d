//! A connection that does not read: its bounded queue overflows into a resync request, never a
//! silent drop. The connection loop is driven through channels here (no sockets).

use std::sync::Arc;
use std::time::Duration;

use futures_util::{Sink, Stream};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use weft::Doc;
use weft::sync::{
    BatchId, ClientId, ClientMessage, Handle, PROTOCOL_VERSION, ServerMessage, Status,
};
use weft_server::auth::Auth;
use weft_server::connection::{self, ConnShared};
use weft_server::metrics::Metrics;
use weft_server::room::RoomConfig;
use weft_server::rooms::Rooms;
use weft_server::store::{GroupCommit, SqliteStore, Store};

use crate::common::{TempDir, WAIT, append, config, content};

/// The test's end of a channel-driven connection.
struct Pipe {
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
    async fn send(&self, msg: ClientMessage<'_>) {
        self.to_server
            .send(Message::Binary(msg.encode().into()))
            .await
            .expect("server reads");
    }

    async fn recv(&mut self) -> Vec<u8> {
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

    async fn handshake(&mut self) {
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
    async fn join(&mut self, doc: &str, sv: &[u8]) -> (Handle, Vec<u8>) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overflowing_subscriber_is_told_to_resync() {
    let dir = TempDir::new("slow");
    let cfg = config(dir.path(), &["--outbound-queue", "4"]);
    let metrics = Arc::new(Metrics::default());
    let commit = GroupCommit {
        window: Duration::from_millis(1),
        max_batch: 64,
    };
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(dir.path(), commit, Arc::clone(&metrics)).expect("store"));
    let rooms = Arc::new(Rooms::new(
        Arc::clone(&store),
        RoomConfig {
            max_doc_bytes: 1 << 20,
            presence_timeout: Duration::from_secs(30),
            compact_after_updates: 1000,
            compact_after_bytes: 1 << 20,
            idle_evict: Duration::from_secs(30),
            queue: 64,
        },
        Arc::clone(&metrics),
    ));
    let (_stop_tx, stop) = watch::channel(false);
    let shared = Arc::new(ConnShared {
        limits: cfg.limits.clone(),
        auth: Auth::new(None),
        rooms: Arc::clone(&rooms),
        metrics: Arc::clone(&metrics),
        stop,
        shutdown_grace: Duration::from_secs(1),
    });

    let (mut writer, sink, stream) = channel_socket(64);
    let s = Arc::clone(&shared);
    tokio::spawn(async move { connection::serve(sink, stream, &s, ClientId(1)).await });
    // The slow side's socket holds a single frame.
    let (mut slow, sink, stream) = channel_socket(1);
    let s = Arc::clone(&shared);
    tokio::spawn(async move { connection::serve(sink, stream, &s, ClientId(2)).await });

    writer.handshake().await;
    slow.handshake().await;
    let empty_sv = Doc::new().state_vector().encode();
    let (handle, _) = writer.join("hot", &empty_sv).await;
    let (slow_handle, _) = slow.join("hot", &empty_sv).await;
    assert_eq!(handle, slow_handle, "one handle per document");

    // The writer sends 40 updates; the slow side reads nothing meanwhile.
    let mut author = Doc::new();
    for i in 0..40u64 {
        let update = append(&mut author, &format!("<{i}>"));
        writer
            .send(ClientMessage::Update {
                handle,
                batch: BatchId(i),
                update: &update,
            })
            .await;
    }
    let mut acked = 0;
    while acked < 40 {
        if let Ok(ServerMessage::Ack { status, .. }) = ServerMessage::decode(&writer.recv().await) {
            assert_eq!(status, Status::Ok);
            acked += 1;
        }
    }

    // Now the slow side reads: a few updates, then the request to resync.
    let mut slow_doc = Doc::new();
    let resynced = loop {
        match ServerMessage::decode(&slow.recv().await).expect("decodes") {
            ServerMessage::Update { update, .. } => {
                slow_doc.apply_update(update).expect("valid update");
            }
            ServerMessage::Left { handle: h, status } => {
                assert_eq!((h, status), (handle, Status::Resync));
                break true;
            }
            _ => {}
        }
    };
    assert!(resynced);
    assert!(metrics.resyncs.get() >= 1);
    // Joining again brings exactly what was missed.
    let (_, missing) = slow.join("hot", &slow_doc.state_vector().encode()).await;
    slow_doc.apply_update(&missing).expect("valid diff");
    let text = content(&mut slow_doc);
    for i in 0..40 {
        assert!(
            text.contains(&format!("<{i}>")),
            "update {i} missing after resync"
        );
    }
    assert_eq!(text, content(&mut author));
}
