//! Updates: encoding what a replica has or what a peer lacks, and applying updates atomically,
//! with a pending buffer for updates whose dependencies have not arrived. Format: docs/FORMAT.md.

pub(crate) mod apply;
pub(crate) mod decode;
pub(crate) mod encode;
pub(crate) mod format;
pub(crate) mod model;
pub(crate) mod peek;
pub(crate) mod plan;
pub(crate) mod predict;

use self::encode::Effort;
use crate::doc::container::State;
use crate::doc::{Doc, Origin, Transaction};
use crate::encoding::{DecodeError, DecodeErrorKind};
use crate::event::SeqEdit;
use crate::id::{Lv, ReplicaId};
use crate::seq::Len;
use crate::seq::lazy::{LazySeq, Source};
use crate::value::{ContainerRef, Kind, Value};
use crate::vecmap::VecMap;
use crate::version::{Clocks, StateVector};
use encode::Ranges;
use model::{Decoded, Elem};

/// What [`Doc::apply_update`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApplyOutcome {
    /// Operation elements integrated (inserted elements, map writes, …), pending ones included
    /// once they apply.
    pub ops: u64,
    /// Deletions integrated.
    pub deletes: u64,
    /// True when some operations still wait for dependencies afterwards.
    pub pending: bool,
}

/// Operations received before their dependencies, kept until those arrive.
#[derive(Default)]
pub(crate) struct Pending {
    updates: Vec<Decoded>,
}

impl Pending {
    pub(crate) fn is_empty(&self) -> bool {
        self.updates.is_empty()
    }

    /// Whether a pending update names replica `r`.
    pub(crate) fn mentions(&self, r: ReplicaId) -> bool {
        self.updates.iter().any(|d| d.replicas.contains(&r))
    }

    /// For each replica with pending operations or deletions, the clocks this document has: a
    /// peer that sends everything after them unblocks the pending operations.
    pub(crate) fn missing(&self, doc: &Doc) -> StateVector {
        let mut sv = StateVector::new();
        for d in &self.updates {
            for r in &d.replicas {
                let c = doc.clocks_of_replica(*r);
                sv.set(*r, c);
                if c == Clocks::default() {
                    // Record unknown replicas too: "everything from the start".
                    sv.set(*r, Clocks { ops: 0, deletes: 0 });
                }
            }
        }
        sv
    }

    fn decoded(&self) -> Vec<Decoded> {
        self.updates.clone()
    }
}

fn inconsistent(what: &'static str) -> DecodeError {
    DecodeError::new(0, DecodeErrorKind::Inconsistent(what))
}

impl Doc {
    /// Encodes the whole document (history included) — an update that brings an empty replica
    /// up to date. Pending operations are carried along.
    pub fn encode_state(&self) -> Vec<u8> {
        if let Some(d) = &self.deferred {
            return d.bytes.clone();
        }
        encode::encode(
            self,
            &Ranges::all(self),
            true,
            self.pending.decoded(),
            Effort::Best,
        )
    }

    /// Encodes exactly what a replica at `sv` lacks: operations and deletions past its clocks.
    /// From an empty `sv` that is the whole document ([`Doc::encode_state`]), unless the document
    /// is a handful of operations: then a plain update, which is smaller.
    pub fn encode_diff(&self, sv: &StateVector) -> Vec<u8> {
        if sv.is_empty() && !self.is_tiny() {
            return self.encode_state();
        }
        if self.deferred.is_some() {
            return self.resolved().encode_diff(sv);
        }
        self.encode_update_since(sv)
    }

    /// Whether the document holds at most [`format::ROWS_MAX_OPS`] operations and deletions
    /// with nothing pending, so that an update in row layout encodes it in fewer bytes than the
    /// whole-document layout (which carries a checksum and column headers).
    fn is_tiny(&self) -> bool {
        if self.deferred.is_some() || !self.pending.is_empty() {
            return false;
        }
        let mut n = 0u64;
        for (a, info) in self.ids.agents_in_replica_order() {
            n += u64::from(info.next_seq) + u64::from(self.del_end(a as u32));
            if n > format::ROWS_MAX_OPS {
                return false;
            }
        }
        true
    }

    /// An update (never a whole-document encoding, even for an empty `sv`) of the operations
    /// and deletions past `sv`. The document must not be a deferred load.
    fn encode_update_since(&self, sv: &StateVector) -> Vec<u8> {
        let mut r = Ranges::default();
        for (a, info) in self.ids.agents_by_replica() {
            let c = sv.get(info.replica);
            let ops = u32::try_from(c.ops).unwrap_or(u32::MAX);
            let dels = u32::try_from(c.deletes).unwrap_or(u32::MAX);
            if info.next_seq > ops {
                r.ops.push((a as u32, ops, info.next_seq));
            }
            let end = self.del_end(a as u32);
            if end > dels {
                r.dels.push((a as u32, dels, end));
            }
        }
        encode::encode(self, &r, false, Vec::new(), Effort::Best)
    }

    /// The update of this replica's operations from `start_seq` and deletions from `start_del`.
    pub(crate) fn encode_local(&self, start_seq: u32, start_del: u32) -> Vec<u8> {
        let info = &self.ids.agents[self.me as usize];
        let mut r = Ranges::default();
        if info.next_seq > start_seq {
            r.ops.push((self.me, start_seq, info.next_seq));
        }
        if info.next_del > start_del {
            r.dels.push((self.me, start_del, info.next_del));
        }
        encode::encode(self, &r, false, Vec::new(), Effort::Plain)
    }

    /// Applies an update (from [`Doc::encode_diff`], [`Doc::encode_state`], a transaction's
    /// update event, or [`crate::merge_updates`]). Idempotent, commutative and associative:
    /// replicas that applied the same set of updates in any order hold the same state.
    ///
    /// Atomic: on error (malformed or contradictory input) the document is unchanged. Operations
    /// whose dependencies are missing wait in a pending buffer until they arrive.
    pub fn apply_update(&mut self, update: &[u8]) -> Result<ApplyOutcome, DecodeError> {
        if let Some(out) = self.try_deferred(update, None)? {
            return Ok(out);
        }
        let d = decode::decode(update)?;
        self.apply_decoded(d, None, Some(update))
    }

    /// [`Doc::apply_update`] with an origin tag passed to observers.
    pub fn apply_update_with(
        &mut self,
        update: &[u8],
        origin: impl Into<Origin>,
    ) -> Result<ApplyOutcome, DecodeError> {
        let origin = origin.into();
        if let Some(out) = self.try_deferred(update, Some(origin.clone()))? {
            return Ok(out);
        }
        let d = decode::decode(update)?;
        self.apply_decoded(d, Some(origin), Some(update))
    }

    /// A new document (random replica id) holding the content of an encoding.
    #[cfg(feature = "random")]
    pub fn load(bytes: &[u8]) -> Result<Doc, DecodeError> {
        let mut doc = Doc::new();
        doc.apply_update(bytes)?;
        Ok(doc)
    }

    /// A new document with the given replica id holding the content of an encoding.
    pub fn load_with_replica_id(bytes: &[u8], replica: ReplicaId) -> Result<Doc, DecodeError> {
        let mut doc = Doc::with_replica_id(replica);
        doc.apply_update(bytes)?;
        Ok(doc)
    }

    /// Loads a whole-document encoding of plain texts into an empty document without parsing
    /// its history yet (see `doc/deferred.rs`). `None` when this update or document does not
    /// qualify.
    fn try_deferred(
        &mut self,
        update: &[u8],
        origin: Option<Origin>,
    ) -> Result<Option<ApplyOutcome>, DecodeError> {
        if self.ids.next_lv() != 0 || !self.pending.is_empty() || self.deferred.is_some() {
            return Ok(None);
        }
        let Some(peeked) = peek::peek(update)? else {
            return Ok(None);
        };
        Ok(Some(self.load_deferred(update, peeked, origin)))
    }

    fn apply_decoded(
        &mut self,
        mut d: Decoded,
        origin: Option<Origin>,
        bytes: Option<&[u8]>,
    ) -> Result<ApplyOutcome, DecodeError> {
        self.materialize();
        let extra = std::mem::take(&mut d.extra);
        let mut out = if d.snapshot {
            if self.ids.next_lv() == 0 {
                self.load_snapshot(d, origin.clone(), bytes)?
            } else {
                // Merge a whole-document encoding through a temporary replica: load it there,
                // then apply exactly what this replica lacks.
                // Only the replicas the encoding names matter, so a document that knows many
                // replicas does not build its whole state vector for each merge.
                let known = self.clocks_of(&d.replicas);
                let mut tmp = Doc::with_replica_id(self.replica_id());
                tmp.load_snapshot(d, None, None)?;
                let diff = decode::decode(&tmp.encode_update_since(&known))?;
                self.apply_diff(diff, origin.clone(), bytes)?
            }
        } else {
            self.apply_diff(d, origin.clone(), bytes)?
        };
        for e in extra {
            self.pending.updates.push(e);
        }
        let retried = self.retry_pending(origin);
        out.ops += retried.ops;
        out.deletes += retried.deletes;
        out.pending = !self.pending.is_empty();
        Ok(out)
    }

    /// This document's clocks for `replicas` only.
    fn clocks_of(&self, replicas: &[ReplicaId]) -> StateVector {
        let mut sv = StateVector::new();
        for r in replicas {
            sv.set(*r, self.clocks_of_replica(*r));
        }
        sv
    }

    /// This document's clocks for replica `r` (zero when it knows nothing of `r`).
    fn clocks_of_replica(&self, r: ReplicaId) -> Clocks {
        self.ids.find_agent(r).map_or(Clocks::default(), |a| {
            let info = &self.ids.agents[a as usize];
            Clocks {
                ops: u64::from(info.next_seq),
                deletes: u64::from(info.next_del),
            }
        })
    }

    fn apply_diff(
        &mut self,
        d: Decoded,
        origin: Option<Origin>,
        bytes: Option<&[u8]>,
    ) -> Result<ApplyOutcome, DecodeError> {
        let plan = plan::plan(self, &d)?;
        let residual = apply::residual(&d, &plan);
        let applied = {
            let mut tx = Transaction::new(self, origin, false);
            let applied = apply::commit(&mut tx, &d, &plan, false);
            if applied.ops + applied.deletes > 0 {
                tx.remote_update = bytes.map(<[u8]>::to_vec);
            }
            applied
        };
        if let Some(r) = residual {
            self.pending.updates.push(r);
        }
        Ok(ApplyOutcome {
            ops: applied.ops,
            deletes: applied.deletes,
            pending: false,
        })
    }

    /// Retries pending updates until none makes progress. Pending updates that turn out to
    /// contradict the document can never apply and are dropped.
    pub(crate) fn retry_pending(&mut self, origin: Option<Origin>) -> ApplyOutcome {
        let mut total = ApplyOutcome::default();
        loop {
            let updates = std::mem::take(&mut self.pending.updates);
            let mut progress = false;
            for d in updates {
                let Ok(plan) = plan::plan(self, &d) else {
                    continue;
                };
                if plan.steps.is_empty() {
                    // Nothing to do now: keep it unless everything in it is already known.
                    if !plan.complete(&d) {
                        self.pending.updates.push(d);
                    }
                    continue;
                }
                progress = true;
                let residual = apply::residual(&d, &plan);
                let mut tx = Transaction::new(self, origin.clone(), false);
                let applied = apply::commit(&mut tx, &d, &plan, false);
                if tx.doc.observers.update.is_empty() {
                    drop(tx);
                } else {
                    tx.remote_update = Some(encode::encode_decoded(&d));
                    drop(tx);
                }
                total.ops += applied.ops;
                total.deletes += applied.deletes;
                if let Some(r) = residual {
                    self.pending.updates.push(r);
                }
            }
            if !progress {
                return total;
            }
        }
    }

    /// Loads a whole-document encoding into this document, which has no operations yet.
    pub(crate) fn load_snapshot(
        &mut self,
        d: Decoded,
        origin: Option<Origin>,
        bytes: Option<&[u8]>,
    ) -> Result<ApplyOutcome, DecodeError> {
        let plan = plan::plan(self, &d)?;
        if !plan.complete(&d) {
            return Err(inconsistent(
                "whole-document encoding with missing dependencies",
            ));
        }
        // Build into a fresh replica that has the same containers (handles stay valid), then
        // move it in: nothing changes here unless the whole load succeeds.
        let mut fresh = Doc::with_replica_id(self.replica_id());
        for c in &self.containers {
            if let crate::doc::container::ContainerKey::Root(name) = &c.key {
                fresh.root(name, c.kind);
            }
        }
        let mut collected = VecMap::new();
        let (applied, cmap) = {
            let mut tx = Transaction::new(&mut fresh, None, false);
            let applied = apply::commit_collect(&mut tx, &d, &plan, true, Some(&mut collected));
            let cmap = apply::resolve_containers(&mut tx, &d);
            (applied, cmap)
        };
        let mut deleted: Vec<(Lv, Lv)> = fresh
            .dels
            .iter()
            .flat_map(|l| l.runs().iter())
            .map(|r| (r.target, r.target + r.len))
            .collect();
        crate::sort::sort(&mut deleted);
        let mut merged: Vec<(Lv, Lv)> = Vec::with_capacity(deleted.len());
        for (s, e) in deleted {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        let merged: std::sync::Arc<[(Lv, Lv)]> = merged.into();
        let mismatch = || inconsistent("document content does not match its operations");
        for (ci, key) in d.containers.iter().enumerate() {
            let (Some(&c), Some(&(a, b))) = (cmap.get(ci), d.snapshot_content.get(ci)) else {
                continue;
            };
            let fresh_ids = &fresh.ids;
            match (&mut fresh.containers[c as usize].state, key.kind) {
                (State::Text(t), Kind::Text) => {
                    let text = d.text.get(a as usize..b as usize).ok_or_else(mismatch)?;
                    let runs = collected.remove(&c).unwrap_or_default();
                    let len = Len::of_str(text);
                    let mut visible = 0u64;
                    for r in &runs {
                        visible += u64::from(decode::visible_count(&merged, r.lv, r.len));
                    }
                    if visible != u64::from(len.chars) {
                        return Err(mismatch());
                    }
                    *t = LazySeq::from_source(Source {
                        runs,
                        content: text.to_owned(),
                        len,
                        deleted: merged.clone(),
                    });
                }
                (State::List(t), Kind::List) => {
                    let values: Vec<Value> = d
                        .values
                        .iter()
                        .skip(a as usize)
                        .take((b - a) as usize)
                        .map(|e| match e {
                            Elem::Plain(v) => v.clone(),
                            Elem::New(kind) => Value::Container(ContainerRef {
                                kind: *kind,
                                idx: u32::MAX,
                            }),
                        })
                        .collect();
                    t.fill(&merged, &values, fresh_ids)
                        .map_err(|_| mismatch())?;
                }
                _ => {}
            }
        }
        // List elements that create containers.
        let lists: Vec<u32> = (0..fresh.containers.len() as u32)
            .filter(|c| matches!(fresh.containers[*c as usize].state, State::List(_)))
            .collect();
        for c in lists {
            let mut news: Vec<(Lv, Kind)> = Vec::new();
            if let State::List(t) = &mut fresh.containers[c as usize].state {
                t.values_mut(|lv, v| {
                    if let Value::Container(r) = v
                        && r.idx == u32::MAX
                    {
                        news.push((lv, r.kind));
                    }
                });
            }
            let made: Vec<u32> =
                news.into_iter()
                    .map(|(lv, kind)| match fresh.nested_container(lv) {
                        Some(i) => i,
                        None => fresh
                            .add_container(crate::doc::container::ContainerKey::Nested(lv), kind),
                    })
                    .collect();
            // The same walk meets the same placeholders in the same order.
            let mut made = made.into_iter();
            if let State::List(t) = &mut fresh.containers[c as usize].state {
                t.values_mut(|_, v| {
                    if let Value::Container(r) = v
                        && r.idx == u32::MAX
                        && let Some(idx) = made.next()
                    {
                        r.idx = idx;
                    }
                });
            }
        }
        let observers = std::mem::take(&mut self.observers);
        let pending = std::mem::take(&mut self.pending);
        *self = fresh;
        self.observers = observers;
        self.pending = pending;
        // Tell observers what appeared.
        let mut tx = Transaction::new(self, origin, false);
        if let Some(rec) = tx.record.as_mut() {
            let doc = &*tx.doc;
            for (i, c) in doc.containers.iter().enumerate() {
                let i = i as u32;
                match &c.state {
                    State::Text(t) if t.len().chars > 0 => {
                        let mut s = String::new();
                        t.content(&mut s);
                        rec.text.entry(i).or_default().push(SeqEdit::Insert {
                            pos: Len::default(),
                            content: s,
                            lv: 0,
                        });
                    }
                    State::List(t) if t.len().chars > 0 => {
                        let mut v = Vec::new();
                        t.content(&mut v);
                        rec.list.entry(i).or_default().push(SeqEdit::Insert {
                            pos: Len::default(),
                            content: v,
                            lv: 0,
                        });
                    }
                    State::Map(m) => {
                        for (k, r) in m {
                            if let Some(v) = r.get() {
                                rec.key_change(i, k, None, Some(v.clone()));
                            }
                        }
                    }
                    State::Counter(k) if k.value() != 0 => {
                        rec.counters.insert(i, k.value());
                    }
                    State::Set(s) => {
                        for v in s.iter() {
                            rec.set_change(i, v, true);
                        }
                    }
                    State::Register(r) if r.get().is_some() => {
                        rec.register_change(i, None, r.get().cloned());
                    }
                    _ => {}
                }
            }
        }
        if applied.ops + applied.deletes > 0 {
            tx.remote_update = bytes.map(<[u8]>::to_vec);
        }
        drop(tx);
        Ok(ApplyOutcome {
            ops: applied.ops,
            deletes: applied.deletes,
            pending: false,
        })
    }
}

/// Merges updates into one update equivalent to applying them all, without a document of
/// your own. Operations whose dependencies are missing are carried along.
pub fn merge_updates(updates: &[&[u8]]) -> Result<Vec<u8>, DecodeError> {
    let mut doc = Doc::with_replica_id(ReplicaId(0));
    for u in updates {
        doc.apply_update(u)?;
    }
    Ok(doc.encode_state())
}

/// The state vector an update would bring an empty replica to (operations whose dependencies
/// are missing from the update are not counted).
pub fn update_state_vector(update: &[u8]) -> Result<StateVector, DecodeError> {
    // Applying is the one definition of what an empty replica can use: streams that start
    // after operations the update lacks stay pending and are not counted.
    let mut doc = Doc::with_replica_id(ReplicaId(0));
    doc.apply_update(update)?;
    Ok(doc.state_vector())
}

/// The part of `update` that a replica at `sv` lacks, without a document of your own.
pub fn diff_update(update: &[u8], sv: &StateVector) -> Result<Vec<u8>, DecodeError> {
    let mut doc = Doc::with_replica_id(ReplicaId(0));
    doc.apply_update(update)?;
    Ok(doc.encode_diff(sv))
}
