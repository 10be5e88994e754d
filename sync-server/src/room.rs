//! The document actor: one task per loaded document owns its [`Doc`], its subscribers and their
//! presence. Every change goes through it in order:
//!
//! 1. an update is applied to the `Doc` (the engine validates it; an invalid one is rejected and
//!    neither stored nor broadcast),
//! 2. appended to the store (group-committed with other documents' writes),
//! 3. fanned out — one encoded frame shared by every other subscriber — right away or once
//!    committed, as [`Fanout`] says,
//! 4. once committed, acknowledged to its author.
//!
//! A join is answered with the server's state vector and exactly what the client lacks, sent
//! only once everything it reflects is committed. Identical joins share one encoding.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use tokio::sync::{mpsc, oneshot, watch};
use weft::Doc;
use weft::sync::{Access, ClientId, Handle, ServerMessage, Status};

use crate::config::Fanout;
use crate::fanout::{Outbound, Outlet, SubId, Undelivered};
use crate::metrics::Metrics;
use crate::rooms::RoomsShared;
use crate::store::{Store, StoreError, StoredDoc};

/// A connection's subscription request.
pub struct Subscriber {
    /// The subscription's id.
    pub id: SubId,
    /// The connection's client id (keys its presence).
    pub client: ClientId,
    /// What the subscription may do.
    pub access: Access,
    /// Where frames for it go.
    pub outlet: Box<dyn Outlet>,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("id", &self.id)
            .field("client", &self.client)
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

/// A command for a room.
#[derive(Debug)]
pub enum RoomCmd {
    /// Subscribe, sending the client's encoded state vector.
    Join {
        /// The new subscriber.
        sub: Subscriber,
        /// The client's encoded state vector.
        state_vector: Bytes,
    },
    /// Unsubscribe.
    Leave {
        /// The subscription.
        sub: SubId,
    },
    /// Apply, commit, acknowledge and fan out an update.
    Update {
        /// The author's subscription.
        sub: SubId,
        /// The encoded update.
        update: Bytes,
        /// Receives the status once the update is committed or rejected.
        reply: oneshot::Sender<Status>,
    },
    /// Set (or, with empty data, clear) the author's presence.
    Presence {
        /// The author's subscription.
        sub: SubId,
        /// The author's presence clock.
        clock: u64,
        /// The presence blob.
        data: Bytes,
    },
}

/// Room tuning, from the server configuration.
#[derive(Clone, Debug)]
pub struct RoomConfig {
    /// Largest stored size of the document.
    pub max_doc_bytes: usize,
    /// Presence entries not refreshed for this long are removed.
    pub presence_timeout: Duration,
    /// Compact after this many stored updates.
    pub compact_after_updates: usize,
    /// Compact after this many bytes of stored updates.
    pub compact_after_bytes: usize,
    /// Evict after having no subscribers for this long.
    pub idle_evict: Duration,
    /// Capacity of a room's command queue.
    pub queue: usize,
    /// When accepted updates go to the other subscribers.
    pub fanout: Fanout,
}

struct Sub {
    info: Subscriber,
    /// Updates applied up to this sequence number are in the subscriber's `Joined` answer.
    from_seq: u64,
    /// Whether its `Joined` answer has been delivered.
    ready: bool,
}

struct PresenceEntry {
    sub: SubId,
    clock: u64,
    data: Bytes,
    expires: Instant,
}

/// What to do once the store has committed everything up to a sequence number.
enum AfterCommit {
    Ack {
        reply: oneshot::Sender<Status>,
        author: SubId,
        frame: Bytes,
    },
    Joined {
        sub: SubId,
        frame: Bytes,
    },
    Duplicate {
        reply: oneshot::Sender<Status>,
    },
}

type Commit = Pin<Box<dyn Future<Output = (u64, Result<(), StoreError>)> + Send>>;

/// Everything a room task needs.
pub(crate) struct RoomTask {
    pub(crate) name: Arc<str>,
    pub(crate) handle: Handle,
    pub(crate) rx: mpsc::Receiver<RoomCmd>,
    pub(crate) registry: Arc<RoomsShared>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) config: RoomConfig,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) stop: watch::Receiver<bool>,
}

struct Room {
    name: Arc<str>,
    handle: Handle,
    doc: Doc,
    store: Arc<dyn Store>,
    config: RoomConfig,
    metrics: Arc<Metrics>,
    subs: Vec<Sub>,
    presence: HashMap<ClientId, PresenceEntry>,
    /// Updates applied to `doc` so far.
    applied: u64,
    /// Updates committed so far.
    committed: u64,
    inflight: FuturesOrdered<Commit>,
    after: VecDeque<(u64, AfterCommit)>,
    /// `Joined` frames by (client state vector, access), valid until the next applied update.
    join_cache: Vec<(Bytes, Access, Bytes)>,
    stored_bytes: usize,
    updates_since_snapshot: usize,
    bytes_since_snapshot: usize,
}

const JOIN_CACHE_ENTRIES: usize = 8;
const TICK: Duration = Duration::from_millis(500);

/// Runs a room until it is evicted, fails or the server stops.
pub(crate) async fn run(task: RoomTask) {
    let RoomTask {
        name,
        handle,
        mut rx,
        registry,
        store,
        config,
        metrics,
        mut stop,
    } = task;
    metrics.documents_loaded.inc();
    let loaded = match store.load(&name).await {
        Ok(stored) => build_doc(&stored).map(|doc| (doc, stored)),
        Err(e) => Err(e.to_string()),
    };
    let (doc, stored) = match loaded {
        Ok(x) => x,
        Err(error) => {
            tracing::error!(doc = %name, %error, "document failed to load");
            registry.remove(&name, handle);
            fail_queued(&mut rx, handle, Status::Unavailable);
            metrics.documents_loaded.dec();
            return;
        }
    };
    tracing::debug!(doc = %name, bytes = stored.byte_len(), updates = stored.updates.len(), "document loaded");
    let mut room = Room {
        name,
        handle,
        doc,
        store,
        metrics,
        subs: Vec::new(),
        presence: HashMap::new(),
        applied: 0,
        committed: 0,
        inflight: FuturesOrdered::new(),
        after: VecDeque::new(),
        join_cache: Vec::new(),
        stored_bytes: stored.byte_len(),
        updates_since_snapshot: stored.updates.len(),
        bytes_since_snapshot: stored.updates.iter().map(Vec::len).sum(),
        config,
    };
    drop(stored);
    if room.should_compact() {
        room.compact();
    }

    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut idle_since: Option<Instant> = None;
    // Built once: a new one on every pass would register with the shared stop channel.
    let stopping = crate::stopped(&mut stop);
    tokio::pin!(stopping);
    let failed = loop {
        tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(cmd) => room.command(cmd),
                None => break false,
            },
            Some((seq, result)) = room.inflight.next(), if !room.inflight.is_empty() => {
                if let Err(error) = result {
                    tracing::error!(doc = %room.name, %error, "commit failed; unloading the document");
                    break true;
                }
                room.committed(seq);
            }
            _ = tick.tick() => {
                let now = Instant::now();
                room.sweep(now);
                if room.should_compact() {
                    room.compact();
                }
                if room.subs.is_empty() && room.inflight.is_empty() {
                    let since = *idle_since.get_or_insert(now);
                    if now.duration_since(since) >= room.config.idle_evict {
                        if room.updates_since_snapshot > 0 {
                            room.compact();
                        }
                        if registry.remove_if_unused(&room.name, room.handle, &rx) {
                            break false;
                        }
                    }
                } else {
                    idle_since = None;
                }
            }
            _ = &mut stopping => break false,
        }
    };
    if failed {
        // The document in memory holds an update the store does not: drop it and let clients
        // resync against what the store has.
        registry.remove(&room.name, room.handle);
        room.fail_all(Status::Unavailable);
        fail_queued(&mut rx, room.handle, Status::Unavailable);
    } else {
        room.drain().await;
        if room.updates_since_snapshot > 0 {
            room.compact();
        }
        registry.remove(&room.name, room.handle);
        fail_queued(&mut rx, room.handle, Status::Unavailable);
    }
    tracing::debug!(doc = %room.name, "document unloaded");
    room.metrics.documents_loaded.dec();
}

fn build_doc(stored: &StoredDoc) -> Result<Doc, String> {
    let mut doc = match &stored.snapshot {
        Some(snapshot) => Doc::load(snapshot).map_err(|e| format!("snapshot: {e}"))?,
        None => Doc::new(),
    };
    for (i, update) in stored.updates.iter().enumerate() {
        doc.apply_update(update)
            .map_err(|e| format!("stored update {i}: {e}"))?;
    }
    Ok(doc)
}

/// Answers everything still queued for a room that is going away.
fn fail_queued(rx: &mut mpsc::Receiver<RoomCmd>, handle: Handle, status: Status) {
    rx.close();
    while let Ok(cmd) = rx.try_recv() {
        match cmd {
            RoomCmd::Join { sub, .. } => {
                let _ = sub.outlet.deliver(Outbound::Ended {
                    handle,
                    sub: sub.id,
                    status,
                });
            }
            RoomCmd::Update { reply, .. } => {
                let _ = reply.send(status);
            }
            RoomCmd::Leave { .. } | RoomCmd::Presence { .. } => {}
        }
    }
}

impl Room {
    fn command(&mut self, cmd: RoomCmd) {
        match cmd {
            RoomCmd::Join { sub, state_vector } => self.join(sub, state_vector),
            RoomCmd::Leave { sub } => self.remove_sub(sub),
            RoomCmd::Update { sub, update, reply } => self.update(sub, update, reply),
            RoomCmd::Presence { sub, clock, data } => self.set_presence(sub, clock, data),
        }
    }

    fn join(&mut self, sub: Subscriber, state_vector: Bytes) {
        let cached = self
            .join_cache
            .iter()
            .find(|(sv, access, _)| *sv == state_vector && *access == sub.access)
            .map(|(_, _, frame)| frame.clone());
        let frame = match cached {
            Some(frame) => frame,
            None => match weft::sync::answer_join(&self.doc, &state_vector) {
                Ok((server_sv, diff)) => {
                    let frame = Bytes::from(
                        ServerMessage::Joined {
                            handle: self.handle,
                            doc: &self.name,
                            access: sub.access,
                            state_vector: &server_sv,
                            update: &diff,
                        }
                        .encode(),
                    );
                    if self.join_cache.len() >= JOIN_CACHE_ENTRIES {
                        self.join_cache.remove(0);
                    }
                    self.join_cache
                        .push((state_vector, sub.access, frame.clone()));
                    frame
                }
                Err(_) => {
                    self.metrics.reject(Status::Invalid);
                    let _ = sub.outlet.deliver(Outbound::Ended {
                        handle: self.handle,
                        sub: sub.id,
                        status: Status::Invalid,
                    });
                    return;
                }
            },
        };
        let id = sub.id;
        self.subs.push(Sub {
            info: sub,
            from_seq: self.applied,
            ready: false,
        });
        if self.committed == self.applied {
            self.deliver_joined(id, frame);
        } else {
            self.after
                .push_back((self.applied, AfterCommit::Joined { sub: id, frame }));
        }
    }

    fn deliver_joined(&mut self, id: SubId, frame: Bytes) {
        let handle = self.handle;
        let Some(pos) = self.subs.iter().position(|s| s.info.id == id) else {
            return;
        };
        let result = self.subs.get(pos).map(|s| {
            s.info.outlet.deliver(Outbound::Joined {
                handle,
                sub: id,
                frame,
            })
        });
        if let Some(Err(why)) = result {
            self.undelivered(id, why);
            return;
        }
        if let Some(s) = self.subs.get_mut(pos) {
            s.ready = true;
        }
        // Bring the newcomer up to date on everyone's presence.
        let frames: Vec<Bytes> = self
            .presence
            .iter()
            .map(|(client, p)| self.presence_frame(*client, p.clock, &p.data))
            .collect();
        // With fan-out on apply, the updates applied after its join answer went out before it
        // was ready: send them now, in order.
        let from_seq = self.subs.get(pos).map_or(u64::MAX, |s| s.from_seq);
        let uncommitted = self.after.iter().filter_map(|(seq, action)| match action {
            AfterCommit::Ack { author, frame, .. }
                if self.config.fanout == Fanout::Apply && *seq > from_seq && *author != id =>
            {
                Some(frame.clone())
            }
            _ => None,
        });
        for frame in frames.into_iter().chain(uncommitted.collect::<Vec<_>>()) {
            if let Err(why) = self.send(id, frame) {
                self.undelivered(id, why);
                return;
            }
        }
    }

    fn send(&self, id: SubId, frame: Bytes) -> Result<(), Undelivered> {
        let sub = self
            .subs
            .iter()
            .find(|s| s.info.id == id)
            .ok_or(Undelivered::Closed)?;
        sub.info.outlet.deliver(Outbound::Frame {
            handle: self.handle,
            sub: id,
            frame,
        })
    }

    fn update(&mut self, id: SubId, update: Bytes, reply: oneshot::Sender<Status>) {
        let status = match self.subs.iter().find(|s| s.info.id == id) {
            None => Some(Status::UnknownDocument),
            Some(s) if s.info.access != Access::ReadWrite => Some(Status::PermissionDenied),
            Some(_)
                if self.stored_bytes.saturating_add(update.len()) > self.config.max_doc_bytes =>
            {
                Some(Status::TooLarge)
            }
            Some(_) => None,
        };
        if let Some(status) = status {
            self.metrics.reject(status);
            let _ = reply.send(status);
            return;
        }
        let outcome = match self.doc.apply_update(&update) {
            Ok(outcome) => outcome,
            Err(error) => {
                tracing::debug!(doc = %self.name, %error, "update rejected");
                self.metrics.reject(Status::Invalid);
                let _ = reply.send(Status::Invalid);
                return;
            }
        };
        if outcome.ops == 0 && outcome.deletes == 0 && !outcome.pending {
            // Nothing new (a duplicate): nothing to store or send, but its content is durable
            // only once everything applied so far is committed.
            if self.committed == self.applied {
                let _ = reply.send(Status::Ok);
            } else {
                self.after
                    .push_back((self.applied, AfterCommit::Duplicate { reply }));
            }
            return;
        }
        self.applied += 1;
        self.join_cache.clear();
        self.stored_bytes += update.len();
        self.updates_since_snapshot += 1;
        self.bytes_since_snapshot += update.len();
        let seq = self.applied;
        let commit = self.store.append(&self.name, update.clone());
        self.inflight
            .push_back(Box::pin(async move { (seq, commit.await) }));
        let frame = Bytes::from(
            ServerMessage::Update {
                handle: self.handle,
                update: &update,
            }
            .encode(),
        );
        if self.config.fanout == Fanout::Apply {
            self.broadcast(&frame, Some(id), seq);
        }
        self.after.push_back((
            seq,
            AfterCommit::Ack {
                reply,
                author: id,
                frame,
            },
        ));
    }

    fn committed(&mut self, seq: u64) {
        self.committed = seq;
        while self.after.front().is_some_and(|(s, _)| *s <= seq) {
            let Some((s, action)) = self.after.pop_front() else {
                break;
            };
            match action {
                AfterCommit::Ack {
                    reply,
                    author,
                    frame,
                } => {
                    let _ = reply.send(Status::Ok);
                    if self.config.fanout == Fanout::Commit {
                        self.broadcast(&frame, Some(author), s);
                    }
                }
                AfterCommit::Joined { sub, frame } => self.deliver_joined(sub, frame),
                AfterCommit::Duplicate { reply } => {
                    let _ = reply.send(Status::Ok);
                }
            }
        }
    }

    /// Sends `frame` to every ready subscriber whose join answer did not already contain update
    /// `seq` (every one for presence, `seq == u64::MAX`), except `except`.
    fn broadcast(&mut self, frame: &Bytes, except: Option<SubId>, seq: u64) {
        let mut failed = Vec::new();
        let mut sent = 0;
        for s in &self.subs {
            if !s.ready || Some(s.info.id) == except || s.from_seq >= seq {
                continue;
            }
            match s.info.outlet.deliver(Outbound::Frame {
                handle: self.handle,
                sub: s.info.id,
                frame: frame.clone(),
            }) {
                Ok(()) => sent += 1,
                Err(why) => failed.push((s.info.id, why)),
            }
        }
        if seq != u64::MAX {
            self.metrics.updates_out.add(sent);
        }
        for (id, why) in failed {
            self.undelivered(id, why);
        }
    }

    /// Drops a subscriber that could not take a message: a full queue must resync, a closed
    /// one is gone.
    fn undelivered(&mut self, id: SubId, why: Undelivered) {
        let Some(pos) = self.subs.iter().position(|s| s.info.id == id) else {
            return;
        };
        let sub = self.subs.swap_remove(pos);
        if why == Undelivered::Full {
            self.metrics.resyncs.inc();
            tracing::debug!(doc = %self.name, sub = id.0, "subscriber fell behind; asking it to resync");
            sub.info.outlet.lagged(self.handle, id);
        }
        self.clear_presence_of(id);
    }

    fn remove_sub(&mut self, id: SubId) {
        if let Some(pos) = self.subs.iter().position(|s| s.info.id == id) {
            self.subs.swap_remove(pos);
            self.clear_presence_of(id);
        }
    }

    fn presence_frame(&self, client: ClientId, clock: u64, data: &[u8]) -> Bytes {
        Bytes::from(
            ServerMessage::Presence {
                handle: self.handle,
                client,
                clock,
                data,
            }
            .encode(),
        )
    }

    fn set_presence(&mut self, id: SubId, clock: u64, data: Bytes) {
        let Some(client) = self
            .subs
            .iter()
            .find(|s| s.info.id == id)
            .map(|s| s.info.client)
        else {
            return;
        };
        if self.presence.get(&client).is_some_and(|p| p.clock >= clock) {
            return;
        }
        let frame = self.presence_frame(client, clock, &data);
        if data.is_empty() {
            if self.presence.remove(&client).is_none() {
                return;
            }
        } else {
            self.presence.insert(
                client,
                PresenceEntry {
                    sub: id,
                    clock,
                    data,
                    expires: Instant::now() + self.config.presence_timeout,
                },
            );
        }
        self.broadcast(&frame, Some(id), u64::MAX);
    }

    fn clear_presence_of(&mut self, id: SubId) {
        let gone: Vec<(ClientId, u64)> = self
            .presence
            .iter()
            .filter(|(_, p)| p.sub == id)
            .map(|(c, p)| (*c, p.clock))
            .collect();
        for (client, clock) in gone {
            self.presence.remove(&client);
            let frame = self.presence_frame(client, clock, &[]);
            self.broadcast(&frame, None, u64::MAX);
        }
    }

    /// Removes subscribers whose connection is gone and presence that timed out.
    fn sweep(&mut self, now: Instant) {
        let closed: Vec<SubId> = self
            .subs
            .iter()
            .filter(|s| s.info.outlet.is_closed())
            .map(|s| s.info.id)
            .collect();
        for id in closed {
            self.remove_sub(id);
        }
        let expired: Vec<(ClientId, u64)> = self
            .presence
            .iter()
            .filter(|(_, p)| p.expires <= now)
            .map(|(c, p)| (*c, p.clock))
            .collect();
        for (client, clock) in expired {
            self.presence.remove(&client);
            let frame = self.presence_frame(client, clock, &[]);
            self.broadcast(&frame, None, u64::MAX);
        }
    }

    fn should_compact(&self) -> bool {
        self.updates_since_snapshot >= self.config.compact_after_updates.max(1)
            || self.bytes_since_snapshot >= self.config.compact_after_bytes.max(1)
    }

    /// Replaces the stored updates by a snapshot of the document. Every update applied so far
    /// was appended before this call, so the snapshot covers all of them (operations still
    /// waiting for dependencies included: the engine's encoding carries them).
    fn compact(&mut self) {
        let snapshot = Bytes::from(self.doc.encode_state());
        self.stored_bytes = snapshot.len();
        self.updates_since_snapshot = 0;
        self.bytes_since_snapshot = 0;
        let done = self.store.compact(&self.name, snapshot);
        let metrics = Arc::clone(&self.metrics);
        let name = Arc::clone(&self.name);
        tokio::spawn(async move {
            match done.await {
                Ok(()) => metrics.compactions.inc(),
                Err(error) => tracing::warn!(doc = %name, %error, "compaction failed"),
            }
        });
    }

    /// Waits for every in-flight commit and answers its author.
    async fn drain(&mut self) {
        while let Some((seq, result)) = self.inflight.next().await {
            match result {
                Ok(()) => self.committed(seq),
                Err(_) => {
                    self.fail_all(Status::Unavailable);
                    return;
                }
            }
        }
    }

    /// Answers every pending request with `status` and ends every subscription.
    fn fail_all(&mut self, status: Status) {
        for (_, action) in self.after.drain(..) {
            match action {
                AfterCommit::Ack { reply, .. } | AfterCommit::Duplicate { reply } => {
                    let _ = reply.send(status);
                }
                AfterCommit::Joined { .. } => {}
            }
        }
        for s in self.subs.drain(..) {
            let _ = s.info.outlet.deliver(Outbound::Ended {
                handle: self.handle,
                sub: s.info.id,
                status,
            });
        }
        self.presence.clear();
    }
}
