//! Seeded multi-replica simulations: random edits on every type, updates delivered late,
//! reordered, duplicated or dropped (recovered by state-vector sync), then a full sync that must
//! leave every replica with identical values, state vectors and encodings.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use weft::{CounterRef, Doc, ListRef, MapRef, RegisterRef, ReplicaId, SetRef, TextRef, Value};

struct Replica {
    doc: Doc,
    outbox: Arc<Mutex<Vec<Vec<u8>>>>,
    text: TextRef,
    list: ListRef,
    map: MapRef,
    counter: CounterRef,
    set: SetRef,
    register: RegisterRef,
}

impl Replica {
    fn new(id: u64) -> Self {
        let mut doc = Doc::with_replica_id(ReplicaId(id));
        let outbox = Arc::new(Mutex::new(Vec::new()));
        let o = outbox.clone();
        doc.on_update(move |e| {
            if e.local {
                o.lock().unwrap().push(e.update.to_vec());
            }
        });
        Self {
            text: doc.text("text"),
            list: doc.list("list"),
            map: doc.map("map"),
            counter: doc.counter("counter"),
            set: doc.set("set"),
            register: doc.register("register"),
            doc,
            outbox,
        }
    }
}

/// What every replica must agree on, checked against naive models where one exists.
#[derive(Default)]
struct Model {
    counter: i64,
    /// value → the adds no remove has cancelled yet, each as the id of its operation (replica,
    /// operation sequence number): a replica has seen an add once its state vector passes it.
    set_adds: BTreeMap<Value, BTreeSet<(ReplicaId, u64)>>,
}

const ALPHABET: &[&str] = &["a", "b", "c", "xyz", "é", "😀", "e\u{301}", "\n", "字"];

fn random_text(rng: &mut StdRng) -> String {
    let n = rng.random_range(1..4);
    (0..n)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())])
        .collect()
}

fn edit(r: &mut Replica, rng: &mut StdRng, model: &mut Model) {
    let edits = rng.random_range(1..4);
    let mut tx = r.doc.transact();
    for _ in 0..edits {
        match rng.random_range(0..12) {
            0..=3 => {
                let len = r.text.len(&tx);
                let pos = rng.random_range(0..=len);
                r.text.insert(&mut tx, pos, &random_text(rng)).unwrap();
            }
            4 | 5 => {
                let len = r.text.len(&tx);
                if len > 0 {
                    let pos = rng.random_range(0..len);
                    let n = rng.random_range(1..=(len - pos).min(5));
                    r.text.delete(&mut tx, pos, n).unwrap();
                }
            }
            6 => {
                let len = r.list.len(&tx);
                let pos = rng.random_range(0..=len);
                let v = Value::from(rng.random_range(0..100i64));
                r.list.insert(&mut tx, pos, [v, Value::from("x")]).unwrap();
            }
            7 => {
                let len = r.list.len(&tx);
                if len > 0 {
                    let pos = rng.random_range(0..len);
                    r.list.delete(&mut tx, pos, 1).unwrap();
                }
            }
            8 => {
                let key = ["a", "b", "c"][rng.random_range(0..3)];
                if rng.random_bool(0.2) {
                    r.map.delete(&mut tx, key).unwrap();
                } else {
                    r.map
                        .set(&mut tx, key, rng.random_range(0..1000i64))
                        .unwrap();
                }
            }
            9 => {
                let n = rng.random_range(-5..=5i64);
                r.counter.increment(&mut tx, n).unwrap();
                model.counter += n;
            }
            10 => {
                let v = Value::from(["red", "green", "blue"][rng.random_range(0..3)]);
                let me = tx.replica_id();
                if rng.random_bool(0.6) {
                    // The add is this replica's next operation.
                    let seq = tx.state_vector().get(me).ops;
                    r.set.add(&mut tx, v.clone()).unwrap();
                    model.set_adds.entry(v).or_default().insert((me, seq));
                } else if r.set.remove(&mut tx, &v).unwrap() {
                    // The remove cancels exactly the adds this replica has seen.
                    let sv = tx.state_vector();
                    if let Some(adds) = model.set_adds.get_mut(&v) {
                        adds.retain(|&(replica, seq)| sv.get(replica).ops <= seq);
                    }
                }
            }
            _ => {
                r.register
                    .set(&mut tx, rng.random_range(0..1000i64))
                    .unwrap();
            }
        }
    }
}

fn sync_all(reps: &mut [Replica]) {
    for _ in 0..3 {
        for i in 0..reps.len() {
            for j in 0..reps.len() {
                if i != j {
                    let sv = reps[j].doc.state_vector();
                    let diff = reps[i].doc.encode_diff(&sv);
                    reps[j].doc.apply_update(&diff).unwrap();
                }
            }
        }
    }
}

/// Runs one seeded simulation of `n` replicas for `steps` steps and checks convergence.
pub(crate) fn simulate(seed: u64, steps: usize, n: usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut reps: Vec<Replica> = (0..n)
        .map(|_| Replica::new(rng.random_range(1..1_000_000)))
        .collect();
    let mut inbox: Vec<Vec<Vec<u8>>> = vec![Vec::new(); n];
    let mut model = Model::default();
    for step in 0..steps {
        let _ = step;
        for r in &reps {
            r.doc.check_invariants();
        }
        let who = rng.random_range(0..n);
        let action = rng.random_range(0..10);
        if std::env::var("WEFT_SIM_TRACE").is_ok() {
            eprintln!("seed {seed} step {step}: replica {who} action {action}");
        }
        match action {
            0..=4 => {
                edit(&mut reps[who], &mut rng, &mut model);
                let sent: Vec<Vec<u8>> = std::mem::take(&mut *reps[who].outbox.lock().unwrap());
                for u in sent {
                    for (to, q) in inbox.iter_mut().enumerate() {
                        if to != who && !rng.random_bool(0.1) {
                            q.push(u.clone());
                        }
                    }
                }
            }
            5..=7 => {
                // Deliver one message, in random order, sometimes keeping it for a duplicate.
                if !inbox[who].is_empty() {
                    let k = rng.random_range(0..inbox[who].len());
                    let u = if rng.random_bool(0.15) {
                        inbox[who][k].clone()
                    } else {
                        inbox[who].swap_remove(k)
                    };
                    reps[who].doc.apply_update(&u).unwrap();
                }
            }
            8 => {
                let other = rng.random_range(0..n);
                if other != who {
                    let sv = reps[who].doc.state_vector();
                    let diff = reps[other].doc.encode_diff(&sv);
                    reps[who].doc.apply_update(&diff).unwrap();
                }
            }
            _ => {
                // A whole-document encoding merged into a live replica.
                let other = rng.random_range(0..n);
                if other != who {
                    let full = reps[other].doc.encode_state();
                    reps[who].doc.apply_update(&full).unwrap();
                }
            }
        }
    }
    sync_all(&mut reps);
    let first_json = reps[0].doc.to_json();
    let first_sv = reps[0].doc.state_vector();
    let first_enc = reps[0].doc.encode_state();
    for (i, r) in reps.iter().enumerate() {
        assert!(
            !r.doc.has_pending(),
            "seed {seed}: replica {i} has pending updates"
        );
        assert_eq!(
            r.doc.to_json(),
            first_json,
            "seed {seed}: replica {i} value differs"
        );
        assert_eq!(
            r.doc.state_vector(),
            first_sv,
            "seed {seed}: replica {i} state vector differs"
        );
        assert_eq!(
            r.doc.encode_state(),
            first_enc,
            "seed {seed}: replica {i} encoding differs"
        );
    }
    // Naive models.
    assert_eq!(
        reps[0].counter.value(&reps[0].doc),
        model.counter,
        "seed {seed}: counter"
    );
    let expected: BTreeSet<Value> = model
        .set_adds
        .iter()
        .filter(|(_, d)| !d.is_empty())
        .map(|(v, _)| v.clone())
        .collect();
    let actual: BTreeSet<Value> = reps[0].set.values(&reps[0].doc).into_iter().collect();
    assert_eq!(actual, expected, "seed {seed}: OR-set against its model");
    // A replica loaded from the encoding holds the same state and keeps working.
    let mut loaded = Doc::with_replica_id(ReplicaId(999_999_999));
    loaded.apply_update(&first_enc).unwrap();
    assert_eq!(
        loaded.to_json(),
        first_json,
        "seed {seed}: loaded document differs"
    );
    assert_eq!(
        loaded.encode_state(),
        first_enc,
        "seed {seed}: re-encoding differs"
    );
}

#[test]
fn fixed_seeds_converge() {
    for seed in 0..40 {
        simulate(seed, 300, 3);
    }
}

#[test]
fn five_replicas_converge() {
    for seed in 100..110 {
        simulate(seed, 400, 5);
    }
}

#[test]
#[ignore = "long soak: cargo test -p weft --release -- --ignored soak"]
fn soak() {
    let seeds: u64 = std::env::var("WEFT_SOAK_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    for seed in 1000..1000 + seeds {
        simulate(seed, 1000, 4);
    }
}

/// `soak`, seed 1774: the naive OR-set model counted an add as seen by a replica only once that
/// replica had caught up with the adder's whole state, so a remove made after a partial sync
/// cancelled more adds in the engine (correctly: every add it had received) than in the model,
/// and the two disagreed on "blue". The model now tracks each add by its operation id.
#[test]
fn seed_1774() {
    simulate(1774, 1000, 4);
}
