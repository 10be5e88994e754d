//! The sequence core shared by text and lists: runs of elements in a B-tree with cached lengths,
//! the id index, and the integration rule for concurrent inserts (see `README.md`).

pub(crate) mod buf;
#[cfg(any(test, not(target_arch = "wasm32")))]
pub(crate) mod gap;
pub(crate) mod idindex;
pub(crate) mod index;
pub(crate) mod integrate;
pub(crate) mod lazy;
pub(crate) mod metrics;
pub(crate) mod run;
pub(crate) mod spine;
pub(crate) mod tree;
pub(crate) mod utf8;

pub use metrics::{Len, Unit};
