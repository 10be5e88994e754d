//! Leaf content buffers: the visible elements of one tree leaf, stored contiguously.

use super::metrics::{Len, Unit};
use super::utf8::{char_from_end, char_to_byte, count_chars, utf16_to_char};
use crate::value::Value;

/// Content stored in a sequence: text (a `String` per leaf) or values (a `Vec<Value>` per leaf).
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
    /// Inserts `s` after the content `at` (measured in every unit, so no offset is converted).
    fn insert_at(&mut self, at: Len, s: &Self::Slice);
    /// Removes `n` elements at `at`; appends them to `out` when given. Returns their length.
    fn remove(&mut self, len: Len, at: usize, n: usize, out: Option<&mut Self::Owned>) -> Len;
    /// Removes the element right before the content `at` (which must not be empty); appends
    /// it to `out` when given. Returns its length.
    fn remove_before(&mut self, at: Len, out: Option<&mut Self::Owned>) -> Len;
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
fn sparse(len: usize, cap: usize) -> bool {
    cap > 4 * len + MIN_SPARE
}

/// Text content of a leaf.
#[derive(Clone, Debug, Default)]
pub(crate) struct TextBuf(pub(crate) String);

impl TextBuf {
    /// Byte offset of char `at`, counted from whichever end of the buffer is nearer (a leaf
    /// cut into pieces from its end converts offsets near the end).
    fn byte_at(&self, len: Len, at: usize) -> usize {
        if len.is_uniform() {
            return at;
        }
        match (len.chars as usize).checked_sub(at) {
            Some(0) => self.0.len(),
            Some(back) if back < at => char_from_end(&self.0, back),
            _ => char_to_byte(&self.0, at),
        }
    }
}

impl Buf for TextBuf {
    type Slice = str;
    type Owned = String;

    fn measure(s: &str) -> Len {
        Len::of_str(s)
    }

    fn count(s: &str) -> usize {
        if s.len() == 1 || s.is_ascii() {
            s.len()
        } else {
            count_chars(s)
        }
    }

    fn sub_slice(s: &str, at: usize, n: usize) -> &str {
        let (_, rest) = Self::split_front(s, at);
        Self::split_front(rest, n).0
    }

    fn split_front(s: &str, n: usize) -> (&str, &str) {
        s.split_at_checked(char_to_byte(s, n)).unwrap_or((s, ""))
    }

    fn insert_at(&mut self, at: Len, s: &str) {
        self.0.insert_str(at.utf8 as usize, s);
    }

    fn remove(&mut self, len: Len, at: usize, n: usize, out: Option<&mut String>) -> Len {
        let start = self.byte_at(len, at);
        let end = if len.is_uniform() {
            at + n
        } else {
            let tail = self.0.get(start..).unwrap_or_default();
            start + char_to_byte(tail, n)
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

    fn remove_before(&mut self, at: Len, out: Option<&mut String>) -> Len {
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
        (TextBuf(right), m)
    }

    fn measure_range(&self, len: Len, at: usize, n: usize) -> Len {
        if len.is_uniform() {
            return Len::uniform(n as u32);
        }
        let start = self.byte_at(len, at);
        let tail = self.0.get(start..).unwrap_or_default();
        Len::of_str(Self::sub_slice(tail, 0, n))
    }

    fn to_elems(&self, len: Len, unit: Unit, off: usize) -> Option<usize> {
        if off > len.get(unit) {
            return None;
        }
        match unit {
            _ if len.is_uniform() => Some(off),
            Unit::Char => Some(off),
            Unit::Utf16 => utf16_to_char(&self.0, off),
            Unit::Utf8 => self.0.get(..off).map(count_chars),
        }
    }

    fn copy_to(&self, len: Len, at: usize, n: usize, out: &mut String) {
        let start = self.byte_at(len, at);
        let tail = self.0.get(start..).unwrap_or_default();
        out.push_str(Self::sub_slice(tail, 0, n));
    }

    fn extend_owned(out: &mut String, s: &str) {
        out.push_str(s);
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

    fn insert_at(&mut self, at: Len, s: &[Value]) {
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

    fn remove_before(&mut self, at: Len, out: Option<&mut Vec<Value>>) -> Len {
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
    use super::*;

    #[test]
    fn deleting_most_of_a_leaf_gives_its_memory_back() {
        let s = "x".repeat(4000);
        let mut t = TextBuf::default();
        t.insert_at(Len::default(), &s);
        let mut len = Len::of_str(&s);
        len -= t.remove(len, 10, 3980, None);
        assert_eq!(t.0, "x".repeat(20));
        assert!(t.0.capacity() <= 4 * 20 + MIN_SPARE, "{}", t.0.capacity());

        let mut l = ListBuf::default();
        let values: Vec<Value> = (0..1000).map(Value::Int).collect();
        l.insert_at(Len::default(), &values);
        l.remove(Len::uniform(1000), 0, 990, None);
        assert_eq!(l.0, values[990..]);
        assert!(l.0.capacity() <= 4 * 10 + MIN_SPARE, "{}", l.0.capacity());
    }
}
