//! Several replicas driven by an arbitrary sequence of actions: edits on every type (text in
//! every unit with arbitrary Unicode, lists, maps, counters, sets, registers, nested
//! containers), undo and redo, updates delivered late, dropped, duplicated, reordered or
//! corrupted, state-vector syncs, whole-document merges and reloads. At the end every replica
//! syncs with every other and all must hold the same value, state vector and encoding.
#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use weft::{
    Change, ContainerRef, CounterRef, Delta, Doc, Kind, Len, ListDelta, ListRef, MapRef,
    RegisterRef, ReplicaId, SetRef, TextDelta, TextRef, UndoManager, UndoOptions, Value,
};
use weft_fuzz::{UNITS, check_usable, clamp_index, declare_roots, snapshot};

#[derive(Arbitrary, Debug)]
struct Input {
    replicas: u8,
    actions: Vec<Action>,
}

#[derive(Arbitrary, Debug)]
enum Action {
    /// One transaction of edits.
    Edit {
        replica: u8,
        ops: Vec<Op>,
    },
    Undo {
        replica: u8,
    },
    Redo {
        replica: u8,
    },
    StopCapturing {
        replica: u8,
    },
    /// Advances the clock the undo managers group changes by.
    Tick {
        ms: u16,
    },
    /// Applies one queued update.
    Deliver {
        replica: u8,
        index: u8,
    },
    /// Applies one queued update and keeps it queued (to be delivered again).
    Duplicate {
        replica: u8,
        index: u8,
    },
    /// Loses one queued update (recovered by a later state-vector sync).
    Drop {
        replica: u8,
        index: u8,
    },
    /// Swaps two queued updates.
    Reorder {
        replica: u8,
        a: u8,
        b: u8,
    },
    /// Flips bits of one byte of a queued update before delivering it.
    Corrupt {
        replica: u8,
        index: u8,
        at: u16,
        xor: u8,
    },
    /// Merges every queued update of a replica with `merge_updates` and applies the result.
    DeliverMerged {
        replica: u8,
    },
    /// `to` sends its state vector, `from` answers with the diff.
    SyncSv {
        from: u8,
        to: u8,
    },
    /// `from`'s whole-document encoding is merged into `to`.
    LoadWhole {
        from: u8,
        to: u8,
    },
    /// The replica restarts from its own encoding (same replica id).
    Reload {
        replica: u8,
    },
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum K {
    Text,
    List,
    Map,
    Counter,
    Set,
    Register,
}

impl K {
    fn kind(self) -> Kind {
        match self {
            K::Text => Kind::Text,
            K::List => Kind::List,
            K::Map => Kind::Map,
            K::Counter => Kind::Counter,
            K::Set => Kind::Set,
            K::Register => Kind::Register,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Leaf {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum V {
    Leaf(Leaf),
    Array(Vec<Leaf>),
    Object(Vec<(String, Leaf)>),
}

impl Leaf {
    fn value(self) -> Value {
        match self {
            Leaf::Null => Value::Null,
            Leaf::Bool(b) => Value::Bool(b),
            Leaf::Int(i) => Value::Int(i),
            Leaf::Float(f) => Value::Float(f),
            Leaf::Str(s) => Value::String(s),
            Leaf::Bytes(b) => Value::Bytes(b),
        }
    }
}

impl V {
    fn value(self) -> Value {
        match self {
            V::Leaf(l) => l.value(),
            V::Array(a) => Value::Array(a.into_iter().map(Leaf::value).collect()),
            V::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, v.value())).collect()),
        }
    }
}

/// Map keys from a small set (so writes collide), or arbitrary.
#[derive(Arbitrary, Debug)]
enum Key {
    Small(u8),
    Any(String),
}

impl Key {
    fn get(&self) -> String {
        match self {
            Key::Small(k) => ["a", "b", "c", "", "ключ"][*k as usize % 5].to_owned(),
            Key::Any(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Op {
    TextInsert {
        target: u8,
        unit: u8,
        pos: u32,
        text: String,
    },
    TextDelete {
        target: u8,
        unit: u8,
        pos: u32,
        len: u8,
    },
    ListInsert {
        target: u8,
        pos: u32,
        values: Vec<V>,
    },
    ListInsertContainer {
        target: u8,
        pos: u32,
        kind: K,
    },
    ListDelete {
        target: u8,
        pos: u32,
        len: u8,
    },
    MapSet {
        target: u8,
        key: Key,
        value: V,
    },
    MapSetContainer {
        target: u8,
        key: Key,
        kind: K,
    },
    MapDelete {
        target: u8,
        key: Key,
    },
    Counter {
        target: u8,
        n: i64,
    },
    SetAdd {
        target: u8,
        value: V,
    },
    SetRemove {
        target: u8,
        value: V,
    },
    RegisterSet {
        target: u8,
        value: V,
    },
    RegisterSetContainer {
        target: u8,
        kind: K,
    },
    RegisterClear {
        target: u8,
    },
}

const ROOT_NAMES: [&str; 2] = ["a", "b"];

struct Replica {
    id: u64,
    doc: Doc,
    outbox: Arc<Mutex<Vec<Vec<u8>>>>,
    undo: UndoManager,
    /// Events of the root text and list `a`, and their content rebuilt from those events.
    events: Arc<Mutex<Vec<Change>>>,
    text: String,
    list: Vec<Value>,
}

fn roots(doc: &mut Doc) -> Vec<ContainerRef> {
    let mut out = Vec::new();
    for name in ROOT_NAMES {
        out.push(doc.text(name).container());
        out.push(doc.list(name).container());
        out.push(doc.map(name).container());
        out.push(doc.counter(name).container());
        out.push(doc.set(name).container());
        out.push(doc.register(name).container());
    }
    out
}

impl Replica {
    fn new(id: u64, mut doc: Doc, clock: &Arc<AtomicU64>) -> Self {
        let scope = roots(&mut doc);
        let outbox = Arc::new(Mutex::new(Vec::new()));
        let o = outbox.clone();
        doc.on_update(move |e| {
            if e.local {
                o.lock().expect("outbox").push(e.update.to_vec());
            }
        });
        let c = clock.clone();
        let options = UndoOptions {
            capture_timeout_ms: 100,
            clock: Arc::new(move || c.load(Ordering::Relaxed)),
            ..UndoOptions::default()
        };
        let undo = UndoManager::new(&mut doc, &scope, options);
        let events = Arc::new(Mutex::new(Vec::new()));
        let (t, l) = (doc.text("a"), doc.list("a"));
        for c in [t.container(), l.container()] {
            let e = events.clone();
            doc.observe(c, move |ev| {
                e.lock().expect("events").push(ev.change.clone())
            });
        }
        let (text, list) = (t.to_string(&doc), l.to_vec(&doc));
        Self {
            id,
            doc,
            outbox,
            undo,
            events,
            text,
            list,
        }
    }

    /// Replays the text and list events received since the last check onto the copies kept
    /// here, which must then equal the document's content.
    fn check_events(&mut self) {
        for change in std::mem::take(&mut *self.events.lock().expect("events")) {
            match change {
                Change::Text(delta) => self.text = replay_text(&self.text, &delta),
                Change::List(delta) => self.list = replay_list(&self.list, &delta),
                other => panic!("unexpected event {other:?}"),
            }
        }
        let (t, l) = (self.doc.text("a"), self.doc.list("a"));
        assert_eq!(
            self.text,
            t.to_string(&self.doc),
            "text events do not add up to the text"
        );
        assert_eq!(
            self.list,
            l.to_vec(&self.doc),
            "list events do not add up to the list"
        );
    }
}

fn len_of(s: &str) -> Len {
    Len {
        chars: s.chars().count() as u32,
        utf16: s.encode_utf16().count() as u32,
        utf8: s.len() as u32,
    }
}

/// Splits off the first `len.chars` characters of `s`, checking the other units.
fn take_chars<'a>(s: &'a str, len: &Len) -> (&'a str, &'a str) {
    let at = s
        .char_indices()
        .nth(len.chars as usize)
        .map_or(s.len(), |(i, _)| i);
    let (a, b) = s.split_at(at);
    assert_eq!(
        &len_of(a),
        len,
        "a text delta's lengths do not match the text"
    );
    (a, b)
}

fn replay_text(text: &str, delta: &[TextDelta]) -> String {
    let mut out = String::new();
    let mut rest = text;
    for d in delta {
        match d {
            Delta::Retain(l) => {
                let (a, b) = take_chars(rest, l);
                out.push_str(a);
                rest = b;
            }
            Delta::Insert(t) => out.push_str(t),
            Delta::Delete(l) => rest = take_chars(rest, l).1,
        }
    }
    out.push_str(rest);
    out
}

fn replay_list(list: &[Value], delta: &[ListDelta]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut i = 0usize;
    for d in delta {
        match d {
            Delta::Retain(l) | Delta::Delete(l) => {
                let n = l.chars as usize;
                assert!(i + n <= list.len(), "a list delta goes past the end");
                assert_eq!(
                    (l.utf16, l.utf8),
                    (l.chars, l.chars),
                    "list lengths are counted in elements"
                );
                if matches!(d, Delta::Retain(_)) {
                    out.extend_from_slice(&list[i..i + n]);
                }
                i += n;
            }
            Delta::Insert(v) => out.extend(v.iter().cloned()),
        }
    }
    out.extend_from_slice(&list[i..]);
    out
}

/// Every container of the document, roots first, then nested ones reachable from them.
fn containers(doc: &mut Doc) -> Vec<ContainerRef> {
    let mut out = roots(doc);
    let mut i = 0;
    while i < out.len() && out.len() < 256 {
        let c = out[i];
        let mut found: Vec<Value> = Vec::new();
        match c.kind() {
            Kind::Map => found.extend(
                MapRef::from_container(c)
                    .map(|m| m.entries(doc))
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(_, v)| v),
            ),
            Kind::List => found.extend(
                ListRef::from_container(c)
                    .map(|l| l.to_vec(doc))
                    .unwrap_or_default(),
            ),
            Kind::Register => found.extend(RegisterRef::from_container(c).and_then(|r| r.get(doc))),
            _ => {}
        }
        for v in found {
            if let Some(n) = v.as_container()
                && !out.contains(&n)
            {
                out.push(n);
            }
        }
        i += 1;
    }
    out
}

fn pick(all: &[ContainerRef], kind: Kind, target: u8) -> ContainerRef {
    let of: Vec<ContainerRef> = all.iter().copied().filter(|c| c.kind() == kind).collect();
    of[target as usize % of.len()]
}

fn edit(doc: &mut Doc, ops: Vec<Op>) {
    let all = containers(doc);
    let mut tx = doc.transact();
    for op in ops {
        // Edits may fail (positions out of range or inside a character); a failed edit
        // changes nothing and the transaction goes on.
        let _ = match op {
            Op::TextInsert {
                target,
                unit,
                pos,
                text,
            } => {
                let t = TextRef::from_container(pick(&all, Kind::Text, target)).expect("text");
                let unit = UNITS[unit as usize % 3];
                let at = clamp_index(t.len_in(&tx, unit), pos);
                t.insert_at(&mut tx, unit, at, &text)
            }
            Op::TextDelete {
                target,
                unit,
                pos,
                len,
            } => {
                let t = TextRef::from_container(pick(&all, Kind::Text, target)).expect("text");
                let unit = UNITS[unit as usize % 3];
                let at = clamp_index(t.len_in(&tx, unit), pos);
                t.delete_at(&mut tx, unit, at, len as usize)
            }
            Op::ListInsert {
                target,
                pos,
                values,
            } => {
                let l = ListRef::from_container(pick(&all, Kind::List, target)).expect("list");
                let at = clamp_index(l.len(&tx), pos);
                l.insert(&mut tx, at, values.into_iter().map(V::value))
            }
            Op::ListInsertContainer { target, pos, kind } => {
                let l = ListRef::from_container(pick(&all, Kind::List, target)).expect("list");
                let at = clamp_index(l.len(&tx), pos);
                l.insert_container(&mut tx, at, kind.kind()).map(|_| ())
            }
            Op::ListDelete { target, pos, len } => {
                let l = ListRef::from_container(pick(&all, Kind::List, target)).expect("list");
                let at = clamp_index(l.len(&tx), pos);
                l.delete(&mut tx, at, len as usize)
            }
            Op::MapSet { target, key, value } => {
                let m = MapRef::from_container(pick(&all, Kind::Map, target)).expect("map");
                m.set(&mut tx, &key.get(), value.value())
            }
            Op::MapSetContainer { target, key, kind } => {
                let m = MapRef::from_container(pick(&all, Kind::Map, target)).expect("map");
                m.set_container(&mut tx, &key.get(), kind.kind())
                    .map(|_| ())
            }
            Op::MapDelete { target, key } => {
                let m = MapRef::from_container(pick(&all, Kind::Map, target)).expect("map");
                m.delete(&mut tx, &key.get())
            }
            Op::Counter { target, n } => {
                let c =
                    CounterRef::from_container(pick(&all, Kind::Counter, target)).expect("counter");
                c.increment(&mut tx, n)
            }
            Op::SetAdd { target, value } => {
                let s = SetRef::from_container(pick(&all, Kind::Set, target)).expect("set");
                s.add(&mut tx, value.value())
            }
            Op::SetRemove { target, value } => {
                let s = SetRef::from_container(pick(&all, Kind::Set, target)).expect("set");
                s.remove(&mut tx, &value.value()).map(|_| ())
            }
            Op::RegisterSet { target, value } => {
                let r = RegisterRef::from_container(pick(&all, Kind::Register, target))
                    .expect("register");
                r.set(&mut tx, value.value())
            }
            Op::RegisterSetContainer { target, kind } => {
                let r = RegisterRef::from_container(pick(&all, Kind::Register, target))
                    .expect("register");
                r.set_container(&mut tx, kind.kind()).map(|_| ())
            }
            Op::RegisterClear { target } => {
                let r = RegisterRef::from_container(pick(&all, Kind::Register, target))
                    .expect("register");
                r.clear(&mut tx)
            }
        };
    }
    tx.commit();
}

struct World {
    reps: Vec<Replica>,
    inbox: Vec<Vec<Vec<u8>>>,
    clock: Arc<AtomicU64>,
}

impl World {
    /// Moves what `who` sent into every other replica's queue.
    fn broadcast(&mut self, who: usize) {
        let sent: Vec<Vec<u8>> =
            std::mem::take(&mut *self.reps[who].outbox.lock().expect("outbox"));
        for u in sent {
            for (to, q) in self.inbox.iter_mut().enumerate() {
                if to != who {
                    q.push(u.clone());
                }
            }
        }
    }

    fn apply(&mut self, who: usize, update: &[u8], what: &str) {
        let r = &mut self.reps[who];
        let before = r.doc.state_vector();
        r.doc
            .apply_update(update)
            .unwrap_or_else(|e| panic!("{what}: a valid update was rejected: {e}"));
        assert!(
            before <= r.doc.state_vector(),
            "{what}: applying an update forgot operations"
        );
        r.doc.check_invariants();
        self.broadcast(who);
    }

    fn run(&mut self, action: Action) {
        let n = self.reps.len();
        match action {
            Action::Edit { replica, ops } => {
                let who = replica as usize % n;
                edit(&mut self.reps[who].doc, ops);
                self.reps[who].doc.check_invariants();
                self.broadcast(who);
            }
            Action::Undo { replica } | Action::Redo { replica } => {
                let who = replica as usize % n;
                let r = &mut self.reps[who];
                let res = if matches!(action, Action::Undo { .. }) {
                    r.undo.undo(&mut r.doc)
                } else {
                    r.undo.redo(&mut r.doc)
                };
                res.unwrap_or_else(|e| panic!("undo/redo failed: {e}"));
                r.doc.check_invariants();
                self.broadcast(who);
            }
            Action::StopCapturing { replica } => {
                self.reps[replica as usize % n].undo.stop_capturing()
            }
            Action::Tick { ms } => {
                self.clock.fetch_add(u64::from(ms), Ordering::Relaxed);
            }
            Action::Deliver { replica, index } | Action::Duplicate { replica, index } => {
                let who = replica as usize % n;
                let q = &mut self.inbox[who];
                if q.is_empty() {
                    return;
                }
                let k = index as usize % q.len();
                let u = if matches!(action, Action::Deliver { .. }) {
                    q.remove(k)
                } else {
                    q[k].clone()
                };
                self.apply(who, &u, "deliver");
            }
            Action::Drop { replica, index } => {
                let q = &mut self.inbox[replica as usize % n];
                if !q.is_empty() {
                    let k = index as usize % q.len();
                    q.remove(k);
                }
            }
            Action::Reorder { replica, a, b } => {
                let q = &mut self.inbox[replica as usize % n];
                if !q.is_empty() {
                    let (a, b) = (a as usize % q.len(), b as usize % q.len());
                    q.swap(a, b);
                }
            }
            Action::Corrupt {
                replica,
                index,
                at,
                xor,
            } => {
                let who = replica as usize % n;
                let q = &self.inbox[who];
                if q.is_empty() {
                    return;
                }
                let mut bad = q[index as usize % q.len()].clone();
                let i = at as usize % bad.len();
                bad[i] ^= xor.max(1);
                self.corrupt(who, &bad);
            }
            Action::DeliverMerged { replica } => {
                let who = replica as usize % n;
                let q = std::mem::take(&mut self.inbox[who]);
                if q.is_empty() {
                    return;
                }
                let refs: Vec<&[u8]> = q.iter().map(Vec::as_slice).collect();
                let merged = weft::merge_updates(&refs)
                    .unwrap_or_else(|e| panic!("merge_updates rejected valid updates: {e}"));
                // The merge equals applying the updates one by one.
                let mut one_by_one = Doc::with_replica_id(ReplicaId(0xABCD));
                for u in &refs {
                    one_by_one.apply_update(u).expect("valid update");
                }
                let mut m = Doc::load_with_replica_id(&merged, ReplicaId(0xABCE))
                    .expect("merged update loads");
                declare_roots(&one_by_one, &mut m);
                declare_roots(&m, &mut one_by_one);
                assert_eq!(
                    m.to_json(),
                    one_by_one.to_json(),
                    "merge_updates differs from applying one by one"
                );
                assert_eq!(
                    m.state_vector(),
                    one_by_one.state_vector(),
                    "merge_updates state vector differs"
                );
                self.apply(who, &merged, "deliver merged");
            }
            Action::SyncSv { from, to } => {
                let (from, to) = (from as usize % n, to as usize % n);
                if from != to {
                    let sv = self.reps[to].doc.state_vector();
                    let diff = self.reps[from].doc.encode_diff(&sv);
                    self.apply(to, &diff, "state-vector sync");
                }
            }
            Action::LoadWhole { from, to } => {
                let (from, to) = (from as usize % n, to as usize % n);
                let full = self.reps[from].doc.encode_state();
                self.apply(to, &full, "whole-document merge");
            }
            Action::Reload { replica } => {
                let who = replica as usize % n;
                let id = self.reps[who].id;
                let before = snapshot(&self.reps[who].doc);
                let doc = Doc::load_with_replica_id(&before.encoding, ReplicaId(id))
                    .expect("own encoding loads");
                self.reps[who] = Replica::new(id, doc, &self.clock);
                let after = snapshot(&self.reps[who].doc);
                assert_eq!(after.json, before.json, "reload changed the value");
                assert_eq!(
                    after.state_vector, before.state_vector,
                    "reload changed the state vector"
                );
                assert_eq!(after.pending, before.pending, "reload lost pending updates");
            }
        }
    }

    /// A corrupted update must be rejected without a change, or be accepted as some valid
    /// update. It is tried on a copy of the replica; when the copy rejects it, the replica
    /// itself (with its observers and undo manager) must reject it too and stay unchanged.
    fn corrupt(&mut self, who: usize, bad: &[u8]) {
        let r = &mut self.reps[who];
        let before = snapshot(&r.doc);
        let mut copy = Doc::load_with_replica_id(&before.encoding, ReplicaId(r.id))
            .expect("own encoding loads");
        declare_roots(&r.doc, &mut copy);
        match copy.apply_update(bad) {
            Ok(_) => check_usable(&copy, "corrupted update accepted"),
            Err(e) => {
                assert_eq!(
                    snapshot(&copy).json,
                    before.json,
                    "rejected corrupt update changed the copy"
                );
                let res = r.doc.apply_update(bad);
                assert!(
                    res.is_err(),
                    "a copy rejected a corrupt update ({e}) that the replica accepted"
                );
                assert_eq!(
                    snapshot(&r.doc),
                    before,
                    "rejected corrupt update changed the replica"
                );
            }
        }
    }

    fn sync_all(&mut self) {
        let n = self.reps.len();
        for _ in 0..3 {
            for i in 0..n {
                for j in 0..n {
                    if i != j {
                        let sv = self.reps[j].doc.state_vector();
                        let diff = self.reps[i].doc.encode_diff(&sv);
                        self.reps[j]
                            .doc
                            .apply_update(&diff)
                            .unwrap_or_else(|e| panic!("final sync: {e}"));
                    }
                }
            }
        }
    }
}

fuzz_target!(|input: Input| {
    let n = 2 + input.replicas as usize % 3;
    let clock = Arc::new(AtomicU64::new(1_000));
    let reps = (0..n)
        .map(|i| {
            Replica::new(
                i as u64 + 1,
                Doc::with_replica_id(ReplicaId(i as u64 + 1)),
                &clock,
            )
        })
        .collect();
    let mut world = World {
        reps,
        inbox: vec![Vec::new(); n],
        clock,
    };
    for action in input.actions.into_iter().take(200) {
        world.run(action);
        for r in &mut world.reps {
            r.check_events();
        }
    }
    world.sync_all();
    for r in &mut world.reps {
        r.check_events();
    }
    let first = snapshot(&world.reps[0].doc);
    for (i, r) in world.reps.iter().enumerate() {
        assert!(
            !r.doc.has_pending(),
            "replica {i} still has pending updates after a full sync"
        );
        let s = snapshot(&r.doc);
        assert_eq!(s.json, first.json, "replica {i}: value differs");
        assert_eq!(
            s.state_vector, first.state_vector,
            "replica {i}: state vector differs"
        );
        assert_eq!(s.encoding, first.encoding, "replica {i}: encoding differs");
        check_usable(&r.doc, "after the final sync");
    }
});
