//! [`Spine`]: the internal nodes of a [`super::tree::SeqTree`], which cache the visible length
//! of everything below them. It knows leaves only by index and length, so text and list trees
//! share one copy of this code.

use super::metrics::{Len, Unit};

/// No leaf or node.
pub(crate) const NONE: u32 = u32::MAX;
/// Most children an internal node holds before it splits.
const MAX_FANOUT: usize = 32;
/// Most levels of nodes: a node that splits keeps at least 16 children, so 2³² leaves need 9.
const MAX_DEPTH: usize = 12;
/// Whether length changes are deferred ([`Pending`]): in native builds only, since in
/// WebAssembly the package's size bar outweighs the gain.
const DEFER: bool = cfg!(not(target_arch = "wasm32"));

struct Node {
    children: Vec<u32>,
    lens: Vec<Len>,
    parent: u32,
    /// Index of this node among its parent's children.
    slot: u32,
    leaf_children: bool,
}

/// Where a leaf or node hangs: its parent and its index among the parent's children.
#[derive(Clone, Copy, Debug)]
struct Hang {
    parent: u32,
    slot: u32,
}

/// A leaf's length change not yet added to the nodes on its path to the root. Edits in one leaf
/// (typing, deleting) leave the path alone until an edit in another leaf, a split or a load
/// needs it; the total is always exact, and walks over the nodes add the change on the way.
#[derive(Clone, Copy, Debug)]
struct Pending {
    /// The leaf ([`NONE`]: nothing is pending).
    leaf: u32,
    /// Added to the leaf since its path was last brought up to date.
    add: Len,
    /// Removed from it.
    sub: Len,
}

const ZERO: Len = Len {
    chars: 0,
    utf16: 0,
    utf8: 0,
};

impl Pending {
    const NONE: Pending = Pending {
        leaf: NONE,
        add: ZERO,
        sub: ZERO,
    };

    /// `l` with the pending change applied.
    fn apply(&self, l: Len) -> Len {
        l + self.add - self.sub
    }
}

/// The internal nodes of a sequence tree, with the leaves' lengths summed per node.
pub(crate) struct Spine {
    nodes: Vec<Node>,
    /// Per leaf, where it hangs.
    hangs: Vec<Hang>,
    root: u32,
    total: Len,
    pending: Pending,
}

impl Spine {
    /// A spine over one empty leaf (leaf 0).
    pub(crate) fn new() -> Self {
        Self {
            nodes: vec![Node {
                children: vec![0],
                lens: vec![ZERO],
                parent: NONE,
                slot: 0,
                leaf_children: true,
            }],
            hangs: vec![Hang { parent: 0, slot: 0 }],
            root: 0,
            total: ZERO,
            pending: Pending::NONE,
        }
    }

    /// Visible length of all leaves.
    pub(crate) fn total(&self) -> Len {
        self.total
    }

    /// Adds (or subtracts) `d` to the length of `leaf`.
    pub(crate) fn adjust(&mut self, leaf: u32, d: Len, add: bool) {
        if self.pending.leaf != leaf {
            self.flush();
            self.pending.leaf = leaf;
        }
        if add {
            self.pending.add += d;
            self.total += d;
        } else {
            self.pending.sub += d;
            self.total -= d;
        }
        if !DEFER {
            self.flush();
        }
    }

    /// Adds the pending length change along its leaf's path to the root.
    fn flush(&mut self) {
        let p = std::mem::replace(&mut self.pending, Pending::NONE);
        let Some(&Hang { mut parent, slot }) = self.hangs.get(p.leaf as usize) else {
            return;
        };
        let mut slot = slot as usize;
        loop {
            let n = &mut self.nodes[parent as usize];
            n.lens[slot] = p.apply(n.lens[slot]);
            if parent == self.root {
                break;
            }
            slot = n.slot as usize;
            parent = n.parent;
        }
    }

    /// Visible length of everything before `leaf`.
    pub(crate) fn leaf_start(&self, leaf: u32) -> Len {
        let mut acc = ZERO;
        let h = self.hangs[leaf as usize];
        let (mut node, mut slot) = (h.parent, h.slot as usize);
        // The pending leaf's ancestor on the same level, until the two paths meet: its change
        // counts when it lies before `leaf` there.
        let mut other = self
            .hangs
            .get(self.pending.leaf as usize)
            .filter(|_| DEFER)
            .map(|p| (p.parent, p.slot as usize));
        loop {
            let n = &self.nodes[node as usize];
            for l in n.lens.iter().take(slot) {
                acc += *l;
            }
            if let Some((pn, ps)) = other {
                if pn == node {
                    if ps < slot {
                        acc = self.pending.apply(acc);
                    }
                    other = None;
                } else {
                    let p = &self.nodes[pn as usize];
                    other = Some((p.parent, p.slot as usize));
                }
            }
            if node == self.root {
                return acc;
            }
            slot = n.slot as usize;
            node = n.parent;
        }
    }

    /// The slots of the pending leaf's path from the root down, and their number (0 when nothing
    /// is pending).
    fn pending_path(&self) -> ([u32; MAX_DEPTH], usize) {
        let mut path = [0; MAX_DEPTH];
        let mut depth = 0;
        if DEFER
            && let Some(&Hang {
                mut parent,
                mut slot,
            }) = self.hangs.get(self.pending.leaf as usize)
        {
            while depth < MAX_DEPTH {
                path[depth] = slot;
                depth += 1;
                if parent == self.root {
                    break;
                }
                let n = &self.nodes[parent as usize];
                (parent, slot) = (n.parent, n.slot);
            }
            path[..depth].reverse();
        }
        (path, depth)
    }

    /// The leaf holding the visible element at `pos` (in `unit`) and the length before it; the
    /// last leaf when `pos` is past the end.
    pub(crate) fn descend(&self, unit: Unit, pos: usize) -> (u32, Len) {
        // While the walk follows the pending leaf's path, the child on it has the change added.
        let (path, depth) = self.pending_path();
        let mut level = 0;
        let mut node = self.root;
        let mut start = ZERO;
        loop {
            let n = &self.nodes[node as usize];
            let fix = if level < depth {
                path[level] as usize
            } else {
                usize::MAX
            };
            let mut chosen = (
                n.children.len().saturating_sub(1),
                *n.children.last().unwrap_or(&0),
            );
            for (i, (c, l)) in n.children.iter().zip(&n.lens).enumerate() {
                let l = if i == fix { self.pending.apply(*l) } else { *l };
                if pos < start.get(unit) + l.get(unit) {
                    chosen = (i, *c);
                    break;
                }
                start += l;
            }
            if n.leaf_children {
                return (chosen.1, start);
            }
            // Off the pending path from here on.
            level = if chosen.0 == fix {
                level + 1
            } else {
                MAX_DEPTH
            };
            node = chosen.1;
        }
    }

    /// Records that leaf `new` (the next leaf index) was split off `leaf` and follows it, with
    /// the lengths both now have.
    pub(crate) fn split_leaf(&mut self, leaf: u32, new: u32, left_len: Len, right_len: Len) {
        self.flush();
        let h = self.hangs[leaf as usize];
        debug_assert_eq!(new as usize, self.hangs.len());
        self.hangs.push(h);
        self.insert_child(h.parent, h.slot, new, left_len, right_len);
    }

    /// Sets the parent and slot of every child of `node` from index `from` on.
    fn renumber(&mut self, node: u32, from: usize) {
        let n = &self.nodes[node as usize];
        let (leafy, count) = (n.leaf_children, n.children.len());
        for slot in from..count {
            let c = self.nodes[node as usize].children[slot];
            let h = Hang {
                parent: node,
                slot: slot as u32,
            };
            if leafy {
                self.hangs[c as usize] = h;
            } else {
                let x = &mut self.nodes[c as usize];
                x.parent = h.parent;
                x.slot = h.slot;
            }
        }
    }

    /// Inserts `new` (a leaf or node, like the child at `slot`) after the child at `slot` of
    /// `node`, splitting nodes upwards.
    fn insert_child(&mut self, node: u32, slot: u32, new: u32, child_len: Len, new_len: Len) {
        let slot = slot as usize;
        let n = &mut self.nodes[node as usize];
        n.lens[slot] = child_len;
        n.children.insert(slot + 1, new);
        n.lens.insert(slot + 1, new_len);
        self.renumber(node, slot + 1);
        if self.nodes[node as usize].children.len() <= MAX_FANOUT {
            return;
        }
        // Split the node.
        let new_node = self.nodes.len() as u32;
        let n = &mut self.nodes[node as usize];
        let mid = n.children.len() / 2;
        let children = n.children.split_off(mid);
        let lens = n.lens.split_off(mid);
        let leaf_children = n.leaf_children;
        let (parent, slot) = (n.parent, n.slot);
        let left_len = n.lens.iter().fold(ZERO, |a, b| a + *b);
        let right_len = lens.iter().fold(ZERO, |a, b| a + *b);
        self.nodes.push(Node {
            children,
            lens,
            parent,
            slot: slot + 1,
            leaf_children,
        });
        self.renumber(new_node, 0);
        if node == self.root {
            let root = self.nodes.len() as u32;
            self.nodes.push(Node {
                children: vec![node, new_node],
                lens: vec![left_len, right_len],
                parent: NONE,
                slot: 0,
                leaf_children: false,
            });
            self.renumber(root, 0);
            self.root = root;
        } else {
            self.insert_child(parent, slot, new_node, left_len, right_len);
        }
    }

    /// Recomputes every node's lengths from the leaves' (`lens`, by leaf index).
    pub(crate) fn recompute(&mut self, lens: &[Len]) {
        self.pending = Pending::NONE;
        self.total = self.recompute_node(self.root, lens);
    }

    fn recompute_node(&mut self, node: u32, leaf_lens: &[Len]) -> Len {
        let n = &self.nodes[node as usize];
        let (children, leafy) = (n.children.clone(), n.leaf_children);
        let mut lens = Vec::with_capacity(children.len());
        for c in &children {
            lens.push(if leafy {
                leaf_lens[*c as usize]
            } else {
                self.recompute_node(*c, leaf_lens)
            });
        }
        let total = lens.iter().fold(ZERO, |a, b| a + *b);
        self.nodes[node as usize].lens = lens;
        total
    }

    /// Checks the cached lengths against the leaves' (`lens`, by leaf index) and the parent
    /// links.
    pub(crate) fn check(&self, lens: &[Len]) {
        assert_eq!(self.hangs.len(), lens.len());
        // The nodes' lengths on the pending leaf's path lack its change.
        let mut path = Vec::new();
        if let Some(&Hang {
            mut parent,
            mut slot,
        }) = self.hangs.get(self.pending.leaf as usize)
        {
            while parent != NONE {
                path.push((parent, slot));
                let n = &self.nodes[parent as usize];
                (parent, slot) = (n.parent, n.slot);
            }
        }
        let total = self.check_node(self.root, lens, &path);
        assert_eq!(total, self.total);
    }

    fn check_node(&self, node: u32, leaf_lens: &[Len], pending: &[(u32, u32)]) -> Len {
        let n = &self.nodes[node as usize];
        let mut total = ZERO;
        for (slot, (c, l)) in n.children.iter().zip(&n.lens).enumerate() {
            let (parent, at) = if n.leaf_children {
                let h = self.hangs[*c as usize];
                (h.parent, h.slot)
            } else {
                let x = &self.nodes[*c as usize];
                (x.parent, x.slot)
            };
            assert_eq!((parent, at as usize), (node, slot), "parent link of {c}");
            let actual = if n.leaf_children {
                leaf_lens[*c as usize]
            } else {
                self.check_node(*c, leaf_lens, pending)
            };
            let cached = if pending.contains(&(node, slot as u32)) {
                self.pending.apply(*l)
            } else {
                *l
            };
            assert_eq!(cached, actual);
            total += actual;
        }
        total
    }
}
