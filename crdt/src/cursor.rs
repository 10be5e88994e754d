//! [`Cursor`]: a position in a text or list anchored to an element id, so it stays put while
//! other replicas edit concurrently. Cursors encode to bytes for sharing (remote carets).

use crate::doc::Doc;
use crate::doc::container::{ContainerKey, State};
use crate::encoding::{DecodeError, DecodeErrorKind, Reader, Writer};
use crate::error::Error;
use crate::id::{Lv, OpId, ReplicaId};
use crate::seq::Unit;
use crate::types::{ListRef, TextRef};
use crate::value::{ContainerRef, Kind};

/// Which neighbour a cursor sticks to when text is inserted exactly at its position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Assoc {
    /// Stick to the element before the position: inserts at the cursor go after it.
    Before,
    /// Stick to the element after the position: inserts at the cursor go before it (a caret).
    After,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Target {
    Root(String, Kind),
    Nested(OpId, Kind),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Anchor {
    Start,
    End,
    Elem(OpId),
}

/// A stable position in a text or list: create it from an index with
/// [`TextRef::cursor`]/[`ListRef::cursor`], turn it back into an index with [`Cursor::resolve`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Cursor {
    target: Target,
    anchor: Anchor,
    assoc: Assoc,
}

fn target_of(doc: &Doc, c: ContainerRef) -> Option<Target> {
    let cont = doc.containers.get(c.idx as usize)?;
    Some(match &cont.key {
        ContainerKey::Root(name) => Target::Root(name.clone(), cont.kind),
        ContainerKey::Nested(lv) => Target::Nested(doc.ids.op_id(*lv)?, cont.kind),
    })
}

fn container_of(doc: &Doc, t: &Target) -> Option<ContainerRef> {
    match t {
        Target::Root(name, kind) => doc
            .find_root(name, *kind)
            .map(|idx| ContainerRef { kind: *kind, idx }),
        Target::Nested(id, kind) => {
            let lv = doc.ids.lv_of_id(*id)?;
            let idx = doc.nested_container(lv)?;
            (doc.containers.get(idx as usize)?.kind == *kind)
                .then_some(ContainerRef { kind: *kind, idx })
        }
    }
}

/// `(local version of the visible element at chars index `i`, or None at the end)`.
fn element_at(doc: &Doc, c: ContainerRef, i: usize) -> Option<Lv> {
    match doc.state(c)? {
        State::Text(t) => t.get(&doc.ids).lv_at(i),
        State::List(t) => t.lv_at(i),
        _ => None,
    }
}

fn make(
    doc: &Doc,
    c: ContainerRef,
    kind: Kind,
    unit: Unit,
    index: usize,
    assoc: Assoc,
) -> Result<Cursor, Error> {
    let doc = doc.resolved();
    let target = target_of(doc, c).ok_or(Error::WrongKind { expected: kind })?;
    let chars = match doc.state(c) {
        Some(State::Text(t)) => t.get(&doc.ids).to_chars(unit, index),
        Some(State::List(t)) => t.to_chars(Unit::Char, index),
        _ => return Err(Error::WrongKind { expected: kind }),
    }
    .map_err(|e| crate::text::map_pos(e, index, unit))?;
    let anchor = match assoc {
        Assoc::After => element_at(doc, c, chars)
            .and_then(|lv| doc.ids.op_id(lv))
            .map_or(Anchor::End, Anchor::Elem),
        Assoc::Before if chars == 0 => Anchor::Start,
        Assoc::Before => element_at(doc, c, chars - 1)
            .and_then(|lv| doc.ids.op_id(lv))
            .map_or(Anchor::End, Anchor::Elem),
    };
    Ok(Cursor {
        target,
        anchor,
        assoc,
    })
}

impl TextRef {
    /// A cursor at `index` (in `unit`).
    pub fn cursor(
        &self,
        doc: &Doc,
        unit: Unit,
        index: usize,
        assoc: Assoc,
    ) -> Result<Cursor, Error> {
        make(doc, self.0, Kind::Text, unit, index, assoc)
    }
}

impl ListRef {
    /// A cursor at `index`.
    pub fn cursor(&self, doc: &Doc, index: usize, assoc: Assoc) -> Result<Cursor, Error> {
        make(doc, self.0, Kind::List, Unit::Char, index, assoc)
    }
}

impl Cursor {
    /// The current index of the cursor in `unit` (list cursors: elements), or `None` when its
    /// container or element is unknown to `doc`.
    pub fn resolve(&self, doc: &Doc, unit: Unit) -> Option<usize> {
        let doc = doc.resolved();
        let c = container_of(doc, &self.target)?;
        let unit = if c.kind == Kind::List {
            Unit::Char
        } else {
            unit
        };
        let lv = match self.anchor {
            Anchor::Elem(id) => Some(doc.ids.lv_of_id(id)?),
            _ => None,
        };
        let (len, found) = match doc.state(c)? {
            State::Text(t) => {
                let t = t.get(&doc.ids);
                (t.len(), lv.map(|lv| t.position_and_width(lv)))
            }
            State::List(t) => (t.len(), lv.map(|lv| t.position_and_width(lv))),
            _ => return None,
        };
        match self.anchor {
            Anchor::Start => Some(0),
            Anchor::End => Some(len.get(unit)),
            Anchor::Elem(_) => {
                let (before, visible, width) = found?.ok()?;
                Some(match self.assoc {
                    Assoc::After => before.get(unit),
                    Assoc::Before if visible => before.get(unit) + width.get(unit),
                    Assoc::Before => before.get(unit),
                })
            }
        }
    }

    /// Encodes the cursor (see docs/FORMAT.md, "cursors").
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(1);
        match &self.target {
            Target::Root(name, kind) => {
                w.u8(kind.tag());
                w.u8(0);
                w.str(name);
            }
            Target::Nested(id, kind) => {
                w.u8(kind.tag());
                w.u8(1);
                w.varint(id.replica.0);
                w.varint(id.seq);
            }
        }
        match self.anchor {
            Anchor::Start => w.u8(0),
            Anchor::End => w.u8(1),
            Anchor::Elem(id) => {
                w.u8(2);
                w.varint(id.replica.0);
                w.varint(id.seq);
            }
        }
        w.u8(match self.assoc {
            Assoc::Before => 0,
            Assoc::After => 1,
        });
        w.into_bytes()
    }

    /// Decodes what [`Cursor::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<Cursor, DecodeError> {
        let mut r = Reader::new(bytes);
        let at = r.offset();
        let v = r.u8()?;
        if v != 1 {
            return Err(DecodeError::new(at, DecodeErrorKind::UnsupportedVersion(v)));
        }
        let at = r.offset();
        let kind = r.u8()?;
        let kind = Kind::from_tag(kind)
            .filter(|k| matches!(k, Kind::Text | Kind::List))
            .ok_or(DecodeError::new(at, DecodeErrorKind::InvalidTag(kind)))?;
        let at = r.offset();
        let target = match r.u8()? {
            0 => Target::Root(r.str()?.to_owned(), kind),
            1 => Target::Nested(OpId::new(ReplicaId(r.varint()?), r.varint()?), kind),
            t => return Err(DecodeError::new(at, DecodeErrorKind::InvalidTag(t))),
        };
        let at = r.offset();
        let anchor = match r.u8()? {
            0 => Anchor::Start,
            1 => Anchor::End,
            2 => Anchor::Elem(OpId::new(ReplicaId(r.varint()?), r.varint()?)),
            t => return Err(DecodeError::new(at, DecodeErrorKind::InvalidTag(t))),
        };
        let at = r.offset();
        let assoc = match r.u8()? {
            0 => Assoc::Before,
            1 => Assoc::After,
            t => return Err(DecodeError::new(at, DecodeErrorKind::InvalidTag(t))),
        };
        r.finish()?;
        Ok(Cursor {
            target,
            anchor,
            assoc,
        })
    }
}
