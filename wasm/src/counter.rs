//! `CounterRef`: a shared counter (every replica's increments and decrements add up).

use std::rc::Rc;

use js_sys::BigInt;
use wasm_bindgen::prelude::*;

use crate::convert;
use crate::doc::Shared;

/// A shared counter of a `Doc`.
#[wasm_bindgen]
pub struct CounterRef {
    doc: Rc<Shared>,
    counter: weft::CounterRef,
}

impl CounterRef {
    pub(crate) fn new(doc: Rc<Shared>, counter: weft::CounterRef) -> Self {
        Self { doc, counter }
    }
}

#[wasm_bindgen]
impl CounterRef {
    /// Adds `n` (default 1): an integer number or a bigint.
    pub fn increment(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "number | bigint")] n: Option<JsValue>,
    ) -> Result<(), JsValue> {
        let n = convert::counter_step(&n.unwrap_or(JsValue::UNDEFINED))?;
        self.doc.edit(|tx| self.counter.increment(tx, n))
    }

    /// Subtracts `n` (default 1).
    pub fn decrement(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "number | bigint")] n: Option<JsValue>,
    ) -> Result<(), JsValue> {
        let n = convert::counter_step(&n.unwrap_or(JsValue::UNDEFINED))?;
        self.doc.edit(|tx| self.counter.decrement(tx, n))
    }

    /// The value as a number (exact within ±2⁵³; see `bigValue`).
    #[wasm_bindgen(getter)]
    pub fn value(&self) -> Result<f64, JsValue> {
        self.doc.read(|doc| self.counter.value(doc) as f64)
    }

    /// The exact value as a bigint.
    #[wasm_bindgen(getter, js_name = bigValue)]
    pub fn big_value(&self) -> Result<BigInt, JsValue> {
        self.doc.read(|doc| BigInt::from(self.counter.value(doc)))
    }

    /// The value (for `JSON.stringify`).
    #[wasm_bindgen(js_name = toJSON)]
    pub fn to_json(&self) -> Result<f64, JsValue> {
        self.value()
    }

    /// Offers this shared type to an `UndoManager` being constructed (not part of the typed API).
    #[wasm_bindgen(js_name = __weftScope, skip_typescript)]
    pub fn offer_scope(&self) {
        crate::undo::offer(&self.doc, self.counter.container());
    }

    /// Calls `listener` after each transaction that changed this counter.
    pub fn observe(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(event: CounterEvent) => void")] listener: JsValue,
    ) -> Result<(), JsValue> {
        self.doc.observe(self.counter.container(), listener)
    }

    /// Removes a listener added with `observe`.
    pub fn unobserve(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(event: CounterEvent) => void")] listener: &JsValue,
    ) -> Result<(), JsValue> {
        self.doc.unobserve(self.counter.container(), listener)
    }
}
