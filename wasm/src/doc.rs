//! `Doc`: the JS class that owns a Weft document, its open transaction and its observers.
//!
//! The engine calls observers during a commit, with `Send + 'static` closures; JS functions are
//! neither. So the engine's observers only push [`Notice`]s into a queue, and every call that may
//! commit takes the queue once the document is no longer borrowed and calls the JS callbacks
//! from there. Callbacks may therefore call back into the document (even edit it).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use js_sys::{Function, Uint8Array};
use wasm_bindgen::prelude::*;
use weft::{ContainerRef, Event, Kind, ReplicaId, StateVector, Subscription, Transaction};

use crate::convert;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]) -> Result<JsValue, JsValue>;
}

/// What the engine's observers leave for the JS callbacks.
pub(crate) enum Notice {
    /// A committed transaction's update (local edits or an applied remote update).
    Update { bytes: Vec<u8>, local: bool },
    /// A change to an observed container.
    Event(Event),
}

/// The open transaction of a JS `doc.transact(fn)`, stored next to the document it borrows.
#[ouroboros::self_referencing]
struct OpenTx {
    doc: Box<weft::Doc>,
    #[borrows(mut doc)]
    #[covariant]
    tx: Transaction<'this>,
}

fn open_tx(doc: Box<weft::Doc>, tag: Option<String>) -> OpenTx {
    OpenTxBuilder {
        doc,
        tx_builder: |doc: &mut Box<weft::Doc>| match tag {
            Some(tag) => doc.transact_with(tag),
            None => doc.transact(),
        },
    }
    .build()
}

enum State {
    /// No transaction is open: each edit is a transaction of its own.
    Idle(Box<weft::Doc>),
    /// Inside `doc.transact(fn)`: edits join the open transaction.
    Open(Box<OpenTx>),
    /// Never seen by JS: the document is being moved between the other two states.
    Moving,
}

/// A JS container observer: the engine subscription and the JS callbacks it feeds.
struct Observer {
    target: ContainerRef,
    sub: Subscription,
    callbacks: Rc<Vec<Function>>,
}

/// The document and everything attached to it, shared by the `Doc` object and every handle
/// (`TextRef`, `MapRef`, …) made from it: memory is released when all of them are freed.
pub(crate) struct Shared {
    state: RefCell<State>,
    inbox: Arc<Mutex<Vec<Notice>>>,
    update_listeners: RefCell<Rc<Vec<Function>>>,
    update_sub: RefCell<Option<Subscription>>,
    observers: RefCell<Vec<Observer>>,
    /// The engine origin tag of the open transaction (to reopen it after a split).
    open_tag: RefCell<Option<String>>,
    /// Notices waiting for their callbacks, with the JS origin of their transaction.
    queue: RefCell<Vec<(Notice, JsValue)>>,
    /// True while callbacks run: notices of edits they make wait in `queue`, so every callback
    /// sees transactions in the order they committed.
    delivering: Cell<bool>,
}

fn busy() -> JsValue {
    convert::error(
        "BUSY",
        "the document is busy (called from inside one of its own operations)",
    )
}

fn inside_transaction(what: &str) -> JsValue {
    convert::error(
        "IN_TRANSACTION",
        &format!("{what} cannot be called inside doc.transact()"),
    )
}

impl Shared {
    fn new(doc: weft::Doc) -> Rc<Self> {
        Rc::new(Self {
            state: RefCell::new(State::Idle(Box::new(doc))),
            inbox: Arc::default(),
            update_listeners: RefCell::default(),
            update_sub: RefCell::default(),
            observers: RefCell::default(),
            open_tag: RefCell::default(),
            queue: RefCell::default(),
            delivering: Cell::new(false),
        })
    }

    /// Runs `f` on the document (or the open transaction) for reading.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&weft::Doc) -> R) -> Result<R, JsValue> {
        let state = self.state.try_borrow().map_err(|_| busy())?;
        match &*state {
            State::Idle(doc) => Ok(f(doc)),
            State::Open(open) => Ok(open.with_tx(|tx| f(tx))),
            State::Moving => Err(busy()),
        }
    }

    /// Runs an edit in the open transaction, or in a transaction of its own that commits and
    /// notifies the callbacks. On error the document is unchanged.
    pub(crate) fn edit<R>(
        self: &Rc<Self>,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<R, weft::Error>,
    ) -> Result<R, JsValue> {
        // The generic part stays this small: every call site gets a copy of it.
        let mut f = Some(f);
        let mut out = None;
        self.edit_dyn(&mut |tx| {
            if let Some(f) = f.take() {
                out = Some(f(tx)?);
            }
            Ok(())
        })?;
        out.ok_or_else(busy)
    }

    /// [`Shared::edit`] with the edit behind a reference: one copy for every call site.
    fn edit_dyn(
        self: &Rc<Self>,
        f: &mut dyn FnMut(&mut Transaction<'_>) -> Result<(), weft::Error>,
    ) -> Result<(), JsValue> {
        let (result, notices) = {
            let mut state = self.state.try_borrow_mut().map_err(|_| busy())?;
            match &mut *state {
                State::Open(open) => {
                    return open.with_tx_mut(f).map_err(convert::edit_error);
                }
                State::Idle(doc) => {
                    let mut tx = doc.transact();
                    let result = f(&mut tx);
                    tx.commit();
                    (result, self.take_inbox())
                }
                State::Moving => return Err(busy()),
            }
        };
        // Deliver first: an edit that fails half-way (a delta) keeps what it did.
        let delivered = self.deliver(notices, &JsValue::UNDEFINED);
        result.map_err(convert::edit_error)?;
        delivered
    }

    /// Runs `f` with the document itself. Inside a transaction this commits what the
    /// transaction holds so far and continues in a new one with the same origin (only creating
    /// roots and registering observers get here).
    pub(crate) fn with_doc_mut<R>(
        &self,
        f: impl FnOnce(&mut weft::Doc) -> R,
    ) -> Result<R, JsValue> {
        // The generic part stays this small: every call site gets a copy of it.
        let mut f = Some(f);
        let mut out = None;
        self.with_doc_mut_dyn(&mut |doc| out = f.take().map(|f| f(doc)))?;
        out.ok_or_else(busy)
    }

    /// [`Shared::with_doc_mut`] with the callback behind a reference: one copy for every call
    /// site.
    fn with_doc_mut_dyn(&self, f: &mut dyn FnMut(&mut weft::Doc)) -> Result<(), JsValue> {
        let mut state = self.state.try_borrow_mut().map_err(|_| busy())?;
        match std::mem::replace(&mut *state, State::Moving) {
            State::Idle(mut doc) => {
                f(&mut doc);
                *state = State::Idle(doc);
                Ok(())
            }
            State::Open(open) => {
                let mut doc = open.into_heads().doc;
                f(&mut doc);
                *state = State::Open(Box::new(open_tx(doc, self.open_tag.borrow().clone())));
                Ok(())
            }
            State::Moving => Err(busy()),
        }
    }

    /// Runs `f` with the document when no transaction is open (applying updates).
    pub(crate) fn with_idle_doc<R>(
        &self,
        what: &str,
        f: impl FnOnce(&mut weft::Doc) -> R,
    ) -> Result<(R, Vec<Notice>), JsValue> {
        let mut state = self.state.try_borrow_mut().map_err(|_| busy())?;
        match &mut *state {
            State::Idle(doc) => {
                let r = f(doc);
                Ok((r, self.take_inbox()))
            }
            State::Open(_) => Err(inside_transaction(what)),
            State::Moving => Err(busy()),
        }
    }

    fn is_open(&self) -> bool {
        matches!(self.state.try_borrow().as_deref(), Ok(State::Open(_)))
    }

    fn open(&self, tag: Option<String>) -> Result<(), JsValue> {
        let mut state = self.state.try_borrow_mut().map_err(|_| busy())?;
        match std::mem::replace(&mut *state, State::Moving) {
            State::Idle(doc) => {
                *state = State::Open(Box::new(open_tx(doc, tag.clone())));
                *self.open_tag.borrow_mut() = tag;
                Ok(())
            }
            other => {
                *state = other;
                Err(busy())
            }
        }
    }

    /// Commits the open transaction; returns what its observers left.
    fn close(&self) -> Result<Vec<Notice>, JsValue> {
        let mut state = self.state.try_borrow_mut().map_err(|_| busy())?;
        match std::mem::replace(&mut *state, State::Moving) {
            State::Open(open) => {
                *state = State::Idle(open.into_heads().doc);
                Ok(self.take_inbox())
            }
            other => {
                *state = other;
                Err(busy())
            }
        }
    }

    fn take_inbox(&self) -> Vec<Notice> {
        self.inbox
            .lock()
            .map(|mut q| std::mem::take(&mut *q))
            .unwrap_or_default()
    }

    /// Calls the JS callbacks for `notices`, in commit order. When called from inside a
    /// callback, the notices wait until the callbacks of earlier transactions have run. Every
    /// callback runs even when one throws; the first error is returned afterwards.
    pub(crate) fn deliver(
        self: &Rc<Self>,
        notices: Vec<Notice>,
        origin: &JsValue,
    ) -> Result<(), JsValue> {
        if notices.is_empty() {
            return Ok(());
        }
        {
            let mut queue = self.queue.borrow_mut();
            for n in notices {
                queue.push((n, origin.clone()));
            }
        }
        if self.delivering.replace(true) {
            return Ok(());
        }
        let mut first_error = None;
        loop {
            // Notices queued while these callbacks run come after them, in the next round.
            let batch = std::mem::take(&mut *self.queue.borrow_mut());
            if batch.is_empty() {
                break;
            }
            for (notice, origin) in batch {
                if let Err(e) = self.notify(notice, &origin) {
                    first_error.get_or_insert(e);
                }
            }
        }
        self.delivering.set(false);
        first_error.map_or(Ok(()), Err)
    }

    /// Calls the callbacks of one notice.
    fn notify(self: &Rc<Self>, notice: Notice, origin: &JsValue) -> Result<(), JsValue> {
        let mut first_error = None;
        match notice {
            Notice::Update { bytes, local } => {
                let listeners = Rc::clone(&self.update_listeners.borrow());
                if listeners.is_empty() {
                    return Ok(());
                }
                let update = convert::bytes_to_js(&bytes);
                let local = JsValue::from_bool(local);
                for f in listeners.iter() {
                    if let Err(e) = f.call3(&JsValue::UNDEFINED, &update, origin, &local) {
                        first_error.get_or_insert(e);
                    }
                }
            }
            Notice::Event(ev) => {
                let callbacks = self
                    .observers
                    .borrow()
                    .iter()
                    .find(|o| o.target == ev.target)
                    .map(|o| Rc::clone(&o.callbacks));
                let Some(callbacks) = callbacks else {
                    return Ok(());
                };
                let event = convert::event_to_js(&ev, origin, self);
                for f in callbacks.iter() {
                    if let Err(e) = f.call1(&JsValue::UNDEFINED, &event) {
                        first_error.get_or_insert(e);
                    }
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Adds a JS observer of `target`.
    pub(crate) fn observe(&self, target: ContainerRef, f: JsValue) -> Result<(), JsValue> {
        let f = convert::function(f, "listener")?;
        if let Some(o) = self
            .observers
            .borrow_mut()
            .iter_mut()
            .find(|o| o.target == target)
        {
            Rc::make_mut(&mut o.callbacks).push(f);
            return Ok(());
        }
        let inbox = Arc::clone(&self.inbox);
        let sub = self.with_doc_mut(|doc| {
            doc.observe(target, move |ev: &Event| {
                if let Ok(mut q) = inbox.lock() {
                    q.push(Notice::Event(ev.clone()));
                }
            })
        })?;
        self.observers.borrow_mut().push(Observer {
            target,
            sub,
            callbacks: Rc::new(vec![f]),
        });
        Ok(())
    }

    /// Removes a JS observer of `target` (every registration of `f`).
    pub(crate) fn unobserve(&self, target: ContainerRef, f: &JsValue) -> Result<(), JsValue> {
        let emptied = {
            let mut observers = self.observers.borrow_mut();
            let Some(i) = observers.iter().position(|o| o.target == target) else {
                return Ok(());
            };
            Rc::make_mut(&mut observers[i].callbacks).retain(|g| !convert::same_function(g, f));
            if observers[i].callbacks.is_empty() {
                Some(observers.swap_remove(i).sub)
            } else {
                None
            }
        };
        if let Some(sub) = emptied {
            self.with_doc_mut(|doc| doc.unobserve(sub))?;
        }
        Ok(())
    }

    /// The root container `name` of `kind` (created on first use).
    pub(crate) fn root(&self, name: &str, kind: Kind) -> Result<ContainerRef, JsValue> {
        // Inside a transaction an existing root is found without touching the transaction.
        let existing = self.read(|doc| {
            doc.roots()
                .into_iter()
                .find(|(n, c)| n == name && c.kind() == kind)
                .map(|(_, c)| c)
        })?;
        if let Some(c) = existing {
            return Ok(c);
        }
        self.with_doc_mut(|doc| match kind {
            Kind::Text => doc.text(name).container(),
            Kind::List => doc.list(name).container(),
            Kind::Map => doc.map(name).container(),
            Kind::Counter => doc.counter(name).container(),
            Kind::Set => doc.set(name).container(),
            Kind::Register => doc.register(name).container(),
        })
    }
}

/// A Weft document: a replica of shared text, lists, maps, counters, sets and registers.
#[wasm_bindgen]
pub struct Doc {
    shared: Rc<Shared>,
}

fn random_replica() -> Result<ReplicaId, JsValue> {
    let mut b = [0u8; 8];
    get_random_values(&mut b)
        .map_err(|_| convert::error("NO_RANDOMNESS", "crypto.getRandomValues is not available"))?;
    Ok(ReplicaId::from_random_bits(u64::from_le_bytes(b)))
}

fn replica_option(options: &JsValue) -> Result<ReplicaId, JsValue> {
    match convert::replica_id(&convert::option(options, "replicaId"))? {
        Some(id) => Ok(id),
        None => random_replica(),
    }
}

impl Doc {
    /// The document and its attachments (for classes that take a `Doc` argument).
    pub(crate) fn shared(&self) -> &Rc<Shared> {
        &self.shared
    }

    /// The handle of the root `name` of `kind` (one body for the six `get…` methods).
    fn get_root(&self, name: &JsValue, kind: Kind) -> Result<JsValue, JsValue> {
        let c = self.shared.root(&convert::string(name, "name")?, kind)?;
        Ok(convert::container_to_js(c, &self.shared))
    }
}

#[wasm_bindgen]
impl Doc {
    /// A new empty document. `replicaId` (a decimal string or a bigint) must be unique among
    /// live replicas; by default a random one is drawn from `crypto.getRandomValues`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_optional_param_type = "DocOptions")] options: Option<JsValue>,
    ) -> Result<Doc, JsValue> {
        let replica = replica_option(&options.unwrap_or(JsValue::UNDEFINED))?;
        Ok(Doc {
            shared: Shared::new(weft::Doc::with_replica_id(replica)),
        })
    }

    /// A new document holding the content of an encoding (from `encodeStateAsUpdate`).
    pub fn load(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] update: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "DocOptions")] options: Option<JsValue>,
    ) -> Result<Doc, JsValue> {
        let update = convert::bytes(&update, "update")?;
        let replica = replica_option(&options.unwrap_or(JsValue::UNDEFINED))?;
        let doc =
            weft::Doc::load_with_replica_id(&update, replica).map_err(convert::decode_error)?;
        Ok(Doc {
            shared: Shared::new(doc),
        })
    }

    /// This replica's id (a 64-bit integer as a decimal string).
    #[wasm_bindgen(getter, js_name = replicaId)]
    pub fn replica_id(&self) -> Result<String, JsValue> {
        self.shared.read(|doc| doc.replica_id().0.to_string())
    }

    /// The root text `name` (created on first use).
    #[wasm_bindgen(js_name = getText, unchecked_return_type = "TextRef")]
    pub fn get_text(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
    ) -> Result<JsValue, JsValue> {
        self.get_root(&name, Kind::Text)
    }

    /// The root list `name`.
    #[wasm_bindgen(js_name = getList, unchecked_return_type = "ListRef")]
    pub fn get_list(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
    ) -> Result<JsValue, JsValue> {
        self.get_root(&name, Kind::List)
    }

    /// The root map `name`.
    #[wasm_bindgen(js_name = getMap, unchecked_return_type = "MapRef")]
    pub fn get_map(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
    ) -> Result<JsValue, JsValue> {
        self.get_root(&name, Kind::Map)
    }

    /// The root counter `name`.
    #[wasm_bindgen(js_name = getCounter, unchecked_return_type = "CounterRef")]
    pub fn get_counter(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
    ) -> Result<JsValue, JsValue> {
        self.get_root(&name, Kind::Counter)
    }

    /// The root set `name`.
    #[wasm_bindgen(js_name = getSet, unchecked_return_type = "SetRef")]
    pub fn get_set(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
    ) -> Result<JsValue, JsValue> {
        self.get_root(&name, Kind::Set)
    }

    /// The root register `name`.
    #[wasm_bindgen(js_name = getRegister, unchecked_return_type = "RegisterRef")]
    pub fn get_register(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
    ) -> Result<JsValue, JsValue> {
        self.get_root(&name, Kind::Register)
    }

    /// Runs `f`; every edit it makes forms one transaction: one update event, one event per
    /// changed container, tagged with `origin`. Nested calls join the outer transaction. If `f`
    /// throws, the edits made before the throw are kept and the error is rethrown.
    #[wasm_bindgen(skip_typescript)]
    pub fn transact(&self, f: &Function, origin: JsValue) -> Result<JsValue, JsValue> {
        let shared = &self.shared;
        if shared.is_open() {
            return f.call0(&JsValue::UNDEFINED);
        }
        shared.open(convert::origin_tag(&origin))?;
        let result = f.call0(&JsValue::UNDEFINED);
        let notices = shared.close()?;
        let delivered = shared.deliver(notices, &origin);
        let value = result?;
        delivered?;
        Ok(value)
    }

    /// Adds a listener: `'update'` receives every committed transaction's update (local edits
    /// and applied remote updates) with its origin and whether it was local.
    pub fn on(
        &self,
        #[wasm_bindgen(unchecked_param_type = "'update'")] event: JsValue,
        #[wasm_bindgen(unchecked_param_type = "UpdateListener")] listener: JsValue,
    ) -> Result<(), JsValue> {
        check_event(&event)?;
        let listener = convert::function(listener, "listener")?;
        let shared = &self.shared;
        Rc::make_mut(&mut shared.update_listeners.borrow_mut()).push(listener);
        if shared.update_sub.borrow().is_none() {
            let inbox = Arc::clone(&shared.inbox);
            let sub = shared.with_doc_mut(|doc| {
                doc.on_update(move |e| {
                    if let Ok(mut q) = inbox.lock() {
                        q.push(Notice::Update {
                            bytes: e.update.to_vec(),
                            local: e.local,
                        });
                    }
                })
            })?;
            *shared.update_sub.borrow_mut() = Some(sub);
        }
        Ok(())
    }

    /// Removes a listener added with `on`.
    pub fn off(
        &self,
        #[wasm_bindgen(unchecked_param_type = "'update'")] event: JsValue,
        #[wasm_bindgen(unchecked_param_type = "UpdateListener")] listener: &JsValue,
    ) -> Result<(), JsValue> {
        check_event(&event)?;
        let shared = &self.shared;
        let empty = {
            let mut listeners = shared.update_listeners.borrow_mut();
            Rc::make_mut(&mut listeners).retain(|g| !convert::same_function(g, listener));
            listeners.is_empty()
        };
        if empty && let Some(sub) = shared.update_sub.borrow_mut().take() {
            shared.with_doc_mut(|doc| doc.unobserve(sub))?;
        }
        Ok(())
    }

    /// The state vector: what this replica has seen, encoded. Send it to a peer, which answers
    /// with `encodeStateAsUpdate(stateVector)`.
    #[wasm_bindgen(js_name = stateVector)]
    pub fn state_vector(&self) -> Result<Uint8Array, JsValue> {
        self.shared
            .read(|doc| convert::bytes_to_js(&doc.state_vector().encode()))
    }

    /// The whole document as an update, or — given a peer's state vector — exactly what that
    /// peer lacks.
    #[wasm_bindgen(js_name = encodeStateAsUpdate)]
    pub fn encode_state_as_update(
        &self,
        #[wasm_bindgen(js_name = stateVector, unchecked_optional_param_type = "Uint8Array")]
        state_vector: JsValue,
    ) -> Result<Uint8Array, JsValue> {
        let sv = if state_vector.is_undefined() {
            None
        } else {
            let bytes = convert::bytes(&state_vector, "stateVector")?;
            Some(StateVector::decode(&bytes).map_err(convert::decode_error)?)
        };
        self.shared.read(|doc| {
            let bytes = match &sv {
                Some(sv) => doc.encode_diff(sv),
                None => doc.encode_state(),
            };
            convert::bytes_to_js(&bytes)
        })
    }

    /// Applies an update from a peer. Updates may arrive in any order and more than once;
    /// ones whose dependencies are missing wait until those arrive. A malformed update throws
    /// and leaves the document unchanged.
    #[wasm_bindgen(js_name = applyUpdate)]
    pub fn apply_update(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] update: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "unknown")] origin: JsValue,
    ) -> Result<(), JsValue> {
        let update = convert::bytes(&update, "update")?;
        let tag = convert::origin_tag(&origin);
        let (result, notices) = self.shared.with_idle_doc("applyUpdate", |doc| match tag {
            Some(tag) => doc.apply_update_with(&update, tag),
            None => doc.apply_update(&update),
        })?;
        result.map_err(convert::decode_error)?;
        self.shared.deliver(notices, &origin)
    }

    /// True when some received updates wait for updates that have not arrived yet.
    #[wasm_bindgen(getter, js_name = hasPending)]
    pub fn has_pending(&self) -> Result<bool, JsValue> {
        self.shared.read(weft::Doc::has_pending)
    }

    /// Every root as plain JSON-like data, keyed by root name.
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "Record<string, Value>")]
    pub fn to_json(&self) -> Result<JsValue, JsValue> {
        self.shared
            .read(|doc| convert::value_to_js(&doc.to_json(), &self.shared))
    }
}

fn check_event(event: &JsValue) -> Result<(), JsValue> {
    let event = convert::string(event, "event")?;
    if event == "update" {
        Ok(())
    } else {
        Err(convert::invalid(&format!(
            "unknown event \"{event}\" (Doc emits 'update')"
        )))
    }
}
