//! Benchmarks comparing Weft with automerge, loro, yrs and diamond-types.
//!
//! The crate has four parts:
//!
//! - [`adapters`]: one [`TextCrdt`] trait and an implementation per library, each using its
//!   library the way that library's documentation recommends.
//! - [`trace`]: a loader for the editing traces (`*.json.gz`) in `shared/editing-traces`.
//! - [`workloads`]: the measured workloads (local replay, remote merge, encode and load, concurrent
//!   scenarios, memory), written once and generic over [`TextCrdt`].
//! - [`report`]: records, the bars Weft must meet, and the JSON, Markdown and SVG outputs of the
//!   `report` binary.
//!
//! [`alloc::CountingAlloc`] is a global allocator wrapper that counts live and peak heap bytes,
//! used by the memory workload.

pub mod adapters;
pub mod alloc;
pub mod load;
pub mod report;
pub mod rng;
pub mod trace;
pub mod workloads;

pub use adapters::TextCrdt;

use std::fmt;

/// An error from a benchmark step: a library refused an operation or an update, a trace could not
/// be read, or a result did not match what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    /// An error with the given message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// An error from a library call, prefixed with the library's name and what was being done.
    pub fn lib(library: &str, doing: &str, err: impl fmt::Display) -> Self {
        Self(format!("{library}: {doing}: {err}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

// The unit tests measure memory too, so their binary counts allocations like the report does.
#[cfg(test)]
#[global_allocator]
static TEST_ALLOC: alloc::CountingAlloc = alloc::CountingAlloc::new();
