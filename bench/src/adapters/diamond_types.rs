//! diamond-types.
//!
//! - A `ListCRDT` (an `OpLog` plus a `Branch` kept at its tip), edited with `insert` and
//!   `delete_without_content` in char positions; the crate docs recommend the content-free delete
//!   for local edits, and its encodings leave deleted content out by default anyway.
//!   diamond-types has no transactions: a trace transaction is its patches applied in order.
//! - The whole-document encoding is `oplog.encode(ENCODE_FULL)`; loading is
//!   `ListCRDT::load_from`.
//! - Sync updates are `oplog.encode_from(ENCODE_PATCH, version)` applied with
//!   `merge_data_and_ff`; many updates arriving together are each added to the oplog
//!   (`decode_and_add`) and the branch is merged forward once. Versions cross replicas as remote
//!   ids (agent name, sequence number) and are turned back into the sender's local version.
//! - diamond-types only has text (a list of chars): it has no map, and the list scenario inserts
//!   each value as one char.

use ::diamond_types::AgentId;
use ::diamond_types::list::ListCRDT;
use ::diamond_types::list::encoding::{ENCODE_FULL, ENCODE_PATCH};
use ::diamond_types::list::remote_ids::RemoteId;

use super::TextCrdt;
use crate::trace::Edit;
use crate::{Error, Result};

/// A diamond-types document.
pub struct DiamondTypes {
    doc: ListCRDT,
    agent: AgentId,
}

fn err(doing: &str, e: impl std::fmt::Debug) -> Error {
    Error::lib(DiamondTypes::NAME, doing, format!("{e:?}"))
}

/// Offset of [`value_char`]: values from `-OFFSET` map into the CJK block, far from surrogates.
const VALUE_OFFSET: i64 = 0x4E00;

/// The char standing for list value `value` (diamond-types lists hold chars only).
fn value_char(value: i64) -> Option<char> {
    u32::try_from(value + VALUE_OFFSET)
        .ok()
        .and_then(char::from_u32)
}

impl DiamondTypes {
    fn from_doc(mut doc: ListCRDT, replica: u64) -> Self {
        let agent = doc.get_or_create_agent_id(&format!("r{replica}"));
        Self { doc, agent }
    }
}

impl TextCrdt for DiamondTypes {
    const NAME: &'static str = "diamond-types";
    type Version = Vec<RemoteId>;

    fn new(replica: u64) -> Self {
        Self::from_doc(ListCRDT::new(), replica)
    }

    fn apply_txn(&mut self, edits: &[Edit<'_>]) -> Result<()> {
        for e in edits {
            if e.del > 0 {
                self.doc
                    .delete_without_content(self.agent, e.pos..e.pos + e.del);
            }
            if !e.ins.is_empty() {
                self.doc.insert(self.agent, e.pos, e.ins);
            }
        }
        Ok(())
    }

    fn text(&mut self) -> Result<String> {
        Ok(self.doc.branch.content().to_string())
    }

    fn text_len(&mut self) -> Result<usize> {
        Ok(self.doc.len())
    }

    fn encode(&mut self) -> Result<Vec<u8>> {
        Ok(self.doc.oplog.encode(ENCODE_FULL))
    }

    fn load(bytes: &[u8]) -> Result<Self> {
        let doc = ListCRDT::load_from(bytes).map_err(|e| err("load", e))?;
        Ok(Self::from_doc(doc, u64::from(u32::MAX)))
    }

    fn full_update(&mut self) -> Result<Vec<u8>> {
        Ok(self.doc.oplog.encode(ENCODE_PATCH))
    }

    fn apply_update(&mut self, update: &[u8]) -> Result<()> {
        self.doc
            .merge_data_and_ff(update)
            .map_err(|e| err("merge", e))?;
        Ok(())
    }

    fn apply_updates(&mut self, updates: &[Vec<u8>]) -> Result<()> {
        for update in updates {
            self.doc
                .oplog
                .decode_and_add(update)
                .map_err(|e| err("decode and add", e))?;
        }
        let tip = self.doc.oplog.local_version();
        self.doc.branch.merge(&self.doc.oplog, &tip);
        Ok(())
    }

    fn version(&mut self) -> Result<Vec<RemoteId>> {
        Ok(self.doc.oplog.remote_version().into_vec())
    }

    fn update_since(&mut self, since: &Vec<RemoteId>) -> Result<Vec<u8>> {
        let local = self
            .doc
            .oplog
            .try_remote_to_local_version(since.iter())
            .map_err(|e| err("version", e))?;
        Ok(self.doc.oplog.encode_from(ENCODE_PATCH, &local))
    }

    fn fork(&mut self, replica: u64) -> Result<Self> {
        Ok(Self::from_doc(self.doc.clone(), replica))
    }

    fn has_map() -> bool {
        false
    }

    fn map_set(&mut self, _key: &str, _value: i64) -> Result<()> {
        Err(Error::lib(
            Self::NAME,
            "map",
            "diamond-types has no map type",
        ))
    }

    fn map_get(&mut self, _key: &str) -> Result<Option<i64>> {
        Err(Error::lib(
            Self::NAME,
            "map",
            "diamond-types has no map type",
        ))
    }

    fn list_insert(&mut self, index: usize, value: i64) -> Result<()> {
        let c = value_char(value).ok_or_else(|| err("list insert", value))?;
        self.doc
            .insert(self.agent, index, c.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    fn list_values(&mut self) -> Result<Vec<i64>> {
        Ok(self
            .text()?
            .chars()
            .map(|c| i64::from(u32::from(c)) - VALUE_OFFSET)
            .collect())
    }
}
