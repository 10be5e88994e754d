//! `RegisterRef`: a shared register holding one value (last writer wins).

use std::rc::Rc;

use wasm_bindgen::prelude::*;

use crate::convert;
use crate::doc::Shared;

/// A shared register of a `Doc`.
#[wasm_bindgen]
pub struct RegisterRef {
    doc: Rc<Shared>,
    register: weft::RegisterRef,
}

impl RegisterRef {
    pub(crate) fn new(doc: Rc<Shared>, register: weft::RegisterRef) -> Self {
        Self { doc, register }
    }
}

#[wasm_bindgen]
impl RegisterRef {
    /// Writes `value`.
    pub fn set(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Value")] value: JsValue,
    ) -> Result<(), JsValue> {
        let value = convert::value(&value)?;
        self.doc.edit(|tx| self.register.set(tx, value))
    }

    /// Writes a new empty shared type of `kind` and returns it.
    #[wasm_bindgen(js_name = setContainer, skip_typescript)]
    pub fn set_container(&self, kind: JsValue) -> Result<JsValue, JsValue> {
        let kind = convert::kind(&kind)?;
        let c = self.doc.edit(|tx| self.register.set_container(tx, kind))?;
        Ok(convert::container_to_js(c, &self.doc))
    }

    /// The value (`undefined` when never written or cleared).
    #[wasm_bindgen(unchecked_return_type = "Content | undefined")]
    pub fn get(&self) -> Result<JsValue, JsValue> {
        self.doc
            .read(|doc| convert::opt_value_to_js(self.register.get(doc).as_ref(), &self.doc))
    }

    /// Clears the register.
    pub fn clear(&self) -> Result<(), JsValue> {
        self.doc.edit(|tx| self.register.clear(tx))
    }

    /// The value as plain data (`null` when empty).
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "Value")]
    pub fn to_json(&self) -> Result<JsValue, JsValue> {
        self.doc.read(|doc| {
            convert::value_to_js(&doc.container_json(self.register.container(), 0), &self.doc)
        })
    }

    /// Offers this shared type to an `UndoManager` being constructed (not part of the typed API).
    #[wasm_bindgen(js_name = __weftScope, skip_typescript)]
    pub fn offer_scope(&self) {
        crate::undo::offer(&self.doc, self.register.container());
    }

    /// Calls `listener` after each transaction that changed this register.
    pub fn observe(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(event: RegisterEvent) => void")] listener: JsValue,
    ) -> Result<(), JsValue> {
        self.doc.observe(self.register.container(), listener)
    }

    /// Removes a listener added with `observe`.
    pub fn unobserve(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(event: RegisterEvent) => void")] listener: &JsValue,
    ) -> Result<(), JsValue> {
        self.doc.unobserve(self.register.container(), listener)
    }
}
