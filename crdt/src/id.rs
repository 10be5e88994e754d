//! Identifiers: replicas, operations, and the local indexes that never leave a process.

use std::fmt;

/// Identifies one replica (one editing session) of a document. Random by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ReplicaId(pub u64);

impl ReplicaId {
    /// The replica id drawn from 64 random bits: their low 48 (never 0). 48 bits keep ids
    /// short on the wire (a 7-byte varint in every update) with collisions still unlikely.
    pub fn from_random_bits(bits: u64) -> ReplicaId {
        ReplicaId((bits & 0xffff_ffff_ffff).max(1))
    }
}

impl fmt::Display for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl From<u64> for ReplicaId {
    fn from(v: u64) -> Self {
        Self(v)
    }
}

/// Globally unique id of one operation element: the replica that made it and its sequence number
/// in that replica's clock (an insert of `n` elements uses `n` consecutive sequence numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId {
    /// The replica that created the operation.
    pub replica: ReplicaId,
    /// Position in that replica's operation clock (0-based).
    pub seq: u64,
}

impl OpId {
    /// Creates an id.
    pub fn new(replica: ReplicaId, seq: u64) -> Self {
        Self { replica, seq }
    }
}

impl fmt::Display for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.seq, self.replica)
    }
}

/// Local version: a dense index of an operation element in the order this process integrated it.
/// Local versions are memory-efficient stand-ins for [`OpId`]s and never cross the wire.
pub(crate) type Lv = u32;

/// "No element" in fields holding a [`Lv`] (the start or end of a sequence).
pub(crate) const NO_LV: Lv = u32::MAX;

/// Dense local index of a replica in one document's replica table. Never crosses the wire.
pub(crate) type Agent = u32;
