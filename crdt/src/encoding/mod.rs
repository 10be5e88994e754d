//! Bounds-checked binary primitives shared by every encoder and decoder in Weft.
//!
//! The only way to get bytes out of a [`Reader`] is a checked `take`, so every decoder built on it
//! is total: any input gives `Ok` or a [`DecodeError`] carrying the byte offset where it failed.

mod crc;
mod error;
pub(crate) mod lz4;
mod reader;
pub(crate) mod unlz4;
mod writer;

pub(crate) use crc::crc32;
pub use error::{DecodeError, DecodeErrorKind};
pub(crate) use reader::Reader;
pub(crate) use writer::Writer;

/// Maps a signed integer to an unsigned one so that small magnitudes stay small as varints.
pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
pub(crate) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_round_trips_extremes() {
        for v in [0, 1, -1, 63, -64, i64::MAX, i64::MIN] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
    }
}
