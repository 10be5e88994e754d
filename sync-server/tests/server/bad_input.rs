//! Hostile and broken clients get a clear status or close code, everyone else keeps being
//! served, and nothing stored is lost or corrupted.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::SinkExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use weft::sync::{
    Access, BatchId, ClientMessage, CloseCode, Handle, PROTOCOL_VERSION, ServerMessage, Status,
};
use weft_server::auth::Claims;

use crate::common::{Client, TempDir, TestServer, WAIT, config, raw, raw_close_code};

/// Sends one binary frame on a fresh raw socket after a valid Hello, returns the close code.
async fn close_code_after(url: &str, frames: Vec<Message>) -> Option<u16> {
    let mut ws = raw(url).await;
    let hello = ClientMessage::Hello {
        min_version: 1,
        max_version: PROTOCOL_VERSION,
        token: None,
    }
    .encode();
    ws.send(Message::Binary(hello.into())).await.expect("hello");
    for f in frames {
        if ws.send(f).await.is_err() {
            break;
        }
    }
    raw_close_code(&mut ws).await
}

fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut s = seed;
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_is_refused_while_others_keep_working() {
    let dir = TempDir::new("garbage");
    let cfg = || {
        config(
            dir.path(),
            &[
                "--max-frame-bytes",
                "65536",
                "--max-update-bytes",
                "16384",
                "--handshake-timeout-ms",
                "400",
            ],
        )
    };
    let server = TestServer::start(cfg()).await;
    let url = server.ws_url();

    // A well-behaved client works throughout.
    let mut good = Client::connect(&url, None).await;
    good.join("precious").await;
    let mut good_batches = vec![good.edit("precious", "[before]").await];

    // Random bytes, before and after the handshake: protocol error.
    let mut rnd = xorshift(7);
    for round in 0..20 {
        let len = 1 + (rnd() % 64) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rnd() as u8).collect();
        let code = close_code_after(&url, vec![Message::Binary(bytes.clone().into())]).await;
        assert!(
            code == Some(CloseCode::PROTOCOL_ERROR.0),
            "random frame {round} gave {code:?}"
        );
        let mut ws = raw(&url).await;
        ws.send(Message::Binary(bytes.into())).await.expect("send");
        let code = raw_close_code(&mut ws).await;
        assert!(
            code == Some(CloseCode::PROTOCOL_ERROR.0)
                || code == Some(CloseCode::UNSUPPORTED_VERSION.0),
            "random first frame gave {code:?}"
        );
        if round % 5 == 0 {
            good_batches.push(good.edit("precious", &format!("[during-{round}]")).await);
        }
    }

    // Truncated frames.
    let full = ClientMessage::Update {
        handle: Handle(1),
        batch: BatchId(1),
        update: &[1, 2, 3, 4, 5, 6],
    }
    .encode();
    for cut in 1..full.len() {
        let code = close_code_after(&url, vec![Message::Binary(full[..cut].to_vec().into())]).await;
        assert_eq!(code, Some(CloseCode::PROTOCOL_ERROR.0), "cut at {cut}");
    }
    // Oversized frame.
    let big = vec![0u8; 70_000];
    let code = close_code_after(&url, vec![Message::Binary(big.into())]).await;
    assert_eq!(code, Some(CloseCode::MESSAGE_TOO_BIG.0));
    // Text frames.
    let code = close_code_after(&url, vec![Message::Text("hello".into())]).await;
    assert_eq!(code, Some(CloseCode::UNSUPPORTED_DATA.0));
    // A second Hello.
    let hello = ClientMessage::Hello {
        min_version: 1,
        max_version: 1,
        token: None,
    }
    .encode();
    let code = close_code_after(&url, vec![Message::Binary(hello.into())]).await;
    assert_eq!(code, Some(CloseCode::PROTOCOL_ERROR.0));
    // No common version.
    let mut ws = raw(&url).await;
    let future = ClientMessage::Hello {
        min_version: 9,
        max_version: 12,
        token: None,
    }
    .encode();
    ws.send(Message::Binary(future.into())).await.expect("send");
    assert_eq!(
        raw_close_code(&mut ws).await,
        Some(CloseCode::UNSUPPORTED_VERSION.0)
    );

    // A slow handshake: connected but silent.
    let t0 = Instant::now();
    let mut ws = raw(&url).await;
    assert_eq!(
        raw_close_code(&mut ws).await,
        Some(CloseCode::HANDSHAKE_TIMEOUT.0)
    );
    assert!(t0.elapsed() < Duration::from_secs(5));
    // A slow HTTP request (headers never finish) is dropped too.
    let mut tcp = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("tcp");
    tcp.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let mut buf = [0u8; 256];
    let read = tokio::time::timeout(WAIT, tcp.read(&mut buf))
        .await
        .expect("closed in time");
    let n = read.unwrap_or(0);
    assert!(
        n == 0 || buf.starts_with(b"HTTP/1.1 4"),
        "slow request is cut off"
    );

    // Unknown documents and bad requests get statuses, not closes.
    let mut probe = Client::connect(&url, None).await;
    probe.join("probe").await;
    probe
        .send(
            ClientMessage::Update {
                handle: Handle(987_654),
                batch: BatchId(77),
                update: &[1],
            }
            .encode(),
        )
        .await;
    probe
        .send(
            ClientMessage::Leave {
                handle: Handle(987_654),
            }
            .encode(),
        )
        .await;
    probe.add("").await;
    probe.add(&"x".repeat(600)).await;
    assert!(
        probe
            .pump_until(
                |c| c.errors.iter().any(|(s, _)| *s == Status::UnknownDocument)
                    && c.join_failures.len() == 2
            )
            .await
    );
    assert!(
        probe
            .join_failures
            .iter()
            .all(|(_, s)| *s == Status::BadRequest)
    );
    assert!(probe.closed.is_none(), "statuses, not a close");

    // Invalid and oversized updates are rejected with a status and never stored.
    let probe_handle = joined_handle(&mut probe, "probe").await;
    let junk = ClientMessage::Update {
        handle: probe_handle,
        batch: BatchId(1_000_001),
        update: b"definitely not an update",
    }
    .encode();
    probe.send(junk).await;
    let huge = vec![0u8; 20_000];
    let too_big = ClientMessage::Update {
        handle: probe_handle,
        batch: BatchId(1_000_002),
        update: &huge,
    }
    .encode();
    probe.send(too_big).await;
    let raw_acks = wait_raw_acks(&mut probe, &[1_000_001, 1_000_002]).await;
    assert_eq!(raw_acks, vec![Status::Invalid, Status::TooLarge]);

    // Through all of this the good client kept working.
    good_batches.push(good.edit("precious", "[after]").await);
    assert_eq!(good.wait_acks(&good_batches).await, good_batches.len());
    let text = good.text("precious");
    probe.close().await;
    good.close().await;
    server.shutdown().await;

    // Nothing stored was lost or corrupted: both documents load.
    let server = TestServer::start(cfg()).await;
    let mut check = Client::connect(&server.ws_url(), None).await;
    check.join("precious").await;
    assert_eq!(check.text("precious"), text);
    check.join("probe").await;
    assert_eq!(check.text("probe"), "");
    server.shutdown().await;
}

/// The handle of a joined document.
async fn joined_handle(client: &mut Client, doc: &str) -> Handle {
    client.session.doc_handle(doc).expect("joined")
}

/// Statuses of acks for batches sent around the session (in the order of `batches`).
async fn wait_raw_acks(client: &mut Client, batches: &[u64]) -> Vec<Status> {
    let mut seen = Vec::new();
    for &b in batches {
        let ok = client
            .pump_until(|c| c.raw_acks.iter().any(|(batch, _)| batch.0 == b))
            .await;
        assert!(ok, "ack for raw batch {b}");
        let status = client
            .raw_acks
            .iter()
            .find(|(batch, _)| batch.0 == b)
            .map(|(_, s)| *s)
            .expect("ack");
        seen.push(status);
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floods_are_rate_limited_then_closed() {
    let dir = TempDir::new("flood");
    let server = TestServer::start(config(
        dir.path(),
        &[
            "--msg-rate",
            "50",
            "--msg-burst",
            "100",
            "--presence-rate",
            "5",
            "--presence-burst",
            "5",
        ],
    ))
    .await;
    let url = server.ws_url();
    let mut calm = Client::connect(&url, None).await;
    calm.join("flooded").await;

    let mut flood = Client::connect(&url, None).await;
    flood.join("flooded").await;
    // Presence beyond its own rate is refused with a status.
    for i in 0..20 {
        flood
            .set_presence("flooded", format!("p{i}").as_bytes())
            .await;
    }
    assert!(
        flood
            .pump_until(|c| c.errors.iter().any(|(s, _)| *s == Status::RateLimited))
            .await
    );
    // Updates beyond the message rate are acked RateLimited, and a sustained flood is closed.
    let mut sent = 0;
    while flood.closed.is_none() && sent < 5_000 {
        for _ in 0..50 {
            flood.edit("flooded", &format!("f{sent};")).await;
            sent += 1;
        }
        flood.pump_for(Duration::from_millis(1)).await;
    }
    let frame = flood.wait_closed().await.expect("close frame");
    assert!(
        flood
            .raw_acks
            .iter()
            .any(|(_, s)| *s == Status::RateLimited),
        "updates over the rate are acked RateLimited before the close"
    );
    assert_eq!(u16::from(frame.code), CloseCode::RATE_LIMITED.0);

    // The calm client is unaffected.
    let b = calm.edit("flooded", "[calm]").await;
    assert_eq!(calm.wait_acks(&[b]).await, 1);
    server.shutdown().await;
}

fn token(secret: &str, doc: &str, access: &str, exp_offset: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let claims = Claims {
        doc: doc.into(),
        access: access.into(),
        exp: (now + exp_offset).max(0) as u64,
        sub: None,
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("token")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_enforced() {
    let dir = TempDir::new("auth");
    const SECRET: &str = "test-secret-please-change";
    let server = TestServer::start(config(dir.path(), &["--auth-secret", SECRET])).await;
    let url = server.ws_url();

    // Missing, forged and expired tokens are closed with codes that say what to do.
    for (token, code) in [
        (None, CloseCode::UNAUTHORIZED),
        (
            Some(token("wrong-secret", "*", "rw", 600)),
            CloseCode::UNAUTHORIZED,
        ),
        (Some("garbage".to_owned()), CloseCode::UNAUTHORIZED),
        (
            Some(token(SECRET, "*", "rw", -600)),
            CloseCode::TOKEN_EXPIRED,
        ),
    ] {
        let mut c = Client::connect(&url, token).await;
        let frame = c.wait_closed().await.expect("close frame");
        assert_eq!(u16::from(frame.code), code.0);
    }

    // A read-write token for one pattern.
    let mut writer = Client::connect(&url, Some(token(SECRET, "team/*", "rw", 600))).await;
    writer.join("team/plan").await;
    assert_eq!(writer.synced["team/plan"], Access::ReadWrite);
    let b = writer.edit("team/plan", "[written]").await;
    assert_eq!(writer.wait_acks(&[b]).await, 1);
    writer.add("elsewhere").await;
    assert!(
        writer
            .pump_until(|c| c
                .join_failures
                .contains(&("elsewhere".into(), Status::PermissionDenied)))
            .await
    );

    // A read-only client syncs and sends presence, but its writes are refused.
    let mut reader = Client::connect(&url, Some(token(SECRET, "team/plan", "ro", 600))).await;
    reader.join("team/plan").await;
    assert_eq!(reader.synced["team/plan"], Access::ReadOnly);
    assert!(reader.text("team/plan").contains("[written]"));
    let denied = reader.edit("team/plan", "[sneaky]").await;
    assert_eq!(reader.acked.get(&denied), Some(&Status::PermissionDenied));
    // Bypass the session's own check: the server refuses too.
    let handle = joined_handle(&mut reader, "team/plan").await;
    reader
        .send(
            ClientMessage::Update {
                handle,
                batch: BatchId(5_000),
                update: &writer_update(),
            }
            .encode(),
        )
        .await;
    assert_eq!(
        wait_raw_acks(&mut reader, &[5_000]).await,
        vec![Status::PermissionDenied]
    );
    let reader_id = reader.session.client_id().expect("id");
    reader.set_presence("team/plan", b"reading").await;
    assert!(
        writer
            .pump_until(|c| c.presence.contains_key(&("team/plan".into(), reader_id)))
            .await
    );
    let check = writer.edit("team/plan", "[still-writable]").await;
    assert_eq!(writer.wait_acks(&[check]).await, 1);
    assert!(!writer.text("team/plan").contains("[sneaky]"));

    // A token that expires while connected closes the connection with TOKEN_EXPIRED.
    let mut short = Client::connect(&url, Some(token(SECRET, "*", "rw", 1))).await;
    let frame = short.wait_closed().await.expect("close frame");
    assert_eq!(u16::from(frame.code), CloseCode::TOKEN_EXPIRED.0);
    server.shutdown().await;
}

fn writer_update() -> Vec<u8> {
    let mut doc = weft::Doc::new();
    crate::common::append(&mut doc, "[forced]")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_messages_from_a_bad_server_do_not_panic_the_session() {
    // The client side is total too: random frames give errors, never panics.
    let mut session = weft::sync::Session::new(None);
    let _ = session.connect();
    let mut rnd = xorshift(99);
    for _ in 0..5_000 {
        let len = (rnd() % 40) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| rnd() as u8).collect();
        if let Some(b) = bytes.first_mut() {
            *b = 0x81 + (*b % 8);
        }
        let _ = session.receive(&bytes);
    }
    let welcome = ServerMessage::Welcome {
        version: 1,
        client: weft::sync::ClientId(1),
        limits: weft::sync::Limits {
            max_frame_bytes: 1,
            max_update_bytes: 1,
            max_presence_bytes: 1,
            presence_timeout_ms: 1,
            max_documents: 1,
        },
    };
    assert!(session.receive(&welcome.encode()).is_ok());
}
