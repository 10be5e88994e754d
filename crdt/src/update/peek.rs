//! A quick look at a whole-document encoding of plain root texts: checks its envelope and
//! checksum, reads the clocks and the text content, and skips the history, which
//! [`crate::Doc`] parses in full the first time it is needed.
#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use super::decode::{Envelope, envelope};
use super::format;
use crate::encoding::{DecodeError, DecodeErrorKind};
use crate::id::ReplicaId;
use crate::value::Kind;
use crate::version::{Clocks, StateVector};

/// What [`peek`] found.
pub(crate) struct Peeked {
    pub(crate) sv: StateVector,
    /// `(root name, content)` of every container, all of them texts.
    pub(crate) texts: Vec<(String, String)>,
}

/// Reads a checksummed whole-document encoding whose containers are all root texts (and that
/// carries no list content and no pending updates). `Ok(None)` when the encoding is of another shape.
pub(crate) fn peek(bytes: &[u8]) -> Result<Option<Peeked>, DecodeError> {
    let Envelope { flags, body: mut r } = envelope(bytes, 0)?;
    // Only checksummed snapshots (all that `encode_state` writes) are deferred: without a
    // checksum, damage in the skipped history would surface only at first use.
    if flags & (format::F_SNAPSHOT | format::F_ROWS) != format::F_SNAPSHOT
        || flags & format::F_CHECKSUM == 0
    {
        return Ok(None);
    }
    let sections = flags;
    if sections & (format::S_VALUES | format::S_EXTRA) != 0 {
        return Ok(None);
    }
    let n = r.count(1)?;
    let mut replicas = Vec::with_capacity(n);
    for _ in 0..n {
        replicas.push(ReplicaId(r.varint()?));
    }
    let mut names = Vec::new();
    if sections & format::S_CONTAINERS != 0 {
        loop {
            let head = r.u8()?;
            if head & !format::C_LAST != Kind::Text.tag() {
                return Ok(None);
            }
            names.push(r.str()?.to_owned());
            if head & format::C_LAST != 0 {
                break;
            }
        }
    }
    let mut sv = StateVector::new();
    let n = r.count(4)?;
    for _ in 0..n {
        let at = r.offset();
        let ri = if replicas.len() == 1 {
            0
        } else {
            r.varint_u32()? as usize
        };
        let Some(replica) = replicas.get(ri).copied() else {
            return Err(DecodeError::new(
                at,
                DecodeErrorKind::Inconsistent("replica index out of range"),
            ));
        };
        let start = r.varint()?;
        let _nops = r.varint()?;
        let elems = r.varint()?;
        let mut c = sv.get(replica);
        if start <= c.ops {
            c.ops = c.ops.max(start.saturating_add(elems));
        }
        sv.set(replica, c);
    }
    for _ in 0..6 {
        let len = r.count(1)?;
        r.take(len)?;
    }
    if sections & format::S_DELETES != 0 {
        // Deletion streams: the state vector counts each replica's gap-free prefix.
        let n = r.count(4)?;
        let mut dels: Vec<(ReplicaId, u64, u64)> = Vec::with_capacity(n);
        for _ in 0..n {
            let at = r.offset();
            let ri = if replicas.len() == 1 {
                0
            } else {
                r.varint_u32()? as usize
            };
            let Some(replica) = replicas.get(ri).copied() else {
                return Err(DecodeError::new(
                    at,
                    DecodeErrorKind::Inconsistent("replica index out of range"),
                ));
            };
            let start = r.varint()?;
            let total = r.varint()?;
            let _nruns = r.varint()?;
            dels.push((replica, start, start.saturating_add(total)));
        }
        crate::sort::sort(&mut dels);
        for (replica, start, end) in dels {
            let mut c = sv.get(replica);
            if start <= c.deletes {
                c.deletes = c.deletes.max(end);
            }
            sv.set(
                replica,
                Clocks {
                    ops: c.ops,
                    deletes: c.deletes,
                },
            );
        }
        let len = r.count(1)?;
        r.take(len)?;
    }
    let text = if sections & format::S_TEXT != 0 {
        super::decode::read_text_block(&mut r)?
    } else {
        String::new()
    };
    let mut texts = Vec::with_capacity(names.len());
    let mut pos = 0usize;
    let single = names.len() == 1;
    for name in names {
        let at = r.offset();
        let n = r.varint()? as usize;
        let end = pos
            .checked_add(n)
            .filter(|e| *e <= text.len() && text.is_char_boundary(*e));
        let (Some(end), true) = (end, text.is_char_boundary(pos)) else {
            return Err(DecodeError::new(
                at,
                DecodeErrorKind::Inconsistent("text content range out of bounds"),
            ));
        };
        texts.push((
            name,
            if single && end == text.len() {
                String::new()
            } else {
                text.get(pos..end).unwrap_or_default().to_owned()
            },
        ));
        pos = end;
    }
    if pos != text.len() {
        return Err(r.error(DecodeErrorKind::Inconsistent(
            "content not covered by the containers",
        )));
    }
    r.finish()?;
    // One text holding everything takes the decoded block without a copy.
    if single
        && let Some(t) = texts.first_mut()
        && t.1.is_empty()
    {
        t.1 = text;
    }
    Ok(Some(Peeked { sv, texts }))
}
