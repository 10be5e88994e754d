//! [`sort`]: the one way the engine sorts a slice.
//!
//! Natively it is the standard library's `sort_unstable`. In WebAssembly every element type
//! that `sort_unstable` sorts costs about 3.5 KB of code, so there it is a heapsort of a few
//! hundred bytes: still O(n log n), in place, without allocating.

/// Sorts `v` in ascending order (not stable).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn sort<T: Ord>(v: &mut [T]) {
    v.sort_unstable();
}

/// Sorts `v` in ascending order (not stable).
#[cfg(target_arch = "wasm32")]
pub(crate) fn sort<T: Ord>(v: &mut [T]) {
    heapsort(v);
}

/// Heapsort: builds a max-heap in place, then moves its top to the end, one element at a time.
#[cfg(any(target_arch = "wasm32", test))]
fn heapsort<T: Ord>(v: &mut [T]) {
    let n = v.len();
    for root in (0..n / 2).rev() {
        sift_down(v, root, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift_down(v, 0, end);
    }
}

/// Restores the heap order of `v[..end]` below `root`, whose children are heaps.
#[cfg(any(target_arch = "wasm32", test))]
fn sift_down<T: Ord>(v: &mut [T], mut root: usize, end: usize) {
    loop {
        let mut child = 2 * root + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && v[child] < v[child + 1] {
            child += 1;
        }
        if v[root] >= v[child] {
            return;
        }
        v.swap(root, child);
        root = child;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn heapsort_sorts_like_the_standard_library(mut v in proptest::collection::vec((0u8..8, any::<u32>()), 0..200)) {
            let mut expected = v.clone();
            expected.sort_unstable();
            heapsort(&mut v);
            prop_assert_eq!(v, expected);
        }
    }

    #[test]
    fn sort_sorts() {
        let mut v = [3, 1, 2, 1];
        sort(&mut v);
        assert_eq!(v, [1, 1, 2, 3]);
    }
}
