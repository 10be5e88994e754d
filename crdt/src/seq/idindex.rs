//! [`IdIndex`]: a tree's local version → leaf index, which native builds let local edits leave
//! behind.
//!
//! Local edits never look elements up by id; remote edits, cursors and encoding do. So natively
//! a local insert or a leaf split does not write the [`LeafIndex`]: it lists the leaf, and the
//! next lookup first catches up on the listed leaves (through a shared reference, since reads
//! such as encoding borrow the document immutably). A leaf made by a split is indexed whole; a
//! leaf that local inserts added to is indexed from the first local version the index has not
//! seen, as local versions only grow. Typing, jumping around and pasting then write no index at
//! all until something looks an element up. The WebAssembly build writes at once: the package's
//! size bar outweighs the gain.

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use native::IdIndex;
#[cfg(target_arch = "wasm32")]
pub(crate) use wasm::IdIndex;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::cell::{Cell, RefCell};

    use crate::id::Lv;
    use crate::seq::index::LeafIndex;
    use crate::seq::run::Run;

    /// Local version → leaf, with the writes of local edits deferred to the next lookup.
    #[derive(Default)]
    pub(crate) struct IdIndex {
        table: RefCell<LeafIndex>,
        /// True when `lag` lists a leaf.
        behind: Cell<bool>,
        lag: RefCell<Lag>,
    }

    /// What the table is behind on.
    #[derive(Default)]
    struct Lag {
        /// Leaves made by splits: the table names an older leaf for their elements.
        moved: Vec<u32>,
        /// Leaves that local inserts added to: the table lacks their elements from `since` on.
        grown: Vec<u32>,
        /// One bit per leaf: listed in `grown`.
        listed: Vec<u64>,
        since: Lv,
        /// One past the newest local version a local insert added.
        newest: Lv,
    }

    impl IdIndex {
        /// The leaf holding `lv` (for a local version that is no element of the tree, possibly
        /// some leaf that does not hold it: callers check). `runs` gives a leaf's runs, for
        /// catching up.
        pub(crate) fn get<'a>(&self, lv: Lv, runs: impl Fn(u32) -> &'a [Run]) -> Option<u32> {
            if self.behind.get() {
                self.catch_up(runs);
            }
            self.table.try_borrow().ok()?.get(lv)
        }

        /// Records that `start..end` now lives in `leaf`.
        pub(crate) fn set(&mut self, start: Lv, end: Lv, leaf: u32) {
            self.table.get_mut().set(start, end, leaf);
        }

        /// A local insert put the new elements `lv..lv+n` in `leaf`.
        #[inline]
        pub(crate) fn inserted(&mut self, lv: Lv, n: u32, leaf: u32) {
            let lag = self.lag.get_mut();
            lag.newest = lag.newest.max(lv + n);
            let (word, bit) = (leaf as usize / 64, 1u64 << (leaf % 64));
            if lag.listed.len() <= word {
                lag.listed.resize(word + 1, 0);
            }
            if lag.listed[word] & bit == 0 {
                lag.listed[word] |= bit;
                lag.grown.push(leaf);
                self.behind.set(true);
            }
        }

        /// A split has just made `leaf`, holding `runs`.
        pub(crate) fn split_off(&mut self, leaf: u32, _runs: &[Run]) {
            self.lag.get_mut().moved.push(leaf);
            self.behind.set(true);
        }

        /// Writes what the table is behind on.
        #[cold]
        #[inline(never)]
        fn catch_up<'a>(&self, runs: impl Fn(u32) -> &'a [Run]) {
            let (Ok(mut table), Ok(mut lag)) =
                (self.table.try_borrow_mut(), self.lag.try_borrow_mut())
            else {
                return;
            };
            let lag = &mut *lag;
            for &leaf in &lag.moved {
                table.set_runs(runs(leaf), leaf);
                // Indexed whole: nothing left to do for it as a grown leaf.
                if let Some(word) = lag.listed.get_mut(leaf as usize / 64) {
                    *word &= !(1 << (leaf % 64));
                }
            }
            lag.moved.clear();
            for &leaf in &lag.grown {
                let (word, bit) = (&mut lag.listed[leaf as usize / 64], 1 << (leaf % 64));
                if *word & bit != 0 {
                    *word &= !bit;
                    for r in runs(leaf).iter().filter(|r| r.end() > lag.since) {
                        table.set(r.lv.max(lag.since), r.end(), leaf);
                    }
                }
            }
            lag.grown.clear();
            lag.since = lag.newest;
            self.behind.set(false);
        }

        /// Checks that the table names `leaf` for each element of `runs` that it is not behind
        /// on.
        pub(crate) fn check(&self, leaf: u32, runs: &[Run]) {
            let lag = self.lag.borrow();
            if lag.moved.contains(&leaf) {
                return;
            }
            let listed = lag.grown.contains(&leaf);
            let word = lag.listed.get(leaf as usize / 64).copied().unwrap_or(0);
            assert_eq!(word & (1 << (leaf % 64)) != 0, listed, "leaf {leaf} listed");
            let upto = if listed { lag.since } else { Lv::MAX };
            let table = self.table.borrow();
            for r in runs {
                for lv in r.lv..r.end().min(upto) {
                    assert_eq!(table.get(lv), Some(leaf), "index of {lv} in {r:?}");
                }
            }
        }
    }
}

#[cfg(target_arch = "wasm32")]
mod wasm {
    use crate::id::Lv;
    use crate::seq::index::LeafIndex;
    use crate::seq::run::Run;

    /// Local version → leaf (see the native definition).
    #[derive(Default)]
    pub(crate) struct IdIndex(LeafIndex);

    impl IdIndex {
        /// The leaf holding `lv` (callers check that it does).
        pub(crate) fn get<'a>(&self, lv: Lv, _runs: impl Fn(u32) -> &'a [Run]) -> Option<u32> {
            self.0.get(lv)
        }

        /// Records that `start..end` now lives in `leaf`.
        pub(crate) fn set(&mut self, start: Lv, end: Lv, leaf: u32) {
            self.0.set(start, end, leaf);
        }

        /// A local insert put the new elements `lv..lv+n` in `leaf`.
        pub(crate) fn inserted(&mut self, lv: Lv, n: u32, leaf: u32) {
            self.0.set(lv, lv + n, leaf);
        }

        /// A split has just made `leaf`, holding `runs`.
        pub(crate) fn split_off(&mut self, leaf: u32, runs: &[Run]) {
            self.0.set_runs(runs, leaf);
        }

        /// Checks that the index names `leaf` for every element of `runs`.
        pub(crate) fn check(&self, leaf: u32, runs: &[Run]) {
            for r in runs {
                for lv in r.lv..r.end() {
                    assert_eq!(self.0.get(lv), Some(leaf), "index of {lv} in {r:?}");
                }
            }
        }
    }
}
