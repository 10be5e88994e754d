//! A counting global allocator: [`CountingAlloc`] forwards every call to [`System`] and keeps
//! two atomic counters, the bytes currently allocated and the highest value that count reached
//! since the last [`CountingAlloc::reset_peak`].
//!
//! A binary opts in with
//! `#[global_allocator] static ALLOC: CountingAlloc = CountingAlloc::new();`
//! (the `report` binary and this crate's unit tests do). Without it the counters stay at zero and
//! [`CountingAlloc::is_active`] says so.

#![allow(unsafe_code)] // implementing `GlobalAlloc` requires it; every call forwards to `System`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// A global allocator that counts live and peak heap bytes (all threads together).
#[derive(Debug, Default)]
pub struct CountingAlloc;

impl CountingAlloc {
    /// The allocator (a unit value; the counters are process-wide statics).
    pub const fn new() -> Self {
        Self
    }

    /// Bytes currently allocated through the counting allocator.
    pub fn current() -> usize {
        CURRENT.load(Ordering::Relaxed)
    }

    /// Highest value of [`CountingAlloc::current`] since the last [`CountingAlloc::reset_peak`].
    pub fn peak() -> usize {
        PEAK.load(Ordering::Relaxed)
    }

    /// Starts a new peak measurement from the current allocation level.
    pub fn reset_peak() {
        PEAK.store(CURRENT.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// True when this process uses the counting allocator (something is allocated through it).
    pub fn is_active() -> bool {
        let probe = Box::new(0u64);
        let active = CURRENT.load(Ordering::Relaxed) >= size_of::<u64>();
        drop(std::hint::black_box(probe));
        active
    }
}

fn added(size: usize) {
    let now = CURRENT.fetch_add(size, Ordering::Relaxed) + size;
    if now > PEAK.load(Ordering::Relaxed) {
        PEAK.fetch_max(now, Ordering::Relaxed);
    }
}

fn removed(size: usize) {
    CURRENT.fetch_sub(size, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract is the one `System` already meets; the counters only do arithmetic.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged (see the impl comment).
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            added(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            added(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) };
        removed(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            removed(layout.size());
            added(new_size);
        }
        new
    }
}

/// Heap bytes retained and peak bytes used by one measured step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemUsage {
    /// Bytes still allocated at the end of the step, relative to its start.
    pub retained: usize,
    /// Highest allocation level during the step, relative to its start.
    pub peak: usize,
}

/// Runs `f`, returning its value and how much heap it retained and peaked at (both relative to
/// the allocation level when `f` started). Reads zeros unless the counting allocator is active.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, MemUsage) {
    let base = CountingAlloc::current();
    CountingAlloc::reset_peak();
    let value = f();
    let now = CountingAlloc::current();
    let peak = CountingAlloc::peak();
    let usage = MemUsage {
        retained: now.saturating_sub(base),
        peak: peak.saturating_sub(base),
    };
    (value, usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_retained_and_peak_bytes() {
        assert!(CountingAlloc::is_active());
        // The counters are process-wide and other tests allocate on their own threads, so an
        // attempt can be disturbed; the counting is right if one undisturbed attempt sees exactly
        // the expected figures (give or take a little).
        let ok = (0..50).any(|_| {
            let (kept, usage) = measure(|| {
                let temp = std::hint::black_box(vec![0u8; 1 << 20]);
                drop(temp);
                std::hint::black_box(vec![1u8; 1000])
            });
            kept.len() == 1000
                && (1000..1000 + 4096).contains(&usage.retained)
                && ((1 << 20)..(1 << 20) + 4096).contains(&usage.peak)
        });
        assert!(ok, "no attempt measured 1000 bytes retained and 1 MiB peak");
    }
}
