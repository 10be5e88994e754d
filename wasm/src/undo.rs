//! `UndoManager`: undo and redo of this replica's own changes to chosen shared types.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use weft::{ContainerRef, Origin, UndoOptions};

use crate::convert;
use crate::doc::{Doc, Shared};

thread_local! {
    /// The container a handle last offered through its hidden `__weftScope()` method.
    static OFFERED: RefCell<Option<(Rc<Shared>, ContainerRef)>> = const { RefCell::new(None) };
}

/// Called by a handle's hidden `__weftScope()` (handles are JS objects owned by JS: this is how
/// the constructor learns which container one stands for).
pub(crate) fn offer(doc: &Rc<Shared>, target: ContainerRef) {
    OFFERED.with(|o| *o.borrow_mut() = Some((Rc::clone(doc), target)));
}

/// The containers of `scope` (a handle or an array of handles of `doc`).
fn scope_targets(doc: &Rc<Shared>, scope: &JsValue) -> Result<Vec<ContainerRef>, JsValue> {
    let items: Vec<JsValue> = match scope.dyn_ref::<Array>() {
        Some(arr) => arr.iter().collect(),
        None => vec![scope.clone()],
    };
    let not_a_type = || convert::invalid("scope must be a shared type or an array of shared types");
    let mut targets = Vec::new();
    for item in &items {
        let method = Reflect::get(item, &"__weftScope".into()).map_err(|_| not_a_type())?;
        let method = method.dyn_into::<Function>().map_err(|_| not_a_type())?;
        OFFERED.with(|o| o.borrow_mut().take());
        method.call0(item)?;
        targets.push(match OFFERED.with(|o| o.borrow_mut().take()) {
            Some((owner, target)) if Rc::ptr_eq(&owner, doc) => target,
            Some(_) => {
                return Err(convert::invalid(
                    "the scope's shared types must belong to this document",
                ));
            }
            None => return Err(not_a_type()),
        });
    }
    Ok(targets)
}

/// Undo and redo of this replica's changes to chosen shared types.
///
/// Local transactions are captured (remote updates never are) and grouped into one step while
/// they come less than `captureTimeout` milliseconds apart. Undoing makes new edits that invert
/// a step, so it syncs like any other edit and never touches other replicas' changes.
#[wasm_bindgen]
pub struct UndoManager {
    doc: Rc<Shared>,
    manager: RefCell<weft::UndoManager>,
    origin: JsValue,
}

#[wasm_bindgen]
impl UndoManager {
    /// Starts capturing local changes of `scope` in `doc`. Options: `captureTimeout` (ms,
    /// default 500), `trackedOrigins` (string origins whose transactions are captured besides
    /// those without an origin), `trackUntagged` (default true), and `origin`, the origin of
    /// the transactions `undo`/`redo` make (default `'undo'`).
    #[wasm_bindgen(constructor)]
    pub fn new(
        doc: &Doc,
        #[wasm_bindgen(unchecked_param_type = "SharedType | SharedType[]")] scope: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "UndoManagerOptions")] options: JsValue,
    ) -> Result<UndoManager, JsValue> {
        let shared = Rc::clone(doc.shared());
        let targets = scope_targets(&shared, &scope)?;
        let mut opts = UndoOptions {
            clock: Arc::new(|| js_sys::Date::now() as u64),
            ..UndoOptions::default()
        };
        let timeout = convert::option(&options, "captureTimeout");
        if !timeout.is_undefined() {
            let ms = timeout
                .as_f64()
                .ok_or_else(|| convert::invalid("captureTimeout must be a number"))?;
            opts.capture_timeout_ms = convert::index(ms, "captureTimeout")? as u64;
        }
        let tracked = convert::option(&options, "trackedOrigins");
        if !tracked.is_undefined() {
            let arr = tracked
                .dyn_ref::<Array>()
                .ok_or_else(|| convert::invalid("trackedOrigins must be an array of strings"))?;
            for o in arr.iter() {
                opts.tracked_origins
                    .push(Origin::from(convert::string(&o, "each tracked origin")?));
            }
        }
        let untagged = convert::option(&options, "trackUntagged");
        if !untagged.is_undefined() {
            opts.track_untagged = untagged
                .as_bool()
                .ok_or_else(|| convert::invalid("trackUntagged must be a boolean"))?;
        }
        let origin = convert::option(&options, "origin");
        let origin = if origin.is_undefined() {
            JsValue::from_str("undo")
        } else {
            origin
        };
        let manager = shared.with_doc_mut(|d| weft::UndoManager::new(d, &targets, opts))?;
        Ok(UndoManager {
            doc: shared,
            manager: RefCell::new(manager),
            origin,
        })
    }

    /// Undoes the latest step; returns false when there was nothing to undo.
    pub fn undo(&self) -> Result<bool, JsValue> {
        self.run(true)
    }

    /// Redoes the latest undone step; returns false when there was nothing to redo.
    pub fn redo(&self) -> Result<bool, JsValue> {
        self.run(false)
    }

    /// True when there is something to undo.
    #[wasm_bindgen(js_name = canUndo)]
    pub fn can_undo(&self) -> bool {
        self.manager.borrow().can_undo()
    }

    /// True when there is something to redo.
    #[wasm_bindgen(js_name = canRedo)]
    pub fn can_redo(&self) -> bool {
        self.manager.borrow().can_redo()
    }

    /// Makes the next change start a new step, even within the capture timeout.
    #[wasm_bindgen(js_name = stopCapturing)]
    pub fn stop_capturing(&self) {
        self.manager.borrow_mut().stop_capturing();
    }

    /// Forgets every undo and redo step.
    pub fn clear(&self) {
        self.manager.borrow_mut().clear();
    }
}

impl UndoManager {
    fn run(&self, undo: bool) -> Result<bool, JsValue> {
        let what = if undo { "undo" } else { "redo" };
        let mut manager = self
            .manager
            .try_borrow_mut()
            .map_err(|_| convert::error("BUSY", "the undo manager is busy"))?;
        let (result, notices) = self.doc.with_idle_doc(what, |doc| {
            if undo {
                manager.undo(doc)
            } else {
                manager.redo(doc)
            }
        })?;
        drop(manager);
        let done = result.map_err(convert::edit_error)?;
        self.doc.deliver(notices, &self.origin)?;
        Ok(done)
    }
}

impl Drop for UndoManager {
    fn drop(&mut self) {
        // Stop capturing; if the document is busy it stops when the document is dropped.
        let manager = self.manager.get_mut();
        let _ = self.doc.with_doc_mut(|d| manager.detach(d));
    }
}
