//! The typed error every decoder returns.

use std::fmt;

/// Why decoding failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended before the value was complete.
    UnexpectedEnd,
    /// The input does not start with the Weft magic bytes.
    BadMagic,
    /// The format version is not one this build understands.
    UnsupportedVersion(u8),
    /// The checksum over the body does not match.
    ChecksumMismatch,
    /// A variable-length integer is longer than 10 bytes or overflows its type.
    VarintOverflow,
    /// A count or length is larger than the remaining input can hold.
    LengthTooLarge,
    /// Bytes follow the end of the encoded value.
    TrailingBytes,
    /// A string is not valid UTF-8.
    InvalidUtf8,
    /// A tag byte has a value this version does not define.
    InvalidTag(u8),
    /// The compressed block does not decompress to its declared size.
    BadCompression,
    /// The data is well-formed but its contents contradict each other or the document
    /// (an unknown id, a reference to the wrong kind of container, an out-of-range clock).
    Inconsistent(&'static str),
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnexpectedEnd => f.write_str("unexpected end of input"),
            Self::BadMagic => f.write_str("not a Weft encoding (bad magic bytes)"),
            Self::UnsupportedVersion(v) => write!(f, "unsupported format version {v}"),
            Self::ChecksumMismatch => f.write_str("checksum mismatch (corrupt data)"),
            Self::VarintOverflow => f.write_str("variable-length integer overflows"),
            Self::LengthTooLarge => f.write_str("length exceeds the remaining input"),
            Self::TrailingBytes => f.write_str("trailing bytes after the end"),
            Self::InvalidUtf8 => f.write_str("invalid UTF-8 in string"),
            Self::InvalidTag(t) => write!(f, "invalid tag {t}"),
            Self::BadCompression => f.write_str("corrupt compressed block"),
            Self::Inconsistent(what) => write!(f, "inconsistent data: {what}"),
        }
    }
}

/// A decoding failure: what went wrong and at which byte offset of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError {
    offset: usize,
    kind: DecodeErrorKind,
}

impl DecodeError {
    /// Creates an error at `offset`.
    pub fn new(offset: usize, kind: DecodeErrorKind) -> Self {
        Self { offset, kind }
    }

    /// Byte offset in the input where decoding failed.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// What went wrong.
    pub fn kind(&self) -> DecodeErrorKind {
        self.kind
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind, self.offset)
    }
}

impl std::error::Error for DecodeError {}
