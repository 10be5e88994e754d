//! [`TextRef`] operations: insert, delete, read, in chars, UTF-16 code units or UTF-8 bytes.

use crate::doc::{Doc, Transaction};
use crate::error::Error;
use crate::seq::buf::TextBuf;
use crate::seq::tree::{PosError, SeqTree};
use crate::seq::{Len, Unit};
use crate::types::TextRef;

impl TextRef {
    /// Inserts `text` at `index` (in chars).
    pub fn insert(&self, tx: &mut Transaction<'_>, index: usize, text: &str) -> Result<(), Error> {
        self.insert_at(tx, Unit::Char, index, text)
    }

    /// Deletes `len` chars starting at `index`.
    pub fn delete(&self, tx: &mut Transaction<'_>, index: usize, len: usize) -> Result<(), Error> {
        self.delete_at(tx, Unit::Char, index, len)
    }

    /// Inserts `text` at `index` counted in `unit`. An index inside a character is an error.
    pub fn insert_at(
        &self,
        tx: &mut Transaction<'_>,
        unit: Unit,
        index: usize,
        text: &str,
    ) -> Result<(), Error> {
        tx.seq_insert::<TextBuf>(self.0, unit, index, text)
            .map(|_| ())
    }

    /// Deletes `len` units starting at `index`, both counted in `unit`.
    pub fn delete_at(
        &self,
        tx: &mut Transaction<'_>,
        unit: Unit,
        index: usize,
        len: usize,
    ) -> Result<(), Error> {
        tx.seq_delete::<TextBuf>(self.0, unit, index, len)
    }

    /// Replaces `len` units at `index` with `text` (a delete then an insert).
    pub fn replace_at(
        &self,
        tx: &mut Transaction<'_>,
        unit: Unit,
        index: usize,
        len: usize,
        text: &str,
    ) -> Result<(), Error> {
        self.delete_at(tx, unit, index, len)?;
        self.insert_at(tx, unit, index, text)
    }

    /// The whole text.
    pub fn to_string(&self, doc: &Doc) -> String {
        let mut s = String::with_capacity(doc.text_len(self.0).utf8 as usize);
        doc.text_content(self.0, &mut s);
        s
    }

    /// Length in chars.
    pub fn len(&self, doc: &Doc) -> usize {
        doc.text_len(self.0).chars as usize
    }

    /// Length in `unit`.
    pub fn len_in(&self, doc: &Doc, unit: Unit) -> usize {
        doc.text_len(self.0).get(unit)
    }

    /// Length in every unit.
    pub fn lengths(&self, doc: &Doc) -> Len {
        doc.text_len(self.0)
    }

    /// True when empty.
    pub fn is_empty(&self, doc: &Doc) -> bool {
        self.len(doc) == 0
    }

    /// Converts `index` from one unit to another (O(log n)).
    pub fn convert(&self, doc: &Doc, index: usize, from: Unit, to: Unit) -> Result<usize, Error> {
        let tree = doc.text_tree(self.0);
        let chars = chars_at(tree, from, index)?;
        Ok(match (to, tree) {
            (Unit::Char, _) | (_, None) => chars,
            (_, Some(t)) => t.measure_chars(0, chars).get(to),
        })
    }

    /// The text between `start` and `end` (in `unit`).
    pub fn slice(&self, doc: &Doc, unit: Unit, start: usize, end: usize) -> Result<String, Error> {
        let tree = doc.text_tree(self.0);
        let s = chars_at(tree, unit, start)?;
        let e = chars_at(tree, unit, end)?;
        let mut out = String::new();
        if let Some(t) = tree.filter(|_| e > s) {
            t.content_range(s, e - s, &mut out);
        }
        Ok(out)
    }
}

/// `index` (in `unit`) of the text `tree` in chars; a text that does not exist is empty.
fn chars_at(tree: Option<&SeqTree<TextBuf>>, unit: Unit, index: usize) -> Result<usize, Error> {
    match tree {
        Some(t) => t.to_chars(unit, index).map_err(|e| map_pos(e, index, unit)),
        None if index == 0 => Ok(0),
        None => Err(Error::OutOfRange {
            index,
            len: 0,
            unit,
        }),
    }
}

pub(crate) fn map_pos(e: PosError, index: usize, unit: Unit) -> Error {
    match e {
        PosError::OutOfRange { len } => Error::OutOfRange { index, len, unit },
        PosError::InsideChar => Error::InsideChar { index, unit },
    }
}
