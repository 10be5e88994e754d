//! [`LazySeq`]: a sequence whose tree is built on first use. Loading a whole-document encoding
//! only decodes and checks it and keeps the runs and the document-order content; reading the
//! whole content needs no tree, and anything else builds it (once) from what was kept.

use std::sync::OnceLock;

use super::buf::Buf;
use super::integrate::integrate;
use super::metrics::Len;
use super::tree::{LvInfo, SeqTree};
use crate::id::Lv;

/// An insert run as a whole-document encoding lists it, in integration order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawRun {
    pub(crate) lv: Lv,
    pub(crate) len: u32,
    pub(crate) ol: Lv,
    pub(crate) or: Lv,
}

/// What a tree is built from.
pub(crate) struct Source<B: Buf> {
    pub(crate) runs: Vec<RawRun>,
    /// Visible content in document order (checked at load to match the runs and deletions).
    pub(crate) content: B::Owned,
    pub(crate) len: Len,
    /// Deleted local versions, sorted and merged (shared by every sequence of the document).
    pub(crate) deleted: std::sync::Arc<[(Lv, Lv)]>,
}

/// A sequence tree, possibly not built yet.
pub(crate) struct LazySeq<B: Buf> {
    /// Unset only while `source` is there to build it from.
    tree: OnceLock<SeqTree<B>>,
    source: Option<Box<Source<B>>>,
}

impl<B: Buf> Default for LazySeq<B> {
    fn default() -> Self {
        Self {
            tree: OnceLock::from(SeqTree::new()),
            source: None,
        }
    }
}

impl<B: Buf> LazySeq<B> {
    /// A sequence to be built from `source` when first needed.
    pub(crate) fn from_source(source: Source<B>) -> Self {
        Self {
            tree: OnceLock::new(),
            source: Some(Box::new(source)),
        }
    }

    fn build(source: Option<&Source<B>>, info: &impl LvInfo) -> SeqTree<B> {
        let mut t = SeqTree::new();
        let Some(src) = source else {
            return t;
        };
        for r in &src.runs {
            // Every reference was checked when the encoding was loaded.
            let _ = integrate(&mut t, r.lv, r.len, r.ol, r.or, None, info);
        }
        // The content was checked against the runs and deletions at load time.
        let _ = t.fill(&src.deleted, src.content.as_ref(), info);
        t
    }

    /// A sequence known only by its content (a deferred load): never built while deferred.
    pub(crate) fn content_only(content: B::Owned, len: Len) -> Self {
        Self::from_source(Source {
            runs: Vec::new(),
            content,
            len,
            deleted: std::sync::Arc::from(Vec::new()),
        })
    }

    /// The tree, built now if needed.
    pub(crate) fn get(&self, info: &impl LvInfo) -> &SeqTree<B> {
        self.tree
            .get_or_init(|| Self::build(self.source.as_deref(), info))
    }

    /// The tree for editing, built now if needed.
    #[inline]
    pub(crate) fn get_mut(&mut self, info: &impl LvInfo) -> &mut SeqTree<B> {
        if self.source.is_some() {
            self.build_for_edit(info);
        }
        match self.tree.get_mut() {
            Some(t) => t,
            None => unreachable!("a tree without a source is always built"),
        }
    }

    /// Builds the tree (unless reading built it already) and drops what it was built from.
    #[cold]
    fn build_for_edit(&mut self, info: &impl LvInfo) {
        if self.tree.get().is_none() {
            let t = Self::build(self.source.as_deref(), info);
            let _ = self.tree.set(t);
        }
        self.source = None;
    }

    /// Visible length.
    pub(crate) fn len(&self) -> Len {
        match (self.tree.get(), &self.source) {
            (Some(t), _) => t.len(),
            (None, Some(s)) => s.len,
            (None, None) => Len::default(),
        }
    }

    /// Appends the whole content to `out` (no tree needed).
    pub(crate) fn content(&self, out: &mut B::Owned) {
        match (self.tree.get(), &self.source) {
            (Some(t), _) => t.content(out),
            (None, Some(s)) => B::extend_owned(out, s.content.as_ref()),
            (None, None) => {}
        }
    }
}
