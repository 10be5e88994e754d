//! When a room fans an update out relative to its commit (`--fanout apply|commit`), with a store
//! whose commits the test releases by hand.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;
use weft::Doc;
use weft::sync::{BatchId, ClientId, ClientMessage, Handle, ServerMessage, Status};
use weft_server::config::Fanout;
use weft_server::metrics::Metrics;
use weft_server::store::{Store, StoreFuture, StoredDoc};

use crate::common::{TempDir, append, config, content};
use crate::pipe::{Harness, Pipe};

/// How long a test waits to be sure a frame does not come.
const QUIET: Duration = Duration::from_millis(300);

/// An in-memory store whose appends commit only once the gate opens.
struct GatedStore {
    open: watch::Receiver<bool>,
}

impl Store for GatedStore {
    fn load(&self, _doc: &str) -> StoreFuture<StoredDoc> {
        Box::pin(async { Ok(StoredDoc::default()) })
    }

    fn append(&self, _doc: &str, _update: Bytes) -> StoreFuture<()> {
        let mut open = self.open.clone();
        Box::pin(async move {
            let _ = open.wait_for(|o| *o).await;
            Ok(())
        })
    }

    fn compact(&self, _doc: &str, _snapshot: Bytes) -> StoreFuture<()> {
        Box::pin(async { Ok(()) })
    }

    fn close(&self) -> StoreFuture<()> {
        Box::pin(async { Ok(()) })
    }
}

/// A server over a closed gate, and the sender that opens it.
fn gated_server(dir: &TempDir, fanout: Fanout) -> (Harness, watch::Sender<bool>) {
    let (gate, open) = watch::channel(false);
    let store: Arc<dyn Store> = Arc::new(GatedStore { open });
    let metrics = Arc::new(Metrics::default());
    let server = Harness::new(&config(dir.path(), &[]), store, fanout, &metrics);
    (server, gate)
}

async fn joined(server: &Harness, client: u64) -> (Pipe, Handle) {
    let mut pipe = server.connect(ClientId(client), 64);
    pipe.handshake().await;
    let (handle, _) = pipe.join("doc", &Doc::new().state_vector().encode()).await;
    (pipe, handle)
}

async fn send_update(pipe: &Pipe, handle: Handle, batch: u64, update: &[u8]) {
    pipe.send(ClientMessage::Update {
        handle,
        batch: BatchId(batch),
        update,
    })
    .await;
}

/// Applies the next `Update` frame to `doc`, skipping presence and other frames.
async fn apply_next_update(pipe: &mut Pipe, doc: &mut Doc) {
    loop {
        let frame = pipe.recv().await;
        if let Ok(ServerMessage::Update { update, .. }) = ServerMessage::decode(&frame) {
            doc.apply_update(update).expect("valid update");
            return;
        }
    }
}

fn is_ack_ok(frame: &[u8], batch: u64) -> bool {
    matches!(
        ServerMessage::decode(frame),
        Ok(ServerMessage::Ack { batch: b, status: Status::Ok, .. }) if b == BatchId(batch)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_on_apply_reaches_peers_before_the_commit_and_acks_after_it() {
    let dir = TempDir::new("fanout-apply");
    let (server, gate) = gated_server(&dir, Fanout::Apply);
    let (mut writer, handle) = joined(&server, 1).await;
    let (mut peer, _) = joined(&server, 2).await;

    let mut author = Doc::new();
    send_update(&writer, handle, 1, &append(&mut author, "early")).await;
    let mut seen = Doc::new();
    apply_next_update(&mut peer, &mut seen).await;
    assert_eq!(content(&mut seen), "early");
    assert_eq!(
        writer.recv_within(QUIET).await,
        None,
        "no ack before the commit"
    );

    gate.send_replace(true);
    let ack = writer.recv().await;
    assert!(is_ack_ok(&ack, 1), "ack once committed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_on_commit_sends_nothing_before_the_commit() {
    let dir = TempDir::new("fanout-commit");
    let (server, gate) = gated_server(&dir, Fanout::Commit);
    let (mut writer, handle) = joined(&server, 1).await;
    let (mut peer, _) = joined(&server, 2).await;

    let mut author = Doc::new();
    send_update(&writer, handle, 1, &append(&mut author, "durable")).await;
    assert_eq!(
        peer.recv_within(QUIET).await,
        None,
        "nothing before the commit"
    );
    assert_eq!(writer.recv_within(QUIET).await, None, "no ack either");

    gate.send_replace(true);
    let ack = writer.recv().await;
    assert!(is_ack_ok(&ack, 1));
    let mut seen = Doc::new();
    apply_next_update(&mut peer, &mut seen).await;
    assert_eq!(content(&mut seen), "durable");
}

/// A join that arrives while an update is being committed is answered after that commit; updates
/// fanned out on apply in the meantime must still reach it, after its answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_answered_after_a_commit_gets_the_updates_fanned_out_meanwhile() {
    let dir = TempDir::new("fanout-join");
    let (server, gate) = gated_server(&dir, Fanout::Apply);
    let (writer, handle) = joined(&server, 1).await;
    let (mut early, _) = joined(&server, 2).await;
    let mut author = Doc::new();
    let mut early_doc = Doc::new();

    send_update(&writer, handle, 1, &append(&mut author, "A")).await;
    apply_next_update(&mut early, &mut early_doc).await;
    let mut late = server.connect(ClientId(3), 64);
    late.handshake().await;
    late.send(ClientMessage::Join {
        doc: "doc",
        state_vector: &Doc::new().state_vector().encode(),
    })
    .await;
    assert_eq!(
        late.recv_within(QUIET).await,
        None,
        "the join waits for the commit of A"
    );
    send_update(&writer, handle, 2, &append(&mut author, "B")).await;
    // B has been applied and fanned out once the early subscriber has it.
    apply_next_update(&mut early, &mut early_doc).await;
    assert_eq!(content(&mut early_doc), "AB");

    gate.send_replace(true);
    let mut late_doc = Doc::new();
    loop {
        let frame = late.recv().await;
        if let Ok(ServerMessage::Joined { update, .. }) = ServerMessage::decode(&frame) {
            late_doc.apply_update(update).expect("valid diff");
            break;
        }
    }
    assert_eq!(
        content(&mut late_doc),
        "A",
        "the answer covers what was committed"
    );
    apply_next_update(&mut late, &mut late_doc).await;
    assert_eq!(content(&mut late_doc), "AB");
}
