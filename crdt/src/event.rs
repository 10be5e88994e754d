//! Observers and the events they receive after each transaction.

use std::collections::BTreeMap;

use crate::doc::Origin;
use crate::seq::Len;
use crate::value::{ContainerRef, Value};
use crate::vecmap::VecMap;

/// A committed transaction's encoded update, as delivered to [`crate::Doc::on_update`].
#[derive(Debug)]
pub struct UpdateEvent<'a> {
    /// The update bytes: apply them to another replica with [`crate::Doc::apply_update`].
    pub update: &'a [u8],
    /// The transaction's origin tag.
    pub origin: Option<&'a Origin>,
    /// True for local edits, false for applied remote updates.
    pub local: bool,
}

/// One step of a sequence delta: keep, insert or delete, walking the sequence from its start.
#[derive(Clone, Debug, PartialEq)]
pub enum Delta<T> {
    /// Keep this many elements.
    Retain(Len),
    /// Insert content here.
    Insert(T),
    /// Delete this many elements.
    Delete(Len),
}

/// A text change: lengths in every unit, inserted text as a `String`.
pub type TextDelta = Delta<String>;
/// A list change.
pub type ListDelta = Delta<Vec<Value>>;

/// A change to one key of a map.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyChange {
    /// The key.
    pub key: String,
    /// Value before the transaction.
    pub old: Option<Value>,
    /// Value after the transaction.
    pub new: Option<Value>,
}

/// What changed in one container.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Text delta.
    Text(Vec<TextDelta>),
    /// List delta.
    List(Vec<ListDelta>),
    /// Map keys whose values changed.
    Map(Vec<KeyChange>),
    /// Counter change (sum of the increments applied).
    Counter {
        /// Net change.
        delta: i64,
    },
    /// Set membership change.
    Set {
        /// Values that became present.
        added: Vec<Value>,
        /// Values that became absent.
        removed: Vec<Value>,
    },
    /// Register change.
    Register {
        /// Value before.
        old: Option<Value>,
        /// Value after.
        new: Option<Value>,
    },
}

/// What a transaction changed in one observed container.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The container that changed.
    pub target: ContainerRef,
    /// The transaction's origin tag.
    pub origin: Option<crate::doc::Origin>,
    /// True for local edits, false for applied remote updates.
    pub local: bool,
    /// The change.
    pub change: Change,
}

/// Handle returned by the observe functions; pass it to [`crate::Doc::unobserve`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Subscription(u64);

pub(crate) type UpdateFn = Box<dyn FnMut(&UpdateEvent<'_>) + Send>;
pub(crate) type EventFn = Box<dyn FnMut(&Event) + Send>;
pub(crate) type TxnFn = Box<dyn FnMut(&TxnRecord) + Send>;

/// Registered observers.
#[derive(Default)]
pub(crate) struct Observers {
    next: u64,
    pub(crate) update: Vec<(u64, UpdateFn)>,
    pub(crate) events: Vec<(u64, ContainerRef, EventFn)>,
    pub(crate) txns: Vec<(u64, TxnFn)>,
}

impl Observers {
    fn id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    pub(crate) fn add_update(&mut self, f: UpdateFn) -> Subscription {
        let id = self.id();
        self.update.push((id, f));
        Subscription(id)
    }

    pub(crate) fn add_event(&mut self, c: ContainerRef, f: EventFn) -> Subscription {
        let id = self.id();
        self.events.push((id, c, f));
        Subscription(id)
    }

    pub(crate) fn add_txn(&mut self, f: TxnFn) -> Subscription {
        let id = self.id();
        self.txns.push((id, f));
        Subscription(id)
    }

    pub(crate) fn remove(&mut self, sub: Subscription) {
        self.update.retain(|(id, _)| *id != sub.0);
        self.events.retain(|(id, _, _)| *id != sub.0);
        self.txns.retain(|(id, _)| *id != sub.0);
    }

    /// True when transactions must record what they change.
    pub(crate) fn recording(&self) -> bool {
        !self.events.is_empty() || !self.txns.is_empty()
    }
}

/// A positional edit of a sequence, in the order it happened within a transaction.
#[derive(Clone, Debug)]
pub(crate) enum SeqEdit<T> {
    Insert {
        pos: Len,
        content: T,
        lv: crate::id::Lv,
    },
    Delete {
        pos: Len,
        len: Len,
        content: T,
        lv: crate::id::Lv,
        n: u32,
    },
}

/// A value before a transaction and after it (`None`: absent).
pub(crate) type BeforeAfter = (Option<Value>, Option<Value>);

/// Everything a transaction changed, recorded when observers or undo managers need it.
#[derive(Default, Debug)]
pub(crate) struct TxnRecord {
    pub(crate) origin: Option<Origin>,
    pub(crate) local: bool,
    pub(crate) text: VecMap<u32, Vec<SeqEdit<String>>>,
    pub(crate) list: VecMap<u32, Vec<SeqEdit<Vec<Value>>>>,
    /// key → (value before the transaction, value after)
    pub(crate) keys: VecMap<u32, BTreeMap<String, BeforeAfter>>,
    pub(crate) counters: VecMap<u32, i64>,
    /// value → `Some(true)` when added, `Some(false)` when removed, `None` when changes
    /// cancelled out (net). Entries are never removed: that spares the wasm build the code of
    /// `BTreeMap::remove` for this type.
    pub(crate) sets: VecMap<u32, BTreeMap<Value, Option<bool>>>,
    pub(crate) registers: VecMap<u32, BeforeAfter>,
}

impl TxnRecord {
    pub(crate) fn is_empty(&self) -> bool {
        self.text.is_empty()
            && self.list.is_empty()
            && self.keys.is_empty()
            && self.counters.is_empty()
            && self.sets.is_empty()
            && self.registers.is_empty()
    }

    pub(crate) fn key_change(&mut self, c: u32, key: &str, old: Option<Value>, new: Option<Value>) {
        let e = self
            .keys
            .entry(c)
            .or_default()
            .entry(key.to_owned())
            .or_insert((old, None));
        e.1 = new;
    }

    pub(crate) fn register_change(&mut self, c: u32, old: Option<Value>, new: Option<Value>) {
        let e = self.registers.entry(c).or_insert((old, None));
        e.1 = new;
    }

    pub(crate) fn set_change(&mut self, c: u32, value: &Value, added: bool) {
        let m = self.sets.entry(c).or_default();
        match m.get_mut(value) {
            Some(net) => {
                *net = match *net {
                    Some(prev) if prev != added => None,
                    _ => Some(added),
                };
            }
            None => {
                m.insert(value.clone(), Some(added));
            }
        }
    }

    /// Builds the events for every container that changed.
    pub(crate) fn events(&self) -> Vec<(u32, Change)> {
        let mut out = Vec::new();
        for (c, edits) in &self.text {
            out.push((
                *c,
                Change::Text(compose(edits, |s: &String| Len::of_str(s))),
            ));
        }
        for (c, edits) in &self.list {
            out.push((
                *c,
                Change::List(compose(
                    edits,
                    |v: &Vec<Value>| Len::uniform(v.len() as u32),
                )),
            ));
        }
        for (c, keys) in &self.keys {
            let changes: Vec<KeyChange> = keys
                .iter()
                .filter(|(_, (o, n))| o != n)
                .map(|(k, (o, n))| KeyChange {
                    key: k.clone(),
                    old: o.clone(),
                    new: n.clone(),
                })
                .collect();
            if !changes.is_empty() {
                out.push((*c, Change::Map(changes)));
            }
        }
        for (c, d) in &self.counters {
            out.push((*c, Change::Counter { delta: *d }));
        }
        for (c, m) in &self.sets {
            let added = m
                .iter()
                .filter(|(_, a)| **a == Some(true))
                .map(|(v, _)| v.clone())
                .collect();
            let removed = m
                .iter()
                .filter(|(_, a)| **a == Some(false))
                .map(|(v, _)| v.clone())
                .collect();
            out.push((*c, Change::Set { added, removed }));
        }
        for (c, (o, n)) in &self.registers {
            if o != n {
                out.push((
                    *c,
                    Change::Register {
                        old: o.clone(),
                        new: n.clone(),
                    },
                ));
            }
        }
        out
    }
}

/// One piece of a delta being composed: original elements kept or deleted, or new content.
#[derive(Clone, Debug)]
enum Piece<T> {
    Keep(Len),
    Gone(Len),
    New(T, Len),
}

impl<T> Piece<T> {
    /// Length in the current state (deleted pieces have none).
    fn current(&self) -> Len {
        match self {
            Piece::Keep(l) | Piece::New(_, l) => *l,
            Piece::Gone(_) => Len::default(),
        }
    }
}

/// Turns positional edits (each against the state left by the previous one) into a delta
/// against the state before the transaction.
fn compose<T: Clone + Splittable>(
    edits: &[SeqEdit<T>],
    measure: impl Fn(&T) -> Len,
) -> Vec<Delta<T>> {
    // Original content after the last piece is implicitly kept.
    let mut pieces: Vec<Piece<T>> = Vec::new();
    for e in edits {
        match e {
            SeqEdit::Insert { pos, content, .. } => {
                let i = split_at(&mut pieces, *pos, &measure);
                pieces.insert(i, Piece::New(content.clone(), measure(content)));
            }
            SeqEdit::Delete { pos, len, .. } => {
                let start = split_at(&mut pieces, *pos, &measure);
                let end = split_at(&mut pieces, *pos + *len, &measure);
                let replaced: Vec<Piece<T>> = pieces
                    .drain(start..end)
                    .filter_map(|p| match p {
                        Piece::Keep(l) | Piece::Gone(l) => Some(Piece::Gone(l)),
                        Piece::New(..) => None,
                    })
                    .collect();
                pieces.splice(start..start, replaced);
            }
        }
    }
    let mut delta: Vec<Delta<T>> = Vec::new();
    for p in pieces {
        match p {
            Piece::Keep(l) => match delta.last_mut() {
                Some(Delta::Retain(r)) => *r += l,
                _ => delta.push(Delta::Retain(l)),
            },
            Piece::Gone(l) => match delta.last_mut() {
                Some(Delta::Delete(d)) => *d += l,
                _ => delta.push(Delta::Delete(l)),
            },
            Piece::New(t, _) => match delta.last_mut() {
                Some(Delta::Insert(prev)) => prev.append_from(&t),
                _ => delta.push(Delta::Insert(t)),
            },
        }
    }
    while matches!(delta.last(), Some(Delta::Retain(_))) {
        delta.pop();
    }
    delta
}

/// Makes `pos` (in the current state) a piece boundary; returns the index of the piece that
/// starts there (possibly `pieces.len()`).
fn split_at<T: Splittable>(
    pieces: &mut Vec<Piece<T>>,
    pos: Len,
    measure: &impl Fn(&T) -> Len,
) -> usize {
    let mut acc = Len::default();
    for i in 0..pieces.len() {
        let l = pieces[i].current();
        if pos.chars == acc.chars && !l.is_zero() {
            return i;
        }
        if pos.chars < acc.chars + l.chars {
            let rest = match &mut pieces[i] {
                Piece::Keep(len) => {
                    let left = pos - acc;
                    let right = *len - left;
                    *len = left;
                    Piece::Keep(right)
                }
                Piece::New(t, len) => {
                    let right = t.split_elems(pos.chars - acc.chars);
                    let rl = measure(&right);
                    *len -= rl;
                    Piece::New(right, rl)
                }
                Piece::Gone(l) => Piece::Gone(*l),
            };
            pieces.insert(i + 1, rest);
            return i + 1;
        }
        acc += l;
    }
    if pos.chars > acc.chars {
        pieces.push(Piece::Keep(pos - acc));
    }
    pieces.len()
}

/// Content that can be split at an element offset and concatenated (for delta composition).
pub(crate) trait Splittable: Sized {
    /// Splits off everything from element `at`.
    fn split_elems(&mut self, at: u32) -> Self;
    /// Appends `other`.
    fn append_from(&mut self, other: &Self);
}

impl Splittable for String {
    fn split_elems(&mut self, at: u32) -> Self {
        let b = self
            .char_indices()
            .nth(at as usize)
            .map_or(self.len(), |(b, _)| b);
        self.split_off(b)
    }
    fn append_from(&mut self, other: &Self) {
        self.push_str(other);
    }
}

impl Splittable for Vec<Value> {
    fn split_elems(&mut self, at: u32) -> Self {
        self.split_off((at as usize).min(self.len()))
    }
    fn append_from(&mut self, other: &Self) {
        self.extend_from_slice(other);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ins(pos: u32, s: &str) -> SeqEdit<String> {
        SeqEdit::Insert {
            pos: Len::uniform(pos),
            content: s.to_owned(),
            lv: 0,
        }
    }

    fn del(pos: u32, n: u32) -> SeqEdit<String> {
        SeqEdit::Delete {
            pos: Len::uniform(pos),
            len: Len::uniform(n),
            content: String::new(),
            lv: 0,
            n,
        }
    }

    #[test]
    fn edits_compose_into_a_delta_against_the_old_state() {
        // old: "0123456789"; insert "ab" at 2, delete 1 at 0, delete "b" (now at 2) and "2"
        let edits = [ins(2, "ab"), del(0, 1), del(2, 2)];
        let d = compose(&edits, |s: &String| Len::of_str(s));
        assert_eq!(
            d,
            vec![
                Delta::Delete(Len::uniform(1)),
                Delta::Retain(Len::uniform(1)),
                Delta::Insert("a".to_owned()),
                Delta::Delete(Len::uniform(1)),
            ]
        );
    }
}
