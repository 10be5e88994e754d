//! [`LwwMap`]: a standalone map whose keys are independent last-writer-wins registers.

use std::collections::BTreeMap;

use crate::id::ReplicaId;
use crate::register::{LwwRegister, Stamp};

/// A map from keys to values where each key is a [`LwwRegister`]; deletes are tombstones
/// (a write of `None`) so that they merge like writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LwwMap<K: Ord, V> {
    entries: BTreeMap<K, LwwRegister<V>>,
    lamport: u64,
}

impl<K: Ord, V> Default for LwwMap<K, V> {
    fn default() -> Self {
        Self {
            entries: BTreeMap::new(),
            lamport: 0,
        }
    }
}

impl<K: Ord + Clone, V: Clone> LwwMap<K, V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    fn write(&mut self, replica: ReplicaId, key: K, value: Option<V>) -> Stamp {
        self.lamport += 1;
        let stamp = Stamp::new(self.lamport, replica);
        self.entries.entry(key).or_default().apply(stamp, value);
        stamp
    }

    /// Sets `key` to `value` as `replica`.
    pub fn set(&mut self, replica: ReplicaId, key: K, value: V) -> Stamp {
        self.write(replica, key, Some(value))
    }

    /// Deletes `key` as `replica` (a tombstone that wins over older writes).
    pub fn delete(&mut self, replica: ReplicaId, key: K) -> Stamp {
        self.write(replica, key, None)
    }

    /// The value of `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.entries.get(key).and_then(LwwRegister::get)
    }

    /// Live entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> + '_ {
        self.entries
            .iter()
            .filter_map(|(k, r)| r.get().map(|v| (k, v)))
    }

    /// Number of live keys.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// True when no key is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Key-wise register merge.
    pub fn merge(&mut self, other: &LwwMap<K, V>) {
        for (k, r) in &other.entries {
            self.lamport = self.lamport.max(r.stamp().lamport);
            self.entries.entry(k.clone()).or_default().merge(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_write_per_key_wins_and_deletes_merge() {
        let (a, b) = (ReplicaId(1), ReplicaId(2));
        let mut x = LwwMap::new();
        x.set(a, "k", 1);
        let mut y = x.clone();
        y.merge(&x);
        y.delete(b, "k");
        x.set(a, "j", 2);
        let mut xy = x.clone();
        xy.merge(&y);
        let mut yx = y.clone();
        yx.merge(&x);
        assert_eq!(xy, yx);
        assert_eq!(xy.get(&"k"), None);
        assert_eq!(xy.get(&"j"), Some(&2));
        assert_eq!(xy.len(), 1);
    }
}
