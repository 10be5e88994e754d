//! Errors of editing operations.

use crate::seq::Unit;
use crate::value::Kind;

/// Why an edit or query was refused. The document is unchanged when an edit returns an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An index or range end lies past the end of the sequence.
    #[error("index {index} is out of range (length {len} {})", unit.name())]
    OutOfRange {
        /// The offending index (or range end).
        index: usize,
        /// The current length.
        len: usize,
        /// The unit both are counted in.
        unit: Unit,
    },
    /// A UTF-16 or UTF-8 index points inside a character.
    #[error("index {index} falls inside a character ({})", unit.name())]
    InsideChar {
        /// The offending index.
        index: usize,
        /// The unit of the index.
        unit: Unit,
    },
    /// The handle does not belong to this document, or names a different kind of container.
    #[error("expected a {expected} container")]
    WrongKind {
        /// The kind the operation needs.
        expected: Kind,
    },
    /// A value cannot be stored (a container reference, or nesting deeper than allowed).
    #[error("invalid value: {0}")]
    InvalidValue(&'static str),
    /// The document reached the engine's size limit (2³² − 2 operations).
    #[error("document is too large")]
    TooLarge,
}
