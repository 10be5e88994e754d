//! Run-length encoded spans and the [`Span`] law.
//!
//! A span stands for `len()` consecutive elements. The law every span type obeys (and which the
//! generic proptest checker in this module verifies for each type): for `0 < k < len`, splitting
//! at `k` and appending the two halves gives back the original span. `end` bounds are exclusive,
//! `last` bounds inclusive, everywhere in the crate.

/// A run of consecutive elements that can be split and re-joined.
pub(crate) trait Span: Clone + PartialEq + std::fmt::Debug {
    /// Number of elements (never 0).
    #[cfg_attr(not(test), allow(dead_code))]
    fn len(&self) -> usize;
    /// Keeps the first `at` elements in `self` and returns the rest (`0 < at < len`).
    fn truncate(&mut self, at: usize) -> Self;
    /// True when `next` continues `self` so that [`Span::append`] may join them.
    fn can_append(&self, next: &Self) -> bool;
    /// Joins `next` onto the end of `self` (only when [`Span::can_append`] holds).
    fn append(&mut self, next: Self);
}

/// Writes the `(offset, len, visible)` pieces of the elements `seq..seq+len`, given the sorted,
/// merged `deleted` intervals, into `out` (cleared first); with `all_deleted`, one deleted piece.
pub(crate) fn pieces(
    deleted: &[(u32, u32)],
    seq: u32,
    len: u32,
    all_deleted: bool,
    out: &mut Vec<(u32, u32, bool)>,
) {
    out.clear();
    if all_deleted {
        out.push((0, len, false));
        return;
    }
    let end = seq + len;
    let mut at = seq;
    let i = deleted.partition_point(|iv| iv.1 <= seq);
    for &(a, b) in deleted.iter().skip(i) {
        if a >= end {
            break;
        }
        if a > at {
            out.push((at - seq, a - at, true));
        }
        let stop = b.min(end);
        if stop > at.max(a) {
            out.push((at.max(a) - seq, stop - at.max(a), false));
        }
        at = stop.max(at);
    }
    if at < end {
        out.push((at - seq, end - at, true));
    }
}

#[cfg(test)]
pub(crate) mod law {
    //! The generic checker of the split/append law, run by each span type's tests.
    use super::Span;

    /// Checks the law for every split point of `span`.
    pub(crate) fn check_split_append<T: Span>(span: &T) {
        let n = span.len();
        for k in 1..n {
            let mut left = span.clone();
            let right = left.truncate(k);
            assert_eq!(left.len(), k, "left half of {span:?} split at {k}");
            assert_eq!(right.len(), n - k, "right half of {span:?} split at {k}");
            assert!(left.can_append(&right), "{left:?} must accept {right:?}");
            left.append(right);
            assert_eq!(
                &left, span,
                "split at {k} then append must give back the span"
            );
        }
    }
}
