//! Encoding updates and whole documents (docs/FORMAT.md): [`collect`] gathers what to send from
//! a document into the same model the decoder produces, and [`write`] serializes that model in
//! the row layout (small updates) or the columnar layout (everything else).

use super::format;
use super::model::{
    CKey, CName, DBody, DDel, DOp, DValue, Decoded, DelStream, Elem, IMPLIED, RId, Stream,
};
use super::predict::Predictor;
use crate::doc::Doc;
use crate::doc::container::{ContainerKey, MiscBody, OpValue, State};
use crate::encoding::Writer;
use crate::id::{Agent, Lv, NO_LV};
use crate::seq::buf::Buf;
use crate::seq::tree::SeqTree;
use crate::value::{Kind, Value};

/// Clock ranges to encode: `(agent, from, to)` for operations and for deletions.
#[derive(Clone, Debug, Default)]
pub(crate) struct Ranges {
    pub(crate) ops: Vec<(Agent, u32, u32)>,
    pub(crate) dels: Vec<(Agent, u32, u32)>,
}

impl Ranges {
    /// Everything the document holds, in replica-id order.
    pub(crate) fn all(doc: &Doc) -> Ranges {
        let mut r = Ranges::default();
        for (a, info) in doc.ids.agents_by_replica() {
            if info.next_seq > 0 {
                r.ops.push((a as Agent, 0, info.next_seq));
            }
            let end = doc.del_end(a as Agent);
            if end > 0 {
                r.dels.push((a as Agent, 0, end));
            }
        }
        r
    }
}

const UNSET: u32 = u32::MAX;

/// Gathers operations and deletions of a document into a [`Decoded`] model. Ids, merging of
/// runs and the order of everything depend only on the operations, never on local versions, so
/// every replica holding the same operations produces the same model (and bytes).
struct Collector<'a> {
    doc: &'a Doc,
    snapshot: bool,
    ridx: Vec<u32>,
    cidx: Vec<u32>,
    d: Decoded,
    /// The insert being accumulated.
    pending: Option<PendingInsert>,
    ops: Vec<DOp>,
}

/// An insert being accumulated from tree run pieces.
struct PendingInsert {
    op: DOp,
    /// Document container index.
    container: u32,
    /// Sequence number of the first element.
    start: u32,
    /// Local version of the last element (elements need not have consecutive local versions).
    last: Lv,
    /// Right origin, as a local version.
    or: Lv,
}

impl<'a> Collector<'a> {
    fn replica(&mut self, agent: Agent) -> u32 {
        let slot = &mut self.ridx[agent as usize];
        if *slot == UNSET {
            *slot = self.d.replicas.len() as u32;
            self.d.replicas.push(self.doc.ids.replica(agent));
        }
        *slot
    }

    fn rid(&mut self, lv: Lv) -> RId {
        let (agent, seq) = self.doc.ids.id_of(lv).unwrap_or((0, 0));
        (self.replica(agent), seq)
    }

    fn container(&mut self, c: u32) -> u32 {
        if self.cidx[c as usize] == UNSET {
            let cont = &self.doc.containers[c as usize];
            let name = match &cont.key {
                ContainerKey::Root(name) => CName::Root(name.clone()),
                ContainerKey::Nested(lv) => CName::Nested(self.rid(*lv)),
            };
            self.cidx[c as usize] = self.d.containers.len() as u32;
            self.d.containers.push(CKey {
                kind: cont.kind,
                name,
            });
        }
        self.cidx[c as usize]
    }

    fn flush(&mut self) {
        if let Some(p) = self.pending.take() {
            self.ops.push(p.op);
        }
    }

    /// Adds insert elements `lv..lv+n` (one tree run piece) with sequence numbers from `seq`;
    /// merges with the insert being accumulated when the ids and origins continue it.
    #[allow(clippy::too_many_arguments)]
    fn insert_piece(
        &mut self,
        container: u32,
        list: bool,
        lv: Lv,
        n: u32,
        ol: Lv,
        or: Lv,
        seq: u32,
    ) {
        if let Some(p) = &mut self.pending
            && p.container == container
            && p.start + p.op.len == seq
            && ol == p.last
            && or == p.or
        {
            p.op.len += n;
            p.last = lv + n - 1;
            return;
        }
        self.flush();
        let c = self.container(container);
        let ol_id = (ol != NO_LV).then(|| self.rid(ol));
        let or_id = (or != NO_LV).then(|| self.rid(or));
        let op = DOp {
            container: c,
            len: n,
            lamport: 0,
            body: DBody::Insert {
                ol: ol_id,
                or: or_id,
                content: (0, 0),
                list,
            },
        };
        self.pending = Some(PendingInsert {
            op,
            container,
            start: seq,
            last: lv + n - 1,
            or,
        });
    }
}

/// Gathers the ranges of `doc` into a model ready for [`write`].
pub(crate) fn collect(doc: &Doc, ranges: &Ranges, snapshot: bool) -> Decoded {
    let mut c = Collector {
        doc,
        snapshot,
        ridx: vec![UNSET; doc.ids.agents.len()],
        cidx: vec![UNSET; doc.containers.len()],
        d: Decoded {
            snapshot,
            ..Decoded::default()
        },
        pending: None,
        ops: Vec::new(),
    };
    for &(agent, from, to) in &ranges.ops {
        if from < to {
            let r = c.replica(agent);
            collect_stream(&mut c, agent, from, to);
            let ops = std::mem::take(&mut c.ops);
            c.d.streams.push(Stream {
                replica: r,
                start: from,
                ops,
            });
        }
    }
    for &(agent, from, to) in &ranges.dels {
        collect_dels(&mut c, agent, from, to);
    }
    if snapshot {
        for i in 0..c.d.containers.len() {
            let Some(idx) = c.cidx.iter().position(|x| *x == i as u32) else {
                continue;
            };
            let range = match &doc.containers[idx].state {
                State::Text(t) => {
                    let before = c.d.text.len() as u32;
                    t.content(&mut c.d.text);
                    (before, c.d.text.len() as u32)
                }
                State::List(t) => {
                    let mut vals = Vec::new();
                    t.content(&mut vals);
                    let before = c.d.values.len() as u32;
                    c.d.values.extend(vals.into_iter().map(elem_of));
                    (before, c.d.values.len() as u32)
                }
                _ => (0, 0),
            };
            c.d.snapshot_content.push(range);
        }
    }
    c.d
}

fn elem_of(v: Value) -> Elem {
    match v {
        // A list element that is a container was created by that element: it travels as "new".
        Value::Container(r) => Elem::New(r.kind),
        v => Elem::Plain(v),
    }
}

#[allow(clippy::too_many_arguments)]
fn collect_seq<B: Buf>(
    c: &mut Collector<'_>,
    tree: &SeqTree<B>,
    container: u32,
    list: bool,
    mut lv: Lv,
    end: Lv,
    mut seq: u32,
    content: &mut B::Owned,
) {
    while lv < end {
        let Ok((leaf, k, off)) = tree.locate(lv) else {
            return;
        };
        let run = tree.leaves[leaf as usize].runs[k];
        let take = (end - lv).min(run.len() - off);
        c.insert_piece(
            container,
            list,
            lv,
            take,
            run.origin_left_at(off),
            run.or,
            seq,
        );
        if !run.deleted() && !c.snapshot {
            tree.run_content(leaf, k, off, take, content);
        }
        lv += take;
        seq += take;
    }
}

fn collect_stream(c: &mut Collector<'_>, agent: Agent, from: u32, to: u32) {
    let doc = c.doc;
    let mut seq = from;
    while seq < to {
        let Some((lv, n)) = doc.ids.lv_span(agent, seq, to - seq) else {
            break;
        };
        let end = lv + n;
        let mut cur = lv;
        while cur < end {
            let Some(owner) = doc.owners.run(cur) else {
                break;
            };
            let chunk_end = end.min(owner.lv + owner.len);
            let s = seq + (cur - lv);
            match &doc.containers[owner.container as usize].state {
                State::Text(t) => {
                    let mut text = std::mem::take(&mut c.d.text);
                    collect_seq(
                        c,
                        t.get(&doc.ids),
                        owner.container,
                        false,
                        cur,
                        chunk_end,
                        s,
                        &mut text,
                    );
                    c.d.text = text;
                }
                State::List(t) => {
                    let mut vals: Vec<Value> = Vec::new();
                    collect_seq(c, t, owner.container, true, cur, chunk_end, s, &mut vals);
                    c.d.values.extend(vals.into_iter().map(elem_of));
                }
                _ => {
                    for x in cur..chunk_end {
                        c.flush();
                        collect_misc(c, x);
                    }
                }
            }
            cur = chunk_end;
        }
        seq += n;
    }
    c.flush();
}

fn op_value(v: &Option<OpValue>) -> Option<DValue> {
    v.as_ref().map(|v| match v {
        OpValue::Plain(v) => DValue::Plain(v.clone()),
        OpValue::New(k) => DValue::New(*k),
    })
}

fn collect_misc(c: &mut Collector<'_>, lv: Lv) {
    let doc = c.doc;
    let Some(op) = doc.misc.get(&lv) else {
        return;
    };
    let container = c.container(op.container);
    let body = match &op.body {
        MiscBody::MapSet { key, value } => DBody::MapSet {
            key: key.clone(),
            value: op_value(value),
        },
        MiscBody::CounterAdd(d) => DBody::CounterAdd(*d),
        MiscBody::SetAdd(v) => DBody::SetAdd(v.clone()),
        MiscBody::SetRemove { value, dots } => DBody::SetRemove {
            value: value.clone(),
            dots: dots.iter().map(|d| c.rid(*d)).collect(),
        },
        MiscBody::RegisterSet(value) => DBody::RegisterSet(op_value(value)),
    };
    c.ops.push(DOp {
        container,
        len: 1,
        lamport: op.lamport,
        body,
    });
}

fn collect_dels(c: &mut Collector<'_>, agent: Agent, from: u32, to: u32) {
    if from >= to {
        return;
    }
    let doc = c.doc;
    let me = c.replica(agent);
    let Some(log) = doc.dels.get(agent as usize) else {
        return;
    };
    // One stream per gap-free stretch of the log; runs merged by ids (not local versions).
    let mut stream: Option<DelStream> = None;
    let mut next = 0u32;
    for run in log.slice(from, to) {
        let (tagent, tseq) = doc.ids.id_of(run.target).unwrap_or((agent, 0));
        let tr = c.replica(tagent);
        if stream.as_ref().is_some_and(|_| next != run.dseq)
            && let Some(s) = stream.take()
        {
            c.d.dels.push(s);
        }
        let s = stream.get_or_insert_with(|| DelStream {
            replica: me,
            start: run.dseq,
            runs: Vec::new(),
        });
        next = run.dseq + run.len;
        let (rev, len) = (run.rev, run.len);
        match s.runs.last_mut() {
            Some(last)
                if last.target.0 == tr
                    && (!last.rev || last.len == 1)
                    && !rev
                    && last.target.1 + last.len == tseq =>
            {
                last.len += len;
                last.rev = false;
            }
            Some(last)
                if last.target.0 == tr
                    && (last.rev || last.len == 1)
                    && (rev || len == 1)
                    && tseq + len == last.target.1 =>
            {
                last.target.1 = tseq;
                last.len += len;
                last.rev = true;
            }
            _ => s.runs.push(DDel {
                target: (tr, tseq),
                len,
                rev,
            }),
        }
    }
    if let Some(s) = stream {
        c.d.dels.push(s);
    }
}

// ---------------------------------------------------------------------------------- writing

/// A run-length column: `(value, count)` pairs.
struct RleColumn<T: PartialEq + Copy> {
    w: Writer,
    cur: Option<(T, u64)>,
    put: fn(&mut Writer, T),
}

impl<T: PartialEq + Copy> RleColumn<T> {
    fn new(put: fn(&mut Writer, T)) -> Self {
        Self {
            w: Writer::new(),
            cur: None,
            put,
        }
    }

    fn push(&mut self, v: T) {
        match &mut self.cur {
            Some((x, n)) if *x == v => *n += 1,
            _ => {
                self.flush();
                self.cur = Some((v, 1));
            }
        }
    }

    fn flush(&mut self) {
        if let Some((v, n)) = self.cur.take() {
            (self.put)(&mut self.w, v);
            self.w.varint(n);
        }
    }

    fn finish(mut self) -> Writer {
        self.flush();
        self.w
    }
}

/// An id as one number: `ridx + nrep·seq` (docs/FORMAT.md, "Origins").
fn id_code(id: RId, nrep: u64) -> u64 {
    u64::from(id.0) + nrep * u64::from(id.1)
}

/// The left-origin code of an insert by replica index `me` whose first element has sequence
/// number `seq`, and the id that follows it for code 1.
fn left_code(me: u32, seq: u32, ol: Option<RId>, nrep: u64) -> (u64, Option<u64>) {
    match ol {
        None => (0, None),
        Some((r, t)) if r == me && t < seq => (2 + u64::from(seq - 1 - t), None),
        Some(id) => (1, Some(id_code(id, nrep))),
    }
}

/// The code of an explicit right origin.
fn right_code(or: Option<RId>, nrep: u64) -> u64 {
    or.map_or(0, |id| 1 + id_code(id, nrep))
}

fn write_dvalue(w: &mut Writer, v: &Option<DValue>) {
    match v {
        None => w.u8(format::V_NONE),
        Some(DValue::Plain(v)) => v.write(w),
        Some(DValue::New(kind)) => {
            w.u8(format::V_NEW);
            w.u8(kind.tag());
        }
    }
}

fn write_elem(w: &mut Writer, e: &Elem) {
    match e {
        Elem::Plain(v) => v.write(w),
        Elem::New(k) => {
            w.u8(format::V_NEW);
            w.u8(k.tag());
        }
    }
}

fn write_payload(w: &mut Writer, body: &DBody) {
    match body {
        DBody::Insert { .. } => {}
        DBody::MapSet { key, value } => {
            w.str(key);
            write_dvalue(w, value);
        }
        DBody::CounterAdd(x) => w.varint_i64(*x),
        DBody::SetAdd(v) => v.write(w),
        DBody::SetRemove { value, dots } => {
            value.write(w);
            w.varint(dots.len() as u64);
            for (r, t) in dots {
                w.varint(u64::from(*r));
                w.varint(u64::from(*t));
            }
        }
        DBody::RegisterSet(value) => write_dvalue(w, value),
    }
}

/// Whether text blocks are compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effort {
    /// The smallest output: documents, diffs and merged updates.
    Best,
    /// Text as it is: a transaction's own update event, made on every edit, where the
    /// compressor's time (about 40 ns a byte) and tables (up to 200 KiB) would cost more than the
    /// bytes saved on a paste; the relay's compaction compresses it later.
    Plain,
}

fn write_text_block(b: &mut Writer, text: &str, effort: Effort) {
    if effort == Effort::Best && text.len() >= format::COMPRESS_MIN {
        let comp = crate::encoding::lz4::compress(text.as_bytes());
        if comp.len() + 8 < text.len() {
            b.u8(1);
            b.varint(text.len() as u64);
            b.bytes(&comp);
            return;
        }
    }
    b.u8(0);
    b.str(text);
}

fn write_tables(b: &mut Writer, d: &Decoded, containers: &[usize]) {
    b.varint(d.replicas.len() as u64);
    for r in &d.replicas {
        b.varint(r.0);
    }
    for (n, &i) in containers.iter().enumerate() {
        let Some(c) = d.containers.get(i) else {
            continue;
        };
        let last = if n + 1 == containers.len() {
            format::C_LAST
        } else {
            0
        };
        match &c.name {
            CName::Root(name) => {
                b.u8(c.kind.tag() | last);
                b.str(name);
            }
            CName::Nested((r, s)) => {
                b.u8(c.kind.tag() | format::C_NESTED | last);
                b.varint(u64::from(*r));
                b.varint(u64::from(*s));
            }
        }
    }
}

/// Writes a stream's replica index (omitted when the update names a single replica).
fn stream_replica(b: &mut Writer, d: &Decoded, r: u32) {
    if d.replicas.len() != 1 {
        b.varint(u64::from(r));
    }
}

fn write_dels(b: &mut Writer, d: &Decoded) {
    b.varint(d.dels.len() as u64);
    let mut runs = Writer::new();
    for ds in &d.dels {
        stream_replica(b, d, ds.replica);
        b.varint(u64::from(ds.start));
        b.varint(u64::from(ds.runs.iter().map(|r| r.len).sum::<u32>()));
        b.varint(ds.runs.len() as u64);
        let mut prev = 0i64;
        for r in &ds.runs {
            let rev = r.rev && r.len > 1;
            if r.target.0 != ds.replica {
                runs.varint(u64::from(r.target.1) << 3 | format::D_OTHER);
                runs.varint(u64::from(r.target.0));
                runs.varint(u64::from(r.len) << 1 | u64::from(rev));
                continue;
            }
            let delta = crate::encoding::zigzag(i64::from(r.target.1) - prev) << 3;
            prev = i64::from(r.target.1);
            match r.len {
                1 => runs.varint(delta),
                2 | 3 => runs.varint(delta | u64::from(r.len - 1) << 1 | u64::from(rev)),
                len => {
                    runs.varint(delta | format::D_LONG | u64::from(rev));
                    runs.varint(u64::from(len));
                }
            }
        }
    }
    b.bytes(runs.as_slice());
}

/// Wraps a body in the envelope: magic and version, flags, and a CRC-32 of the body when asked.
fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Writer::new();
    out.u8(format::MAGIC | format::VERSION);
    out.u8(flags);
    if flags & format::F_CHECKSUM != 0 {
        out.u32_le(crate::encoding::crc32(body));
    }
    out.raw(body);
    out.into_bytes()
}

/// Visible content per insert, in operation order, as `(stream, op) → range` in the content
/// block; derived from the model's deletions exactly as the decoder does.
fn content_cursor(d: &Decoded) -> (Vec<Vec<(u32, u32)>>, bool) {
    let deleted = super::decode::deleted_intervals(d);
    let mut out = Vec::with_capacity(d.streams.len());
    let (mut tpos, mut vpos) = (0usize, 0u32);
    let text = d.text.as_str();
    let mut ok = true;
    for s in &d.streams {
        let empty = Vec::new();
        let iv = deleted.get(s.replica as usize).unwrap_or(&empty);
        let mut seq = s.start;
        let mut v = Vec::with_capacity(s.ops.len());
        for op in &s.ops {
            let range = match op.body {
                DBody::Insert { list: false, .. } if !d.snapshot => {
                    let n = super::decode::visible_count(iv, seq, op.len) as usize;
                    let rest = text.get(tpos..).unwrap_or_default();
                    let b = rest.char_indices().nth(n).map_or(rest.len(), |(b, _)| b);
                    if rest.chars().take(n).count() < n {
                        ok = false;
                    }
                    let r = (tpos as u32, (tpos + b) as u32);
                    tpos += b;
                    r
                }
                DBody::Insert { list: true, .. } if !d.snapshot => {
                    let n = super::decode::visible_count(iv, seq, op.len);
                    let r = (vpos, vpos + n);
                    vpos += n;
                    r
                }
                _ => (0, 0),
            };
            v.push(range);
            seq += op.len;
        }
        out.push(v);
    }
    (
        out,
        ok && (d.snapshot || (tpos == text.len() && vpos as usize == d.values.len())),
    )
}

/// The containers referenced by ops written with an explicit index (rows) or by any op
/// (columns), with nested-container keys, in table order.
fn used_containers(d: &Decoded, rows: bool) -> Vec<usize> {
    let mut used = vec![false; d.containers.len()];
    for s in &d.streams {
        let mut prev = IMPLIED;
        for op in &s.ops {
            let implied_ok = rows
                && match op.body {
                    DBody::Insert { ol, or, .. } => ol.is_some() || or.is_some(),
                    _ => prev == op.container && prev != IMPLIED,
                };
            if op.container != IMPLIED
                && !implied_ok
                && let Some(u) = used.get_mut(op.container as usize)
            {
                *u = true;
            }
            // Mirror the reader: after an insert written with an implied container, the next
            // operation cannot imply "the previous one's".
            let implied_insert = implied_ok && matches!(op.body, DBody::Insert { .. });
            prev = if implied_insert || op.container == IMPLIED {
                IMPLIED
            } else {
                op.container
            };
        }
    }
    if d.snapshot {
        used.iter_mut().for_each(|u| *u = true);
    }
    (0..used.len()).filter(|i| used[*i]).collect()
}

/// Serializes a model in the columnar layout (`None` when it has implied containers, which
/// only the row layout can express).
fn write_columns(d: &Decoded, checksum: bool, effort: Effort) -> Option<Vec<u8>> {
    if d.streams
        .iter()
        .any(|s| s.ops.iter().any(|o| o.container == IMPLIED))
    {
        return None;
    }
    let containers = used_containers(d, false);
    let has_dels = !d.dels.is_empty();
    let mut sections = 0u8;
    if !containers.is_empty() {
        sections |= format::S_CONTAINERS;
    }
    if has_dels {
        sections |= format::S_DELETES;
    }
    if !d.text.is_empty() {
        sections |= format::S_TEXT;
    }
    if !d.values.is_empty() {
        sections |= format::S_VALUES;
    }
    if !d.extra.is_empty() {
        sections |= format::S_EXTRA;
    }
    let remap = |c: u32| {
        containers
            .iter()
            .position(|x| *x == c as usize)
            .unwrap_or(0) as u32
    };
    let mut b = Writer::new();
    write_tables(&mut b, d, &containers);
    b.varint(d.streams.len() as u64);
    for s in &d.streams {
        stream_replica(&mut b, d, s.replica);
        b.varint(u64::from(s.start));
        b.varint(s.ops.len() as u64);
        b.varint(u64::from(s.end() - s.start));
    }
    let mut kinds: RleColumn<u8> = RleColumn::new(|w, v| w.u8(v));
    let mut conts: RleColumn<u32> = RleColumn::new(|w, v| w.varint(u64::from(v)));
    let (mut inserts, mut rights, mut lamports, mut payloads) =
        (Writer::new(), Writer::new(), Writer::new(), Writer::new());
    let mut lamport = 0u64;
    let nrep = d.replicas.len() as u64;
    let nins = d
        .streams
        .iter()
        .flat_map(|s| &s.ops)
        .filter(|o| o.body.tag().is_insert());
    let mut predictor = Predictor::with_capacity(nins.count());
    // Inserts since the last one written in `rights`.
    let mut gap = 0u64;
    for s in &d.streams {
        let mut seq = s.start;
        for op in &s.ops {
            kinds.push(op.body.tag() as u8);
            conts.push(remap(op.container));
            match &op.body {
                DBody::Insert { ol, or, .. } => {
                    let (code, id) = left_code(s.replica, seq, *ol, nrep);
                    let len = u64::from(op.len);
                    let small = (len - 1).min(format::INSERT_LEN_ESCAPE);
                    inserts.varint(code << format::INSERT_LEN_BITS | small);
                    if small == format::INSERT_LEN_ESCAPE {
                        inserts.varint(len);
                    }
                    if let Some(id) = id {
                        inserts.varint(id);
                    }
                    if predictor.predict(*ol) == *or {
                        gap += 1;
                    } else {
                        rights.varint(gap);
                        rights.varint(right_code(*or, nrep));
                        gap = 0;
                    }
                    let first = (s.replica, seq);
                    predictor.record(*ol, first, (s.replica, seq + op.len - 1), *or);
                }
                body => {
                    if body.tag().has_lamport() {
                        lamports.varint_i64(op.lamport as i64 - lamport as i64);
                        lamport = op.lamport;
                    }
                    write_payload(&mut payloads, body);
                }
            }
            seq += op.len;
        }
    }
    for col in [
        &kinds.finish(),
        &conts.finish(),
        &inserts,
        &rights,
        &lamports,
        &payloads,
    ] {
        b.bytes(col.as_slice());
    }
    if has_dels {
        write_dels(&mut b, d);
    }
    if !d.text.is_empty() {
        write_text_block(&mut b, &d.text, effort);
    }
    if !d.values.is_empty() {
        b.varint(d.values.len() as u64);
        for e in &d.values {
            write_elem(&mut b, e);
        }
    }
    if d.snapshot {
        for (i, c) in d.containers.iter().enumerate() {
            if matches!(c.kind, Kind::Text | Kind::List) {
                let (a, z) = d.snapshot_content.get(i).copied().unwrap_or((0, 0));
                b.varint(u64::from(z - a));
            }
        }
    }
    write_extras(&mut b, d);
    let mut flags = sections | if d.snapshot { format::F_SNAPSHOT } else { 0 };
    if checksum {
        flags |= format::F_CHECKSUM;
    }
    Some(frame(flags, b.as_slice()))
}

fn write_extras(b: &mut Writer, d: &Decoded) {
    if !d.extra.is_empty() {
        b.varint(d.extra.len() as u64);
        for e in &d.extra {
            b.bytes(&write(e, false, Effort::Best));
        }
    }
}

/// Serializes a (non-snapshot) model in the row layout.
fn write_rows(d: &Decoded, checksum: bool) -> Vec<u8> {
    let containers = used_containers(d, true);
    let (ranges, _) = content_cursor(d);
    let mut sections = 0u8;
    if !containers.is_empty() {
        sections |= format::S_CONTAINERS;
    }
    if !d.dels.is_empty() {
        sections |= format::S_DELETES;
    }
    if !d.extra.is_empty() {
        sections |= format::S_EXTRA;
    }
    let remap = |c: u32| {
        containers
            .iter()
            .position(|x| *x == c as usize)
            .unwrap_or(0) as u32
    };
    let mut b = Writer::new();
    write_tables(&mut b, d, &containers);
    if !d.dels.is_empty() {
        write_dels(&mut b, d);
    }
    // A stream without operations says nothing (each written stream ends with a LAST head).
    let streams: Vec<(usize, &Stream)> = d
        .streams
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.ops.is_empty())
        .collect();
    let one = matches!(streams.as_slice(), [(_, s)] if s.replica == 0);
    if one {
        sections |= format::R_ONE_STREAM;
    } else {
        b.varint(streams.len() as u64);
    }
    let nrep = d.replicas.len() as u64;
    let mut predictor = Predictor::default();
    let mut lamport = 0u64;
    for (si, s) in streams {
        if !one {
            stream_replica(&mut b, d, s.replica);
        }
        b.varint(u64::from(s.start));
        let mut seq = s.start;
        let mut prev = IMPLIED;
        for (oi, op) in s.ops.iter().enumerate() {
            let last = if oi + 1 == s.ops.len() {
                format::H_LAST
            } else {
                0
            };
            let tag = op.body.tag() as u8 | last;
            match &op.body {
                DBody::Insert { ol, or, list, .. } => {
                    let implied = op.container == IMPLIED || ol.is_some() || or.is_some();
                    let small = (op.len - 1).min(u32::from(format::H_LEN_ESCAPE)) as u8;
                    b.u8(tag | if implied { format::H_IMPLIED } else { 0 } | (small << 4));
                    if !implied {
                        b.varint(u64::from(remap(op.container)));
                    }
                    if small == format::H_LEN_ESCAPE {
                        b.varint(u64::from(op.len));
                    }
                    let (code, id) = left_code(s.replica, seq, *ol, nrep);
                    let predicted = predictor.predict(*ol) == *or;
                    b.varint(code << 1 | u64::from(!predicted));
                    if let Some(id) = id {
                        b.varint(id);
                    }
                    if !predicted {
                        b.varint(right_code(*or, nrep));
                    }
                    predictor.record(*ol, (s.replica, seq), (s.replica, seq + op.len - 1), *or);
                    let (a, z) = ranges
                        .get(si)
                        .and_then(|v| v.get(oi))
                        .copied()
                        .unwrap_or((0, 0));
                    if *list {
                        for e in d.values.get(a as usize..z as usize).unwrap_or_default() {
                            write_elem(&mut b, e);
                        }
                    } else {
                        b.raw(
                            d.text
                                .get(a as usize..z as usize)
                                .unwrap_or_default()
                                .as_bytes(),
                        );
                    }
                }
                body => {
                    let implied = if oi == 0 {
                        remap(op.container) == 0
                    } else {
                        prev != IMPLIED && prev == op.container
                    };
                    b.u8(tag | if implied { format::H_IMPLIED } else { 0 });
                    if !implied {
                        b.varint(u64::from(remap(op.container)));
                    }
                    if body.tag().has_lamport() {
                        b.varint_i64(op.lamport as i64 - lamport as i64);
                        lamport = op.lamport;
                    }
                    write_payload(&mut b, body);
                }
            }
            prev = match &op.body {
                DBody::Insert { ol, or, .. }
                    if op.container == IMPLIED || ol.is_some() || or.is_some() =>
                {
                    IMPLIED
                }
                _ => op.container,
            };
            seq += op.len;
        }
    }
    write_extras(&mut b, d);
    let flags = sections | format::F_ROWS | if checksum { format::F_CHECKSUM } else { 0 };
    frame(flags, b.as_slice())
}

/// Serializes a model: whole-document models in the columnar layout with a checksum; updates in
/// whichever layout is smaller (the row layout is tried for small updates only).
pub(crate) fn write(d: &Decoded, checksum: bool, effort: Effort) -> Vec<u8> {
    if d.snapshot {
        return write_columns(d, true, effort).unwrap_or_default();
    }
    let nops: u64 = d.streams.iter().map(|s| s.ops.len() as u64).sum();
    let columns = write_columns(d, checksum, effort);
    if nops > format::ROWS_MAX_OPS
        && let Some(c) = columns
    {
        return c;
    }
    let rows = write_rows(d, checksum);
    match columns {
        Some(c) if c.len() <= rows.len() => c,
        _ => rows,
    }
}

/// Encodes the given ranges of `doc`.
pub(crate) fn encode(
    doc: &Doc,
    ranges: &Ranges,
    snapshot: bool,
    extras: Vec<Decoded>,
    effort: Effort,
) -> Vec<u8> {
    let mut d = collect(doc, ranges, snapshot);
    d.extra = extras;
    write(&d, snapshot, effort)
}

/// Re-encodes a decoded update (diff layout), e.g. operations kept pending.
pub(crate) fn encode_decoded(d: &Decoded) -> Vec<u8> {
    write(d, false, Effort::Best)
}
