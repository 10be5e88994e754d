//! [`OrSet`]: an add-wins observed-remove set.
//!
//! Every add is tagged with a unique dot (replica, counter). A remove deletes only the dots it
//! observed, so an add concurrent with a remove survives. The causal context (the highest dot
//! seen per replica) lets [`OrSet::merge`] tell "removed" from "not yet seen".

use std::collections::BTreeMap;

use crate::id::ReplicaId;
use crate::vecmap::VecMap;

/// The unique tag of one add: the replica that added and its counter.
pub type Dot = (ReplicaId, u64);

/// An add-wins observed-remove set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrSet<T: Ord> {
    /// Each present value with its dots (sorted, without duplicates; usually just one).
    entries: BTreeMap<T, Vec<Dot>>,
    context: VecMap<ReplicaId, u64>,
}

impl<T: Ord> Default for OrSet<T> {
    fn default() -> Self {
        Self {
            entries: BTreeMap::new(),
            context: VecMap::new(),
        }
    }
}

impl<T: Ord + Clone> OrSet<T> {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value` as `replica`; returns the new dot.
    pub fn add(&mut self, replica: ReplicaId, value: T) -> Dot {
        let counter = self.context.get(&replica).copied().unwrap_or(0) + 1;
        let dot = (replica, counter);
        self.apply_add(dot, value);
        dot
    }

    /// Removes `value` (the adds observed so far); returns the dots removed.
    pub fn remove(&mut self, value: &T) -> Vec<Dot> {
        let dots: Vec<Dot> = self.dots(value).collect();
        self.apply_remove(value, &dots);
        dots
    }

    /// Integrates an add with a known dot. Returns true when `value` became present.
    pub fn apply_add(&mut self, dot: Dot, value: T) -> bool {
        let seen = self.context.entry(dot.0).or_default();
        *seen = (*seen).max(dot.1);
        let dots = self.entries.entry(value).or_default();
        let was_empty = dots.is_empty();
        insert_dot(dots, dot);
        was_empty
    }

    /// Integrates a remove of the given observed dots. Returns true when `value` became absent.
    pub fn apply_remove(&mut self, value: &T, dots: &[Dot]) -> bool {
        let Some(present) = self.entries.get_mut(value) else {
            return false;
        };
        present.retain(|d| !dots.contains(d));
        if present.is_empty() {
            self.entries.remove(value);
            true
        } else {
            false
        }
    }

    /// True when `value` is in the set.
    pub fn contains(&self, value: &T) -> bool {
        self.entries.contains_key(value)
    }

    /// The dots currently supporting `value`.
    pub fn dots(&self, value: &T) -> impl Iterator<Item = Dot> + '_ {
        self.entries.get(value).into_iter().flatten().copied()
    }

    /// The values, in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.entries.keys()
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn seen(&self, dot: &Dot) -> bool {
        self.context.get(&dot.0).is_some_and(|c| *c >= dot.1)
    }

    /// State merge: a dot survives when both sides have it, or when one side has it and the other
    /// has not seen it yet.
    pub fn merge(&mut self, other: &OrSet<T>) {
        let mut out: BTreeMap<T, Vec<Dot>> = BTreeMap::new();
        for (v, dots) in &self.entries {
            let theirs = other.entries.get(v);
            let keep: Vec<Dot> = dots
                .iter()
                .filter(|d| theirs.is_some_and(|t| t.contains(d)) || !other.seen(d))
                .copied()
                .collect();
            if !keep.is_empty() {
                out.insert(v.clone(), keep);
            }
        }
        for (v, dots) in &other.entries {
            let mine = self.entries.get(v);
            let add: Vec<Dot> = dots
                .iter()
                .filter(|d| mine.is_none_or(|m| !m.contains(d)) && !self.seen(d))
                .copied()
                .collect();
            if !add.is_empty() {
                let dots = out.entry(v.clone()).or_default();
                for d in add {
                    insert_dot(dots, d);
                }
            }
        }
        for (r, c) in &other.context {
            let e = self.context.entry(*r).or_default();
            *e = (*e).max(*c);
        }
        self.entries = out;
    }
}

/// Adds `dot` to sorted `dots` (once).
fn insert_dot(dots: &mut Vec<Dot>, dot: Dot) {
    if let Err(i) = dots.binary_search(&dot) {
        dots.insert(i, dot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_add_wins_over_remove() {
        let (a, b) = (ReplicaId(1), ReplicaId(2));
        let mut x = OrSet::new();
        x.add(a, "k");
        let mut y = x.clone();
        x.remove(&"k");
        y.add(b, "k");
        let mut xy = x.clone();
        xy.merge(&y);
        let mut yx = y.clone();
        yx.merge(&x);
        assert!(xy.contains(&"k"));
        assert_eq!(xy, yx);
        // A remove that observed both adds removes the value everywhere.
        xy.remove(&"k");
        yx.merge(&xy);
        assert!(!yx.contains(&"k"));
    }
}
