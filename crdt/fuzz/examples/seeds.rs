//! Writes seed inputs for the fuzz targets into `corpus/<target>/` (git-ignored):
//! valid encodings of every kind for `decode`, a few byte strings for `actions`.
//!
//! Run from `crdt/fuzz`: `cargo run --example seeds`.

use std::path::PathBuf;

use weft::sync::{BatchId, ClientMessage, Handle, ServerMessage};
use weft::{Assoc, Doc, ReplicaId, Unit};
use weft_fuzz::{content_doc, edit_everything, texts_encoding};

fn write(dir: &PathBuf, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).expect("write seed");
}

fn main() {
    let base = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let decode = base.join("decode");
    let actions = base.join("actions");
    std::fs::create_dir_all(&decode).expect("corpus dir");
    std::fs::create_dir_all(&actions).expect("corpus dir");

    // Whole documents.
    let full = content_doc();
    write(&decode, "doc_all_types", &full.encode_state());
    write(&decode, "doc_texts", &texts_encoding());
    let mut long = Doc::with_replica_id(ReplicaId(8));
    let t = long.text("t");
    let mut tx = long.transact();
    t.insert(&mut tx, 0, &"a rather repetitive line of text\n".repeat(12))
        .expect("insert");
    t.delete(&mut tx, 10, 40).expect("delete");
    tx.commit();
    write(&decode, "doc_lz4_text", &long.encode_state());

    // Updates: a keystroke (row layout), a deletion only, a columnar diff, one with pending
    // operations carried along.
    let sv = full.state_vector();
    let mut a = Doc::load_with_replica_id(&full.encode_state(), ReplicaId(1)).expect("load");
    let text = a.text("text");
    let mut tx = a.transact();
    text.insert(&mut tx, 3, "x").expect("insert");
    tx.commit();
    write(&decode, "update_keystroke", &a.encode_diff(&sv));
    let sv2 = a.state_vector();
    let mut tx = a.transact();
    text.delete(&mut tx, 0, 2).expect("delete");
    tx.commit();
    write(&decode, "update_deletion", &a.encode_diff(&sv2));
    edit_everything(
        &mut a,
        "more text, enough of it to be written in columns rather than rows",
    );
    let diff = a.encode_diff(&sv);
    write(&decode, "update_columns", &diff);
    let mut waiting = Doc::with_replica_id(ReplicaId(7));
    waiting.apply_update(&diff).expect("pending apply");
    write(&decode, "doc_with_pending", &waiting.encode_state());
    write(
        &decode,
        "merged",
        &weft::merge_updates(&[&diff, &full.encode_state()]).expect("merge"),
    );

    // State vectors, cursors and protocol frames.
    write(&decode, "state_vector", &a.state_vector().encode());
    let c = text
        .cursor(&a, Unit::Utf16, 2, Assoc::After)
        .expect("cursor");
    write(&decode, "cursor", &c.encode());
    write(
        &decode,
        "client_update",
        &ClientMessage::Update {
            handle: Handle(1),
            batch: BatchId(2),
            update: &diff,
        }
        .encode(),
    );
    let sv_bytes = sv.encode();
    let joined = ServerMessage::Joined {
        handle: Handle(1),
        doc: "d",
        access: weft::sync::Access::ReadWrite,
        state_vector: &sv_bytes,
        update: &diff,
    };
    write(&decode, "server_joined", &joined.encode());

    // Action sequences: any bytes decode to some; a few of different lengths.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for (i, len) in [16usize, 64, 256, 1024, 4096].into_iter().enumerate() {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        write(&actions, &format!("random_{i}"), &bytes);
    }
    println!("seeds written to {}", base.display());
}
