//! `SyncSession`: the engine's sans-IO sync protocol client (`weft::sync::Session`), so the
//! browser provider and the relay server share one protocol implementation. The caller owns
//! the WebSocket: it sends the frames this class returns and feeds it every frame received.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;
use weft::sync::{Event, Output, Received, Retry, Session};

use crate::convert;
use crate::doc::{Doc, Shared};

/// The client side of the sync protocol for one connection, carrying any number of documents.
///
/// Call `connect()` when the socket opens and send its frame; pass every binary message to
/// `receive()`; report local updates with `localUpdate()`; call `disconnected()` when the socket
/// closes. Every method returns `{ frames, events }`: send the frames in order, act on the
/// events (`rejoin` asks for `join(docId)` after `delayMs`).
#[wasm_bindgen]
pub struct SyncSession {
    session: RefCell<Session>,
    docs: RefCell<Vec<(String, Rc<Shared>)>>,
    origin: JsValue,
}

impl SyncSession {
    fn doc(&self, doc_id: &str) -> Result<Rc<Shared>, JsValue> {
        self.docs
            .borrow()
            .iter()
            .find(|(id, _)| id == doc_id)
            .map(|(_, d)| Rc::clone(d))
            .ok_or_else(|| {
                convert::invalid(&format!(
                    "unknown document \"{doc_id}\" (call addDoc first)"
                ))
            })
    }

    fn session(&self) -> Result<std::cell::RefMut<'_, Session>, JsValue> {
        self.session
            .try_borrow_mut()
            .map_err(|_| convert::error("BUSY", "the sync session is busy"))
    }

    /// Joins the documents a fresh connection lists (the session holds them all).
    fn rejoin(&self, out: &mut Output) -> Result<(), JsValue> {
        let mut ids: Vec<String> = Vec::new();
        for e in &out.events {
            if let Event::Connected { rejoin, .. } = e {
                ids.extend_from_slice(rejoin);
            }
        }
        for id in ids {
            let doc = self.doc(&id)?;
            let more = doc.read(|d| self.session().map(|mut s| s.join(&id, d)))??;
            out.frames.extend(more.frames);
            out.events.extend(more.events);
        }
        Ok(())
    }
}

#[wasm_bindgen]
impl SyncSession {
    /// A session that authenticates with `token` (a signed JWT), if any. `origin` tags the
    /// transactions that apply the server's updates (default `'sync'`).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_optional_param_type = "SyncSessionOptions")] options: JsValue,
    ) -> Result<SyncSession, JsValue> {
        let token = convert::option(&options, "token");
        let token = if token.is_undefined() {
            None
        } else {
            Some(convert::string(&token, "token")?)
        };
        let origin = convert::option(&options, "origin");
        let origin = if origin.is_undefined() {
            JsValue::from_str("sync")
        } else {
            origin
        };
        Ok(SyncSession {
            session: RefCell::new(Session::new(token)),
            docs: RefCell::default(),
            origin,
        })
    }

    /// Replaces the token the next `connect()` sends.
    #[wasm_bindgen(js_name = setToken)]
    pub fn set_token(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "string")] token: JsValue,
    ) -> Result<(), JsValue> {
        let token = if token.is_undefined() {
            None
        } else {
            Some(convert::string(&token, "token")?)
        };
        self.session()?.set_token(token);
        Ok(())
    }

    /// Whether the handshake has finished on the current socket.
    #[wasm_bindgen(getter)]
    pub fn connected(&self) -> Result<bool, JsValue> {
        Ok(self.session()?.is_connected())
    }

    /// This connection's client id (a 64-bit integer as a decimal string), once connected.
    #[wasm_bindgen(getter, js_name = clientId)]
    pub fn client_id(&self) -> Result<Option<String>, JsValue> {
        Ok(self.session()?.client_id().map(|c| c.0.to_string()))
    }

    /// The server's limits, once connected.
    #[wasm_bindgen(getter, unchecked_return_type = "SyncLimits | undefined")]
    pub fn limits(&self) -> Result<JsValue, JsValue> {
        Ok(self
            .session()?
            .limits()
            .map_or(JsValue::UNDEFINED, |l| convert::limits_to_js(&l)))
    }

    /// How many local updates of `docId` the server has not acknowledged yet.
    pub fn unacked(
        &self,
        #[wasm_bindgen(js_name = docId, unchecked_param_type = "string")] doc_id: JsValue,
    ) -> Result<u32, JsValue> {
        let doc_id = &convert::string(&doc_id, "docId")?;
        Ok(self.session()?.unacked(doc_id) as u32)
    }

    /// The socket opened: the `Hello` frame to send first.
    pub fn connect(&self) -> Result<Uint8Array, JsValue> {
        Ok(convert::bytes_to_js(&self.session()?.connect()))
    }

    /// The socket closed (with its close code, if any): whether and when to reconnect.
    #[wasm_bindgen(unchecked_return_type = "Retry")]
    pub fn disconnected(&self, code: Option<u16>) -> Result<JsValue, JsValue> {
        Ok(convert::retry_to_js(self.session()?.disconnected(code)))
    }

    /// Starts syncing `doc` as `docId` (joined at once when connected, else on connect).
    #[wasm_bindgen(js_name = addDoc, unchecked_return_type = "SyncOutput")]
    pub fn add_doc(
        &self,
        #[wasm_bindgen(js_name = docId, unchecked_param_type = "string")] doc_id: JsValue,
        doc: &Doc,
    ) -> Result<JsValue, JsValue> {
        let doc_id = &convert::string(&doc_id, "docId")?;
        let shared = Rc::clone(doc.shared());
        {
            let mut docs = self.docs.borrow_mut();
            docs.retain(|(id, _)| id != doc_id);
            docs.push((doc_id.to_owned(), Rc::clone(&shared)));
        }
        let out = shared.read(|d| self.session().map(|mut s| s.add_doc(doc_id, d)))??;
        Ok(convert::sync_output_to_js(&out))
    }

    /// Joins `docId` again (after a `rejoin` event's delay).
    #[wasm_bindgen(unchecked_return_type = "SyncOutput")]
    pub fn join(
        &self,
        #[wasm_bindgen(js_name = docId, unchecked_param_type = "string")] doc_id: JsValue,
    ) -> Result<JsValue, JsValue> {
        let doc_id = &convert::string(&doc_id, "docId")?;
        let doc = self.doc(doc_id)?;
        let out = doc.read(|d| self.session().map(|mut s| s.join(doc_id, d)))??;
        Ok(convert::sync_output_to_js(&out))
    }

    /// Stops syncing `docId`; its unacknowledged updates are forgotten.
    #[wasm_bindgen(js_name = removeDoc, unchecked_return_type = "SyncOutput")]
    pub fn remove_doc(
        &self,
        #[wasm_bindgen(js_name = docId, unchecked_param_type = "string")] doc_id: JsValue,
    ) -> Result<JsValue, JsValue> {
        let doc_id = &convert::string(&doc_id, "docId")?;
        self.docs.borrow_mut().retain(|(id, _)| id != doc_id);
        let out = self.session()?.remove_doc(doc_id);
        Ok(convert::sync_output_to_js(&out))
    }

    /// Reports a local update of `docId` (from `doc.on('update')` when `local`): the frames
    /// to send, and the batch id its `acked` event will carry.
    #[wasm_bindgen(js_name = localUpdate, unchecked_return_type = "LocalUpdateOutput")]
    pub fn local_update(
        &self,
        #[wasm_bindgen(js_name = docId, unchecked_param_type = "string")] doc_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] update: JsValue,
    ) -> Result<JsValue, JsValue> {
        let doc_id = &convert::string(&doc_id, "docId")?;
        let update = convert::bytes(&update, "update")?;
        let (batch, out) = self.session()?.local_update(doc_id, &update);
        Ok(convert::local_update_to_js(batch, &out))
    }

    /// Sets this client's presence for `docId` (an empty array clears it).
    #[wasm_bindgen(js_name = setPresence, unchecked_return_type = "SyncOutput")]
    pub fn set_presence(
        &self,
        #[wasm_bindgen(js_name = docId, unchecked_param_type = "string")] doc_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] data: JsValue,
    ) -> Result<JsValue, JsValue> {
        let doc_id = &convert::string(&doc_id, "docId")?;
        let data = convert::bytes(&data, "data")?;
        let out = self.session()?.set_presence(doc_id, &data);
        Ok(convert::sync_output_to_js(&out))
    }

    /// Sends every joined document's presence again (call at about half the server's
    /// `presenceTimeoutMs`).
    #[wasm_bindgen(js_name = refreshPresence, unchecked_return_type = "SyncOutput")]
    pub fn refresh_presence(&self) -> Result<JsValue, JsValue> {
        let out = self.session()?.refresh_presence();
        Ok(convert::sync_output_to_js(&out))
    }

    /// Handles one binary message from the server. Updates are applied to the documents
    /// (their observers see `origin`); documents are joined again after a reconnect. A
    /// malformed frame throws.
    #[wasm_bindgen(unchecked_return_type = "SyncOutput")]
    pub fn receive(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] frame: JsValue,
    ) -> Result<JsValue, JsValue> {
        let frame = convert::bytes(&frame, "frame")?;
        let received = self
            .session()?
            .receive(&frame)
            .map_err(convert::decode_error)?;
        let mut out = match received {
            Received::Done(out) => out,
            Received::Doc(msg) => {
                let doc = self.doc(msg.doc_id())?;
                let (out, notices) =
                    doc.with_idle_doc("receive", |d| self.session().map(|mut s| s.handle(d, msg)))?;
                let out = out?;
                doc.deliver(notices, &self.origin)?;
                out
            }
        };
        self.rejoin(&mut out)?;
        Ok(convert::sync_output_to_js(&out))
    }

    /// The delay in milliseconds before reconnect attempt `attempt` (0 for the first) after a
    /// `backoff` retry, scaled by `jitter` in 0..1 (pass `Math.random()`); `undefined` when
    /// the client should not reconnect on its own.
    #[wasm_bindgen(js_name = retryDelay)]
    pub fn retry_delay(
        #[wasm_bindgen(unchecked_param_type = "Retry")] retry: JsValue,
        attempt: u32,
        jitter: f64,
    ) -> Result<Option<u32>, JsValue> {
        let retry: Retry = convert::retry_from_js(&retry)?;
        Ok(retry.delay_ms(attempt, jitter))
    }
}
