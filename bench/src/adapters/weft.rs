//! Weft.
//!
//! - One `doc.transact()` per trace transaction; `TextRef::insert`/`delete` in chars.
//! - The whole-document encoding is `encode_state()`; loading is `Doc::load`.
//! - Sync updates are `encode_diff(&state_vector)` (the full-history update is `encode_state()`,
//!   an update from nothing), applied with `apply_update`.
//! - The map and list scenarios use the root `MapRef` `"map"` and `ListRef` `"list"`.

use ::weft::{Doc, ListRef, MapRef, ReplicaId, StateVector, TextRef, Value};

use super::TextCrdt;
use crate::trace::Edit;
use crate::{Error, Result};

/// A Weft document with a root text, map and list.
pub struct Weft {
    doc: Doc,
    text: TextRef,
    map: MapRef,
    list: ListRef,
}

fn err(doing: &str, e: impl std::fmt::Display) -> Error {
    Error::lib(Weft::NAME, doing, e)
}

impl Weft {
    fn from_doc(mut doc: Doc) -> Self {
        let text = doc.text("text");
        let map = doc.map("map");
        let list = doc.list("list");
        Self {
            doc,
            text,
            map,
            list,
        }
    }
}

fn as_i64(value: Option<Value>) -> Option<i64> {
    match value {
        Some(Value::Int(v)) => Some(v),
        _ => None,
    }
}

impl TextCrdt for Weft {
    const NAME: &'static str = "weft";
    type Version = StateVector;

    fn new(replica: u64) -> Self {
        Self::from_doc(Doc::with_replica_id(ReplicaId(replica)))
    }

    fn apply_txn(&mut self, edits: &[Edit<'_>]) -> Result<()> {
        let mut tx = self.doc.transact();
        for e in edits {
            if e.del > 0 {
                self.text
                    .delete(&mut tx, e.pos, e.del)
                    .map_err(|error| err("delete", error))?;
            }
            if !e.ins.is_empty() {
                self.text
                    .insert(&mut tx, e.pos, e.ins)
                    .map_err(|error| err("insert", error))?;
            }
        }
        tx.commit();
        Ok(())
    }

    fn text(&mut self) -> Result<String> {
        Ok(self.text.to_string(&self.doc))
    }

    fn text_len(&mut self) -> Result<usize> {
        Ok(self.text.len(&self.doc))
    }

    fn encode(&mut self) -> Result<Vec<u8>> {
        Ok(self.doc.encode_state())
    }

    fn load(bytes: &[u8]) -> Result<Self> {
        Ok(Self::from_doc(
            Doc::load(bytes).map_err(|e| err("load", e))?,
        ))
    }

    fn full_update(&mut self) -> Result<Vec<u8>> {
        Ok(self.doc.encode_state())
    }

    fn apply_update(&mut self, update: &[u8]) -> Result<()> {
        self.doc
            .apply_update(update)
            .map_err(|e| err("apply update", e))?;
        if self.doc.has_pending() {
            return Err(err("apply update", "update has missing dependencies"));
        }
        Ok(())
    }

    fn version(&mut self) -> Result<StateVector> {
        Ok(self.doc.state_vector())
    }

    fn update_since(&mut self, since: &StateVector) -> Result<Vec<u8>> {
        Ok(self.doc.encode_diff(since))
    }

    fn fork(&mut self, replica: u64) -> Result<Self> {
        let mut other = Self::new(replica);
        other.apply_update(&self.doc.encode_state())?;
        Ok(other)
    }

    fn map_set(&mut self, key: &str, value: i64) -> Result<()> {
        let mut tx = self.doc.transact();
        self.map
            .set(&mut tx, key, Value::from(value))
            .map_err(|e| err("map set", e))?;
        tx.commit();
        Ok(())
    }

    fn map_get(&mut self, key: &str) -> Result<Option<i64>> {
        Ok(as_i64(self.map.get(&self.doc, key)))
    }

    fn list_insert(&mut self, index: usize, value: i64) -> Result<()> {
        let mut tx = self.doc.transact();
        self.list
            .insert(&mut tx, index, vec![Value::from(value)])
            .map_err(|e| err("list insert", e))?;
        tx.commit();
        Ok(())
    }

    fn list_values(&mut self) -> Result<Vec<i64>> {
        self.list
            .to_vec(&self.doc)
            .into_iter()
            .map(|v| as_i64(Some(v)).ok_or_else(|| err("list", "non-integer value")))
            .collect()
    }
}
