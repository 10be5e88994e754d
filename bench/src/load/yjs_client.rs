//! One simulated Yjs client for the y-websocket server, driven the same way as a Weft client:
//! a `yrs::Doc` per client, the y-protocols sync exchange, and an update message per edit.
//!
//! y-websocket's wire format: each WebSocket message is a lib0 var-uint message type (0 sync,
//! 1 awareness) and its body. A sync body is a var-uint sub-type (0 step 1 with a state vector,
//! 1 step 2 with an update, 2 update) and a var-uint-length byte array. The server opens with
//! its step 1; the client answers with step 2 and sends its own step 1, which the server
//! answers with step 2. The server broadcasts every update it applies to every connection of
//! the room, the author included (so the author's echo stands in for an ack: it means the
//! server applied the edit, not that it stored it), re-encoded by Yjs, so broadcasts are matched
//! to their edit by the client id and clock of the update's first struct.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::time::Interval;
use tokio_tungstenite::tungstenite::Message;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{GetString, ReadTxn, StateVector, Text, TextRef, Transact, Update};

use super::shared::{
    Rng, Room, Shared, Verified, Ws, check_room, connect, gauge, token_id, write_token,
};
use super::stats::ErrorKind;
use super::weft_client::{ClientSpec, TEXT, next_binary, tick};

const MSG_SYNC: u64 = 0;
const SYNC_STEP1: u64 = 0;
const SYNC_STEP2: u64 = 1;
const SYNC_UPDATE: u64 = 2;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// An overloaded server may take long to work through its backlog before it answers.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(120);

/// Appends `v` as a lib0 var-uint (unsigned LEB128).
fn put_var(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a lib0 var-uint from the front of `buf`.
fn take_var(buf: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = buf.split_first()?;
        *buf = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// A sync message: type 0, sub-type, then `payload` as a var-uint8-array.
fn sync_msg(sub: u64, payload: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(payload.len() + 8);
    put_var(&mut m, MSG_SYNC);
    put_var(&mut m, sub);
    put_var(&mut m, payload.len() as u64);
    m.extend_from_slice(payload);
    m
}

/// A parsed sync message: (sub-type, payload). `None` for awareness and other types.
fn parse_sync(frame: &[u8]) -> Result<Option<(u64, &[u8])>, String> {
    let mut b = frame;
    let kind = take_var(&mut b).ok_or("truncated message type")?;
    if kind != MSG_SYNC {
        return Ok(None);
    }
    let sub = take_var(&mut b).ok_or("truncated sync type")?;
    let len = usize::try_from(take_var(&mut b).ok_or("truncated length")?)
        .map_err(|_| "length overflow")?;
    let payload = b.get(..len).ok_or("payload past the end")?;
    Ok(Some((sub, payload)))
}

/// The client id and clock of the first struct of a v1 update: its number of client groups,
/// then per group the number of structs, the client id and the first clock.
fn first_id(update: &[u8]) -> Option<(u64, u64)> {
    let mut b = update;
    let groups = take_var(&mut b)?;
    if groups == 0 {
        return None;
    }
    let _structs = take_var(&mut b)?;
    let client = take_var(&mut b)?;
    let clock = take_var(&mut b)?;
    Some((client, clock))
}

fn key(client: u64, clock: u64) -> u64 {
    (client << 32) ^ clock
}

struct Sent {
    token: u64,
    at: Instant,
    tracked: bool,
    conn: u64,
}

struct Client {
    sh: Arc<Shared>,
    room: Arc<Room>,
    spec: ClientSpec,
    doc: yrs::Doc,
    text: TextRef,
    client_id: u64,
    seq: u32,
    token: String,
    /// Edits awaiting their echo, by key.
    sent: HashMap<u64, Sent>,
    conn: u64,
    synced: bool,
}

/// Runs a client until the run stops.
pub(crate) async fn run(sh: Arc<Shared>, room: Arc<Room>, spec: ClientSpec) {
    // Yjs client ids are 32-bit in JavaScript; client numbers are unique in a run.
    let client_id = u64::from(spec.id) + 1;
    let doc = yrs::Doc::with_client_id(client_id);
    let text = doc.get_or_insert_text(TEXT);
    let mut c = Client {
        sh,
        room,
        spec,
        doc,
        text,
        client_id,
        seq: 0,
        token: String::new(),
        sent: HashMap::new(),
        conn: 0,
        synced: false,
    };
    c.main().await;
}

impl Client {
    async fn main(&mut self) {
        let mut rng = Rng::new(self.spec.seed);
        let mut ticker = self.spec.ticker(&mut rng);
        let mut server = self.sh.server.clone();
        let mut stop = self.sh.stop.clone();
        let path = format!("/{}", self.room.name);
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
                ws = connect(state.addr, &path, CONNECT_TIMEOUT) => ws,
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

    async fn serve(
        &mut self,
        ws: &mut Ws,
        ticker: &mut Option<Interval>,
        stop: &mut tokio::sync::watch::Receiver<bool>,
        mut permit: Option<tokio::sync::OwnedSemaphorePermit>,
        epoch: u64,
    ) -> bool {
        let step1 = sync_msg(SYNC_STEP1, &self.doc.transact().state_vector().encode_v1());
        if ws.send(Message::Binary(step1.into())).await.is_err() {
            return false;
        }
        // Built once: a new one on every pass would register with the shared stop channel.
        let stopping = super::shared::wait_true(stop);
        tokio::pin!(stopping);
        loop {
            tokio::select! {
                _ = &mut stopping => return true,
                msg = ws.next() => match msg {
                    Some(Ok(Message::Binary(frame))) => {
                        let reply = self.on_frame(&frame, epoch);
                        if self.synced {
                            permit = None;
                        }
                        if let Some(reply) = reply
                            && ws.send(Message::Binary(reply.into())).await.is_err()
                        {
                            break;
                        }
                    }
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => {}
                },
                _ = tick(ticker) => {
                    if self.sh.editing.load(std::sync::atomic::Ordering::Relaxed) && self.synced {
                        let frame = self.edit();
                        if ws.send(Message::Binary(frame.into())).await.is_err() {
                            break;
                        }
                    }
                }
            }
        }
        drop(permit);
        false
    }

    /// Makes one edit; returns its update message.
    fn edit(&mut self) -> Vec<u8> {
        use std::sync::atomic::Ordering::Relaxed;
        let seq = self.seq;
        self.seq += 1;
        write_token(&mut self.token, self.spec.id, seq);
        let update = {
            let mut txn = self.doc.transact_mut();
            let clock = txn
                .state_vector()
                .get(&yrs::block::ClientID::new(self.client_id));
            self.text.insert(&mut txn, 0, &self.token);
            let update = txn.encode_update_v1();
            let tracked = self.sh.tracking.load(Relaxed);
            let at = Instant::now();
            let k = key(self.client_id, u64::from(clock));
            self.sent.insert(
                k,
                Sent {
                    token: token_id(self.spec.id, seq),
                    at,
                    tracked,
                    conn: self.conn,
                },
            );
            if tracked {
                self.room.sent(k, at);
                self.sh.counts.tracked_sent.fetch_add(1, Relaxed);
            }
            update
        };
        gauge(&self.sh.unacked, 1);
        self.sh.counts.edits_sent.fetch_add(1, Relaxed);
        sync_msg(SYNC_UPDATE, &update)
    }

    fn on_frame(&mut self, frame: &[u8], epoch: u64) -> Option<Vec<u8>> {
        use std::sync::atomic::Ordering::Relaxed;
        let (sub, payload) = match parse_sync(frame) {
            Ok(Some(m)) => m,
            Ok(None) => return None,
            Err(_) => {
                self.sh.conn_error(ErrorKind::BadFrame, epoch);
                return None;
            }
        };
        match sub {
            SYNC_STEP1 => {
                let Ok(sv) = StateVector::decode_v1(payload) else {
                    self.sh.conn_error(ErrorKind::BadFrame, epoch);
                    return None;
                };
                let diff = self.doc.transact().encode_state_as_update_v1(&sv);
                Some(sync_msg(SYNC_STEP2, &diff))
            }
            SYNC_STEP2 => {
                let applied = Update::decode_v1(payload)
                    .map_err(|_| ())
                    .and_then(|u| self.doc.transact_mut().apply_update(u).map_err(|_| ()));
                if applied.is_err() {
                    self.sh.conn_error(ErrorKind::BadFrame, epoch);
                }
                if !self.synced {
                    self.synced = true;
                    gauge(&self.sh.synced, 1);
                }
                None
            }
            SYNC_UPDATE => {
                let now = Instant::now();
                let Some((client, clock)) = first_id(payload) else {
                    self.sh.conn_error(ErrorKind::BadFrame, epoch);
                    return None;
                };
                let k = key(client, clock);
                if client == self.client_id {
                    if let Some(s) = self.sent.remove(&k) {
                        gauge(&self.sh.unacked, -1);
                        self.room.acked(s.token);
                        self.sh.counts.acked.fetch_add(1, Relaxed);
                        if s.tracked && s.conn == self.conn {
                            self.sh.ack.record(now.saturating_duration_since(s.at));
                            self.sh.counts.tracked_acked.fetch_add(1, Relaxed);
                        }
                    }
                } else {
                    if self.sh.tracking.load(Relaxed) {
                        self.sh.counts.window_frames.fetch_add(1, Relaxed);
                    }
                    if let Some(latency) = self.room.delivered(k, now) {
                        self.sh.delivery.record(latency);
                    }
                }
                None
            }
            _ => {
                self.sh.conn_error(ErrorKind::BadFrame, epoch);
                None
            }
        }
    }
}

/// Syncs every room into a fresh document (one connection per room, a few at a time) and
/// checks that every echoed token is in its text.
pub(crate) async fn verify(
    addr: std::net::SocketAddr,
    rooms: &[Arc<Room>],
    acked: &[Vec<u64>],
) -> Result<Verified, String> {
    let mut total = Verified::default();
    for (chunk, acked) in rooms.chunks(16).zip(acked.chunks(16)) {
        let results = futures_util::future::join_all(
            chunk
                .iter()
                .zip(acked.iter())
                .map(|(room, acked)| verify_room(addr, room, acked)),
        )
        .await;
        for r in results {
            let v = r?;
            total.checked += v.checked;
            total.missing += v.missing;
            total.duplicates += v.duplicates;
        }
    }
    Ok(total)
}

async fn verify_room(
    addr: std::net::SocketAddr,
    room: &Room,
    acked: &[u64],
) -> Result<Verified, String> {
    let work = async {
        let mut ws = connect(addr, &format!("/{}", room.name), VERIFY_TIMEOUT).await?;
        let empty = yrs::Doc::new().transact().state_vector().encode_v1();
        ws.send(Message::Binary(sync_msg(SYNC_STEP1, &empty).into()))
            .await
            .map_err(|e| format!("send: {e}"))?;
        loop {
            let frame = next_binary(&mut ws).await?;
            if let Some((SYNC_STEP2, update)) = parse_sync(&frame)? {
                let doc = yrs::Doc::new();
                let text = doc.get_or_insert_text(TEXT);
                let u = Update::decode_v1(update).map_err(|e| format!("{}: {e}", room.name))?;
                doc.transact_mut()
                    .apply_update(u)
                    .map_err(|e| format!("{}: {e}", room.name))?;
                let s = text.get_string(&doc.transact());
                let _ = ws.close(None).await;
                return check_room(&s, acked).map_err(|e| format!("{}: {e}", room.name));
            }
        }
    };
    tokio::time::timeout(VERIFY_TIMEOUT, work)
        .await
        .map_err(|_| format!("{}: verification timed out", room.name))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn var_uints_round_trip() {
        for v in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut b = Vec::new();
            put_var(&mut b, v);
            let mut s = b.as_slice();
            assert_eq!(take_var(&mut s), Some(v));
            assert!(s.is_empty());
        }
        assert_eq!(take_var(&mut [0x80u8].as_slice()), None);
    }

    #[test]
    fn sync_messages_frame_their_payload() {
        let m = sync_msg(SYNC_UPDATE, &[9, 8, 7]);
        assert_eq!(m, vec![0, 2, 3, 9, 8, 7]);
        assert_eq!(parse_sync(&m), Ok(Some((SYNC_UPDATE, &[9u8, 8, 7][..]))));
        assert_eq!(parse_sync(&[1, 5, 5]), Ok(None));
        assert!(parse_sync(&[0, 2, 4, 1]).is_err());
    }

    #[test]
    fn first_id_matches_a_real_yrs_update() {
        let doc = yrs::Doc::with_client_id(4242);
        let text = doc.get_or_insert_text(TEXT);
        let first = {
            let mut txn = doc.transact_mut();
            text.insert(&mut txn, 0, "[1.0]");
            txn.encode_update_v1()
        };
        assert_eq!(first_id(&first), Some((4242, 0)));
        let second = {
            let mut txn = doc.transact_mut();
            text.insert(&mut txn, 0, "[1.1]");
            txn.encode_update_v1()
        };
        assert_eq!(first_id(&second), Some((4242, 5)));
    }
}
