//! JSON-like values stored in maps, lists, sets and registers.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};

use crate::encoding::{DecodeError, DecodeErrorKind, Reader, Writer};

/// The kind of a shared container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Unicode text ([`crate::TextRef`]).
    Text,
    /// A sequence of values ([`crate::ListRef`]).
    List,
    /// String keys to values, last writer wins per key ([`crate::MapRef`]).
    Map,
    /// A counter that can go up and down ([`crate::CounterRef`]).
    Counter,
    /// An add-wins set of values ([`crate::SetRef`]).
    Set,
    /// A single last-writer-wins value ([`crate::RegisterRef`]).
    Register,
}

impl Kind {
    pub(crate) fn tag(self) -> u8 {
        match self {
            Kind::Text => 0,
            Kind::List => 1,
            Kind::Map => 2,
            Kind::Counter => 3,
            Kind::Set => 4,
            Kind::Register => 5,
        }
    }

    pub(crate) fn from_tag(t: u8) -> Option<Kind> {
        Some(match t {
            0 => Kind::Text,
            1 => Kind::List,
            2 => Kind::Map,
            3 => Kind::Counter,
            4 => Kind::Set,
            5 => Kind::Register,
            _ => return None,
        })
    }

    /// Lower-case name (`"text"`, `"list"`, …).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::List => "list",
            Kind::Map => "map",
            Kind::Counter => "counter",
            Kind::Set => "set",
            Kind::Register => "register",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A handle to a container inside one [`crate::Doc`]: its kind and a document-local index.
/// Only meaningful for the document that produced it; it never crosses the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContainerRef {
    pub(crate) kind: Kind,
    pub(crate) idx: u32,
}

impl ContainerRef {
    /// The container's kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }
}

/// A JSON-like value, plus raw bytes and references to nested containers.
///
/// Floats compare by bit pattern (so `NaN == NaN` and values can live in sets); `Int` and
/// `Float` are distinct even when numerically equal.
#[derive(Clone, Debug)]
pub enum Value {
    /// JSON `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A 64-bit signed integer.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// A UTF-8 string.
    String(String),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// An array of values (stored as one unit; use a [`crate::ListRef`] for a mergeable list).
    Array(Vec<Value>),
    /// An object of values (stored as one unit; use a [`crate::MapRef`] for a mergeable map).
    Object(BTreeMap<String, Value>),
    /// A nested shared container (read from a map or list of a document).
    Container(ContainerRef),
}

/// Encoded tag of an integer (with the low bits of its zigzagged value).
const INT_TAG: u8 = 0x40;
/// Bit of an integer's tag: more bits of the value follow as a varint.
const INT_MORE: u8 = 0x20;
/// Nesting limit for arrays and objects inside encoded values.
pub(crate) const MAX_DEPTH: usize = 64;

impl Value {
    fn rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Int(_) => 2,
            Value::Float(_) => 3,
            Value::String(_) => 4,
            Value::Bytes(_) => 5,
            Value::Array(_) => 6,
            Value::Object(_) => 7,
            Value::Container(_) => 8,
        }
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an integer.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The container handle, if this is a nested container.
    pub fn as_container(&self) -> Option<ContainerRef> {
        match self {
            Value::Container(c) => Some(*c),
            _ => None,
        }
    }

    /// True when this value or anything nested inside it is a container reference.
    pub(crate) fn has_container(&self) -> bool {
        match self {
            Value::Container(_) => true,
            Value::Array(a) => a.iter().any(Value::has_container),
            Value::Object(o) => o.values().any(Value::has_container),
            _ => false,
        }
    }

    /// Nesting depth of arrays and objects (a scalar has depth 0).
    pub(crate) fn depth(&self) -> usize {
        match self {
            Value::Array(a) => 1 + a.iter().map(Value::depth).max().unwrap_or(0),
            Value::Object(o) => 1 + o.values().map(Value::depth).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// Writes a plain value (no containers; callers check [`Value::has_container`] first).
    pub(crate) fn write(&self, w: &mut Writer) {
        match self {
            Value::Null => w.u8(0),
            Value::Bool(false) => w.u8(1),
            Value::Bool(true) => w.u8(2),
            Value::Int(i) => {
                // Tag 0x40–0x7f: the low 5 bits of the zigzagged value, bit 5 set when the rest
                // follows as a varint (so integers in −16..16 take one byte, in −2048..2048 two).
                let z = crate::encoding::zigzag(*i);
                if z < 32 {
                    w.u8(INT_TAG | z as u8);
                } else {
                    w.u8(INT_TAG | INT_MORE | (z & 31) as u8);
                    w.varint(z >> 5);
                }
            }
            Value::Float(f) => {
                w.u8(4);
                w.f64_le(*f);
            }
            Value::String(s) => {
                w.u8(5);
                w.str(s);
            }
            Value::Bytes(b) => {
                w.u8(6);
                w.bytes(b);
            }
            Value::Array(a) => {
                w.u8(7);
                w.varint(a.len() as u64);
                for v in a {
                    v.write(w);
                }
            }
            Value::Object(o) => {
                w.u8(8);
                w.varint(o.len() as u64);
                for (k, v) in o {
                    w.str(k);
                    v.write(w);
                }
            }
            // Containers are encoded by the op that creates them, never as plain values.
            Value::Container(_) => w.u8(0),
        }
    }

    /// Reads a plain value written by [`Value::write`].
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Value, DecodeError> {
        Self::read_depth(r, 0)
    }

    fn read_depth(r: &mut Reader<'_>, depth: usize) -> Result<Value, DecodeError> {
        let at = r.offset();
        let tag = r.u8()?;
        Ok(match tag {
            0 => Value::Null,
            1 => Value::Bool(false),
            2 => Value::Bool(true),
            INT_TAG..=0x7f => {
                let mut z = u64::from(tag & 31);
                if tag & INT_MORE != 0 {
                    let rest = r.varint()?;
                    if rest >> 59 != 0 {
                        return Err(DecodeError::new(at, DecodeErrorKind::VarintOverflow));
                    }
                    z |= rest << 5;
                }
                Value::Int(crate::encoding::unzigzag(z))
            }
            4 => Value::Float(r.f64_le()?),
            5 => Value::String(r.str()?.to_owned()),
            6 => Value::Bytes(r.bytes()?.to_vec()),
            7 | 8 if depth >= MAX_DEPTH => {
                return Err(DecodeError::new(
                    at,
                    DecodeErrorKind::Inconsistent("value nested too deeply"),
                ));
            }
            7 => {
                let n = r.count(1)?;
                let mut a = Vec::with_capacity(n);
                for _ in 0..n {
                    a.push(Self::read_depth(r, depth + 1)?);
                }
                Value::Array(a)
            }
            8 => {
                let n = r.count(2)?;
                let mut o = BTreeMap::new();
                for _ in 0..n {
                    let k = r.str()?.to_owned();
                    let v = Self::read_depth(r, depth + 1)?;
                    o.insert(k, v);
                }
                Value::Object(o)
            }
            t => return Err(DecodeError::new(at, DecodeErrorKind::InvalidTag(t))),
        })
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Value {}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Value {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Float(a), Value::Float(b)) => a.to_bits().cmp(&b.to_bits()),
            (Value::String(a), Value::String(b)) => a.cmp(b),
            (Value::Bytes(a), Value::Bytes(b)) => a.cmp(b),
            (Value::Array(a), Value::Array(b)) => a.cmp(b),
            (Value::Object(a), Value::Object(b)) => a.cmp(b),
            (Value::Container(a), Value::Container(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.rank().hash(state);
        match self {
            Value::Null => {}
            Value::Bool(b) => b.hash(state),
            Value::Int(i) => i.hash(state),
            Value::Float(f) => f.to_bits().hash(state),
            Value::String(s) => s.hash(state),
            Value::Bytes(b) => b.hash(state),
            Value::Array(a) => a.hash(state),
            Value::Object(o) => o.hash(state),
            Value::Container(c) => c.hash(state),
        }
    }
}

impl fmt::Display for Value {
    /// JSON text (bytes as an array of numbers, containers as `"<kind>"`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) if x.is_finite() => write!(f, "{x}"),
            Value::Float(_) => f.write_str("null"),
            Value::String(s) => write_json_str(f, s),
            Value::Bytes(b) => {
                f.write_str("[")?;
                for (i, x) in b.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{x}")?;
                }
                f.write_str("]")
            }
            Value::Array(a) => {
                f.write_str("[")?;
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Object(o) => {
                f.write_str("{")?;
                for (i, (k, v)) in o.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write_json_str(f, k)?;
                    write!(f, ":{v}")?;
                }
                f.write_str("}")
            }
            Value::Container(c) => write!(f, "\"<{}>\"", c.kind),
        }
    }
}

fn write_json_str(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if (c as u32) < 0x20 => write!(f, "\\u{:04x}", c as u32)?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

macro_rules! from_impl {
    ($($t:ty => $v:ident($conv:expr)),* $(,)?) => {
        $(impl From<$t> for Value {
            fn from(x: $t) -> Self {
                Value::$v($conv(x))
            }
        })*
    };
}

from_impl! {
    bool => Bool(|x| x),
    i64 => Int(|x| x),
    i32 => Int(i64::from),
    u32 => Int(i64::from),
    f64 => Float(|x| x),
    String => String(|x| x),
    &str => String(str::to_owned),
    Vec<u8> => Bytes(|x| x),
    &[u8] => Bytes(<[u8]>::to_vec),
    Vec<Value> => Array(|x| x),
    BTreeMap<String, Value> => Object(|x| x),
}

impl From<()> for Value {
    fn from(_: ()) -> Self {
        Value::Null
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_the_binary_encoding() {
        let mut o = BTreeMap::new();
        o.insert(
            "k".to_owned(),
            Value::from(vec![Value::from(1), Value::Null]),
        );
        let values = [
            Value::Null,
            Value::from(true),
            Value::from(-5i64),
            Value::from(1.5),
            Value::from("héllo"),
            Value::from(vec![1u8, 2, 3]),
            Value::Object(o),
        ];
        for v in values {
            let mut w = Writer::new();
            v.write(&mut w);
            let bytes = w.into_bytes();
            let mut r = Reader::new(&bytes);
            assert_eq!(Value::read(&mut r).unwrap(), v);
            assert!(r.finish().is_ok());
        }
    }

    #[test]
    fn deep_nesting_is_rejected_not_overflowing_the_stack() {
        let bytes = [7u8, 1].repeat(10_000);
        assert!(Value::read(&mut Reader::new(&bytes)).is_err());
    }

    #[test]
    fn display_is_json() {
        let v = Value::from(vec![Value::from("a\"b"), Value::from(2), Value::Null]);
        assert_eq!(v.to_string(), r#"["a\"b",2,null]"#);
    }
}
