//! Helpers shared by the fuzz targets of the `weft` engine (`fuzz_targets/`) and by the corpus
//! seed writer (`examples/seeds.rs`).

use weft::{Doc, Kind, ReplicaId, StateVector, Unit, Value};

/// Everything observable about a document that an atomic failed apply must leave untouched.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    /// `Doc::encode_state`.
    pub encoding: Vec<u8>,
    /// `Doc::state_vector`.
    pub state_vector: StateVector,
    /// `Doc::to_json`.
    pub json: Value,
    /// `Doc::has_pending`.
    pub pending: bool,
}

/// Takes a [`Snapshot`] of `doc`.
pub fn snapshot(doc: &Doc) -> Snapshot {
    Snapshot {
        encoding: doc.encode_state(),
        state_vector: doc.state_vector(),
        json: doc.to_json(),
        pending: doc.has_pending(),
    }
}

/// Declares on `other` every root `doc` has. Roots exist in a document from their first use
/// (even a read), so two documents with the same operations list the same roots in
/// `to_json` only once both declared them.
pub fn declare_roots(doc: &Doc, other: &mut Doc) {
    for (name, c) in doc.roots() {
        match c.kind() {
            Kind::Text => {
                let _ = other.text(&name);
            }
            Kind::List => {
                let _ = other.list(&name);
            }
            Kind::Map => {
                let _ = other.map(&name);
            }
            Kind::Counter => {
                let _ = other.counter(&name);
            }
            Kind::Set => {
                let _ = other.set(&name);
            }
            Kind::Register => {
                let _ = other.register(&name);
            }
        }
    }
}

/// Checks that a document is usable: its invariants hold, and its encoding loads into a fresh
/// replica with the same value, and re-encodes to the same bytes.
pub fn check_usable(doc: &Doc, what: &str) {
    doc.check_invariants();
    let bytes = doc.encode_state();
    let json = doc.to_json();
    let mut fresh = Doc::load_with_replica_id(&bytes, ReplicaId(0xF0F0))
        .unwrap_or_else(|e| panic!("{what}: the document's own encoding does not load: {e}"));
    fresh.check_invariants();
    declare_roots(doc, &mut fresh);
    assert_eq!(
        fresh.to_json(),
        json,
        "{what}: value changed through encode_state + load"
    );
    assert_eq!(
        fresh.has_pending(),
        doc.has_pending(),
        "{what}: pending updates lost through encode_state + load"
    );
    assert_eq!(
        fresh.encode_state(),
        bytes,
        "{what}: re-encoding a loaded document changed its bytes"
    );
}

/// A document holding every kind of container, a nested one in a map and one in a list,
/// edited by two replicas (ids 1 and 2) and synced, then edited once more by replica 1
/// (unsynced, so replica 2 lacks it).
pub fn content_doc() -> Doc {
    let mut a = Doc::with_replica_id(ReplicaId(1));
    let mut b = Doc::with_replica_id(ReplicaId(2));
    edit_everything(&mut a, "héllo 😀");
    edit_everything(&mut b, "wörld");
    let to_b = a.encode_diff(&b.state_vector());
    let to_a = b.encode_diff(&a.state_vector());
    a.apply_update(&to_a).expect("sync");
    b.apply_update(&to_b).expect("sync");
    let t = a.text("text");
    let mut tx = a.transact();
    t.delete(&mut tx, 1, 2).expect("delete");
    t.insert(&mut tx, 0, "»").expect("insert");
    tx.commit();
    a
}

/// One transaction touching every kind of container (roots named after their kind).
pub fn edit_everything(doc: &mut Doc, text: &str) {
    let (t, l, m, c, s, r) = (
        doc.text("text"),
        doc.list("list"),
        doc.map("map"),
        doc.counter("counter"),
        doc.set("set"),
        doc.register("register"),
    );
    let mut tx = doc.transact();
    t.insert(&mut tx, 0, text).expect("text insert");
    t.delete(&mut tx, 0, 1).expect("text delete");
    l.insert(
        &mut tx,
        0,
        [Value::from(1), Value::from("two"), Value::Null],
    )
    .expect("list insert");
    l.delete(&mut tx, 1, 1).expect("list delete");
    let nested = l
        .insert_container(&mut tx, 0, Kind::Text)
        .expect("nested text");
    if let Some(nt) = weft::TextRef::from_container(nested) {
        nt.insert(&mut tx, 0, "in a list").expect("nested insert");
    }
    m.set(&mut tx, "k", Value::from(1.5)).expect("map set");
    m.set(&mut tx, "gone", true).expect("map set");
    m.delete(&mut tx, "gone").expect("map delete");
    let inner = m
        .set_container(&mut tx, "inner", Kind::Map)
        .expect("nested map");
    if let Some(im) = weft::MapRef::from_container(inner) {
        im.set(&mut tx, "deep", vec![1u8, 2, 3])
            .expect("nested set");
    }
    c.increment(&mut tx, 7).expect("increment");
    c.decrement(&mut tx, 2).expect("decrement");
    s.add(&mut tx, "red").expect("set add");
    s.add(&mut tx, "blue").expect("set add");
    s.remove(&mut tx, &Value::from("red")).expect("set remove");
    r.set(&mut tx, text).expect("register set");
}

/// A whole-document encoding of plain root texts (loads through the deferred path).
pub fn texts_encoding() -> Vec<u8> {
    let mut d = Doc::with_replica_id(ReplicaId(5));
    let (a, b) = (d.text("a"), d.text("b"));
    let mut tx = d.transact();
    a.insert(&mut tx, 0, "first text").expect("insert");
    b.insert(&mut tx, 0, "second ✓").expect("insert");
    a.delete(&mut tx, 0, 6).expect("delete");
    tx.commit();
    d.encode_state()
}

/// Converts an index in chars to `unit` for a text, clamping to its length.
pub fn clamp_index(len_in_unit: usize, raw: u32) -> usize {
    raw as usize % (len_in_unit + 1)
}

/// The units, for picking one from a fuzz byte.
pub const UNITS: [Unit; 3] = [Unit::Char, Unit::Utf16, Unit::Utf8];
