//! The workloads, written once over [`TextCrdt`]. Each function does the work and checks its
//! result; the timed part is returned as a [`Duration`] so callers can repeat and take medians.
//!
//! 1. [`replay`]: every trace transaction as one local transaction; the text must equal the
//!    trace's `endContent`.
//! 2. [`merge`]: a replayed document's whole history as one update into an empty replica.
//! 3. [`encode`] and [`load`]: the whole document in the library's standard format, then a fresh
//!    document from those bytes.
//! 4. [`concurrent_text`], [`concurrent_map`], [`concurrent_list`]: replicas forked from one base
//!    edit concurrently, then exchange updates; the replicas must converge.
//!
//! Memory (retained and peak bytes of a replay) is measured by wrapping [`replay`] in
//! [`crate::alloc::measure`].

use std::time::{Duration, Instant};

use crate::rng::SplitMix64;
use crate::trace::{Edit, Trace};
use crate::{Error, Result, TextCrdt};

/// Operations per replica in the two-replica text scenario.
pub const CONCURRENT_OPS: usize = 6000;

/// Replicas in the map and list scenarios for `n` operations: ⌊20·√n⌋.
pub fn replica_count(n: usize) -> usize {
    (20.0 * (n as f64).sqrt()) as usize
}

fn expect_text<L: TextCrdt>(doc: &mut L, expected: &str, what: &str) -> Result<()> {
    let text = doc.text()?;
    if text == expected {
        return Ok(());
    }
    let at = text
        .chars()
        .zip(expected.chars())
        .take_while(|(a, b)| a == b)
        .count();
    Err(Error::new(format!(
        "{}: {what}: text differs from the expected text at char {at} ({} chars, expected {})",
        L::NAME,
        text.chars().count(),
        expected.chars().count()
    )))
}

/// Replays `trace` into a new document of replica `replica`, one transaction per trace
/// transaction. Returns the document, unchecked (see [`replay_checked`]).
pub fn replay<L: TextCrdt>(trace: &Trace, replica: u64) -> Result<L> {
    let mut doc = L::new(replica);
    let mut edits: Vec<Edit<'_>> = Vec::new();
    for txn in trace.txns() {
        edits.clear();
        edits.extend(txn);
        doc.apply_txn(&edits)?;
    }
    Ok(doc)
}

/// [`replay`], timed, then reads the text and checks it equals the trace's `endContent` (the
/// read is outside the timing).
pub fn replay_checked<L: TextCrdt>(trace: &Trace) -> Result<(L, Duration)> {
    let start = Instant::now();
    let mut doc = replay::<L>(trace, 1)?;
    let time = start.elapsed();
    expect_text(&mut doc, trace.end_content(), "replay")?;
    Ok((doc, time))
}

/// Applies `update` (a whole history) to an empty replica and reads the text; times both and
/// checks the text.
pub fn merge<L: TextCrdt>(update: &[u8], expected: &str) -> Result<Duration> {
    let start = Instant::now();
    let mut doc = L::new(2);
    doc.apply_update(update)?;
    let text = doc.text()?;
    let time = start.elapsed();
    if text != expected {
        expect_text(&mut doc, expected, "merge")?;
    }
    drop(std::hint::black_box(doc));
    Ok(time)
}

/// Encodes the document; returns the bytes and the time taken.
pub fn encode<L: TextCrdt>(doc: &mut L) -> Result<(Vec<u8>, Duration)> {
    let start = Instant::now();
    let bytes = doc.encode()?;
    Ok((bytes, start.elapsed()))
}

/// Loads a document from `bytes` and reads its text; times both and checks the text.
pub fn load<L: TextCrdt>(bytes: &[u8], expected: &str) -> Result<Duration> {
    let start = Instant::now();
    let mut doc = L::load(bytes)?;
    let text = doc.text()?;
    let time = start.elapsed();
    if text != expected {
        expect_text(&mut doc, expected, "load")?;
    }
    drop(std::hint::black_box(doc));
    Ok(time)
}

/// What a concurrent scenario measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncOutcome {
    /// Time to produce every update sent and apply every update received.
    pub time: Duration,
    /// Total size of the updates exchanged.
    pub update_bytes: usize,
    /// Size of the encoded document after the sync.
    pub doc_bytes: usize,
}

const WORDS: &[&str] = &["the ", "a", "ing", "e", " ", "lorem ", "x", "\n", "st", "o"];

/// Scenario (a): two replicas forked from a small base document each make `ops` random edits
/// (one transaction each: an insert of 1–4 chars, or a delete of 1–3 chars one time in three)
/// at random positions, then exchange their updates both ways. Seeded, so every run and library
/// sees the same edits. Checks that both replicas end with the same text.
pub fn concurrent_text<L: TextCrdt>(ops: usize, seed: u64) -> Result<SyncOutcome> {
    let mut base = L::new(1);
    let base_text = "Two replicas edit this shared document at the same time.\n".repeat(4);
    base.apply_txn(&[Edit::bmp(0, 0, &base_text)])?;
    let since = base.version()?;
    let mut a = base.fork(2)?;
    let mut b = base.fork(3)?;
    let base_len = base_text.chars().count();
    for (doc, replica_seed) in [(&mut a, seed), (&mut b, seed ^ 0x5EED)] {
        let mut rng = SplitMix64::new(replica_seed);
        let mut len = base_len;
        let mut ins = String::new();
        for _ in 0..ops {
            let pos = rng.below(len + 1);
            if len > pos && rng.chance(1, 3) {
                let del = 1 + rng.below((len - pos).min(3));
                doc.apply_txn(&[Edit::bmp(pos, del, "")])?;
                len -= del;
            } else {
                ins.clear();
                for _ in 0..=rng.below(2) {
                    ins.push_str(WORDS[rng.below(WORDS.len())]);
                }
                doc.apply_txn(&[Edit::bmp(pos, 0, &ins)])?;
                len += ins.len();
            }
        }
    }
    let start = Instant::now();
    let to_b = a.update_since(&since)?;
    let to_a = b.update_since(&since)?;
    a.apply_update(&to_a)?;
    b.apply_update(&to_b)?;
    let time = start.elapsed();
    let text = a.text()?;
    if text != b.text()? {
        return Err(Error::new(format!(
            "{}: concurrent text: the two replicas did not converge",
            L::NAME
        )));
    }
    Ok(SyncOutcome {
        time,
        update_bytes: to_a.len() + to_b.len(),
        doc_bytes: a.encode()?.len(),
    })
}

/// Forks `replicas` replicas from `base`, lets each make one edit with `edit`, and collects the
/// update each sends. Returns the updates and the time spent encoding them.
fn fan_out<L: TextCrdt>(
    base: &mut L,
    replicas: usize,
    mut edit: impl FnMut(&mut L, i64) -> Result<()>,
) -> Result<(Vec<Vec<u8>>, Duration)> {
    let since = base.version()?;
    let mut encoding = Duration::ZERO;
    let mut updates = Vec::with_capacity(replicas);
    for r in 0..replicas {
        let mut replica = base.fork(10 + r as u64)?;
        edit(&mut replica, r as i64)?;
        let start = Instant::now();
        updates.push(replica.update_since(&since)?);
        encoding += start.elapsed();
    }
    Ok((updates, encoding))
}

/// Applies `updates` as one batch ([`TextCrdt::apply_updates`]) to two replicas forked from
/// `base`, in opposite orders; the first is timed.
fn fan_in<L: TextCrdt>(base: &mut L, updates: &mut [Vec<u8>]) -> Result<(L, L, Duration)> {
    let mut forward = base.fork(2)?;
    let mut backward = base.fork(3)?;
    let start = Instant::now();
    forward.apply_updates(updates)?;
    let time = start.elapsed();
    updates.reverse();
    backward.apply_updates(updates)?;
    updates.reverse();
    Ok((forward, backward, time))
}

/// Scenario (b): `replicas` replicas each set the same key of the root map (to their own
/// number) concurrently; one replica receives every update, as one batch. Checks that receiving the updates
/// in the opposite order gives the same value. Errors for libraries without a map
/// ([`TextCrdt::has_map`]).
pub fn concurrent_map<L: TextCrdt>(replicas: usize) -> Result<SyncOutcome> {
    if !L::has_map() {
        return Err(Error::new(format!("{} has no map type", L::NAME)));
    }
    let mut base = L::new(1);
    let (mut updates, encoding) = fan_out(&mut base, replicas, |doc, r| doc.map_set("v", r))?;
    let (mut forward, mut backward, applying) = fan_in(&mut base, &mut updates)?;
    let value = forward.map_get("v")?;
    if value != backward.map_get("v")? || !value.is_some_and(|v| (0..replicas as i64).contains(&v))
    {
        return Err(Error::new(format!(
            "{}: concurrent map: replicas did not converge on one written value",
            L::NAME
        )));
    }
    Ok(SyncOutcome {
        time: encoding + applying,
        update_bytes: updates.iter().map(Vec::len).sum(),
        doc_bytes: forward.encode()?.len(),
    })
}

/// Scenario (c): `replicas` replicas each insert their number at the front of a root list that
/// holds one item (written by the base, so every replica shares the list object) concurrently;
/// one replica receives every update, as one batch. Checks both delivery orders give the same list, holding
/// every inserted value once.
pub fn concurrent_list<L: TextCrdt>(replicas: usize) -> Result<SyncOutcome> {
    let mut base = L::new(1);
    base.list_insert(0, -1)?;
    let (mut updates, encoding) = fan_out(&mut base, replicas, |doc, r| doc.list_insert(0, r))?;
    let (mut forward, mut backward, applying) = fan_in(&mut base, &mut updates)?;
    let values = forward.list_values()?;
    let mut sorted = values.clone();
    sorted.sort_unstable();
    let expected: Vec<i64> = (-1..replicas as i64).collect();
    if values != backward.list_values()? || sorted != expected {
        return Err(Error::new(format!(
            "{}: concurrent list: replicas did not converge on every inserted value",
            L::NAME
        )));
    }
    Ok(SyncOutcome {
        time: encoding + applying,
        update_bytes: updates.iter().map(Vec::len).sum(),
        doc_bytes: forward.encode()?.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::{DiamondTypes, Loro};

    const TRACE: &str = r#"{"endContent":"ab😀d","txns":[{"patches":[[0,0,"abc"]]},
        {"patches":[[2,1,"😀d"]]}]}"#;

    #[test]
    fn workloads_run_and_check_their_results() {
        let trace = Trace::from_json("t", TRACE.as_bytes()).unwrap();
        let (mut doc, _) = replay_checked::<Loro>(&trace).unwrap();
        let update = doc.full_update().unwrap();
        merge::<Loro>(&update, trace.end_content()).unwrap();
        let err = merge::<Loro>(&update, "something else").unwrap_err();
        assert!(err.to_string().contains("differs"), "{err}");
        let (bytes, _) = encode(&mut doc).unwrap();
        load::<Loro>(&bytes, trace.end_content()).unwrap();

        let text = concurrent_text::<Loro>(50, 1).unwrap();
        assert!(text.update_bytes > 0 && text.doc_bytes > 0);
        assert!(concurrent_map::<Loro>(5).is_ok());
        assert!(concurrent_map::<DiamondTypes>(5).is_err());
        assert!(concurrent_list::<DiamondTypes>(5).is_ok());
        assert_eq!(replica_count(6000), 1549);
    }
}
