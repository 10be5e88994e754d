//! State vectors: a compact summary of which operations a replica has seen.

use std::cmp::Ordering;

use crate::encoding::{DecodeError, DecodeErrorKind, Reader, Writer};
use crate::id::{OpId, ReplicaId};
use crate::vecmap::VecMap;

/// The clocks a state vector keeps per replica (both exclusive ends, i.e. counts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Clocks {
    /// Operations seen: every op with `seq < ops` (inserts, map writes, counter adds, …).
    pub ops: u64,
    /// Deletions seen: every deletion with deletion sequence number `< deletes`.
    pub deletes: u64,
}

/// For each replica, how many of its operations and deletions have been seen. Operations of one
/// replica are always integrated in order, so two counters per replica summarise a whole history.
///
/// Deletions are counted in a clock of their own so that typing after a backspace keeps extending
/// the same run of insert ids (which keeps documents and updates small).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct StateVector {
    clocks: VecMap<ReplicaId, Clocks>,
}

impl StateVector {
    /// The empty state vector (has seen nothing).
    pub fn new() -> Self {
        Self::default()
    }

    /// A state vector of `(replica, clocks)` entries sorted by replica without duplicates;
    /// entries with both clocks zero are left out.
    pub(crate) fn from_sorted(entries: impl Iterator<Item = (ReplicaId, Clocks)>) -> Self {
        let clocks = entries.filter(|(_, c)| *c != Clocks::default()).collect();
        Self {
            clocks: VecMap::from_sorted(clocks),
        }
    }

    /// True when nothing has been seen.
    pub fn is_empty(&self) -> bool {
        self.clocks.values().all(|c| c.ops == 0 && c.deletes == 0)
    }

    /// Clocks of one replica (zero when unknown).
    pub fn get(&self, replica: ReplicaId) -> Clocks {
        self.clocks.get(&replica).copied().unwrap_or_default()
    }

    /// Number of operations of `replica` seen (the exclusive end of its op clock).
    pub fn ops(&self, replica: ReplicaId) -> u64 {
        self.get(replica).ops
    }

    /// Number of deletions of `replica` seen.
    pub fn deletes(&self, replica: ReplicaId) -> u64 {
        self.get(replica).deletes
    }

    /// Sets both clocks of `replica`.
    pub fn set(&mut self, replica: ReplicaId, clocks: Clocks) {
        if clocks == Clocks::default() {
            self.clocks.remove(&replica);
        } else {
            self.clocks.insert(replica, clocks);
        }
    }

    /// True when the operation `id` is covered.
    pub fn contains(&self, id: OpId) -> bool {
        id.seq < self.ops(id.replica)
    }

    /// Iterates `(replica, clocks)` in replica order.
    pub fn iter(&self) -> impl Iterator<Item = (ReplicaId, Clocks)> + '_ {
        self.clocks.iter().map(|(r, c)| (*r, *c))
    }

    /// Pointwise maximum: afterwards `self` covers everything either covered.
    pub fn merge(&mut self, other: &StateVector) {
        for (r, c) in other.iter() {
            let e = self.clocks.entry(r).or_default();
            e.ops = e.ops.max(c.ops);
            e.deletes = e.deletes.max(c.deletes);
        }
    }

    /// What `self` has that `other` lacks, per replica, as `(replica, from, to)` clock ranges for
    /// operations and for deletions.
    pub fn diff(&self, other: &StateVector) -> StateVectorDiff {
        let mut ops = Vec::new();
        let mut deletes = Vec::new();
        for (r, c) in self.iter() {
            let o = other.get(r);
            if c.ops > o.ops {
                ops.push((r, o.ops, c.ops));
            }
            if c.deletes > o.deletes {
                deletes.push((r, o.deletes, c.deletes));
            }
        }
        StateVectorDiff { ops, deletes }
    }

    /// Encodes as: count, then per replica (ascending) its id, op clock and deletion clock, all
    /// as varints. See docs/FORMAT.md.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.write(&mut w);
        w.into_bytes()
    }

    pub(crate) fn write(&self, w: &mut Writer) {
        let entries: Vec<_> = self
            .iter()
            .filter(|(_, c)| *c != Clocks::default())
            .collect();
        w.varint(entries.len() as u64);
        for (r, c) in entries {
            w.varint(r.0);
            w.varint(c.ops);
            w.varint(c.deletes);
        }
    }

    /// Decodes what [`StateVector::encode`] wrote. Total: any bytes give `Ok` or an error.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let sv = Self::read(&mut r)?;
        r.finish()?;
        Ok(sv)
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.count(3)?;
        let mut clocks = VecMap::new();
        let mut prev: Option<u64> = None;
        for _ in 0..n {
            let at = r.offset();
            let id = r.varint()?;
            if prev.is_some_and(|p| p >= id) {
                return Err(DecodeError::new(
                    at,
                    DecodeErrorKind::Inconsistent("state vector replicas out of order"),
                ));
            }
            prev = Some(id);
            let ops = r.varint()?;
            let deletes = r.varint()?;
            if ops == 0 && deletes == 0 {
                // Never written (docs/FORMAT.md): accepting it would make two equal state
                // vectors compare unequal.
                return Err(DecodeError::new(
                    at,
                    DecodeErrorKind::Inconsistent("state vector entry with both clocks zero"),
                ));
            }
            clocks.insert(ReplicaId(id), Clocks { ops, deletes });
        }
        Ok(Self { clocks })
    }
}

/// Clock ranges one state vector has beyond another (see [`StateVector::diff`]).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct StateVectorDiff {
    /// `(replica, from, to)`: operations `from..to` of `replica`.
    pub ops: Vec<(ReplicaId, u64, u64)>,
    /// `(replica, from, to)`: deletions `from..to` of `replica`.
    pub deletes: Vec<(ReplicaId, u64, u64)>,
}

impl StateVectorDiff {
    /// True when there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty() && self.deletes.is_empty()
    }
}

impl PartialOrd for StateVector {
    /// The causal partial order: `a <= b` when `b` has seen everything `a` has.
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        let mut less = false;
        let mut greater = false;
        let keys = self.clocks.keys().chain(other.clocks.keys());
        for r in keys {
            let (a, b) = (self.get(*r), other.get(*r));
            for (x, y) in [(a.ops, b.ops), (a.deletes, b.deletes)] {
                match x.cmp(&y) {
                    Ordering::Less => less = true,
                    Ordering::Greater => greater = true,
                    Ordering::Equal => {}
                }
            }
        }
        match (less, greater) {
            (false, false) => Some(Ordering::Equal),
            (true, false) => Some(Ordering::Less),
            (false, true) => Some(Ordering::Greater),
            (true, true) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sv(entries: &[(u64, u64, u64)]) -> StateVector {
        let mut s = StateVector::new();
        for &(r, o, d) in entries {
            s.set(ReplicaId(r), Clocks { ops: o, deletes: d });
        }
        s
    }

    #[test]
    fn merge_is_pointwise_max_and_order_is_causal() {
        let a = sv(&[(1, 5, 0), (2, 1, 3)]);
        let b = sv(&[(1, 3, 1), (3, 2, 0)]);
        let mut m = a.clone();
        m.merge(&b);
        assert_eq!(m, sv(&[(1, 5, 1), (2, 1, 3), (3, 2, 0)]));
        assert_eq!(a.partial_cmp(&b), None);
        assert_eq!(a.partial_cmp(&m), Some(Ordering::Less));
        assert_eq!(m.partial_cmp(&m.clone()), Some(Ordering::Equal));
        assert!(m.contains(OpId::new(ReplicaId(1), 4)));
        assert!(!m.contains(OpId::new(ReplicaId(1), 5)));
    }

    #[test]
    fn diff_lists_missing_ranges() {
        let a = sv(&[(1, 5, 2), (2, 1, 0)]);
        let b = sv(&[(1, 3, 2)]);
        let d = a.diff(&b);
        assert_eq!(d.ops, vec![(ReplicaId(1), 3, 5), (ReplicaId(2), 0, 1)]);
        assert!(d.deletes.is_empty());
        assert!(b.diff(&a).ops.is_empty());
    }

    #[test]
    fn encoding_round_trips_and_rejects_garbage() {
        let a = sv(&[(1, 5, 2), (u64::MAX, 1, 0)]);
        assert_eq!(StateVector::decode(&a.encode()).unwrap(), a);
        assert!(StateVector::decode(&[5]).is_err());
        let mut bytes = a.encode();
        bytes.push(0);
        assert!(StateVector::decode(&bytes).is_err());
    }
}
