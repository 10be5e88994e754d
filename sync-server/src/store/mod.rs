//! Durable storage of documents behind a small trait, so another backend (or a multi-node log)
//! can replace the embedded one without touching the document actor.
//!
//! A document is stored as an optional snapshot (a whole-document encoding) followed by the
//! updates appended since. Loading applies the snapshot, then the updates in order.

mod sqlite;

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

pub use sqlite::{GroupCommit, SqliteStore};

/// A store operation in flight. The operation is queued when the method returns, so the order
/// of calls is the order of commits; the future resolves once it is durable (or failed).
pub type StoreFuture<T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'static>>;

/// Why a store operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The storage engine reported an error.
    #[error("storage error: {0}")]
    Backend(String),
    /// The store has been closed.
    #[error("the store is closed")]
    Closed,
}

/// Everything stored for one document.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StoredDoc {
    /// The latest snapshot, if the document was ever compacted.
    pub snapshot: Option<Vec<u8>>,
    /// Updates appended after the snapshot, oldest first.
    pub updates: Vec<Vec<u8>>,
}

impl StoredDoc {
    /// Total bytes of the snapshot and updates.
    pub fn byte_len(&self) -> usize {
        self.snapshot.as_ref().map_or(0, Vec::len)
            + self.updates.iter().map(Vec::len).sum::<usize>()
    }
}

/// Durable document storage.
///
/// Writes of one document must commit in call order; an implementation may batch writes of
/// many documents into one commit (group commit).
pub trait Store: Send + Sync + 'static {
    /// Reads everything stored for `doc` (empty when it was never written).
    fn load(&self, doc: &str) -> StoreFuture<StoredDoc>;

    /// Appends an update to `doc`; resolves once it is durable.
    fn append(&self, doc: &str, update: Bytes) -> StoreFuture<()>;

    /// Replaces everything stored for `doc` so far by `snapshot`, which must contain every
    /// update appended to `doc` before this call.
    fn compact(&self, doc: &str, snapshot: Bytes) -> StoreFuture<()>;

    /// Commits everything queued, then refuses further writes.
    fn close(&self) -> StoreFuture<()>;
}
