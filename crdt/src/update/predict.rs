//! Right-origin prediction (docs/FORMAT.md, "Origins"): the encoder and the decoder both walk an
//! update's inserts in operation order and predict each insert's right origin from the inserts
//! before it, so only the rare insert whose right origin differs carries one.
//!
//! The prediction for an insert after element `x` is the element that, as far as the earlier
//! inserts of the update tell, follows `x`: the first element of the latest insert after `x`,
//! else the right origin of the insert that ends with `x`, else `x`'s successor in its run
//! (same replica, next sequence number). An insert at the start of a sequence is predicted to
//! have no right origin.
#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use super::model::RId;

/// An empty slot's key, and the stored form of "no element" (no replica index is `u32::MAX`).
const NONE: RId = (u32::MAX, u32::MAX);

/// What follows which element, as learnt from the inserts so far: a hash table with linear
/// probing (keys are ids; values are ids or [`NONE`] for the end of the sequence).
#[derive(Default)]
pub(crate) struct Predictor {
    /// `2^bits` slots (none before the first entry).
    slots: Vec<(RId, RId)>,
    bits: u32,
    used: usize,
}

/// Fibonacci hashing: the top bits of the key times 2⁶⁴/φ.
fn slot_of(key: RId, bits: u32) -> usize {
    let h = (u64::from(key.0) << 32 | u64::from(key.1)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h >> (64 - bits)) as usize
}

impl Predictor {
    /// A predictor with room for `inserts` inserts before it grows.
    pub(crate) fn with_capacity(inserts: usize) -> Predictor {
        // Two entries per insert, at most half the slots used.
        let bits = (inserts.max(16) * 4).next_power_of_two().trailing_zeros();
        Predictor {
            slots: vec![(NONE, NONE); 1 << bits],
            bits,
            used: 0,
        }
    }

    /// The predicted right origin of an insert whose left origin is `ol`.
    pub(crate) fn predict(&self, ol: Option<RId>) -> Option<RId> {
        let x = ol?;
        if !self.slots.is_empty() {
            let mask = self.slots.len() - 1;
            let mut i = slot_of(x, self.bits);
            while let Some(&(k, v)) = self.slots.get(i) {
                if k == x {
                    return (v != NONE).then_some(v);
                }
                if k == NONE {
                    break;
                }
                i = (i + 1) & mask;
            }
        }
        x.1.checked_add(1).map(|t| (x.0, t))
    }

    /// Learns from an insert after `ol` of the elements `first..=last` before `or`.
    pub(crate) fn record(&mut self, ol: Option<RId>, first: RId, last: RId, or: Option<RId>) {
        if let Some(x) = ol {
            self.set(x, first);
        }
        self.set(last, or.unwrap_or(NONE));
    }

    fn set(&mut self, key: RId, value: RId) {
        if key == NONE {
            return;
        }
        if (self.used + 1) * 2 > self.slots.len() {
            let old = std::mem::take(&mut self.slots);
            self.bits = if old.is_empty() { 6 } else { self.bits + 1 };
            self.slots = vec![(NONE, NONE); 1 << self.bits];
            self.used = 0;
            for (k, v) in old {
                if k != NONE {
                    self.set(k, v);
                }
            }
        }
        let mask = self.slots.len() - 1;
        let mut i = slot_of(key, self.bits);
        while let Some(slot) = self.slots.get_mut(i) {
            if slot.0 == key || slot.0 == NONE {
                if slot.0 == NONE {
                    self.used += 1;
                }
                *slot = (key, value);
                return;
            }
            i = (i + 1) & mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicts_from_earlier_inserts() {
        let mut p = Predictor::default();
        assert_eq!(p.predict(None), None);
        assert_eq!(p.predict(Some((1, 4))), Some((1, 5)));
        // "abc" typed at the start, then "x" after "b", then "y" after "c".
        p.record(None, (0, 0), (0, 2), None);
        assert_eq!(p.predict(Some((0, 1))), Some((0, 2)));
        assert_eq!(p.predict(Some((0, 2))), None);
        p.record(Some((0, 1)), (0, 3), (0, 3), Some((0, 2)));
        assert_eq!(p.predict(Some((0, 1))), Some((0, 3)));
        assert_eq!(p.predict(Some((0, 3))), Some((0, 2)));
        for i in 0..1000 {
            p.record(Some((2, i)), (3, i), (3, i), Some((2, i + 1)));
        }
        assert_eq!(p.predict(Some((2, 999))), Some((3, 999)));
        assert_eq!(p.predict(Some((3, 5))), Some((2, 6)));
        assert_eq!(p.predict(Some((0, 3))), Some((0, 2)));
    }
}
