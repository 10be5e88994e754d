//! Counters: grow-only ([`GCounter`]) and up-down ([`PNCounter`]).
//!
//! Each replica owns one slot and only ever raises it; merging takes the slot-wise maximum, so
//! merge is commutative, associative and idempotent. Inside a [`crate::Doc`] the same
//! [`PNCounter`] is driven by increment operations delivered exactly once, in order per replica.

use crate::id::ReplicaId;
use crate::vecmap::VecMap;

/// A grow-only counter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GCounter {
    slots: VecMap<ReplicaId, u64>,
}

impl GCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `n` on behalf of `replica` (saturating at `u64::MAX`).
    pub fn increment(&mut self, replica: ReplicaId, n: u64) {
        let slot = self.slots.entry(replica).or_default();
        *slot = slot.saturating_add(n);
    }

    /// The total (sum of every replica's slot, saturating).
    pub fn value(&self) -> u64 {
        self.slots.values().fold(0u64, |a, b| a.saturating_add(*b))
    }

    /// The slot of one replica.
    pub fn get(&self, replica: ReplicaId) -> u64 {
        self.slots.get(&replica).copied().unwrap_or(0)
    }

    /// Slot-wise maximum.
    pub fn merge(&mut self, other: &GCounter) {
        for (r, v) in &other.slots {
            let slot = self.slots.entry(*r).or_default();
            *slot = (*slot).max(*v);
        }
    }

    /// Iterates `(replica, slot)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (ReplicaId, u64)> + '_ {
        self.slots.iter().map(|(r, v)| (*r, *v))
    }
}

/// A counter that goes up and down: a pair of grow-only counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PNCounter {
    up: GCounter,
    down: GCounter,
}

impl PNCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `delta` (negative to decrement) on behalf of `replica`.
    pub fn add(&mut self, replica: ReplicaId, delta: i64) {
        if delta >= 0 {
            self.up.increment(replica, delta.unsigned_abs());
        } else {
            self.down.increment(replica, delta.unsigned_abs());
        }
    }

    /// Adds `n` on behalf of `replica`.
    pub fn increment(&mut self, replica: ReplicaId, n: u64) {
        self.up.increment(replica, n);
    }

    /// Subtracts `n` on behalf of `replica`.
    pub fn decrement(&mut self, replica: ReplicaId, n: u64) {
        self.down.increment(replica, n);
    }

    /// The current value (increments minus decrements, wrapping in two's complement).
    pub fn value(&self) -> i64 {
        self.up.value().wrapping_sub(self.down.value()) as i64
    }

    /// Slot-wise maximum of both halves.
    pub fn merge(&mut self, other: &PNCounter) {
        self.up.merge(&other.up);
        self.down.merge(&other.down);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_sum_slots_and_merge_by_max() {
        let (a, b) = (ReplicaId(1), ReplicaId(2));
        let mut x = PNCounter::new();
        x.increment(a, 5);
        x.decrement(a, 2);
        let mut y = PNCounter::new();
        y.add(b, -4);
        y.add(b, 1);
        x.merge(&y);
        assert_eq!(x.value(), 0);
        let before = x.clone();
        x.merge(&before);
        assert_eq!(x, before, "merge is idempotent");
        let mut g = GCounter::new();
        g.increment(a, 3);
        assert_eq!(g.get(a), 3);
        assert_eq!(g.value(), 3);
    }
}
