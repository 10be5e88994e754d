//! [`DelLog`]: one replica's deletions by deletion sequence number. Deletions apply as soon as
//! their targets exist, so the log may have gaps; the state vector counts its gap-free prefix.

use super::container::DelRun;
use crate::id::Lv;
use crate::seq::tree::LvInfo;

/// Deletions of one replica, sorted by deletion sequence number, never overlapping.
#[derive(Clone, Debug, Default)]
pub(crate) struct DelLog {
    runs: Vec<DelRun>,
}

impl DelLog {
    /// The runs in order.
    pub(crate) fn runs(&self) -> &[DelRun] {
        &self.runs
    }

    /// Records deletions `dseq..dseq+n` of the elements `lv..lv+n` (in reverse order when
    /// `rev`), none of which may be recorded yet. Merges with the previous run when the
    /// deletions continue it (forward deletes, or backspaces walking backwards). Returns the
    /// new gap-free prefix given the old one.
    pub(crate) fn insert(
        &mut self,
        ids: &impl LvInfo,
        dseq: u32,
        lv: Lv,
        n: u32,
        rev: bool,
        prefix: u32,
    ) -> u32 {
        let rev = rev && n > 1;
        // Common case: the next deletion in order.
        let appending = self.end() <= dseq;
        let i = if appending {
            self.runs.len()
        } else {
            self.runs.partition_point(|r| r.dseq < dseq)
        };
        let merged = i
            .checked_sub(1)
            .and_then(|p| self.runs.get_mut(p))
            .is_some_and(|last| extend(last, ids, dseq, lv, n, rev));
        if !merged {
            self.runs.insert(
                i,
                DelRun {
                    dseq,
                    target: lv,
                    len: n,
                    rev,
                },
            );
        }
        if appending && dseq == prefix {
            return dseq + n;
        }
        // Advance the gap-free prefix.
        let mut next = prefix;
        if dseq <= next {
            next = next.max(dseq + n);
            let j = self.runs.partition_point(|r| r.dseq + r.len <= next);
            for r in self.runs.iter().skip(j) {
                if r.dseq > next {
                    break;
                }
                next = next.max(r.dseq + r.len);
            }
        }
        next
    }

    /// Records deletions `dseq..dseq+n` of the elements `lv..lv+n` in order after every recorded
    /// one (`dseq >= self.end()`), as a replica's own deletions are.
    pub(crate) fn append(&mut self, ids: &impl LvInfo, dseq: u32, lv: Lv, n: u32) {
        if let Some(last) = self.runs.last_mut()
            // Only a deletion next to the last one's targets can continue it.
            && (last.target + last.len == lv || lv + n == last.target)
            && extend(last, ids, dseq, lv, n, false)
        {
            return;
        }
        self.runs.push(DelRun {
            dseq,
            target: lv,
            len: n,
            rev: false,
        });
    }

    /// The parts of `dseq..dseq+n` already recorded, as `(from, to)` offsets into the range.
    pub(crate) fn known(&self, dseq: u32, n: u32) -> Vec<(u32, u32)> {
        let end = dseq + n;
        let i = self.runs.partition_point(|r| r.dseq + r.len <= dseq);
        let mut out = Vec::new();
        for r in self.runs.iter().skip(i) {
            if r.dseq >= end {
                break;
            }
            let a = r.dseq.max(dseq);
            let b = (r.dseq + r.len).min(end);
            out.push((a - dseq, b - dseq));
        }
        out
    }

    /// Recorded runs overlapping `from..to`, sliced to it.
    pub(crate) fn slice(&self, from: u32, to: u32) -> impl Iterator<Item = DelRun> + '_ {
        let i = self.runs.partition_point(|r| r.dseq + r.len <= from);
        self.runs
            .iter()
            .skip(i)
            .take_while(move |r| r.dseq < to)
            .map(move |r| {
                let i0 = from.max(r.dseq) - r.dseq;
                let i1 = to.min(r.dseq + r.len) - r.dseq;
                let len = i1 - i0;
                let target = if r.rev {
                    r.target + r.len - i1
                } else {
                    r.target + i0
                };
                DelRun {
                    dseq: r.dseq + i0,
                    target,
                    len,
                    rev: r.rev && len > 1,
                }
            })
    }

    /// One past the highest recorded deletion.
    pub(crate) fn end(&self) -> u32 {
        self.runs.last().map_or(0, |r| r.dseq + r.len)
    }
}

/// Extends `last` with the deletions `dseq..dseq+n` of `lv..lv+n` (reversed when `rev`) when they
/// continue it: forward deletes, or backspaces walking backwards. Returns false, changing
/// nothing, otherwise.
fn extend(last: &mut DelRun, ids: &impl LvInfo, dseq: u32, lv: Lv, n: u32, rev: bool) -> bool {
    if last.dseq + last.len != dseq {
        return false;
    }
    let last_end = last.target + last.len;
    let fwd_ok = !last.rev || last.len == 1;
    let rev_ok = last.rev || last.len == 1;
    if fwd_ok && (!rev || n == 1) && last_end == lv && ids.contiguous(last_end - 1, lv) {
        last.len += n;
        last.rev = false;
        true
    } else if rev_ok
        && (rev || n == 1)
        && lv + n == last.target
        && ids.contiguous(lv + n - 1, last.target)
    {
        last.target = lv;
        last.len += n;
        last.rev = true;
        true
    } else {
        false
    }
}
