//! automerge.
//!
//! - An `AutoCommit` document with `TextEncoding::UnicodeCodePoint`, so `splice_text` positions
//!   are chars like the traces'. The text is a `Text` object under the root key `"text"`.
//! - Each trace transaction is a run of `splice_text` calls closed by `commit()`, so it becomes
//!   one automerge change.
//! - The whole-document encoding is `save()` (the compressed document format); loading is
//!   `AutoCommit::load_with_options`.
//! - The full-history update for the merge workload is also `save()`, applied with
//!   `load_incremental` (which the automerge docs say accepts both `save` and
//!   `save_incremental` output). Sync updates are `save_after(&heads)`, applied the same way.
//! - The map scenario writes keys of the root map; the list is a `List` under the root key
//!   `"list"`. Objects are created only when first written, and looked up by key again after
//!   every load or merge, because two replicas that each created their own object under one key
//!   would hold two different objects (the scenarios fork replicas from a base that made them).

use ::automerge::transaction::Transactable;
use ::automerge::{
    ActorId, AutoCommit, ChangeHash, LoadOptions, ObjId, ObjType, ROOT, ReadDoc, ScalarValue,
    TextEncoding, Value,
};

use super::TextCrdt;
use crate::trace::Edit;
use crate::{Error, Result};

/// An automerge document.
pub struct Automerge {
    doc: AutoCommit,
    /// The text and list objects, once looked up or created.
    text: Option<ObjId>,
    list: Option<ObjId>,
}

fn err(doing: &str, e: impl std::fmt::Display) -> Error {
    Error::lib(Automerge::NAME, doing, e)
}

const ENCODING: TextEncoding = TextEncoding::UnicodeCodePoint;

fn actor(replica: u64) -> ActorId {
    ActorId::from(replica.to_be_bytes().as_slice())
}

impl Automerge {
    fn from_doc(doc: AutoCommit) -> Self {
        Self {
            doc,
            text: None,
            list: None,
        }
    }

    /// The object under the root key `key`, if there is one of type `kind`.
    fn lookup(&self, key: &str, kind: ObjType) -> Result<Option<ObjId>> {
        match self.doc.get(ROOT, key).map_err(|e| err("get", e))? {
            Some((Value::Object(t), id)) if t == kind => Ok(Some(id)),
            _ => Ok(None),
        }
    }

    /// The object under `key`, created when missing.
    fn object(&mut self, key: &str, kind: ObjType) -> Result<ObjId> {
        match self.lookup(key, kind)? {
            Some(id) => Ok(id),
            None => self
                .doc
                .put_object(ROOT, key, kind)
                .map_err(|e| err("create object", e)),
        }
    }

    fn text_obj(&mut self) -> Result<ObjId> {
        if let Some(id) = &self.text {
            return Ok(id.clone());
        }
        let id = self.object("text", ObjType::Text)?;
        self.text = Some(id.clone());
        Ok(id)
    }

    fn list_obj(&mut self) -> Result<ObjId> {
        if let Some(id) = &self.list {
            return Ok(id.clone());
        }
        let id = self.object("list", ObjType::List)?;
        self.list = Some(id.clone());
        Ok(id)
    }

    fn read_text_obj(&mut self) -> Result<Option<ObjId>> {
        if self.text.is_none() {
            self.text = self.lookup("text", ObjType::Text)?;
        }
        Ok(self.text.clone())
    }
}

fn as_i64(value: Option<(Value<'_>, ObjId)>) -> Option<i64> {
    match value {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Int(v) => Some(*v),
            _ => None,
        },
        _ => None,
    }
}

impl TextCrdt for Automerge {
    const NAME: &'static str = "automerge";
    type Version = Vec<ChangeHash>;

    fn new(replica: u64) -> Self {
        Self::from_doc(AutoCommit::new_with_encoding(ENCODING).with_actor(actor(replica)))
    }

    fn apply_txn(&mut self, edits: &[Edit<'_>]) -> Result<()> {
        let text = self.text_obj()?;
        for e in edits {
            let del = isize::try_from(e.del).map_err(|_| err("splice", "delete too long"))?;
            self.doc
                .splice_text(&text, e.pos, del, e.ins)
                .map_err(|e| err("splice", e))?;
        }
        self.doc.commit();
        Ok(())
    }

    fn text(&mut self) -> Result<String> {
        match self.read_text_obj()? {
            Some(text) => self.doc.text(&text).map_err(|e| err("text", e)),
            None => Ok(String::new()),
        }
    }

    fn text_len(&mut self) -> Result<usize> {
        Ok(match self.read_text_obj()? {
            Some(text) => self.doc.length(&text),
            None => 0,
        })
    }

    fn encode(&mut self) -> Result<Vec<u8>> {
        Ok(self.doc.save())
    }

    fn load(bytes: &[u8]) -> Result<Self> {
        let options = LoadOptions::new().text_encoding(ENCODING);
        let doc = AutoCommit::load_with_options(bytes, options).map_err(|e| err("load", e))?;
        Ok(Self::from_doc(doc))
    }

    fn full_update(&mut self) -> Result<Vec<u8>> {
        Ok(self.doc.save())
    }

    fn apply_update(&mut self, update: &[u8]) -> Result<()> {
        self.doc
            .load_incremental(update)
            .map_err(|e| err("load_incremental", e))?;
        if !self.doc.get_missing_deps(&[]).is_empty() {
            return Err(err("load_incremental", "update has missing dependencies"));
        }
        // A merge can replace which object a root key resolves to; look them up again.
        self.text = None;
        self.list = None;
        Ok(())
    }

    fn version(&mut self) -> Result<Vec<ChangeHash>> {
        Ok(self.doc.get_heads())
    }

    fn update_since(&mut self, since: &Vec<ChangeHash>) -> Result<Vec<u8>> {
        Ok(self.doc.save_after(since))
    }

    fn fork(&mut self, replica: u64) -> Result<Self> {
        Ok(Self::from_doc(self.doc.fork().with_actor(actor(replica))))
    }

    fn map_set(&mut self, key: &str, value: i64) -> Result<()> {
        self.doc.put(ROOT, key, value).map_err(|e| err("put", e))?;
        self.doc.commit();
        Ok(())
    }

    fn map_get(&mut self, key: &str) -> Result<Option<i64>> {
        Ok(as_i64(self.doc.get(ROOT, key).map_err(|e| err("get", e))?))
    }

    fn list_insert(&mut self, index: usize, value: i64) -> Result<()> {
        let list = self.list_obj()?;
        self.doc
            .insert(&list, index, value)
            .map_err(|e| err("insert", e))?;
        self.doc.commit();
        Ok(())
    }

    fn list_values(&mut self) -> Result<Vec<i64>> {
        let Some(list) = self.lookup("list", ObjType::List)? else {
            return Ok(Vec::new());
        };
        (0..self.doc.length(&list))
            .map(|i| {
                let value = self.doc.get(&list, i).map_err(|e| err("get", e))?;
                as_i64(value).ok_or_else(|| err("list", "non-integer value"))
            })
            .collect()
    }
}
