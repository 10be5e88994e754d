//! Property tests: encode/decode round trips of documents built from random edits,
//! `merge_updates` against applying updates one by one (in any order), the merge laws of the
//! standalone types, and the state vector and cursor encodings.
//!
//! Case counts are small so that `cargo test -p weft` stays fast in debug builds; raise them
//! with `PROPTEST_CASES=10000 cargo test -p weft --release props`.

use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use weft::{
    Assoc, Clocks, CounterRef, Cursor, Doc, GCounter, Kind, ListRef, LwwMap, LwwRegister, MapRef,
    OrSet, PNCounter, RegisterRef, ReplicaId, SetRef, StateVector, TextRef, Unit, Value,
};

/// `cases` unless `PROPTEST_CASES` says otherwise.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

// ------------------------------------------------------------------------------ documents

/// One edit on one of the six roots of a test document (positions are taken modulo the
/// current length plus one; edits that land inside a character fail and change nothing).
#[derive(Clone, Debug)]
enum Edit {
    TextInsert(Unit, u16, String),
    TextDelete(Unit, u16, u8),
    ListInsert(u16, Vec<Value>),
    ListDelete(u16, u8),
    ListNestedText(u16, String),
    MapSet(u8, Value),
    MapDelete(u8),
    MapNestedCounter(u8, i64),
    Counter(i64),
    SetAdd(Value),
    SetRemove(Value),
    Register(Value),
    RegisterClear,
}

fn unit() -> impl Strategy<Value = Unit> {
    prop_oneof![Just(Unit::Char), Just(Unit::Utf16), Just(Unit::Utf8)]
}

fn text() -> impl Strategy<Value = String> {
    "[ab\n é字😀\u{301}]{1,6}"
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..3).prop_map(Value::Int),
        any::<i64>().prop_map(Value::Int),
        any::<f64>().prop_map(Value::Float),
        "[a-c]{0,2}".prop_map(Value::String),
        proptest::collection::vec(any::<u8>(), 0..3).prop_map(Value::Bytes),
        proptest::collection::vec((-2i64..2).prop_map(Value::Int), 0..3).prop_map(Value::Array),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (unit(), any::<u16>(), text()).prop_map(|(u, p, s)| Edit::TextInsert(u, p, s)),
        2 => (unit(), any::<u16>(), 1u8..6).prop_map(|(u, p, n)| Edit::TextDelete(u, p, n)),
        1 => (any::<u16>(), proptest::collection::vec(value(), 1..3)).prop_map(|(p, v)| Edit::ListInsert(p, v)),
        1 => (any::<u16>(), 1u8..3).prop_map(|(p, n)| Edit::ListDelete(p, n)),
        1 => (any::<u16>(), text()).prop_map(|(p, s)| Edit::ListNestedText(p, s)),
        1 => (0u8..3, value()).prop_map(|(k, v)| Edit::MapSet(k, v)),
        1 => (0u8..3).prop_map(Edit::MapDelete),
        1 => (0u8..3, -5i64..5).prop_map(|(k, n)| Edit::MapNestedCounter(k, n)),
        1 => (-5i64..5).prop_map(Edit::Counter),
        1 => (0u8..3).prop_map(|v| Edit::SetAdd(Value::Int(i64::from(v)))),
        1 => (0u8..3).prop_map(|v| Edit::SetRemove(Value::Int(i64::from(v)))),
        1 => value().prop_map(Edit::Register),
        1 => Just(Edit::RegisterClear),
    ]
}

/// A step of a scenario: one replica commits one transaction of edits, then optionally syncs
/// with the next replica (both ways, by state vectors).
type Step = (usize, Vec<Edit>, bool);

fn steps() -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec(
        (
            0usize..3,
            proptest::collection::vec(edit(), 1..4),
            proptest::bool::weighted(0.3),
        ),
        1..14,
    )
}

struct Roots {
    t: TextRef,
    l: ListRef,
    m: MapRef,
    c: CounterRef,
    s: SetRef,
    r: RegisterRef,
}

fn roots(doc: &mut Doc) -> Roots {
    Roots {
        t: doc.text("t"),
        l: doc.list("l"),
        m: doc.map("m"),
        c: doc.counter("c"),
        s: doc.set("s"),
        r: doc.register("r"),
    }
}

const KEYS: [&str; 3] = ["x", "y", "ζ"];

fn apply_edits(doc: &mut Doc, edits: &[Edit]) {
    let h = roots(doc);
    let mut tx = doc.transact();
    for e in edits {
        // Errors (a position inside a character) are part of the test: they change nothing.
        let _ = match e {
            Edit::TextInsert(u, p, s) => {
                let at = *p as usize % (h.t.len_in(&tx, *u) + 1);
                h.t.insert_at(&mut tx, *u, at, s)
            }
            Edit::TextDelete(u, p, n) => {
                let len = h.t.len_in(&tx, *u);
                if len == 0 {
                    continue;
                }
                let at = *p as usize % len;
                h.t.delete_at(&mut tx, *u, at, (*n as usize).min(len - at))
            }
            Edit::ListInsert(p, v) => {
                let at = *p as usize % (h.l.len(&tx) + 1);
                h.l.insert(&mut tx, at, v.clone())
            }
            Edit::ListDelete(p, n) => {
                let len = h.l.len(&tx);
                if len == 0 {
                    continue;
                }
                let at = *p as usize % len;
                h.l.delete(&mut tx, at, (*n as usize).min(len - at))
            }
            Edit::ListNestedText(p, s) => {
                let at = *p as usize % (h.l.len(&tx) + 1);
                h.l.insert_container(&mut tx, at, Kind::Text)
                    .and_then(|c| TextRef::from_container(c).unwrap().insert(&mut tx, 0, s))
            }
            Edit::MapSet(k, v) => h.m.set(&mut tx, KEYS[*k as usize], v.clone()),
            Edit::MapDelete(k) => h.m.delete(&mut tx, KEYS[*k as usize]),
            Edit::MapNestedCounter(k, n) => {
                h.m.set_container(&mut tx, KEYS[*k as usize], Kind::Counter)
                    .and_then(|c| {
                        CounterRef::from_container(c)
                            .unwrap()
                            .increment(&mut tx, *n)
                    })
            }
            Edit::Counter(n) => h.c.increment(&mut tx, *n),
            Edit::SetAdd(v) => h.s.add(&mut tx, v.clone()),
            Edit::SetRemove(v) => h.s.remove(&mut tx, v).map(|_| ()),
            Edit::Register(v) => h.r.set(&mut tx, v.clone()),
            Edit::RegisterClear => h.r.clear(&mut tx),
        };
    }
    tx.commit();
}

fn sync(docs: &mut [Doc], i: usize, j: usize) {
    let to_j = docs[i].encode_diff(&docs[j].state_vector());
    let to_i = docs[j].encode_diff(&docs[i].state_vector());
    docs[j].apply_update(&to_j).unwrap();
    docs[i].apply_update(&to_i).unwrap();
}

/// Runs a scenario on three replicas (ids 1, 2, 3); returns them and every local update in
/// the order it was made.
fn run(steps: &[Step]) -> (Vec<Doc>, Vec<Vec<u8>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut docs: Vec<Doc> = (1..=3)
        .map(|id| {
            let mut d = Doc::with_replica_id(ReplicaId(id));
            let l = log.clone();
            d.on_update(move |e| {
                if e.local {
                    l.lock().unwrap().push(e.update.to_vec());
                }
            });
            roots(&mut d);
            d
        })
        .collect();
    for (who, edits, then_sync) in steps {
        apply_edits(&mut docs[*who], edits);
        if *then_sync {
            sync(&mut docs, *who, (*who + 1) % 3);
        }
    }
    let updates = std::mem::take(&mut *log.lock().unwrap());
    (docs, updates)
}

/// A fresh replica (id 99) with the test roots declared, holding `bytes`.
fn load(bytes: &[u8]) -> Doc {
    let mut d = Doc::load_with_replica_id(bytes, ReplicaId(99)).unwrap();
    roots(&mut d);
    d
}

/// Deterministic permutation from a seed (Fisher–Yates over a xorshift sequence).
fn shuffle<T>(v: &mut [T], mut seed: u64) {
    seed |= 1;
    for i in (1..v.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// encode_state → load gives the same value, state vector and encoding bytes, and the
    /// loaded replica keeps working.
    #[test]
    fn documents_round_trip_through_their_encoding(steps in steps()) {
        let (docs, _) = run(&steps);
        for doc in &docs {
            doc.check_invariants();
            let bytes = doc.encode_state();
            let mut loaded = load(&bytes);
            loaded.check_invariants();
            prop_assert_eq!(loaded.to_json(), doc.to_json());
            prop_assert_eq!(loaded.state_vector(), doc.state_vector());
            prop_assert_eq!(loaded.encode_state(), bytes.clone());
            // A diff from nothing is the whole document; a diff from itself is empty.
            let mut from_diff = load(&doc.encode_diff(&StateVector::new()));
            prop_assert_eq!(from_diff.to_json(), doc.to_json());
            let before = from_diff.encode_state();
            from_diff.apply_update(&doc.encode_diff(&doc.state_vector())).unwrap();
            prop_assert_eq!(from_diff.encode_state(), before);
            apply_edits(&mut loaded, &[Edit::TextInsert(Unit::Char, 0, "!".into()), Edit::Counter(1)]);
            loaded.check_invariants();
        }
    }

    /// `merge_updates` of every update equals applying them one by one, in the order made or
    /// any other, and merging merged halves gives the same bytes (associativity).
    #[test]
    fn merge_updates_equals_applying_one_by_one(steps in steps(), seed in any::<u64>(), split in any::<u16>()) {
        let (_, updates) = run(&steps);
        prop_assume!(!updates.is_empty());
        let refs: Vec<&[u8]> = updates.iter().map(Vec::as_slice).collect();
        let merged = weft::merge_updates(&refs).unwrap();
        let mut in_order = Doc::with_replica_id(ReplicaId(98));
        for u in &refs {
            in_order.apply_update(u).unwrap();
        }
        roots(&mut in_order);
        prop_assert!(!in_order.has_pending());
        let from_merge = load(&merged);
        prop_assert_eq!(from_merge.to_json(), in_order.to_json());
        prop_assert_eq!(from_merge.state_vector(), in_order.state_vector());
        prop_assert_eq!(from_merge.encode_state(), in_order.encode_state());

        let mut shuffled = refs.clone();
        shuffle(&mut shuffled, seed);
        let mut any_order = Doc::with_replica_id(ReplicaId(97));
        for u in &shuffled {
            any_order.apply_update(u).unwrap();
        }
        prop_assert!(!any_order.has_pending());
        prop_assert_eq!(any_order.encode_state(), in_order.encode_state());
        let merged_shuffled = weft::merge_updates(&shuffled).unwrap();
        prop_assert_eq!(load(&merged_shuffled).encode_state(), in_order.encode_state());

        let k = split as usize % (shuffled.len() + 1);
        let left = weft::merge_updates(&shuffled[..k]).unwrap();
        let right = weft::merge_updates(&shuffled[k..]).unwrap();
        let both = weft::merge_updates(&[&left, &right]).unwrap();
        prop_assert_eq!(load(&both).encode_state(), in_order.encode_state());
        // Idempotent: merging an update with itself changes nothing.
        let twice = weft::merge_updates(&[&merged, &merged]).unwrap();
        prop_assert_eq!(load(&twice).encode_state(), in_order.encode_state());
    }

    /// Cursors encode and decode exactly, and resolve to the same index on another replica
    /// holding the same document.
    #[test]
    fn cursors_round_trip(steps in steps(), at in any::<u16>(), u in unit(), after in any::<bool>()) {
        let (mut docs, _) = run(&steps);
        let doc = docs.remove(0);
        let other = load(&doc.encode_state());
        let h = roots_of(&doc);
        let assoc = if after { Assoc::After } else { Assoc::Before };
        let mut cursors: Vec<Cursor> = Vec::new();
        if let Ok(c) = h.t.cursor(&doc, u, at as usize % (h.t.len_in(&doc, u) + 1), assoc) {
            cursors.push(c);
        }
        if let Ok(c) = h.l.cursor(&doc, at as usize % (h.l.len(&doc) + 1), assoc) {
            cursors.push(c);
        }
        // A cursor in a nested text (the first one in the list, if any).
        if let Some(Value::Container(n)) = h.l.to_vec(&doc).into_iter().find(|v| v.as_container().is_some_and(|c| c.kind() == Kind::Text)) {
            let nt = TextRef::from_container(n).unwrap();
            if let Ok(c) = nt.cursor(&doc, u, at as usize % (nt.len_in(&doc, u) + 1), assoc) {
                cursors.push(c);
            }
        }
        for c in cursors {
            let bytes = c.encode();
            let back = Cursor::decode(&bytes).unwrap();
            prop_assert_eq!(&back, &c);
            prop_assert_eq!(back.encode(), bytes);
            for unit in [Unit::Char, Unit::Utf16, Unit::Utf8] {
                prop_assert_eq!(back.resolve(&other, unit), c.resolve(&doc, unit));
            }
        }
    }
}

/// Handles of the test roots of a document that already has them (no `&mut` needed).
fn roots_of(doc: &Doc) -> Roots {
    let find = |name: &str, kind: Kind| {
        doc.roots()
            .into_iter()
            .find(|(n, c)| n == name && c.kind() == kind)
            .unwrap()
            .1
    };
    Roots {
        t: TextRef::from_container(find("t", Kind::Text)).unwrap(),
        l: ListRef::from_container(find("l", Kind::List)).unwrap(),
        m: MapRef::from_container(find("m", Kind::Map)).unwrap(),
        c: CounterRef::from_container(find("c", Kind::Counter)).unwrap(),
        s: SetRef::from_container(find("s", Kind::Set)).unwrap(),
        r: RegisterRef::from_container(find("r", Kind::Register)).unwrap(),
    }
}

// ------------------------------------------------------------------------------ standalone types

/// A state-based type with a merge.
trait Merge: Clone + PartialEq + Debug {
    fn merge_with(&mut self, other: &Self);
}

macro_rules! merge_impl {
    ($($t:ty),*) => {
        $(impl Merge for $t {
            fn merge_with(&mut self, other: &Self) {
                self.merge(other);
            }
        })*
    };
}

merge_impl!(GCounter, PNCounter, OrSet<u8>, LwwRegister<u8>, LwwMap<u8, u8>, StateVector);

fn merged<T: Merge>(a: &T, b: &T) -> T {
    let mut x = a.clone();
    x.merge_with(b);
    x
}

/// Commutative, associative, idempotent.
fn check_laws<T: Merge>(a: &T, b: &T, c: &T) -> Result<(), TestCaseError> {
    prop_assert_eq!(merged(a, b), merged(b, a), "commutative");
    prop_assert_eq!(
        merged(&merged(a, b), c),
        merged(a, &merged(b, c)),
        "associative"
    );
    prop_assert_eq!(merged(a, a), a.clone(), "idempotent");
    // Merging what was already merged in changes nothing.
    let ab = merged(a, b);
    prop_assert_eq!(merged(&ab, b), ab.clone(), "absorbs what it merged");
    Ok(())
}

/// A step on replica `.0`: a local operation, or a merge of replica `.1`'s state.
#[derive(Clone, Debug)]
enum Sim<Op> {
    Local(usize, Op),
    Merge(usize, usize),
}

fn sim<Op: Debug + Clone>(
    op: impl Strategy<Value = Op> + Clone,
) -> impl Strategy<Value = Vec<Sim<Op>>> {
    proptest::collection::vec(
        prop_oneof![
            3 => (0usize..3, op).prop_map(|(r, o)| Sim::Local(r, o)),
            1 => (0usize..3, 0usize..3).prop_map(|(a, b)| Sim::Merge(a, b)),
        ],
        0..24,
    )
}

/// Runs the steps on three replicas with ids 1, 2, 3 and returns their states.
fn simulate<T: Merge + Default, Op>(
    steps: &[Sim<Op>],
    apply: impl Fn(&mut T, ReplicaId, &Op),
) -> [T; 3] {
    let mut s: [T; 3] = Default::default();
    for step in steps {
        match step {
            Sim::Local(r, op) => apply(&mut s[*r], ReplicaId(*r as u64 + 1), op),
            Sim::Merge(to, from) => {
                let other = s[*from].clone();
                s[*to].merge_with(&other);
            }
        }
    }
    s
}

#[derive(Clone, Debug)]
enum SetOp {
    Add(u8),
    Remove(u8),
}

#[derive(Clone, Debug)]
enum MapOp {
    Set(u8, u8),
    Delete(u8),
}

fn state_vector() -> impl Strategy<Value = StateVector> {
    proptest::collection::vec((0u64..6, 0u64..5, 0u64..5), 0..5).prop_map(|entries| {
        let mut sv = StateVector::new();
        for (r, ops, deletes) in entries {
            sv.set(ReplicaId(r * 1_000_003), Clocks { ops, deletes });
        }
        sv
    })
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn gcounter_merge_laws(steps in sim(0u64..1000)) {
        let [a, b, c] = simulate(&steps, |s: &mut GCounter, r, n| s.increment(r, *n));
        check_laws(&a, &b, &c)?;
        prop_assert!(merged(&a, &b).value() >= a.value().max(b.value()));
    }

    #[test]
    fn pncounter_merge_laws(steps in sim(-1000i64..1000)) {
        let [a, b, c] = simulate(&steps, |s: &mut PNCounter, r, n| s.add(r, *n));
        check_laws(&a, &b, &c)?;
        // Merging everything gives the sum of every operation made.
        let total: i64 = steps.iter().map(|s| if let Sim::Local(_, n) = s { *n } else { 0 }).sum();
        prop_assert_eq!(merged(&merged(&a, &b), &c).value(), total);
    }

    #[test]
    fn orset_merge_laws(steps in sim(prop_oneof![(0u8..4).prop_map(SetOp::Add), (0u8..4).prop_map(SetOp::Remove)])) {
        let [a, b, c] = simulate(&steps, |s: &mut OrSet<u8>, r, op| match op {
            SetOp::Add(v) => {
                s.add(r, *v);
            }
            SetOp::Remove(v) => {
                s.remove(v);
            }
        });
        check_laws(&a, &b, &c)?;
    }

    #[test]
    fn lww_register_merge_laws(steps in sim(proptest::option::of(0u8..4))) {
        let [a, b, c] = simulate(&steps, |s: &mut LwwRegister<u8>, r, v| {
            s.set(r, *v);
        });
        check_laws(&a, &b, &c)?;
        let all = merged(&merged(&a, &b), &c);
        prop_assert!(all.stamp() >= a.stamp().max(b.stamp()).max(c.stamp()));
    }

    #[test]
    fn lww_map_merge_laws(steps in sim(prop_oneof![(0u8..4, any::<u8>()).prop_map(|(k, v)| MapOp::Set(k, v)), (0u8..4).prop_map(MapOp::Delete)])) {
        let [a, b, c] = simulate(&steps, |s: &mut LwwMap<u8, u8>, r, op| match op {
            MapOp::Set(k, v) => {
                s.set(r, *k, *v);
            }
            MapOp::Delete(k) => {
                s.delete(r, *k);
            }
        });
        check_laws(&a, &b, &c)?;
    }

    #[test]
    fn state_vector_encoding_and_merge_laws(a in state_vector(), b in state_vector(), c in state_vector()) {
        for sv in [&a, &b, &c] {
            let bytes = sv.encode();
            prop_assert_eq!(&StateVector::decode(&bytes).unwrap(), sv);
        }
        check_laws(&a, &b, &c)?;
        let ab = merged(&a, &b);
        prop_assert!(a <= ab && b <= ab, "merge is an upper bound");
        // Bringing `b` up by the ranges `a` has beyond it gives the merge.
        let diff = a.diff(&b);
        let mut raised = b.clone();
        for (r, from, to) in &diff.ops {
            prop_assert_eq!(*from, b.ops(*r));
            prop_assert!(to > from);
            raised.set(*r, Clocks { ops: *to, deletes: raised.deletes(*r) });
        }
        for (r, from, to) in &diff.deletes {
            prop_assert_eq!(*from, b.deletes(*r));
            prop_assert!(to > from);
            raised.set(*r, Clocks { ops: raised.ops(*r), deletes: *to });
        }
        prop_assert_eq!(raised, ab);
        prop_assert_eq!(diff.is_empty(), a <= b);
    }
}
