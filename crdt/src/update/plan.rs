//! Planning an update: which of its operations can be integrated now and in what order, checked
//! against the document before anything is changed (so a rejected update leaves it untouched).
//! Operations whose dependencies have not arrived become the residual, kept as pending.

use super::model::{CName, DBody, DDel, Decoded, DelStream, IMPLIED, RId};
use crate::doc::Doc;
use crate::doc::container::MiscBody;
use crate::encoding::{DecodeError, DecodeErrorKind};
use crate::id::Agent;
use crate::value::Kind;

/// One integration step.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Step {
    /// Operation `op` of stream `stream` (whose first element has sequence number `start`),
    /// skipping its first `skip` elements (already known), on container `container`.
    Op {
        stream: usize,
        op: usize,
        start: u32,
        skip: u32,
        container: CRef,
    },
    /// Deletions `from..to` of run `run` of deletion stream `stream` (whose first deletion has
    /// deletion sequence number `dseq`).
    Del {
        stream: usize,
        run: usize,
        dseq: u32,
        from: u32,
        to: u32,
    },
}

/// The outcome of planning.
pub(crate) struct Plan {
    pub(crate) steps: Vec<Step>,
    /// Per operation stream: index of the first operation not planned (`ops.len()` when all).
    pub(crate) op_stop: Vec<usize>,
    /// Deletions that cannot apply yet, as streams of their own.
    pub(crate) del_rest: Vec<DelStream>,
}

impl Plan {
    /// True when everything was planned.
    pub(crate) fn complete(&self, d: &Decoded) -> bool {
        self.op_stop
            .iter()
            .zip(&d.streams)
            .all(|(s, st)| *s == st.ops.len())
            && self.del_rest.is_empty()
    }
}

/// A container an operation applies to: one the document has, or an entry of the update's
/// container table that the document does not have yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CRef {
    Doc(u32),
    Update(u32),
}

/// What the op at a stream's cursor needs.
enum Dep {
    /// Nothing: it applies to this container.
    Ready(CRef),
    /// Operations of `stream` up to sequence number `seq` first (`usize::MAX`: absent).
    Wait(usize, u32),
}

enum Loc {
    /// In the document, owned by this container.
    Doc(u32),
    /// Planned earlier in this update: stream and op index.
    Planned(usize, usize),
    /// In this update, not planned yet: its stream.
    Later(usize),
    Absent,
}

struct Planner<'a> {
    doc: &'a Doc,
    d: &'a Decoded,
    agent_of: Vec<Option<Agent>>,
    known: Vec<u32>,
    planned: Vec<u32>,
    stream_of: Vec<Option<usize>>,
    starts: Vec<Vec<u32>>,
    cursor: Vec<usize>,
    blocked: Vec<bool>,
    on_stack: Vec<bool>,
    steps: Vec<Step>,
    /// Update container → the document container it names, when the document has it.
    udoc: Vec<Option<u32>>,
    /// The container each planned op applies to.
    resolved: Vec<Vec<Option<CRef>>>,
}

fn bad(what: &'static str) -> DecodeError {
    DecodeError::new(0, DecodeErrorKind::Inconsistent(what))
}

impl<'a> Planner<'a> {
    fn new(doc: &'a Doc, d: &'a Decoded) -> Result<Self, DecodeError> {
        let agent_of: Vec<Option<Agent>> =
            d.replicas.iter().map(|r| doc.ids.find_agent(*r)).collect();
        let known: Vec<u32> = agent_of
            .iter()
            .map(|a| a.map_or(0, |a| doc.ids.agents[a as usize].next_seq))
            .collect();
        let mut stream_of = vec![None; d.replicas.len()];
        let mut starts = Vec::with_capacity(d.streams.len());
        for (i, s) in d.streams.iter().enumerate() {
            let slot = stream_of
                .get_mut(s.replica as usize)
                .ok_or(bad("replica index out of range"))?;
            if slot.is_some() {
                return Err(bad("two operation streams for one replica"));
            }
            *slot = Some(i);
            let mut seq = s.start;
            let mut v = Vec::with_capacity(s.ops.len());
            for o in &s.ops {
                v.push(seq);
                seq += o.len;
            }
            starts.push(v);
        }
        let n = d.streams.len();
        let udoc = d
            .containers
            .iter()
            .map(|k| match &k.name {
                CName::Root(name) => doc.find_root(name, k.kind),
                CName::Nested((r, s)) => agent_of
                    .get(*r as usize)
                    .copied()
                    .flatten()
                    .and_then(|a| doc.ids.lv_of(a, *s))
                    .and_then(|lv| doc.nested_container(lv))
                    .filter(|c| {
                        doc.containers
                            .get(*c as usize)
                            .is_some_and(|x| x.kind == k.kind)
                    }),
            })
            .collect();
        let resolved = d.streams.iter().map(|s| vec![None; s.ops.len()]).collect();
        Ok(Self {
            doc,
            d,
            agent_of,
            planned: known.clone(),
            known,
            stream_of,
            starts,
            cursor: vec![0; n],
            blocked: vec![false; n],
            on_stack: vec![false; n],
            steps: Vec::new(),
            udoc,
            resolved,
        })
    }

    /// The canonical reference to update container `c`.
    fn norm(&self, c: u32) -> CRef {
        match self.udoc.get(c as usize).copied().flatten() {
            Some(d) => CRef::Doc(d),
            None => CRef::Update(c),
        }
    }

    fn kind(&self, c: CRef) -> Option<Kind> {
        match c {
            CRef::Doc(i) => self.doc.containers.get(i as usize).map(|x| x.kind),
            CRef::Update(i) => self.d.containers.get(i as usize).map(|x| x.kind),
        }
    }

    fn locate(&self, (r, s): RId) -> Loc {
        let ri = r as usize;
        if let Some(Some(a)) = self.agent_of.get(ri)
            && s < self.known[ri]
        {
            let lv = self.doc.ids.lv_of(*a, s);
            return match lv.and_then(|lv| self.doc.owners.get(lv)) {
                Some(c) => Loc::Doc(c),
                None => Loc::Absent,
            };
        }
        let Some(Some(si)) = self.stream_of.get(ri) else {
            return Loc::Absent;
        };
        let st = &self.d.streams[*si];
        if s < st.start {
            return Loc::Absent;
        }
        if s < self.planned[ri] {
            let starts = &self.starts[*si];
            let i = starts.partition_point(|x| *x <= s).saturating_sub(1);
            return Loc::Planned(*si, i);
        }
        if s < st.end() && !self.blocked[*si] {
            return Loc::Later(*si);
        }
        Loc::Absent
    }

    /// The container an origin element belongs to (`Err(dep)` when it has not arrived).
    fn origin(&self, id: RId) -> Result<Result<CRef, (usize, u32)>, DecodeError> {
        Ok(match self.locate(id) {
            Loc::Doc(owner) => Ok(CRef::Doc(owner)),
            Loc::Planned(si, oi) => {
                let op = &self.d.streams[si].ops[oi];
                if !matches!(op.body, DBody::Insert { .. }) {
                    return Err(bad("origin is not a sequence element"));
                }
                match self.resolved[si][oi] {
                    Some(c) => Ok(c),
                    None => return Err(bad("origin in an unplanned operation")),
                }
            }
            Loc::Later(si) => Err((si, id.1)),
            Loc::Absent => Err((usize::MAX, 0)),
        })
    }

    /// The container a nested key names must have been created by its creator op.
    fn container_dep(&self, c: u32) -> Result<Option<(usize, u32)>, DecodeError> {
        let key = &self.d.containers[c as usize];
        let CName::Nested(id) = key.name else {
            return Ok(None);
        };
        match self.locate(id) {
            Loc::Doc(_) => {
                let lv = self.agent_of[id.0 as usize].and_then(|a| self.doc.ids.lv_of(a, id.1));
                match lv.and_then(|lv| self.doc.nested_container(lv)) {
                    Some(ci) if self.doc.containers[ci as usize].kind == key.kind => Ok(None),
                    _ => Err(bad("nested container does not exist")),
                }
            }
            Loc::Planned(si, oi) => {
                let st = &self.d.streams[si];
                let op = &st.ops[oi];
                let ok = match &op.body {
                    DBody::MapSet {
                        value: Some(super::model::DValue::New(k)),
                        ..
                    }
                    | DBody::RegisterSet(Some(super::model::DValue::New(k))) => *k == key.kind,
                    DBody::Insert { list: true, .. } => true, // list elements are checked when content is known
                    _ => false,
                };
                if ok {
                    Ok(None)
                } else {
                    Err(bad("nested container does not exist"))
                }
            }
            Loc::Later(si) => Ok(Some((si, id.1))),
            Loc::Absent => Ok(Some((usize::MAX, 0))),
        }
    }

    /// What the op at the cursor of stream `si` needs, and its container.
    fn next_dep(&self, si: usize) -> Result<Dep, DecodeError> {
        let st = &self.d.streams[si];
        let op = &st.ops[self.cursor[si]];
        let mut target = None;
        if op.container != IMPLIED {
            if let Some((s, q)) = self.container_dep(op.container)? {
                return Ok(Dep::Wait(s, q));
            }
            target = Some(self.norm(op.container));
        }
        match &op.body {
            DBody::Insert { ol, or, .. } => {
                for id in [ol, or].into_iter().flatten() {
                    let c = match self.origin(*id)? {
                        Ok(c) => c,
                        Err((s, q)) => return Ok(Dep::Wait(s, q)),
                    };
                    if self.kind(c) != Some(op.body.kind()) {
                        return Err(bad("origin in another kind of container"));
                    }
                    match target {
                        None => target = Some(c),
                        Some(t) if t == c => {}
                        Some(_) => return Err(bad("origin in another container")),
                    }
                }
            }
            DBody::SetRemove { dots, .. } => {
                for id in dots {
                    let same = match self.locate(*id) {
                        Loc::Doc(owner) => {
                            let lv = self.agent_of[id.0 as usize]
                                .and_then(|a| self.doc.ids.lv_of(a, id.1));
                            let is_add = lv
                                .and_then(|lv| self.doc.misc.get(&lv))
                                .is_some_and(|m| matches!(m.body, MiscBody::SetAdd(_)));
                            is_add && target == Some(CRef::Doc(owner))
                        }
                        Loc::Planned(s2, o2) => {
                            let other = &self.d.streams[s2].ops[o2];
                            matches!(other.body, DBody::SetAdd(_))
                                && self.resolved[s2][o2] == target
                        }
                        Loc::Later(s2) => return Ok(Dep::Wait(s2, id.1)),
                        Loc::Absent => return Ok(Dep::Wait(usize::MAX, 0)),
                    };
                    if !same {
                        return Err(bad("set remove of something that is not an add"));
                    }
                }
            }
            _ => {}
        }
        match target {
            Some(c) => Ok(Dep::Ready(c)),
            None => Err(bad("operation without a container")),
        }
    }

    fn advance(&mut self, si: usize, container: CRef) {
        let st = &self.d.streams[si];
        let r = st.replica as usize;
        let oi = self.cursor[si];
        let start = self.starts[si][oi];
        let op = &st.ops[oi];
        let skip = self.planned[r].saturating_sub(start);
        if skip < op.len {
            self.steps.push(Step::Op {
                stream: si,
                op: oi,
                start,
                skip,
                container,
            });
            self.planned[r] = start + op.len;
            self.resolved[si][oi] = Some(container);
        }
        self.cursor[si] += 1;
    }

    /// Plans stream `first`, first planning (just enough of) the streams it depends on.
    fn run_stream(&mut self, first: usize) -> Result<(), DecodeError> {
        // (stream, sequence number it must reach before the entry below can continue)
        let mut stack = vec![(first, u32::MAX)];
        self.on_stack[first] = true;
        while let Some(&(si, target)) = stack.last() {
            let st = &self.d.streams[si];
            let r = st.replica as usize;
            // Skip operations the document already has.
            while self.cursor[si] < st.ops.len() {
                let oi = self.cursor[si];
                if self.starts[si][oi] + st.ops[oi].len <= self.planned[r] {
                    self.cursor[si] += 1;
                } else {
                    break;
                }
            }
            if self.blocked[si] || self.cursor[si] >= st.ops.len() || self.planned[r] > target {
                self.on_stack[si] = false;
                stack.pop();
                continue;
            }
            if self.starts[si][self.cursor[si]] > self.planned[r] {
                // A gap in this replica's clock: earlier operations are missing.
                self.blocked[si] = true;
                continue;
            }
            match self.next_dep(si)? {
                Dep::Ready(c) => self.advance(si, c),
                Dep::Wait(other, _) if other == usize::MAX || self.on_stack[other] => {
                    self.blocked[si] = true
                }
                Dep::Wait(other, seq) => {
                    self.on_stack[other] = true;
                    stack.push((other, seq));
                }
            }
        }
        Ok(())
    }

    /// True when every target `ts..ts+len` of replica `tr` is a known sequence element (errors
    /// when one is known but is not a sequence element).
    fn all_elements(&self, tr: u32, ts: u32, len: u32) -> Result<bool, DecodeError> {
        let mut s = ts;
        let end = ts + len;
        while s < end {
            match self.locate((tr, s)) {
                Loc::Doc(_) => {
                    let Some(a) = self.agent_of[tr as usize] else {
                        return Ok(false);
                    };
                    let Some((lv, m)) = self.doc.ids.lv_span(a, s, end - s) else {
                        return Ok(false);
                    };
                    let Some(o) = self.doc.owners.run(lv) else {
                        return Ok(false);
                    };
                    let k = self
                        .doc
                        .containers
                        .get(o.container as usize)
                        .map(|c| c.kind);
                    if !matches!(k, Some(Kind::Text | Kind::List)) {
                        return Err(bad("deletion of something that is not a sequence element"));
                    }
                    s += m.min(o.lv + o.len - lv);
                }
                Loc::Planned(si, oi) => {
                    let op = &self.d.streams[si].ops[oi];
                    if !matches!(op.body, DBody::Insert { .. }) {
                        return Err(bad("deletion of something that is not a sequence element"));
                    }
                    s = self.starts[si][oi] + op.len;
                }
                _ => return Ok(false),
            }
        }
        Ok(true)
    }

    /// Plans every deletion whose target is known and that is not recorded yet; returns the
    /// ones whose targets have not arrived.
    fn plan_dels(&mut self) -> Result<Vec<DelStream>, DecodeError> {
        let mut rest = Vec::new();
        let mut left = Vec::new();
        for (di, ds) in self.d.dels.iter().enumerate() {
            let agent = self.agent_of.get(ds.replica as usize).copied().flatten();
            let mut dseq = ds.start;
            for (ri, run) in ds.runs.iter().enumerate() {
                let (tr, ts) = run.target;
                let len = run.len;
                let known = match agent.and_then(|a| self.doc.dels.get(a as usize)) {
                    Some(log) => log.known(dseq, len),
                    None => Vec::new(),
                };
                // Targets below the replica's planned clock exist; the rest have not arrived.
                let have = self
                    .planned
                    .get(tr as usize)
                    .copied()
                    .unwrap_or(0)
                    .saturating_sub(ts)
                    .min(len);
                if have > 0 && !self.all_elements(tr, ts, have)? {
                    return Err(bad("deletion of something that is not a sequence element"));
                }
                let avail = if run.rev {
                    (len - have, len)
                } else {
                    (0, have)
                };
                subtract(avail, &known, &mut left);
                for &(from, to) in &left {
                    self.steps.push(Step::Del {
                        stream: di,
                        run: ri,
                        dseq,
                        from,
                        to,
                    });
                }
                let missing = if run.rev {
                    (0, len - have)
                } else {
                    (have, len)
                };
                subtract(missing, &known, &mut left);
                for &(from, to) in &left {
                    let n = to - from;
                    let low = if run.rev { ts + len - to } else { ts + from };
                    rest.push(DelStream {
                        replica: ds.replica,
                        start: dseq + from,
                        runs: vec![DDel {
                            target: (tr, low),
                            len: n,
                            rev: run.rev && n > 1,
                        }],
                    });
                }
                dseq = dseq.saturating_add(len);
            }
        }
        Ok(rest)
    }
}

/// Writes `range` minus the sorted, disjoint `holes` into `out` (cleared first).
fn subtract(range: (u32, u32), holes: &[(u32, u32)], out: &mut Vec<(u32, u32)>) {
    out.clear();
    let mut at = range.0;
    for &(a, b) in holes {
        if b <= at || a >= range.1 {
            continue;
        }
        if a > at {
            out.push((at, a));
        }
        at = at.max(b);
    }
    if at < range.1 {
        out.push((at, range.1));
    }
}

/// Plans `d` against `doc`. Errors for updates that contradict the document or themselves.
pub(crate) fn plan(doc: &Doc, d: &Decoded) -> Result<Plan, DecodeError> {
    let mut p = Planner::new(doc, d)?;
    for si in 0..d.streams.len() {
        p.run_stream(si)?;
    }
    let del_rest = p.plan_dels()?;
    let op_stop = p.cursor.clone();
    Ok(Plan {
        steps: p.steps,
        op_stop,
        del_rest,
    })
}
