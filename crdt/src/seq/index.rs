//! [`LeafIndex`]: which tree leaf holds each element, by local version — the id → position index
//! used by remote operations, deletions by id, cursors and encoding.
//!
//! Local versions are dense, so the index is a two-level table: one word per chunk of 64 local
//! versions holding the leaf of the whole chunk, or (when the chunk's elements sit in several
//! leaves) the number of a 64-entry detail block. Lookups are two loads; moving runs to a new leaf
//! writes their entries; typing (which keeps appending to one leaf) writes nothing new. Detail
//! blocks are allocated [`PAGE`] at a time (one allocation, not one per block, as leaf splits
//! keep needing new blocks), so the table of pages grows by copying pointers, never by doubling
//! one large array of blocks (which left up to half of it unused).

use super::run::Run;
use crate::id::Lv;

const CHUNK: u32 = 64;
/// Detail blocks per allocation.
const PAGE: usize = 16;
/// Marks a chunk word that refers to a detail block.
const DETAIL: u32 = 1 << 31;
/// No leaf (never assigned).
const UNSET: u32 = DETAIL - 1;

type Block = [u32; CHUNK as usize];

/// Local version → leaf.
#[derive(Clone, Debug, Default)]
pub(crate) struct LeafIndex {
    chunks: Vec<u32>,
    /// Pages of detail blocks, boxed so that the table grows by copying pointers (module docs).
    pages: Vec<Box<[Block; PAGE]>>,
    /// Detail blocks handed out so far (the used part of `pages`).
    blocks: u32,
    free: Vec<u32>,
}

impl LeafIndex {
    /// The leaf holding `lv` (for a local version that is no sequence element, possibly some
    /// leaf that does not hold it: callers check).
    pub(crate) fn get(&self, lv: Lv) -> Option<u32> {
        let c = *self.chunks.get((lv / CHUNK) as usize)?;
        let leaf = if c & DETAIL == 0 {
            c
        } else {
            *self
                .block((c & !DETAIL) as usize)?
                .get((lv % CHUNK) as usize)?
        };
        (leaf != UNSET).then_some(leaf)
    }

    /// Records that `start..end` now lives in `leaf`.
    #[inline]
    pub(crate) fn set(&mut self, start: Lv, end: Lv, leaf: u32) {
        // Typing: new elements in the chunk of their predecessors.
        if start < end && start / CHUNK == (end - 1) / CHUNK {
            match self.chunks.get((start / CHUNK) as usize) {
                // The whole chunk is in this leaf already.
                Some(&word) if word == leaf => return,
                // The chunk spans leaves: write the entries (unless this completes the chunk,
                // which may fold it back into one word).
                Some(&word) if word & DETAIL != 0 && !end.is_multiple_of(CHUNK) => {
                    if let Some(block) = self.block_mut((word & !DETAIL) as usize) {
                        block[(start % CHUNK) as usize..(end % CHUNK) as usize].fill(leaf);
                        return;
                    }
                }
                _ => {}
            }
        }
        self.set_range(start, end, leaf);
    }

    /// Records that the elements of `runs` now live in `leaf` (one write per stretch of
    /// consecutive local versions).
    pub(crate) fn set_runs(&mut self, runs: &[Run], leaf: u32) {
        let mut cur: Option<(Lv, Lv)> = None;
        for (s, e) in runs.iter().map(|r| (r.lv, r.end())) {
            cur = match cur {
                Some((cs, ce)) if ce == s => Some((cs, e)),
                Some((cs, ce)) => {
                    self.set(cs, ce, leaf);
                    Some((s, e))
                }
                None => Some((s, e)),
            };
        }
        if let Some((cs, ce)) = cur {
            self.set(cs, ce, leaf);
        }
    }

    fn set_range(&mut self, start: Lv, end: Lv, leaf: u32) {
        if start >= end {
            return;
        }
        let last_chunk = ((end - 1) / CHUNK) as usize;
        if self.chunks.len() <= last_chunk {
            self.chunks.resize(last_chunk + 1, UNSET);
        }
        let mut lv = start;
        while lv < end {
            let c = (lv / CHUNK) as usize;
            let a = lv % CHUNK;
            let b = (end - c as u32 * CHUNK).min(CHUNK);
            lv = c as u32 * CHUNK + b;
            let word = self.chunks[c];
            // A whole chunk, or one with nothing in it yet (entries never assigned belong to
            // no tree, and callers check that the leaf really holds the element).
            if a == 0 && b == CHUNK || word == UNSET {
                self.release(word);
                self.chunks[c] = leaf;
                continue;
            }
            if word == leaf {
                continue;
            }
            let d = if word & DETAIL == 0 {
                let d = self.alloc(word);
                self.chunks[c] = DETAIL | d;
                d
            } else {
                word & !DETAIL
            };
            let Some(block) = self.block_mut(d as usize) else {
                continue;
            };
            block[a as usize..b as usize].fill(leaf);
            // A block that became uniform folds back into its chunk word (checked when a write
            // reaches the end of the chunk, as appends do).
            if b == CHUNK && block.iter().all(|x| *x == leaf) {
                self.release(DETAIL | d);
                self.chunks[c] = leaf;
            }
        }
    }

    /// Detail block `d`.
    fn block(&self, d: usize) -> Option<&Block> {
        self.pages.get(d / PAGE).map(|p| &p[d % PAGE])
    }

    /// Detail block `d`, to write.
    fn block_mut(&mut self, d: usize) -> Option<&mut Block> {
        self.pages.get_mut(d / PAGE).map(|p| &mut p[d % PAGE])
    }

    /// A detail block holding `fill` everywhere: a released one, or the next of the last page.
    fn alloc(&mut self, fill: u32) -> u32 {
        let d = self.free.pop().unwrap_or_else(|| {
            if self.blocks as usize == self.pages.len() * PAGE {
                self.pages.push(Box::new([[UNSET; CHUNK as usize]; PAGE]));
            }
            self.blocks += 1;
            self.blocks - 1
        });
        if let Some(block) = self.block_mut(d as usize) {
            *block = [fill; CHUNK as usize];
        }
        d
    }

    fn release(&mut self, word: u32) {
        if word & DETAIL != 0 {
            self.free.push(word & !DETAIL);
        }
    }

    /// Bytes of the chunk table and the detail blocks in use (for tests).
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.chunks.len() * 4
            + (self.blocks as usize - self.free.len()) * std::mem::size_of::<Block>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_overwrites_ranges_across_chunks() {
        let mut ix = LeafIndex::default();
        ix.set(0, 10, 1);
        ix.set(10, 200, 1);
        assert_eq!(ix.bytes(), 16, "uniform chunks need no detail blocks");
        ix.set(5, 8, 2);
        assert_eq!(ix.get(4), Some(1));
        assert_eq!(ix.get(5), Some(2));
        assert_eq!(ix.get(7), Some(2));
        assert_eq!(ix.get(8), Some(1));
        assert_eq!(ix.get(199), Some(1));
        ix.set(5, 64, 1);
        assert_eq!(ix.bytes(), 16, "a block that became uniform is released");
        ix.set(60, 140, 3);
        assert_eq!(ix.get(59), Some(1));
        assert_eq!(ix.get(60), Some(3));
        assert_eq!(ix.get(139), Some(3));
        assert_eq!(ix.get(140), Some(1));
        assert_eq!(ix.get(300), None);
        ix.set(300, 301, 4);
        assert_eq!(ix.get(300), Some(4));
        assert_eq!(ix.get(1000), None);
    }
}
