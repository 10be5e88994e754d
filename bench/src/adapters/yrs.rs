//! yrs (the Rust port of Yjs).
//!
//! - Documents use `OffsetKind::Utf16`, the unit Yjs itself counts in (the yrs default is UTF-8
//!   bytes; neither counts chars), so edits use the trace's UTF-16 positions.
//! - One `transact_mut()` per trace transaction; `Text::insert` and `Text::remove_range`.
//! - The whole-document encoding is `encode_state_as_update_v2` from an empty state vector (the
//!   smaller of the two update formats); loading applies it to a new `Doc`.
//! - Sync updates (merge and the concurrent scenarios) use update format v1, the default of the
//!   Yjs sync protocol and providers, diffed against a `StateVector`.

use ::yrs::updates::decoder::Decode;
use ::yrs::{
    Any, Array, ArrayRef, ClientID, Doc, GetString, Map, MapRef, OffsetKind, Options, Out, ReadTxn,
    StateVector, Text, TextRef, Transact, Update,
};

use super::TextCrdt;
use crate::trace::Edit;
use crate::{Error, Result};

/// A yrs document with a root text, map and array.
pub struct Yrs {
    doc: Doc,
    text: TextRef,
    map: MapRef,
    list: ArrayRef,
}

fn err(doing: &str, e: impl std::fmt::Display) -> Error {
    Error::lib(Yrs::NAME, doing, e)
}

/// Client id of documents made by [`TextCrdt::load`] (never used by a scenario replica).
const LOADED_CLIENT: u64 = u32::MAX as u64;

fn index(i: usize) -> Result<u32> {
    u32::try_from(i).map_err(|_| err("index", format!("{i} does not fit u32")))
}

impl Yrs {
    fn from_doc(doc: Doc) -> Self {
        let text = doc.get_or_insert_text("text");
        let map = doc.get_or_insert_map("map");
        let list = doc.get_or_insert_array("list");
        Self {
            doc,
            text,
            map,
            list,
        }
    }

    fn new_doc(replica: u64) -> Doc {
        let mut options = Options::with_client_id(ClientID::new(replica));
        options.offset_kind = OffsetKind::Utf16;
        Doc::with_options(options)
    }

    fn apply(&mut self, update: Update) -> Result<()> {
        let mut txn = self.doc.transact_mut();
        txn.apply_update(update).map_err(|e| err("apply update", e))
    }

    fn encode_v1(&self, since: &StateVector) -> Vec<u8> {
        self.doc.transact().encode_state_as_update_v1(since)
    }
}

fn as_i64(out: Out) -> Option<i64> {
    match out {
        Out::Any(any @ Any::Number(_)) => i64::try_from(any).ok(),
        _ => None,
    }
}

impl TextCrdt for Yrs {
    const NAME: &'static str = "yrs";
    type Version = StateVector;

    fn new(replica: u64) -> Self {
        Self::from_doc(Self::new_doc(replica))
    }

    fn apply_txn(&mut self, edits: &[Edit<'_>]) -> Result<()> {
        let mut txn = self.doc.transact_mut();
        for e in edits {
            if e.del_utf16 > 0 {
                self.text
                    .remove_range(&mut txn, index(e.pos_utf16)?, index(e.del_utf16)?);
            }
            if !e.ins.is_empty() {
                self.text.insert(&mut txn, index(e.pos_utf16)?, e.ins);
            }
        }
        Ok(())
    }

    fn text(&mut self) -> Result<String> {
        Ok(self.text.get_string(&self.doc.transact()))
    }

    fn text_len(&mut self) -> Result<usize> {
        // `Text::len` counts UTF-16 units here; the trait wants chars.
        Ok(self.text()?.chars().count())
    }

    fn encode(&mut self) -> Result<Vec<u8>> {
        Ok(self
            .doc
            .transact()
            .encode_state_as_update_v2(&StateVector::default()))
    }

    fn load(bytes: &[u8]) -> Result<Self> {
        let update = Update::decode_v2(bytes).map_err(|e| err("decode document", e))?;
        let mut doc = Self::new(LOADED_CLIENT);
        doc.apply(update)?;
        Ok(doc)
    }

    fn full_update(&mut self) -> Result<Vec<u8>> {
        Ok(self.encode_v1(&StateVector::default()))
    }

    fn apply_update(&mut self, update: &[u8]) -> Result<()> {
        let update = Update::decode_v1(update).map_err(|e| err("decode update", e))?;
        self.apply(update)
    }

    fn version(&mut self) -> Result<StateVector> {
        Ok(self.doc.transact().state_vector())
    }

    fn update_since(&mut self, since: &StateVector) -> Result<Vec<u8>> {
        Ok(self.encode_v1(since))
    }

    fn fork(&mut self, replica: u64) -> Result<Self> {
        let mut other = Self::new(replica);
        other.apply_update(&self.full_update()?)?;
        Ok(other)
    }

    fn map_set(&mut self, key: &str, value: i64) -> Result<()> {
        let mut txn = self.doc.transact_mut();
        self.map.insert(&mut txn, key, value);
        Ok(())
    }

    fn map_get(&mut self, key: &str) -> Result<Option<i64>> {
        Ok(self.map.get(&self.doc.transact(), key).and_then(as_i64))
    }

    fn list_insert(&mut self, at: usize, value: i64) -> Result<()> {
        let mut txn = self.doc.transact_mut();
        self.list.insert(&mut txn, index(at)?, value);
        Ok(())
    }

    fn list_values(&mut self) -> Result<Vec<i64>> {
        let txn = self.doc.transact();
        self.list
            .iter(&txn)
            .map(|v| as_i64(v).ok_or_else(|| err("list", "non-integer value")))
            .collect()
    }
}
