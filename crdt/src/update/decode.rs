//! Decoding updates (docs/FORMAT.md). Total: any bytes give a [`Decoded`] or a [`DecodeError`].
#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use super::format::{self, OpTag};
use super::model::{
    CKey, CName, DBody, DDel, DOp, DValue, Decoded, DelStream, Elem, IMPLIED, RId, Stream,
};
use super::predict::Predictor;
use crate::encoding::{DecodeError, DecodeErrorKind, Reader};
use crate::id::ReplicaId;
use crate::seq::run::MAX_RUN_LEN;
use crate::value::{Kind, Value};

fn inconsistent(r: &Reader<'_>, what: &'static str) -> DecodeError {
    r.error(DecodeErrorKind::Inconsistent(what))
}

/// The envelope of an encoding: its flags and body.
pub(crate) struct Envelope<'a> {
    pub(crate) flags: u8,
    pub(crate) body: Reader<'a>,
}

/// Checks the magic and version byte, the flags and (when present) the checksum; returns the body.
pub(crate) fn envelope(bytes: &[u8], base: usize) -> Result<Envelope<'_>, DecodeError> {
    let mut r = Reader::with_base(bytes, base);
    let head = r.u8()?;
    let version = match head {
        // Version 1 spelled its version in a byte of its own after a 'W'.
        format::MAGIC_V1 => r.u8()?,
        h if h & 0xf0 == format::MAGIC => h & 0x0f,
        _ => return Err(DecodeError::new(base, DecodeErrorKind::BadMagic)),
    };
    if version != format::VERSION {
        return Err(DecodeError::new(
            base,
            DecodeErrorKind::UnsupportedVersion(version),
        ));
    }
    let at = r.offset();
    let flags = r.u8()?;
    let rows = flags & format::F_ROWS != 0;
    if rows && flags & (format::S_TEXT | format::S_VALUES) != 0 {
        return Err(DecodeError::new(at, DecodeErrorKind::InvalidTag(flags)));
    }
    if flags & format::F_CHECKSUM != 0 {
        let at = r.offset();
        let sum = r.u32_le()?;
        let body_at = r.offset();
        let body = r.take(r.remaining())?;
        if crate::encoding::crc32(body) != sum {
            return Err(DecodeError::new(at, DecodeErrorKind::ChecksumMismatch));
        }
        return Ok(Envelope {
            flags,
            body: Reader::with_base(body, body_at),
        });
    }
    Ok(Envelope { flags, body: r })
}

/// Decodes a complete update (envelope, body, nothing after).
pub(crate) fn decode(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    decode_depth(bytes, 0, 0)
}

fn decode_depth(bytes: &[u8], base: usize, depth: u32) -> Result<Decoded, DecodeError> {
    let Envelope { flags, mut body } = envelope(bytes, base)?;
    let d = body_of(&mut body, flags, depth)?;
    body.finish()?;
    Ok(d)
}

fn kind_of(t: u8, at: usize) -> Result<Kind, DecodeError> {
    Kind::from_tag(t).ok_or(DecodeError::new(at, DecodeErrorKind::InvalidTag(t)))
}

/// The replica of a stream: omitted (0) when the update names a single replica.
fn stream_replica(r: &mut Reader<'_>, n: usize) -> Result<u32, DecodeError> {
    if n == 1 { Ok(0) } else { replica_index(r, n) }
}

fn replica_index(r: &mut Reader<'_>, n: usize) -> Result<u32, DecodeError> {
    let at = r.offset();
    let v = r.varint_u32()?;
    if (v as usize) < n {
        Ok(v)
    } else {
        Err(DecodeError::new(
            at,
            DecodeErrorKind::Inconsistent("replica index out of range"),
        ))
    }
}

/// Reads the replica and container tables shared by both layouts.
pub(crate) fn tables(r: &mut Reader<'_>, sections: u8, d: &mut Decoded) -> Result<(), DecodeError> {
    let n = r.count(1)?;
    d.replicas.reserve(n);
    for _ in 0..n {
        d.replicas.push(ReplicaId(r.varint()?));
    }
    if sections & format::S_CONTAINERS != 0 {
        // Entries until the one marked last; each takes at least two bytes.
        loop {
            let at = r.offset();
            let head = r.u8()?;
            if head & !(7 | format::C_NESTED | format::C_LAST) != 0 {
                return Err(DecodeError::new(at, DecodeErrorKind::InvalidTag(head)));
            }
            let kind = kind_of(head & 7, at)?;
            let name = if head & format::C_NESTED == 0 {
                CName::Root(r.str()?.to_owned())
            } else {
                CName::Nested((replica_index(r, d.replicas.len())?, r.varint_u32()?))
            };
            d.containers.push(CKey { kind, name });
            if head & format::C_LAST != 0 {
                break;
            }
        }
    }
    Ok(())
}

fn body_of(r: &mut Reader<'_>, flags: u8, depth: u32) -> Result<Decoded, DecodeError> {
    let rows = flags & format::F_ROWS != 0;
    let mut d = Decoded {
        snapshot: !rows && flags & format::F_SNAPSHOT != 0,
        ..Decoded::default()
    };
    let sections = flags;
    tables(r, sections, &mut d)?;
    if rows {
        if sections & format::S_DELETES != 0 {
            deletions(r, &mut d)?;
        }
        row_streams(r, &mut d, flags & format::R_ONE_STREAM != 0)?;
    } else {
        columns(r, &mut d)?;
        if sections & format::S_DELETES != 0 {
            deletions(r, &mut d)?;
        }
        if sections & format::S_TEXT != 0 {
            d.text = read_text_block(r)?;
        }
        if sections & format::S_VALUES != 0 {
            let n = r.count(1)?;
            d.values.reserve(n);
            for _ in 0..n {
                d.values.push(read_elem(r)?);
            }
        }
        if d.snapshot {
            snapshot_ranges(r, &mut d)?;
        } else {
            assign_content(r, &mut d)?;
        }
    }
    if sections & format::S_EXTRA != 0 {
        let n = r.count(1)?;
        if depth > 0 {
            return Err(inconsistent(r, "nested carried updates"));
        }
        for _ in 0..n {
            let len = r.count(1)?;
            let at = r.offset();
            let bytes = r.take(len)?;
            d.extra.push(decode_depth(bytes, at, depth + 1)?);
        }
    }
    Ok(d)
}

fn read_elem(r: &mut Reader<'_>) -> Result<Elem, DecodeError> {
    if r.peek_u8()? == format::V_NEW {
        r.u8()?;
        let at = r.offset();
        return Ok(Elem::New(kind_of(r.u8()?, at)?));
    }
    Ok(Elem::Plain(Value::read(r)?))
}

/// The container of an op with an explicit index, checked against the op's kind.
fn container_for(r: &Reader<'_>, d: &Decoded, c: u32, kind: Kind) -> Result<u32, DecodeError> {
    match d.containers.get(c as usize) {
        Some(k) if k.kind == kind => Ok(c),
        Some(_) => Err(inconsistent(r, "operation on the wrong kind of container")),
        None => Err(inconsistent(r, "container index out of range")),
    }
}

/// Columnar layout: the stream table and the six operation columns.
fn columns(r: &mut Reader<'_>, d: &mut Decoded) -> Result<(), DecodeError> {
    let nrep = d.replicas.len();
    let n = r.count(4)?;
    let mut counts = Vec::with_capacity(n);
    for _ in 0..n {
        let replica = stream_replica(r, nrep)?;
        let start = r.varint_u32()?;
        let nops = r.count(1)?;
        let elems = r.varint_u32()?;
        counts.push((nops, elems));
        d.streams.push(Stream {
            replica,
            start,
            ops: Vec::new(),
        });
    }
    let mut cols = [
        Reader::new(&[]),
        Reader::new(&[]),
        Reader::new(&[]),
        Reader::new(&[]),
        Reader::new(&[]),
        Reader::new(&[]),
    ];
    for c in cols.iter_mut() {
        let len = r.count(1)?;
        *c = r.sub(len)?;
    }
    let [
        mut kinds,
        mut conts,
        mut inserts,
        mut rights,
        mut lamports,
        mut payloads,
    ] = cols;
    let mut kind_run = (OpTag::TextInsert, 0usize);
    let mut cont_run = (0u32, 0usize);
    let mut lamport = 0u64;
    // Each insert takes at least one byte of its column; beyond 2¹⁶ inserts the table grows
    // with the inserts actually read, so a forged count allocates nothing big.
    let nops = counts.iter().map(|c| c.0).sum::<usize>();
    let mut predictor = Predictor::with_capacity(nops.min(inserts.remaining()).min(1 << 16));
    // Inserts to go before the next one listed in `rights` (None: no more listed).
    let mut gap = next_gap(&mut rights)?;
    let mut streams = std::mem::take(&mut d.streams);
    for (s, (nops, elems)) in streams.iter_mut().zip(counts) {
        let mut seq = s.start;
        // Every op consumes at least one byte of some column, so growth is bounded by the input.
        s.ops
            .reserve(nops.min(inserts.remaining() + payloads.remaining()));
        for _ in 0..nops {
            if kind_run.1 == 0 {
                let at = kinds.offset();
                let t = kinds.u8()?;
                let tag = OpTag::from_u8(t)
                    .ok_or(DecodeError::new(at, DecodeErrorKind::InvalidTag(t)))?;
                kind_run = (tag, kinds.varint_u32()? as usize);
                if kind_run.1 == 0 {
                    return Err(inconsistent(&kinds, "empty run in the kind column"));
                }
            }
            kind_run.1 -= 1;
            if cont_run.1 == 0 {
                cont_run = (conts.varint_u32()?, conts.varint_u32()? as usize);
                if cont_run.1 == 0 {
                    return Err(inconsistent(&conts, "empty run in the container column"));
                }
            }
            cont_run.1 -= 1;
            let tag = kind_run.0;
            let (len, body) = if tag.is_insert() {
                let at = inserts.offset();
                let x = inserts.varint()?;
                let small = x & ((1 << format::INSERT_LEN_BITS) - 1);
                let len = if small == format::INSERT_LEN_ESCAPE {
                    inserts.varint_u32()?
                } else {
                    small as u32 + 1
                };
                if len == 0 || len > MAX_RUN_LEN || seq.checked_add(len).is_none() {
                    return Err(DecodeError::new(
                        at,
                        DecodeErrorKind::Inconsistent("insert length out of range"),
                    ));
                }
                let ol = read_left(
                    &mut inserts,
                    x >> format::INSERT_LEN_BITS,
                    s.replica,
                    seq,
                    nrep,
                    at,
                )?;
                let or = if gap == Some(0) {
                    let or = read_right(&mut rights, nrep)?;
                    gap = next_gap(&mut rights)?;
                    or
                } else {
                    gap = gap.map(|g| g - 1);
                    predictor.predict(ol)
                };
                predictor.record(ol, (s.replica, seq), (s.replica, seq + len - 1), or);
                (
                    len,
                    DBody::Insert {
                        ol,
                        or,
                        content: (0, 0),
                        list: tag == OpTag::ListInsert,
                    },
                )
            } else {
                if tag.has_lamport() {
                    lamport = next_lamport(&mut lamports, lamport)?;
                }
                (1, read_payload(tag, &mut payloads, nrep)?)
            };
            let container = container_for(&conts, d, cont_run.0, body.kind())?;
            let op_lamport = if tag.has_lamport() { lamport } else { 0 };
            seq = seq
                .checked_add(len)
                .ok_or(inconsistent(&inserts, "sequence numbers overflow"))?;
            s.ops.push(DOp {
                container,
                len,
                lamport: op_lamport,
                body,
            });
        }
        if u64::from(seq) != u64::from(s.start) + u64::from(elems) {
            return Err(inconsistent(
                &inserts,
                "stream length does not match its operations",
            ));
        }
    }
    d.streams = streams;
    if gap.is_some() {
        return Err(inconsistent(
            &rights,
            "right origins listed beyond the inserts",
        ));
    }
    for c in [&kinds, &conts, &inserts, &rights, &lamports, &payloads] {
        c.finish()?;
    }
    if kind_run.1 != 0 || cont_run.1 != 0 {
        return Err(inconsistent(r, "column runs longer than the operations"));
    }
    Ok(())
}

/// Row layout: streams with their operations and content written one after another.
fn row_streams(r: &mut Reader<'_>, d: &mut Decoded, one: bool) -> Result<(), DecodeError> {
    let nrep = d.replicas.len();
    let deleted = deleted_intervals(d);
    let n = if one { 1 } else { r.count(3)? };
    let mut lamport = 0u64;
    let mut predictor = Predictor::default();
    for _ in 0..n {
        let replica = if one { 0 } else { stream_replica(r, nrep)? };
        if replica as usize >= nrep {
            return Err(inconsistent(r, "replica index out of range"));
        }
        let start = r.varint_u32()?;
        let empty = Vec::new();
        let iv = deleted.get(replica as usize).unwrap_or(&empty);
        let mut ops = Vec::new();
        let mut seq = start;
        let mut prev: Option<u32> = None;
        // Operations until the one whose head is marked last; each takes at least one byte.
        let mut last = false;
        while !last {
            let at = r.offset();
            let head = r.u8()?;
            last = head & format::H_LAST != 0;
            let tag = OpTag::from_u8(head & 7)
                .ok_or(DecodeError::new(at, DecodeErrorKind::InvalidTag(head)))?;
            let implied = head & format::H_IMPLIED != 0;
            let small = (head >> 4) & 7;
            if !tag.is_insert() && small != 0 {
                return Err(DecodeError::new(at, DecodeErrorKind::InvalidTag(head)));
            }
            let explicit = if implied { None } else { Some(r.varint_u32()?) };
            let op = if tag.is_insert() {
                let len = if small < format::H_LEN_ESCAPE {
                    u32::from(small) + 1
                } else {
                    r.varint_u32()?
                };
                if len == 0 || len > MAX_RUN_LEN || seq.checked_add(len).is_none() {
                    return Err(DecodeError::new(
                        at,
                        DecodeErrorKind::Inconsistent("insert length out of range"),
                    ));
                }
                let list = tag == OpTag::ListInsert;
                let kind = if list { Kind::List } else { Kind::Text };
                let container = match explicit {
                    Some(c) => container_for(r, d, c, kind)?,
                    None => IMPLIED,
                };
                let code_at = r.offset();
                let code = r.varint()?;
                let ol = read_left(r, code >> 1, replica, seq, nrep, code_at)?;
                let or = if code & 1 != 0 {
                    read_right(r, nrep)?
                } else {
                    predictor.predict(ol)
                };
                predictor.record(ol, (replica, seq), (replica, seq + len - 1), or);
                if implied && ol.is_none() && or.is_none() {
                    return Err(inconsistent(r, "implied container without origins"));
                }
                let visible = visible_count(iv, seq, len);
                let content = if list {
                    let from = d.values.len() as u32;
                    for _ in 0..visible {
                        let e = read_elem(r)?;
                        d.values.push(e);
                    }
                    (from, d.values.len() as u32)
                } else {
                    let from = d.text.len() as u32;
                    d.text.push_str(read_chars(r, visible)?);
                    (from, d.text.len() as u32)
                };
                DOp {
                    container,
                    len,
                    lamport: 0,
                    body: DBody::Insert {
                        ol,
                        or,
                        content,
                        list,
                    },
                }
            } else {
                // Implied: the previous operation's container, or the first one for the first.
                let c = match (explicit, prev) {
                    (Some(c), _) => c,
                    (None, Some(p)) if p != IMPLIED => p,
                    (None, None) => 0,
                    _ => return Err(inconsistent(r, "implied container after an implied insert")),
                };
                let mut op_lamport = 0;
                if tag.has_lamport() {
                    lamport = next_lamport(r, lamport)?;
                    op_lamport = lamport;
                }
                let body = read_payload(tag, r, nrep)?;
                let container = container_for(r, d, c, body.kind())?;
                DOp {
                    container,
                    len: 1,
                    lamport: op_lamport,
                    body,
                }
            };
            prev = Some(op.container);
            seq = seq
                .checked_add(op.len)
                .ok_or(inconsistent(r, "sequence numbers overflow"))?;
            ops.push(op);
        }
        d.streams.push(Stream {
            replica,
            start,
            ops,
        });
    }
    Ok(())
}

/// Reads `n` UTF-8 characters.
fn read_chars<'a>(r: &mut Reader<'a>, n: u32) -> Result<&'a str, DecodeError> {
    let at = r.offset();
    let mut probe = r.clone();
    let mut bytes = 0usize;
    for _ in 0..n {
        let b = probe.u8()?;
        let w = match b {
            0x00..=0x7f => 1,
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            _ => return Err(DecodeError::new(at, DecodeErrorKind::InvalidUtf8)),
        };
        probe.take(w - 1)?;
        bytes += w;
    }
    let raw = r.take(bytes)?;
    std::str::from_utf8(raw).map_err(|_| DecodeError::new(at, DecodeErrorKind::InvalidUtf8))
}

/// The deletions section: a table of streams, then their runs.
fn deletions(r: &mut Reader<'_>, d: &mut Decoded) -> Result<(), DecodeError> {
    let nrep = d.replicas.len();
    let n = r.count(4)?;
    let mut table = Vec::with_capacity(n);
    for _ in 0..n {
        let replica = stream_replica(r, nrep)?;
        let start = r.varint_u32()?;
        let total = r.varint_u32()?;
        let nruns = r.count(1)?;
        table.push((replica, start, total, nruns));
    }
    let len = r.count(1)?;
    let mut runs_r = r.sub(len)?;
    for (replica, start, total, nruns) in table {
        if nruns > runs_r.remaining() {
            return Err(inconsistent(&runs_r, "more deletion runs than bytes"));
        }
        let mut runs = Vec::with_capacity(nruns);
        let mut prev = 0i64;
        let mut sum = 0u64;
        for _ in 0..nruns {
            let at = runs_r.offset();
            let v = runs_r.varint()?;
            let f = v & 7;
            let (target, len, rev) = if f == format::D_OTHER {
                let t = u32::try_from(v >> 3)
                    .map_err(|_| inconsistent(&runs_r, "deletion target out of range"))?;
                let target_replica = replica_index(&mut runs_r, nrep)?;
                let lr = runs_r.varint()?;
                ((target_replica, t), lr >> 1, lr & 1 != 0)
            } else {
                let (len, rev) = match f {
                    0 => (1, false),
                    f if f < format::D_LONG => (f / 2 + 1, f & 1 != 0),
                    f => (runs_r.varint()?, f & 1 != 0),
                };
                let seq = prev
                    .checked_add(crate::encoding::unzigzag(v >> 3))
                    .filter(|s| (0..=i64::from(u32::MAX)).contains(s));
                let Some(seq) = seq else {
                    return Err(DecodeError::new(
                        at,
                        DecodeErrorKind::Inconsistent("deletion target out of range"),
                    ));
                };
                prev = seq;
                ((replica, seq as u32), len, rev)
            };
            let len = u32::try_from(len)
                .ok()
                .filter(|l| *l > 0 && *l <= MAX_RUN_LEN && target.1.checked_add(*l).is_some());
            let Some(len) = len else {
                return Err(DecodeError::new(
                    at,
                    DecodeErrorKind::Inconsistent("deletion length out of range"),
                ));
            };
            sum += u64::from(len);
            runs.push(DDel { target, len, rev });
        }
        if sum != u64::from(total) || u64::from(start) + sum > u64::from(u32::MAX) {
            return Err(inconsistent(
                &runs_r,
                "deletion stream length does not match its runs",
            ));
        }
        d.dels.push(DelStream {
            replica,
            start,
            runs,
        });
    }
    runs_r.finish()
}

/// The gap before the next right origin listed in the `rights` column, `None` at its end.
fn next_gap(rights: &mut Reader<'_>) -> Result<Option<u64>, DecodeError> {
    if rights.remaining() == 0 {
        Ok(None)
    } else {
        rights.varint().map(Some)
    }
}

/// An id written as `ridx + nrep·seq`.
fn read_id(r: &mut Reader<'_>, nrep: usize) -> Result<RId, DecodeError> {
    let at = r.offset();
    let v = r.varint()?;
    id_of(v, nrep, at)
}

fn id_of(v: u64, nrep: usize, at: usize) -> Result<RId, DecodeError> {
    let n = nrep as u64;
    match (v.checked_rem(n), v.checked_div(n).map(u32::try_from)) {
        (Some(ridx), Some(Ok(seq))) => Ok((ridx as u32, seq)),
        _ => Err(DecodeError::new(
            at,
            DecodeErrorKind::Inconsistent("origin id out of range"),
        )),
    }
}

/// The left origin of an insert by replica index `me` starting at `seq`, from its code (its id
/// follows in `r` for code 1).
fn read_left(
    r: &mut Reader<'_>,
    code: u64,
    me: u32,
    seq: u32,
    nrep: usize,
    at: usize,
) -> Result<Option<RId>, DecodeError> {
    match code {
        0 => Ok(None),
        1 => read_id(r, nrep).map(Some),
        c => match u64::from(seq).checked_sub(c - 1) {
            Some(t) => Ok(Some((me, t as u32))),
            None => Err(DecodeError::new(
                at,
                DecodeErrorKind::Inconsistent("left origin before the start of the clock"),
            )),
        },
    }
}

/// An explicit right origin: 0 for none, else 1 + its id.
fn read_right(r: &mut Reader<'_>, nrep: usize) -> Result<Option<RId>, DecodeError> {
    let at = r.offset();
    match r.varint()?.checked_sub(1) {
        None => Ok(None),
        Some(v) => id_of(v, nrep, at).map(Some),
    }
}

fn read_value(r: &mut Reader<'_>) -> Result<Option<DValue>, DecodeError> {
    Ok(match r.peek_u8()? {
        format::V_NONE => {
            r.u8()?;
            None
        }
        format::V_NEW => {
            r.u8()?;
            let at = r.offset();
            Some(DValue::New(kind_of(r.u8()?, at)?))
        }
        _ => Some(DValue::Plain(Value::read(r)?)),
    })
}

fn next_lamport(l: &mut Reader<'_>, lamport: u64) -> Result<u64, DecodeError> {
    let at = l.offset();
    let delta = l.varint_i64()?;
    lamport.checked_add_signed(delta).ok_or(DecodeError::new(
        at,
        DecodeErrorKind::Inconsistent("lamport clock out of range"),
    ))
}

fn read_payload(tag: OpTag, p: &mut Reader<'_>, nrep: usize) -> Result<DBody, DecodeError> {
    Ok(match tag {
        OpTag::TextInsert | OpTag::ListInsert => {
            return Err(inconsistent(p, "insert in the payload column"));
        }
        OpTag::MapSet => {
            let key = p.str()?.to_owned();
            DBody::MapSet {
                key,
                value: read_value(p)?,
            }
        }
        OpTag::CounterAdd => DBody::CounterAdd(p.varint_i64()?),
        OpTag::SetAdd => DBody::SetAdd(Value::read(p)?),
        OpTag::SetRemove => {
            let value = Value::read(p)?;
            let n = p.count(2)?;
            let mut dots = Vec::with_capacity(n);
            for _ in 0..n {
                dots.push((replica_index(p, nrep)?, p.varint_u32()?));
            }
            DBody::SetRemove { value, dots }
        }
        OpTag::RegisterSet => DBody::RegisterSet(read_value(p)?),
    })
}

/// Reads a text block: codec byte, then raw or LZ4-compressed UTF-8.
pub(crate) fn read_text_block(r: &mut Reader<'_>) -> Result<String, DecodeError> {
    let at = r.offset();
    let tag = r.u8()?;
    let bytes = match tag {
        0 => r.bytes()?.to_vec(),
        1 => {
            let raw_at = r.offset();
            let raw = r.varint()?;
            let comp = r.bytes()?;
            // LZ4 cannot expand more than 255:1; refuse sizes the input cannot justify.
            if raw > (comp.len() as u64).saturating_mul(255).saturating_add(16) {
                return Err(DecodeError::new(raw_at, DecodeErrorKind::LengthTooLarge));
            }
            crate::encoding::unlz4::decompress(comp, raw as usize)
                .ok_or(DecodeError::new(at, DecodeErrorKind::BadCompression))?
        }
        t => return Err(DecodeError::new(at, DecodeErrorKind::InvalidTag(t))),
    };
    String::from_utf8(bytes).map_err(|_| DecodeError::new(at, DecodeErrorKind::InvalidUtf8))
}

/// Deleted sequence-number intervals per replica index, sorted and merged.
pub(crate) fn deleted_intervals(d: &Decoded) -> Vec<Vec<(u32, u32)>> {
    let mut out: Vec<Vec<(u32, u32)>> = vec![Vec::new(); d.replicas.len()];
    for s in &d.dels {
        for run in &s.runs {
            if let Some(v) = out.get_mut(run.target.0 as usize) {
                v.push((run.target.1, run.target.1.saturating_add(run.len)));
            }
        }
    }
    for v in out.iter_mut() {
        crate::sort::sort(v);
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(v.len());
        for &(s, e) in v.iter() {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        *v = merged;
    }
    out
}

/// Number of elements of `s..s+len` not covered by `intervals` (sorted, merged).
pub(crate) fn visible_count(intervals: &[(u32, u32)], s: u32, len: u32) -> u32 {
    let end = s.saturating_add(len);
    let mut covered = 0u32;
    let i = intervals.partition_point(|iv| iv.1 <= s);
    for &(a, b) in intervals.iter().skip(i) {
        if a >= end {
            break;
        }
        covered += b.min(end) - a.max(s);
    }
    len - covered
}

/// Columnar diff layout: gives each insert the range of its visible content, in operation order.
fn assign_content(r: &Reader<'_>, d: &mut Decoded) -> Result<(), DecodeError> {
    let deleted = deleted_intervals(d);
    let mut text_pos = 0usize;
    let mut value_pos = 0u32;
    let text = d.text.as_str();
    let ascii = text.is_ascii();
    let mut chars = text
        .char_indices()
        .map(|(b, _)| b)
        .chain(std::iter::once(text.len()));
    let _ = chars.next();
    for s in d.streams.iter_mut() {
        let mut seq = s.start;
        let empty = Vec::new();
        let iv = deleted.get(s.replica as usize).unwrap_or(&empty);
        for op in s.ops.iter_mut() {
            if let DBody::Insert { content, list, .. } = &mut op.body {
                let v = visible_count(iv, seq, op.len);
                if *list {
                    let end = value_pos
                        .checked_add(v)
                        .filter(|e| *e as usize <= d.values.len());
                    let Some(end) = end else {
                        return Err(inconsistent(r, "list content shorter than the inserts"));
                    };
                    *content = (value_pos, end);
                    value_pos = end;
                } else {
                    let start = text_pos;
                    if v > 0 {
                        let end = if ascii {
                            Some(text_pos + v as usize).filter(|e| *e <= text.len())
                        } else {
                            chars.nth(v as usize - 1)
                        };
                        let Some(end) = end else {
                            return Err(inconsistent(r, "text content shorter than the inserts"));
                        };
                        text_pos = end;
                    }
                    *content = (start as u32, text_pos as u32);
                }
            }
            seq = seq.saturating_add(op.len);
        }
    }
    if text_pos != text.len() || value_pos as usize != d.values.len() {
        return Err(inconsistent(r, "content longer than the inserts"));
    }
    Ok(())
}

/// Snapshot layout: per text or list container, the length of its content in document order.
fn snapshot_ranges(r: &mut Reader<'_>, d: &mut Decoded) -> Result<(), DecodeError> {
    let mut text_pos = 0u32;
    let mut value_pos = 0u32;
    for c in &d.containers {
        let at = r.offset();
        let range = match c.kind {
            Kind::Text => {
                let n = r.varint_u32()?;
                let end = text_pos.checked_add(n).filter(|e| {
                    *e as usize <= d.text.len() && d.text.is_char_boundary(*e as usize)
                });
                let Some(end) = end else {
                    return Err(DecodeError::new(
                        at,
                        DecodeErrorKind::Inconsistent("text content range out of bounds"),
                    ));
                };
                let range = (text_pos, end);
                text_pos = end;
                range
            }
            Kind::List => {
                let n = r.varint_u32()?;
                let end = value_pos
                    .checked_add(n)
                    .filter(|e| *e as usize <= d.values.len());
                let Some(end) = end else {
                    return Err(DecodeError::new(
                        at,
                        DecodeErrorKind::Inconsistent("list content range out of bounds"),
                    ));
                };
                let range = (value_pos, end);
                value_pos = end;
                range
            }
            _ => (0, 0),
        };
        d.snapshot_content.push(range);
    }
    if text_pos as usize != d.text.len() || value_pos as usize != d.values.len() {
        return Err(inconsistent(r, "content not covered by the containers"));
    }
    Ok(())
}
