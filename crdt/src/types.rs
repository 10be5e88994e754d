//! Handles to the shared types of a document: small `Copy` values valid for the [`Doc`] that
//! made them. Edits take a [`Transaction`]; reads take the document (or a transaction).

use crate::doc::container::{OpValue, State};
use crate::doc::{Doc, Transaction};
use crate::error::Error;
use crate::value::{ContainerRef, Kind, Value};

macro_rules! handle {
    ($(#[$doc:meta])* $name:ident, $kind:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $name(pub(crate) ContainerRef);

        impl $name {
            /// The untyped handle.
            pub fn container(&self) -> ContainerRef {
                self.0
            }

            /// Views an untyped handle as this type (`None` when it is another kind).
            pub fn from_container(c: ContainerRef) -> Option<Self> {
                (c.kind == Kind::$kind).then_some(Self(c))
            }
        }

        impl From<$name> for ContainerRef {
            fn from(h: $name) -> ContainerRef {
                h.0
            }
        }
    };
}

handle!(
    /// A text: a sequence of Unicode characters that merges concurrent edits (YATA).
    TextRef, Text
);
handle!(
    /// A list of values that merges concurrent edits (YATA).
    ListRef, List
);
handle!(
    /// A map from string keys to values or nested containers; last writer wins per key.
    MapRef, Map
);
handle!(
    /// A counter that merges by adding every replica's increments and decrements.
    CounterRef, Counter
);
handle!(
    /// An add-wins observed-remove set of values.
    SetRef, Set
);
handle!(
    /// A register holding one value; last writer wins.
    RegisterRef, Register
);

fn plain(value: Value) -> Result<OpValue, Error> {
    if value.has_container() {
        return Err(Error::InvalidValue(
            "container references cannot be stored as values",
        ));
    }
    if value.depth() > crate::value::MAX_DEPTH {
        return Err(Error::InvalidValue("value nested too deeply"));
    }
    Ok(OpValue::Plain(value))
}

impl MapRef {
    /// Sets `key` to `value`.
    pub fn set(
        &self,
        tx: &mut Transaction<'_>,
        key: &str,
        value: impl Into<Value>,
    ) -> Result<(), Error> {
        tx.map_write(self.0, key, Some(plain(value.into())?))
            .map(|_| ())
    }

    /// Sets `key` to a new empty container of `kind` and returns it.
    pub fn set_container(
        &self,
        tx: &mut Transaction<'_>,
        key: &str,
        kind: Kind,
    ) -> Result<ContainerRef, Error> {
        match tx.map_write(self.0, key, Some(OpValue::New(kind)))? {
            Some(Value::Container(c)) => Ok(c),
            _ => Err(Error::WrongKind { expected: kind }),
        }
    }

    /// Deletes `key` (a no-op write when absent is still recorded, so it wins over older writes).
    pub fn delete(&self, tx: &mut Transaction<'_>, key: &str) -> Result<(), Error> {
        if self.get(tx, key).is_none() {
            return Ok(());
        }
        tx.map_write(self.0, key, None).map(|_| ())
    }

    /// The value of `key`.
    pub fn get(&self, doc: &Doc, key: &str) -> Option<Value> {
        doc.map_entries(self.0)?.get(key)?.get().cloned()
    }

    /// True when `key` has a value.
    pub fn contains_key(&self, doc: &Doc, key: &str) -> bool {
        self.get(doc, key).is_some()
    }

    /// Keys with values, in order.
    pub fn keys(&self, doc: &Doc) -> Vec<String> {
        doc.map_entries(self.0)
            .map(|m| {
                m.iter()
                    .filter(|(_, r)| r.get().is_some())
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `(key, value)` pairs in key order.
    pub fn entries(&self, doc: &Doc) -> Vec<(String, Value)> {
        doc.map_entries(self.0)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, r)| r.get().map(|v| (k.clone(), v.clone())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Number of keys with values.
    pub fn len(&self, doc: &Doc) -> usize {
        self.keys(doc).len()
    }

    /// True when no key has a value.
    pub fn is_empty(&self, doc: &Doc) -> bool {
        self.len(doc) == 0
    }
}

impl CounterRef {
    /// Adds `n` (may be negative).
    pub fn increment(&self, tx: &mut Transaction<'_>, n: i64) -> Result<(), Error> {
        tx.counter_add(self.0, n)
    }

    /// Subtracts `n`.
    pub fn decrement(&self, tx: &mut Transaction<'_>, n: i64) -> Result<(), Error> {
        tx.counter_add(self.0, n.wrapping_neg())
    }

    /// The current value.
    pub fn value(&self, doc: &Doc) -> i64 {
        match doc.state(self.0) {
            Some(State::Counter(c)) => c.value(),
            _ => 0,
        }
    }
}

impl SetRef {
    /// Adds `value`.
    pub fn add(&self, tx: &mut Transaction<'_>, value: impl Into<Value>) -> Result<(), Error> {
        let OpValue::Plain(v) = plain(value.into())? else {
            return Err(Error::InvalidValue("sets hold plain values"));
        };
        tx.set_add(self.0, v)
    }

    /// Removes `value` (the adds this replica has seen); returns whether it was present.
    pub fn remove(&self, tx: &mut Transaction<'_>, value: &Value) -> Result<bool, Error> {
        tx.set_remove(self.0, value)
    }

    /// True when `value` is in the set.
    pub fn contains(&self, doc: &Doc, value: &Value) -> bool {
        matches!(doc.state(self.0), Some(State::Set(s)) if s.contains(value))
    }

    /// The values, in order.
    pub fn values(&self, doc: &Doc) -> Vec<Value> {
        match doc.state(self.0) {
            Some(State::Set(s)) => s.iter().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// Number of values.
    pub fn len(&self, doc: &Doc) -> usize {
        match doc.state(self.0) {
            Some(State::Set(s)) => s.len(),
            _ => 0,
        }
    }

    /// True when empty.
    pub fn is_empty(&self, doc: &Doc) -> bool {
        self.len(doc) == 0
    }
}

impl RegisterRef {
    /// Writes `value`.
    pub fn set(&self, tx: &mut Transaction<'_>, value: impl Into<Value>) -> Result<(), Error> {
        tx.register_write(self.0, Some(plain(value.into())?))
            .map(|_| ())
    }

    /// Writes a new empty container of `kind` and returns it.
    pub fn set_container(
        &self,
        tx: &mut Transaction<'_>,
        kind: Kind,
    ) -> Result<ContainerRef, Error> {
        match tx.register_write(self.0, Some(OpValue::New(kind)))? {
            Some(Value::Container(c)) => Ok(c),
            _ => Err(Error::WrongKind { expected: kind }),
        }
    }

    /// Clears the register.
    pub fn clear(&self, tx: &mut Transaction<'_>) -> Result<(), Error> {
        tx.register_write(self.0, None).map(|_| ())
    }

    /// The current value.
    pub fn get(&self, doc: &Doc) -> Option<Value> {
        match doc.state(self.0) {
            Some(State::Register(r)) => r.get().cloned(),
            _ => None,
        }
    }
}
