//! [`ListRef`] operations: insert, delete and read values by index.

use crate::doc::{Doc, Transaction};
use crate::error::Error;
use crate::seq::Unit;
use crate::seq::buf::ListBuf;
use crate::types::ListRef;
use crate::value::{ContainerRef, Kind, Value};

impl ListRef {
    /// Inserts `values` at `index`.
    pub fn insert(
        &self,
        tx: &mut Transaction<'_>,
        index: usize,
        values: impl IntoIterator<Item = Value>,
    ) -> Result<(), Error> {
        let values: Vec<Value> = values.into_iter().collect();
        for v in &values {
            if v.has_container() {
                return Err(Error::InvalidValue(
                    "container references cannot be stored as values",
                ));
            }
            if v.depth() > crate::value::MAX_DEPTH {
                return Err(Error::InvalidValue("value nested too deeply"));
            }
        }
        tx.seq_insert::<ListBuf>(self.0, Unit::Char, index, &values)
            .map(|_| ())
    }

    /// Appends `values` at the end.
    pub fn push(
        &self,
        tx: &mut Transaction<'_>,
        values: impl IntoIterator<Item = Value>,
    ) -> Result<(), Error> {
        let len = self.len(tx);
        self.insert(tx, len, values)
    }

    /// Inserts a new empty container of `kind` at `index` and returns it.
    pub fn insert_container(
        &self,
        tx: &mut Transaction<'_>,
        index: usize,
        kind: Kind,
    ) -> Result<ContainerRef, Error> {
        tx.list_insert_container(self.0, index, kind)
    }

    /// Deletes `len` values starting at `index`.
    pub fn delete(&self, tx: &mut Transaction<'_>, index: usize, len: usize) -> Result<(), Error> {
        tx.seq_delete::<ListBuf>(self.0, Unit::Char, index, len)
    }

    /// The value at `index` (nested containers as [`Value::Container`]).
    pub fn get(&self, doc: &Doc, index: usize) -> Option<Value> {
        let mut out = Vec::new();
        let tree = doc.list_tree(self.0)?;
        if index >= tree.len().chars as usize {
            return None;
        }
        tree.content_range(index, 1, &mut out);
        out.pop()
    }

    /// Number of values.
    pub fn len(&self, doc: &Doc) -> usize {
        doc.list_tree(self.0).map_or(0, |t| t.len().chars as usize)
    }

    /// True when empty.
    pub fn is_empty(&self, doc: &Doc) -> bool {
        self.len(doc) == 0
    }

    /// All values in order.
    pub fn to_vec(&self, doc: &Doc) -> Vec<Value> {
        let mut out = Vec::new();
        if let Some(t) = doc.list_tree(self.0) {
            t.content(&mut out);
        }
        out
    }
}
