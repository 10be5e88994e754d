//! [`Transaction`]: a batch of edits that becomes one update, and the local operations.

use std::ops::Deref;

use super::container::{MiscBody, MiscOp, OpValue, Owners, SeqKind, State};
use super::ids::IdMap;
use super::{Doc, Origin};
use crate::error::Error;
use crate::event::{Event, SeqEdit, TxnRecord, UpdateEvent};
use crate::id::{Agent, Lv, ReplicaId};
use crate::register::Stamp;
use crate::seq::Unit;
use crate::seq::tree::PosError;
use crate::value::{ContainerRef, Kind, Value};

/// A group of edits applied together. Observers see one update and one event per changed
/// container when it commits — on [`Transaction::commit`] or when dropped.
///
/// A transaction dereferences to its [`Doc`], so reads work inside it.
pub struct Transaction<'a> {
    pub(crate) doc: &'a mut Doc,
    origin: Option<Origin>,
    local: bool,
    start_seq: u32,
    start_del: u32,
    /// What changed, when observers need it (boxed: a transaction without observers stays small
    /// and cheap to create, move and drop).
    pub(crate) record: Option<Box<TxnRecord>>,
    /// The update a remote transaction applied (re-sent to update observers).
    pub(crate) remote_update: Option<Vec<u8>>,
    done: bool,
}

impl Deref for Transaction<'_> {
    type Target = Doc;
    fn deref(&self) -> &Doc {
        self.doc
    }
}

impl Drop for Transaction<'_> {
    #[inline]
    fn drop(&mut self) {
        self.finish();
    }
}

fn pos_error(e: PosError, index: usize, unit: Unit) -> Error {
    match e {
        PosError::OutOfRange { len } => Error::OutOfRange { index, len, unit },
        PosError::InsideChar => Error::InsideChar { index, unit },
    }
}

/// Assigns `n` fresh local versions to `me` for container `c` (a function of the document's
/// fields, so that a caller can hold a container's tree meanwhile).
fn assign(ids: &mut IdMap, owners: &mut Owners, me: Agent, n: u32, c: u32) -> Result<Lv, Error> {
    if ids.next_lv().checked_add(n).is_none_or(|e| e == u32::MAX) {
        return Err(Error::TooLarge);
    }
    let lv = ids.assign(me, n);
    owners.push(lv, n, c);
    Ok(lv)
}

impl<'a> Transaction<'a> {
    #[inline]
    pub(crate) fn new(doc: &'a mut Doc, origin: Option<Origin>, local: bool) -> Self {
        let me = &doc.ids.agents[doc.me as usize];
        let (start_seq, start_del) = (me.next_seq, me.next_del);
        let record = doc.observers.recording().then(|| {
            Box::new(TxnRecord {
                origin: origin.clone(),
                local,
                ..TxnRecord::default()
            })
        });
        Self {
            doc,
            origin,
            local,
            start_seq,
            start_del,
            record,
            remote_update: None,
            done: false,
        }
    }

    /// The transaction's origin tag.
    pub fn origin(&self) -> Option<&Origin> {
        self.origin.as_ref()
    }

    /// Commits: delivers the update and events to observers. Dropping a transaction does the
    /// same.
    #[inline]
    pub fn commit(mut self) {
        self.finish();
    }

    #[inline]
    fn finish(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        // Nobody to tell and nothing waiting: the common case costs three checks.
        let doc = &*self.doc;
        if self.record.is_none() && doc.observers.update.is_empty() && doc.pending.is_empty() {
            return;
        }
        self.deliver_and_retry();
    }

    /// Delivers the transaction to observers, and applies pending updates it may unblock.
    #[cold]
    #[inline(never)]
    fn deliver_and_retry(&mut self) {
        self.deliver();
        let doc = &mut *self.doc;
        let me = &doc.ids.agents[doc.me as usize];
        if (me.next_seq != self.start_seq || me.next_del != self.start_del)
            && doc.pending.mentions(doc.replica_id())
        {
            // A pending update may wait for an id this replica has just used (a peer that
            // reused this replica id): apply it now, as a reload of this document would.
            doc.retry_pending(self.origin.clone());
        }
    }

    /// Delivers the update and events of the transaction to observers.
    fn deliver(&mut self) {
        let doc = &mut *self.doc;
        if self.record.is_none() && doc.observers.update.is_empty() {
            return;
        }
        let me = &doc.ids.agents[doc.me as usize];
        let changed_locally = me.next_seq != self.start_seq || me.next_del != self.start_del;
        if !doc.observers.update.is_empty() {
            let update = if changed_locally {
                Some(doc.encode_local(self.start_seq, self.start_del))
            } else {
                self.remote_update.take()
            };
            if let Some(update) = update {
                let ev = UpdateEvent {
                    update: &update,
                    origin: self.origin.as_ref(),
                    local: self.local,
                };
                for (_, f) in doc.observers.update.iter_mut() {
                    f(&ev);
                }
            }
        }
        if let Some(record) = self.record.take()
            && !record.is_empty()
        {
            if !doc.observers.events.is_empty() {
                for (c, change) in record.events() {
                    let ev = Event {
                        target: ContainerRef {
                            kind: doc.containers[c as usize].kind,
                            idx: c,
                        },
                        origin: self.origin.clone(),
                        local: self.local,
                        change,
                    };
                    for (_, target, f) in doc.observers.events.iter_mut() {
                        if target.idx == c {
                            f(&ev);
                        }
                    }
                }
            }
            for (_, f) in doc.observers.txns.iter_mut() {
                f(&record);
            }
        }
    }

    // ------------------------------------------------------------------ helpers

    fn check(&self, c: ContainerRef, kind: Kind) -> Result<usize, Error> {
        match self.doc.containers.get(c.idx as usize) {
            Some(x) if x.kind == kind && c.kind == kind => Ok(c.idx as usize),
            _ => Err(Error::WrongKind { expected: kind }),
        }
    }

    /// Assigns `n` fresh local versions to this replica for container `c`.
    fn assign(&mut self, n: u32, c: u32) -> Result<Lv, Error> {
        let doc = &mut *self.doc;
        assign(&mut doc.ids, &mut doc.owners, doc.me, n, c)
    }

    // ------------------------------------------------------------------ sequences

    pub(crate) fn seq_insert<B: SeqKind>(
        &mut self,
        c: ContainerRef,
        unit: Unit,
        index: usize,
        content: &B::Slice,
    ) -> Result<Lv, Error> {
        let kind = B::KIND;
        let idx = self.check(c, kind)?;
        let m = B::measure(content);
        let doc = &mut *self.doc;
        let tree = B::tree(&mut doc.containers[idx].state, &doc.ids)
            .ok_or(Error::WrongKind { expected: kind })?;
        tree.to_chars(unit, index)
            .map_err(|e| pos_error(e, index, unit))?;
        if m.chars == 0 {
            return Ok(crate::id::NO_LV);
        }
        let lv = assign(&mut doc.ids, &mut doc.owners, doc.me, m.chars, idx as u32)?;
        let ins = tree
            .local_insert(unit, index, lv, (content, m), &doc.ids)
            .map_err(|e| pos_error(e, index, unit))?;
        if let Some(rec) = self.record.as_mut() {
            let mut owned = B::Owned::default();
            B::extend_owned(&mut owned, content);
            B::push_edit(
                rec,
                idx as u32,
                SeqEdit::Insert {
                    pos: ins.pos,
                    content: owned,
                    lv,
                },
            );
        }
        Ok(lv)
    }

    /// Inserts `content` right after the element `anchor` of container `c` (undo uses this to
    /// bring deleted content back exactly where it was). Returns the first new local version.
    pub(crate) fn seq_insert_after<B: SeqKind>(
        &mut self,
        c: ContainerRef,
        anchor: Lv,
        content: &B::Slice,
    ) -> Result<Lv, Error> {
        let kind = B::KIND;
        let idx = self.check(c, kind)?;
        let n = B::count(content) as u32;
        if n == 0 || self.doc.owners.get(anchor) != Some(idx as u32) {
            return Err(Error::WrongKind { expected: kind });
        }
        let lv = self.assign(n, idx as u32)?;
        let doc = &mut *self.doc;
        let tree = B::tree(&mut doc.containers[idx].state, &doc.ids)
            .ok_or(Error::WrongKind { expected: kind })?;
        let pos = tree
            .local_insert_after(anchor, lv, content, &doc.ids)
            .map_err(|_| Error::WrongKind { expected: kind })?;
        if let Some(rec) = self.record.as_mut() {
            let mut owned = B::Owned::default();
            B::extend_owned(&mut owned, content);
            B::push_edit(
                rec,
                idx as u32,
                SeqEdit::Insert {
                    pos,
                    content: owned,
                    lv,
                },
            );
        }
        Ok(lv)
    }

    pub(crate) fn seq_delete<B: SeqKind>(
        &mut self,
        c: ContainerRef,
        unit: Unit,
        index: usize,
        len: usize,
    ) -> Result<(), Error> {
        let kind = B::KIND;
        let idx = self.check(c, kind)?;
        let doc = &mut *self.doc;
        let tree = B::tree(&mut doc.containers[idx].state, &doc.ids)
            .ok_or(Error::WrongKind { expected: kind })?;
        let end = index.checked_add(len).ok_or(Error::OutOfRange {
            index,
            len: tree.len().get(unit),
            unit,
        })?;
        let start_c = tree
            .to_chars(unit, index)
            .map_err(|e| pos_error(e, index, unit))?;
        let end_c = tree
            .to_chars(unit, end)
            .map_err(|e| pos_error(e, end, unit))?;
        if end_c <= start_c {
            return Ok(());
        }
        // A scratch list kept by the document, so deleting allocates nothing.
        let mut removed = std::mem::take(&mut doc.scratch);
        removed.clear();
        let recording = self.record.is_some();
        let mut content = B::Owned::default();
        let result = tree.local_delete(
            start_c,
            end_c - start_c,
            &mut removed,
            recording.then_some(&mut content),
            &doc.ids,
        );
        if let Err(e) = result {
            self.doc.scratch = removed;
            return Err(pos_error(e, index, unit));
        }
        self.doc.log_local_deletions(&removed);
        if let Some(rec) = self.record.as_mut() {
            let mut consumed = 0usize;
            for r in &removed {
                let piece = B::sub_slice(content.as_ref(), consumed, r.n as usize);
                consumed += r.n as usize;
                let mut owned = B::Owned::default();
                B::extend_owned(&mut owned, piece);
                B::push_edit(
                    rec,
                    idx as u32,
                    SeqEdit::Delete {
                        pos: r.pos,
                        len: r.len,
                        content: owned,
                        lv: r.lv,
                        n: r.n,
                    },
                );
            }
        }
        self.doc.scratch = removed;
        Ok(())
    }

    // ------------------------------------------------------------------ other types

    fn next_stamp(&mut self) -> Stamp {
        self.doc.lamport += 1;
        Stamp::new(self.doc.lamport, self.doc.replica_id())
    }

    /// Stores an op value: a new container is created with the op's id.
    fn materialize(&mut self, v: &OpValue, lv: Lv) -> Value {
        match v {
            OpValue::Plain(v) => v.clone(),
            OpValue::New(kind) => {
                let idx = self
                    .doc
                    .add_container(super::container::ContainerKey::Nested(lv), *kind);
                Value::Container(ContainerRef { kind: *kind, idx })
            }
        }
    }

    pub(crate) fn list_insert_container(
        &mut self,
        c: ContainerRef,
        index: usize,
        kind: Kind,
    ) -> Result<ContainerRef, Error> {
        let idx = self.check(c, Kind::List)?;
        if let State::List(t) = &self.doc.containers[idx].state {
            t.to_chars(Unit::Char, index)
                .map_err(|e| pos_error(e, index, Unit::Char))?;
        }
        let lv = self.doc.ids.next_lv();
        let new = self
            .doc
            .add_container(super::container::ContainerKey::Nested(lv), kind);
        let value = Value::Container(ContainerRef { kind, idx: new });
        let got = self.seq_insert::<crate::seq::buf::ListBuf>(
            c,
            Unit::Char,
            index,
            std::slice::from_ref(&value),
        )?;
        debug_assert_eq!(got, lv);
        Ok(ContainerRef { kind, idx: new })
    }

    pub(crate) fn map_write(
        &mut self,
        c: ContainerRef,
        key: &str,
        value: Option<OpValue>,
    ) -> Result<Option<Value>, Error> {
        let idx = self.check(c, Kind::Map)?;
        let lv = self.assign(1, idx as u32)?;
        let stamp = self.next_stamp();
        let stored = value.as_ref().map(|v| self.materialize(v, lv));
        let State::Map(m) = &mut self.doc.containers[idx].state else {
            return Err(Error::WrongKind {
                expected: Kind::Map,
            });
        };
        let reg = m.entry(key.to_owned()).or_default();
        let old = reg.get().cloned();
        reg.apply(stamp, stored.clone());
        self.doc.misc.insert(
            lv,
            MiscOp {
                container: idx as u32,
                lamport: stamp.lamport,
                body: MiscBody::MapSet {
                    key: key.to_owned(),
                    value,
                },
            },
        );
        if let Some(rec) = self.record.as_mut() {
            rec.key_change(idx as u32, key, old, stored.clone());
        }
        Ok(stored)
    }

    pub(crate) fn register_write(
        &mut self,
        c: ContainerRef,
        value: Option<OpValue>,
    ) -> Result<Option<Value>, Error> {
        let idx = self.check(c, Kind::Register)?;
        let lv = self.assign(1, idx as u32)?;
        let stamp = self.next_stamp();
        let stored = value.as_ref().map(|v| self.materialize(v, lv));
        let State::Register(r) = &mut self.doc.containers[idx].state else {
            return Err(Error::WrongKind {
                expected: Kind::Register,
            });
        };
        let old = r.get().cloned();
        r.apply(stamp, stored.clone());
        self.doc.misc.insert(
            lv,
            MiscOp {
                container: idx as u32,
                lamport: stamp.lamport,
                body: MiscBody::RegisterSet(value),
            },
        );
        if let Some(rec) = self.record.as_mut() {
            rec.register_change(idx as u32, old, stored.clone());
        }
        Ok(stored)
    }

    pub(crate) fn counter_add(&mut self, c: ContainerRef, delta: i64) -> Result<(), Error> {
        let idx = self.check(c, Kind::Counter)?;
        if delta == 0 {
            return Ok(());
        }
        let lv = self.assign(1, idx as u32)?;
        let replica = self.doc.replica_id();
        let State::Counter(k) = &mut self.doc.containers[idx].state else {
            return Err(Error::WrongKind {
                expected: Kind::Counter,
            });
        };
        k.add(replica, delta);
        self.doc.misc.insert(
            lv,
            MiscOp {
                container: idx as u32,
                lamport: 0,
                body: MiscBody::CounterAdd(delta),
            },
        );
        if let Some(rec) = self.record.as_mut() {
            let sum = rec.counters.entry(idx as u32).or_default();
            *sum = sum.wrapping_add(delta);
        }
        Ok(())
    }

    pub(crate) fn set_add(&mut self, c: ContainerRef, value: Value) -> Result<(), Error> {
        let idx = self.check(c, Kind::Set)?;
        let lv = self.assign(1, idx as u32)?;
        let seq = self.doc.ids.agents[self.doc.me as usize].next_seq - 1;
        let dot = (self.doc.replica_id(), u64::from(seq));
        let State::Set(s) = &mut self.doc.containers[idx].state else {
            return Err(Error::WrongKind {
                expected: Kind::Set,
            });
        };
        let became = s.apply_add(dot, value.clone());
        self.doc.misc.insert(
            lv,
            MiscOp {
                container: idx as u32,
                lamport: 0,
                body: MiscBody::SetAdd(value.clone()),
            },
        );
        if became && let Some(rec) = self.record.as_mut() {
            rec.set_change(idx as u32, &value, true);
        }
        Ok(())
    }

    pub(crate) fn set_remove(&mut self, c: ContainerRef, value: &Value) -> Result<bool, Error> {
        let idx = self.check(c, Kind::Set)?;
        let State::Set(s) = &self.doc.containers[idx].state else {
            return Err(Error::WrongKind {
                expected: Kind::Set,
            });
        };
        let dots: Vec<(ReplicaId, u64)> = s.dots(value).collect();
        if dots.is_empty() {
            return Ok(false);
        }
        let dot_lvs: Vec<Lv> = dots
            .iter()
            .filter_map(|(r, seq)| self.doc.ids.lv_of_id(crate::id::OpId::new(*r, *seq)))
            .collect();
        let lv = self.assign(1, idx as u32)?;
        let State::Set(s) = &mut self.doc.containers[idx].state else {
            return Err(Error::WrongKind {
                expected: Kind::Set,
            });
        };
        s.apply_remove(value, &dots);
        self.doc.misc.insert(
            lv,
            MiscOp {
                container: idx as u32,
                lamport: 0,
                body: MiscBody::SetRemove {
                    value: value.clone(),
                    dots: dot_lvs,
                },
            },
        );
        if let Some(rec) = self.record.as_mut() {
            rec.set_change(idx as u32, value, false);
        }
        Ok(true)
    }
}
