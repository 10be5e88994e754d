//! Lengths of visible content in every index unit the APIs use.

use std::ops::{Add, AddAssign, Sub, SubAssign};

/// The unit an index or length is counted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unit {
    /// Unicode scalar values (Rust `char`s); for lists, elements. The native unit.
    Char,
    /// UTF-16 code units, as JavaScript strings count.
    Utf16,
    /// UTF-8 bytes.
    Utf8,
}

impl Unit {
    /// Lower-case name used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Char => "chars",
            Unit::Utf16 => "UTF-16 code units",
            Unit::Utf8 => "UTF-8 bytes",
        }
    }
}

/// A length measured in all three units at once (for lists every unit counts elements).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Len {
    /// Elements: chars for text, values for lists.
    pub chars: u32,
    /// UTF-16 code units.
    pub utf16: u32,
    /// UTF-8 bytes.
    pub utf8: u32,
}

impl Len {
    /// A length of `n` in every unit (ASCII text, or list elements).
    pub(crate) fn uniform(n: u32) -> Self {
        Self {
            chars: n,
            utf16: n,
            utf8: n,
        }
    }

    /// Measures a string.
    pub(crate) fn of_str(s: &str) -> Self {
        Self::of_bytes(s.as_bytes())
    }

    /// Measures UTF-8 text given as bytes.
    #[inline]
    pub(crate) fn of_bytes(s: &[u8]) -> Self {
        let (chars, utf16) = super::utf8::chars_and_utf16(s);
        Self {
            chars: chars as u32,
            utf16: utf16 as u32,
            utf8: s.len() as u32,
        }
    }

    /// The length in `unit`.
    pub fn get(&self, unit: Unit) -> usize {
        (match unit {
            Unit::Char => self.chars,
            Unit::Utf16 => self.utf16,
            Unit::Utf8 => self.utf8,
        }) as usize
    }

    /// True when every unit is zero.
    pub fn is_zero(&self) -> bool {
        self.chars == 0
    }

    /// True when one char is one unit in every unit (pure ASCII text, or a list).
    pub(crate) fn is_uniform(&self) -> bool {
        self.chars == self.utf8
    }
}

impl Add for Len {
    type Output = Len;
    fn add(self, o: Len) -> Len {
        Len {
            chars: self.chars + o.chars,
            utf16: self.utf16 + o.utf16,
            utf8: self.utf8 + o.utf8,
        }
    }
}

impl AddAssign for Len {
    fn add_assign(&mut self, o: Len) {
        *self = *self + o;
    }
}

impl Sub for Len {
    type Output = Len;
    fn sub(self, o: Len) -> Len {
        Len {
            chars: self.chars - o.chars,
            utf16: self.utf16 - o.utf16,
            utf8: self.utf8 - o.utf8,
        }
    }
}

impl SubAssign for Len {
    fn sub_assign(&mut self, o: Len) {
        *self = *self - o;
    }
}
