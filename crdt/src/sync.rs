//! Sans-IO sync protocol: the messages a client and a relay server exchange, their binary
//! encoding, and the client's session state machine.
//!
//! Nothing here does I/O. The browser provider (through the wasm package) and the relay server
//! (`weft-server`) both feed received frames in and write the frames returned to their sockets.
//! `docs/PROTOCOL.md` is the normative description of the wire format; this module implements it.
//!
//! One WebSocket binary message carries exactly one message: a tag byte, then the fields in the
//! order listed on each variant. Integers are unsigned LEB128 varints, byte strings and strings
//! are a varint length followed by the bytes. Decoders are total: any input gives `Ok` or a
//! [`DecodeError`], never a panic.
#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use std::fmt;

use crate::encoding::{DecodeError, DecodeErrorKind, Reader, Writer};
use crate::vecmap::VecMap;
use crate::{Doc, StateVector};

/// The newest protocol version this build speaks.
pub const PROTOCOL_VERSION: u8 = 1;
/// The oldest protocol version this build still speaks.
pub const MIN_PROTOCOL_VERSION: u8 = 1;
/// Bytes that follow the `Hello` tag, so that a server can tell a Weft client from stray traffic.
pub const HELLO_MAGIC: [u8; 4] = *b"weft";

/// Picks the protocol version both sides speak: the newest version in the client's
/// `min..=max` range that this build supports, or `None` when the ranges do not overlap.
pub fn negotiate_version(min: u8, max: u8) -> Option<u8> {
    let best = max.min(PROTOCOL_VERSION);
    (best >= min && best >= MIN_PROTOCOL_VERSION).then_some(best)
}

/// A joined document's number on one connection, chosen by the server in `Joined`.
///
/// All subscribers of one loaded document get the same handle, so the server can encode a
/// broadcast frame once and send the same bytes to every subscriber.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Handle(pub u64);

/// A client-chosen number identifying one `Update` message, echoed in its `Ack`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BatchId(pub u64);

/// The server-assigned number of one connection; presence entries are keyed by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub u64);

/// What a connection may do with a joined document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Sync, send updates and presence.
    ReadWrite,
    /// Sync and send presence; updates are answered with [`Status::PermissionDenied`].
    ReadOnly,
}

impl Access {
    fn code(self) -> u8 {
        match self {
            Access::ReadWrite => 0,
            Access::ReadOnly => 1,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Access::ReadWrite),
            1 => Some(Access::ReadOnly),
            _ => None,
        }
    }
}

/// The outcome of a request, carried by `Ack`, `JoinFailed`, `Left` and `Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Done (for an update: durably committed by the server).
    Ok,
    /// The update or message is malformed or was rejected by the engine. Do not resend it.
    Invalid,
    /// The connection's token does not allow this (a write with read-only access, a document
    /// outside the token's pattern).
    PermissionDenied,
    /// The update, presence blob or resulting document exceeds a server limit. Do not resend it.
    TooLarge,
    /// The connection sent too much too fast. Resend later (see `docs/PROTOCOL.md`).
    RateLimited,
    /// The handle does not name a document this connection has joined.
    UnknownDocument,
    /// The server could not complete the request (storage failure, shutting down). Retry later.
    Unavailable,
    /// The connection fell behind; the server dropped the subscription. Join again to resync.
    Resync,
    /// The connection already has as many documents joined as the server allows.
    TooManyDocuments,
    /// The request is well-formed but makes no sense (an empty or overlong document id, a second
    /// join of the same document).
    BadRequest,
}

impl Status {
    /// The status's wire code.
    pub fn code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Invalid => 1,
            Status::PermissionDenied => 2,
            Status::TooLarge => 3,
            Status::RateLimited => 4,
            Status::UnknownDocument => 5,
            Status::Unavailable => 6,
            Status::Resync => 7,
            Status::TooManyDocuments => 8,
            Status::BadRequest => 9,
        }
    }

    /// The status for a wire code, if it is one this version defines.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Status::Ok,
            1 => Status::Invalid,
            2 => Status::PermissionDenied,
            3 => Status::TooLarge,
            4 => Status::RateLimited,
            5 => Status::UnknownDocument,
            6 => Status::Unavailable,
            7 => Status::Resync,
            8 => Status::TooManyDocuments,
            9 => Status::BadRequest,
            _ => return None,
        })
    }

    /// A stable lower-case name (for logs and metrics labels).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Invalid => "invalid",
            Status::PermissionDenied => "permission_denied",
            Status::TooLarge => "too_large",
            Status::RateLimited => "rate_limited",
            Status::UnknownDocument => "unknown_document",
            Status::Unavailable => "unavailable",
            Status::Resync => "resync",
            Status::TooManyDocuments => "too_many_documents",
            Status::BadRequest => "bad_request",
        }
    }

    /// Whether sending the same request again later can succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            Status::RateLimited | Status::Unavailable | Status::Resync
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The limits a server enforces, announced in `Welcome` so clients can stay within them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest WebSocket message the server accepts, in bytes.
    pub max_frame_bytes: u64,
    /// Largest update the server accepts, in bytes.
    pub max_update_bytes: u64,
    /// Largest presence blob the server accepts, in bytes.
    pub max_presence_bytes: u64,
    /// Presence entries not refreshed within this many milliseconds are removed.
    pub presence_timeout_ms: u64,
    /// Most documents one connection may have joined at once.
    pub max_documents: u64,
}

/// A message from a client to the server. Byte fields borrow from the decoded frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientMessage<'a> {
    /// Tag `0x01`. First message on every connection: magic `weft`, the range of protocol
    /// versions the client speaks (`u8` each) and an access token (a string, empty for none).
    /// This layout is the same in every protocol version.
    Hello {
        /// Oldest version the client speaks.
        min_version: u8,
        /// Newest version the client speaks.
        max_version: u8,
        /// Access token (a signed JWT) or `None`.
        token: Option<&'a str>,
    },
    /// Tag `0x02`. Subscribe to a document, sending the client's encoded state vector.
    Join {
        /// Document id.
        doc: &'a str,
        /// The client's state vector ([`crate::StateVector::encode`]).
        state_vector: &'a [u8],
    },
    /// Tag `0x03`. Unsubscribe from a joined document.
    Leave {
        /// Handle from `Joined`.
        handle: Handle,
    },
    /// Tag `0x04`. An update for a joined document, acknowledged by `Ack` with the same batch.
    Update {
        /// Handle from `Joined`.
        handle: Handle,
        /// Client-chosen id echoed in the `Ack`.
        batch: BatchId,
        /// An encoded update.
        update: &'a [u8],
    },
    /// Tag `0x05`. The client's presence for a document; an empty blob removes it.
    Presence {
        /// Handle from `Joined`.
        handle: Handle,
        /// Grows with each new blob from this client; older clocks are ignored.
        clock: u64,
        /// Opaque application data (cursor, name, colour).
        data: &'a [u8],
    },
}

/// A message from the server to a client. Byte fields borrow from the decoded frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerMessage<'a> {
    /// Tag `0x81`. Answer to `Hello`: the chosen version, the connection's client id and the
    /// server's limits.
    Welcome {
        /// Protocol version used from now on.
        version: u8,
        /// This connection's id (presence entries of this client carry it).
        client: ClientId,
        /// Limits the server enforces.
        limits: Limits,
    },
    /// Tag `0x82`. Answer to `Join`: the handle, the access granted, the server's state vector
    /// (so the client can send what the server lacks) and an update with what the client lacks.
    Joined {
        /// Handle for the document on this connection.
        handle: Handle,
        /// Document id from the `Join`.
        doc: &'a str,
        /// What the connection may do.
        access: Access,
        /// The server's state vector, covering only committed updates.
        state_vector: &'a [u8],
        /// Everything the client lacks (an encoded update).
        update: &'a [u8],
    },
    /// Tag `0x83`. A `Join` was refused.
    JoinFailed {
        /// Document id from the `Join`.
        doc: &'a str,
        /// Why.
        status: Status,
    },
    /// Tag `0x84`. The subscription ended: `Ok` confirms a `Leave`, `Resync` asks the client to
    /// join again, `Unavailable` to join again after a delay.
    Left {
        /// The handle that is no longer valid.
        handle: Handle,
        /// Why.
        status: Status,
    },
    /// Tag `0x85`. The outcome of a client `Update`.
    Ack {
        /// Handle of the update.
        handle: Handle,
        /// Batch id of the update.
        batch: BatchId,
        /// `Ok` once the update is durably committed, or why it was rejected.
        status: Status,
    },
    /// Tag `0x86`. An update another client made, already committed by the server.
    Update {
        /// Handle of the document.
        handle: Handle,
        /// An encoded update.
        update: &'a [u8],
    },
    /// Tag `0x87`. Another client's presence; an empty blob means it is gone.
    Presence {
        /// Handle of the document.
        handle: Handle,
        /// Whose presence.
        client: ClientId,
        /// That client's presence clock.
        clock: u64,
        /// Opaque application data; empty when removed.
        data: &'a [u8],
    },
    /// Tag `0x88`. A request that has no reply of its own failed (a presence message that was
    /// too large or too frequent, a `Leave` of an unknown handle).
    Error {
        /// Why.
        status: Status,
        /// Human-readable detail.
        message: &'a str,
    },
}

mod tag {
    pub(super) const HELLO: u8 = 0x01;
    pub(super) const JOIN: u8 = 0x02;
    pub(super) const LEAVE: u8 = 0x03;
    pub(super) const UPDATE: u8 = 0x04;
    pub(super) const PRESENCE: u8 = 0x05;

    pub(super) const WELCOME: u8 = 0x81;
    pub(super) const JOINED: u8 = 0x82;
    pub(super) const JOIN_FAILED: u8 = 0x83;
    pub(super) const LEFT: u8 = 0x84;
    pub(super) const ACK: u8 = 0x85;
    pub(super) const SERVER_UPDATE: u8 = 0x86;
    pub(super) const SERVER_PRESENCE: u8 = 0x87;
    pub(super) const ERROR: u8 = 0x88;
}

fn read_status(r: &mut Reader<'_>) -> Result<Status, DecodeError> {
    let at = r.offset();
    let code = r.u8()?;
    Status::from_code(code).ok_or(DecodeError::new(at, DecodeErrorKind::InvalidTag(code)))
}

fn read_access(r: &mut Reader<'_>) -> Result<Access, DecodeError> {
    let at = r.offset();
    let code = r.u8()?;
    Access::from_code(code).ok_or(DecodeError::new(at, DecodeErrorKind::InvalidTag(code)))
}

impl<'a> ClientMessage<'a> {
    /// Decodes one client frame. Total: any bytes give `Ok` or an error, never a panic.
    pub fn decode(frame: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(frame);
        let at = r.offset();
        let msg = match r.u8()? {
            tag::HELLO => {
                let magic_at = r.offset();
                if r.take(HELLO_MAGIC.len())? != HELLO_MAGIC {
                    return Err(DecodeError::new(magic_at, DecodeErrorKind::BadMagic));
                }
                let min_version = r.u8()?;
                let max_version = r.u8()?;
                let token = r.str()?;
                ClientMessage::Hello {
                    min_version,
                    max_version,
                    token: (!token.is_empty()).then_some(token),
                }
            }
            tag::JOIN => ClientMessage::Join {
                doc: r.str()?,
                state_vector: r.bytes()?,
            },
            tag::LEAVE => ClientMessage::Leave {
                handle: Handle(r.varint()?),
            },
            tag::UPDATE => ClientMessage::Update {
                handle: Handle(r.varint()?),
                batch: BatchId(r.varint()?),
                update: r.bytes()?,
            },
            tag::PRESENCE => ClientMessage::Presence {
                handle: Handle(r.varint()?),
                clock: r.varint()?,
                data: r.bytes()?,
            },
            other => return Err(DecodeError::new(at, DecodeErrorKind::InvalidTag(other))),
        };
        r.finish()?;
        Ok(msg)
    }

    /// Encodes the message as one frame.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            ClientMessage::Hello {
                min_version,
                max_version,
                token,
            } => {
                w.u8(tag::HELLO);
                w.raw(&HELLO_MAGIC);
                w.u8(*min_version);
                w.u8(*max_version);
                w.str(token.unwrap_or(""));
            }
            ClientMessage::Join { doc, state_vector } => {
                w.u8(tag::JOIN);
                w.str(doc);
                w.bytes(state_vector);
            }
            ClientMessage::Leave { handle } => {
                w.u8(tag::LEAVE);
                w.varint(handle.0);
            }
            ClientMessage::Update {
                handle,
                batch,
                update,
            } => {
                w.u8(tag::UPDATE);
                w.varint(handle.0);
                w.varint(batch.0);
                w.bytes(update);
            }
            ClientMessage::Presence {
                handle,
                clock,
                data,
            } => {
                w.u8(tag::PRESENCE);
                w.varint(handle.0);
                w.varint(*clock);
                w.bytes(data);
            }
        }
        w.into_bytes()
    }
}

impl<'a> ServerMessage<'a> {
    /// Decodes one server frame. Total: any bytes give `Ok` or an error, never a panic.
    pub fn decode(frame: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(frame);
        let at = r.offset();
        let msg = match r.u8()? {
            tag::WELCOME => ServerMessage::Welcome {
                version: r.u8()?,
                client: ClientId(r.varint()?),
                limits: Limits {
                    max_frame_bytes: r.varint()?,
                    max_update_bytes: r.varint()?,
                    max_presence_bytes: r.varint()?,
                    presence_timeout_ms: r.varint()?,
                    max_documents: r.varint()?,
                },
            },
            tag::JOINED => ServerMessage::Joined {
                handle: Handle(r.varint()?),
                doc: r.str()?,
                access: read_access(&mut r)?,
                state_vector: r.bytes()?,
                update: r.bytes()?,
            },
            tag::JOIN_FAILED => ServerMessage::JoinFailed {
                doc: r.str()?,
                status: read_status(&mut r)?,
            },
            tag::LEFT => ServerMessage::Left {
                handle: Handle(r.varint()?),
                status: read_status(&mut r)?,
            },
            tag::ACK => ServerMessage::Ack {
                handle: Handle(r.varint()?),
                batch: BatchId(r.varint()?),
                status: read_status(&mut r)?,
            },
            tag::SERVER_UPDATE => ServerMessage::Update {
                handle: Handle(r.varint()?),
                update: r.bytes()?,
            },
            tag::SERVER_PRESENCE => ServerMessage::Presence {
                handle: Handle(r.varint()?),
                client: ClientId(r.varint()?),
                clock: r.varint()?,
                data: r.bytes()?,
            },
            tag::ERROR => ServerMessage::Error {
                status: read_status(&mut r)?,
                message: r.str()?,
            },
            other => return Err(DecodeError::new(at, DecodeErrorKind::InvalidTag(other))),
        };
        r.finish()?;
        Ok(msg)
    }

    /// Encodes the message as one frame.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            ServerMessage::Welcome {
                version,
                client,
                limits,
            } => {
                w.u8(tag::WELCOME);
                w.u8(*version);
                w.varint(client.0);
                w.varint(limits.max_frame_bytes);
                w.varint(limits.max_update_bytes);
                w.varint(limits.max_presence_bytes);
                w.varint(limits.presence_timeout_ms);
                w.varint(limits.max_documents);
            }
            ServerMessage::Joined {
                handle,
                doc,
                access,
                state_vector,
                update,
            } => {
                w.u8(tag::JOINED);
                w.varint(handle.0);
                w.str(doc);
                w.u8(access.code());
                w.bytes(state_vector);
                w.bytes(update);
            }
            ServerMessage::JoinFailed { doc, status } => {
                w.u8(tag::JOIN_FAILED);
                w.str(doc);
                w.u8(status.code());
            }
            ServerMessage::Left { handle, status } => {
                w.u8(tag::LEFT);
                w.varint(handle.0);
                w.u8(status.code());
            }
            ServerMessage::Ack {
                handle,
                batch,
                status,
            } => {
                w.u8(tag::ACK);
                w.varint(handle.0);
                w.varint(batch.0);
                w.u8(status.code());
            }
            ServerMessage::Update { handle, update } => {
                w.u8(tag::SERVER_UPDATE);
                w.varint(handle.0);
                w.bytes(update);
            }
            ServerMessage::Presence {
                handle,
                client,
                clock,
                data,
            } => {
                w.u8(tag::SERVER_PRESENCE);
                w.varint(handle.0);
                w.varint(client.0);
                w.varint(*clock);
                w.bytes(data);
            }
            ServerMessage::Error { status, message } => {
                w.u8(tag::ERROR);
                w.u8(status.code());
                w.str(message);
            }
        }
        w.into_bytes()
    }
}

/// A WebSocket close code and what it tells a client about reconnecting.
///
/// Standard codes (1000–1015) keep their RFC 6455 meaning; Weft's own codes are in 4000–4099.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// Closed on purpose; do not reconnect.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// The server is shutting down or restarting; reconnect with backoff.
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// A frame could not be decoded or broke the protocol; do not reconnect (it is a bug).
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// A text frame was sent; the protocol is binary only. Do not reconnect.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// No close frame was received (the network dropped); reconnect with backoff.
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// A frame exceeded the server's size limit; do not resend it.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// The server hit an unexpected error; reconnect with backoff.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// The server is at its connection limit; reconnect after a longer backoff.
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// No protocol version in common; do not reconnect until the client is upgraded.
    pub const UNSUPPORTED_VERSION: CloseCode = CloseCode(4000);
    /// The token is missing, malformed or forged; do not reconnect with the same token.
    pub const UNAUTHORIZED: CloseCode = CloseCode(4001);
    /// The token has expired; get a fresh token, then reconnect at once.
    pub const TOKEN_EXPIRED: CloseCode = CloseCode(4002);
    /// `Hello` did not arrive in time; reconnect with backoff.
    pub const HANDSHAKE_TIMEOUT: CloseCode = CloseCode(4004);
    /// Nothing (not even a pong) arrived within the idle timeout; reconnect with backoff.
    pub const IDLE_TIMEOUT: CloseCode = CloseCode(4005);
    /// The client did not read its messages fast enough; reconnect with backoff.
    pub const SLOW_CONSUMER: CloseCode = CloseCode(4006);
    /// The client kept sending far above its rate limit; reconnect after a long backoff.
    pub const RATE_LIMITED: CloseCode = CloseCode(4007);

    /// What a client should do after the connection closed with this code.
    pub fn retry(self) -> Retry {
        match self {
            CloseCode::NORMAL
            | CloseCode::PROTOCOL_ERROR
            | CloseCode::UNSUPPORTED_DATA
            | CloseCode::MESSAGE_TOO_BIG
            | CloseCode::UNSUPPORTED_VERSION
            | CloseCode::UNAUTHORIZED => Retry::Never,
            CloseCode::TOKEN_EXPIRED => Retry::NewToken,
            CloseCode::TRY_AGAIN_LATER => Retry::Backoff {
                min_ms: 5_000,
                max_ms: 60_000,
            },
            CloseCode::RATE_LIMITED => Retry::Backoff {
                min_ms: 10_000,
                max_ms: 60_000,
            },
            CloseCode(4008..=4099) | CloseCode(1008) => Retry::Never,
            _ => Retry::Backoff {
                min_ms: 500,
                max_ms: 30_000,
            },
        }
    }
}

/// Whether and when a client should reconnect after a close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Do not reconnect automatically; surface the error.
    Never,
    /// Reconnect once a fresh token is available.
    NewToken,
    /// Reconnect after a delay: `min_ms` doubled per failed attempt, capped at `max_ms`, with
    /// random jitter (see [`Retry::delay_ms`]).
    Backoff {
        /// Delay before the first attempt.
        min_ms: u32,
        /// Largest delay.
        max_ms: u32,
    },
}

impl Retry {
    /// The delay before reconnect attempt number `attempt` (0 for the first), scaled by
    /// `jitter` in `0.0..=1.0` (pass a random number): the result lies between half and all of
    /// the exponential delay. `None` when the client should not reconnect on its own.
    pub fn delay_ms(self, attempt: u32, jitter: f64) -> Option<u32> {
        match self {
            Retry::Never | Retry::NewToken => None,
            Retry::Backoff { min_ms, max_ms } => {
                let exp = u64::from(min_ms).saturating_mul(1u64 << attempt.min(20));
                let full = exp.min(u64::from(max_ms)) as f64;
                let jitter = if jitter.is_finite() {
                    jitter.clamp(0.0, 1.0)
                } else {
                    1.0
                };
                Some((full * (0.5 + 0.5 * jitter)) as u32)
            }
        }
    }
}

/// The server side of a join: the server's encoded state vector and an update holding exactly
/// what a client at `client_state_vector` (encoded) lacks.
pub fn answer_join(
    doc: &Doc,
    client_state_vector: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), DecodeError> {
    let client = StateVector::decode(client_state_vector)?;
    Ok((doc.state_vector().encode(), doc.encode_diff(&client)))
}

/// What the client session asks its driver to do: frames to send (in order) and events to
/// report.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Output {
    /// Frames to send on the socket, in order.
    pub frames: Vec<Vec<u8>>,
    /// Things that happened.
    pub events: Vec<Event>,
}

impl Output {
    fn frame(&mut self, msg: ClientMessage<'_>) {
        self.frames.push(msg.encode());
    }

    fn event(&mut self, event: Event) {
        self.events.push(event);
    }

    fn append(&mut self, mut other: Output) {
        self.frames.append(&mut other.frames);
        self.events.append(&mut other.events);
    }
}

/// Something the client session reports to its driver.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The handshake finished. Call [`Session::join`] for every document in `rejoin`.
    Connected {
        /// This connection's client id.
        client: ClientId,
        /// Documents added before the connection was ready.
        rejoin: Vec<String>,
    },
    /// A document is joined and holds everything the server had committed.
    Synced {
        /// Document id.
        doc: String,
        /// What this connection may do with it.
        access: Access,
    },
    /// The outcome of a local update reported by [`Session::local_update`]. `Ok` means it is
    /// durably stored by the server.
    Acked {
        /// Document id.
        doc: String,
        /// The id `local_update` returned.
        batch: BatchId,
        /// The outcome.
        status: Status,
    },
    /// Another client's presence; an empty `data` means it is gone.
    Presence {
        /// Document id.
        doc: String,
        /// Whose presence.
        client: ClientId,
        /// Its clock.
        clock: u64,
        /// The blob.
        data: Vec<u8>,
    },
    /// The server refused to join the document.
    JoinFailed {
        /// Document id.
        doc: String,
        /// Why.
        status: Status,
    },
    /// The document must be joined again: call [`Session::join`] after `delay_ms`
    /// milliseconds. Unacknowledged local updates are sent again then.
    Rejoin {
        /// Document id.
        doc: String,
        /// How long to wait first.
        delay_ms: u32,
    },
    /// The server reported an error, or sent something this session could not use.
    Error {
        /// The status.
        status: Status,
        /// Detail.
        message: String,
    },
}

/// A server message about one document, to be passed to [`Session::handle`] together with
/// that document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocMessage {
    doc: String,
    kind: DocMessageKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DocMessageKind {
    Joined {
        handle: Handle,
        access: Access,
        state_vector: Vec<u8>,
        update: Vec<u8>,
    },
    Update {
        update: Vec<u8>,
    },
}

impl DocMessage {
    /// The id of the document this message is about.
    pub fn doc_id(&self) -> &str {
        &self.doc
    }
}

/// The result of [`Session::receive`].
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// Fully handled: send the frames and report the events.
    Done(Output),
    /// Needs the document: call [`Session::handle`] with the document named by
    /// [`DocMessage::doc_id`].
    Doc(DocMessage),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Closed,
    AwaitingWelcome,
    Ready,
}

#[derive(Debug, Default)]
struct DocState {
    handle: Option<Handle>,
    access: Option<Access>,
    /// A `Join` was sent and not answered yet.
    joining: bool,
    /// Local batches not yet sent (or sent on a connection that is gone), oldest first.
    unsent: Vec<BatchId>,
    /// The latest presence blob set locally.
    presence: Option<Vec<u8>>,
    /// Consecutive retryable failures, for backoff.
    failures: u32,
}

impl DocState {
    /// Puts batches back among the unsent ones, keeping them oldest first.
    fn requeue(&mut self, batches: Vec<BatchId>) {
        for b in batches {
            let (Ok(i) | Err(i)) = self.unsent.binary_search(&b);
            self.unsent.insert(i, b);
        }
    }
}

/// The client side of the protocol for one connection, carrying any number of documents.
///
/// The driver (the browser provider through wasm, or a Rust client) owns the socket and the
/// documents: it sends [`Session::connect`]'s frame when the socket opens, passes every
/// received frame to [`Session::receive`] (and, for [`Received::Doc`], to
/// [`Session::handle`] with that document), reports local updates with
/// [`Session::local_update`], and calls [`Session::disconnected`] when the socket closes.
/// Local updates made while disconnected are sent when the document is joined again: the
/// join exchanges state vectors, so only what the server lacks travels.
#[derive(Debug)]
pub struct Session {
    token: Option<String>,
    phase: Phase,
    client: Option<ClientId>,
    limits: Option<Limits>,
    docs: VecMap<String, DocState>,
    handles: VecMap<Handle, String>,
    /// Batches on the wire: wire id → (document, local batches it covers).
    inflight: VecMap<BatchId, (String, Vec<BatchId>)>,
    next_batch: u64,
    presence_clock: u64,
}

/// Backoff for rejoining after a retryable failure: 500 ms doubling to 30 s.
fn rejoin_delay(failures: u32) -> u32 {
    Retry::Backoff {
        min_ms: 500,
        max_ms: 30_000,
    }
    .delay_ms(failures.saturating_sub(1), 1.0)
    .unwrap_or(30_000)
}

impl Session {
    /// A session that will authenticate with `token` (a signed JWT), if any.
    pub fn new(token: Option<String>) -> Self {
        Self {
            token,
            phase: Phase::Closed,
            client: None,
            limits: None,
            docs: VecMap::new(),
            handles: VecMap::new(),
            inflight: VecMap::new(),
            next_batch: 1,
            presence_clock: 0,
        }
    }

    /// Replaces the token used by the next [`Session::connect`].
    pub fn set_token(&mut self, token: Option<String>) {
        self.token = token;
    }

    /// Whether the handshake has finished on the current socket.
    pub fn is_connected(&self) -> bool {
        self.phase == Phase::Ready
    }

    /// This connection's client id, once connected.
    pub fn client_id(&self) -> Option<ClientId> {
        self.client
    }

    /// The server's limits, once connected.
    pub fn limits(&self) -> Option<Limits> {
        self.limits
    }

    /// The handle of `doc_id` on the current connection, once joined.
    pub fn doc_handle(&self, doc_id: &str) -> Option<Handle> {
        self.docs.get(doc_id).and_then(|d| d.handle)
    }

    /// Local updates of `doc_id` not yet acknowledged.
    pub fn unacked(&self, doc_id: &str) -> usize {
        let unsent = self.docs.get(doc_id).map_or(0, |d| d.unsent.len());
        let sent: usize = self
            .inflight
            .values()
            .filter(|(d, _)| d == doc_id)
            .map(|(_, locals)| locals.len())
            .sum();
        unsent + sent
    }

    /// The socket opened: returns the `Hello` frame to send first.
    pub fn connect(&mut self) -> Vec<u8> {
        self.reset();
        self.phase = Phase::AwaitingWelcome;
        ClientMessage::Hello {
            min_version: MIN_PROTOCOL_VERSION,
            max_version: PROTOCOL_VERSION,
            token: self.token.as_deref(),
        }
        .encode()
    }

    /// The socket closed (with the close code, if one was received). Returns whether and when
    /// to reconnect. Remote presence should be cleared by the driver.
    pub fn disconnected(&mut self, code: Option<u16>) -> Retry {
        self.reset();
        CloseCode(code.unwrap_or(CloseCode::ABNORMAL.0)).retry()
    }

    fn reset(&mut self) {
        self.phase = Phase::Closed;
        self.client = None;
        self.handles.clear();
        let inflight = std::mem::take(&mut self.inflight);
        for (_, (doc, locals)) in inflight {
            if let Some(d) = self.docs.get_mut(&doc) {
                d.requeue(locals);
            }
        }
        for d in self.docs.values_mut() {
            d.handle = None;
            d.access = None;
            d.joining = false;
        }
    }

    /// Starts syncing document `doc_id` (held by the driver as `doc`). Sends a `Join` at once
    /// when connected, otherwise after [`Event::Connected`].
    pub fn add_doc(&mut self, doc_id: &str, doc: &Doc) -> Output {
        self.docs.entry(doc_id.to_owned()).or_default();
        self.join(doc_id, doc)
    }

    /// Joins (or joins again) an added document: call it for each document listed by
    /// [`Event::Connected`] and after [`Event::Rejoin`]. Does nothing while disconnected, for
    /// unknown documents, or while a join is already under way.
    pub fn join(&mut self, doc_id: &str, doc: &Doc) -> Output {
        let mut out = Output::default();
        if self.phase != Phase::Ready {
            return out;
        }
        let Some(d) = self.docs.get_mut(doc_id) else {
            return out;
        };
        if d.joining {
            return out;
        }
        if let Some(handle) = d.handle.take() {
            self.handles.remove(&handle);
            out.frame(ClientMessage::Leave { handle });
        }
        d.access = None;
        d.joining = true;
        out.frame(ClientMessage::Join {
            doc: doc_id,
            state_vector: &doc.state_vector().encode(),
        });
        out
    }

    /// Stops syncing `doc_id`. Its unacknowledged updates are forgotten.
    pub fn remove_doc(&mut self, doc_id: &str) -> Output {
        let mut out = Output::default();
        if let Some(d) = self.docs.remove(doc_id)
            && let Some(handle) = d.handle
        {
            self.handles.remove(&handle);
            out.frame(ClientMessage::Leave { handle });
        }
        self.inflight.retain(|_, (doc, _)| doc != doc_id);
        out
    }

    /// Reports a local update of `doc_id` (from the document's update observer). Returns the
    /// batch id its [`Event::Acked`] will carry, and what to send.
    pub fn local_update(&mut self, doc_id: &str, update: &[u8]) -> (BatchId, Output) {
        let batch = BatchId(self.next_batch);
        self.next_batch += 1;
        let mut out = Output::default();
        let Some(d) = self.docs.get_mut(doc_id) else {
            out.event(Event::Acked {
                doc: doc_id.to_owned(),
                batch,
                status: Status::UnknownDocument,
            });
            return (batch, out);
        };
        match (d.handle, d.access) {
            (Some(_), Some(Access::ReadOnly)) => out.event(Event::Acked {
                doc: doc_id.to_owned(),
                batch,
                status: Status::PermissionDenied,
            }),
            (Some(handle), Some(Access::ReadWrite)) if self.phase == Phase::Ready => {
                out.frame(ClientMessage::Update {
                    handle,
                    batch,
                    update,
                });
                self.inflight
                    .insert(batch, (doc_id.to_owned(), vec![batch]));
            }
            _ => d.unsent.push(batch),
        }
        (batch, out)
    }

    /// Sets this client's presence blob for `doc_id` (empty clears it); sent now if joined,
    /// else on join.
    pub fn set_presence(&mut self, doc_id: &str, data: &[u8]) -> Output {
        let mut out = Output::default();
        let Some(d) = self.docs.get_mut(doc_id) else {
            return out;
        };
        d.presence = (!data.is_empty()).then(|| data.to_vec());
        if let Some(handle) = d.handle {
            self.presence_clock += 1;
            out.frame(ClientMessage::Presence {
                handle,
                clock: self.presence_clock,
                data,
            });
        }
        out
    }

    /// Sends every joined document's presence again, so the server does not expire it. Call
    /// this at about half the server's presence timeout ([`Limits::presence_timeout_ms`]).
    pub fn refresh_presence(&mut self) -> Output {
        let mut out = Output::default();
        for d in self.docs.values() {
            if let (Some(handle), Some(data)) = (d.handle, &d.presence) {
                self.presence_clock += 1;
                out.frame(ClientMessage::Presence {
                    handle,
                    clock: self.presence_clock,
                    data,
                });
            }
        }
        out
    }

    /// Handles one frame from the server.
    pub fn receive(&mut self, frame: &[u8]) -> Result<Received, DecodeError> {
        let msg = ServerMessage::decode(frame)?;
        let mut out = Output::default();
        match msg {
            ServerMessage::Welcome { client, limits, .. } => {
                if self.phase != Phase::AwaitingWelcome {
                    out.event(Event::Error {
                        status: Status::BadRequest,
                        message: "unexpected Welcome".into(),
                    });
                } else {
                    self.phase = Phase::Ready;
                    self.client = Some(client);
                    self.limits = Some(limits);
                    out.event(Event::Connected {
                        client,
                        rejoin: self.docs.keys().cloned().collect(),
                    });
                }
            }
            ServerMessage::Joined {
                handle,
                doc,
                access,
                state_vector,
                update,
            } => {
                if self.docs.get(doc).is_some_and(|d| d.joining) {
                    return Ok(Received::Doc(DocMessage {
                        doc: doc.to_owned(),
                        kind: DocMessageKind::Joined {
                            handle,
                            access,
                            state_vector: state_vector.to_vec(),
                            update: update.to_vec(),
                        },
                    }));
                }
            }
            ServerMessage::Update { handle, update } => {
                if let Some(doc) = self.handles.get(&handle) {
                    return Ok(Received::Doc(DocMessage {
                        doc: doc.clone(),
                        kind: DocMessageKind::Update {
                            update: update.to_vec(),
                        },
                    }));
                }
            }
            ServerMessage::JoinFailed { doc, status } => {
                if let Some(d) = self.docs.get_mut(doc) {
                    d.joining = false;
                    if status.is_retryable() {
                        d.failures += 1;
                        out.event(Event::Rejoin {
                            doc: doc.to_owned(),
                            delay_ms: rejoin_delay(d.failures),
                        });
                    } else {
                        out.event(Event::JoinFailed {
                            doc: doc.to_owned(),
                            status,
                        });
                    }
                }
            }
            ServerMessage::Left { handle, status } => {
                if let Some(doc) = self.handles.remove(&handle)
                    && let Some(d) = self.docs.get_mut(&doc)
                {
                    d.handle = None;
                    d.access = None;
                    // Batches on the wire may be lost with the subscription: the next join's
                    // state-vector exchange covers them.
                    let lost: Vec<BatchId> = self
                        .inflight
                        .iter()
                        .filter(|(_, (dd, _))| *dd == doc)
                        .map(|(b, _)| *b)
                        .collect();
                    for b in lost {
                        if let Some((_, locals)) = self.inflight.remove(&b) {
                            d.requeue(locals);
                        }
                    }
                    let delay_ms = match status {
                        Status::Resync => Some(0),
                        s if s.is_retryable() => {
                            d.failures += 1;
                            Some(rejoin_delay(d.failures))
                        }
                        _ => None,
                    };
                    match delay_ms {
                        Some(delay_ms) => out.event(Event::Rejoin { doc, delay_ms }),
                        None if status != Status::Ok => {
                            out.event(Event::JoinFailed { doc, status });
                        }
                        None => {}
                    }
                }
            }
            ServerMessage::Ack { batch, status, .. } => {
                if let Some((doc, locals)) = self.inflight.remove(&batch) {
                    if status.is_retryable() {
                        if let Some(d) = self.docs.get_mut(&doc) {
                            d.requeue(locals);
                            d.failures += 1;
                            out.event(Event::Rejoin {
                                delay_ms: rejoin_delay(d.failures),
                                doc,
                            });
                        }
                    } else {
                        if status == Status::Ok
                            && let Some(d) = self.docs.get_mut(&doc)
                        {
                            d.failures = 0;
                        }
                        for batch in locals {
                            out.event(Event::Acked {
                                doc: doc.clone(),
                                batch,
                                status,
                            });
                        }
                    }
                }
            }
            ServerMessage::Presence {
                handle,
                client,
                clock,
                data,
            } => {
                if let Some(doc) = self.handles.get(&handle) {
                    out.event(Event::Presence {
                        doc: doc.clone(),
                        client,
                        clock,
                        data: data.to_vec(),
                    });
                }
            }
            ServerMessage::Error { status, message } => out.event(Event::Error {
                status,
                message: message.to_owned(),
            }),
        }
        Ok(Received::Done(out))
    }

    /// Handles a [`DocMessage`] from [`Session::receive`] with its document.
    pub fn handle(&mut self, doc: &mut Doc, msg: DocMessage) -> Output {
        let mut out = Output::default();
        let DocMessage { doc: doc_id, kind } = msg;
        match kind {
            DocMessageKind::Update { update } => {
                if let Err(e) = doc.apply_update(&update) {
                    out.event(Event::Error {
                        status: Status::Invalid,
                        message: format!("server sent an invalid update: {e}"),
                    });
                }
            }
            DocMessageKind::Joined {
                handle,
                access,
                state_vector,
                update,
            } => out.append(self.joined(doc, doc_id, handle, access, &state_vector, &update)),
        }
        out
    }

    fn joined(
        &mut self,
        doc: &mut Doc,
        doc_id: String,
        handle: Handle,
        access: Access,
        state_vector: &[u8],
        update: &[u8],
    ) -> Output {
        let mut out = Output::default();
        let Some(d) = self.docs.get_mut(&doc_id) else {
            return out;
        };
        d.joining = false;
        if let Err(e) = doc.apply_update(update) {
            out.event(Event::Error {
                status: Status::Invalid,
                message: format!("server sent an invalid update: {e}"),
            });
        }
        let server = match StateVector::decode(state_vector) {
            Ok(sv) => sv,
            Err(e) => {
                out.event(Event::Error {
                    status: Status::Invalid,
                    message: format!("server sent an invalid state vector: {e}"),
                });
                return out;
            }
        };
        d.handle = Some(handle);
        d.access = Some(access);
        self.handles.insert(handle, doc_id.clone());
        out.event(Event::Synced {
            doc: doc_id.clone(),
            access,
        });
        let locals = std::mem::take(&mut d.unsent);
        match access {
            Access::ReadOnly => {
                for batch in locals {
                    out.event(Event::Acked {
                        doc: doc_id.clone(),
                        batch,
                        status: Status::PermissionDenied,
                    });
                }
            }
            Access::ReadWrite if doc.state_vector().diff(&server).is_empty() => {
                // The server's committed state already holds every local change.
                for batch in locals {
                    out.event(Event::Acked {
                        doc: doc_id.clone(),
                        batch,
                        status: Status::Ok,
                    });
                }
            }
            Access::ReadWrite => {
                let batch = BatchId(self.next_batch);
                self.next_batch += 1;
                out.frame(ClientMessage::Update {
                    handle,
                    batch,
                    update: &doc.encode_diff(&server),
                });
                self.inflight.insert(batch, (doc_id.clone(), locals));
            }
        }
        if let Some(data) = &d.presence {
            self.presence_clock += 1;
            out.frame(ClientMessage::Presence {
                handle,
                clock: self.presence_clock,
                data,
            });
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    fn client_samples() -> Vec<ClientMessage<'static>> {
        vec![
            ClientMessage::Hello {
                min_version: 1,
                max_version: 3,
                token: Some("a.b.c"),
            },
            ClientMessage::Hello {
                min_version: 1,
                max_version: 1,
                token: None,
            },
            ClientMessage::Join {
                doc: "notes/ünïcode",
                state_vector: &[0],
            },
            ClientMessage::Leave {
                handle: Handle(u64::MAX),
            },
            ClientMessage::Update {
                handle: Handle(7),
                batch: BatchId(300),
                update: &[1, 2, 3],
            },
            ClientMessage::Presence {
                handle: Handle(7),
                clock: 9,
                data: b"{\"cursor\":4}",
            },
        ]
    }

    fn server_samples() -> Vec<ServerMessage<'static>> {
        vec![
            ServerMessage::Welcome {
                version: 1,
                client: ClientId(42),
                limits: Limits {
                    max_frame_bytes: 1 << 22,
                    max_update_bytes: 1 << 22,
                    max_presence_bytes: 4096,
                    presence_timeout_ms: 30_000,
                    max_documents: 64,
                },
            },
            ServerMessage::Joined {
                handle: Handle(1),
                doc: "d",
                access: Access::ReadOnly,
                state_vector: &[0],
                update: &[9; 40],
            },
            ServerMessage::JoinFailed {
                doc: "d",
                status: Status::PermissionDenied,
            },
            ServerMessage::Left {
                handle: Handle(1),
                status: Status::Resync,
            },
            ServerMessage::Ack {
                handle: Handle(1),
                batch: BatchId(2),
                status: Status::Ok,
            },
            ServerMessage::Update {
                handle: Handle(1),
                update: &[],
            },
            ServerMessage::Presence {
                handle: Handle(1),
                client: ClientId(3),
                clock: 4,
                data: &[],
            },
            ServerMessage::Error {
                status: Status::RateLimited,
                message: "slow down",
            },
        ]
    }

    #[test]
    fn messages_round_trip() {
        for msg in client_samples() {
            let bytes = msg.encode();
            assert_eq!(ClientMessage::decode(&bytes).unwrap(), msg);
        }
        for msg in server_samples() {
            let bytes = msg.encode();
            assert_eq!(ServerMessage::decode(&bytes).unwrap(), msg);
        }
    }

    #[test]
    fn golden_bytes() {
        let hello = ClientMessage::Hello {
            min_version: 1,
            max_version: 1,
            token: Some("t"),
        };
        assert_eq!(hello.encode(), b"\x01weft\x01\x01\x01t");
        let update = ClientMessage::Update {
            handle: Handle(5),
            batch: BatchId(128),
            update: &[0xaa, 0xbb],
        };
        assert_eq!(update.encode(), [0x04, 5, 0x80, 0x01, 2, 0xaa, 0xbb]);
        let ack = ServerMessage::Ack {
            handle: Handle(5),
            batch: BatchId(128),
            status: Status::TooLarge,
        };
        assert_eq!(ack.encode(), [0x85, 5, 0x80, 0x01, 3]);
    }

    #[test]
    fn truncated_and_extended_frames_are_errors() {
        let frames: Vec<Vec<u8>> = client_samples()
            .iter()
            .map(ClientMessage::encode)
            .chain(server_samples().iter().map(ServerMessage::encode))
            .collect();
        for frame in frames {
            for cut in 0..frame.len() {
                let part = &frame[..cut];
                assert!(ClientMessage::decode(part).is_err());
                assert!(ServerMessage::decode(part).is_err());
            }
            let mut longer = frame.clone();
            longer.push(0);
            assert!(ClientMessage::decode(&longer).is_err());
            assert!(ServerMessage::decode(&longer).is_err());
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 48) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            // Give valid tags a fair chance.
            if let Some(first) = bytes.first_mut() {
                *first = [0x01, 0x02, 0x03, 0x04, 0x05, 0x81, 0x82, 0x85, 0x87, 0x88]
                    [(next() % 10) as usize];
            }
            let _ = ClientMessage::decode(&bytes);
            let _ = ServerMessage::decode(&bytes);
        }
    }

    #[test]
    fn bad_fields_are_typed_errors() {
        let kind = |r: Result<ClientMessage<'_>, DecodeError>| r.unwrap_err().kind();
        assert_eq!(
            kind(ClientMessage::decode(&[])),
            DecodeErrorKind::UnexpectedEnd
        );
        assert_eq!(
            kind(ClientMessage::decode(&[0x7f])),
            DecodeErrorKind::InvalidTag(0x7f)
        );
        assert_eq!(
            kind(ClientMessage::decode(b"\x01nope\x01\x01\x00")),
            DecodeErrorKind::BadMagic
        );
        // A length prefix larger than the rest of the frame.
        assert_eq!(
            kind(ClientMessage::decode(&[0x02, 0xff, 0xff, 0x03])),
            DecodeErrorKind::LengthTooLarge
        );
        assert_eq!(
            kind(ClientMessage::decode(&[0x02, 2, 0xc3, 0x28, 0])),
            DecodeErrorKind::InvalidUtf8
        );
        let bad_status = ServerMessage::decode(&[0x84, 1, 200]).unwrap_err();
        assert_eq!(bad_status.kind(), DecodeErrorKind::InvalidTag(200));
        assert_eq!(bad_status.offset(), 2);
    }

    #[test]
    fn version_negotiation() {
        assert_eq!(negotiate_version(1, 1), Some(1));
        assert_eq!(negotiate_version(1, 9), Some(PROTOCOL_VERSION));
        assert_eq!(negotiate_version(2, 9), None);
        assert_eq!(negotiate_version(0, 0), None);
        assert_eq!(negotiate_version(3, 1), None);
    }

    #[test]
    fn close_codes_say_whether_to_retry() {
        assert_eq!(CloseCode::NORMAL.retry(), Retry::Never);
        assert_eq!(CloseCode::UNAUTHORIZED.retry(), Retry::Never);
        assert_eq!(CloseCode::TOKEN_EXPIRED.retry(), Retry::NewToken);
        assert!(matches!(
            CloseCode::GOING_AWAY.retry(),
            Retry::Backoff { .. }
        ));
        assert!(matches!(CloseCode::ABNORMAL.retry(), Retry::Backoff { .. }));
        assert!(matches!(CloseCode(4100).retry(), Retry::Backoff { .. }));
        assert_eq!(CloseCode(4050).retry(), Retry::Never);
        let b = CloseCode::GOING_AWAY.retry();
        assert_eq!(b.delay_ms(0, 1.0), Some(500));
        assert_eq!(b.delay_ms(1, 1.0), Some(1000));
        assert_eq!(b.delay_ms(0, 0.0), Some(250));
        assert_eq!(b.delay_ms(30, 1.0), Some(30_000));
        assert_eq!(b.delay_ms(2, f64::NAN), Some(2000));
        assert_eq!(Retry::Never.delay_ms(0, 0.5), None);
    }

    #[test]
    fn statuses_round_trip_their_codes() {
        for code in 0..=255u8 {
            if let Some(s) = Status::from_code(code) {
                assert_eq!(s.code(), code);
            }
        }
        assert!(Status::from_code(10).is_none());
    }

    /// A client session with one document, connected and welcomed.
    fn connected(doc_id: &str, doc: &Doc) -> Session {
        let mut s = Session::new(Some("tok".into()));
        let hello = s.connect();
        assert!(matches!(
            ClientMessage::decode(&hello),
            Ok(ClientMessage::Hello {
                token: Some("tok"),
                ..
            })
        ));
        let welcome = ServerMessage::Welcome {
            version: 1,
            client: ClientId(9),
            limits: Limits {
                max_frame_bytes: 1 << 20,
                max_update_bytes: 1 << 20,
                max_presence_bytes: 1024,
                presence_timeout_ms: 30_000,
                max_documents: 8,
            },
        }
        .encode();
        let Ok(Received::Done(out)) = s.receive(&welcome) else {
            panic!("welcome handled");
        };
        assert!(s.is_connected());
        assert_eq!(s.client_id(), Some(ClientId(9)));
        assert!(matches!(&out.events[..], [Event::Connected { rejoin, .. }] if rejoin.is_empty()));
        let out = s.add_doc(doc_id, doc);
        assert_eq!(out.frames.len(), 1);
        assert!(matches!(
            ClientMessage::decode(&out.frames[0]),
            Ok(ClientMessage::Join { doc, .. }) if doc == doc_id
        ));
        s
    }

    fn edit(doc: &mut Doc, text: &str) -> Vec<u8> {
        let before = doc.state_vector();
        let t = doc.text("t");
        let len = t.len(doc);
        let mut tx = doc.transact();
        t.insert(&mut tx, len, text).unwrap();
        tx.commit();
        doc.encode_diff(&before)
    }

    /// Feeds a `Joined` from a server holding `server` and returns the session's output.
    fn join_from(s: &mut Session, doc: &mut Doc, server: &Doc, access: Access) -> Output {
        let (sv, diff) = answer_join(server, &doc.state_vector().encode()).unwrap();
        let joined = ServerMessage::Joined {
            handle: Handle(3),
            doc: "d",
            access,
            state_vector: &sv,
            update: &diff,
        }
        .encode();
        match s.receive(&joined).unwrap() {
            Received::Doc(msg) => {
                assert_eq!(msg.doc_id(), "d");
                s.handle(doc, msg)
            }
            other => panic!("expected a doc message, got {other:?}"),
        }
    }

    fn ack(s: &mut Session, batch: BatchId, status: Status) -> Vec<Event> {
        let frame = ServerMessage::Ack {
            handle: Handle(3),
            batch,
            status,
        }
        .encode();
        match s.receive(&frame).unwrap() {
            Received::Done(out) => out.events,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn session_syncs_both_ways_on_join_and_acks_offline_edits() {
        let mut server = Doc::new();
        edit(&mut server, "server;");
        let mut doc = Doc::new();
        let mut s = connected("d", &doc);
        // Edits before the join are queued, then sent by the join's state-vector exchange.
        let (b1, out) = s.local_update("d", &edit(&mut doc, "one;"));
        assert!(out.frames.is_empty());
        let (b2, _) = s.local_update("d", &edit(&mut doc, "two;"));
        assert_eq!(s.unacked("d"), 2);
        let out = join_from(&mut s, &mut doc, &server, Access::ReadWrite);
        assert!(out.events.contains(&Event::Synced {
            doc: "d".into(),
            access: Access::ReadWrite
        }));
        assert_eq!(out.frames.len(), 1, "one update with what the server lacks");
        let ClientMessage::Update { batch, update, .. } =
            ClientMessage::decode(&out.frames[0]).unwrap()
        else {
            panic!("expected an update")
        };
        server.apply_update(update).unwrap();
        let t = server.text("t");
        assert_eq!(t.to_string(&server), doc.text("t").to_string(&doc));
        let events = ack(&mut s, batch, Status::Ok);
        let acked: Vec<BatchId> = events
            .iter()
            .filter_map(|e| match e {
                Event::Acked {
                    batch,
                    status: Status::Ok,
                    ..
                } => Some(*batch),
                _ => None,
            })
            .collect();
        assert_eq!(acked, vec![b1, b2]);
        assert_eq!(s.unacked("d"), 0);

        // Once joined, a local update is sent at once under its own batch id.
        let (b3, out) = s.local_update("d", &edit(&mut doc, "three;"));
        assert!(matches!(
            ClientMessage::decode(&out.frames[0]),
            Ok(ClientMessage::Update { batch, handle: Handle(3), .. }) if batch == b3
        ));
        // A broadcast update from the server is applied to the document.
        let remote = edit(&mut server, "remote;");
        let frame = ServerMessage::Update {
            handle: Handle(3),
            update: &remote,
        }
        .encode();
        let Ok(Received::Doc(msg)) = s.receive(&frame) else {
            panic!("doc message")
        };
        assert!(s.handle(&mut doc, msg).events.is_empty());
        assert!(doc.text("t").to_string(&doc).contains("remote;"));
    }

    #[test]
    fn session_recovers_from_disconnects_and_retryable_failures() {
        let server = Doc::new();
        let mut doc = Doc::new();
        let mut s = connected("d", &doc);
        join_from(&mut s, &mut doc, &server, Access::ReadWrite);
        let (b1, out) = s.local_update("d", &edit(&mut doc, "x"));
        assert_eq!(out.frames.len(), 1);
        // Rate limited: back to unsent, and a rejoin after a delay.
        let events = ack(&mut s, b1, Status::RateLimited);
        assert!(matches!(&events[..], [Event::Rejoin { delay_ms, .. }] if *delay_ms > 0));
        assert_eq!(s.unacked("d"), 1);
        let out = s.join("d", &doc);
        assert_eq!(out.frames.len(), 2, "leave the old handle, join again");
        let out = join_from(&mut s, &mut doc, &server, Access::ReadWrite);
        let ClientMessage::Update { batch, .. } = ClientMessage::decode(&out.frames[0]).unwrap()
        else {
            panic!("resent")
        };
        // The socket drops before the ack: the batch waits for the next connection.
        assert_eq!(s.disconnected(None), CloseCode::ABNORMAL.retry());
        assert!(!s.is_connected());
        assert_eq!(s.unacked("d"), 1);
        assert!(
            ack(&mut s, batch, Status::Ok).is_empty(),
            "stale ack ignored"
        );
        let _ = s.connect();
        let welcome = ServerMessage::Welcome {
            version: 1,
            client: ClientId(10),
            limits: s.limits().unwrap_or(Limits {
                max_frame_bytes: 1,
                max_update_bytes: 1,
                max_presence_bytes: 1,
                presence_timeout_ms: 1,
                max_documents: 1,
            }),
        }
        .encode();
        let Ok(Received::Done(out)) = s.receive(&welcome) else {
            panic!("welcome")
        };
        assert!(
            matches!(&out.events[..], [Event::Connected { rejoin, .. }] if rejoin == &vec!["d".to_string()])
        );
        assert_eq!(s.join("d", &doc).frames.len(), 1);
        // The server already has everything (it committed the update before the drop).
        let mut server = Doc::new();
        server.apply_update(&doc.encode_state()).unwrap();
        let out = join_from(&mut s, &mut doc, &server, Access::ReadWrite);
        assert!(out.frames.is_empty(), "nothing to send");
        assert!(out.events.contains(&Event::Acked {
            doc: "d".into(),
            batch: b1,
            status: Status::Ok
        }));
        // A resync request means: join again at once.
        let left = ServerMessage::Left {
            handle: Handle(3),
            status: Status::Resync,
        }
        .encode();
        let Ok(Received::Done(out)) = s.receive(&left) else {
            panic!("left")
        };
        assert_eq!(
            out.events,
            vec![Event::Rejoin {
                doc: "d".into(),
                delay_ms: 0
            }]
        );
    }

    #[test]
    fn read_only_sessions_do_not_send_updates() {
        let server = Doc::new();
        let mut doc = Doc::new();
        let mut s = connected("d", &doc);
        let (b0, _) = s.local_update("d", &edit(&mut doc, "early"));
        let out = join_from(&mut s, &mut doc, &server, Access::ReadOnly);
        assert!(out.frames.is_empty());
        assert!(out.events.contains(&Event::Acked {
            doc: "d".into(),
            batch: b0,
            status: Status::PermissionDenied
        }));
        let (b1, out) = s.local_update("d", &edit(&mut doc, "late"));
        assert!(out.frames.is_empty());
        assert_eq!(
            out.events,
            vec![Event::Acked {
                doc: "d".into(),
                batch: b1,
                status: Status::PermissionDenied
            }]
        );
        // Presence still works, with growing clocks.
        let out = s.set_presence("d", b"cursor");
        let out2 = s.refresh_presence();
        let clock = |f: &[u8]| match ClientMessage::decode(f).unwrap() {
            ClientMessage::Presence { clock, data, .. } => {
                assert_eq!(data, b"cursor");
                clock
            }
            other => panic!("unexpected {other:?}"),
        };
        assert!(clock(&out2.frames[0]) > clock(&out.frames[0]));
        // Remote presence is reported per document.
        let p = ServerMessage::Presence {
            handle: Handle(3),
            client: ClientId(4),
            clock: 1,
            data: b"hi",
        }
        .encode();
        let Ok(Received::Done(out)) = s.receive(&p) else {
            panic!("presence")
        };
        assert_eq!(
            out.events,
            vec![Event::Presence {
                doc: "d".into(),
                client: ClientId(4),
                clock: 1,
                data: b"hi".to_vec()
            }]
        );
        assert_eq!(s.remove_doc("d").frames.len(), 1, "leave");
        assert_eq!(s.doc_handle("d"), None);
    }
}
