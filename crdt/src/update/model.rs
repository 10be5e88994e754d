//! The decoded form of an update: what [`super::decode`] produces and [`super::apply`] consumes.
//! Ids are `(replica index, seq)` pairs into the update's own replica table.

use super::format::OpTag;
use crate::id::ReplicaId;
use crate::value::{Kind, Value};

/// `(replica index in the update, sequence number)`.
pub(crate) type RId = (u32, u32);

/// How a container is named in an update.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum CName {
    Root(String),
    /// Created by the operation with this id.
    Nested(RId),
}

/// One entry of the update's container table.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct CKey {
    pub(crate) kind: Kind,
    pub(crate) name: CName,
}

/// A value carried by an operation: plain, or a new container (whose id is the op's id).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum DValue {
    Plain(Value),
    New(Kind),
}

/// What an operation does.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum DBody {
    /// `len` sequence elements of a text (`list` false) or list. `content` is the byte range
    /// (text) or element range (lists) of their visible content in the update's content block
    /// (diff layout only).
    Insert {
        ol: Option<RId>,
        or: Option<RId>,
        content: (u32, u32),
        list: bool,
    },
    MapSet {
        key: String,
        value: Option<DValue>,
    },
    CounterAdd(i64),
    SetAdd(Value),
    SetRemove {
        value: Value,
        dots: Vec<RId>,
    },
    RegisterSet(Option<DValue>),
}

impl DBody {
    pub(crate) fn tag(&self) -> OpTag {
        match self {
            DBody::Insert { list: false, .. } => OpTag::TextInsert,
            DBody::Insert { list: true, .. } => OpTag::ListInsert,
            DBody::MapSet { .. } => OpTag::MapSet,
            DBody::CounterAdd(_) => OpTag::CounterAdd,
            DBody::SetAdd(_) => OpTag::SetAdd,
            DBody::SetRemove { .. } => OpTag::SetRemove,
            DBody::RegisterSet(_) => OpTag::RegisterSet,
        }
    }

    /// The kind of container this operation applies to.
    pub(crate) fn kind(&self) -> Kind {
        match self {
            DBody::Insert { list: false, .. } => Kind::Text,
            DBody::Insert { list: true, .. } => Kind::List,
            DBody::MapSet { .. } => Kind::Map,
            DBody::CounterAdd(_) => Kind::Counter,
            DBody::SetAdd(_) | DBody::SetRemove { .. } => Kind::Set,
            DBody::RegisterSet(_) => Kind::Register,
        }
    }
}

/// [`DOp::container`] of an insert whose container is that of its origins (row layout).
pub(crate) const IMPLIED: u32 = u32::MAX;

/// One operation (an insert run covers `len` consecutive sequence numbers; others cover one).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DOp {
    /// Index into the update's container table, or [`IMPLIED`].
    pub(crate) container: u32,
    pub(crate) len: u32,
    pub(crate) lamport: u64,
    pub(crate) body: DBody,
}

/// Consecutive operations of one replica starting at `start`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Stream {
    pub(crate) replica: u32,
    pub(crate) start: u32,
    pub(crate) ops: Vec<DOp>,
}

impl Stream {
    /// One past the last sequence number.
    pub(crate) fn end(&self) -> u32 {
        self.start + self.ops.iter().map(|o| o.len).sum::<u32>()
    }
}

/// `len` deletions of the elements `target.1..target.1+len` of replica `target.0`
/// (in reverse order when `rev`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DDel {
    pub(crate) target: RId,
    pub(crate) len: u32,
    pub(crate) rev: bool,
}

/// Consecutive deletions of one replica starting at deletion number `start`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DelStream {
    pub(crate) replica: u32,
    pub(crate) start: u32,
    pub(crate) runs: Vec<DDel>,
}

/// A list element in the content block.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Elem {
    Plain(Value),
    New(Kind),
}

/// A fully decoded and syntactically validated update.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Decoded {
    pub(crate) replicas: Vec<ReplicaId>,
    pub(crate) containers: Vec<CKey>,
    pub(crate) streams: Vec<Stream>,
    pub(crate) dels: Vec<DelStream>,
    /// Content in document order per sequence container (a whole-document encoding), instead
    /// of per operation.
    pub(crate) snapshot: bool,
    pub(crate) text: String,
    pub(crate) values: Vec<Elem>,
    /// Snapshot layout: per container (table index), its content range in `text` (bytes) or
    /// `values` (elements).
    pub(crate) snapshot_content: Vec<(u32, u32)>,
    /// Further updates carried along (operations that were still waiting for dependencies).
    pub(crate) extra: Vec<Decoded>,
}
