//! A connection that does not read: its bounded queue overflows into a resync request, never a
//! silent drop. The connection loop is driven through channels here (no sockets).

use std::sync::Arc;
use std::time::Duration;

use weft::Doc;
use weft::sync::{BatchId, ClientId, ClientMessage, ServerMessage, Status};
use weft_server::config::Fanout;
use weft_server::metrics::Metrics;
use weft_server::store::{GroupCommit, SqliteStore, Store};

use crate::common::{TempDir, append, config, content};
use crate::pipe::Harness;

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
    let server = Harness::new(&cfg, store, Fanout::Apply, &metrics);
    let mut writer = server.connect(ClientId(1), 64);
    // The slow side's socket holds a single frame.
    let mut slow = server.connect(ClientId(2), 1);

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
