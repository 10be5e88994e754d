//! [`GapBuf`]: the text buffer of a leaf in native builds (see [`super::buf::TextBuf`]).

use super::buf::{Buf, sparse, text, text_slice_methods};
use super::metrics::{Len, Unit};
use super::utf8::{char_from_end, char_to_byte};

/// Text content of a leaf: UTF-8 bytes with a gap where the last edit was, so that typing in
/// the middle of a leaf moves nothing (an edit elsewhere moves the gap there first, copying the
/// bytes between). Both sides of the gap are whole chars.
#[derive(Clone, Debug, Default)]
pub(crate) struct GapBuf {
    /// The text before the gap, the gap, and the text after it.
    bytes: Vec<u8>,
    /// Where the gap starts.
    gap: usize,
    /// Length of the gap.
    gap_len: usize,
}

/// Room a full gap grows by (at least): typing that many bytes moves the text after it once.
const GAP: usize = 64;

/// `bytes` (whole chars of a text buffer) as text.
fn as_str(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

impl GapBuf {
    /// Length of the text in bytes.
    fn text_len(&self) -> usize {
        self.bytes.len() - self.gap_len
    }

    /// The text before the gap and after it.
    fn halves(&self) -> (&[u8], &[u8]) {
        let (a, rest) = self.bytes.split_at(self.gap.min(self.bytes.len()));
        (a, rest.get(self.gap_len..).unwrap_or_default())
    }

    /// Moves the gap to byte `to` of the text (a char boundary).
    #[inline]
    fn move_gap(&mut self, to: usize) {
        // Typing: the gap is there already.
        if to != self.gap {
            self.shift_gap(to);
        }
    }

    /// [`GapBuf::move_gap`] to another place.
    fn shift_gap(&mut self, to: usize) {
        let to = to.min(self.text_len());
        let (gap, len) = (self.gap, self.gap_len);
        if to < gap {
            self.bytes.copy_within(to..gap, to + len);
        } else {
            self.bytes.copy_within(gap + len..to + len, gap);
        }
        self.gap = to;
    }

    /// [`Buf::measure_range`] in text that is not all ASCII.
    fn measure_counted(&self, len: Len, at: usize, n: usize) -> Len {
        let (start, end) = self.counted_range(len, at, n);
        Len::of_bytes(self.whole().get(start..end).unwrap_or_default())
    }

    /// Gives back spare capacity (see [`Buf::release_spare`]): closes the gap and keeps room
    /// for as much text again.
    fn shrink(&mut self) {
        let n = self.text_len();
        self.move_gap(n);
        self.bytes.truncate(n);
        self.gap_len = 0;
        self.bytes.shrink_to(2 * n);
    }

    /// Moves the gap to byte `to` with room for at least `n` bytes in it.
    fn open_gap(&mut self, to: usize, n: usize) {
        self.move_gap(to);
        if self.gap_len < n {
            let add = n.max(GAP);
            let (end, old) = (self.gap + self.gap_len, self.bytes.len());
            self.bytes.resize(old + add, 0);
            self.bytes.copy_within(end..old, end + add);
            self.gap_len += add;
        }
    }

    /// Keeps the gap at the end of text that is not all ASCII (`ascii` false): there offsets
    /// are counted char by char, over the text in one piece ([`GapBuf::whole`]).
    fn settle(&mut self, ascii: bool) {
        if !ascii {
            self.move_gap(self.text_len());
        }
    }

    /// The text of a buffer that is not all ASCII, whose gap is at its end.
    fn whole(&self) -> &[u8] {
        let (a, b) = self.halves();
        debug_assert!(
            b.is_empty(),
            "text with non-ASCII chars keeps its gap at the end"
        );
        a
    }

    /// Byte offset of char `at`, counted from whichever end of the text is nearer (a leaf cut
    /// into pieces from its end converts offsets near the end).
    fn byte_at(&self, len: Len, at: usize) -> usize {
        if len.is_uniform() {
            return at;
        }
        let a = self.whole();
        match (len.chars as usize).checked_sub(at) {
            Some(0) => a.len(),
            Some(back) if back < at => char_from_end(a, back),
            _ => char_to_byte(a, at),
        }
    }

    /// Byte range of the `n` chars from char `at`.
    #[inline]
    fn byte_range(&self, len: Len, at: usize, n: usize) -> (usize, usize) {
        if len.is_uniform() {
            return (at, at + n);
        }
        self.counted_range(len, at, n)
    }

    /// [`GapBuf::byte_range`] in text that is not all ASCII.
    fn counted_range(&self, len: Len, at: usize, n: usize) -> (usize, usize) {
        let start = self.byte_at(len, at);
        let tail = self.whole().get(start..).unwrap_or_default();
        (start, start + char_to_byte(tail, n))
    }

    /// The parts of the text bytes `start..end` before and after the gap.
    fn pieces(&self, start: usize, end: usize) -> [&[u8]; 2] {
        fn cut(s: &[u8], from: usize, to: usize) -> &[u8] {
            s.get(from.min(s.len())..to.min(s.len()))
                .unwrap_or_default()
        }
        let (a, b) = self.halves();
        let at = a.len();
        [
            cut(a, start, end),
            cut(b, start.saturating_sub(at), end.saturating_sub(at)),
        ]
    }
}

impl Buf for GapBuf {
    text_slice_methods!();

    fn insert_at(&mut self, len: Len, at: Len, s: &str) {
        let n = s.len();
        self.open_gap(at.utf8 as usize, n);
        match (self.bytes.get_mut(self.gap..self.gap + n), s.as_bytes()) {
            // A typed key: no call to copy one byte.
            (Some([room]), [b]) => *room = *b,
            (Some(room), s) => room.copy_from_slice(s),
            (None, _) => return,
        }
        self.gap += n;
        self.gap_len -= n;
        self.settle(len.is_uniform());
    }

    fn remove(&mut self, len: Len, at: usize, n: usize, out: Option<&mut String>) -> Len {
        let (start, end) = self.byte_range(len, at, n);
        self.move_gap(start);
        let from = self.gap + self.gap_len;
        let removed = self
            .bytes
            .get(from..from + (end - start))
            .unwrap_or_default();
        let m = if len.is_uniform() {
            Len::uniform(removed.len() as u32)
        } else {
            Len::of_bytes(removed)
        };
        if let Some(out) = out {
            out.push_str(as_str(removed));
        }
        self.gap_len += removed.len();
        self.settle(len.is_uniform());
        self.release_spare();
        m
    }

    fn remove_before(&mut self, len: Len, at: Len, out: Option<&mut String>) -> Len {
        self.move_gap(at.utf8 as usize);
        let head = self.bytes.get(..self.gap).unwrap_or_default();
        let c = match head.last() {
            None => return Len::default(),
            // ASCII: the byte is the char.
            Some(&b) if b.is_ascii() => char::from(b),
            Some(_) => match as_str(&head[char_from_end(head, 1)..]).chars().next() {
                Some(c) => c,
                None => return Len::default(),
            },
        };
        if let Some(out) = out {
            out.push(c);
        }
        let n = c.len_utf8();
        self.gap -= n;
        self.gap_len += n;
        self.settle(len.is_uniform());
        Len {
            chars: 1,
            utf16: c.len_utf16() as u32,
            utf8: n as u32,
        }
    }

    fn split_off(&mut self, len: Len, at: usize) -> (Self, Len) {
        let b = self.byte_at(len, at);
        self.move_gap(b);
        let right = self.bytes.split_off(self.gap + self.gap_len);
        self.bytes.truncate(self.gap);
        self.gap_len = 0;
        let m = if len.is_uniform() {
            Len::uniform(right.len() as u32)
        } else {
            Len::of_bytes(&right)
        };
        let gap = right.len();
        (
            GapBuf {
                bytes: right,
                gap,
                gap_len: 0,
            },
            m,
        )
    }

    #[inline]
    fn measure_range(&self, len: Len, at: usize, n: usize) -> Len {
        if len.is_uniform() {
            return Len::uniform(n as u32);
        }
        self.measure_counted(len, at, n)
    }

    fn to_elems(&self, len: Len, unit: Unit, off: usize) -> Option<usize> {
        // Text that is not all ASCII has its gap at the end: the first half is all of it.
        text::to_elems(self.halves().0, len, unit, off)
    }

    fn copy_to(&self, len: Len, at: usize, n: usize, out: &mut String) {
        let (start, end) = self.byte_range(len, at, n);
        for piece in self.pieces(start, end) {
            out.push_str(as_str(piece));
        }
    }

    #[inline]
    fn release_spare(&mut self) {
        if sparse(self.text_len(), self.bytes.capacity()) {
            self.shrink();
        }
    }
}

#[cfg(test)]
impl GapBuf {
    /// Bytes allocated.
    pub(crate) fn capacity(&self) -> usize {
        self.bytes.capacity()
    }
}
