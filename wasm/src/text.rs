//! `TextRef`: a shared text. Indexes and lengths are UTF-16 code units, as in JS strings.

use std::rc::Rc;

use wasm_bindgen::prelude::*;
use weft::Unit;

use crate::convert::{self, DeltaOp};
use crate::cursor::{self, Cursor};
use crate::doc::Shared;

/// A shared text of a `Doc`.
#[wasm_bindgen]
pub struct TextRef {
    doc: Rc<Shared>,
    text: weft::TextRef,
}

impl TextRef {
    pub(crate) fn new(doc: Rc<Shared>, text: weft::TextRef) -> Self {
        Self { doc, text }
    }
}

#[wasm_bindgen]
impl TextRef {
    /// Inserts `text` at `index`.
    pub fn insert(
        &self,
        index: f64,
        #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
    ) -> Result<(), JsValue> {
        let index = convert::index(index, "index")?;
        let text = convert::string(&text, "text")?;
        self.doc
            .edit(|tx| self.text.insert_at(tx, Unit::Utf16, index, &text))
    }

    /// Deletes `length` code units starting at `index`.
    pub fn delete(&self, index: f64, length: f64) -> Result<(), JsValue> {
        let index = convert::index(index, "index")?;
        let length = convert::index(length, "length")?;
        self.doc
            .edit(|tx| self.text.delete_at(tx, Unit::Utf16, index, length))
    }

    /// Applies a delta (`{ retain }`, `{ insert }`, `{ delete }` steps from the start of the
    /// text) in one transaction. Formatting attributes are ignored.
    #[wasm_bindgen(js_name = applyDelta)]
    pub fn apply_delta(
        &self,
        #[wasm_bindgen(unchecked_param_type = "TextDelta[]")] delta: JsValue,
    ) -> Result<(), JsValue> {
        let steps = convert::text_delta(&delta)?;
        self.doc.edit(|tx| {
            let mut at = 0usize;
            for step in &steps {
                match step {
                    DeltaOp::Retain(n) => at = at.saturating_add(*n),
                    DeltaOp::Insert(s) => {
                        self.text.insert_at(tx, Unit::Utf16, at, s)?;
                        at += s.encode_utf16().count();
                    }
                    DeltaOp::Delete(n) => self.text.delete_at(tx, Unit::Utf16, at, *n)?,
                }
            }
            Ok(())
        })
    }

    /// The text between `start` and `end` (default: the end).
    pub fn slice(
        &self,
        start: f64,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] end: Option<f64>,
    ) -> Result<String, JsValue> {
        let start = convert::index(start, "start")?;
        let end = end.map(|e| convert::index(e, "end")).transpose()?;
        self.doc
            .read(|doc| {
                let end = end.unwrap_or_else(|| self.text.len_in(doc, Unit::Utf16));
                self.text.slice(doc, Unit::Utf16, start, end)
            })?
            .map_err(convert::edit_error)
    }

    /// A stable position at `index` that follows concurrent edits (see `Cursor`). `assoc`:
    /// `'after'` (default) sticks to the character after the position, `'before'` to the one
    /// before it.
    pub fn cursor(
        &self,
        index: f64,
        #[wasm_bindgen(unchecked_optional_param_type = "'before' | 'after'")] assoc: JsValue,
    ) -> Result<Cursor, JsValue> {
        let index = convert::index(index, "index")?;
        let assoc = cursor::assoc(&assoc)?;
        self.doc
            .read(|doc| self.text.cursor(doc, Unit::Utf16, index, assoc))?
            .map(Cursor::new)
            .map_err(convert::edit_error)
    }

    /// The whole text.
    #[wasm_bindgen(js_name = toString)]
    pub fn to_js_string(&self) -> Result<String, JsValue> {
        self.doc.read(|doc| self.text.to_string(doc))
    }

    /// The whole text (for `JSON.stringify`).
    #[wasm_bindgen(js_name = toJSON)]
    pub fn to_json(&self) -> Result<String, JsValue> {
        self.to_js_string()
    }

    /// Length in UTF-16 code units.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> Result<u32, JsValue> {
        self.doc
            .read(|doc| self.text.len_in(doc, Unit::Utf16) as u32)
    }

    /// Offers this shared type to an `UndoManager` being constructed (not part of the typed API).
    #[wasm_bindgen(js_name = __weftScope, skip_typescript)]
    pub fn offer_scope(&self) {
        crate::undo::offer(&self.doc, self.text.container());
    }

    /// Calls `listener` after each transaction that changed this text, with a delta.
    pub fn observe(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(event: TextEvent) => void")] listener: JsValue,
    ) -> Result<(), JsValue> {
        self.doc.observe(self.text.container(), listener)
    }

    /// Removes a listener added with `observe`.
    pub fn unobserve(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(event: TextEvent) => void")] listener: &JsValue,
    ) -> Result<(), JsValue> {
        self.doc.unobserve(self.text.container(), listener)
    }
}
