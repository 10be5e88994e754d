//! Deferred whole-document loads. A document loaded from an encoding of plain root texts keeps
//! the encoding, the clocks and the text content after checking the envelope and checksum; the
//! history is parsed in full (into a "shadow" document) the first time anything needs it, and an
//! edit or merge moves that shadow in place.

use std::sync::OnceLock;

use super::container::{ContainerKey, State};
use super::{Doc, Origin, Transaction};
use crate::event::SeqEdit;
use crate::seq::Len;
use crate::seq::lazy::LazySeq;
use crate::types::TextRef;
use crate::update::ApplyOutcome;
use crate::update::peek::Peeked;
use crate::version::StateVector;

/// A whole-document encoding not parsed in full yet.
pub(crate) struct Deferred {
    pub(crate) bytes: Vec<u8>,
    pub(crate) sv: StateVector,
    shadow: OnceLock<Box<Doc>>,
}

/// Parses `bytes` in full into a document with the same replica id and roots as `base`. An
/// encoding that passed its checksum but does not parse keeps its text as local edits of this
/// replica, so nothing loaded is lost and the document stays consistent.
fn build_shadow(bytes: &[u8], base: &Doc) -> Doc {
    let fresh = || {
        let mut s = Doc::with_replica_id(base.replica_id());
        for c in &base.containers {
            if let ContainerKey::Root(name) = &c.key {
                s.root(name, c.kind);
            }
        }
        s
    };
    let mut s = fresh();
    if crate::update::decode::decode(bytes)
        .and_then(|d| s.load_snapshot(d, None, None))
        .is_ok()
    {
        return s;
    }
    let mut s = fresh();
    let texts: Vec<(TextRef, String)> = base
        .containers
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match &c.state {
            State::Text(t) => {
                let mut out = String::new();
                t.content(&mut out);
                Some((
                    TextRef(crate::value::ContainerRef {
                        kind: c.kind,
                        idx: i as u32,
                    }),
                    out,
                ))
            }
            _ => None,
        })
        .collect();
    let mut tx = s.transact();
    for (t, content) in texts {
        let _ = t.insert(&mut tx, 0, &content);
    }
    tx.commit();
    s
}

impl Doc {
    /// The document to read history and trees from: itself, or the parsed shadow of a deferred
    /// load.
    pub(crate) fn resolved(&self) -> &Doc {
        match &self.deferred {
            None => self,
            Some(d) => d
                .shadow
                .get_or_init(|| Box::new(build_shadow(&d.bytes, self))),
        }
    }

    /// Finishes a deferred load before a change: the shadow takes this document's place.
    #[inline]
    pub(crate) fn materialize(&mut self) {
        if self.deferred.is_some() {
            self.materialize_now();
        }
    }

    fn materialize_now(&mut self) {
        let Some(d) = self.deferred.take() else {
            return;
        };
        let shadow = match d.shadow.into_inner() {
            Some(s) => *s,
            None => build_shadow(&d.bytes, self),
        };
        let roots: Vec<(String, crate::value::Kind)> = self
            .containers
            .iter()
            .filter_map(|c| match &c.key {
                ContainerKey::Root(name) => Some((name.clone(), c.kind)),
                ContainerKey::Nested(_) => None,
            })
            .collect();
        let observers = std::mem::take(&mut self.observers);
        let pending = std::mem::take(&mut self.pending);
        *self = shadow;
        self.observers = observers;
        self.pending = pending;
        // Roots made after the shadow was built keep their handles: they come after its own.
        for (name, kind) in roots {
            self.root(&name, kind);
        }
    }

    /// Loads a peeked encoding into this document, which has no operations, deferring the rest.
    pub(crate) fn load_deferred(
        &mut self,
        bytes: &[u8],
        peeked: Peeked,
        origin: Option<Origin>,
    ) -> ApplyOutcome {
        let mut texts = Vec::with_capacity(peeked.texts.len());
        for (name, content) in peeked.texts {
            let c = self.root(&name, crate::value::Kind::Text);
            texts.push(c.idx);
            let len = Len::of_str(&content);
            self.containers[c.idx as usize].state =
                State::Text(LazySeq::content_only(content, len));
        }
        let ops: u64 = peeked.sv.iter().map(|(_, c)| c.ops).sum();
        let deletes: u64 = peeked.sv.iter().map(|(_, c)| c.deletes).sum();
        self.deferred = Some(Box::new(Deferred {
            bytes: bytes.to_vec(),
            sv: peeked.sv,
            shadow: OnceLock::new(),
        }));
        let mut tx = Transaction::new(self, origin, false);
        if let Some(rec) = tx.record.as_mut() {
            for idx in texts {
                let mut s = String::new();
                tx.doc.text_content(
                    crate::value::ContainerRef {
                        kind: crate::value::Kind::Text,
                        idx,
                    },
                    &mut s,
                );
                if !s.is_empty() {
                    rec.text.entry(idx).or_default().push(SeqEdit::Insert {
                        pos: Len::default(),
                        content: s,
                        lv: 0,
                    });
                }
            }
        }
        if ops + deletes > 0 {
            tx.remote_update = Some(bytes.to_vec());
        }
        drop(tx);
        ApplyOutcome {
            ops,
            deletes,
            pending: false,
        }
    }
}
