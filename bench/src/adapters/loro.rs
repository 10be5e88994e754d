//! loro.
//!
//! - `LoroText::insert`/`delete` take Unicode (char) positions, as the traces do; `doc.commit()`
//!   closes one transaction per trace transaction (loro auto-commits otherwise only on export
//!   and import).
//! - The whole-document encoding is `export(ExportMode::Snapshot)` (history and state); loading
//!   is `LoroDoc::from_snapshot`.
//! - Sync updates are `export(ExportMode::updates(&version_vector))` (or `all_updates()`),
//!   applied with `import`, or `import_batch` when many arrive together (which loro documents as
//!   the efficient way; one `import` per update takes minutes in the list scenario).

use ::loro::{
    ExportMode, LoroDoc, LoroList, LoroMap, LoroText, LoroValue, ValueOrContainer, VersionVector,
};

use super::TextCrdt;
use crate::trace::Edit;
use crate::{Error, Result};

/// A loro document with a root text, map and list.
pub struct Loro {
    doc: LoroDoc,
    text: LoroText,
    map: LoroMap,
    list: LoroList,
}

fn err(doing: &str, e: impl std::fmt::Display) -> Error {
    Error::lib(Loro::NAME, doing, e)
}

/// Peer id of documents made by [`TextCrdt::load`] (never used by a scenario replica).
const LOADED_PEER: u64 = u32::MAX as u64;

impl Loro {
    fn from_doc(doc: LoroDoc) -> Self {
        let text = doc.get_text("text");
        let map = doc.get_map("map");
        let list = doc.get_list("list");
        Self {
            doc,
            text,
            map,
            list,
        }
    }

    fn with_peer(doc: LoroDoc, replica: u64) -> Result<Self> {
        doc.set_peer_id(replica)
            .map_err(|e| err("set peer id", e))?;
        Ok(Self::from_doc(doc))
    }
}

fn as_i64(value: &LoroValue) -> Option<i64> {
    match value {
        LoroValue::I64(v) => Some(*v),
        _ => None,
    }
}

impl TextCrdt for Loro {
    const NAME: &'static str = "loro";
    type Version = VersionVector;

    fn new(replica: u64) -> Self {
        let doc = LoroDoc::new();
        // Setting the peer id of a new, empty document cannot fail.
        let _ = doc.set_peer_id(replica);
        Self::from_doc(doc)
    }

    fn apply_txn(&mut self, edits: &[Edit<'_>]) -> Result<()> {
        for e in edits {
            if e.del > 0 {
                self.text
                    .delete(e.pos, e.del)
                    .map_err(|e| err("delete", e))?;
            }
            if !e.ins.is_empty() {
                self.text
                    .insert(e.pos, e.ins)
                    .map_err(|e| err("insert", e))?;
            }
        }
        self.doc.commit();
        Ok(())
    }

    fn text(&mut self) -> Result<String> {
        Ok(self.text.to_string())
    }

    fn text_len(&mut self) -> Result<usize> {
        Ok(self.text.len_unicode())
    }

    fn encode(&mut self) -> Result<Vec<u8>> {
        self.doc
            .export(ExportMode::Snapshot)
            .map_err(|e| err("export snapshot", e))
    }

    fn load(bytes: &[u8]) -> Result<Self> {
        let doc = LoroDoc::from_snapshot(bytes).map_err(|e| err("load snapshot", e))?;
        Self::with_peer(doc, LOADED_PEER)
    }

    fn full_update(&mut self) -> Result<Vec<u8>> {
        self.doc
            .export(ExportMode::all_updates())
            .map_err(|e| err("export updates", e))
    }

    fn apply_update(&mut self, update: &[u8]) -> Result<()> {
        let status = self.doc.import(update).map_err(|e| err("import", e))?;
        match status.pending {
            Some(pending) => Err(err("import", format!("missing dependencies {pending:?}"))),
            None => Ok(()),
        }
    }

    fn apply_updates(&mut self, updates: &[Vec<u8>]) -> Result<()> {
        let status = self
            .doc
            .import_batch(updates)
            .map_err(|e| err("import batch", e))?;
        match status.pending {
            Some(pending) => Err(err(
                "import batch",
                format!("missing dependencies {pending:?}"),
            )),
            None => Ok(()),
        }
    }

    fn version(&mut self) -> Result<VersionVector> {
        Ok(self.doc.oplog_vv())
    }

    fn update_since(&mut self, since: &VersionVector) -> Result<Vec<u8>> {
        self.doc
            .export(ExportMode::updates(since))
            .map_err(|e| err("export updates", e))
    }

    fn fork(&mut self, replica: u64) -> Result<Self> {
        Self::with_peer(self.doc.fork(), replica)
    }

    fn map_set(&mut self, key: &str, value: i64) -> Result<()> {
        self.map
            .insert(key, value)
            .map_err(|e| err("map insert", e))?;
        self.doc.commit();
        Ok(())
    }

    fn map_get(&mut self, key: &str) -> Result<Option<i64>> {
        Ok(match self.map.get(key) {
            Some(ValueOrContainer::Value(v)) => as_i64(&v),
            _ => None,
        })
    }

    fn list_insert(&mut self, index: usize, value: i64) -> Result<()> {
        self.list
            .insert(index, value)
            .map_err(|e| err("list insert", e))?;
        self.doc.commit();
        Ok(())
    }

    fn list_values(&mut self) -> Result<Vec<i64>> {
        match self.list.get_value() {
            LoroValue::List(values) => values
                .iter()
                .map(|v| as_i64(v).ok_or_else(|| err("list", "non-integer value")))
                .collect(),
            other => Err(err("list", format!("unexpected value {other:?}"))),
        }
    }
}
