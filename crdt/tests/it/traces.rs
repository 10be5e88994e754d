//! Replays of real editing traces (`../shared/editing-traces`, or the folder in `WEFT_TRACES`):
//! locally, split across two replicas that sync in chunks, and with UTF-16 positions as a
//! browser sends them. Each must end with the trace's `endContent`.

use std::io::Read;
use std::path::PathBuf;

use weft::{Doc, ReplicaId, TextRef, Unit};

/// One trace transaction: `(position in chars, chars deleted, text inserted)` patches.
type Txn = Vec<(usize, usize, String)>;

struct Trace {
    name: String,
    txns: Vec<Txn>,
    end: String,
}

fn trace_dirs() -> Option<Vec<PathBuf>> {
    let base = match std::env::var_os("WEFT_TRACES") {
        Some(p) => PathBuf::from(p),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/editing-traces/sequential")
        }
    };
    if !base.is_dir() {
        eprintln!(
            "editing traces not found at {}: set WEFT_TRACES to run the trace tests",
            base.display()
        );
        return None;
    }
    let mut dirs = vec![base.clone()];
    if base.join("ascii_only").is_dir() {
        dirs.push(base.join("ascii_only"));
    }
    Some(dirs)
}

fn load_traces() -> Vec<Trace> {
    let Some(dirs) = trace_dirs() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for dir in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with(".json.gz"))
            .collect();
        files.sort();
        for f in files {
            let mut s = String::new();
            flate2::read::GzDecoder::new(std::fs::File::open(&f).unwrap())
                .read_to_string(&mut s)
                .unwrap();
            let v: serde_json::Value = serde_json::from_str(&s).unwrap();
            let txns = v["txns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    t["patches"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| {
                            (
                                p[0].as_u64().unwrap() as usize,
                                p[1].as_u64().unwrap() as usize,
                                p[2].as_str().unwrap().to_owned(),
                            )
                        })
                        .collect()
                })
                .collect();
            let name = format!(
                "{}/{}",
                dir.file_name().unwrap().to_string_lossy(),
                f.file_name().unwrap().to_string_lossy()
            );
            out.push(Trace {
                name,
                txns,
                end: v["endContent"].as_str().unwrap().to_owned(),
            });
        }
    }
    out
}

fn apply_txn(doc: &mut Doc, text: TextRef, txn: &Txn, utf16: bool) {
    let mut tx = doc.transact();
    for (pos, del, ins) in txn {
        if utf16 {
            // A browser editor speaks UTF-16 code units.
            let start = text.convert(&tx, *pos, Unit::Char, Unit::Utf16).unwrap();
            if *del > 0 {
                let end = text
                    .convert(&tx, pos + del, Unit::Char, Unit::Utf16)
                    .unwrap();
                text.delete_at(&mut tx, Unit::Utf16, start, end - start)
                    .unwrap();
            }
            if !ins.is_empty() {
                text.insert_at(&mut tx, Unit::Utf16, start, ins).unwrap();
            }
        } else {
            if *del > 0 {
                text.delete(&mut tx, *pos, *del).unwrap();
            }
            if !ins.is_empty() {
                text.insert(&mut tx, *pos, ins).unwrap();
            }
        }
    }
}

#[test]
fn traces_replay_to_their_end_content() {
    for t in load_traces() {
        let mut doc = Doc::with_replica_id(ReplicaId(1));
        let text = doc.text("t");
        for txn in &t.txns {
            apply_txn(&mut doc, text, txn, false);
        }
        assert_eq!(text.to_string(&doc), t.end, "{}", t.name);
        doc.check_invariants();
        // The whole history survives an encode/load round trip, and the loaded copy edits on.
        let mut copy = Doc::load_with_replica_id(&doc.encode_state(), ReplicaId(2)).unwrap();
        let ct = copy.text("t");
        assert_eq!(ct.to_string(&copy), t.end, "{} (loaded)", t.name);
        let mut tx = copy.transact();
        ct.insert(&mut tx, 0, "x").unwrap();
        tx.commit();
        copy.check_invariants();
        doc.apply_update(&copy.encode_diff(&doc.state_vector()))
            .unwrap();
        assert_eq!(
            text.to_string(&doc),
            format!("x{}", t.end),
            "{} (merged back)",
            t.name
        );
    }
}

#[test]
fn traces_replay_with_utf16_positions() {
    for t in load_traces() {
        let mut doc = Doc::with_replica_id(ReplicaId(1));
        let text = doc.text("t");
        for txn in &t.txns {
            apply_txn(&mut doc, text, txn, true);
        }
        assert_eq!(text.to_string(&doc), t.end, "{}", t.name);
    }
}

#[test]
fn traces_split_across_two_replicas_syncing_in_chunks() {
    for t in load_traces() {
        let mut a = Doc::with_replica_id(ReplicaId(1));
        let mut b = Doc::with_replica_id(ReplicaId(2));
        let (ta, tb) = (a.text("t"), b.text("t"));
        for (i, chunk) in t.txns.chunks(997).enumerate() {
            let (doc, text) = if i % 2 == 0 {
                (&mut a, ta)
            } else {
                (&mut b, tb)
            };
            for txn in chunk {
                apply_txn(doc, text, txn, false);
            }
            // Hand over: the other replica catches up by state vector.
            if i % 2 == 0 {
                b.apply_update(&a.encode_diff(&b.state_vector())).unwrap();
            } else {
                a.apply_update(&b.encode_diff(&a.state_vector())).unwrap();
            }
        }
        assert_eq!(ta.to_string(&a), t.end, "{} (replica a)", t.name);
        assert_eq!(tb.to_string(&b), t.end, "{} (replica b)", t.name);
        assert_eq!(a.encode_state(), b.encode_state(), "{}", t.name);
    }
}
