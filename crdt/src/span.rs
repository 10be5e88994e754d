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
