//! One simulated Weft client: a `weft::Doc` and a `weft::sync::Session` on a WebSocket,
//! editing its room's text on a timer, reconnecting (and resyncing through the session) after
//! the server restarts.
//!
//! Each client applies the server's join answers to its document (the session does) but not
//! the broadcasts it receives: a client only ever inserts at index 0, which needs no knowledge of
//! other clients' text, so the updates it sends are valid and causally complete while the
//! generator skips tens of thousands of `apply_update` calls per second. Broadcasts are matched
//! to their edit by a hash of their bytes, which the server relays unchanged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::time::{Interval, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;
use weft::sync::{BatchId, ClientMessage, Event, Received, ServerMessage, Session, Status};
use weft::{Doc, ReplicaId, TextRef};

use super::shared::{Rng, Room, Shared, Ws, bytes_key, connect, gauge, token_id, write_token};
use super::stats::ErrorKind;

/// Name of the text every room's document holds.
pub(crate) const TEXT: &str = "content";

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a client does.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClientSpec {
    /// The client's number, unique in the run (the first half of its tokens).
    pub(crate) id: u32,
    /// Whether it edits (watchers only receive).
    pub(crate) writer: bool,
    /// Time between its edits.
    pub(crate) interval: Duration,
    /// Seed for its timer phase and reconnect jitter.
    pub(crate) seed: u64,
}

impl ClientSpec {
    /// A writer's edit timer: every `interval` from a random phase; `None` for watchers.
    pub(crate) fn ticker(&self, rng: &mut Rng) -> Option<Interval> {
        self.writer.then(|| {
            let start = tokio::time::Instant::now() + rng.below(self.interval);
            let mut t = tokio::time::interval_at(start, self.interval);
            // Skip, not Delay: a tick missed while connecting (or while the generator was
            // busy) must not move the client's phase, or phases bunch up by connection time and
            // the edits arrive in waves instead of at a steady rate.
            t.set_missed_tick_behavior(MissedTickBehavior::Skip);
            t
        })
    }
}

/// An edit on the wire, awaiting its ack.
struct Sent {
    token: u64,
    at: Instant,
    /// Sent while tracking, on connection number `conn`.
    tracked: bool,
    conn: u64,
}

struct Client {
    sh: Arc<Shared>,
    room: Arc<Room>,
    spec: ClientSpec,
    doc: Doc,
    text: TextRef,
    last_update: Arc<Mutex<Vec<u8>>>,
    session: Session,
    seq: u32,
    token: String,
    sent: HashMap<BatchId, Sent>,
    /// Connection number, for telling acks on the sending connection from later ones.
    conn: u64,
    synced: bool,
    rejoin_at: Option<tokio::time::Instant>,
}

/// Runs a client until the run stops.
pub(crate) async fn run(sh: Arc<Shared>, room: Arc<Room>, spec: ClientSpec) {
    let mut doc = Doc::with_replica_id(ReplicaId(
        spec.seed.rotate_left(17) ^ u64::from(spec.id).wrapping_mul(0x9E37_79B9_7F4A_7C15),
    ));
    let text = doc.text(TEXT);
    let last_update = Arc::new(Mutex::new(Vec::new()));
    let slot = Arc::clone(&last_update);
    // The update of each local transaction, exactly as the engine encodes it.
    let _subscription = doc.on_update(move |e| {
        if e.local
            && let Ok(mut s) = slot.lock()
        {
            s.clear();
            s.extend_from_slice(e.update);
        }
    });
    let mut session = Session::new(None);
    let _ = session.add_doc(&room.name, &doc); // not connected yet: nothing to send
    let mut c = Client {
        sh,
        room,
        spec,
        doc,
        text,
        last_update,
        session,
        seq: 0,
        token: String::new(),
        sent: HashMap::new(),
        conn: 0,
        synced: false,
        rejoin_at: None,
    };
    c.main().await;
}

/// A timer that never fires for watchers.
pub(crate) async fn tick(t: &mut Option<Interval>) {
    match t {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn send_all(ws: &mut Ws, frames: Vec<Vec<u8>>) -> bool {
    for f in frames {
        if ws.send(Message::Binary(f.into())).await.is_err() {
            return false;
        }
    }
    true
}

impl Client {
    async fn main(&mut self) {
        let mut rng = Rng::new(self.spec.seed);
        let mut ticker = self.spec.ticker(&mut rng);
        let mut server = self.sh.server.clone();
        let mut stop = self.sh.stop.clone();
        loop {
            let state = tokio::select! {
                s = server.wait_for(|s| s.up) => match s {
                    Ok(s) => *s,
                    Err(_) => return,
                },
                _ = super::shared::wait_true(&mut stop) => return,
            };
            let permit = Arc::clone(&self.sh.connecting).acquire_owned().await.ok();
            let ws = tokio::select! {
                ws = connect(state.addr, "/ws", CONNECT_TIMEOUT) => ws,
                _ = super::shared::wait_true(&mut stop) => return,
            };
            let mut ws = match ws {
                Ok(ws) => ws,
                Err(_) => {
                    drop(permit);
                    self.sh.conn_error(ErrorKind::ConnectFailed, state.epoch);
                    tokio::time::sleep(
                        Duration::from_millis(200) + rng.below(Duration::from_millis(800)),
                    )
                    .await;
                    continue;
                }
            };
            self.conn += 1;
            gauge(&self.sh.connected, 1);
            let stopped = self
                .serve(&mut ws, &mut ticker, &mut stop, permit, state.epoch)
                .await;
            gauge(&self.sh.connected, -1);
            if self.synced {
                self.synced = false;
                gauge(&self.sh.synced, -1);
            }
            if stopped {
                let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
                return;
            }
            if !self.sh.close_expected(state.epoch) {
                self.sh.errors.one(ErrorKind::UnexpectedClose);
                tokio::time::sleep(
                    Duration::from_millis(200) + rng.below(Duration::from_millis(800)),
                )
                .await;
            }
        }
    }

    /// Serves one connection until it ends; true when the run is stopping.
    async fn serve(
        &mut self,
        ws: &mut Ws,
        ticker: &mut Option<Interval>,
        stop: &mut tokio::sync::watch::Receiver<bool>,
        mut permit: Option<tokio::sync::OwnedSemaphorePermit>,
        epoch: u64,
    ) -> bool {
        self.rejoin_at = None;
        let hello = self.session.connect();
        if !send_all(ws, vec![hello]).await {
            self.session.disconnected(None);
            return false;
        }
        let mut close_code = None;
        // Built once: a new one on every pass would register with the shared stop channel.
        let stopping = super::shared::wait_true(stop);
        tokio::pin!(stopping);
        // Reset to `rejoin_at` when that is set, rather than built on every pass.
        let rejoin_timer = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(rejoin_timer);
        let mut armed = None;
        loop {
            if self.rejoin_at != armed {
                armed = self.rejoin_at;
                if let Some(at) = armed {
                    rejoin_timer.as_mut().reset(at);
                }
            }
            tokio::select! {
                _ = &mut stopping => {
                    self.session.disconnected(Some(1000));
                    return true;
                }
                msg = ws.next() => match msg {
                    Some(Ok(Message::Binary(frame))) => {
                        let out = self.on_frame(&frame, epoch);
                        if self.synced {
                            permit = None;
                        }
                        if !send_all(ws, out).await {
                            break;
                        }
                    }
                    Some(Ok(Message::Close(frame))) => {
                        close_code = frame.map(|f| u16::from(f.code));
                        break;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break,
                },
                _ = tick(ticker) => {
                    if self.sh.editing.load(std::sync::atomic::Ordering::Relaxed)
                        && self.session.doc_handle(&self.room.name).is_some()
                        && !self.edit(ws).await
                    {
                        break;
                    }
                }
                _ = &mut rejoin_timer, if armed.is_some() => {
                    self.rejoin_at = None;
                    let out = self.session.join(&self.room.name, &self.doc);
                    if !send_all(ws, out.frames).await {
                        break;
                    }
                }
            }
        }
        drop(permit);
        self.session.disconnected(close_code);
        false
    }

    /// Makes one edit and sends it; false if the socket failed.
    async fn edit(&mut self, ws: &mut Ws) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        let seq = self.seq;
        self.seq += 1;
        write_token(&mut self.token, self.spec.id, seq);
        {
            let mut tx = self.doc.transact();
            if self.text.insert(&mut tx, 0, &self.token).is_err() {
                drop(tx);
                self.sh.errors.one(ErrorKind::Internal);
                return true;
            }
        }
        let update = self
            .last_update
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default();
        if update.is_empty() {
            self.sh.errors.one(ErrorKind::Internal);
            return true;
        }
        let tracked = self.sh.tracking.load(Relaxed);
        let at = Instant::now();
        let (batch, out) = self.session.local_update(&self.room.name, &update);
        gauge(&self.sh.unacked, 1);
        self.sent.insert(
            batch,
            Sent {
                token: token_id(self.spec.id, seq),
                at,
                tracked: tracked && !out.frames.is_empty(),
                conn: self.conn,
            },
        );
        if !out.frames.is_empty() {
            self.sh.counts.edits_sent.fetch_add(1, Relaxed);
            if tracked {
                self.room.sent(bytes_key(&update), at);
                self.sh.counts.tracked_sent.fetch_add(1, Relaxed);
            }
        }
        let mut frames = out.frames;
        frames.extend(self.events(out.events));
        send_all(ws, frames).await
    }

    /// Handles one frame from the server; returns the frames to send.
    fn on_frame(&mut self, frame: &[u8], epoch: u64) -> Vec<Vec<u8>> {
        use std::sync::atomic::Ordering::Relaxed;
        // Broadcasts are the bulk of the traffic: match them to their edit without the session
        // (which would copy them only for `handle` to apply them).
        if let Ok(ServerMessage::Update { update, .. }) = ServerMessage::decode(frame) {
            let now = Instant::now();
            if self.sh.tracking.load(Relaxed) {
                self.sh.counts.window_frames.fetch_add(1, Relaxed);
            }
            if let Some(latency) = self.room.delivered(bytes_key(update), now) {
                self.sh.delivery.record(latency);
            }
            return Vec::new();
        }
        let out = match self.session.receive(frame) {
            Ok(Received::Done(out)) => out,
            Ok(Received::Doc(msg)) => self.session.handle(&mut self.doc, msg),
            Err(_) => {
                self.sh.conn_error(ErrorKind::BadFrame, epoch);
                return Vec::new();
            }
        };
        let mut frames = out.frames;
        frames.extend(self.events(out.events));
        frames
    }

    /// Acts on session events; returns frames to send.
    fn events(&mut self, events: Vec<Event>) -> Vec<Vec<u8>> {
        use std::sync::atomic::Ordering::Relaxed;
        let mut frames = Vec::new();
        for ev in events {
            match ev {
                Event::Connected { rejoin, .. } => {
                    for id in rejoin {
                        frames.extend(self.session.join(&id, &self.doc).frames);
                    }
                }
                Event::Synced { .. } => {
                    if !self.synced {
                        self.synced = true;
                        gauge(&self.sh.synced, 1);
                    }
                }
                Event::Acked { batch, status, .. } => {
                    let Some(s) = self.sent.remove(&batch) else {
                        continue;
                    };
                    gauge(&self.sh.unacked, -1);
                    if status == Status::Ok {
                        self.room.acked(s.token);
                        self.sh.counts.acked.fetch_add(1, Relaxed);
                        if s.tracked && s.conn == self.conn {
                            self.sh.ack.record(s.at.elapsed());
                            self.sh.counts.tracked_acked.fetch_add(1, Relaxed);
                        }
                    } else {
                        self.sh.errors.one(ErrorKind::AckRejected);
                    }
                }
                Event::Rejoin { delay_ms, .. } => {
                    // A resync (the server dropped a subscriber that fell behind) or a
                    // retryable failure: the session rejoins, resending what is unacked.
                    self.sh.errors.one(ErrorKind::Resync);
                    self.rejoin_at = Some(
                        tokio::time::Instant::now() + Duration::from_millis(u64::from(delay_ms)),
                    );
                }
                Event::JoinFailed { .. } => self.sh.errors.one(ErrorKind::JoinFailed),
                Event::Error { .. } => self.sh.errors.one(ErrorKind::ServerError),
                Event::Presence { .. } => {}
            }
        }
        frames
    }
}

/// Rooms one verifying connection joins: a join and a leave each, well within the server's
/// message burst (1,000 by default).
const VERIFY_ROOMS_PER_CONNECTION: usize = 100;

/// Joins every room with a fresh, empty document (through fresh connections, a hundred rooms
/// each) and checks that every token acknowledged in the room (`acked[i]` for `rooms[i]`) is in
/// its text.
pub(crate) async fn verify(
    addr: std::net::SocketAddr,
    rooms: &[Arc<Room>],
    acked: &[Vec<u64>],
) -> Result<super::shared::Verified, String> {
    let mut total = super::shared::Verified::default();
    for (rooms, acked) in rooms
        .chunks(VERIFY_ROOMS_PER_CONNECTION)
        .zip(acked.chunks(VERIFY_ROOMS_PER_CONNECTION))
    {
        let v = verify_some(addr, rooms, acked).await?;
        total.checked += v.checked;
        total.missing += v.missing;
        total.duplicates += v.duplicates;
    }
    Ok(total)
}

async fn verify_some(
    addr: std::net::SocketAddr,
    rooms: &[Arc<Room>],
    acked: &[Vec<u64>],
) -> Result<super::shared::Verified, String> {
    let work = async {
        let mut ws = connect(addr, "/ws", CONNECT_TIMEOUT).await?;
        let hello = ClientMessage::Hello {
            min_version: weft::sync::MIN_PROTOCOL_VERSION,
            max_version: weft::sync::PROTOCOL_VERSION,
            token: None,
        };
        send(&mut ws, hello.encode()).await?;
        let welcome = next_binary(&mut ws).await?;
        let max_docs =
            match ServerMessage::decode(&welcome).map_err(|e| format!("bad frame: {e}"))? {
                ServerMessage::Welcome { limits, .. } => limits.max_documents,
                other => return Err(format!("expected Welcome, got {other:?}")),
            };
        let window = usize::try_from(max_docs).unwrap_or(1).clamp(1, 32);
        let index: HashMap<&str, usize> = rooms
            .iter()
            .enumerate()
            .map(|(i, r)| (r.name.as_str(), i))
            .collect();
        let empty_sv = Doc::new().state_vector().encode();
        let mut total = super::shared::Verified::default();
        let mut next = 0;
        let mut open = 0;
        let mut done = 0;
        while done < rooms.len() {
            while open < window && next < rooms.len() {
                let Some(room) = rooms.get(next) else { break };
                let join = ClientMessage::Join {
                    doc: &room.name,
                    state_vector: &empty_sv,
                };
                send(&mut ws, join.encode()).await?;
                next += 1;
                open += 1;
            }
            let frame = next_binary(&mut ws).await?;
            match ServerMessage::decode(&frame).map_err(|e| format!("bad frame: {e}"))? {
                ServerMessage::Joined {
                    handle,
                    doc,
                    update,
                    ..
                } => {
                    let i = *index
                        .get(doc)
                        .ok_or_else(|| format!("joined unknown document {doc:?}"))?;
                    let mut d = Doc::new();
                    d.apply_update(update)
                        .map_err(|e| format!("{doc}: stored state does not decode: {e}"))?;
                    let text = d.text(TEXT).to_string(&d);
                    let v =
                        super::shared::check_room(&text, acked.get(i).map_or(&[], Vec::as_slice))
                            .map_err(|e| format!("{doc}: {e}"))?;
                    total.checked += v.checked;
                    total.missing += v.missing;
                    total.duplicates += v.duplicates;
                    send(&mut ws, ClientMessage::Leave { handle }.encode()).await?;
                    open -= 1;
                    done += 1;
                }
                ServerMessage::JoinFailed { doc, status } => {
                    return Err(format!("join of {doc} failed: {status}"));
                }
                _ => {}
            }
        }
        let _ = ws.close(None).await;
        Ok(total)
    };
    tokio::time::timeout(Duration::from_secs(120), work)
        .await
        .map_err(|_| "verification timed out".to_owned())?
}

async fn send(ws: &mut Ws, frame: Vec<u8>) -> Result<(), String> {
    ws.send(Message::Binary(frame.into()))
        .await
        .map_err(|e| format!("send: {e}"))
}

/// The next binary message of a socket.
pub(crate) async fn next_binary(
    ws: &mut Ws,
) -> Result<tokio_tungstenite::tungstenite::Bytes, String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Binary(b))) => return Ok(b),
            Some(Ok(Message::Close(f))) => return Err(format!("closed: {f:?}")),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("receive: {e}")),
            None => return Err("connection ended".into()),
        }
    }
}
