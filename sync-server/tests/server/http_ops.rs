//! HTTP endpoints, static files, origins, the connection limit and graceful shutdown.

use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use weft::sync::CloseCode;

use crate::common::{Client, TempDir, TestServer, config, http_get, raw, raw_close_code};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_and_files() {
    let dir = TempDir::new("http");
    let site = TempDir::new("site");
    let pkg = TempDir::new("pkg");
    std::fs::write(
        site.path().join("index.html"),
        "<!doctype html><title>demo</title>",
    )
    .expect("write");
    std::fs::create_dir_all(site.path().join("assets")).expect("mkdir");
    std::fs::write(site.path().join("assets/app.js"), "console.log(1)").expect("write");
    std::fs::write(pkg.path().join("weft_bg.wasm"), [0, 97, 115, 109]).expect("write");
    std::fs::write(dir.path().join("secret.txt"), "secret").expect("write");

    // Without a built demo: the placeholder page.
    let server = TestServer::start(config(dir.path(), &[])).await;
    let (status, body) = http_get(server.addr, "/", "").await;
    assert_eq!(status, 200);
    assert!(body.contains(r#"<link rel="icon" href="data:,">"#));
    server.shutdown().await;

    let site_dir = site.path().display().to_string();
    let pkg_dir = pkg.path().display().to_string();
    let server = TestServer::start(config(
        dir.path(),
        &["--static-dir", &site_dir, "--pkg-dir", &pkg_dir],
    ))
    .await;
    let addr = server.addr;
    let (status, body) = http_get(addr, "/healthz", "").await;
    assert_eq!((status, body.ends_with("ok\n")), (200, true));
    let (status, _) = http_get(addr, "/readyz", "").await;
    assert_eq!(status, 200);
    let (status, body) = http_get(addr, "/", "").await;
    assert_eq!(status, 200);
    assert!(body.contains("<title>demo</title>"));
    assert!(
        body.to_ascii_lowercase()
            .contains("content-type: text/html")
    );
    let (status, body) = http_get(addr, "/assets/app.js", "").await;
    assert_eq!(status, 200);
    assert!(
        body.to_ascii_lowercase()
            .contains("content-type: text/javascript")
    );
    let (status, body) = http_get(addr, "/pkg/weft_bg.wasm", "").await;
    assert_eq!(status, 200);
    assert!(
        body.to_ascii_lowercase()
            .contains("content-type: application/wasm")
    );
    for path in [
        "/missing.js",
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/pkg/../secret.txt",
    ] {
        let (status, body) = http_get(addr, path, "").await;
        assert_eq!(status, 404, "{path}");
        assert!(
            !body.contains("secret\n") && !body.ends_with("secret"),
            "{path}"
        );
    }
    // Some traffic, then the metrics show it.
    let mut c = Client::connect(&server.ws_url(), None).await;
    c.join("m").await;
    let b = c.edit("m", "x").await;
    assert_eq!(c.wait_acks(&[b]).await, 1);
    let (status, metrics) = http_get(addr, "/metrics", "").await;
    assert_eq!(status, 200);
    for needle in [
        "weft_connections 1",
        "weft_documents_loaded 1",
        "weft_updates_in_total 1",
        "weft_ack_latency_seconds_count 1",
        "weft_commit_batch_size_bucket",
        "weft_rejections_total{status=\"invalid\"} 0",
    ] {
        assert!(
            metrics.contains(needle),
            "metrics lack {needle}:\n{metrics}"
        );
    }
    // A non-upgrade request to /ws is refused.
    let (status, _) = http_get(addr, "/ws", "").await;
    assert_eq!(status, 400);
    c.close().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origins_and_connection_limit() {
    let dir = TempDir::new("origins");
    let server = TestServer::start(config(
        dir.path(),
        &[
            "--allowed-origins",
            "https://ok.example",
            "--max-connections",
            "2",
        ],
    ))
    .await;
    let url = server.ws_url();
    let with_origin = |origin: &'static str| {
        let mut req = url.as_str().into_client_request().expect("request");
        req.headers_mut()
            .insert("Origin", HeaderValue::from_static(origin));
        req
    };
    let refused = tokio_tungstenite::connect_async(with_origin("https://evil.example")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status(), 403),
        other => panic!("expected 403, got {other:?}"),
    }
    let (ok, _) = tokio_tungstenite::connect_async(with_origin("https://ok.example"))
        .await
        .expect("allowed origin");
    drop(ok);

    // At the limit, further sockets are closed with "try again later".
    let a = Client::connect(&url, None).await;
    let b = Client::connect(&url, None).await;
    let mut third = raw(&url).await;
    assert_eq!(
        raw_close_code(&mut third).await,
        Some(CloseCode::TRY_AGAIN_LATER.0)
    );
    drop((a, b));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_closes_clients_with_a_retry_code() {
    let dir = TempDir::new("graceful");
    let server = TestServer::start(config(dir.path(), &[])).await;
    let mut c = Client::connect(&server.ws_url(), None).await;
    c.join("g").await;
    let mut batches = Vec::new();
    for i in 0..20 {
        batches.push(c.edit("g", &format!("[{i}]")).await);
    }
    let shutdown = tokio::spawn(server.shutdown());
    let frame = c.wait_closed().await.expect("close frame");
    assert_eq!(u16::from(frame.code), CloseCode::GOING_AWAY.0);
    assert!(matches!(
        CloseCode(u16::from(frame.code)).retry(),
        weft::sync::Retry::Backoff { .. }
    ));
    shutdown.await.expect("shutdown");
    let acked_ok: Vec<_> = batches
        .iter()
        .filter(|b| c.acked.get(b) == Some(&weft::sync::Status::Ok))
        .collect();

    // Everything acknowledged before the close is there after a restart.
    let server = TestServer::start(config(dir.path(), &[])).await;
    let mut r = Client::connect(&server.ws_url(), None).await;
    r.join("g").await;
    let restored = r.text("g");
    for (i, b) in batches.iter().enumerate() {
        if acked_ok.contains(&b) {
            assert!(restored.contains(&format!("[{i}]")), "acked edit {i} lost");
        }
    }
    server.shutdown().await;
}
