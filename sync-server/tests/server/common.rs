//! Test harness: an in-process server on 127.0.0.1:0 with a temporary store, and a client that
//! drives `weft::sync::Session` over a real WebSocket.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use weft::Doc;
use weft::sync::{Access, BatchId, ClientId, Event, Received, ServerMessage, Session, Status};
use weft_server::config::Config;

/// Longest any single wait in a test may take.
pub(crate) const WAIT: Duration = Duration::from_secs(15);

/// A fresh, empty directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> Self {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "weft-test-{name}-{}-{n}-{nanos}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A configuration for tests: defaults, a data dir, and whatever `extra` flags say.
pub(crate) fn config(data_dir: &Path, extra: &[&str]) -> Config {
    let mut args = vec![
        "weft-server".to_owned(),
        "--bind".into(),
        "127.0.0.1:0".into(),
        "--data-dir".into(),
        data_dir.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    Config::parse_from(args)
}

/// A server running in this process.
pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), weft_server::Error>>>,
}

impl TestServer {
    pub(crate) async fn start(config: Config) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(weft_server::run(config, listener, async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub(crate) fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Graceful shutdown; returns once the store is closed.
    pub(crate) async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let result = tokio::time::timeout(WAIT, task)
                .await
                .expect("server stops in time")
                .expect("server task");
            result.expect("clean shutdown");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Appends `text` to the document's "content" text and returns the encoded update.
pub(crate) fn append(doc: &mut Doc, text: &str) -> Vec<u8> {
    let before = doc.state_vector();
    let t = doc.text("content");
    let len = t.len(doc);
    {
        let mut tx = doc.transact();
        t.insert(&mut tx, len, text).expect("insert");
        tx.commit();
    }
    doc.encode_diff(&before)
}

/// The document's "content" text.
pub(crate) fn content(doc: &mut Doc) -> String {
    let t = doc.text("content");
    t.to_string(doc)
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A client speaking the protocol through `Session`.
pub(crate) struct Client {
    ws: Option<Ws>,
    url: String,
    token: Option<String>,
    pub(crate) session: Session,
    pub(crate) docs: HashMap<String, Doc>,
    pub(crate) synced: HashMap<String, Access>,
    pub(crate) acked: HashMap<BatchId, Status>,
    /// Every ack received, including those for batches sent around the session.
    pub(crate) raw_acks: Vec<(BatchId, Status)>,
    pub(crate) presence: HashMap<(String, ClientId), Vec<u8>>,
    pub(crate) join_failures: Vec<(String, Status)>,
    pub(crate) errors: Vec<(Status, String)>,
    pub(crate) closed: Option<Option<CloseFrame>>,
    rejoin: Vec<(String, Instant)>,
}

impl Client {
    /// Connects and completes the handshake.
    pub(crate) async fn connect(url: &str, token: Option<String>) -> Self {
        let ws = open(url).await;
        let mut client = Self {
            ws: Some(ws),
            url: url.to_owned(),
            session: Session::new(token.clone()),
            token,
            docs: HashMap::new(),
            synced: HashMap::new(),
            acked: HashMap::new(),
            raw_acks: Vec::new(),
            presence: HashMap::new(),
            join_failures: Vec::new(),
            errors: Vec::new(),
            closed: None,
            rejoin: Vec::new(),
        };
        client.handshake().await;
        client
    }

    async fn handshake(&mut self) {
        let hello = self.session.connect();
        self.send(hello).await;
        assert!(
            self.pump_until(|c| c.session.is_connected() || c.closed.is_some())
                .await,
            "handshake did not finish"
        );
    }

    /// Drops the socket without a close handshake (like a network failure).
    pub(crate) fn drop_connection(&mut self) {
        self.ws = None;
        let _ = self.session.disconnected(None);
        self.synced.clear();
        self.presence.clear();
    }

    /// Opens a new socket and joins every document again.
    pub(crate) async fn reconnect(&mut self) {
        self.ws = Some(open(&self.url).await);
        self.closed = None;
        self.session.set_token(self.token.clone());
        self.handshake().await;
    }

    pub(crate) async fn send(&mut self, frame: Vec<u8>) {
        self.send_all(vec![frame]).await;
    }

    async fn send_all(&mut self, frames: Vec<Vec<u8>>) {
        for f in frames {
            if self.closed.is_some() {
                return;
            }
            let Some(ws) = &mut self.ws else { return };
            if ws.send(Message::Binary(f.into())).await.is_err() {
                self.closed = Some(None);
            }
        }
    }

    /// Starts syncing `doc_id` and waits until it is synced.
    pub(crate) async fn join(&mut self, doc_id: &str) {
        self.add(doc_id).await;
        let id = doc_id.to_owned();
        assert!(
            self.pump_until(|c| c.synced.contains_key(&id)).await,
            "join of {doc_id} did not finish: {:?}",
            self.join_failures
        );
    }

    /// Starts syncing `doc_id` without waiting.
    pub(crate) async fn add(&mut self, doc_id: &str) {
        let doc = self.docs.entry(doc_id.to_owned()).or_default();
        let out = self.session.add_doc(doc_id, doc);
        self.send_all(out.frames).await;
    }

    /// Appends `text` to a document and sends the update (if connected).
    pub(crate) async fn edit(&mut self, doc_id: &str, text: &str) -> BatchId {
        let doc = self.docs.get_mut(doc_id).expect("added doc");
        let update = append(doc, text);
        let (batch, out) = self.session.local_update(doc_id, &update);
        self.absorb_events(out.events);
        self.send_all(out.frames).await;
        batch
    }

    pub(crate) async fn set_presence(&mut self, doc_id: &str, data: &[u8]) {
        let out = self.session.set_presence(doc_id, data);
        self.send_all(out.frames).await;
    }

    pub(crate) fn text(&mut self, doc_id: &str) -> String {
        content(self.docs.get_mut(doc_id).expect("doc"))
    }

    /// Processes incoming frames until `cond` holds (true) or `WAIT` passes (false).
    pub(crate) async fn pump_until(&mut self, mut cond: impl FnMut(&mut Self) -> bool) -> bool {
        let deadline = Instant::now() + WAIT;
        while !cond(self) {
            if self.closed.is_some() || Instant::now() >= deadline {
                return cond(self);
            }
            self.step(deadline).await;
        }
        true
    }

    /// Processes incoming frames for `d`.
    pub(crate) async fn pump_for(&mut self, d: Duration) {
        let deadline = Instant::now() + d;
        while Instant::now() < deadline && self.closed.is_none() {
            self.step(deadline).await;
        }
    }

    /// Waits for the server to close the connection; returns the close frame.
    pub(crate) async fn wait_closed(&mut self) -> Option<CloseFrame> {
        self.pump_until(|c| c.closed.is_some()).await;
        self.closed.clone().flatten()
    }

    async fn step(&mut self, deadline: Instant) {
        let now = Instant::now();
        let due: Vec<String> = self
            .rejoin
            .iter()
            .filter(|(_, at)| *at <= now)
            .map(|(d, _)| d.clone())
            .collect();
        self.rejoin.retain(|(_, at)| *at > now);
        for doc_id in due {
            if let Some(doc) = self.docs.get(&doc_id) {
                let out = self.session.join(&doc_id, doc);
                self.send_all(out.frames).await;
            }
        }
        let next_rejoin = self.rejoin.iter().map(|(_, at)| *at).min();
        let wake = next_rejoin.map_or(deadline, |r| r.min(deadline));
        let wait = wake.saturating_duration_since(Instant::now());
        let Some(ws) = &mut self.ws else {
            tokio::time::sleep(wait).await;
            return;
        };
        let msg = match tokio::time::timeout(wait, ws.next()).await {
            Err(_) => return,
            Ok(None) | Ok(Some(Err(_))) => {
                self.closed.get_or_insert(None);
                return;
            }
            Ok(Some(Ok(msg))) => msg,
        };
        match msg {
            Message::Binary(frame) => self.on_frame(&frame).await,
            Message::Close(frame) => self.closed = Some(frame),
            _ => {}
        }
    }

    async fn on_frame(&mut self, frame: &[u8]) {
        if let Ok(ServerMessage::Ack { batch, status, .. }) = ServerMessage::decode(frame) {
            self.raw_acks.push((batch, status));
        }
        let received = self.session.receive(frame).expect("server frames decode");
        let out = match received {
            Received::Done(out) => out,
            Received::Doc(msg) => {
                let doc = self.docs.get_mut(msg.doc_id()).expect("known doc");
                self.session.handle(doc, msg)
            }
        };
        self.send_all(out.frames).await;
        let mut joins = Vec::new();
        for event in out.events {
            if let Event::Connected { rejoin, .. } = &event {
                joins.extend(rejoin.iter().cloned());
            }
            self.absorb_events(vec![event]);
        }
        for doc_id in joins {
            if let Some(doc) = self.docs.get(&doc_id) {
                let out = self.session.join(&doc_id, doc);
                self.send_all(out.frames).await;
            }
        }
    }

    fn absorb_events(&mut self, events: Vec<Event>) {
        for event in events {
            match event {
                Event::Connected { .. } => {}
                Event::Synced { doc, access } => {
                    self.synced.insert(doc, access);
                }
                Event::Acked { batch, status, .. } => {
                    self.acked.insert(batch, status);
                }
                Event::Presence {
                    doc, client, data, ..
                } => {
                    if data.is_empty() {
                        self.presence.remove(&(doc, client));
                    } else {
                        self.presence.insert((doc, client), data);
                    }
                }
                Event::JoinFailed { doc, status } => self.join_failures.push((doc, status)),
                Event::Rejoin { doc, delay_ms } => {
                    self.synced.remove(&doc);
                    self.rejoin.push((
                        doc,
                        Instant::now() + Duration::from_millis(u64::from(delay_ms)),
                    ));
                }
                Event::Error { status, message } => self.errors.push((status, message)),
            }
        }
    }

    /// Waits until every batch in `batches` has an ack; returns how many were `Ok`.
    pub(crate) async fn wait_acks(&mut self, batches: &[BatchId]) -> usize {
        let want: HashSet<BatchId> = batches.iter().copied().collect();
        assert!(
            self.pump_until(|c| want.iter().all(|b| c.acked.contains_key(b)))
                .await,
            "acks missing: {}",
            want.iter().filter(|b| !self.acked.contains_key(b)).count()
        );
        want.iter()
            .filter(|b| self.acked.get(b) == Some(&Status::Ok))
            .count()
    }

    pub(crate) async fn close(mut self) {
        if let Some(ws) = &mut self.ws {
            let _ = ws.close(None).await;
        }
    }
}

async fn open(url: &str) -> Ws {
    let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
        .await
        .expect("connect in time")
        .expect("connect");
    ws
}

/// Opens a raw WebSocket (no handshake).
pub(crate) async fn raw(url: &str) -> Ws {
    open(url).await
}

/// Reads from a raw socket until it closes; returns the close code (None if the socket just
/// ended).
pub(crate) async fn raw_close_code(ws: &mut Ws) -> Option<u16> {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Err(_) => panic!("socket did not close in time"),
            Ok(None) | Ok(Some(Err(_))) => return None,
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => {}
        }
    }
}

/// One HTTP/1.1 GET over a raw TCP socket; returns (status, headers+body as text).
pub(crate) async fn http_get(addr: SocketAddr, path: &str, headers: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{headers}\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    tokio::time::timeout(WAIT, s.read_to_end(&mut buf))
        .await
        .expect("response in time")
        .expect("read");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}
