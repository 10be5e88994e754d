//! Any bytes into every public decoder of `weft`: state vectors, cursors, the sync protocol
//! codec and client session, the standalone update functions, and `Doc::apply_update` into an
//! empty document, a document with content of every kind, and a lazily loaded text document.
//!
//! Decoders must never panic, hang or allocate wildly. After an `Err` the document is
//! unchanged; after `Ok` it stays usable (invariants, encode → load → same value and bytes),
//! a second apply changes nothing, and an edit afterwards behaves as on any document.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use weft::sync::{
    Access, ClientId, ClientMessage, Handle, Limits, Received, ServerMessage, Session,
};
use weft::{Cursor, Doc, Kind, ReplicaId, StateVector, TextRef, Value};
use weft_fuzz::{UNITS, check_usable, content_doc, declare_roots, snapshot, texts_encoding};

/// `content_doc()`'s encoding and state vector, made once.
fn content() -> &'static (Vec<u8>, StateVector) {
    static C: OnceLock<(Vec<u8>, StateVector)> = OnceLock::new();
    C.get_or_init(|| {
        let d = content_doc();
        (d.encode_state(), d.state_vector())
    })
}

fn texts() -> &'static [u8] {
    static T: OnceLock<Vec<u8>> = OnceLock::new();
    T.get_or_init(texts_encoding)
}

fuzz_target!(|data: &[u8]| {
    state_vectors(data);
    cursors(data);
    protocol(data);
    standalone_updates(data);
    let mut empty = Doc::with_replica_id(ReplicaId(3));
    into_doc(&mut empty, data, "empty doc");
    let mut full = content_doc();
    into_doc(&mut full, data, "doc with content");
    let mut lazy = Doc::load_with_replica_id(texts(), ReplicaId(6)).expect("texts load");
    into_doc(&mut lazy, data, "lazily loaded doc");
});

fn state_vectors(data: &[u8]) {
    if let Ok(sv) = StateVector::decode(data) {
        let bytes = sv.encode();
        let again = StateVector::decode(&bytes).expect("a state vector's encoding decodes");
        assert_eq!(again, sv, "state vector changed through encode + decode");
        assert_eq!(
            again.encode(),
            bytes,
            "state vector encoding is not canonical"
        );
    }
}

fn cursors(data: &[u8]) {
    if let Ok(c) = Cursor::decode(data) {
        let again = Cursor::decode(&c.encode()).expect("a cursor's encoding decodes");
        assert_eq!(again, c, "cursor changed through encode + decode");
        let doc = content_doc();
        for unit in UNITS {
            let _ = c.resolve(&doc, unit);
        }
    }
}

fn protocol(data: &[u8]) {
    if let Ok(m) = ClientMessage::decode(data) {
        let bytes = m.encode();
        assert_eq!(
            ClientMessage::decode(&bytes).expect("client message re-decodes"),
            m
        );
    }
    if let Ok(m) = ServerMessage::decode(data) {
        let bytes = m.encode();
        assert_eq!(
            ServerMessage::decode(&bytes).expect("server message re-decodes"),
            m
        );
    }
    // A connected client session joining a document: the bytes as a raw frame, then as the
    // state vector and update of a `Joined`, then as a server `Update`.
    let mut session = Session::new(None);
    let _hello = session.connect();
    let limits = Limits {
        max_frame_bytes: 1 << 20,
        max_update_bytes: 1 << 20,
        max_presence_bytes: 1024,
        presence_timeout_ms: 30_000,
        max_documents: 8,
    };
    let welcome = ServerMessage::Welcome {
        version: 1,
        client: ClientId(9),
        limits,
    }
    .encode();
    assert!(matches!(session.receive(&welcome), Ok(Received::Done(_))));
    let mut doc = Doc::load_with_replica_id(&content().0, ReplicaId(1)).expect("content loads");
    let _join = session.add_doc("d", &doc);
    let joined = ServerMessage::Joined {
        handle: Handle(1),
        doc: "d",
        access: Access::ReadWrite,
        state_vector: data,
        update: data,
    }
    .encode();
    let update = ServerMessage::Update {
        handle: Handle(1),
        update: data,
    }
    .encode();
    for frame in [data, &joined[..], &update[..]] {
        if let Ok(Received::Doc(msg)) = session.receive(frame) {
            let _ = session.handle(&mut doc, msg);
        }
        doc.check_invariants();
    }
}

fn standalone_updates(data: &[u8]) {
    let usv = weft::update_state_vector(data);
    let merged = weft::merge_updates(&[data]);
    let merged2 = weft::merge_updates(&[data, data]);
    let diff = weft::diff_update(data, &content().1);
    let diff0 = weft::diff_update(data, &StateVector::new());
    let direct = Doc::load_with_replica_id(data, ReplicaId(4));
    assert_eq!(
        merged.is_ok(),
        direct.is_ok(),
        "merge_updates and load disagree on validity"
    );
    assert_eq!(
        merged2.is_ok(),
        direct.is_ok(),
        "merge_updates of a duplicate and load disagree on validity"
    );
    assert_eq!(
        diff0.is_ok(),
        direct.is_ok(),
        "diff_update and load disagree on validity"
    );
    assert_eq!(
        diff.is_ok(),
        direct.is_ok(),
        "diff_update and load disagree on validity"
    );
    let Ok(direct) = direct else {
        return;
    };
    assert_eq!(
        usv.as_ref().ok(),
        Some(&direct.state_vector()),
        "update_state_vector differs from the state of a replica that loaded the update"
    );
    let json = direct.to_json();
    let sv = direct.state_vector();
    for (what, m) in [
        ("merge_updates([u])", merged),
        ("merge_updates([u, u])", merged2),
        ("diff_update(u, {})", diff0),
    ] {
        let m = m.expect("checked above");
        let mut d = Doc::load_with_replica_id(&m, ReplicaId(4))
            .unwrap_or_else(|e| panic!("{what} does not load: {e}"));
        declare_roots(&direct, &mut d);
        assert_eq!(
            d.to_json(),
            json,
            "{what}: value differs from applying the update"
        );
        assert_eq!(
            d.state_vector(),
            sv,
            "{what}: state vector differs from applying the update"
        );
        assert_eq!(
            d.has_pending(),
            direct.has_pending(),
            "{what}: pending differs from applying the update"
        );
    }
    if let Ok(diff) = diff {
        let mut d = Doc::load_with_replica_id(&content().0, ReplicaId(1)).expect("content loads");
        d.apply_update(&diff).unwrap_or_else(|e| {
            panic!("diff_update output does not apply where it was aimed: {e}")
        });
        d.check_invariants();
    }
}

fn into_doc(doc: &mut Doc, data: &[u8], what: &str) {
    let before = snapshot(doc);
    match doc.apply_update(data) {
        Err(_) => {
            assert_eq!(
                snapshot(doc),
                before,
                "{what}: a rejected update changed the document"
            );
            doc.check_invariants();
            assert!(
                doc.apply_update_with(data, "again").is_err(),
                "{what}: rejected once, accepted the second time"
            );
            assert_eq!(
                snapshot(doc),
                before,
                "{what}: a rejected update changed the document"
            );
        }
        Ok(_) => {
            check_usable(doc, what);
            let after = snapshot(doc);
            assert!(
                before.state_vector <= after.state_vector,
                "{what}: applying an update forgot operations"
            );
            doc.apply_update_with(data, "again")
                .unwrap_or_else(|e| panic!("{what}: accepted once, rejected the second time: {e}"));
            let twice = snapshot(doc);
            assert_eq!(
                twice.json, after.json,
                "{what}: applying an update twice changed the value"
            );
            assert_eq!(
                twice.state_vector, after.state_vector,
                "{what}: applying an update twice changed the state vector"
            );
            assert_eq!(
                twice.pending, after.pending,
                "{what}: applying an update twice changed what is pending"
            );
            check_usable(doc, what);
        }
    }
    edit_after(doc, what);
}

/// Edits every root text and a new counter, then checks the edit did exactly that.
fn edit_after(doc: &mut Doc, what: &str) {
    let sv = doc.state_vector();
    let roots = doc.roots();
    let values: Vec<Value> = roots
        .iter()
        .map(|(_, c)| doc.container_json(*c, 0))
        .collect();
    let counter = doc.counter("\u{1}fuzz");
    let fresh_counter = !roots
        .iter()
        .any(|(n, c)| n == "\u{1}fuzz" && c.kind() == Kind::Counter);
    let before_counter = counter.value(doc);
    let mut tx = doc.transact();
    for (_, c) in &roots {
        if let Some(t) = TextRef::from_container(*c) {
            t.insert(&mut tx, 0, "#")
                .unwrap_or_else(|e| panic!("{what}: inserting at 0 failed: {e}"));
        }
    }
    counter
        .increment(&mut tx, 1)
        .unwrap_or_else(|e| panic!("{what}: increment failed: {e}"));
    tx.commit();
    for ((name, c), old) in roots.iter().zip(values) {
        let now = doc.container_json(*c, 0);
        let expected = match (c.kind(), old) {
            (Kind::Text, Value::String(s)) => Value::String(format!("#{s}")),
            (_, old) => old,
        };
        assert_eq!(
            now, expected,
            "{what}: an edit changed root {name:?} unexpectedly"
        );
    }
    assert_eq!(
        counter.value(doc),
        before_counter.wrapping_add(1),
        "{what}: counter increment lost"
    );
    if fresh_counter {
        assert_eq!(counter.value(doc), 1);
    }
    let after = doc.state_vector();
    assert!(
        sv <= after,
        "{what}: a local edit forgot operations: {sv:?} then {after:?}"
    );
    check_usable(doc, what);
}
