//! `Cursor`: a stable position in a text or list that follows concurrent edits.

use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;
use weft::{Assoc, Unit};

use crate::convert;
use crate::doc::Doc;

/// A position in a text or list anchored to an element, so it stays put while anyone edits
/// around it. Made by `TextRef.cursor(index)` / `ListRef.cursor(index)`; turned back into an
/// index with `resolve(doc)`; shareable as bytes (`encode`, `Cursor.decode`).
#[wasm_bindgen]
pub struct Cursor {
    cursor: weft::Cursor,
}

impl Cursor {
    pub(crate) fn new(cursor: weft::Cursor) -> Self {
        Self { cursor }
    }
}

/// `'before'` sticks to the element before the position, `'after'` (the default, a caret) to
/// the element after it.
pub(crate) fn assoc(v: &JsValue) -> Result<Assoc, JsValue> {
    if v.is_undefined() {
        return Ok(Assoc::After);
    }
    match convert::string(v, "assoc")?.as_str() {
        "before" => Ok(Assoc::Before),
        "after" => Ok(Assoc::After),
        other => Err(convert::invalid(&format!(
            "assoc must be 'before' or 'after', got \"{other}\""
        ))),
    }
}

#[wasm_bindgen]
impl Cursor {
    /// The cursor's index now in `doc` (UTF-16 code units in a text, elements in a list), or
    /// `undefined` when `doc` has not seen the cursor's text or element yet.
    pub fn resolve(&self, doc: &Doc) -> Result<Option<u32>, JsValue> {
        doc.shared()
            .read(|d| self.cursor.resolve(d, Unit::Utf16).map(|i| i as u32))
    }

    /// The cursor as bytes, to send to other replicas (remote carets).
    pub fn encode(&self) -> Uint8Array {
        convert::bytes_to_js(&self.cursor.encode())
    }

    /// A cursor from `encode()`'s bytes.
    pub fn decode(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: JsValue,
    ) -> Result<Cursor, JsValue> {
        let bytes = convert::bytes(&bytes, "bytes")?;
        weft::Cursor::decode(&bytes)
            .map(Cursor::new)
            .map_err(convert::decode_error)
    }
}
