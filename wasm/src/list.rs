//! `ListRef`: a shared list of values.

use std::rc::Rc;

use js_sys::Array;
use wasm_bindgen::prelude::*;

use crate::convert;
use crate::cursor::{self, Cursor};
use crate::doc::Shared;

/// A shared list of a `Doc`: JSON-compatible values and `Uint8Array`s.
#[wasm_bindgen]
pub struct ListRef {
    doc: Rc<Shared>,
    list: weft::ListRef,
}

impl ListRef {
    pub(crate) fn new(doc: Rc<Shared>, list: weft::ListRef) -> Self {
        Self { doc, list }
    }
}

#[wasm_bindgen]
impl ListRef {
    /// Inserts `values` at `index`.
    pub fn insert(
        &self,
        index: f64,
        #[wasm_bindgen(unchecked_param_type = "Value[]")] values: JsValue,
    ) -> Result<(), JsValue> {
        let index = convert::index(index, "index")?;
        let values = convert::values(&values)?;
        self.doc.edit(|tx| self.list.insert(tx, index, values))
    }

    /// Inserts a new empty shared type of `kind` at `index` and returns it.
    #[wasm_bindgen(js_name = insertContainer, skip_typescript)]
    pub fn insert_container(&self, index: f64, kind: JsValue) -> Result<JsValue, JsValue> {
        let index = convert::index(index, "index")?;
        let kind = convert::kind(&kind)?;
        let c = self
            .doc
            .edit(|tx| self.list.insert_container(tx, index, kind))?;
        Ok(convert::container_to_js(c, &self.doc))
    }

    /// Appends `values` at the end.
    pub fn push(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Value[]")] values: JsValue,
    ) -> Result<(), JsValue> {
        let values = convert::values(&values)?;
        self.doc.edit(|tx| self.list.push(tx, values))
    }

    /// Deletes `length` values (default 1) starting at `index`.
    pub fn delete(
        &self,
        index: f64,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] length: Option<f64>,
    ) -> Result<(), JsValue> {
        let index = convert::index(index, "index")?;
        let length = convert::index(length.unwrap_or(1.0), "length")?;
        self.doc.edit(|tx| self.list.delete(tx, index, length))
    }

    /// The value at `index` (`undefined` past the end).
    #[wasm_bindgen(unchecked_return_type = "Content | undefined")]
    pub fn get(&self, index: f64) -> Result<JsValue, JsValue> {
        let index = convert::index(index, "index")?;
        self.doc
            .read(|doc| convert::opt_value_to_js(self.list.get(doc, index).as_ref(), &self.doc))
    }

    /// All values in order.
    #[wasm_bindgen(js_name = toArray, unchecked_return_type = "Content[]")]
    pub fn to_array(&self) -> Result<Array, JsValue> {
        self.doc
            .read(|doc| convert::values_to_js(&self.list.to_vec(doc), &self.doc))
    }

    /// All values as plain data (nested shared types expanded).
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "Value[]")]
    pub fn to_json(&self) -> Result<JsValue, JsValue> {
        self.doc.read(|doc| {
            convert::value_to_js(&doc.container_json(self.list.container(), 0), &self.doc)
        })
    }

    /// A stable position at `index` that follows concurrent edits (see `Cursor`).
    pub fn cursor(
        &self,
        index: f64,
        #[wasm_bindgen(unchecked_optional_param_type = "'before' | 'after'")] assoc: JsValue,
    ) -> Result<Cursor, JsValue> {
        let index = convert::index(index, "index")?;
        let assoc = cursor::assoc(&assoc)?;
        self.doc
            .read(|doc| self.list.cursor(doc, index, assoc))?
            .map(Cursor::new)
            .map_err(convert::edit_error)
    }

    /// Number of values.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> Result<u32, JsValue> {
        self.doc.read(|doc| self.list.len(doc) as u32)
    }

    /// Offers this shared type to an `UndoManager` being constructed (not part of the typed API).
    #[wasm_bindgen(js_name = __weftScope, skip_typescript)]
    pub fn offer_scope(&self) {
        crate::undo::offer(&self.doc, self.list.container());
    }

    /// Calls `listener` after each transaction that changed this list, with a delta.
    pub fn observe(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(event: ListEvent) => void")] listener: JsValue,
    ) -> Result<(), JsValue> {
        self.doc.observe(self.list.container(), listener)
    }

    /// Removes a listener added with `observe`.
    pub fn unobserve(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(event: ListEvent) => void")] listener: &JsValue,
    ) -> Result<(), JsValue> {
        self.doc.unobserve(self.list.container(), listener)
    }
}
