//! Containers: the state of each shared type inside a document, and how ops address them.

use std::collections::BTreeMap;

use crate::counter::PNCounter;
use crate::event::{SeqEdit, TxnRecord};
use crate::id::Lv;
use crate::register::LwwRegister;
use crate::seq::buf::{Buf, ListBuf, TextBuf};
use crate::seq::lazy::LazySeq;
use crate::seq::tree::SeqTree;
use crate::set::OrSet;
use crate::value::{Kind, Value};

/// How a container is named on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ContainerKey {
    /// A root container: its name (the kind is part of the identity too).
    Root(String),
    /// A nested container, created by the operation with this local version.
    Nested(Lv),
}

/// The state of one container.
pub(crate) enum State {
    Text(LazySeq<TextBuf>),
    List(SeqTree<ListBuf>),
    Map(BTreeMap<String, LwwRegister<Value>>),
    Counter(PNCounter),
    Set(OrSet<Value>),
    Register(LwwRegister<Value>),
}

impl State {
    pub(crate) fn new(kind: Kind) -> State {
        match kind {
            Kind::Text => State::Text(LazySeq::default()),
            Kind::List => State::List(SeqTree::new()),
            Kind::Map => State::Map(BTreeMap::new()),
            Kind::Counter => State::Counter(PNCounter::new()),
            Kind::Set => State::Set(OrSet::new()),
            Kind::Register => State::Register(LwwRegister::new()),
        }
    }
}

/// The glue between a sequence content type, the container state holding it and the
/// transaction record (implemented by [`TextBuf`] and [`ListBuf`]).
pub(crate) trait SeqKind: Buf + Sized {
    /// The container kind holding this content.
    const KIND: Kind;
    /// The tree of a container of this kind (built now if it was loaded lazily).
    fn tree<'a>(s: &'a mut State, ids: &super::ids::IdMap) -> Option<&'a mut SeqTree<Self>>;
    /// Records an edit of container `c` for events and undo.
    fn push_edit(r: &mut TxnRecord, c: u32, e: SeqEdit<Self::Owned>);
}

impl SeqKind for TextBuf {
    const KIND: Kind = Kind::Text;
    fn tree<'a>(s: &'a mut State, ids: &super::ids::IdMap) -> Option<&'a mut SeqTree<Self>> {
        match s {
            State::Text(t) => Some(t.get_mut(ids)),
            _ => None,
        }
    }
    fn push_edit(r: &mut TxnRecord, c: u32, e: SeqEdit<String>) {
        r.text.entry(c).or_default().push(e);
    }
}

impl SeqKind for ListBuf {
    const KIND: Kind = Kind::List;
    fn tree<'a>(s: &'a mut State, _ids: &super::ids::IdMap) -> Option<&'a mut SeqTree<Self>> {
        match s {
            State::List(t) => Some(t),
            _ => None,
        }
    }
    fn push_edit(r: &mut TxnRecord, c: u32, e: SeqEdit<Vec<Value>>) {
        r.list.entry(c).or_default().push(e);
    }
}

/// One container of a document.
pub(crate) struct Container {
    pub(crate) key: ContainerKey,
    pub(crate) kind: Kind,
    pub(crate) state: State,
}

/// A value as an operation carries it: plain, or "a new container of this kind" whose id is the
/// operation's own id.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum OpValue {
    Plain(Value),
    New(Kind),
}

/// The body of a non-sequence operation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum MiscBody {
    /// Map write (`None` deletes the key).
    MapSet { key: String, value: Option<OpValue> },
    /// Counter change.
    CounterAdd(i64),
    /// Set add (the dot is the op's own id).
    SetAdd(Value),
    /// Set remove of the observed dots (local versions of the adds).
    SetRemove { value: Value, dots: Vec<Lv> },
    /// Register write (`None` clears it).
    RegisterSet(Option<OpValue>),
}

/// A non-sequence operation kept for encoding.
#[derive(Clone, Debug)]
pub(crate) struct MiscOp {
    pub(crate) container: u32,
    pub(crate) lamport: u64,
    pub(crate) body: MiscBody,
}

/// Which container owns local versions `lv..lv+len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Owner {
    pub(crate) lv: Lv,
    pub(crate) len: u32,
    pub(crate) container: u32,
}

/// The owners of every local version, in order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Owners(Vec<Owner>);

impl Owners {
    /// Records that `lv..lv+len` (fresh, after every recorded one) belongs to `container`.
    pub(crate) fn push(&mut self, lv: Lv, len: u32, container: u32) {
        if let Some(last) = self.0.last_mut()
            && last.container == container
            && last.lv + last.len == lv
        {
            last.len += len;
            return;
        }
        self.0.push(Owner { lv, len, container });
    }

    /// The owner of `lv`.
    pub(crate) fn get(&self, lv: Lv) -> Option<u32> {
        let i = self.0.partition_point(|o| o.lv + o.len <= lv);
        self.0.get(i).filter(|o| o.lv <= lv).map(|o| o.container)
    }

    /// The owner run holding `lv`.
    pub(crate) fn run(&self, lv: Lv) -> Option<Owner> {
        let i = self.0.partition_point(|o| o.lv + o.len <= lv);
        self.0.get(i).copied().filter(|o| o.lv <= lv)
    }
}

/// Deletions `dseq..dseq+len` of one replica, deleting the elements `target..target+len`
/// (in reverse order when `rev`: deletion `dseq` removed `target+len-1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DelRun {
    pub(crate) dseq: u32,
    pub(crate) target: Lv,
    pub(crate) len: u32,
    pub(crate) rev: bool,
}
