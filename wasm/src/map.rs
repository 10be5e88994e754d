//! `MapRef`: a shared map from string keys to values (last writer wins per key).

use std::rc::Rc;

use js_sys::Array;
use wasm_bindgen::prelude::*;

use crate::convert;
use crate::doc::Shared;

/// A shared map of a `Doc`.
#[wasm_bindgen]
pub struct MapRef {
    doc: Rc<Shared>,
    map: weft::MapRef,
}

impl MapRef {
    pub(crate) fn new(doc: Rc<Shared>, map: weft::MapRef) -> Self {
        Self { doc, map }
    }
}

#[wasm_bindgen]
impl MapRef {
    /// Sets `key` to `value`.
    pub fn set(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Value")] value: JsValue,
    ) -> Result<(), JsValue> {
        let key = convert::string(&key, "key")?;
        let value = convert::value(&value)?;
        self.doc.edit(|tx| self.map.set(tx, &key, value))
    }

    /// Sets `key` to a new empty shared type of `kind` and returns it.
    #[wasm_bindgen(js_name = setContainer, skip_typescript)]
    pub fn set_container(&self, key: JsValue, kind: JsValue) -> Result<JsValue, JsValue> {
        let key = convert::string(&key, "key")?;
        let kind = convert::kind(&kind)?;
        let c = self.doc.edit(|tx| self.map.set_container(tx, &key, kind))?;
        Ok(convert::container_to_js(c, &self.doc))
    }

    /// The value of `key` (`undefined` when absent).
    #[wasm_bindgen(unchecked_return_type = "Content | undefined")]
    pub fn get(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
    ) -> Result<JsValue, JsValue> {
        let key = convert::string(&key, "key")?;
        self.doc
            .read(|doc| convert::opt_value_to_js(self.map.get(doc, &key).as_ref(), &self.doc))
    }

    /// Deletes `key`.
    pub fn delete(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
    ) -> Result<(), JsValue> {
        let key = convert::string(&key, "key")?;
        self.doc.edit(|tx| self.map.delete(tx, &key))
    }

    /// True when `key` has a value.
    pub fn has(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
    ) -> Result<bool, JsValue> {
        let key = convert::string(&key, "key")?;
        self.doc.read(|doc| self.map.contains_key(doc, &key))
    }

    /// The keys, in order.
    #[wasm_bindgen(unchecked_return_type = "string[]")]
    pub fn keys(&self) -> Result<Array, JsValue> {
        self.doc
            .read(|doc| convert::array(&self.map.keys(doc), |k| JsValue::from_str(k)))
    }

    /// `[key, value]` pairs, in key order.
    #[wasm_bindgen(unchecked_return_type = "[string, Content][]")]
    pub fn entries(&self) -> Result<Array, JsValue> {
        self.doc.read(|doc| {
            convert::array(&self.map.entries(doc), |(k, v)| {
                Array::of2(&JsValue::from_str(k), &convert::value_to_js(v, &self.doc)).into()
            })
        })
    }

    /// Number of keys.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> Result<u32, JsValue> {
        self.doc.read(|doc| self.map.len(doc) as u32)
    }

    /// The map as a plain object (nested shared types expanded).
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "Record<string, Value>")]
    pub fn to_json(&self) -> Result<JsValue, JsValue> {
        self.doc.read(|doc| {
            convert::value_to_js(&doc.container_json(self.map.container(), 0), &self.doc)
        })
    }

    /// Offers this shared type to an `UndoManager` being constructed (not part of the typed API).
    #[wasm_bindgen(js_name = __weftScope, skip_typescript)]
    pub fn offer_scope(&self) {
        crate::undo::offer(&self.doc, self.map.container());
    }

    /// Calls `listener` after each transaction that changed this map, with the changed keys.
    pub fn observe(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(event: MapEvent) => void")] listener: JsValue,
    ) -> Result<(), JsValue> {
        self.doc.observe(self.map.container(), listener)
    }

    /// Removes a listener added with `observe`.
    pub fn unobserve(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(event: MapEvent) => void")] listener: &JsValue,
    ) -> Result<(), JsValue> {
        self.doc.unobserve(self.map.container(), listener)
    }
}
