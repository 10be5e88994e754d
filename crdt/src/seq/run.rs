//! [`Run`]: consecutive sequence elements inserted together, the unit the tree stores.

use crate::id::Lv;
use crate::span::Span;

const DELETED: u32 = 1 << 31;

/// Elements `lv..lv+len` inserted one after another by one replica: the first element's left
/// origin is `ol`, every later element's left origin is its predecessor, and all share the right
/// origin `or`. A run is entirely visible or entirely deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Run {
    /// Local version of the first element.
    pub(crate) lv: Lv,
    len_flags: u32,
    /// Left origin of the first element ([`crate::id::NO_LV`]: the start of the sequence).
    pub(crate) ol: Lv,
    /// Right origin of every element ([`crate::id::NO_LV`]: the end of the sequence).
    pub(crate) or: Lv,
}

/// Longest run the tree stores (the top bit of the length word is the deleted flag).
pub(crate) const MAX_RUN_LEN: u32 = DELETED - 1;

impl Run {
    /// A visible run.
    pub(crate) fn new(lv: Lv, len: u32, ol: Lv, or: Lv) -> Self {
        debug_assert!(len > 0 && len <= MAX_RUN_LEN);
        Self {
            lv,
            len_flags: len,
            ol,
            or,
        }
    }

    /// Number of elements.
    pub(crate) fn len(&self) -> u32 {
        self.len_flags & !DELETED
    }

    /// One past the last element's local version.
    pub(crate) fn end(&self) -> Lv {
        self.lv + self.len()
    }

    /// True when the elements are deleted (tombstones).
    pub(crate) fn deleted(&self) -> bool {
        self.len_flags & DELETED != 0
    }

    /// Marks the run deleted.
    pub(crate) fn set_deleted(&mut self) {
        self.len_flags |= DELETED;
    }

    /// Visible element count (0 when deleted).
    pub(crate) fn visible(&self) -> u32 {
        if self.deleted() { 0 } else { self.len() }
    }

    /// True when `lv` is one of this run's elements.
    pub(crate) fn contains(&self, lv: Lv) -> bool {
        // One comparison: below `self.lv` the difference wraps past any length (a run ends
        // within the u32 range, so `self.lv + len` never wraps).
        lv.wrapping_sub(self.lv) < self.len()
    }

    /// Left origin of the element at `offset`.
    pub(crate) fn origin_left_at(&self, offset: u32) -> Lv {
        if offset == 0 {
            self.ol
        } else {
            self.lv + offset - 1
        }
    }

    /// Grows the run by `n` elements continuing it.
    pub(crate) fn extend(&mut self, n: u32) {
        self.len_flags += n;
    }

    /// True when `next` continues this run apart from id contiguity, which the caller checks:
    /// same state, next element's left origin is this run's last element, same right origin.
    pub(crate) fn continues_into(&self, next: &Run) -> bool {
        self.deleted() == next.deleted()
            && next.lv == self.end()
            && next.ol == self.end() - 1
            && next.or == self.or
    }
}

impl Span for Run {
    fn len(&self) -> usize {
        Run::len(self) as usize
    }

    fn truncate(&mut self, at: usize) -> Self {
        let at = at as u32;
        let rest = Run {
            lv: self.lv + at,
            len_flags: (self.len_flags & DELETED) | (self.len() - at),
            ol: self.lv + at - 1,
            or: self.or,
        };
        self.len_flags = (self.len_flags & DELETED) | at;
        rest
    }

    fn can_append(&self, next: &Self) -> bool {
        self.continues_into(next)
    }

    fn append(&mut self, next: Self) {
        self.extend(next.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::NO_LV;
    use crate::span::law::check_split_append;

    #[test]
    fn runs_obey_the_split_append_law() {
        check_split_append(&Run::new(10, 5, NO_LV, 3));
        let mut d = Run::new(0, 4, 7, NO_LV);
        d.set_deleted();
        check_split_append(&d);
    }

    #[test]
    fn contains_exactly_its_elements() {
        let longest = Run::new(0, MAX_RUN_LEN, NO_LV, NO_LV);
        let mut last = Run::new(u32::MAX - 3, 2, NO_LV, NO_LV);
        last.set_deleted();
        let cases: [(Run, &[u32], &[u32]); 2] = [
            (longest, &[0, MAX_RUN_LEN - 1], &[MAX_RUN_LEN, u32::MAX]),
            (
                last,
                &[u32::MAX - 3, u32::MAX - 2],
                &[0, u32::MAX - 4, u32::MAX - 1],
            ),
        ];
        for (run, inside, outside) in cases {
            for &lv in inside {
                assert!(run.contains(lv), "{lv} in {run:?}");
            }
            for &lv in outside {
                assert!(!run.contains(lv), "{lv} not in {run:?}");
            }
        }
    }
}
