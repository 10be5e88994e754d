//! Leaf content buffers: the visible elements of one tree leaf, stored contiguously.

use super::metrics::{Len, Unit};
#[cfg(any(test, target_arch = "wasm32"))]
use super::utf8::{char_from_end, char_to_byte};
use crate::value::Value;

/// Content stored in a sequence: text (a [`TextBuf`] per leaf) or values (a `Vec<Value>` per
/// leaf).
/// Offsets are in elements (chars or values) unless a [`Unit`] says otherwise; `len` is the
/// buffer's cached [`Len`], passed in so ASCII leaves convert offsets for free.
pub(crate) trait Buf: Default + Clone + std::fmt::Debug {
    /// Borrowed content (`str` or `[Value]`).
    type Slice: ?Sized;
    /// Owned content (`String` or `Vec<Value>`).
    type Owned: Default + Clone + std::fmt::Debug + AsRef<Self::Slice>;

    /// Measures content.
    fn measure(s: &Self::Slice) -> Len;
    /// Number of elements of content.
    fn count(s: &Self::Slice) -> usize;
    /// The content of `n` elements starting at element `at` of `s`.
    fn sub_slice(s: &Self::Slice, at: usize, n: usize) -> &Self::Slice;
    /// The first `n` elements of `s` and the rest (O(n)).
    fn split_front(s: &Self::Slice, n: usize) -> (&Self::Slice, &Self::Slice);
    /// Inserts `s` after the content `at` (measured in every unit, so no offset is converted);
    /// `len` is the buffer's length with `s` in it.
    fn insert_at(&mut self, len: Len, at: Len, s: &Self::Slice);
    /// Removes `n` elements at `at`; appends them to `out` when given. Returns their length.
    fn remove(&mut self, len: Len, at: usize, n: usize, out: Option<&mut Self::Owned>) -> Len;
    /// Removes the element right before the content `at` (which must not be empty) of a buffer
    /// of length `len`; appends it to `out` when given. Returns its length.
    fn remove_before(&mut self, len: Len, at: Len, out: Option<&mut Self::Owned>) -> Len;
    /// Splits off everything from element `at` on; returns it and its length.
    fn split_off(&mut self, len: Len, at: usize) -> (Self, Len);
    /// Length of `n` elements from `at`.
    fn measure_range(&self, len: Len, at: usize, n: usize) -> Len;
    /// Element offset of the position `off` counted in `unit`; `None` when `off` falls inside a
    /// character (UTF-16 or UTF-8 units) or past the end.
    fn to_elems(&self, len: Len, unit: Unit, off: usize) -> Option<usize>;
    /// Appends elements `at..at+n` to `out`.
    fn copy_to(&self, len: Len, at: usize, n: usize, out: &mut Self::Owned);
    /// Appends `s` to `out`.
    fn extend_owned(out: &mut Self::Owned, s: &Self::Slice);
    /// Gives spare capacity back once the buffer uses less than a quarter of it.
    fn release_spare(&mut self);
}

/// Deletions never shrink a `String` or `Vec`: once a leaf buffer uses less than a quarter of its
/// capacity (and wastes more than [`MIN_SPARE`] elements), [`sparse`] says so and
/// [`Buf::release_spare`] shrinks it to twice its length, after removals and leaf splits. A
/// shrink copies what is left, no more than what left the buffer since it last had that
/// capacity, so it costs O(1) per removed element.
const MIN_SPARE: usize = 64;

/// True when a buffer of `len` elements and `cap` capacity should give memory back.
pub(super) fn sparse(len: usize, cap: usize) -> bool {
    cap > 4 * len + MIN_SPARE
}

/// The text buffer of a leaf: a gap buffer natively, where typing in the middle of a leaf
/// should move nothing; a `String` in WebAssembly, where the package's size bar outweighs the
/// gain. Tests check both against the same model.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) type TextBuf = super::gap::GapBuf;
/// The text buffer of a leaf (see the native definition).
#[cfg(target_arch = "wasm32")]
pub(crate) type TextBuf = StrBuf;

/// Text helpers both text buffers share.
pub(super) mod text {
    use super::super::metrics::{Len, Unit};
    use super::super::utf8::{char_to_byte, count_chars, utf16_to_char};

    /// Chars in `s`.
    pub(crate) fn count(s: &str) -> usize {
        count_chars(s.as_bytes())
    }

    /// The `n` chars of `s` from char `at`.
    pub(crate) fn sub_slice(s: &str, at: usize, n: usize) -> &str {
        let (_, rest) = split_front(s, at);
        split_front(rest, n).0
    }

    /// The first `n` chars of `s` and the rest.
    pub(crate) fn split_front(s: &str, n: usize) -> (&str, &str) {
        s.split_at_checked(char_to_byte(s.as_bytes(), n))
            .unwrap_or((s, ""))
    }

    /// [`super::Buf::to_elems`] of a text of length `len`, given as `bytes` (read only when the
    /// text is not all ASCII).
    pub(crate) fn to_elems(bytes: &[u8], len: Len, unit: Unit, off: usize) -> Option<usize> {
        if off > len.get(unit) {
            return None;
        }
        match unit {
            _ if len.is_uniform() => Some(off),
            Unit::Char => Some(off),
            Unit::Utf16 => utf16_to_char(bytes, off),
            // Inside a char unless the byte there starts one.
            Unit::Utf8 => match bytes.get(off) {
                Some(&b) if (b as i8) < -0x40 => None,
                _ => Some(count_chars(bytes.get(..off)?)),
            },
        }
    }
}

/// The methods of [`Buf`] on text as a slice, the same for every text buffer.
macro_rules! text_slice_methods {
    () => {
        type Slice = str;
        type Owned = String;

        fn measure(s: &str) -> Len {
            Len::of_str(s)
        }

        fn count(s: &str) -> usize {
            text::count(s)
        }

        fn sub_slice(s: &str, at: usize, n: usize) -> &str {
            text::sub_slice(s, at, n)
        }

        fn split_front(s: &str, n: usize) -> (&str, &str) {
            text::split_front(s, n)
        }

        fn extend_owned(out: &mut String, s: &str) {
            out.push_str(s);
        }
    };
}
#[cfg(any(test, not(target_arch = "wasm32")))]
pub(super) use text_slice_methods;

/// Text content of a leaf as one `String` (the WebAssembly build's [`TextBuf`]).
#[cfg(any(test, target_arch = "wasm32"))]
#[derive(Clone, Debug, Default)]
pub(crate) struct StrBuf(pub(crate) String);

#[cfg(any(test, target_arch = "wasm32"))]
impl StrBuf {
    /// Byte offset of char `at`, counted from whichever end of the buffer is nearer (a leaf
    /// cut into pieces from its end converts offsets near the end).
    fn byte_at(&self, len: Len, at: usize) -> usize {
        if len.is_uniform() {
            return at;
        }
        match (len.chars as usize).checked_sub(at) {
            Some(0) => self.0.len(),
            Some(back) if back < at => char_from_end(self.0.as_bytes(), back),
            _ => char_to_byte(self.0.as_bytes(), at),
        }
    }
}

#[cfg(any(test, target_arch = "wasm32"))]
impl Buf for StrBuf {
    text_slice_methods!();

    fn insert_at(&mut self, _len: Len, at: Len, s: &str) {
        self.0.insert_str(at.utf8 as usize, s);
    }

    fn remove(&mut self, len: Len, at: usize, n: usize, out: Option<&mut String>) -> Len {
        let start = self.byte_at(len, at);
        let end = if len.is_uniform() {
            at + n
        } else {
            let tail = self.0.get(start..).unwrap_or_default();
            start + char_to_byte(tail.as_bytes(), n)
        };
        let removed = self.0.get(start..end).unwrap_or_default();
        let m = if len.is_uniform() {
            Len::uniform(removed.len() as u32)
        } else {
            Len::of_str(removed)
        };
        if let Some(out) = out {
            out.push_str(removed);
        }
        self.0.drain(start..end);
        self.release_spare();
        m
    }

    fn remove_before(&mut self, _len: Len, at: Len, out: Option<&mut String>) -> Len {
        let end = at.utf8 as usize;
        let head = self.0.get(..end).unwrap_or_default();
        let Some(c) = head.chars().next_back() else {
            return Len::default();
        };
        if let Some(out) = out {
            out.push(c);
        }
        self.0.drain(end - c.len_utf8()..end);
        Len {
            chars: 1,
            utf16: c.len_utf16() as u32,
            utf8: c.len_utf8() as u32,
        }
    }

    fn split_off(&mut self, len: Len, at: usize) -> (Self, Len) {
        let b = self.byte_at(len, at);
        let right = self.0.split_off(b);
        let m = if len.is_uniform() {
            Len::uniform(right.len() as u32)
        } else {
            Len::of_str(&right)
        };
        (StrBuf(right), m)
    }

    fn measure_range(&self, len: Len, at: usize, n: usize) -> Len {
        if len.is_uniform() {
            return Len::uniform(n as u32);
        }
        let start = self.byte_at(len, at);
        let tail = self.0.get(start..).unwrap_or_default();
        Len::of_str(text::sub_slice(tail, 0, n))
    }

    fn to_elems(&self, len: Len, unit: Unit, off: usize) -> Option<usize> {
        text::to_elems(self.0.as_bytes(), len, unit, off)
    }

    fn copy_to(&self, len: Len, at: usize, n: usize, out: &mut String) {
        let start = self.byte_at(len, at);
        let tail = self.0.get(start..).unwrap_or_default();
        out.push_str(text::sub_slice(tail, 0, n));
    }

    fn release_spare(&mut self) {
        if sparse(self.0.len(), self.0.capacity()) {
            self.0.shrink_to(2 * self.0.len());
        }
    }
}

/// Value content of a list leaf.
#[derive(Clone, Debug, Default)]
pub(crate) struct ListBuf(pub(crate) Vec<Value>);

impl Buf for ListBuf {
    type Slice = [Value];
    type Owned = Vec<Value>;

    fn measure(s: &[Value]) -> Len {
        Len::uniform(s.len() as u32)
    }

    fn count(s: &[Value]) -> usize {
        s.len()
    }

    fn sub_slice(s: &[Value], at: usize, n: usize) -> &[Value] {
        s.get(at..at + n).unwrap_or_default()
    }

    fn split_front(s: &[Value], n: usize) -> (&[Value], &[Value]) {
        s.split_at(n.min(s.len()))
    }

    fn insert_at(&mut self, _len: Len, at: Len, s: &[Value]) {
        let at = (at.chars as usize).min(self.0.len());
        self.0.splice(at..at, s.iter().cloned());
    }

    fn remove(&mut self, _len: Len, at: usize, n: usize, out: Option<&mut Vec<Value>>) -> Len {
        let end = (at + n).min(self.0.len());
        let at = at.min(end);
        let removed = self.0.drain(at..end);
        match out {
            Some(out) => out.extend(removed),
            None => drop(removed),
        }
        self.release_spare();
        Len::uniform((end - at) as u32)
    }

    fn remove_before(&mut self, _len: Len, at: Len, out: Option<&mut Vec<Value>>) -> Len {
        let at = at.chars as usize;
        match at.checked_sub(1) {
            Some(i) if at <= self.0.len() => self.remove(Len::uniform(at as u32), i, 1, out),
            _ => Len::default(),
        }
    }

    fn split_off(&mut self, _len: Len, at: usize) -> (Self, Len) {
        let right = self.0.split_off(at.min(self.0.len()));
        let m = Len::uniform(right.len() as u32);
        (ListBuf(right), m)
    }

    fn measure_range(&self, _len: Len, _at: usize, n: usize) -> Len {
        Len::uniform(n as u32)
    }

    fn to_elems(&self, len: Len, _unit: Unit, off: usize) -> Option<usize> {
        (off <= len.chars as usize).then_some(off)
    }

    fn copy_to(&self, _len: Len, at: usize, n: usize, out: &mut Vec<Value>) {
        out.extend(self.0.iter().skip(at).take(n).cloned());
    }

    fn extend_owned(out: &mut Vec<Value>, s: &[Value]) {
        out.extend_from_slice(s);
    }

    fn release_spare(&mut self) {
        if sparse(self.0.len(), self.0.capacity()) {
            self.0.shrink_to(2 * self.0.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::gap::GapBuf;
    use super::*;

    /// The whole text of a text buffer of length `len`.
    fn whole<T: Buf<Slice = str, Owned = String>>(t: &T, len: Len) -> String {
        let mut out = String::new();
        t.copy_to(len, 0, len.chars as usize, &mut out);
        out
    }

    #[test]
    fn deleting_most_of_a_leaf_gives_its_memory_back() {
        let s = "x".repeat(4000);
        let mut t = GapBuf::default();
        let mut len = Len::of_str(&s);
        t.insert_at(len, Len::default(), &s);
        len -= t.remove(len, 10, 3980, None);
        assert_eq!(whole(&t, len), "x".repeat(20));
        assert!(t.capacity() <= 4 * 20 + MIN_SPARE, "{}", t.capacity());

        let mut t = StrBuf::default();
        let mut len = Len::of_str(&s);
        t.insert_at(len, Len::default(), &s);
        len -= t.remove(len, 10, 3980, None);
        assert_eq!(t.0, "x".repeat(20));
        assert!(t.0.capacity() <= 4 * 20 + MIN_SPARE, "{}", t.0.capacity());

        let mut l = ListBuf::default();
        let values: Vec<Value> = (0..1000).map(Value::Int).collect();
        l.insert_at(Len::uniform(1000), Len::default(), &values);
        l.remove(Len::uniform(1000), 0, 990, None);
        assert_eq!(l.0, values[990..]);
        assert!(l.0.capacity() <= 4 * 10 + MIN_SPARE, "{}", l.0.capacity());
    }

    /// Byte offset of char `c` of `s`.
    fn byte(s: &str, c: usize) -> usize {
        s.char_indices().nth(c).map_or(s.len(), |(b, _)| b)
    }

    /// Random edits of a text buffer agree with the same edits of a `String`: positions in
    /// every unit, removed content and lengths, wherever a gap buffer's gap is.
    fn matches_a_string<T: Buf<Slice = str, Owned = String>>() {
        let pieces = ["a", "bc", "é", "日本", "😀", "xyz ", "ü😀q", "\n"];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n.max(1) as u64) as usize
        };
        for round in 0..40 {
            // Half the rounds stay ASCII, where a gap buffer keeps its gap where edits are.
            let pieces = if round % 2 == 0 {
                &pieces[..2]
            } else {
                &pieces[..]
            };
            let mut buf = T::default();
            let mut model = String::new();
            for _ in 0..200 {
                let len = Len::of_str(&model);
                let chars = len.chars as usize;
                match next(6) {
                    0 | 1 => {
                        let at = next(chars + 1);
                        let s = pieces[next(pieces.len())].repeat(1 + next(3));
                        let b = byte(&model, at);
                        buf.insert_at(len + Len::of_str(&s), Len::of_str(&model[..b]), &s);
                        model.insert_str(b, &s);
                    }
                    2 if chars > 0 => {
                        let at = next(chars);
                        let n = 1 + next(chars - at);
                        let (b0, b1) = (byte(&model, at), byte(&model, at + n));
                        let mut out = String::new();
                        let m = buf.remove(len, at, n, Some(&mut out));
                        assert_eq!(out, model[b0..b1]);
                        assert_eq!(m, Len::of_str(&model[b0..b1]));
                        model.replace_range(b0..b1, "");
                    }
                    3 if chars > 0 => {
                        let b = byte(&model, 1 + next(chars));
                        let at = Len::of_str(&model[..b]);
                        let mut out = String::new();
                        let m = buf.remove_before(len, at, Some(&mut out));
                        let c = model[..b].chars().next_back().map(String::from);
                        assert_eq!(Some(out), c);
                        assert_eq!(m.utf8 as usize, c.map_or(0, |c| c.len()));
                        model.replace_range(b - m.utf8 as usize..b, "");
                    }
                    4 if chars > 1 => {
                        let at = next(chars);
                        let (right, m) = buf.split_off(len, at);
                        let b = byte(&model, at);
                        assert_eq!(m, Len::of_str(&model[b..]));
                        assert_eq!(whole(&right, m), model[b..]);
                        model.truncate(b);
                    }
                    _ => {}
                }
                let len = Len::of_str(&model);
                assert_eq!(whole(&buf, len), model);
                let chars = len.chars as usize;
                let at = next(chars + 1);
                let n = next(chars - at + 1);
                let (b0, b1) = (byte(&model, at), byte(&model, at + n));
                assert_eq!(buf.measure_range(len, at, n), Len::of_str(&model[b0..b1]));
                let mut out = String::new();
                buf.copy_to(len, at, n, &mut out);
                assert_eq!(out, model[b0..b1]);
                let (mut u16s, mut u8s) = (0, 0);
                for (i, c) in model.chars().enumerate() {
                    assert_eq!(buf.to_elems(len, Unit::Utf16, u16s), Some(i));
                    assert_eq!(buf.to_elems(len, Unit::Utf8, u8s), Some(i));
                    if c.len_utf16() == 2 {
                        assert_eq!(buf.to_elems(len, Unit::Utf16, u16s + 1), None);
                    }
                    if c.len_utf8() > 1 {
                        assert_eq!(buf.to_elems(len, Unit::Utf8, u8s + 1), None);
                    }
                    u16s += c.len_utf16();
                    u8s += c.len_utf8();
                }
                assert_eq!(buf.to_elems(len, Unit::Utf16, u16s), Some(chars));
                assert_eq!(buf.to_elems(len, Unit::Utf8, u8s + 1), None);
            }
        }
    }

    #[test]
    fn gap_buffer_matches_a_string() {
        matches_a_string::<GapBuf>();
    }

    #[test]
    fn string_buffer_matches_a_string() {
        matches_a_string::<StrBuf>();
    }
}
