//! One client connection: the handshake, then a loop that decodes client messages, applies
//! limits and permissions, forwards requests to document actors, and writes what the actors and
//! the store answer.
//!
//! The loop is generic over the socket halves (any `Sink`/`Stream` of WebSocket messages), so
//! tests can drive it through channels. It keeps no framing logic of its own: messages are
//! encoded and decoded by `weft::sync`.

use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use futures_util::stream::FuturesUnordered;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use weft::sync::{
    Access, BatchId, ClientId, ClientMessage, CloseCode, Handle, Limits, ServerMessage, Status,
};

use crate::auth::{Auth, AuthError, Grant};
use crate::config::LimitsConfig;
use crate::fanout::{LagSignal, LocalOutlet, Outbound, SubId};
use crate::limits::{Strikes, TokenBucket};
use crate::metrics::Metrics;
use crate::room::{RoomCmd, Subscriber};
use crate::rooms::Rooms;
use crate::woken::Woken;

/// Longest document id accepted, in bytes.
pub const MAX_DOC_ID_BYTES: usize = 512;

/// What every connection shares.
pub struct ConnShared {
    /// Limits.
    pub limits: LimitsConfig,
    /// Token verification.
    pub auth: Auth,
    /// Loaded documents.
    pub rooms: Arc<Rooms>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Becomes true when the server shuts down.
    pub stop: watch::Receiver<bool>,
    /// How long to wait for pending acks at shutdown.
    pub shutdown_grace: Duration,
}

impl std::fmt::Debug for ConnShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnShared").finish_non_exhaustive()
    }
}

/// A finished ack: the outcome of one client update.
struct AckDone {
    handle: Handle,
    batch: BatchId,
    status: Status,
    received: Instant,
}

type PendingAck = Pin<Box<dyn Future<Output = AckDone> + Send>>;

/// One joined (or joining) document.
struct Joined {
    doc: Arc<str>,
    tx: mpsc::Sender<RoomCmd>,
    sub: SubId,
    access: Access,
    /// Whether the `Joined` answer has been written.
    confirmed: bool,
}

/// Why the loop ends.
struct Close {
    code: CloseCode,
    reason: String,
}

impl Close {
    fn new(code: CloseCode, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }
}

/// Per-connection state.
struct Conn<'a, S> {
    sink: S,
    shared: &'a ConnShared,
    client: ClientId,
    grant: Grant,
    joined: HashMap<Handle, Joined>,
    acks: FuturesUnordered<PendingAck>,
    outbox_tx: mpsc::Sender<Outbound>,
    lag: Arc<LagSignal>,
    msgs: TokenBucket,
    bytes: TokenBucket,
    presence: TokenBucket,
    strikes: Strikes,
    /// Whether frames were queued in the socket's write buffer since the last flush.
    unflushed: bool,
    /// Bytes of the binary frames queued since the last flush (counted in the metrics once per
    /// flush rather than once per frame).
    unflushed_bytes: u64,
}

/// Allocates subscription ids, unique in the process.
fn next_sub_id() -> SubId {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    SubId(NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Whether `doc` is an acceptable document id: 1 to 512 bytes, no control characters.
pub fn valid_doc_id(doc: &str) -> bool {
    !doc.is_empty() && doc.len() <= MAX_DOC_ID_BYTES && !doc.chars().any(char::is_control)
}

/// Serves one WebSocket connection until it closes. `client` is the connection's id.
pub async fn serve<S, R, SE>(sink: S, stream: R, shared: &ConnShared, client: ClientId)
where
    S: Sink<Message, Error = SE> + Unpin,
    R: Stream<Item = Result<Message, WsError>> + Unpin,
    SE: Display,
{
    let mut sink = sink;
    // The loop wakes mostly to send; the socket is read only when it has something.
    let mut stream = Woken::new(stream);
    let grant = match handshake(&mut sink, &mut stream, shared, client).await {
        Ok(grant) => grant,
        Err(close) => {
            shared.metrics.protocol_closes.inc();
            close_socket(&mut sink, &mut stream, close).await;
            return;
        }
    };
    if let Some(subject) = grant.subject() {
        tracing::debug!(client = client.0, subject, "client authenticated");
    }
    let limits = &shared.limits;
    let now = Instant::now();
    let (outbox_tx, outbox_rx) = mpsc::channel(limits.outbound_queue.max(1));
    let mut conn = Conn {
        sink,
        shared,
        client,
        grant,
        joined: HashMap::new(),
        acks: FuturesUnordered::new(),
        outbox_tx,
        lag: Arc::new(LagSignal::default()),
        msgs: TokenBucket::new(limits.msg_rate, limits.msg_burst, now),
        bytes: TokenBucket::new(limits.byte_rate, limits.byte_burst, now),
        presence: TokenBucket::new(limits.presence_rate, limits.presence_burst, now),
        // Tolerate a burst of refused messages as large as the allowed burst, then close.
        strikes: Strikes::new(limits.msg_rate, limits.msg_burst, now),
        unflushed: false,
        unflushed_bytes: 0,
    };
    let close = conn.run(&mut stream, outbox_rx).await;
    if close.code != CloseCode::GOING_AWAY && close.code != CloseCode::NORMAL {
        shared.metrics.protocol_closes.inc();
    }
    tracing::debug!(client = client.0, code = close.code.0, reason = %close.reason, "closing connection");
    conn.leave_all();
    close_socket(&mut conn.sink, &mut stream, close).await;
}

/// Waits for `Hello`, negotiates the version, checks the token and sends `Welcome`.
async fn handshake<S, R, SE>(
    sink: &mut S,
    stream: &mut R,
    shared: &ConnShared,
    client: ClientId,
) -> Result<Grant, Close>
where
    S: Sink<Message, Error = SE> + Unpin,
    R: Stream<Item = Result<Message, WsError>> + Unpin,
    SE: Display,
{
    let limits = &shared.limits;
    let deadline = tokio::time::Instant::now() + limits.handshake_timeout();
    let frame = loop {
        let msg = match tokio::time::timeout_at(deadline, stream.next()).await {
            Err(_) => return Err(Close::new(CloseCode::HANDSHAKE_TIMEOUT, "no Hello in time")),
            Ok(None) => return Err(Close::new(CloseCode::NORMAL, "closed during handshake")),
            Ok(Some(Err(e))) => return Err(read_error(e)),
            Ok(Some(Ok(msg))) => msg,
        };
        match msg {
            Message::Binary(frame) => break frame,
            Message::Text(_) => {
                return Err(Close::new(
                    CloseCode::UNSUPPORTED_DATA,
                    "binary frames only",
                ));
            }
            Message::Close(_) => return Err(Close::new(CloseCode::NORMAL, "closed")),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
    };
    shared.metrics.bytes_in.add(frame.len() as u64);
    let (min_version, max_version, token) = match ClientMessage::decode(&frame) {
        Ok(ClientMessage::Hello {
            min_version,
            max_version,
            token,
        }) => (min_version, max_version, token),
        Ok(_) => return Err(Close::new(CloseCode::PROTOCOL_ERROR, "expected Hello")),
        Err(e) => {
            return Err(Close::new(
                CloseCode::PROTOCOL_ERROR,
                format!("bad Hello: {e}"),
            ));
        }
    };
    let Some(version) = weft::sync::negotiate_version(min_version, max_version) else {
        return Err(Close::new(
            CloseCode::UNSUPPORTED_VERSION,
            format!(
                "server speaks versions {}..={}",
                weft::sync::MIN_PROTOCOL_VERSION,
                weft::sync::PROTOCOL_VERSION
            ),
        ));
    };
    let grant = shared.auth.verify(token).map_err(|e| match e {
        AuthError::Expired => Close::new(CloseCode::TOKEN_EXPIRED, e.to_string()),
        AuthError::Missing | AuthError::Invalid => {
            Close::new(CloseCode::UNAUTHORIZED, e.to_string())
        }
    })?;
    let welcome = ServerMessage::Welcome {
        version,
        client,
        limits: Limits {
            max_frame_bytes: limits.max_frame_bytes as u64,
            max_update_bytes: limits.max_update_bytes as u64,
            max_presence_bytes: limits.max_presence_bytes as u64,
            presence_timeout_ms: limits.presence_timeout_ms,
            max_documents: limits.max_docs_per_connection as u64,
        },
    }
    .encode();
    write(sink, Bytes::from(welcome), shared).await?;
    Ok(grant)
}

/// Maps a socket read error to the close it calls for.
fn read_error(e: WsError) -> Close {
    match e {
        WsError::Capacity(_) => Close::new(CloseCode::MESSAGE_TOO_BIG, "frame too large"),
        WsError::Protocol(p) => Close::new(CloseCode::PROTOCOL_ERROR, p.to_string()),
        WsError::Utf8(_) => Close::new(CloseCode::UNSUPPORTED_DATA, "binary frames only"),
        other => Close::new(CloseCode::ABNORMAL, other.to_string()),
    }
}

/// Closes a connection that will not be served (the server is at its connection limit).
pub async fn refuse<S, R, SE>(mut sink: S, mut stream: R, code: CloseCode, reason: &str)
where
    S: Sink<Message, Error = SE> + Unpin,
    R: Stream<Item = Result<Message, WsError>> + Unpin,
{
    close_socket(&mut sink, &mut stream, Close::new(code, reason)).await;
}

/// Writes one binary frame and flushes it, giving up after the write timeout.
async fn write<S, SE>(sink: &mut S, frame: Bytes, shared: &ConnShared) -> Result<(), Close>
where
    S: Sink<Message, Error = SE> + Unpin,
    SE: Display,
{
    feed(sink, frame, shared).await?;
    flush(sink, shared).await
}

/// Queues one binary frame in the socket's write buffer (written out by [`flush`], or earlier
/// once the buffer is full), giving up after the write timeout.
async fn feed<S, SE>(sink: &mut S, frame: Bytes, shared: &ConnShared) -> Result<(), Close>
where
    S: Sink<Message, Error = SE> + Unpin,
    SE: Display,
{
    let len = frame.len() as u64;
    feed_message(sink, Message::Binary(frame), shared).await?;
    shared.metrics.bytes_out.add(len);
    Ok(())
}

/// Queues one message in the socket's write buffer, giving up after the write timeout.
async fn feed_message<S, SE>(sink: &mut S, msg: Message, shared: &ConnShared) -> Result<(), Close>
where
    S: Sink<Message, Error = SE> + Unpin,
    SE: Display,
{
    within_write_timeout(sink.feed(msg), shared).await
}

/// Writes out everything queued, giving up after the write timeout.
async fn flush<S, SE>(sink: &mut S, shared: &ConnShared) -> Result<(), Close>
where
    S: Sink<Message, Error = SE> + Unpin,
    SE: Display,
{
    within_write_timeout(sink.flush(), shared).await
}

/// Runs a socket write, mapping its failure (or its taking longer than the write timeout) to
/// the close it calls for.
async fn within_write_timeout<E: Display>(
    write: impl Future<Output = Result<(), E>>,
    shared: &ConnShared,
) -> Result<(), Close> {
    let mut write = std::pin::pin!(write);
    // Most writes complete at once: only one that has to wait for the socket arms a timer.
    let first = std::future::poll_fn(|cx| Poll::Ready(write.as_mut().poll(cx))).await;
    let result = match first {
        Poll::Ready(result) => result,
        Poll::Pending => {
            let timeout = Duration::from_millis(shared.limits.write_timeout_ms);
            match tokio::time::timeout(timeout, write).await {
                Ok(result) => result,
                Err(_) => return Err(Close::new(CloseCode::SLOW_CONSUMER, "write timed out")),
            }
        }
    };
    result.map_err(|e| Close::new(CloseCode::ABNORMAL, format!("write failed: {e}")))
}

/// Sends a close frame (unless the socket is already gone) and waits briefly for the peer's.
async fn close_socket<S, R, SE>(sink: &mut S, stream: &mut R, close: Close)
where
    S: Sink<Message, Error = SE> + Unpin,
    R: Stream<Item = Result<Message, WsError>> + Unpin,
{
    if close.code == CloseCode::ABNORMAL {
        return;
    }
    let mut reason = close.reason;
    // A close frame's reason is at most 123 bytes.
    while reason.len() > 123 {
        reason.pop();
    }
    let frame = CloseFrame {
        code: WsCloseCode::from(close.code.0),
        reason: reason.into(),
    };
    let grace = Duration::from_secs(1);
    if tokio::time::timeout(grace, sink.send(Message::Close(Some(frame))))
        .await
        .is_ok_and(|r| r.is_ok())
    {
        let _ = tokio::time::timeout(grace, async {
            while let Some(Ok(msg)) = stream.next().await {
                if matches!(msg, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

impl<S, SE> Conn<'_, S>
where
    S: Sink<Message, Error = SE> + Unpin,
    SE: Display,
{
    async fn run<R>(&mut self, stream: &mut R, mut outbox: mpsc::Receiver<Outbound>) -> Close
    where
        R: Stream<Item = Result<Message, WsError>> + Unpin,
    {
        let limits = &self.shared.limits;
        let ping_every = Duration::from_millis(limits.ping_interval_ms.max(1));
        let idle_timeout = Duration::from_millis(limits.idle_timeout_ms.max(1));
        let mut ping =
            tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_seen = Instant::now();
        let token_expiry = self.grant.expires().map(|at| {
            let left = at
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO);
            tokio::time::Instant::now() + left
        });
        let expiry = async move {
            match token_expiry {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(expiry);
        // Long-lived futures, polled again on every pass instead of being rebuilt (each new one
        // would register with the shared stop channel or the lag signal, and unregister).
        let mut stop = self.shared.stop.clone();
        let stopping = crate::stopped(&mut stop);
        tokio::pin!(stopping);
        // Set when shutting down: stop reading, flush pending acks until the deadline.
        let mut draining: Option<tokio::time::Instant> = None;
        // Armed (reset to the deadline) only once draining starts.
        let drain_timer = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(drain_timer);
        let lag = Arc::clone(&self.lag);
        let lagged = lag.notified();
        tokio::pin!(lagged);

        loop {
            if let Some(deadline) = draining
                && (self.acks.is_empty() || tokio::time::Instant::now() >= deadline)
            {
                return Close::new(CloseCode::GOING_AWAY, "server shutting down");
            }
            let can_read = draining.is_none() && self.acks.len() < limits.max_inflight.max(1);
            let result = tokio::select! {
                _ = &mut stopping, if draining.is_none() => {
                    let deadline = tokio::time::Instant::now() + self.shared.shutdown_grace;
                    draining = Some(deadline);
                    drain_timer.as_mut().reset(deadline);
                    Ok(())
                }
                _ = &mut drain_timer, if draining.is_some() => Ok(()),
                Some(done) = self.acks.next(), if !self.acks.is_empty() => self.ack(done).await,
                Some(out) = outbox.recv() => self.outbound(out).await,
                _ = &mut lagged => {
                    lagged.set(lag.notified());
                    self.lagged().await
                }
                msg = stream.next(), if can_read => match msg {
                    None => return Close::new(CloseCode::NORMAL, "client closed"),
                    Some(Err(e)) => return read_error(e),
                    Some(Ok(msg)) => {
                        last_seen = Instant::now();
                        self.incoming(msg).await
                    }
                },
                _ = ping.tick() => {
                    let quiet = last_seen.elapsed();
                    if quiet >= idle_timeout {
                        return Close::new(CloseCode::IDLE_TIMEOUT, "no traffic");
                    }
                    // Only a client that sent nothing for a whole interval needs a ping to
                    // show it is alive.
                    if quiet < ping_every {
                        Ok(())
                    } else {
                        self.unflushed = true;
                        feed_message(&mut self.sink, Message::Ping(Bytes::new()), self.shared).await
                    }
                }
                _ = &mut expiry => return Close::new(CloseCode::TOKEN_EXPIRED, "access token expired"),
            };
            if let Err(close) = result {
                return close;
            }
            if let Err(close) = self.flush_with(&mut outbox).await {
                return close;
            }
        }
    }

    /// Writes out what the last event queued, together with every frame already waiting in
    /// the outbound queue: one socket write for all of them.
    async fn flush_with(&mut self, outbox: &mut mpsc::Receiver<Outbound>) -> Result<(), Close> {
        if !self.unflushed {
            return Ok(());
        }
        // At most one queue's worth, so a busy room cannot hold back the flush.
        for _ in 0..self.shared.limits.outbound_queue.max(1) {
            let Ok(out) = outbox.try_recv() else { break };
            self.outbound(out).await?;
        }
        self.unflushed = false;
        let bytes = std::mem::take(&mut self.unflushed_bytes);
        self.shared.metrics.bytes_out.add(bytes);
        flush(&mut self.sink, self.shared).await
    }

    /// Queues a frame for the next flush.
    async fn feed(&mut self, frame: Bytes) -> Result<(), Close> {
        self.unflushed = true;
        self.unflushed_bytes += frame.len() as u64;
        feed_message(&mut self.sink, Message::Binary(frame), self.shared).await
    }

    async fn send(&mut self, msg: ServerMessage<'_>) -> Result<(), Close> {
        self.feed(Bytes::from(msg.encode())).await
    }

    async fn ack(&mut self, done: AckDone) -> Result<(), Close> {
        self.shared
            .metrics
            .ack_latency
            .observe_duration(done.received.elapsed());
        self.send(ServerMessage::Ack {
            handle: done.handle,
            batch: done.batch,
            status: done.status,
        })
        .await
    }

    async fn reject_update(
        &mut self,
        handle: Handle,
        batch: BatchId,
        status: Status,
    ) -> Result<(), Close> {
        self.shared.metrics.reject(status);
        self.send(ServerMessage::Ack {
            handle,
            batch,
            status,
        })
        .await
    }

    async fn error(&mut self, status: Status, message: &str) -> Result<(), Close> {
        self.shared.metrics.reject(status);
        self.send(ServerMessage::Error { status, message }).await
    }

    async fn join_failed(&mut self, doc: &str, status: Status) -> Result<(), Close> {
        self.shared.metrics.reject(status);
        self.send(ServerMessage::JoinFailed { doc, status }).await
    }

    async fn outbound(&mut self, out: Outbound) -> Result<(), Close> {
        match out {
            Outbound::Joined { handle, sub, frame } => {
                let Some(j) = self.joined.get_mut(&handle).filter(|j| j.sub == sub) else {
                    return Ok(());
                };
                j.confirmed = true;
                self.feed(frame).await
            }
            Outbound::Frame { handle, sub, frame } => {
                if self.joined.get(&handle).is_some_and(|j| j.sub == sub) {
                    self.feed(frame).await
                } else {
                    Ok(())
                }
            }
            Outbound::Ended {
                handle,
                sub,
                status,
            } => self.ended(handle, sub, status).await,
        }
    }

    /// The room ended a subscription: tell the client.
    async fn ended(&mut self, handle: Handle, sub: SubId, status: Status) -> Result<(), Close> {
        let Some(j) = self.joined.get(&handle).filter(|j| j.sub == sub) else {
            return Ok(());
        };
        let (doc, confirmed) = (Arc::clone(&j.doc), j.confirmed);
        self.joined.remove(&handle);
        if confirmed {
            self.send(ServerMessage::Left { handle, status }).await
        } else {
            self.send(ServerMessage::JoinFailed { doc: &doc, status })
                .await
        }
    }

    async fn lagged(&mut self) -> Result<(), Close> {
        for (handle, sub) in self.lag.take() {
            self.ended(handle, sub, Status::Resync).await?;
        }
        Ok(())
    }

    async fn incoming(&mut self, msg: Message) -> Result<(), Close> {
        let frame = match msg {
            Message::Binary(frame) => frame,
            Message::Text(_) => {
                return Err(Close::new(
                    CloseCode::UNSUPPORTED_DATA,
                    "binary frames only",
                ));
            }
            Message::Close(_) => return Err(Close::new(CloseCode::NORMAL, "client closed")),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return Ok(()),
        };
        let metrics = &self.shared.metrics;
        metrics.bytes_in.add(frame.len() as u64);
        if frame.len() > self.shared.limits.max_frame_bytes {
            return Err(Close::new(CloseCode::MESSAGE_TOO_BIG, "frame too large"));
        }
        let now = Instant::now();
        // Both buckets are charged, so a refused message still costs its sender.
        let within_rate =
            self.msgs.try_take(1.0, now) & self.bytes.try_take(frame.len() as f64, now);
        if !within_rate && self.strikes.strike(now) {
            return Err(Close::new(CloseCode::RATE_LIMITED, "too many messages"));
        }
        let msg = match ClientMessage::decode(&frame) {
            Ok(msg) => msg,
            Err(e) => {
                return Err(Close::new(
                    CloseCode::PROTOCOL_ERROR,
                    format!("bad message: {e}"),
                ));
            }
        };
        match msg {
            ClientMessage::Hello { .. } => {
                Err(Close::new(CloseCode::PROTOCOL_ERROR, "second Hello"))
            }
            ClientMessage::Join { doc, state_vector } => {
                if !within_rate {
                    return self.join_failed(doc, Status::RateLimited).await;
                }
                let sv = frame.slice_ref(state_vector);
                self.join(doc, sv).await
            }
            ClientMessage::Leave { handle } => self.leave(handle).await,
            ClientMessage::Update {
                handle,
                batch,
                update,
            } => {
                metrics.updates_in.inc();
                if !within_rate {
                    return self.reject_update(handle, batch, Status::RateLimited).await;
                }
                let update = frame.slice_ref(update);
                self.update(handle, batch, update, now).await
            }
            ClientMessage::Presence {
                handle,
                clock,
                data,
            } => {
                metrics.presence_in.inc();
                if !within_rate || !self.presence.try_take(1.0, now) {
                    return self
                        .error(Status::RateLimited, "presence rate exceeded")
                        .await;
                }
                if data.len() > self.shared.limits.max_presence_bytes {
                    return self.error(Status::TooLarge, "presence too large").await;
                }
                let data = frame.slice_ref(data);
                self.presence(handle, clock, data).await
            }
        }
    }

    async fn join(&mut self, doc: &str, state_vector: Bytes) -> Result<(), Close> {
        if !valid_doc_id(doc) || self.joined.values().any(|j| &*j.doc == doc) {
            return self.join_failed(doc, Status::BadRequest).await;
        }
        if self.joined.len() >= self.shared.limits.max_docs_per_connection {
            return self.join_failed(doc, Status::TooManyDocuments).await;
        }
        let Some(access) = self.grant.access_for(doc) else {
            return self.join_failed(doc, Status::PermissionDenied).await;
        };
        let Some(room) = self.shared.rooms.get(doc) else {
            return self.join_failed(doc, Status::Unavailable).await;
        };
        let sub = next_sub_id();
        let subscriber = Subscriber {
            id: sub,
            client: self.client,
            access,
            outlet: Box::new(LocalOutlet::new(
                self.outbox_tx.clone(),
                Arc::clone(&self.lag),
            )),
        };
        let cmd = RoomCmd::Join {
            sub: subscriber,
            state_vector,
        };
        if room.tx.send(cmd).await.is_err() {
            return self.join_failed(doc, Status::Unavailable).await;
        }
        self.joined.insert(
            room.handle,
            Joined {
                doc: Arc::from(doc),
                tx: room.tx,
                sub,
                access,
                confirmed: false,
            },
        );
        Ok(())
    }

    async fn leave(&mut self, handle: Handle) -> Result<(), Close> {
        let Some(j) = self.joined.remove(&handle) else {
            return self.error(Status::UnknownDocument, "not joined").await;
        };
        let _ = j.tx.send(RoomCmd::Leave { sub: j.sub }).await;
        self.send(ServerMessage::Left {
            handle,
            status: Status::Ok,
        })
        .await
    }

    async fn update(
        &mut self,
        handle: Handle,
        batch: BatchId,
        update: Bytes,
        received: Instant,
    ) -> Result<(), Close> {
        let Some(j) = self.joined.get(&handle) else {
            return self
                .reject_update(handle, batch, Status::UnknownDocument)
                .await;
        };
        if j.access != Access::ReadWrite {
            return self
                .reject_update(handle, batch, Status::PermissionDenied)
                .await;
        }
        if update.len() > self.shared.limits.max_update_bytes {
            return self.reject_update(handle, batch, Status::TooLarge).await;
        }
        let (reply, status) = oneshot::channel();
        let cmd = RoomCmd::Update {
            sub: j.sub,
            update,
            reply,
        };
        if j.tx.send(cmd).await.is_err() {
            return self.reject_update(handle, batch, Status::Unavailable).await;
        }
        self.acks.push(Box::pin(async move {
            AckDone {
                handle,
                batch,
                status: status.await.unwrap_or(Status::Unavailable),
                received,
            }
        }));
        Ok(())
    }

    async fn presence(&mut self, handle: Handle, clock: u64, data: Bytes) -> Result<(), Close> {
        let Some(j) = self.joined.get(&handle) else {
            return self.error(Status::UnknownDocument, "not joined").await;
        };
        let cmd = RoomCmd::Presence {
            sub: j.sub,
            clock,
            data,
        };
        let _ = j.tx.send(cmd).await;
        Ok(())
    }

    /// Unsubscribes from every document without waiting (rooms also notice closed queues).
    fn leave_all(&mut self) {
        for (_, j) in self.joined.drain() {
            let _ = j.tx.try_send(RoomCmd::Leave { sub: j.sub });
        }
    }
}
