//! Applying a planned update: integrating its operations and deletions into the document, and
//! keeping what could not be integrated yet as the residual.

use super::decode::deleted_intervals;
use super::model::{CName, DBody, DDel, DValue, Decoded, DelStream, Elem, Stream};
use super::plan::{CRef, Plan, Step};
use crate::doc::Transaction;
use crate::doc::container::{ContainerKey, MiscBody, MiscOp, OpValue, SeqKind, State};
use crate::event::SeqEdit;
use crate::id::{Agent, Lv, NO_LV, OpId};
use crate::register::Stamp;
use crate::seq::buf::{Buf, ListBuf, TextBuf};
use crate::seq::integrate::integrate;
use crate::seq::lazy::RawRun;
use crate::seq::tree::Removed;
use crate::span::pieces;
use crate::value::{ContainerRef, Value};
use crate::vecmap::VecMap;

/// Walks a text content range char by char.
struct TextCursor<'a> {
    s: &'a str,
    ascii: bool,
}

impl<'a> TextCursor<'a> {
    fn take(&mut self, n: usize) -> &'a str {
        let b = if self.ascii {
            n.min(self.s.len())
        } else {
            self.s
                .char_indices()
                .nth(n)
                .map_or(self.s.len(), |(b, _)| b)
        };
        // `b` is a char boundary; the checked split keeps the panicking path (and its
        // formatting code) out of the wasm build.
        let (head, tail) = self.s.split_at_checked(b).unwrap_or((self.s, ""));
        self.s = tail;
        head
    }
}

/// Counts of what was integrated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Applied {
    pub(crate) ops: u64,
    pub(crate) deletes: u64,
}

struct Committer<'t, 'd> {
    tx: &'t mut Transaction<'d>,
    d: &'t Decoded,
    deleted: Vec<Vec<(u32, u32)>>,
    tombstones: bool,
    containers: Vec<Option<u32>>,
    /// Whole-document loads: text insert runs collected per container instead of integrated.
    collected: Option<VecMap<u32, Vec<RawRun>>>,
    agents: Vec<Option<Agent>>,
    /// Buffers reused from one operation to the next, so integrating allocates little.
    scratch: Scratch,
}

/// Reusable buffers of a [`Committer`].
#[derive(Default)]
pub(crate) struct Scratch {
    pieces: Vec<(u32, u32, bool)>,
    text: String,
    values: Vec<Value>,
    spans: Vec<(Lv, u32)>,
    removed: Vec<Removed>,
}

impl Committer<'_, '_> {
    fn agent(&mut self, r: u32) -> Agent {
        if let Some(Some(a)) = self.agents.get(r as usize) {
            return *a;
        }
        let a = self.tx.doc.ids.agent(self.d.replicas[r as usize]);
        if let Some(slot) = self.agents.get_mut(r as usize) {
            *slot = Some(a);
        }
        a
    }

    fn lv(&mut self, (r, s): (u32, u32)) -> Lv {
        let a = self.agent(r);
        self.tx.doc.ids.lv_of(a, s).unwrap_or(NO_LV)
    }

    fn container(&mut self, c: u32) -> u32 {
        if let Some(Some(x)) = self.containers.get(c as usize) {
            return *x;
        }
        let key = self.d.containers[c as usize].clone();
        let idx = match &key.name {
            CName::Root(name) => self.tx.doc.root(name, key.kind).idx,
            CName::Nested(id) => {
                let lv = self.lv(*id);
                match self.tx.doc.nested_container(lv) {
                    Some(i) => i,
                    None => self
                        .tx
                        .doc
                        .add_container(ContainerKey::Nested(lv), key.kind),
                }
            }
        };
        if let Some(slot) = self.containers.get_mut(c as usize) {
            *slot = Some(idx);
        }
        idx
    }

    fn value(&mut self, v: &Option<DValue>, lv: Lv) -> (Option<OpValue>, Option<Value>) {
        match v {
            None => (None, None),
            Some(DValue::Plain(v)) => (Some(OpValue::Plain(v.clone())), Some(v.clone())),
            Some(DValue::New(kind)) => {
                let idx = match self.tx.doc.nested_container(lv) {
                    Some(i) => i,
                    None => self.tx.doc.add_container(ContainerKey::Nested(lv), *kind),
                };
                (
                    Some(OpValue::New(*kind)),
                    Some(Value::Container(ContainerRef { kind: *kind, idx })),
                )
            }
        }
    }

    fn op(&mut self, si: usize, oi: usize, start: u32, skip: u32, container: CRef) -> u64 {
        let st: &Stream = &self.d.streams[si];
        let op = &st.ops[oi];
        let agent = self.agent(st.replica);
        let n = op.len - skip;
        let c = match container {
            CRef::Doc(i) => i,
            CRef::Update(i) => self.container(i),
        };
        let doc = &mut *self.tx.doc;
        let lv = doc.ids.assign(agent, n);
        doc.owners.push(lv, n, c);
        let replica = doc.ids.replica(agent);
        match &op.body {
            DBody::Insert {
                ol, or, content, ..
            } => {
                let ol = if skip > 0 {
                    lv - 1
                } else {
                    ol.map_or(NO_LV, |id| self.lv(id))
                };
                let or = or.map_or(NO_LV, |id| self.lv(id));
                if let Some(runs) = self.collected.as_mut()
                    && matches!(self.tx.doc.containers[c as usize].state, State::Text(_))
                {
                    runs.entry(c)
                        .or_default()
                        .push(RawRun { lv, len: n, ol, or });
                    return u64::from(n);
                }
                let iv = self
                    .deleted
                    .get(st.replica as usize)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let mut ps = std::mem::take(&mut self.scratch.pieces);
                pieces(iv, start, op.len, self.tombstones, &mut ps);
                let is_text = matches!(self.tx.doc.containers[c as usize].state, State::Text(_));
                if is_text {
                    let text = self
                        .d
                        .text
                        .get(content.0 as usize..content.1 as usize)
                        .unwrap_or_default();
                    let mut cur = TextCursor {
                        s: text,
                        ascii: text.is_ascii(),
                    };
                    self.insert_pieces::<TextBuf>(c, &ps, skip, lv, ol, or, |n, out| {
                        let s = cur.take(n as usize);
                        if let Some(out) = out {
                            out.push_str(s);
                        }
                    });
                } else {
                    let mut at = content.0 as usize;
                    let d = self.d;
                    self.insert_pieces::<ListBuf>(c, &ps, skip, lv, ol, or, |n, out| {
                        let elems = d.values.iter().skip(at).take(n as usize);
                        at += n as usize;
                        if let Some(out) = out {
                            out.extend(elems.map(|e| match e {
                                Elem::Plain(v) => v.clone(),
                                // Placeholder: `fix_new` creates the container once the
                                // element's local version is known.
                                Elem::New(kind) => Value::Container(ContainerRef {
                                    kind: *kind,
                                    idx: u32::MAX,
                                }),
                            }));
                        }
                    });
                }
                self.scratch.pieces = ps;
            }
            body => {
                let seq = start + skip;
                self.misc(c, lv, replica, seq, op.lamport, body);
            }
        }
        u64::from(n)
    }

    /// Integrates the pieces `ps` of an insert. `content(n, out)` consumes the content of the
    /// next `n` visible elements, appending it to `out` when given.
    #[allow(clippy::too_many_arguments)]
    fn insert_pieces<B: NewElems>(
        &mut self,
        c: u32,
        ps: &[(u32, u32, bool)],
        skip: u32,
        lv: Lv,
        ol: Lv,
        or: Lv,
        mut content: impl FnMut(u32, Option<&mut B::Owned>),
    ) {
        let mut data = std::mem::take(B::scratch(&mut self.scratch));
        for &(off, len, visible) in ps {
            // Content of skipped (already known) elements is consumed but not inserted.
            let end = off + len;
            if end <= skip {
                if visible {
                    content(len, None);
                }
                continue;
            }
            let (from, n) = if off < skip {
                (skip, end - skip)
            } else {
                (off, len)
            };
            if visible && off < skip {
                content(skip - off, None);
            }
            let piece_lv = lv + (from - skip);
            let piece_ol = if from == skip { ol } else { piece_lv - 1 };
            if visible {
                B::clear(&mut data);
                content(n, Some(&mut data));
                B::fix_new(&mut data, piece_lv, self.tx.doc);
            }
            let doc = &mut *self.tx.doc;
            let Some(tree) = B::tree(&mut doc.containers[c as usize].state, &doc.ids) else {
                break;
            };
            let _ = integrate(
                tree,
                piece_lv,
                n,
                piece_ol,
                or,
                visible.then_some(data.as_ref()),
                &doc.ids,
            );
            if visible && let Some(rec) = self.tx.record.as_mut() {
                let pos = tree.position_of(piece_lv).map(|p| p.0).unwrap_or_default();
                B::push_edit(
                    rec,
                    c,
                    SeqEdit::Insert {
                        pos,
                        content: data.clone(),
                        lv: piece_lv,
                    },
                );
            }
        }
        *B::scratch(&mut self.scratch) = data;
    }

    fn misc(
        &mut self,
        c: u32,
        lv: Lv,
        replica: crate::id::ReplicaId,
        seq: u32,
        lamport: u64,
        body: &DBody,
    ) {
        let stamp = Stamp::new(lamport, replica);
        let body = match body {
            DBody::MapSet { key, value } => {
                let (opv, stored) = self.value(value, lv);
                let doc = &mut *self.tx.doc;
                doc.lamport = doc.lamport.max(lamport);
                let mut change = None;
                if let State::Map(m) = &mut doc.containers[c as usize].state {
                    let reg = m.entry(key.clone()).or_default();
                    let old = reg.get().cloned();
                    if reg.apply(stamp, stored.clone()) {
                        change = Some((old, stored));
                    }
                }
                if let (Some(rec), Some((o, n))) = (self.tx.record.as_mut(), change) {
                    rec.key_change(c, key, o, n);
                }
                MiscBody::MapSet {
                    key: key.clone(),
                    value: opv,
                }
            }
            DBody::RegisterSet(value) => {
                let (opv, stored) = self.value(value, lv);
                let doc = &mut *self.tx.doc;
                doc.lamport = doc.lamport.max(lamport);
                let mut change = None;
                if let State::Register(r) = &mut doc.containers[c as usize].state {
                    let old = r.get().cloned();
                    if r.apply(stamp, stored.clone()) {
                        change = Some((old, stored));
                    }
                }
                if let (Some(rec), Some((o, n))) = (self.tx.record.as_mut(), change) {
                    rec.register_change(c, o, n);
                }
                MiscBody::RegisterSet(opv)
            }
            DBody::CounterAdd(delta) => {
                if let State::Counter(k) = &mut self.tx.doc.containers[c as usize].state {
                    k.add(replica, *delta);
                }
                if let Some(rec) = self.tx.record.as_mut() {
                    let sum = rec.counters.entry(c).or_default();
                    *sum = sum.wrapping_add(*delta);
                }
                MiscBody::CounterAdd(*delta)
            }
            DBody::SetAdd(v) => {
                let mut became = false;
                if let State::Set(s) = &mut self.tx.doc.containers[c as usize].state {
                    became = s.apply_add((replica, u64::from(seq)), v.clone());
                }
                if became && let Some(rec) = self.tx.record.as_mut() {
                    rec.set_change(c, v, true);
                }
                MiscBody::SetAdd(v.clone())
            }
            DBody::SetRemove { value, dots } => {
                let ids: Vec<(crate::id::ReplicaId, u64)> = dots
                    .iter()
                    .map(|(r, s)| (self.d.replicas[*r as usize], u64::from(*s)))
                    .collect();
                let lvs: Vec<Lv> = ids
                    .iter()
                    .filter_map(|(r, s)| self.tx.doc.ids.lv_of_id(OpId::new(*r, *s)))
                    .collect();
                let mut gone = false;
                if let State::Set(s) = &mut self.tx.doc.containers[c as usize].state {
                    gone = s.apply_remove(value, &ids);
                }
                if gone && let Some(rec) = self.tx.record.as_mut() {
                    rec.set_change(c, value, false);
                }
                MiscBody::SetRemove {
                    value: value.clone(),
                    dots: lvs,
                }
            }
            DBody::Insert { .. } => return,
        };
        self.tx.doc.misc.insert(
            lv,
            MiscOp {
                container: c,
                lamport,
                body,
            },
        );
    }

    fn del(&mut self, di: usize, ri: usize, dseq: u32, from: u32, to: u32) -> u64 {
        let ds: &DelStream = &self.d.dels[di];
        let run: DDel = ds.runs[ri];
        let deleter = self.agent(ds.replica);
        let target_agent = self.agent(run.target.0);
        let (ts, len) = (run.target.1, run.len);
        // Target sequence numbers to delete, ascending.
        let (lo, hi) = if run.rev {
            (ts + len - to, ts + len - from)
        } else {
            (ts + from, ts + to)
        };
        // Split into stretches with consecutive local versions within one container.
        let mut spans = std::mem::take(&mut self.scratch.spans);
        spans.clear();
        let mut s = lo;
        while s < hi {
            let Some((lv, m)) = self.tx.doc.ids.lv_span(target_agent, s, hi - s) else {
                break;
            };
            let m = match self.tx.doc.owners.run(lv) {
                Some(o) => m.min(o.lv + o.len - lv),
                None => m,
            };
            spans.push((lv, m));
            s += m;
        }
        if run.rev {
            spans.reverse();
        }
        let recording = self.tx.record.is_some();
        let mut next = dseq + from;
        let mut removed = std::mem::take(&mut self.scratch.removed);
        for &(lv, m) in &spans {
            let doc = &mut *self.tx.doc;
            if !self.tombstones
                && let Some(c) = doc.owners.get(lv)
            {
                removed.clear();
                match &mut doc.containers[c as usize].state {
                    State::Text(t) => {
                        let t = t.get_mut(&doc.ids);
                        let mut out = String::new();
                        let r = t.delete_lvs(
                            lv,
                            lv + m,
                            &mut removed,
                            recording.then_some(&mut out),
                            recording,
                            &doc.ids,
                        );
                        debug_assert!(
                            r.is_ok(),
                            "planned deletion of unknown elements {lv}..{}",
                            lv + m
                        );
                        if let Some(rec) = self.tx.record.as_mut() {
                            record_removed::<TextBuf>(&mut rec.text, c, &removed, &out);
                        }
                    }
                    State::List(t) => {
                        let mut out = Vec::new();
                        let r = t.delete_lvs(
                            lv,
                            lv + m,
                            &mut removed,
                            recording.then_some(&mut out),
                            recording,
                            &doc.ids,
                        );
                        debug_assert!(
                            r.is_ok(),
                            "planned deletion of unknown elements {lv}..{}",
                            lv + m
                        );
                        if let Some(rec) = self.tx.record.as_mut() {
                            record_removed::<ListBuf>(&mut rec.list, c, &removed, &out);
                        }
                    }
                    _ => {}
                }
            }
            self.tx.doc.log_deletion(deleter, next, lv, m, run.rev);
            next += m;
        }
        self.scratch.spans = spans;
        self.scratch.removed = removed;
        u64::from(to - from)
    }
}

fn record_removed<B: Buf>(
    edits: &mut VecMap<u32, Vec<SeqEdit<B::Owned>>>,
    c: u32,
    removed: &[Removed],
    content: &B::Owned,
) {
    let list = edits.entry(c).or_default();
    let mut consumed = 0usize;
    for r in removed {
        let mut owned = B::Owned::default();
        B::extend_owned(
            &mut owned,
            B::sub_slice(content.as_ref(), consumed, r.n as usize),
        );
        consumed += r.n as usize;
        list.push(SeqEdit::Delete {
            pos: r.pos,
            len: r.len,
            content: owned,
            lv: r.lv,
            n: r.n,
        });
    }
}

/// Gives list elements that create containers (decoded as placeholders) their containers,
/// keyed by each element's local version. Text has no such elements.
pub(crate) trait NewElems: SeqKind {
    fn fix_new(v: &mut Self::Owned, lv: Lv, doc: &mut crate::doc::Doc);
    /// The committer's reusable buffer for this kind of content.
    fn scratch(s: &mut Scratch) -> &mut Self::Owned;
    /// Empties `v`, keeping its capacity.
    fn clear(v: &mut Self::Owned);
}

impl NewElems for TextBuf {
    fn fix_new(_v: &mut String, _lv: Lv, _doc: &mut crate::doc::Doc) {}
    fn scratch(s: &mut Scratch) -> &mut String {
        &mut s.text
    }
    fn clear(v: &mut String) {
        v.clear();
    }
}

impl NewElems for ListBuf {
    fn scratch(s: &mut Scratch) -> &mut Vec<Value> {
        &mut s.values
    }
    fn clear(v: &mut Vec<Value>) {
        v.clear();
    }
    fn fix_new(v: &mut Vec<Value>, lv: Lv, doc: &mut crate::doc::Doc) {
        for (i, x) in v.iter_mut().enumerate() {
            if let Value::Container(r) = x
                && r.idx == u32::MAX
            {
                let elem = lv + i as u32;
                let idx = match doc.nested_container(elem) {
                    Some(i) => i,
                    None => doc.add_container(ContainerKey::Nested(elem), r.kind),
                };
                *x = Value::Container(ContainerRef { kind: r.kind, idx });
            }
        }
    }
}

/// Integrates the planned steps of `d`. With `tombstones`, every inserted element goes in as a
/// tombstone (whole-document loads fill content in afterwards).
pub(crate) fn commit(
    tx: &mut Transaction<'_>,
    d: &Decoded,
    plan: &Plan,
    tombstones: bool,
) -> Applied {
    commit_collect(tx, d, plan, tombstones, None)
}

/// [`commit`] that, when `collected` is given, collects text insert runs per container instead
/// of integrating them (whole-document loads build text trees lazily).
pub(crate) fn commit_collect(
    tx: &mut Transaction<'_>,
    d: &Decoded,
    plan: &Plan,
    tombstones: bool,
    collected: Option<&mut VecMap<u32, Vec<RawRun>>>,
) -> Applied {
    let deleted = if tombstones {
        Vec::new()
    } else {
        deleted_intervals(d)
    };
    let mut c = Committer {
        tx,
        d,
        deleted,
        tombstones,
        containers: vec![None; d.containers.len()],
        collected: collected.as_ref().map(|_| VecMap::new()),
        agents: vec![None; d.replicas.len()],
        scratch: Scratch::default(),
    };
    let collected_out = collected;
    let mut applied = Applied::default();
    for step in &plan.steps {
        match *step {
            Step::Op {
                stream,
                op,
                start,
                skip,
                container,
            } => applied.ops += c.op(stream, op, start, skip, container),
            Step::Del {
                stream,
                run,
                dseq,
                from,
                to,
            } => applied.deletes += c.del(stream, run, dseq, from, to),
        }
    }
    if let (Some(out), Some(got)) = (collected_out, c.collected.take()) {
        *out = got;
    }
    // Resolve every container the update names (roots named by an update exist afterwards).
    for i in 0..d.containers.len() as u32 {
        let _ = c.container(i);
    }
    applied
}

/// The doc-level container index of each update container (after `commit`).
pub(crate) fn resolve_containers(tx: &mut Transaction<'_>, d: &Decoded) -> Vec<u32> {
    let mut c = Committer {
        tx,
        d,
        deleted: Vec::new(),
        tombstones: true,
        containers: vec![None; d.containers.len()],
        collected: None,
        agents: vec![None; d.replicas.len()],
        scratch: Scratch::default(),
    };
    (0..d.containers.len() as u32)
        .map(|i| c.container(i))
        .collect()
}

/// What could not be integrated: the remaining operations and deletions, as an update of its
/// own (diff layout), or `None` when everything was integrated.
pub(crate) fn residual(d: &Decoded, plan: &Plan) -> Option<Decoded> {
    if plan.complete(d) {
        return None;
    }
    let mut out = Decoded {
        replicas: d.replicas.clone(),
        containers: d.containers.clone(),
        ..Decoded::default()
    };
    for (si, st) in d.streams.iter().enumerate() {
        let stop = plan.op_stop.get(si).copied().unwrap_or(0);
        if stop >= st.ops.len() {
            continue;
        }
        let start: u32 = st.start + st.ops.iter().take(stop).map(|o| o.len).sum::<u32>();
        let mut ops = Vec::new();
        for op in st.ops.iter().skip(stop) {
            let mut op = op.clone();
            if let DBody::Insert { content, list, .. } = &mut op.body {
                if !*list {
                    let s = d
                        .text
                        .get(content.0 as usize..content.1 as usize)
                        .unwrap_or_default();
                    let b = out.text.len() as u32;
                    out.text.push_str(s);
                    *content = (b, out.text.len() as u32);
                } else {
                    let b = out.values.len() as u32;
                    out.values.extend(
                        d.values
                            .iter()
                            .skip(content.0 as usize)
                            .take((content.1 - content.0) as usize)
                            .cloned(),
                    );
                    *content = (b, out.values.len() as u32);
                }
            }
            ops.push(op);
        }
        out.streams.push(Stream {
            replica: st.replica,
            start,
            ops,
        });
    }
    out.dels = plan.del_rest.clone();
    Some(out)
}
