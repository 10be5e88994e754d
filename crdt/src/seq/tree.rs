//! [`SeqTree`]: the B-tree of [`Run`]s that stores one sequence, with visible lengths cached per
//! node in every unit so that a position lookup is O(log n), a cursor cache for sequential typing,
//! and a [`LeafIndex`] from local versions to leaves for operations that name elements by id.
//!
//! Nodes live in arenas (`Vec`s) and refer to each other by index; leaves are never freed, and a
//! split keeps the left half in place, so leaf 0 is always the first leaf.

use super::buf::Buf;
use super::idindex::IdIndex;
use super::metrics::{Len, Unit};
use super::run::{MAX_RUN_LEN, Run};
use super::spine::{NONE, Spine};
use crate::id::{Lv, NO_LV, ReplicaId};
use crate::span::Span;

/// Most runs a leaf holds before it splits.
const MAX_RUNS: usize = 64;
/// Most content bytes (text) or values (lists) a leaf holds before it splits.
const MAX_LEAF_CONTENT: u32 = 2048;
/// Content of the leaves a long paste is cut into: room left for typing before they split.
const LEAF_FILL: u32 = MAX_LEAF_CONTENT * 3 / 4;
/// Native builds take speed-ups that the WebAssembly package's size bar leaves out.
const NATIVE: bool = cfg!(not(target_arch = "wasm32"));

/// What the sequence needs to know about local versions from the document's id map.
pub(crate) trait LvInfo {
    /// The replica that created `lv`.
    fn replica_of(&self, lv: Lv) -> ReplicaId;
    /// True when `b` is the element right after `a` in the same replica's clock.
    fn contiguous(&self, a: Lv, b: Lv) -> bool;
}

/// A position that does not exist in the sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PosError {
    /// Past the end; `len` is the current length in the same unit.
    OutOfRange { len: usize },
    /// Inside a character (a UTF-16 surrogate pair or a multi-byte UTF-8 sequence).
    InsideChar,
}

/// A reference to an element that this tree does not hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct UnknownLv;

pub(crate) struct Leaf<B> {
    pub(crate) runs: Vec<Run>,
    pub(crate) buf: B,
    pub(crate) len: Len,
    pub(crate) next: u32,
    prev: u32,
}

/// A point between elements: before element `off` of run `run` of `leaf`
/// (`run == runs.len()` and `off == 0` means the end of the leaf).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Place {
    pub(crate) leaf: u32,
    pub(crate) run: usize,
    pub(crate) off: u32,
}

/// The sequence of one text or list.
pub(crate) struct SeqTree<B: Buf> {
    pub(crate) leaves: Vec<Leaf<B>>,
    /// The internal nodes, with the leaves' lengths.
    spine: Spine,
    last_leaf: u32,
    /// Local version → leaf (natively, local edits leave it behind until a lookup).
    index: IdIndex,
    /// The leaf of the last local edit and the length of everything before it.
    cache: Option<(u32, Len)>,
    /// Where the last local insert ended, while nothing else has changed: typing on continues
    /// that run without a search.
    hot: Option<Hot>,
}

/// The end of the last locally inserted run.
#[derive(Clone, Copy, Debug)]
struct Hot {
    leaf: u32,
    run: usize,
    /// Visible content of the leaf before the end of the run (in every unit, so that typing
    /// needs no offset conversion in leaves holding non-ASCII text).
    at: Len,
    /// Visible length of the document before the end of the run.
    pos: Len,
    /// Local version right after the run.
    next: Lv,
    /// False once elements after the run were deleted (backspace): typing then needs a search
    /// (the insert goes after the new tombstones), but further backspaces stay fast.
    extend: bool,
}

impl<B: Buf> Default for SeqTree<B> {
    fn default() -> Self {
        Self::new()
    }
}

/// The result of a local insert: where it went.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Inserted {
    /// Visible length before the insertion point.
    pub(crate) pos: Len,
}

/// One visible stretch removed by a deletion.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Removed {
    /// First local version removed.
    pub(crate) lv: Lv,
    /// Number of elements.
    pub(crate) n: u32,
    /// Visible length before the stretch (after earlier stretches of the same call were removed).
    pub(crate) pos: Len,
    /// Length of the stretch.
    pub(crate) len: Len,
}

impl<B: Buf> SeqTree<B> {
    /// An empty sequence.
    pub(crate) fn new() -> Self {
        Self {
            leaves: vec![Leaf {
                runs: Vec::new(),
                buf: B::default(),
                len: Len::default(),
                next: NONE,
                prev: NONE,
            }],
            spine: Spine::new(),
            last_leaf: 0,
            index: IdIndex::default(),
            cache: None,
            hot: None,
        }
    }

    /// Visible length in every unit.
    pub(crate) fn len(&self) -> Len {
        self.spine.total()
    }

    /// Leaves in document order.
    pub(crate) fn leaves_in_order(&self) -> impl Iterator<Item = &Leaf<B>> + '_ {
        let mut cur = 0u32;
        std::iter::from_fn(move || {
            if cur == NONE {
                return None;
            }
            let leaf = self.leaves.get(cur as usize)?;
            cur = leaf.next;
            Some(leaf)
        })
    }

    /// Appends the whole visible content to `out`.
    pub(crate) fn content(&self, out: &mut B::Owned) {
        for leaf in self.leaves_in_order() {
            leaf.buf.copy_to(leaf.len, 0, leaf.len.chars as usize, out);
        }
    }

    /// Appends `n` visible elements starting at element `start` to `out`.
    pub(crate) fn content_range(&self, start: usize, n: usize, out: &mut B::Owned) {
        let mut skip = start;
        let mut left = n;
        for leaf in self.leaves_in_order() {
            if left == 0 {
                break;
            }
            let c = leaf.len.chars as usize;
            if skip >= c {
                skip -= c;
                continue;
            }
            let take = (c - skip).min(left);
            leaf.buf.copy_to(leaf.len, skip, take, out);
            left -= take;
            skip = 0;
        }
    }

    fn leaf(&self, i: u32) -> &Leaf<B> {
        &self.leaves[i as usize]
    }

    fn leaf_mut(&mut self, i: u32) -> &mut Leaf<B> {
        &mut self.leaves[i as usize]
    }

    /// Visible length of everything before `leaf`.
    pub(crate) fn leaf_start(&self, leaf: u32) -> Len {
        self.spine.leaf_start(leaf)
    }

    // ---------------------------------------------------------------- finding positions

    /// The leaf holding the visible element at `pos` (in `unit`) and the length before it.
    /// `pos` must be below the total length.
    fn descend(&self, unit: Unit, pos: usize) -> (u32, Len) {
        if let Some((leaf, start)) = self.cache {
            let l = self.leaf(leaf);
            let (s, len) = (start.get(unit), l.len.get(unit));
            if pos >= s && pos < s + len {
                return (leaf, start);
            }
            // Edits move between neighbouring leaves (typing fills leaves with runs, so they
            // hold little text): try the leaves on either side before a walk from the root.
            // Native builds only: in WebAssembly the package's size bar outweighs the gain.
            #[cfg(not(target_arch = "wasm32"))]
            if pos < s && l.prev != NONE {
                let p = self.leaf(l.prev);
                if pos + p.len.get(unit) >= s {
                    return (l.prev, start - p.len);
                }
            } else if pos >= s + len && l.next != NONE {
                let n = self.leaf(l.next);
                if pos < s + len + n.len.get(unit) {
                    return (l.next, start + l.len);
                }
            }
        }
        self.spine.descend(unit, pos)
    }

    /// Run index and offset of the `elem`-th visible element of `leaf`.
    /// Natively it counts from the caret `near` when that is in the leaf, else from whichever
    /// end of the leaf is nearer (in WebAssembly from the start: the package's size bar
    /// outweighs the gain).
    fn visible_in_leaf(&self, leaf: u32, elem: usize, near: Option<Hot>) -> (usize, u32) {
        let l = self.leaf(leaf);
        let total = l.len.chars;
        if let Some(h) = near.filter(|h| NATIVE && h.leaf == leaf) {
            // Edits cluster: scan from the last edit's run.
            let mut end = h.at.chars;
            if elem < end as usize {
                for (k, r) in l.runs[..=h.run].iter().enumerate().rev() {
                    end -= r.visible();
                    if elem >= end as usize {
                        return (k, elem as u32 - end);
                    }
                }
            } else {
                let mut rem = elem as u32 - end;
                for (k, r) in l.runs.iter().enumerate().skip(h.run + 1) {
                    let v = r.visible();
                    if rem < v {
                        return (k, rem);
                    }
                    rem -= v;
                }
                return (l.runs.len(), 0);
            }
        }
        if NATIVE && elem < total as usize && elem * 2 > total as usize {
            let mut rem = total - elem as u32;
            for (k, r) in l.runs.iter().enumerate().rev() {
                let v = r.visible();
                if rem <= v {
                    return (k, v - rem);
                }
                rem -= v;
            }
        }
        let mut rem = elem as u32;
        for (k, r) in l.runs.iter().enumerate() {
            let v = r.visible();
            if rem < v {
                return (k, rem);
            }
            rem -= v;
        }
        (l.runs.len(), 0)
    }

    /// Visible elements of `leaf` before run `run`.
    fn visible_before(&self, leaf: u32, run: usize) -> u32 {
        self.leaf(leaf)
            .runs
            .iter()
            .take(run)
            .map(Run::visible)
            .sum()
    }

    /// Finds the visible element at `pos` (in `unit`): its place, the length before its leaf and
    /// its element offset in the leaf. `None` means `pos` is the end of the sequence. Natively,
    /// the leaf is scanned from the caret `near` when that is in it.
    fn find(
        &self,
        unit: Unit,
        pos: usize,
        near: Option<Hot>,
    ) -> Result<Option<(Place, Len, usize)>, PosError> {
        let total = self.spine.total().get(unit);
        if pos > total {
            return Err(PosError::OutOfRange { len: total });
        }
        if pos == total {
            return Ok(None);
        }
        let (leaf, start) = self.descend(unit, pos);
        let l = self.leaf(leaf);
        let elem = l
            .buf
            .to_elems(l.len, unit, pos - start.get(unit))
            .ok_or(PosError::InsideChar)?;
        let (run, off) = self.visible_in_leaf(leaf, elem, near);
        Ok(Some((Place { leaf, run, off }, start, elem)))
    }

    /// Converts a position in `unit` to chars (or list elements).
    pub(crate) fn to_chars(&self, unit: Unit, pos: usize) -> Result<usize, PosError> {
        if unit == Unit::Char || self.spine.total().is_uniform() {
            let total = self.spine.total().get(unit);
            return if pos > total {
                Err(PosError::OutOfRange { len: total })
            } else {
                Ok(pos)
            };
        }
        match self.find(unit, pos, None)? {
            None => Ok(self.spine.total().chars as usize),
            Some((place, start, _)) => Ok(start.chars as usize
                + self.visible_before(place.leaf, place.run) as usize
                + place.off as usize),
        }
    }

    /// Length of `n` visible elements from element `start`, in every unit.
    pub(crate) fn measure_chars(&self, start: usize, n: usize) -> Len {
        if self.spine.total().is_uniform() {
            return Len::uniform(n as u32);
        }
        let mut acc = Len::default();
        let mut skip = start;
        let mut left = n;
        for leaf in self.leaves_in_order() {
            if left == 0 {
                break;
            }
            let c = leaf.len.chars as usize;
            if skip >= c {
                skip -= c;
                continue;
            }
            let take = (c - skip).min(left);
            acc += leaf.buf.measure_range(leaf.len, skip, take);
            left -= take;
            skip = 0;
        }
        acc
    }

    /// Local version of the element just before `place` ([`NO_LV`] at the start).
    fn element_before(&self, place: Place) -> Lv {
        let l = self.leaf(place.leaf);
        if place.off > 0 {
            return l.runs[place.run].lv + place.off - 1;
        }
        if place.run > 0 {
            return l.runs[place.run - 1].end() - 1;
        }
        let mut prev = l.prev;
        while prev != NONE {
            let p = self.leaf(prev);
            if let Some(r) = p.runs.last() {
                return r.end() - 1;
            }
            prev = p.prev;
        }
        NO_LV
    }

    /// Local version of the element at `place` ([`NO_LV`] at the end).
    fn element_at(&self, place: Place) -> Lv {
        let mut leaf = place.leaf;
        let mut run = place.run;
        loop {
            let l = self.leaf(leaf);
            if let Some(r) = l.runs.get(run) {
                return r.lv + place.off;
            }
            if l.next == NONE {
                return NO_LV;
            }
            leaf = l.next;
            run = 0;
        }
    }

    /// The run holding `lv`: leaf, run index and offset in the run.
    pub(crate) fn locate(&self, lv: Lv) -> Result<(u32, usize, u32), UnknownLv> {
        let leaf = self.index.get(lv, |leaf| &self.leaf(leaf).runs);
        let leaf = leaf.ok_or(UnknownLv)?;
        let runs = &self.leaf(leaf).runs;
        let k = runs.iter().position(|r| r.contains(lv)).ok_or(UnknownLv)?;
        Ok((leaf, k, lv - runs[k].lv))
    }

    /// Visible length before the element `lv` (or before where it would be, when deleted), and
    /// whether it is visible.
    pub(crate) fn position_of(&self, lv: Lv) -> Result<(Len, bool), UnknownLv> {
        let (leaf, k, off) = self.locate(lv)?;
        let start = self.leaf_start(leaf);
        let l = self.leaf(leaf);
        let before = self.visible_before(leaf, k);
        let run = l.runs[k];
        let elems = before + if run.deleted() { 0 } else { off };
        Ok((
            start + l.buf.measure_range(l.len, 0, elems as usize),
            !run.deleted(),
        ))
    }

    /// Appends the content of `n` elements at offset `off` of run `run` of `leaf` (which must be
    /// visible) to `out`.
    pub(crate) fn run_content(&self, leaf: u32, run: usize, off: u32, n: u32, out: &mut B::Owned) {
        let l = self.leaf(leaf);
        let at = self.visible_before(leaf, run) + off;
        l.buf.copy_to(l.len, at as usize, n as usize, out);
    }

    /// Local version of the visible element at chars index `i` (`None` at or past the end).
    pub(crate) fn lv_at(&self, i: usize) -> Option<Lv> {
        let (place, _, _) = self.find(Unit::Char, i, None).ok()??;
        let run = self.leaf(place.leaf).runs.get(place.run)?;
        Some(run.lv + place.off)
    }

    /// Visible length before element `lv`, whether it is visible, and its own length.
    pub(crate) fn position_and_width(&self, lv: Lv) -> Result<(Len, bool, Len), UnknownLv> {
        let (before, visible) = self.position_of(lv)?;
        if !visible {
            return Ok((before, false, Len::default()));
        }
        let (leaf, k, off) = self.locate(lv)?;
        let l = self.leaf(leaf);
        let at = self.visible_before(leaf, k) + off;
        Ok((before, true, l.buf.measure_range(l.len, at as usize, 1)))
    }

    /// Visible stretches of the elements `lv..lv+n` as `(chars position, count)`, in order.
    pub(crate) fn visible_pieces(&self, lv: Lv, n: u32) -> Vec<(usize, usize)> {
        let mut out: Vec<(usize, usize)> = Vec::new();
        let mut cur = lv;
        let end = lv + n;
        while cur < end {
            let Ok((leaf, k, off)) = self.locate(cur) else {
                break;
            };
            let run = self.leaf(leaf).runs[k];
            let take = (end - cur).min(run.len() - off);
            if !run.deleted() {
                let pos = self.leaf_start(leaf).chars as usize
                    + (self.visible_before(leaf, k) + off) as usize;
                match out.last_mut() {
                    Some((p, c)) if *p + *c == pos => *c += take as usize,
                    _ => out.push((pos, take as usize)),
                }
            }
            cur += take;
        }
        out
    }

    /// Visible length before `place`.
    pub(crate) fn place_pos(&self, place: Place) -> Len {
        let l = self.leaf(place.leaf);
        let elems = self.visible_before(place.leaf, place.run)
            + if l.runs.get(place.run).is_some_and(|r| !r.deleted()) {
                place.off
            } else {
                0
            };
        self.elem_pos(place.leaf, elems as usize)
    }

    /// Visible length before the `elem`-th visible element of `leaf`.
    fn elem_pos(&self, leaf: u32, elem: usize) -> Len {
        let l = self.leaf(leaf);
        self.leaf_start(leaf) + l.buf.measure_range(l.len, 0, elem)
    }

    // ---------------------------------------------------------------- structure edits

    /// Splits the run at `place` so that the place falls on a run boundary; returns the run
    /// index that now starts at the place.
    #[inline]
    pub(crate) fn split_at(&mut self, place: Place) -> usize {
        if place.off == 0 {
            return place.run;
        }
        self.split_inside(place)
    }

    /// [`SeqTree::split_at`] inside a run.
    fn split_inside(&mut self, place: Place) -> usize {
        self.hot = None;
        split_run(&mut self.leaf_mut(place.leaf).runs, place.run, place.off)
    }

    /// Inserts a run at the run boundary `run` of `leaf` (extending the previous run when it
    /// continues it) with optional content, fixing lengths, the index and leaf size.
    pub(crate) fn insert_run(
        &mut self,
        leaf: u32,
        run: usize,
        new: Run,
        content: Option<&B::Slice>,
        info: &impl LvInfo,
    ) {
        let at = if content.is_some() {
            let l = self.leaf(leaf);
            l.buf
                .measure_range(l.len, 0, self.visible_before(leaf, run) as usize)
        } else {
            Len::default()
        };
        let content = content.map(|c| (c, B::measure(c)));
        self.insert_run_at(leaf, run, at, new, content, info);
        self.index.set(new.lv, new.end(), leaf);
        self.fix_overflow(leaf);
    }

    /// [`SeqTree::insert_run`] when the visible content of the leaf before `run` is known, with
    /// the content's length measured, leaving the index and the leaf's size to the caller.
    fn insert_run_at(
        &mut self,
        leaf: u32,
        run: usize,
        at: Len,
        new: Run,
        content: Option<(&B::Slice, Len)>,
        info: &impl LvInfo,
    ) {
        let mut new = new;
        if content.is_none() {
            new.set_deleted();
        }
        let l = self.leaf_mut(leaf);
        let merged = match run.checked_sub(1).and_then(|p| l.runs.get_mut(p)) {
            Some(prev) if joins(prev, &new, info) => {
                prev.extend(new.len());
                true
            }
            _ => false,
        };
        if !merged {
            l.runs.insert(run, new);
        }
        if let Some((c, m)) = content {
            l.buf.insert_at(l.len + m, at, c);
            l.len += m;
            self.spine.adjust(leaf, m, true);
        }
    }

    /// Marks `n` visible elements starting at `place` (which must be visible, with `elem`
    /// visible elements of its leaf before it) deleted, within one leaf and at most up to the
    /// leaf's end. Returns the number of elements deleted. The deleted elements are contiguous in
    /// the leaf's buffer, so their content goes in one removal.
    #[allow(clippy::too_many_arguments)]
    fn delete_in_leaf(
        &mut self,
        place: Place,
        elem: usize,
        n: u32,
        removed: &mut Vec<Removed>,
        out: Option<&mut B::Owned>,
        pos_before: Len,
        info: &impl LvInfo,
    ) -> u32 {
        let leaf = place.leaf;
        let stretches = removed.len();
        let run = self.leaf(leaf).runs[place.run];
        let done = if NATIVE && place.off + n <= run.len() {
            // Within one run (most deletions): no split-then-merge.
            let l = self.leaf_mut(leaf);
            delete_in_run(&mut l.runs, place.run, place.off, n, info);
            removed.push(Removed {
                lv: run.lv + place.off,
                n,
                pos: pos_before,
                len: Len::uniform(n),
            });
            n
        } else {
            let mut k = self.split_at(place);
            let first = k.saturating_sub(1);
            let runs = &mut self.leaf_mut(leaf).runs;
            let done = mark_deleted(runs, &mut k, n, pos_before, removed);
            merge_runs(runs, first, k + 1, info);
            done
        };
        let l = self.leaf_mut(leaf);
        if !l.len.is_uniform() {
            let mut at = elem;
            for r in removed.iter_mut().skip(stretches) {
                r.len = l.buf.measure_range(l.len, at, r.n as usize);
                at += r.n as usize;
            }
        }
        let total = l.buf.remove(l.len, elem, done as usize, out);
        l.len -= total;
        self.spine.adjust(leaf, total, false);
        // Deleting inside runs splits them: keep the leaf's run count bounded.
        self.fix_overflow(leaf);
        done
    }

    // ---------------------------------------------------------------- local edits

    /// Inserts `content` (non-empty, of length `m`) at `pos` in `unit` as new elements `lv..`,
    /// after any tombstones that precede the visible element at `pos`.
    pub(crate) fn local_insert(
        &mut self,
        unit: Unit,
        pos: usize,
        lv: Lv,
        (content, m): (&B::Slice, Len),
        info: &impl LvInfo,
    ) -> Result<Inserted, PosError> {
        let n = m.chars;
        if let Some(h) = self.hot
            && h.extend
            && h.pos.get(unit) == pos
            && h.next == lv
            && info.contiguous(lv - 1, lv)
        {
            // Typing on at the end of the previous insert: extend its run in place.
            let l = &mut self.leaves[h.leaf as usize];
            let run = &mut l.runs[h.run];
            if run.len() + n <= MAX_RUN_LEN {
                run.extend(n);
                l.buf.insert_at(l.len + m, h.at, content);
                l.len += m;
                self.spine.adjust(h.leaf, m, true);
                self.index.inserted(lv, n, h.leaf);
                self.hot = Some(Hot {
                    at: h.at + m,
                    pos: h.pos + m,
                    next: lv + n,
                    ..h
                });
                self.fix_overflow(h.leaf);
                return Ok(Inserted { pos: h.pos });
            }
        }
        let near = self.hot.take();
        let (place, start, in_leaf) = match near.and_then(|h| self.after_caret(h, unit, pos)) {
            Some(found) => found,
            None => {
                let (place, start, elem) = match self.find(unit, pos, near)? {
                    Some(found) => found,
                    None => {
                        let leaf = self.last_leaf;
                        let l = self.leaf(leaf);
                        let start = self.spine.total() - l.len;
                        (
                            Place {
                                leaf,
                                run: l.runs.len(),
                                off: 0,
                            },
                            start,
                            l.len.chars as usize,
                        )
                    }
                };
                let l = self.leaf(place.leaf);
                (place, start, l.buf.measure_range(l.len, 0, elem))
            }
        };
        let ol = self.element_before(place);
        let or = self.element_at(place);
        let run = self.split_at(place);
        self.insert_run_at(
            place.leaf,
            run,
            in_leaf,
            Run::new(lv, n, ol, or),
            Some((content, m)),
            info,
        );
        self.index.inserted(lv, n, place.leaf);
        self.fix_overflow(place.leaf);
        self.cache = Some((place.leaf, start));
        // Remember where this insert ended (unless a split moved things around).
        if self.hot.is_none()
            && self
                .leaves
                .get(place.leaf as usize)
                .is_some_and(|l| l.runs.get(run).is_some_and(|r| r.end() == lv + n))
        {
            self.hot = Some(Hot {
                leaf: place.leaf,
                run,
                at: in_leaf + m,
                pos: start + in_leaf + m,
                next: lv + n,
                extend: true,
            });
        } else if let Some(r) = run.checked_sub(1)
            && self
                .leaf(place.leaf)
                .runs
                .get(r)
                .is_some_and(|x| x.end() == lv + n)
        {
            self.hot = Some(Hot {
                leaf: place.leaf,
                run: r,
                at: in_leaf + m,
                pos: start + in_leaf + m,
                next: lv + n,
                extend: true,
            });
        }
        Ok(Inserted {
            pos: start + in_leaf,
        })
    }

    /// Natively, where an insert at the caret `h` goes: before the next visible element of the
    /// caret's leaf, past the tombstones after the caret (a deletion just left them) — with the
    /// visible length before the leaf and before the place in the leaf. `None`: search for it.
    fn after_caret(&self, h: Hot, unit: Unit, pos: usize) -> Option<(Place, Len, Len)> {
        if !NATIVE || h.pos.get(unit) != pos {
            return None;
        }
        let runs = self.leaf(h.leaf).runs.get(h.run + 1..)?;
        let run = h.run + 1 + runs.iter().position(|r| !r.deleted())?;
        let place = Place {
            leaf: h.leaf,
            run,
            off: 0,
        };
        Some((place, h.pos - h.at, h.at))
    }

    /// Inserts `content` (non-empty) as new elements `lv..` immediately after the element
    /// `anchor` (visible or not); returns the visible length before the insertion point.
    pub(crate) fn local_insert_after(
        &mut self,
        anchor: Lv,
        lv: Lv,
        content: &B::Slice,
        info: &impl LvInfo,
    ) -> Result<Len, UnknownLv> {
        let n = B::count(content) as u32;
        let (leaf, k, off) = self.locate(anchor)?;
        let run = if off + 1 == self.leaf(leaf).runs[k].len() {
            k + 1
        } else {
            self.split_at(Place {
                leaf,
                run: k,
                off: off + 1,
            })
        };
        let place = Place { leaf, run, off: 0 };
        let or = self.element_at(place);
        let pos = self.place_pos(place);
        self.cache = None;
        self.hot = None;
        self.insert_run(leaf, run, Run::new(lv, n, anchor, or), Some(content), info);
        Ok(pos)
    }

    /// Deletes `n` elements (chars or values) at element position `pos`. Pushes each removed
    /// stretch to `removed`, and the content to `out` when given.
    pub(crate) fn local_delete(
        &mut self,
        pos: usize,
        n: usize,
        removed: &mut Vec<Removed>,
        mut out: Option<&mut B::Owned>,
        info: &impl LvInfo,
    ) -> Result<(), PosError> {
        let total = self.spine.total().chars as usize;
        if pos.checked_add(n).is_none_or(|end| end > total) {
            return Err(PosError::OutOfRange { len: total });
        }
        if n == 1
            && let Some(h) = self.hot
            && h.pos.chars as usize == pos + 1
            && self.backspace(h, removed, out.as_deref_mut(), info)
        {
            return Ok(());
        }
        let mut near = self.hot.take();
        let mut left = n as u32;
        let mut first_leaf = None;
        while left > 0 {
            let Some((place, start, elem)) = self.find(Unit::Char, pos, near.take())? else {
                break;
            };
            first_leaf.get_or_insert((place.leaf, start));
            let before = start + {
                let l = self.leaf(place.leaf);
                l.buf.measure_range(l.len, 0, elem)
            };
            let done =
                self.delete_in_leaf(place, elem, left, removed, out.as_deref_mut(), before, info);
            // Only this leaf shrank: a cached leaf after it would hold a stale start.
            self.cache = Some((place.leaf, start));
            if done == 0 {
                break;
            }
            left -= done;
            // Keep the caret (where the first stretch was) hot, so that backspacing and typing
            // on take the fast paths; in WebAssembly after single characters only (the
            // package's size bar).
            if (NATIVE || n == 1) && self.hot.is_none() {
                let last = place.run.wrapping_sub(usize::from(place.off == 0));
                self.hot = self.caret_after_delete(place.leaf, last, before - start, before);
            }
        }
        self.cache = first_leaf;
        Ok(())
    }

    /// Deletes the last visible element of the hot run (the character before the caret).
    /// Returns false (changing nothing) when the fast path does not apply.
    fn backspace(
        &mut self,
        h: Hot,
        removed: &mut Vec<Removed>,
        out: Option<&mut B::Owned>,
        info: &impl LvInfo,
    ) -> bool {
        let l = &mut self.leaves[h.leaf as usize];
        let Some(run) = l.runs.get(h.run).copied() else {
            return false;
        };
        if run.deleted() || h.at.chars == 0 {
            return false;
        }
        let last = run.end() - 1;
        let mut dead = Run::new(last, 1, run.origin_left_at(run.len() - 1), run.or);
        dead.set_deleted();
        let k = h.run;
        let keep = run.len() - 1;
        if keep == 0 {
            l.runs[k].set_deleted();
        } else {
            l.runs[k].truncate(keep as usize);
            match l.runs.get_mut(k + 1) {
                // Consecutive backspaces: the tombstone goes in front of the previous one.
                Some(next) if joins(&dead, next, info) => {
                    let grown = Run::new(last, next.len() + 1, dead.ol, next.or);
                    *next = grown;
                    next.set_deleted();
                }
                _ => l.runs.insert(k + 1, dead),
            }
        }
        let m = l.buf.remove_before(l.len, h.at, out);
        l.len -= m;
        self.spine.adjust(h.leaf, m, false);
        let pos = h.pos - m;
        removed.push(Removed {
            lv: last,
            n: 1,
            pos,
            len: m,
        });
        if keep > 0 {
            self.hot = Some(Hot {
                at: h.at - m,
                pos,
                extend: false,
                ..h
            });
        } else {
            // The run is all tombstones now: join it with tombstone neighbours.
            merge_runs(
                &mut self.leaf_mut(h.leaf).runs,
                k.saturating_sub(1),
                k + 2,
                info,
            );
            self.hot = self.caret_after_delete(h.leaf, k.wrapping_sub(1), h.at - m, pos);
        }
        // Nothing before the leaf changed.
        self.cache = Some((h.leaf, h.pos - h.at));
        // The tombstone may make one run too many (a split forgets the caret).
        self.fix_overflow(h.leaf);
        true
    }

    /// A hot caret right after a deletion, after the visible content `at` of `leaf`, so that
    /// further backspaces stay fast. Run `last` is the last one before the deleted elements:
    /// it, or the nearest visible run before it, holds the element before the caret, which ends
    /// its run.
    fn caret_after_delete(&self, leaf: u32, last: usize, at: Len, pos: Len) -> Option<Hot> {
        let l = self.leaf(leaf);
        // A split moved the caret's run away (the content before it stays in place).
        if at.chars == 0 || at.chars > l.len.chars || last >= l.runs.len() {
            return None;
        }
        let mut run = last;
        while l.runs[run].deleted() {
            run = run.checked_sub(1)?;
        }
        Some(Hot {
            leaf,
            run,
            at,
            pos,
            next: NO_LV,
            extend: false,
        })
    }

    // ---------------------------------------------------------------- remote edits

    /// Deletes the elements `start..end` by local version; elements already deleted are skipped.
    /// Pushes each removed visible stretch (with its position when `positions`) to `removed`.
    pub(crate) fn delete_lvs(
        &mut self,
        start: Lv,
        end: Lv,
        removed: &mut Vec<Removed>,
        mut out: Option<&mut B::Owned>,
        positions: bool,
        info: &impl LvInfo,
    ) -> Result<(), UnknownLv> {
        self.cache = None;
        self.hot = None;
        let mut lv = start;
        while lv < end {
            let (leaf, k, off) = self.locate(lv)?;
            let run = self.leaf(leaf).runs[k];
            let take = (end - lv).min(run.len() - off);
            if !run.deleted() {
                let place = Place { leaf, run: k, off };
                let elem = (self.visible_before(leaf, k) + off) as usize;
                let pos = if positions {
                    self.elem_pos(leaf, elem)
                } else {
                    Len::default()
                };
                self.delete_in_leaf(place, elem, take, removed, out.as_deref_mut(), pos, info);
            }
            lv += take;
        }
        Ok(())
    }

    /// Inserts a remote run at `place` (a run boundary chosen by the integration algorithm).
    pub(crate) fn insert_at_place(
        &mut self,
        place: Place,
        new: Run,
        content: Option<&B::Slice>,
        info: &impl LvInfo,
    ) {
        self.cache = None;
        self.hot = None;
        self.insert_run(place.leaf, place.run, new, content, info);
    }

    // ---------------------------------------------------------------- whole-document loads

    /// Gives content to a tree whose runs were all integrated as tombstones: every element not
    /// in `deleted` (sorted, merged local-version intervals) becomes visible, taking its content
    /// from `content` in document order. Fails (leaving the tree unusable) when `content` does
    /// not hold exactly one element per visible element.
    pub(crate) fn fill(
        &mut self,
        deleted: &[(Lv, Lv)],
        content: &B::Slice,
        info: &impl LvInfo,
    ) -> Result<(), ()> {
        let total = B::count(content);
        let mut consumed = 0usize;
        let mut rest = content;
        let mut cur = 0u32;
        let mut pieces = Vec::new();
        while cur != NONE {
            let leaf = &mut self.leaves[cur as usize];
            let old = std::mem::take(&mut leaf.runs);
            let mut runs: Vec<Run> = Vec::with_capacity(old.len());
            let mut buf = B::default();
            let mut len = Len::default();
            for run in old {
                let start = run.lv;
                crate::span::pieces(deleted, start, run.len(), false, &mut pieces);
                for &(off, n, visible) in &pieces {
                    let (a, b) = (start + off, start + off + n);
                    let mut piece = Run::new(a, b - a, run.origin_left_at(a - start), run.or);
                    if visible {
                        let n = (b - a) as usize;
                        if consumed + n > total {
                            return Err(());
                        }
                        let (slice, tail) = B::split_front(rest, n);
                        rest = tail;
                        consumed += n;
                        let m = B::measure(slice);
                        buf.insert_at(len + m, len, slice);
                        len += m;
                    } else {
                        piece.set_deleted();
                    }
                    match runs.last_mut() {
                        Some(prev) if joins(prev, &piece, info) => prev.extend(piece.len()),
                        _ => runs.push(piece),
                    }
                }
            }
            let leaf = &mut self.leaves[cur as usize];
            leaf.runs = runs;
            leaf.buf = buf;
            leaf.len = len;
            cur = leaf.next;
        }
        if consumed != total {
            return Err(());
        }
        let lens: Vec<Len> = self.leaves.iter().map(|l| l.len).collect();
        self.spine.recompute(&lens);
        self.cache = None;
        self.hot = None;
        for leaf in 0..self.leaves.len() as u32 {
            self.fix_overflow(leaf);
        }
        Ok(())
    }

    // ---------------------------------------------------------------- splitting

    fn overflowing(&self, leaf: u32) -> bool {
        let l = self.leaf(leaf);
        l.runs.len() > MAX_RUNS || (l.len.utf8 > MAX_LEAF_CONTENT && l.len.chars > 1)
    }

    /// Splits `leaf` when it holds too many runs or too much content (which forgets the hot
    /// caret).
    #[inline]
    pub(crate) fn fix_overflow(&mut self, leaf: u32) {
        if self.overflowing(leaf) {
            self.split_overflowing(leaf);
        }
    }

    /// Splits `leaf` (which overflows) until no leaf made from it overflows.
    #[cold]
    #[inline(never)]
    fn split_overflowing(&mut self, leaf: u32) {
        self.hot = None;
        let mut todo = vec![leaf];
        while let Some(leaf) = todo.pop() {
            if self.overflowing(leaf) {
                let new = self.split_leaf(leaf);
                todo.push(leaf);
                todo.push(new);
            }
        }
    }

    /// Splits `leaf` in two; the right part becomes a new leaf, returned. Too many runs: the
    /// halves. Too much content: a piece of about [`LEAF_FILL`] cut off the end, so that a long
    /// paste becomes leaves moving each byte once (halving would copy it once per level).
    fn split_leaf(&mut self, leaf: u32) -> u32 {
        let l = self.leaf(leaf);
        let mid = if l.runs.len() > MAX_RUNS {
            l.runs.len() / 2
        } else {
            // Split at a visible element, splitting a run if needed.
            let pieces = l.len.utf8.div_ceil(LEAF_FILL).max(2);
            let keep = (l.len.chars - (l.len.chars / pieces).max(1)).max(1) as usize;
            let (run, off) = self.visible_in_leaf(leaf, keep, None);
            self.split_at(Place { leaf, run, off }).max(1)
        };
        let new_idx = self.leaves.len() as u32;
        let l = self.leaf_mut(leaf);
        // Both halves get room for a full leaf, so that filling them up never reallocates.
        let mut right_runs = Vec::with_capacity(MAX_RUNS + 1);
        right_runs.extend_from_slice(&l.runs[mid..]);
        l.runs.truncate(mid);
        l.runs.shrink_to(MAX_RUNS + 1);
        let left_elems: u32 = l.runs.iter().map(Run::visible).sum();
        let (right_buf, right_len) = l.buf.split_off(l.len, left_elems as usize);
        l.buf.release_spare();
        let left_len = l.len - right_len;
        l.len = left_len;
        let next = l.next;
        l.next = new_idx;
        if next != NONE {
            self.leaf_mut(next).prev = new_idx;
        }
        self.leaves.push(Leaf {
            runs: right_runs,
            buf: right_buf,
            len: right_len,
            next,
            prev: leaf,
        });
        if self.last_leaf == leaf {
            self.last_leaf = new_idx;
        }
        self.index
            .split_off(new_idx, &self.leaves[new_idx as usize].runs);
        self.spine.split_leaf(leaf, new_idx, left_len, right_len);
        new_idx
    }

    /// Checks structural invariants: cached lengths, parent links, index.
    pub(crate) fn check(&self) {
        let mut sum = Len::default();
        let mut prev = NONE;
        let mut cur = 0u32;
        while cur != NONE {
            let l = self.leaf(cur);
            assert_eq!(l.prev, prev);
            assert!(!self.overflowing(cur), "leaf {cur} over its bounds");
            let vis: u32 = l.runs.iter().map(Run::visible).sum();
            assert_eq!(vis, l.len.chars, "leaf {cur} visible count");
            assert_eq!(l.buf.measure_range(l.len, 0, vis as usize), l.len);
            // Lookups see the pending change.
            assert_eq!(self.leaf_start(cur), sum, "start of leaf {cur}");
            if l.len.chars > 0 {
                assert_eq!(
                    self.spine.descend(Unit::Char, sum.chars as usize),
                    (cur, sum)
                );
            }
            self.index.check(cur, &l.runs);
            sum += l.len;
            prev = cur;
            cur = l.next;
        }
        assert_eq!(prev, self.last_leaf);
        assert_eq!(sum, self.spine.total());
        let lens: Vec<Len> = self.leaves.iter().map(|l| l.len).collect();
        self.spine.check(&lens);
    }
}

/// Splits run `k` of `runs` before its element `off` (`0 < off < len`); returns the index of the
/// second part.
fn split_run(runs: &mut Vec<Run>, k: usize, off: u32) -> usize {
    let rest = runs[k].truncate(off as usize);
    runs.insert(k + 1, rest);
    k + 1
}

/// Marks up to `n` visible elements of `runs` from run `*k` on deleted, splitting the last run
/// touched when only part of it goes, and pushes each stretch to `removed` (at `pos`, measured
/// as uniform: the caller measures other text). Leaves `*k` past the last run touched; returns
/// the number of elements deleted.
fn mark_deleted(
    runs: &mut Vec<Run>,
    k: &mut usize,
    n: u32,
    pos: Len,
    removed: &mut Vec<Removed>,
) -> u32 {
    let mut left = n;
    while left > 0 && *k < runs.len() {
        let r = &mut runs[*k];
        if r.deleted() {
            *k += 1;
            continue;
        }
        let take = left.min(r.len());
        if take < r.len() {
            split_run(runs, *k, take);
        }
        let r = &mut runs[*k];
        r.set_deleted();
        // Later stretches start where this one was: its elements are gone.
        removed.push(Removed {
            lv: r.lv,
            n: take,
            pos,
            len: Len::uniform(take),
        });
        left -= take;
        *k += 1;
    }
    n - left
}

/// Marks `d` elements of the visible run `j` of `runs` from its element `off` deleted
/// (`off + d <= len`), in one step: the tombstone joins a neighbouring one that it continues
/// instead of being split off and merged back.
fn delete_in_run(runs: &mut Vec<Run>, j: usize, off: u32, d: u32, info: &impl LvInfo) {
    let run = runs[j];
    let mut dead = Run::new(run.lv + off, d, run.origin_left_at(off), run.or);
    dead.set_deleted();
    let tail = off + d < run.len();
    if off == 0 {
        if !tail {
            runs[j].set_deleted();
            merge_runs(runs, j.saturating_sub(1), j + 2, info);
            return;
        }
        // `run` cut after the deleted elements: the visible rest.
        let rest = { run }.truncate(d as usize);
        match j.checked_sub(1).map(|p| &mut runs[p]) {
            Some(prev) if joins(prev, &dead, info) => {
                prev.extend(d);
                runs[j] = rest;
            }
            _ => {
                runs[j] = dead;
                runs.insert(j + 1, rest);
            }
        }
        return;
    }
    let mut head = run;
    let rest = head.truncate(off as usize);
    runs[j] = head;
    if tail {
        let after = { rest }.truncate(d as usize);
        runs.splice(j + 1..j + 1, [dead, after]);
        return;
    }
    match runs.get_mut(j + 1) {
        Some(next) if joins(&dead, next, info) => {
            let mut grown = Run::new(dead.lv, d + next.len(), dead.ol, next.or);
            grown.set_deleted();
            *next = grown;
        }
        _ => runs.insert(j + 1, dead),
    }
}

/// True when run `b` continues run `a` ([`Span::can_append`], with consecutive ids of one
/// replica) and both fit in one run.
fn joins(a: &Run, b: &Run, info: &impl LvInfo) -> bool {
    a.can_append(b) && a.len() + b.len() <= MAX_RUN_LEN && info.contiguous(a.end() - 1, b.lv)
}

/// Merges neighbouring runs in `from..to` (clamped) that continue one another.
fn merge_runs(runs: &mut Vec<Run>, from: usize, to: usize, info: &impl LvInfo) {
    let to = to.min(runs.len());
    let mut i = from;
    let mut end = to;
    while i + 1 < end {
        let (a, b) = (runs[i], runs[i + 1]);
        if joins(&a, &b, info) {
            runs[i].append(b);
            runs.remove(i + 1);
            end -= 1;
        } else {
            i += 1;
        }
    }
}

impl SeqTree<super::buf::ListBuf> {
    /// Calls `f` with the local version and value of every visible element, in document order.
    pub(crate) fn values_mut(&mut self, mut f: impl FnMut(Lv, &mut crate::value::Value)) {
        let mut cur = 0u32;
        while cur != NONE {
            let leaf = &mut self.leaves[cur as usize];
            let mut values = leaf.buf.0.iter_mut();
            for run in leaf.runs.iter().filter(|r| !r.deleted()) {
                for i in 0..run.len() {
                    if let Some(v) = values.next() {
                        f(run.lv + i, v);
                    }
                }
            }
            cur = leaf.next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One replica's clock: every local version continues the one before.
    struct OneClock;

    impl LvInfo for OneClock {
        fn replica_of(&self, _: Lv) -> ReplicaId {
            ReplicaId(1)
        }
        fn contiguous(&self, a: Lv, b: Lv) -> bool {
            b == a + 1
        }
    }

    fn deleted(mut run: Run) -> Run {
        run.set_deleted();
        run
    }

    #[test]
    fn deleting_within_a_run_matches_split_mark_and_merge() {
        // A typed word with tombstones on both sides that it continues or not.
        let layouts = [
            vec![Run::new(10, 4, 9, NO_LV)],
            vec![
                deleted(Run::new(6, 4, 5, NO_LV)),
                Run::new(10, 4, 9, NO_LV),
                deleted(Run::new(14, 3, 13, NO_LV)),
            ],
            vec![
                deleted(Run::new(0, 2, NO_LV, NO_LV)),
                Run::new(10, 4, 9, NO_LV),
                deleted(Run::new(20, 3, 13, NO_LV)),
            ],
        ];
        for runs in layouts {
            let j = runs.iter().position(|r| !r.deleted()).unwrap_or(0);
            for off in 0..4 {
                for d in 1..=4 - off {
                    let mut fast = runs.clone();
                    delete_in_run(&mut fast, j, off, d, &OneClock);
                    let mut slow = runs.clone();
                    let mut k = if off == 0 {
                        j
                    } else {
                        split_run(&mut slow, j, off)
                    };
                    mark_deleted(&mut slow, &mut k, d, Len::default(), &mut Vec::new());
                    merge_runs(&mut slow, 0, usize::MAX, &OneClock);
                    assert_eq!(fast, slow, "{runs:?}: delete {d} from {off}");
                }
            }
        }
    }
}
