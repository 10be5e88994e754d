//! Happy paths: convergence, offline edits, many documents per socket, presence.

use std::time::Duration;

use weft::sync::{Access, Status};

use crate::common::{Client, TempDir, TestServer, config};

fn marker(c: usize, i: usize) -> String {
    format!("<c{c}e{i}>")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_clients_on_one_document_converge() {
    let dir = TempDir::new("converge");
    let server = TestServer::start(config(dir.path(), &[])).await;
    let url = server.ws_url();
    const CLIENTS: usize = 8;
    const EDITS: usize = 25;
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = Client::connect(&url, None).await;
            client.join("shared").await;
            let mut batches = Vec::new();
            for i in 0..EDITS {
                batches.push(client.edit("shared", &marker(c, i)).await);
                if i % 5 == 0 {
                    client.pump_for(Duration::from_millis(5)).await;
                }
            }
            assert_eq!(
                client.wait_acks(&batches).await,
                EDITS,
                "every edit acked ok"
            );
            client
        }));
    }
    let mut clients = Vec::new();
    for t in tasks {
        clients.push(t.await.expect("client task"));
    }
    let expected_len: usize = (0..CLIENTS)
        .flat_map(|c| (0..EDITS).map(move |i| marker(c, i).len()))
        .sum();
    for client in &mut clients {
        let done = client
            .pump_until(|c| c.text("shared").len() == expected_len)
            .await;
        assert!(done, "client received every edit");
    }
    let texts: Vec<String> = clients.iter_mut().map(|c| c.text("shared")).collect();
    for (c, text) in texts.iter().enumerate() {
        assert_eq!(text, &texts[0], "client {c} converged");
    }
    for c in 0..CLIENTS {
        for i in 0..EDITS {
            assert!(texts[0].contains(&marker(c, i)));
        }
    }
    // A newcomer gets the same state in its join answer.
    let mut late = Client::connect(&url, None).await;
    late.join("shared").await;
    assert_eq!(late.text("shared"), texts[0]);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_edits_sync_on_reconnect() {
    let dir = TempDir::new("offline");
    let server = TestServer::start(config(dir.path(), &[])).await;
    let url = server.ws_url();
    let mut a = Client::connect(&url, None).await;
    let mut b = Client::connect(&url, None).await;
    a.join("doc").await;
    b.join("doc").await;
    let first = a.edit("doc", "[online]").await;
    assert_eq!(a.wait_acks(&[first]).await, 1);

    a.drop_connection();
    let offline: Vec<_> = vec![
        a.edit("doc", "[offline-1]").await,
        a.edit("doc", "[offline-2]").await,
    ];
    let from_b = b.edit("doc", "[b-while-a-away]").await;
    assert_eq!(b.wait_acks(&[from_b]).await, 1);
    assert_eq!(a.session.unacked("doc"), 2);

    a.reconnect().await;
    assert!(a.pump_until(|c| c.synced.contains_key("doc")).await);
    assert_eq!(
        a.wait_acks(&offline).await,
        2,
        "offline edits acked after reconnect"
    );
    assert_eq!(a.session.unacked("doc"), 0);
    assert!(
        b.pump_until(|c| c.text("doc").contains("[offline-2]"))
            .await
    );
    let (ta, tb) = (a.text("doc"), b.text("doc"));
    assert_eq!(ta, tb);
    for m in ["[online]", "[offline-1]", "[offline-2]", "[b-while-a-away]"] {
        assert!(ta.contains(m), "{m} in {ta}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_documents_per_socket() {
    let dir = TempDir::new("multidoc");
    let server = TestServer::start(config(dir.path(), &[])).await;
    let url = server.ws_url();
    let mut a = Client::connect(&url, None).await;
    let mut b = Client::connect(&url, None).await;
    const DOCS: usize = 20;
    for d in 0..DOCS {
        a.add(&format!("doc-{d}")).await;
        b.add(&format!("doc-{d}")).await;
    }
    assert!(a.pump_until(|c| c.synced.len() == DOCS).await);
    assert!(b.pump_until(|c| c.synced.len() == DOCS).await);
    let mut batches = Vec::new();
    for d in 0..DOCS {
        batches.push(a.edit(&format!("doc-{d}"), &format!("a{d};")).await);
    }
    assert_eq!(a.wait_acks(&batches).await, DOCS);
    let mut batches = Vec::new();
    for d in 0..DOCS {
        batches.push(b.edit(&format!("doc-{d}"), &format!("b{d};")).await);
    }
    assert_eq!(b.wait_acks(&batches).await, DOCS);
    let converged = |c: &mut Client| {
        (0..DOCS).all(|d| {
            let t = c.text(&format!("doc-{d}"));
            t.contains(&format!("a{d};")) && t.contains(&format!("b{d};"))
        })
    };
    assert!(a.pump_until(converged).await);
    assert!(b.pump_until(converged).await);
    for d in 0..DOCS {
        let id = format!("doc-{d}");
        let t = a.text(&id);
        assert_eq!(t, b.text(&id));
        assert_eq!(
            t.len(),
            format!("a{d};b{d};").len(),
            "no cross-talk between documents"
        );
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_appears_expires_and_leaves_with_the_client() {
    let dir = TempDir::new("presence");
    let server = TestServer::start(config(dir.path(), &["--presence-timeout-ms", "600"])).await;
    let url = server.ws_url();
    let mut a = Client::connect(&url, None).await;
    let mut b = Client::connect(&url, None).await;
    a.join("room").await;
    b.join("room").await;
    let a_id = a.session.client_id().expect("client id");

    a.set_presence("room", b"cursor:1").await;
    assert!(
        b.pump_until(
            |c| c.presence.get(&("room".into(), a_id)).map(Vec::as_slice) == Some(&b"cursor:1"[..])
        )
        .await,
        "presence appears"
    );
    // A newcomer sees existing presence in its join.
    let mut c = Client::connect(&url, None).await;
    c.join("room").await;
    assert!(
        c.pump_until(|c| c.presence.contains_key(&("room".into(), a_id)))
            .await
    );

    // Not refreshed: it expires.
    assert!(
        b.pump_until(|c| !c.presence.contains_key(&("room".into(), a_id)))
            .await,
        "presence expires"
    );

    // Set again, then the client disconnects: removed at once.
    a.set_presence("room", b"cursor:2").await;
    assert!(
        b.pump_until(|c| c.presence.contains_key(&("room".into(), a_id)))
            .await
    );
    a.close().await;
    let t0 = std::time::Instant::now();
    assert!(
        b.pump_until(|c| !c.presence.contains_key(&("room".into(), a_id)))
            .await
    );
    assert!(
        t0.elapsed() < Duration::from_millis(2_000),
        "removed on disconnect, not by expiry"
    );
    assert!(
        c.pump_until(|c| !c.presence.contains_key(&("room".into(), a_id)))
            .await
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_recovers_every_acknowledged_update_and_compacts() {
    let dir = TempDir::new("restart");
    let cfg = || config(dir.path(), &["--compact-after-updates", "10"]);
    let server = TestServer::start(cfg()).await;
    let mut a = Client::connect(&server.ws_url(), None).await;
    a.join("persist").await;
    let mut batches = Vec::new();
    for i in 0..35 {
        batches.push(a.edit("persist", &format!("({i})")).await);
    }
    assert_eq!(a.wait_acks(&batches).await, 35);
    let text = a.text("persist");
    a.close().await;
    server.shutdown().await;

    let server = TestServer::start(cfg()).await;
    let mut b = Client::connect(&server.ws_url(), None).await;
    b.join("persist").await;
    assert_eq!(b.text("persist"), text);
    assert_eq!(b.synced.get("persist"), Some(&Access::ReadWrite));
    let again = b.edit("persist", "(after)").await;
    assert_eq!(b.wait_acks(&[again]).await, 1);
    assert!(!b.acked.values().any(|s| *s != Status::Ok));
    server.shutdown().await;
}

/// Reads one metric's value from `/metrics`.
async fn metric(addr: std::net::SocketAddr, name: &str) -> f64 {
    let (_, body) = crate::common::http_get(addr, "/metrics", "").await;
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(f64::NAN)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_documents_are_compacted_and_evicted() {
    let dir = TempDir::new("evict");
    let server = TestServer::start(config(
        dir.path(),
        &[
            "--idle-evict-ms",
            "300",
            "--compact-after-updates",
            "1000000",
        ],
    ))
    .await;
    let mut a = Client::connect(&server.ws_url(), None).await;
    a.join("ev").await;
    let mut batches = Vec::new();
    for i in 0..5 {
        batches.push(a.edit("ev", &format!("{{{i}}}")).await);
    }
    assert_eq!(a.wait_acks(&batches).await, 5);
    let text = a.text("ev");
    assert_eq!(metric(server.addr, "weft_documents_loaded").await, 1.0);
    a.close().await;

    let deadline = std::time::Instant::now() + crate::common::WAIT;
    while metric(server.addr, "weft_documents_loaded").await != 0.0
        || metric(server.addr, "weft_compactions_total").await < 1.0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "document not compacted and evicted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Loaded again from its snapshot on the next join.
    let mut b = Client::connect(&server.ws_url(), None).await;
    b.join("ev").await;
    assert_eq!(b.text("ev"), text);
    server.shutdown().await;
}
