//! Behaviour of the public API: units, errors, events, cursors, undo, pending updates, nested
//! containers, and the non-interleaving guarantee.

use std::sync::{Arc, Mutex};

use weft::{
    Assoc, Change, Delta, Doc, Error, Kind, Len, ReplicaId, UndoManager, UndoOptions, Unit, Value,
};

fn doc(id: u64) -> Doc {
    Doc::with_replica_id(ReplicaId(id))
}

fn sync(a: &mut Doc, b: &mut Doc) {
    let to_b = a.encode_diff(&b.state_vector());
    let to_a = b.encode_diff(&a.state_vector());
    b.apply_update(&to_b).unwrap();
    a.apply_update(&to_a).unwrap();
}

#[test]
fn text_units_convert_and_reject_positions_inside_characters() {
    let mut d = doc(1);
    let t = d.text("t");
    let mut tx = d.transact();
    t.insert(&mut tx, 0, "a😀e\u{301}z").unwrap();
    tx.commit();
    assert_eq!(t.len(&d), 5);
    assert_eq!(t.len_in(&d, Unit::Utf16), 6);
    assert_eq!(t.len_in(&d, Unit::Utf8), 1 + 4 + 1 + 2 + 1);
    assert_eq!(t.convert(&d, 2, Unit::Char, Unit::Utf16).unwrap(), 3);
    assert_eq!(t.convert(&d, 3, Unit::Utf16, Unit::Char).unwrap(), 2);
    let mut tx = d.transact();
    assert_eq!(
        t.insert_at(&mut tx, Unit::Utf16, 2, "x"),
        Err(Error::InsideChar {
            index: 2,
            unit: Unit::Utf16
        })
    );
    assert_eq!(
        t.delete_at(&mut tx, Unit::Char, 4, 2),
        Err(Error::OutOfRange {
            index: 6,
            len: 5,
            unit: Unit::Char
        })
    );
    t.insert_at(&mut tx, Unit::Utf16, 3, "x").unwrap();
    t.delete_at(&mut tx, Unit::Utf16, 1, 2).unwrap();
    tx.commit();
    assert_eq!(t.to_string(&d), "axe\u{301}z");
    assert_eq!(t.slice(&d, Unit::Char, 1, 3).unwrap(), "xe");
}

#[test]
fn failed_edits_leave_the_document_unchanged() {
    let mut d = doc(1);
    let t = d.text("t");
    let m = d.map("m");
    let list = d.list("l");
    let before = d.state_vector();
    let mut tx = d.transact();
    assert!(t.insert(&mut tx, 1, "x").is_err());
    assert!(t.delete(&mut tx, 0, 1).is_err());
    assert!(list.insert(&mut tx, 3, [Value::Null]).is_err());
    assert_eq!(
        m.set(&mut tx, "k", Value::Container(m.container())),
        Err(Error::InvalidValue(
            "container references cannot be stored as values"
        ))
    );
    tx.commit();
    assert_eq!(d.state_vector(), before);
    // A handle viewed as another kind is refused.
    assert!(weft::TextRef::from_container(m.container()).is_none());
    // A handle of another document is refused rather than misused.
    let mut other = doc(2);
    let foreign = other.counter("c");
    let mut tx = d.transact();
    assert!(foreign.increment(&mut tx, 1).is_err());
}

#[test]
fn events_describe_text_changes_as_deltas_in_every_unit() {
    let mut a = doc(1);
    let t = a.text("t");
    let events = Arc::new(Mutex::new(Vec::new()));
    let e = events.clone();
    a.observe(t, move |ev| e.lock().unwrap().push(ev.clone()));
    let mut tx = a.transact();
    t.insert(&mut tx, 0, "hello 😀 world").unwrap();
    tx.commit();
    let mut tx = a.transact_with("me");
    t.delete(&mut tx, 0, 1).unwrap();
    t.insert(&mut tx, 6, "big ").unwrap();
    tx.commit();
    let evs = events.lock().unwrap().clone();
    assert_eq!(evs.len(), 2);
    assert_eq!(
        evs[0].change,
        Change::Text(vec![Delta::Insert("hello 😀 world".to_owned())])
    );
    assert_eq!(evs[1].origin.as_ref().map(|o| o.as_str()), Some("me"));
    let Change::Text(d) = &evs[1].change else {
        panic!("text change expected")
    };
    assert_eq!(
        d[0],
        Delta::Delete(Len {
            chars: 1,
            utf16: 1,
            utf8: 1
        })
    );
    assert_eq!(
        d[1],
        Delta::Retain(Len {
            chars: 6,
            utf16: 7,
            utf8: 9
        })
    );
    assert_eq!(d[2], Delta::Insert("big ".to_owned()));
    // Remote changes produce the same delta on the other side.
    let mut b = doc(2);
    let tb = b.text("t");
    let remote = Arc::new(Mutex::new(Vec::new()));
    let r = remote.clone();
    b.observe(tb, move |ev| r.lock().unwrap().push(ev.clone()));
    b.apply_update(&a.encode_state()).unwrap();
    let mut tx = a.transact();
    t.insert(&mut tx, 2, "XY").unwrap();
    tx.commit();
    b.apply_update(&a.encode_diff(&b.state_vector())).unwrap();
    let rem = remote.lock().unwrap().clone();
    assert_eq!(
        rem.last().unwrap().change,
        Change::Text(vec![
            Delta::Retain(Len::default_ascii(2)),
            Delta::Insert("XY".to_owned())
        ])
    );
    assert!(!rem.last().unwrap().local);
}

trait AsciiLen {
    fn default_ascii(n: u32) -> Len;
}

impl AsciiLen for Len {
    fn default_ascii(n: u32) -> Len {
        Len {
            chars: n,
            utf16: n,
            utf8: n,
        }
    }
}

#[test]
fn update_events_carry_each_transaction() {
    let mut a = doc(1);
    let t = a.text("t");
    let sent = Arc::new(Mutex::new(Vec::new()));
    let s = sent.clone();
    a.on_update(move |e| s.lock().unwrap().push((e.update.to_vec(), e.local)));
    for (i, c) in ["a", "b", "c"].iter().enumerate() {
        let mut tx = a.transact();
        t.insert(&mut tx, i, c).unwrap();
    }
    let mut b = doc(2);
    let tb = b.text("t");
    let updates = sent.lock().unwrap().clone();
    assert_eq!(updates.len(), 3);
    // Applied in reverse order: the later ones wait as pending until the first arrives.
    for (u, local) in updates.iter().rev() {
        assert!(*local);
        b.apply_update(u).unwrap();
    }
    assert!(!b.has_pending());
    assert_eq!(tb.to_string(&b), "abc");
}

#[test]
fn pending_updates_wait_for_their_dependencies() {
    let mut a = doc(1);
    let t = a.text("t");
    let mut tx = a.transact();
    t.insert(&mut tx, 0, "hello").unwrap();
    tx.commit();
    let first = a.encode_state();
    let sv1 = a.state_vector();
    let mut tx = a.transact();
    t.insert(&mut tx, 5, " world").unwrap();
    t.delete(&mut tx, 0, 1).unwrap();
    tx.commit();
    let second = a.encode_diff(&sv1);
    let mut b = doc(2);
    let tb = b.text("t");
    let out = b.apply_update(&second).unwrap();
    assert!(out.pending && b.has_pending());
    assert_eq!(tb.to_string(&b), "");
    assert!(b.pending_missing().get(ReplicaId(1)).ops == 0);
    // The pending operations travel with the document's own encoding.
    let mut c = doc(3);
    c.apply_update(&b.encode_state()).unwrap();
    assert!(c.has_pending());
    b.apply_update(&first).unwrap();
    assert!(!b.has_pending());
    assert_eq!(tb.to_string(&b), "ello world");
    c.apply_update(&first).unwrap();
    assert_eq!(c.text("t").to_string(&c), "ello world");
}

#[test]
fn corrupt_updates_are_rejected_and_change_nothing() {
    let mut a = doc(1);
    let t = a.text("t");
    let mut tx = a.transact();
    t.insert(&mut tx, 0, "hello").unwrap();
    tx.commit();
    let good = a.encode_state();
    let mut b = doc(2);
    let tb = b.text("t");
    let mut tx = b.transact();
    tb.insert(&mut tx, 0, "mine").unwrap();
    tx.commit();
    let before = (b.encode_state(), b.state_vector());
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x5a;
        assert!(
            b.apply_update(&bad).is_err(),
            "flipping byte {i} must be detected"
        );
        assert_eq!((b.encode_state(), b.state_vector()), before);
    }
    for n in 0..good.len() {
        assert!(b.apply_update(&good[..n]).is_err());
    }
    b.apply_update(&good).unwrap();
    assert_eq!(tb.len(&b), 9);
}

#[test]
fn concurrent_typing_at_one_position_does_not_interleave() {
    let mut a = doc(1);
    let mut b = doc(2);
    let (ta, tb) = (a.text("t"), b.text("t"));
    let mut tx = a.transact();
    ta.insert(&mut tx, 0, "[]").unwrap();
    tx.commit();
    sync(&mut a, &mut b);
    // Both type a word at the same spot, one character per transaction.
    for (i, c) in "alice".chars().enumerate() {
        let mut tx = a.transact();
        ta.insert(&mut tx, 1 + i, &c.to_string()).unwrap();
    }
    for (i, c) in "bob".chars().enumerate() {
        let mut tx = b.transact();
        tb.insert(&mut tx, 1 + i, &c.to_string()).unwrap();
    }
    sync(&mut a, &mut b);
    let s = ta.to_string(&a);
    assert_eq!(s, tb.to_string(&b));
    assert!(s == "[alicebob]" || s == "[bobalice]", "interleaved: {s}");
}

/// Local edits leave the id index behind (leaf splits and local inserts only list their leaves
/// for it), and the next lookup by id catches up. Cursors, encoding and remote edits must still
/// find every element, whenever the lookup comes.
#[test]
fn lookups_by_id_find_every_element_after_local_edits() {
    let mut a = doc(1);
    let t = a.text("t");
    let mut model = String::new();
    let mut x: u64 = 11;
    for i in 0..6000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let pos = (x >> 33) as usize % (model.len() + 1);
        let mut tx = a.transact();
        if i % 4 == 3 && pos < model.len() {
            let n = (model.len() - pos).min(1 + i % 5);
            t.delete(&mut tx, pos, n).unwrap();
            model.replace_range(pos..pos + n, "");
        } else {
            let s = ["a", "bc", "def", "ghij"][i % 4];
            t.insert(&mut tx, pos, s).unwrap();
            model.insert_str(pos, s);
            // Typing on: the same leaf, no new listing.
            t.insert(&mut tx, pos + s.len(), "k").unwrap();
            model.insert(pos + s.len(), 'k');
        }
        tx.commit();
        if i % 700 == 0 {
            // A lookup in the middle of the edits.
            let c = t.cursor(&a, Unit::Char, pos, Assoc::After).unwrap();
            assert_eq!(c.resolve(&a, Unit::Char), Some(pos));
        }
    }
    a.check_invariants();
    assert_eq!(t.to_string(&a), model);
    for pos in (0..model.len()).step_by(13) {
        let c = t.cursor(&a, Unit::Char, pos, Assoc::After).unwrap();
        assert_eq!(c.resolve(&a, Unit::Char), Some(pos));
    }
    // Encoding looks every element up by id.
    let mut b = Doc::load_with_replica_id(&a.encode_state(), ReplicaId(2)).unwrap();
    let tb = b.text("t");
    assert_eq!(tb.to_string(&b), model);
    // More local edits on both sides, then remote edits that name them by id.
    for (d, r, at) in [(&mut a, t, 5), (&mut b, tb, 9)] {
        let mut tx = d.transact();
        r.insert(&mut tx, at, "xyz").unwrap();
        r.delete(&mut tx, at + 40, 20).unwrap();
        tx.commit();
    }
    sync(&mut a, &mut b);
    a.check_invariants();
    b.check_invariants();
    assert_eq!(t.to_string(&a), tb.to_string(&b));
}

#[test]
fn cursors_stay_with_their_text() {
    let mut a = doc(1);
    let mut b = doc(2);
    let (ta, tb) = (a.text("t"), b.text("t"));
    let mut tx = a.transact();
    ta.insert(&mut tx, 0, "hello world").unwrap();
    tx.commit();
    sync(&mut a, &mut b);
    let caret = ta.cursor(&a, Unit::Char, 6, Assoc::After).unwrap();
    let end = ta.cursor(&a, Unit::Char, 11, Assoc::Before).unwrap();
    let shared = weft::Cursor::decode(&caret.encode()).unwrap();
    assert_eq!(shared, caret);
    let mut tx = b.transact();
    tb.insert(&mut tx, 0, "😀 ").unwrap();
    tb.delete(&mut tx, 8, 3).unwrap();
    tx.commit();
    sync(&mut a, &mut b);
    // The caret sat before 'w', which is gone: it stays where 'w' was.
    assert_eq!(tb.to_string(&b), "😀 hello ld");
    assert_eq!(shared.resolve(&b, Unit::Char), Some(8));
    assert_eq!(shared.resolve(&b, Unit::Utf16), Some(9));
    assert_eq!(end.resolve(&a, Unit::Char), Some(10));
    // Deleted anchor: the cursor falls back to where the element was.
    let mut tx = a.transact();
    ta.delete(&mut tx, 7, 3).unwrap();
    tx.commit();
    assert_eq!(ta.to_string(&a), "😀 hello");
    assert_eq!(caret.resolve(&a, Unit::Char), Some(7));
    assert!(weft::Cursor::decode(&[9, 9]).is_err());
}

#[test]
fn undo_reverts_only_local_changes_grouped_by_time() {
    let now = Arc::new(Mutex::new(0u64));
    let n = now.clone();
    let opts = UndoOptions {
        clock: Arc::new(move || *n.lock().unwrap()),
        ..UndoOptions::default()
    };
    let mut a = doc(1);
    let mut b = doc(2);
    let (ta, tb) = (a.text("t"), b.text("t"));
    let mut undo = UndoManager::new(&mut a, &[ta.into()], opts);
    for (i, c) in ["a", "b", "c"].iter().enumerate() {
        let mut tx = a.transact();
        ta.insert(&mut tx, i, c).unwrap();
    }
    *now.lock().unwrap() = 10_000;
    let mut tx = a.transact();
    ta.insert(&mut tx, 3, "d").unwrap();
    ta.delete(&mut tx, 0, 1).unwrap();
    tx.commit();
    assert_eq!(ta.to_string(&a), "bcd");
    // A remote edit is not undone.
    sync(&mut a, &mut b);
    let mut tx = b.transact();
    tb.insert(&mut tx, 0, "R").unwrap();
    tx.commit();
    sync(&mut a, &mut b);
    assert_eq!(ta.to_string(&a), "Rbcd");
    // The restored 'a' goes where it was: before the remote 'R' typed after it was deleted.
    assert!(undo.undo(&mut a).unwrap());
    assert_eq!(ta.to_string(&a), "aRbc");
    // Undoing the typing also removes the restored 'a'.
    assert!(undo.undo(&mut a).unwrap());
    assert_eq!(ta.to_string(&a), "R");
    assert!(!undo.undo(&mut a).unwrap());
    assert!(undo.redo(&mut a).unwrap());
    assert_eq!(ta.to_string(&a), "aRbc");
    assert!(undo.redo(&mut a).unwrap());
    assert_eq!(ta.to_string(&a), "Rbcd");
    assert!(!undo.can_redo());
    sync(&mut a, &mut b);
    assert_eq!(tb.to_string(&b), "Rbcd");
}

#[test]
fn undo_covers_maps_counters_sets_and_registers() {
    let mut d = doc(1);
    let (m, c, s, r) = (d.map("m"), d.counter("c"), d.set("s"), d.register("r"));
    let opts = UndoOptions {
        capture_timeout_ms: 0,
        ..UndoOptions::default()
    };
    let mut undo = UndoManager::new(&mut d, &[m.into(), c.into(), s.into(), r.into()], opts);
    let mut tx = d.transact();
    m.set(&mut tx, "k", 1).unwrap();
    c.increment(&mut tx, 5).unwrap();
    s.add(&mut tx, "x").unwrap();
    r.set(&mut tx, "title").unwrap();
    tx.commit();
    let mut tx = d.transact();
    m.set(&mut tx, "k", 2).unwrap();
    tx.commit();
    undo.undo(&mut d).unwrap();
    assert_eq!(m.get(&d, "k"), Some(Value::from(1)));
    undo.undo(&mut d).unwrap();
    assert_eq!(m.get(&d, "k"), None);
    assert_eq!(c.value(&d), 0);
    assert!(!s.contains(&d, &Value::from("x")));
    assert_eq!(r.get(&d), None);
    undo.redo(&mut d).unwrap();
    assert_eq!((c.value(&d), r.get(&d)), (5, Some(Value::from("title"))));
}

#[test]
fn nested_containers_sync_like_roots() {
    let mut a = doc(1);
    let mut b = doc(2);
    let (ma, la) = (a.map("root"), a.list("todo"));
    let mut tx = a.transact();
    let inner = ma.set_container(&mut tx, "body", Kind::Text).unwrap();
    let item = la.insert_container(&mut tx, 0, Kind::Map).unwrap();
    weft::TextRef::from_container(inner)
        .unwrap()
        .insert(&mut tx, 0, "nested")
        .unwrap();
    weft::MapRef::from_container(item)
        .unwrap()
        .set(&mut tx, "done", false)
        .unwrap();
    tx.commit();
    sync(&mut a, &mut b);
    assert_eq!(a.to_json(), b.to_json());
    let mb = b.map("root");
    let body =
        weft::TextRef::from_container(mb.get(&b, "body").unwrap().as_container().unwrap()).unwrap();
    let mut tx = b.transact();
    body.insert(&mut tx, 6, "!").unwrap();
    tx.commit();
    sync(&mut a, &mut b);
    assert_eq!(
        weft::TextRef::from_container(inner).unwrap().to_string(&a),
        "nested!"
    );
    let expected = r#"{"root":{"body":"nested!"},"todo":[{"done":false}]}"#;
    assert_eq!(a.to_json().to_string(), expected);
    // And through a whole-document load.
    let c = Doc::load_with_replica_id(&a.encode_state(), ReplicaId(3)).unwrap();
    assert_eq!(c.to_json().to_string(), expected);
}

#[test]
fn documents_are_send() {
    fn is_send<T: Send>() {}
    is_send::<Doc>();
}

fn texts_doc() -> (Doc, Vec<u8>) {
    let mut a = doc(1);
    let (t, u) = (a.text("t"), a.text("u"));
    let mut tx = a.transact();
    t.insert(&mut tx, 0, "hello wörld").unwrap();
    u.insert(&mut tx, 0, "second").unwrap();
    tx.commit();
    let mut tx = a.transact();
    t.delete(&mut tx, 0, 1).unwrap();
    tx.commit();
    let bytes = a.encode_state();
    (a, bytes)
}

#[test]
fn loaded_text_documents_behave_like_the_original() {
    let (mut a, bytes) = texts_doc();
    let mut b = Doc::load_with_replica_id(&bytes, ReplicaId(2)).unwrap();
    let (t, u) = (b.text("t"), b.text("u"));
    // Reads, clocks and encodings before anything else happens.
    assert_eq!(t.to_string(&b), "ello wörld");
    assert_eq!(u.to_string(&b), "second");
    assert_eq!(b.state_vector(), a.state_vector());
    assert_eq!(b.encode_state(), bytes);
    assert_eq!(t.slice(&b, Unit::Utf8, 5, 8).unwrap(), "wö");
    let caret = t.cursor(&b, Unit::Char, 6, Assoc::After).unwrap();
    assert!(b.encode_diff(&a.state_vector()).len() < 40);
    // Concurrent edits merge both ways.
    let at = a.text("t");
    let mut tx = a.transact();
    at.insert(&mut tx, 0, "H").unwrap();
    tx.commit();
    let mut tx = b.transact();
    t.insert(&mut tx, 10, "!").unwrap();
    tx.commit();
    sync(&mut a, &mut b);
    assert_eq!(t.to_string(&b), "Hello wörld!");
    assert_eq!(a.encode_state(), b.encode_state());
    assert_eq!(caret.resolve(&b, Unit::Char), Some(7));
    b.check_invariants();
}

#[test]
fn loaded_text_documents_merge_updates_and_new_roots() {
    let (mut a, bytes) = texts_doc();
    let mut b = doc(2);
    // Handles made before the load stay valid, as do ones made before the first edit.
    let early = b.text("t");
    b.apply_update(&bytes).unwrap();
    let late = b.map("late");
    let sv = a.state_vector();
    let au = a.text("u");
    let mut tx = a.transact();
    au.insert(&mut tx, 6, "!").unwrap();
    tx.commit();
    b.apply_update(&a.encode_diff(&sv)).unwrap();
    assert_eq!(b.text("u").to_string(&b), "second!");
    assert_eq!(early.to_string(&b), "ello wörld");
    let mut tx = b.transact();
    late.set(&mut tx, "k", 1).unwrap();
    tx.commit();
    assert_eq!(late.get(&b, "k"), Some(Value::from(1)));
    sync(&mut a, &mut b);
    assert_eq!(a.to_json(), b.to_json());
}

#[test]
fn forged_encodings_with_valid_checksums_never_break_a_document() {
    let (_, good) = texts_doc();
    let body_start = 6;
    let mut loaded = 0;
    for i in body_start..good.len() {
        for flip in [0x01u8, 0xff] {
            // Corrupt one byte but fix up the checksum, as a forger could.
            let mut bytes = good.clone();
            bytes[i] ^= flip;
            let sum = crc32(&bytes[body_start..]);
            bytes[2..6].copy_from_slice(&sum.to_le_bytes());
            let Ok(mut b) = Doc::load_with_replica_id(&bytes, ReplicaId(2)) else {
                continue;
            };
            loaded += 1;
            // Whatever was accepted stays usable: reads, edits, encodings, merges.
            let t = b.text("t");
            let before = t.to_string(&b);
            let mut tx = b.transact();
            t.insert(&mut tx, 0, ">").unwrap();
            tx.commit();
            assert_eq!(t.to_string(&b), format!(">{before}"), "byte {i}");
            b.check_invariants();
            let again = Doc::load_with_replica_id(&b.encode_state(), ReplicaId(3)).unwrap();
            assert_eq!(again.to_json(), b.to_json(), "byte {i}");
        }
    }
    assert!(
        loaded > 0,
        "some forgeries pass the quick check and are parsed later"
    );
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The worked example of `crdt/src/seq/README.md`: three replicas insert words between `a` and
/// `c` concurrently; every delivery order gives `"axypqmc"`.
#[test]
fn readme_worked_example_orders_concurrent_words_by_replica() {
    let mut base = doc(9);
    let bt = base.text("t");
    let mut tx = base.transact();
    bt.insert(&mut tx, 0, "ac").unwrap();
    tx.commit();
    let start = base.encode_state();
    let mut updates = Vec::new();
    for (id, word) in [(1u64, "xy"), (2, "pq"), (3, "m")] {
        let mut d = Doc::load_with_replica_id(&start, ReplicaId(id)).unwrap();
        let t = d.text("t");
        let sv = d.state_vector();
        for (i, c) in word.chars().enumerate() {
            let mut tx = d.transact();
            t.insert(&mut tx, 1 + i, &c.to_string()).unwrap();
        }
        updates.push(d.encode_diff(&sv));
    }
    for order in [
        [1, 2, 0],
        [0, 2, 1],
        [2, 0, 1],
        [0, 1, 2],
        [1, 0, 2],
        [2, 1, 0],
    ] {
        let mut d = Doc::load_with_replica_id(&start, ReplicaId(100)).unwrap();
        for i in order {
            d.apply_update(&updates[i]).unwrap();
        }
        assert_eq!(d.text("t").to_string(&d), "axypqmc", "order {order:?}");
    }
}

#[test]
fn long_pastes_and_deletions_across_leaves_keep_every_unit_right() {
    // A paste many leaves long (mixed one- to four-byte chars), typing into it, deletions
    // spanning many leaves and runs, and a second replica that receives it all.
    let piece = "fn main() { let s = \"héllo — wörld 😀\"; }\n";
    let paste = piece.repeat(400);
    let mut a = doc(1);
    let t = a.text("t");
    let mut model: Vec<char> = Vec::new();
    let mut tx = a.transact();
    t.insert(&mut tx, 0, "start end").unwrap();
    model.extend("start end".chars());
    t.insert(&mut tx, 6, &paste).unwrap();
    model.splice(6..6, paste.chars());
    for (i, at) in [10usize, 5000, 9000, 16000].into_iter().enumerate() {
        let s = format!("[{i}é]");
        t.insert(&mut tx, at, &s).unwrap();
        model.splice(at..at, s.chars());
    }
    tx.commit();
    // A deletion across many leaves reports its length in every unit.
    let events = Arc::new(Mutex::new(Vec::new()));
    let e = events.clone();
    a.observe(t, move |ev| e.lock().unwrap().push(ev.clone()));
    let mut tx = a.transact();
    t.delete(&mut tx, 100, 7000).unwrap();
    tx.commit();
    let gone: String = model.drain(100..7100).collect();
    let mut deleted = Len::default();
    for ev in events.lock().unwrap().iter() {
        let Change::Text(deltas) = &ev.change else {
            panic!("text change expected")
        };
        for d in deltas {
            if let Delta::Delete(l) = d {
                deleted = Len {
                    chars: deleted.chars + l.chars,
                    utf16: deleted.utf16 + l.utf16,
                    utf8: deleted.utf8 + l.utf8,
                };
            }
        }
    }
    assert_eq!(deleted.chars as usize, gone.chars().count());
    assert_eq!(deleted.utf16 as usize, gone.encode_utf16().count());
    assert_eq!(deleted.utf8 as usize, gone.len());
    let mut tx = a.transact();
    t.insert(&mut tx, 100, &paste).unwrap();
    model.splice(100..100, paste.chars());
    t.delete(&mut tx, 3, model.len() - 10).unwrap();
    let n = model.len() - 10;
    model.drain(3..3 + n);
    tx.commit();
    let want: String = model.iter().collect();
    assert_eq!(t.to_string(&a), want);
    assert_eq!(t.len_in(&a, Unit::Utf16), want.encode_utf16().count());
    assert_eq!(t.len_in(&a, Unit::Utf8), want.len());
    a.check_invariants();
    let mut b = doc(2);
    sync(&mut a, &mut b);
    assert_eq!(b.text("t").to_string(&b), want);
    b.check_invariants();
}
