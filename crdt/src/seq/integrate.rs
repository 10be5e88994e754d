//! Integration of remote inserts: the one place in Weft that orders concurrent inserts.
//!
//! This is the YATA rule set (as used by Yjs), applied to runs. See `README.md` beside this file
//! for a worked example. Every replica computes the same position for an insert from its left
//! origin `ol` and right origin `or` alone, whatever order concurrent inserts arrive in.

use super::buf::Buf;
use super::run::Run;
use super::tree::{LvInfo, Place, SeqTree, UnknownLv};
use crate::id::{Lv, NO_LV};

/// True when `lv` is in one of `ranges`. Searches the latest ranges first: the left origin of a
/// run is most often a run passed just before it, so a long scan stays about linear.
fn in_ranges(ranges: &[(Lv, Lv)], lv: Lv) -> bool {
    ranges.iter().rev().any(|&(s, e)| lv >= s && lv < e)
}

/// Finds where the run `lv..lv+n` with origins `ol`/`or` belongs, inserts it there (with
/// `content`, or as a tombstone when `None`) and returns the place it went.
pub(crate) fn integrate<B: Buf>(
    tree: &mut SeqTree<B>,
    lv: Lv,
    n: u32,
    ol: Lv,
    or: Lv,
    content: Option<&B::Slice>,
    info: &impl LvInfo,
) -> Result<Place, UnknownLv> {
    // Make the right origin start a run, so the scan can stop at it by identity.
    let mut or_leaf = 0;
    if or != NO_LV {
        let (leaf, run, off) = tree.locate(or)?;
        tree.split_at(Place { leaf, run, off });
        or_leaf = leaf;
    }
    // The scan starts right after the left origin.
    let start = if ol == NO_LV {
        Place {
            leaf: 0,
            run: 0,
            off: 0,
        }
    } else {
        let (leaf, run, off) = tree.locate(ol)?;
        let len = tree.leaves[leaf as usize].runs[run].len();
        let run = if off + 1 == len {
            run + 1
        } else {
            tree.split_at(Place {
                leaf,
                run,
                off: off + 1,
            })
        };
        Place { leaf, run, off: 0 }
    };
    let me = info.replica_of(lv);
    let mut left = start;
    let mut o = start;
    let mut before_origin: Vec<(Lv, Lv)> = Vec::new();
    let mut conflicting: Vec<(Lv, Lv)> = Vec::new();
    loop {
        // Step to the next run, crossing into the next leaf when this one is done.
        let leaf = &tree.leaves[o.leaf as usize];
        let Some(r) = leaf.runs.get(o.run).copied() else {
            if leaf.next == u32::MAX {
                break;
            }
            o = Place {
                leaf: leaf.next,
                run: 0,
                off: 0,
            };
            continue;
        };
        if r.lv == or {
            break;
        }
        before_origin.push((r.lv, r.end()));
        conflicting.push((r.lv, r.end()));
        let take_it = if r.ol == ol {
            // Same left origin: the lower replica id goes first, unless both also share the
            // right origin, in which case this insert goes before `r`.
            if info.replica_of(r.lv) < me {
                true
            } else if r.or == or {
                break;
            } else {
                false
            }
        } else if r.ol != NO_LV && in_ranges(&before_origin, r.ol) {
            // `r` hangs off something we passed: skip it unless it hangs off a conflicting item.
            !in_ranges(&conflicting, r.ol)
        } else {
            break;
        };
        if take_it {
            // Every later element of `r` has its predecessor as left origin, so the whole run
            // goes before this insert.
            conflicting.clear();
            left = Place {
                leaf: o.leaf,
                run: o.run + 1,
                off: 0,
            };
        }
        o.run += 1;
    }
    tree.insert_at_place(left, Run::new(lv, n, ol, or), content, info);
    // The origin splits may have left other leaves one run over their bound.
    tree.fix_overflow(or_leaf);
    tree.fix_overflow(start.leaf);
    Ok(left)
}
