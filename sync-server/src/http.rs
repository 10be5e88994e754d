//! HTTP on the server's one port (hyper, HTTP/1.1): the WebSocket upgrade at `/ws`, health and
//! metrics endpoints, the npm package under `/pkg/` and the demo at `/`.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use weft::sync::{ClientId, CloseCode};

use crate::Server;
use crate::connection;
use crate::static_files::{self, PLACEHOLDER_PAGE};

type Body = Full<Bytes>;

/// Path of the WebSocket endpoint.
pub const WS_PATH: &str = "/ws";

/// Serves one TCP connection (HTTP requests, possibly upgraded to a WebSocket). `alive` is held
/// until the connection and any WebSocket it became are done.
pub(crate) async fn serve_tcp(server: Arc<Server>, tcp: TcpStream, alive: mpsc::Sender<()>) {
    let _ = tcp.set_nodelay(true);
    let io = TokioIo::new(tcp);
    let svc_server = Arc::clone(&server);
    let svc_alive = alive.clone();
    let service = service_fn(move |req| {
        let server = Arc::clone(&svc_server);
        let alive = svc_alive.clone();
        async move { Ok::<_, Infallible>(route(server, req, alive).await) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(server.conn.limits.handshake_timeout())
        .max_buf_size(16 * 1024);
    let conn = builder.serve_connection(io, service).with_upgrades();
    tokio::pin!(conn);
    let mut stop = server.conn.stop.clone();
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = crate::stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
        }
    }
    drop(alive);
}

fn response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut res = Response::new(Full::new(body.into()));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    response(status, "text/plain; charset=utf-8", body)
}

async fn route(
    server: Arc<Server>,
    req: Request<Incoming>,
    alive: mpsc::Sender<()>,
) -> Response<Body> {
    let path = req.uri().path().to_owned();
    if path == WS_PATH {
        return upgrade(server, req, alive);
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut res = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        res.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return res;
    }
    let head = req.method() == Method::HEAD;
    let mut res = match path.as_str() {
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/readyz" => {
            if server.ready.load(Ordering::Relaxed) {
                text(StatusCode::OK, "ready\n")
            } else {
                text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
            }
        }
        "/metrics" => response(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            server.conn.metrics.render(),
        ),
        _ => files(&server, &path).await,
    };
    if head {
        *res.body_mut() = Full::new(Bytes::new());
    }
    res
}

async fn files(server: &Server, path: &str) -> Response<Body> {
    let found = if let Some(rest) = path.strip_prefix("/pkg/") {
        match &server.pkg_dir {
            Some(dir) => static_files::read(dir, rest).await,
            None => None,
        }
    } else {
        match &server.static_dir {
            Some(dir) => static_files::read(dir, path).await,
            None => None,
        }
    };
    match found {
        Some(file) => {
            let mut res = response(StatusCode::OK, file.content_type, file.body);
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            res
        }
        None if path == "/" || path == "/index.html" => {
            response(StatusCode::OK, "text/html; charset=utf-8", PLACEHOLDER_PAGE)
        }
        None => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

fn header_has_token(req: &Request<Incoming>, name: header::HeaderName, token: &str) -> bool {
    req.headers().get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

/// Answers a WebSocket upgrade request and spawns the connection.
fn upgrade(
    server: Arc<Server>,
    mut req: Request<Incoming>,
    alive: mpsc::Sender<()>,
) -> Response<Body> {
    let is_upgrade = req.method() == Method::GET
        && header_has_token(&req, header::CONNECTION, "upgrade")
        && header_has_token(&req, header::UPGRADE, "websocket");
    let version_ok = req
        .headers()
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v == "13");
    let key = req.headers().get(header::SEC_WEBSOCKET_KEY).cloned();
    let (true, true, Some(key)) = (is_upgrade, version_ok, key) else {
        let mut res = text(
            StatusCode::BAD_REQUEST,
            "expected a WebSocket (version 13) upgrade\n",
        );
        res.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return res;
    };
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok());
    if !server.origins.allows(origin) {
        tracing::info!(origin, "WebSocket refused: origin not allowed");
        return text(StatusCode::FORBIDDEN, "origin not allowed\n");
    }
    let accept = derive_accept_key(key.as_bytes());
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!(error = %e, "WebSocket upgrade failed");
                return;
            }
        };
        // The upgraded connection is the accepted TCP stream: use it directly, without hyper's
        // boxed wrapper in the path of every read and write (any bytes the client sent after
        // its request go first).
        match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => {
                let tcp = parts.io.into_inner();
                // Copied out, so hyper's read buffer is not held for the connection's lifetime.
                let early = (!parts.read_buf.is_empty()).then(|| parts.read_buf.to_vec());
                drop(parts.read_buf);
                let ws = match early {
                    None => {
                        WebSocketStream::from_raw_socket(tcp, Role::Server, Some(server.ws_config))
                            .await
                    }
                    Some(early) => {
                        WebSocketStream::from_partially_read(
                            tcp,
                            early,
                            Role::Server,
                            Some(server.ws_config),
                        )
                        .await
                    }
                };
                serve_ws(&server, ws).await;
            }
            Err(upgraded) => {
                let ws = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(server.ws_config),
                )
                .await;
                serve_ws(&server, ws).await;
            }
        }
        drop(alive);
    });
    let mut res = Response::new(Full::new(Bytes::new()));
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = res.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    res
}

/// Serves an upgraded WebSocket as a client connection, or refuses it when the server is at
/// its connection limit.
async fn serve_ws<T>(server: &Server, ws: WebSocketStream<T>)
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (sink, stream) = ws.split();
    let metrics = &server.conn.metrics;
    let open = server.open_sockets.fetch_add(1, Ordering::Relaxed);
    if open >= server.conn.limits.max_connections {
        server.open_sockets.fetch_sub(1, Ordering::Relaxed);
        metrics.connections_refused.inc();
        connection::refuse(
            sink,
            stream,
            CloseCode::TRY_AGAIN_LATER,
            "server at connection limit",
        )
        .await;
    } else {
        metrics.connections.inc();
        metrics.connections_total.inc();
        let client = ClientId(server.next_client.fetch_add(1, Ordering::Relaxed));
        connection::serve(sink, stream, &server.conn, client).await;
        metrics.connections.dec();
        server.open_sockets.fetch_sub(1, Ordering::Relaxed);
    }
}
