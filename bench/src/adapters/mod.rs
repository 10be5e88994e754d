//! One trait, [`TextCrdt`], over every library compared, and an implementation per library.
//!
//! Each adapter uses its library the way that library documents for the job: one library
//! transaction per trace transaction, the library's standard whole-document encoding (history
//! included), and its own update format and version type for sync. Each file's header says which
//! API it uses and why.

mod automerge;
mod diamond_types;
mod loro;
mod weft;
mod yrs;

pub use self::automerge::Automerge;
pub use self::diamond_types::DiamondTypes;
pub use self::loro::Loro;
pub use self::weft::Weft;
pub use self::yrs::Yrs;

use crate::Result;
use crate::trace::Edit;

/// A collaborative text (plus, where the library has them, map and list) document, as the
/// benchmarks drive it.
///
/// Text positions are chars; adapters whose library counts in another unit use the UTF-16 fields
/// of [`Edit`]. "Update" means bytes in the library's sync format; "encoding" means the library's
/// standard whole-document format, history included.
pub trait TextCrdt: Sized {
    /// The library's name as the report writes it (`"yrs"`, `"diamond-types"`, ...).
    const NAME: &'static str;

    /// What a replica has seen, in the form the library diffs against.
    type Version;

    /// An empty document for the replica `replica` (small distinct numbers in the scenarios).
    fn new(replica: u64) -> Self;

    /// Applies the edits, in order, as one local transaction.
    fn apply_txn(&mut self, edits: &[Edit<'_>]) -> Result<()>;

    /// The document's text.
    fn text(&mut self) -> Result<String>;

    /// The text's length in chars.
    fn text_len(&mut self) -> Result<usize>;

    /// The whole document, history included, in the library's standard encoding.
    fn encode(&mut self) -> Result<Vec<u8>>;

    /// A new document from [`TextCrdt::encode`]'s output.
    fn load(bytes: &[u8]) -> Result<Self>;

    /// The document's whole history as one update, for a replica that has nothing.
    fn full_update(&mut self) -> Result<Vec<u8>>;

    /// Applies an update received from another replica.
    fn apply_update(&mut self, update: &[u8]) -> Result<()>;

    /// Applies several updates received together (from many replicas), with the library's batch
    /// API where it documents one; by default one after another.
    fn apply_updates(&mut self, updates: &[Vec<u8>]) -> Result<()> {
        updates.iter().try_for_each(|u| self.apply_update(u))
    }

    /// The version this replica is at.
    fn version(&mut self) -> Result<Self::Version>;

    /// An update with everything this replica has that `since` lacks. `since` is a version this
    /// replica has passed through (the scenarios fork replicas from a common base and diff
    /// against it).
    fn update_since(&mut self, since: &Self::Version) -> Result<Vec<u8>>;

    /// A copy of this document for another replica (as if it had been synced to it).
    fn fork(&mut self, replica: u64) -> Result<Self>;

    /// True when the library has a map type ([`TextCrdt::map_set`] and [`TextCrdt::map_get`]
    /// work).
    fn has_map() -> bool {
        true
    }

    /// Sets `key` of the root map to `value`, as one transaction.
    fn map_set(&mut self, key: &str, value: i64) -> Result<()>;

    /// The value of `key` in the root map.
    fn map_get(&mut self, key: &str) -> Result<Option<i64>>;

    /// Inserts `value` at `index` of the root list, as one transaction.
    fn list_insert(&mut self, index: usize, value: i64) -> Result<()>;

    /// The root list's values.
    fn list_values(&mut self) -> Result<Vec<i64>>;
}

/// Runs `$body` once per library, with `$lib` bound to the library's adapter type, in the order
/// the report uses.
#[macro_export]
macro_rules! for_each_library {
    ($lib:ident => $body:block) => {{
        {
            type $lib = $crate::adapters::Weft;
            $body
        }
        {
            type $lib = $crate::adapters::DiamondTypes;
            $body
        }
        {
            type $lib = $crate::adapters::Loro;
            $body
        }
        {
            type $lib = $crate::adapters::Yrs;
            $body
        }
        {
            type $lib = $crate::adapters::Automerge;
            $body
        }
    }};
}

#[cfg(test)]
mod tests {
    //! Every adapter against the same small synthetic trace and scenarios.

    use super::*;
    use crate::trace::Trace;

    const TINY: &str = r#"{"startContent":"","endContent":"Hi wörld 😀!\nbye","txns":[
        {"patches":[[0,0,"Hello"]]},
        {"patches":[[5,0," world"]]},
        {"patches":[[1,4,"i"]]},
        {"patches":[[4,1,"ö"],[8,0," 😀!"]]},
        {"patches":[[11,0,"\nbye"]]}]}"#;

    fn replay<L: TextCrdt>(trace: &Trace) -> L {
        let mut doc = L::new(1);
        let mut buf = Vec::new();
        for txn in trace.txns() {
            buf.clear();
            buf.extend(txn);
            doc.apply_txn(&buf).unwrap();
        }
        doc
    }

    fn check_text<L: TextCrdt>() {
        let trace = Trace::from_json("tiny", TINY.as_bytes()).unwrap();
        let mut doc = replay::<L>(&trace);
        let end = trace.end_content();
        assert_eq!(doc.text().unwrap(), end, "{} replay", L::NAME);
        assert_eq!(doc.text_len().unwrap(), end.chars().count(), "{}", L::NAME);

        let encoded = doc.encode().unwrap();
        assert_eq!(
            L::load(&encoded).unwrap().text().unwrap(),
            end,
            "{} load",
            L::NAME
        );
        assert!(
            L::load(b"\x00\x01 not a document").is_err(),
            "{} garbage",
            L::NAME
        );

        let update = doc.full_update().unwrap();
        let mut other = L::new(2);
        other.apply_update(&update).unwrap();
        assert_eq!(other.text().unwrap(), end, "{} merge", L::NAME);

        // Concurrent edits from a common base converge after a two-way exchange.
        let base_version = doc.version().unwrap();
        let mut a = doc.fork(3).unwrap();
        let mut b = doc.fork(4).unwrap();
        a.apply_txn(&[Edit::bmp(0, 2, "A")]).unwrap();
        b.apply_txn(&[Edit::bmp(3, 0, "B"), Edit::bmp(0, 1, "")])
            .unwrap();
        let to_b = a.update_since(&base_version).unwrap();
        let to_a = b.update_since(&base_version).unwrap();
        a.apply_update(&to_a).unwrap();
        b.apply_update(&to_b).unwrap();
        let merged = a.text().unwrap();
        assert_eq!(merged, b.text().unwrap(), "{} convergence", L::NAME);
        assert!(
            merged.contains('A') && merged.contains('B'),
            "{}: {merged}",
            L::NAME
        );
    }

    fn check_map_and_list<L: TextCrdt>() {
        let mut base = L::new(1);
        base.list_insert(0, -1).unwrap();
        let version = base.version().unwrap();
        let mut updates = Vec::new();
        for r in 0..3 {
            let mut replica = base.fork(10 + r).unwrap();
            if L::has_map() {
                replica.map_set("v", r as i64).unwrap();
            }
            replica.list_insert(0, r as i64).unwrap();
            updates.push(replica.update_since(&version).unwrap());
        }
        let mut forward = base.fork(20).unwrap();
        let mut backward = base.fork(21).unwrap();
        forward.apply_updates(&updates).unwrap();
        for u in updates.iter().rev() {
            backward.apply_update(u).unwrap();
        }
        let mut list = forward.list_values().unwrap();
        assert_eq!(list, backward.list_values().unwrap(), "{} list", L::NAME);
        list.sort_unstable();
        assert_eq!(list, [-1, 0, 1, 2], "{} list", L::NAME);
        if L::has_map() {
            let v = forward.map_get("v").unwrap();
            assert_eq!(v, backward.map_get("v").unwrap(), "{} map", L::NAME);
            assert!(matches!(v, Some(0..=2)), "{} map: {v:?}", L::NAME);
        }
    }

    #[test]
    fn every_adapter_replays_round_trips_and_converges() {
        for_each_library!(L => {
            check_text::<L>();
            check_map_and_list::<L>();
        });
    }
}
