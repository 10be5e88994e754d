//! `SetRef`: a shared add-wins set of values.

use std::rc::Rc;

use js_sys::Array;
use wasm_bindgen::prelude::*;

use crate::convert;
use crate::doc::Shared;

/// A shared set of a `Doc` (a concurrent add wins over a remove).
#[wasm_bindgen]
pub struct SetRef {
    doc: Rc<Shared>,
    set: weft::SetRef,
}

impl SetRef {
    pub(crate) fn new(doc: Rc<Shared>, set: weft::SetRef) -> Self {
        Self { doc, set }
    }
}

#[wasm_bindgen]
impl SetRef {
    /// Adds `value`.
    pub fn add(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Value")] value: JsValue,
    ) -> Result<(), JsValue> {
        let value = convert::value(&value)?;
        self.doc.edit(|tx| self.set.add(tx, value))
    }

    /// Removes `value`; returns whether it was present.
    pub fn delete(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Value")] value: JsValue,
    ) -> Result<bool, JsValue> {
        let value = convert::value(&value)?;
        self.doc.edit(|tx| self.set.remove(tx, &value))
    }

    /// True when `value` is in the set.
    pub fn has(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Value")] value: JsValue,
    ) -> Result<bool, JsValue> {
        let value = convert::value(&value)?;
        self.doc.read(|doc| self.set.contains(doc, &value))
    }

    /// The values, in a deterministic order (the same on every replica).
    #[wasm_bindgen(unchecked_return_type = "Value[]")]
    pub fn values(&self) -> Result<Array, JsValue> {
        self.doc
            .read(|doc| convert::values_to_js(&self.set.values(doc), &self.doc))
    }

    /// Number of values.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> Result<u32, JsValue> {
        self.doc.read(|doc| self.set.len(doc) as u32)
    }

    /// The values (for `JSON.stringify`).
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "Value[]")]
    pub fn to_json(&self) -> Result<Array, JsValue> {
        self.values()
    }

    /// Offers this shared type to an `UndoManager` being constructed (not part of the typed API).
    #[wasm_bindgen(js_name = __weftScope, skip_typescript)]
    pub fn offer_scope(&self) {
        crate::undo::offer(&self.doc, self.set.container());
    }

    /// Calls `listener` after each transaction that changed this set.
    pub fn observe(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(event: SetEvent) => void")] listener: JsValue,
    ) -> Result<(), JsValue> {
        self.doc.observe(self.set.container(), listener)
    }

    /// Removes a listener added with `observe`.
    pub fn unobserve(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(event: SetEvent) => void")] listener: &JsValue,
    ) -> Result<(), JsValue> {
        self.doc.unobserve(self.set.container(), listener)
    }
}
