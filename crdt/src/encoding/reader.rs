//! A cursor over untrusted bytes: every read is bounds-checked and reports its offset on failure.

use super::{DecodeError, DecodeErrorKind};

/// Bounds-checked reader over a byte slice.
#[derive(Clone)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    /// Offset of `data[0]` in the original input, so nested readers report absolute offsets.
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `data`, reporting offsets from 0.
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self::with_base(data, 0)
    }

    /// A reader over `data` whose first byte sits at `base` in the original input.
    pub(crate) fn with_base(data: &'a [u8], base: usize) -> Self {
        Self { data, pos: 0, base }
    }

    /// Absolute offset of the next byte.
    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Bytes not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// True when every byte has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// An error of `kind` at the current offset.
    pub(crate) fn error(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError::new(self.offset(), kind)
    }

    /// Takes the next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| self.error(DecodeErrorKind::UnexpectedEnd))?;
        let out = self.data.get(self.pos..end).unwrap_or_default();
        self.pos = end;
        Ok(out)
    }

    /// Takes the next `n` bytes as a nested reader with absolute offsets.
    pub(crate) fn sub(&mut self, n: usize) -> Result<Reader<'a>, DecodeError> {
        let base = self.offset();
        Ok(Reader::with_base(self.take(n)?, base))
    }

    /// The next byte, without consuming it.
    pub(crate) fn peek_u8(&self) -> Result<u8, DecodeError> {
        self.data
            .get(self.pos)
            .copied()
            .ok_or_else(|| self.error(DecodeErrorKind::UnexpectedEnd))
    }

    /// Reads one byte.
    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = self.take(1)?;
        Ok(b.first().copied().unwrap_or_default())
    }

    /// Reads a little-endian u32.
    pub(crate) fn u32_le(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        Ok(u32::from_le_bytes(a))
    }

    /// Reads a little-endian u64.
    pub(crate) fn u64_le(&mut self) -> Result<u64, DecodeError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// Reads an unsigned LEB128 varint of at most 10 bytes.
    pub(crate) fn varint(&mut self) -> Result<u64, DecodeError> {
        let start = self.offset();
        let mut value: u64 = 0;
        let mut shift = 0u32;
        loop {
            let byte = self.u8()?;
            let low = u64::from(byte & 0x7f);
            if shift == 63 && low > 1 {
                return Err(DecodeError::new(start, DecodeErrorKind::VarintOverflow));
            }
            value |= low << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
            if shift > 63 {
                return Err(DecodeError::new(start, DecodeErrorKind::VarintOverflow));
            }
        }
    }

    /// Reads a varint that must fit in a u32.
    pub(crate) fn varint_u32(&mut self) -> Result<u32, DecodeError> {
        let start = self.offset();
        let v = self.varint()?;
        u32::try_from(v).map_err(|_| DecodeError::new(start, DecodeErrorKind::VarintOverflow))
    }

    /// Reads a zigzag-encoded signed varint.
    pub(crate) fn varint_i64(&mut self) -> Result<i64, DecodeError> {
        Ok(super::unzigzag(self.varint()?))
    }

    /// Reads a count of items that each need at least `min_item_bytes` bytes, rejecting counts the
    /// remaining input cannot hold (so callers may pre-allocate `count` safely).
    pub(crate) fn count(&mut self, min_item_bytes: usize) -> Result<usize, DecodeError> {
        let start = self.offset();
        let n = self.varint()?;
        let n = usize::try_from(n)
            .map_err(|_| DecodeError::new(start, DecodeErrorKind::LengthTooLarge))?;
        if n.saturating_mul(min_item_bytes.max(1)) > self.remaining() {
            return Err(DecodeError::new(start, DecodeErrorKind::LengthTooLarge));
        }
        Ok(n)
    }

    /// Reads a length-prefixed byte string.
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.count(1)?;
        self.take(n)
    }

    /// Reads a length-prefixed UTF-8 string.
    pub(crate) fn str(&mut self) -> Result<&'a str, DecodeError> {
        let start = self.offset();
        let b = self.bytes()?;
        std::str::from_utf8(b).map_err(|_| DecodeError::new(start, DecodeErrorKind::InvalidUtf8))
    }

    /// Reads a little-endian f64.
    pub(crate) fn f64_le(&mut self) -> Result<f64, DecodeError> {
        Ok(f64::from_bits(self.u64_le()?))
    }

    /// Fails with `TrailingBytes` unless every byte has been consumed.
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.error(DecodeErrorKind::TrailingBytes))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::Writer;

    #[test]
    fn varints_round_trip_and_reject_overflow() {
        let mut w = Writer::new();
        for v in [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            w.varint(v);
        }
        let bytes = w.into_bytes();
        let mut r = Reader::new(&bytes);
        for v in [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            assert_eq!(r.varint().unwrap(), v);
        }
        assert!(r.finish().is_ok());
        let too_long = [0xffu8; 11];
        assert_eq!(
            Reader::new(&too_long).varint().unwrap_err().kind(),
            DecodeErrorKind::VarintOverflow
        );
        let overflow = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert!(Reader::new(&overflow).varint().is_err());
    }

    #[test]
    fn counts_cannot_exceed_input() {
        let mut w = Writer::new();
        w.varint(1_000_000);
        let bytes = w.into_bytes();
        let err = Reader::new(&bytes).count(1).unwrap_err();
        assert_eq!(err.kind(), DecodeErrorKind::LengthTooLarge);
        assert_eq!(err.offset(), 0);
    }

    #[test]
    fn nested_readers_report_absolute_offsets() {
        let data = [1u8, 2, 3];
        let mut r = Reader::new(&data);
        r.u8().unwrap();
        let mut sub = r.sub(1).unwrap();
        sub.u8().unwrap();
        assert_eq!(sub.u8().unwrap_err().offset(), 2);
    }
}
