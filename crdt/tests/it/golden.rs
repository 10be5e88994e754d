//! Golden byte files (`crdt/tests/golden/`, described in its README.md): small documents and
//! updates built deterministically with fixed replica ids.
//!
//! (a) The current encoder must produce exactly these bytes, and (b) the stored bytes must
//! decode into the expected state. A failure of (a) means the binary format changed: files
//! written by earlier builds may no longer load the same way. That needs a format version bump
//! (`update/format.rs`), an update of docs/FORMAT.md and of `tests/golden/README.md`, and then
//! a deliberate regeneration with `WEFT_BLESS=1 cargo test -p weft golden`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use weft::{
    Assoc, Clocks, Cursor, DecodeErrorKind, Doc, Kind, MapRef, ReplicaId, StateVector, TextRef,
    Unit, Value,
};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn bless() -> bool {
    std::env::var_os("WEFT_BLESS").is_some_and(|v| v == "1")
}

fn read(name: &str) -> Vec<u8> {
    let path = dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; create it with WEFT_BLESS=1 cargo test -p weft golden",
            path.display()
        )
    })
}

/// Compares freshly encoded bytes with the stored file (or writes the file when blessing).
fn check_bytes(name: &str, made: &[u8]) {
    let path = dir().join(name);
    if bless() {
        std::fs::write(&path, made).unwrap();
        eprintln!("blessed {}", path.display());
        return;
    }
    let stored = read(name);
    if stored != made {
        let at = stored
            .iter()
            .zip(made)
            .position(|(a, b)| a != b)
            .unwrap_or(stored.len().min(made.len()));
        panic!(
            "{name}: the encoder no longer produces the golden bytes (first difference at byte {at}; \
             stored {} bytes, made {} bytes).\n  stored: {:02x?}\n  made:   {:02x?}\n\
             This is a change of the binary format: bump the format version (update/format.rs), \
             update docs/FORMAT.md and tests/golden/README.md, then regenerate deliberately with \
             WEFT_BLESS=1 cargo test -p weft golden",
            stored.len(),
            made.len(),
            stored,
            made
        );
    }
}

/// Replica 1 types "Hello world"; replica 2 joins; they add "," and "!" concurrently; replica 1
/// then replaces "H" by "h". Returns both replicas (synced) and replica 1's update log.
fn text_doc() -> (Doc, Doc, Arc<Mutex<Vec<Vec<u8>>>>) {
    let mut a = Doc::with_replica_id(ReplicaId(1));
    let mut b = Doc::with_replica_id(ReplicaId(2));
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    a.on_update(move |e| {
        if e.local {
            l.lock().unwrap().push(e.update.to_vec());
        }
    });
    let (ta, tb) = (a.text("text"), b.text("text"));
    let mut tx = a.transact();
    ta.insert(&mut tx, 0, "Hello world").unwrap();
    tx.commit();
    b.apply_update(&a.encode_state()).unwrap();
    let mut tx = a.transact();
    ta.insert(&mut tx, 5, ",").unwrap();
    tx.commit();
    let mut tx = b.transact();
    tb.insert(&mut tx, 11, "!").unwrap();
    tx.commit();
    sync(&mut a, &mut b);
    let mut tx = a.transact();
    ta.delete(&mut tx, 0, 1).unwrap();
    ta.insert(&mut tx, 0, "h").unwrap();
    tx.commit();
    sync(&mut a, &mut b);
    assert_eq!(a.encode_state(), b.encode_state());
    log.lock().unwrap().clear();
    (a, b, log)
}

fn sync(a: &mut Doc, b: &mut Doc) {
    let to_b = a.encode_diff(&b.state_vector());
    let to_a = b.encode_diff(&a.state_vector());
    b.apply_update(&to_b).unwrap();
    a.apply_update(&to_a).unwrap();
}

/// The text document, then one keystroke ("?" at the end) and one deletion (the first two
/// characters) by replica 1, each its own transaction: `(doc, keystroke, deletion)`.
fn edits() -> (Doc, Vec<u8>, Vec<u8>) {
    let (mut a, _, log) = text_doc();
    let t = a.text("text");
    let mut tx = a.transact();
    t.insert(&mut tx, 13, "?").unwrap();
    tx.commit();
    let mut tx = a.transact();
    t.delete(&mut tx, 0, 2).unwrap();
    tx.commit();
    let mut log = log.lock().unwrap();
    assert_eq!(log.len(), 2);
    let deletion = log.pop().unwrap();
    let keystroke = log.pop().unwrap();
    drop(log);
    (a, keystroke, deletion)
}

/// Every kind of container, with nested containers in a map and a list (replica 7).
fn all_types_doc() -> Doc {
    let mut d = Doc::with_replica_id(ReplicaId(7));
    let (title, items, meta, likes, colors, status) = (
        d.text("title"),
        d.list("items"),
        d.map("meta"),
        d.counter("likes"),
        d.set("colors"),
        d.register("status"),
    );
    let mut tx = d.transact();
    title.insert(&mut tx, 0, "Weft ✓").unwrap();
    items
        .insert(
            &mut tx,
            0,
            [
                Value::from(1),
                Value::from("two"),
                Value::Null,
                Value::from(2.5),
                Value::from(true),
            ],
        )
        .unwrap();
    items.delete(&mut tx, 2, 1).unwrap();
    let inner =
        MapRef::from_container(items.insert_container(&mut tx, 4, Kind::Map).unwrap()).unwrap();
    inner.set(&mut tx, "k", "v").unwrap();
    meta.set(&mut tx, "author", "ada").unwrap();
    meta.set(&mut tx, "tags", vec![Value::from("x")]).unwrap();
    meta.set(&mut tx, "bytes", vec![1u8, 2]).unwrap();
    let notes =
        TextRef::from_container(meta.set_container(&mut tx, "notes", Kind::Text).unwrap()).unwrap();
    notes.insert(&mut tx, 0, "nested").unwrap();
    likes.increment(&mut tx, 5).unwrap();
    likes.decrement(&mut tx, 2).unwrap();
    for c in ["red", "green", "blue"] {
        colors.add(&mut tx, c).unwrap();
    }
    colors.remove(&mut tx, &Value::from("green")).unwrap();
    status.set(&mut tx, "draft").unwrap();
    status.set(&mut tx, "final").unwrap();
    tx.commit();
    d
}

/// A larger update of replica 2 on top of the text document: 41 operations, so it is written
/// in the columnar layout.
fn columns_update() -> Vec<u8> {
    let (_, mut b, _) = text_doc();
    let sv = b.state_vector();
    let (m, c, t) = (b.map("scores"), b.counter("total"), b.text("text"));
    let mut tx = b.transact();
    for i in 0..20i64 {
        m.set(&mut tx, &format!("p{i}"), i * i).unwrap();
        c.increment(&mut tx, i).unwrap();
    }
    t.insert(&mut tx, 0, ">> ").unwrap();
    tx.commit();
    b.encode_diff(&sv)
}

const DULL: &str = "All work and no play makes Jack a dull boy. ";

/// A long repetitive text, so the text block is LZ4-compressed (replica 3).
fn lz4_text_doc() -> Doc {
    let mut d = Doc::with_replica_id(ReplicaId(3));
    let t = d.text("story");
    let mut tx = d.transact();
    t.insert(&mut tx, 0, &DULL.repeat(8)).unwrap();
    tx.commit();
    d
}

fn cursor() -> Cursor {
    let (mut doc, _, _) = edits();
    doc.text("text")
        .cursor(&doc, Unit::Char, 4, Assoc::After)
        .unwrap()
}

fn sv(entries: &[(u64, u64, u64)]) -> StateVector {
    let mut s = StateVector::new();
    for &(r, ops, deletes) in entries {
        s.set(ReplicaId(r), Clocks { ops, deletes });
    }
    s
}

fn load(bytes: &[u8]) -> Doc {
    Doc::load_with_replica_id(bytes, ReplicaId(50)).unwrap()
}

#[test]
fn golden_encodings_are_stable() {
    check_all();
}

/// Checks (or, when blessing, writes) every file, once per test run.
fn check_all() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    if bless() {
        ONCE.call_once(check_all_now);
    } else {
        check_all_now();
    }
}

fn check_all_now() {
    let (a, _, _) = text_doc();
    check_bytes("text_doc.bin", &a.encode_state());
    let (doc, keystroke, deletion) = edits();
    check_bytes("keystroke_update.bin", &keystroke);
    check_bytes("deletion_update.bin", &deletion);
    check_bytes("state_vector.bin", &doc.state_vector().encode());
    check_bytes("all_types_doc.bin", &all_types_doc().encode_state());
    check_bytes("columns_update.bin", &columns_update());
    check_bytes("lz4_text_doc.bin", &lz4_text_doc().encode_state());
    check_bytes("cursor.bin", &cursor().encode());
}

#[test]
fn golden_files_decode_to_their_documents() {
    // When blessing, the files are written before they are read.
    if bless() {
        check_all();
    }
    // Flags byte (docs/FORMAT.md): 1 checksum, 2 whole document (row layout: one stream),
    // 4 rows, 8 containers, 16 deletions, 32 text, 64 values, 128 carried updates.
    let text = read("text_doc.bin");
    assert_eq!(text[0], 0xa2, "magic and format version 2");
    assert_eq!(text[1] & 0b111, 0b011, "whole documents carry a checksum");
    let mut doc = load(&text);
    assert_eq!(doc.to_json().to_string(), r#"{"text":"hello, world!"}"#);
    assert_eq!(doc.state_vector(), sv(&[(1, 13, 1), (2, 1, 0)]));

    let keystroke = read("keystroke_update.bin");
    assert_eq!(
        keystroke[1] & 0b111,
        0b110,
        "a keystroke is a row-layout update of one stream, without checksum"
    );
    doc.apply_update(&keystroke).unwrap();
    assert_eq!(doc.text("text").to_string(&doc), "hello, world!?");

    let deletion = read("deletion_update.bin");
    assert_eq!(
        deletion[1] & 0b0001_1000,
        0b0001_0000,
        "deletions only, no container table"
    );
    doc.apply_update(&deletion).unwrap();
    assert_eq!(doc.text("text").to_string(&doc), "llo, world!?");
    assert!(!doc.has_pending());

    let state = StateVector::decode(&read("state_vector.bin")).unwrap();
    assert_eq!(state, sv(&[(1, 14, 3), (2, 1, 0)]));
    assert_eq!(state, doc.state_vector());

    let cursor = Cursor::decode(&read("cursor.bin")).unwrap();
    assert_eq!(
        cursor.resolve(&doc, Unit::Char),
        Some(4),
        "at the space after the comma"
    );
    let t = doc.text("text");
    let mut tx = doc.transact();
    t.insert(&mut tx, 0, "¡").unwrap();
    tx.commit();
    assert_eq!(
        cursor.resolve(&doc, Unit::Char),
        Some(5),
        "the cursor moves with its character"
    );
    assert_eq!(cursor.resolve(&doc, Unit::Utf8), Some(6));

    let mut doc = load(&text);
    let columns = read("columns_update.bin");
    assert_eq!(
        columns[1] & 0b111,
        0,
        "41 operations are written in columns, without checksum"
    );
    doc.apply_update(&columns).unwrap();
    let scores = doc.map("scores");
    assert_eq!(scores.len(&doc), 20);
    assert_eq!(scores.get(&doc, "p7"), Some(Value::from(49)));
    assert_eq!(doc.counter("total").value(&doc), 190);
    assert_eq!(doc.text("text").to_string(&doc), ">> hello, world!");

    let all = load(&read("all_types_doc.bin"));
    assert_eq!(
        all.to_json().to_string(),
        r#"{"colors":["blue","red"],"items":[1,"two",2.5,true,{"k":"v"}],"likes":3,"meta":{"author":"ada","bytes":[1,2],"notes":"nested","tags":["x"]},"status":"final","title":"Weft ✓"}"#
    );
    all.check_invariants();

    // Encodings of format version 1 are refused with a typed error, never misread.
    let v1 = read("v1_text_doc.bin");
    assert_eq!(&v1[..2], b"W\x01");
    let Err(err) = Doc::load(&v1) else {
        panic!("version 1 is refused")
    };
    assert_eq!(err.kind(), DecodeErrorKind::UnsupportedVersion(1));
    assert!(Doc::new().apply_update(&v1).is_err());
    for (bytes, kind) in [
        (&[0xa3, 0x00][..], DecodeErrorKind::UnsupportedVersion(3)),
        (&[0x57, 0x07], DecodeErrorKind::UnsupportedVersion(7)),
        (&[0x42, 0x00], DecodeErrorKind::BadMagic),
    ] {
        let Err(err) = Doc::load(bytes) else {
            panic!("{bytes:02x?} is refused")
        };
        assert_eq!(err.kind(), kind);
    }

    let story = read("lz4_text_doc.bin");
    assert!(
        story.len() < DULL.len() * 8 / 2,
        "the text block is compressed"
    );
    let story_doc = load(&story);
    assert_eq!(
        story_doc.to_json().to_string(),
        format!(r#"{{"story":"{}"}}"#, DULL.repeat(8))
    );
}

/// Every golden encoding (both layouts, whole documents and updates) with any one byte changed
/// or cut short decodes to a document or fails with a typed error: never a panic, and a refused
/// update leaves the document as it was.
#[test]
fn damaged_golden_encodings_are_refused_or_applied_never_panic() {
    let files = [
        "text_doc.bin",
        "keystroke_update.bin",
        "deletion_update.bin",
        "all_types_doc.bin",
        "columns_update.bin",
        "lz4_text_doc.bin",
    ];
    let text = read("text_doc.bin");
    let before = load(&text).to_json();
    for name in files {
        let good = read(name);
        let mut variants: Vec<Vec<u8>> = (0..good.len()).map(|n| good[..n].to_vec()).collect();
        for i in 0..good.len() {
            for flip in [0x01u8, 0x02, 0x08, 0x10, 0x40, 0x80, 0xff] {
                let mut bytes = good.clone();
                bytes[i] ^= flip;
                variants.push(bytes);
            }
        }
        for bytes in variants {
            if let Ok(doc) = Doc::load_with_replica_id(&bytes, ReplicaId(60)) {
                let _ = doc.to_json();
            }
            let _ = weft::update_state_vector(&bytes);
            let mut doc = load(&text);
            if doc.apply_update(&bytes).is_err() {
                assert_eq!(
                    doc.to_json(),
                    before,
                    "{name}: a refused update changed the document"
                );
            }
            doc.check_invariants();
        }
    }
}
