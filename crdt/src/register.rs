//! Last-writer-wins registers and the [`Stamp`] order — the one place in Weft where ties between
//! concurrent writes are broken.

use std::cmp::Ordering;

use crate::id::ReplicaId;

/// When and by whom a value was written: a Lamport clock and the writer's replica id.
///
/// Stamps are totally ordered: first by Lamport clock, then by replica id. The later stamp wins.
/// This ordering is the only tie-break for concurrent last-writer-wins writes in the crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Stamp {
    /// Lamport clock of the write.
    pub lamport: u64,
    /// The writer.
    pub replica: ReplicaId,
}

impl Stamp {
    /// Creates a stamp.
    pub fn new(lamport: u64, replica: ReplicaId) -> Self {
        Self { lamport, replica }
    }
}

impl Ord for Stamp {
    fn cmp(&self, other: &Self) -> Ordering {
        self.lamport
            .cmp(&other.lamport)
            .then(self.replica.cmp(&other.replica))
    }
}

impl PartialOrd for Stamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A register holding the value of the write with the greatest [`Stamp`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LwwRegister<T> {
    value: Option<T>,
    stamp: Stamp,
}

impl<T> Default for LwwRegister<T> {
    fn default() -> Self {
        Self {
            value: None,
            stamp: Stamp::default(),
        }
    }
}

impl<T: Clone> LwwRegister<T> {
    /// An empty register.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current value (`None` before any write, or after a write of `None`).
    pub fn get(&self) -> Option<&T> {
        self.value.as_ref()
    }

    /// The stamp of the current value.
    pub fn stamp(&self) -> Stamp {
        self.stamp
    }

    /// Writes `value` as `replica`, stamped after everything this register has seen.
    /// Returns the stamp used.
    pub fn set(&mut self, replica: ReplicaId, value: Option<T>) -> Stamp {
        let stamp = Stamp::new(self.stamp.lamport + 1, replica);
        self.value = value;
        self.stamp = stamp;
        stamp
    }

    /// Applies a write with a given stamp; it takes effect only when its stamp is greater than
    /// the current one. Returns whether it did.
    pub fn apply(&mut self, stamp: Stamp, value: Option<T>) -> bool {
        if stamp > self.stamp {
            self.stamp = stamp;
            self.value = value;
            true
        } else {
            false
        }
    }

    /// Keeps whichever of the two writes has the greater stamp.
    pub fn merge(&mut self, other: &LwwRegister<T>) {
        if other.stamp > self.stamp {
            self.stamp = other.stamp;
            self.value = other.value.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_lamport_wins_then_higher_replica() {
        let mut a = LwwRegister::new();
        let mut b = LwwRegister::new();
        a.set(ReplicaId(1), Some("a"));
        b.set(ReplicaId(2), Some("b"));
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        assert_eq!(ab, ba);
        assert_eq!(ab.get(), Some(&"b"), "equal clocks: higher replica id wins");
        ab.set(ReplicaId(1), Some("c"));
        ba.merge(&ab);
        assert_eq!(ba.get(), Some(&"c"));
    }
}
