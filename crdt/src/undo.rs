//! [`UndoManager`]: undo and redo of this replica's own changes to chosen containers.
//!
//! Changes are captured after each local transaction (filtered by origin) and grouped while they
//! come within the capture timeout. Undoing makes new operations that invert the captured ones,
//! so it syncs like any other edit and never touches other replicas' changes.

use std::sync::{Arc, Mutex};

use crate::doc::container::{OpValue, State};
use crate::doc::{Doc, Origin};
use crate::error::Error;
use crate::event::{SeqEdit, Subscription, TxnRecord};
use crate::id::Lv;
use crate::seq::buf::{ListBuf, TextBuf};
use crate::seq::utf8::count_chars;
use crate::types::{ListRef, TextRef};
use crate::value::{ContainerRef, Kind, Value};

/// A clock in milliseconds used to group changes.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// How an [`UndoManager`] captures changes.
#[derive(Clone)]
pub struct UndoOptions {
    /// Changes less than this many milliseconds apart form one undo step.
    pub capture_timeout_ms: u64,
    /// Transactions with one of these origins are captured (besides untagged local ones).
    pub tracked_origins: Vec<Origin>,
    /// Whether local transactions without an origin are captured.
    pub track_untagged: bool,
    /// Milliseconds since some fixed point. Defaults to the system clock where one exists
    /// (on `wasm32-unknown-unknown` pass one in, e.g. `Date.now`).
    pub clock: Clock,
}

impl Default for UndoOptions {
    fn default() -> Self {
        Self {
            capture_timeout_ms: 500,
            tracked_origins: Vec::new(),
            track_untagged: true,
            clock: default_clock(),
        }
    }
}

impl std::fmt::Debug for UndoOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UndoOptions")
            .field("capture_timeout_ms", &self.capture_timeout_ms)
            .field("tracked_origins", &self.tracked_origins)
            .field("track_untagged", &self.track_untagged)
            .finish_non_exhaustive()
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn default_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    })
}

#[cfg(target_arch = "wasm32")]
fn default_clock() -> Clock {
    Arc::new(|| 0)
}

#[derive(Clone, Debug)]
enum Content {
    Text(String),
    List(Vec<Value>),
}

/// One undo (or redo) step: what to invert.
#[derive(Clone, Debug, Default)]
struct Step {
    /// (container, first element, count) inserted.
    inserts: Vec<(u32, Lv, u32)>,
    /// (container, first element, content) deleted, in order.
    deletes: Vec<(u32, Lv, Content)>,
    /// (container, key, value before).
    keys: Vec<(u32, String, Option<Value>)>,
    counters: Vec<(u32, i64)>,
    /// (container, value, was added)
    sets: Vec<(u32, Value, bool)>,
    /// (container, value before)
    registers: Vec<(u32, Option<Value>)>,
}

impl Step {
    fn is_empty(&self) -> bool {
        self.inserts.is_empty()
            && self.deletes.is_empty()
            && self.keys.is_empty()
            && self.counters.is_empty()
            && self.sets.is_empty()
            && self.registers.is_empty()
    }

    fn absorb(&mut self, later: Step) {
        self.inserts.extend(later.inserts);
        self.deletes.extend(later.deletes);
        // The value before the first change of a key is the one to restore.
        for (c, k, v) in later.keys {
            if !self.keys.iter().any(|(c2, k2, _)| *c2 == c && *k2 == k) {
                self.keys.push((c, k, v));
            }
        }
        self.counters.extend(later.counters);
        self.sets.extend(later.sets);
        for (c, v) in later.registers {
            if !self.registers.iter().any(|(c2, _)| *c2 == c) {
                self.registers.push((c, v));
            }
        }
    }
}

#[derive(Default)]
struct Stacks {
    undo: Vec<Step>,
    redo: Vec<Step>,
    last_capture: Option<u64>,
    stop: bool,
    /// Set while the manager itself is undoing or redoing.
    mode: Mode,
    /// Deleted elements brought back as new ones: (original first element, new first, count).
    /// Older steps that name the originals follow these to the current elements.
    redone: Vec<(Lv, Lv, u32)>,
}

/// The elements standing for `lv..lv+n` now: the originals and every copy restored by undo/redo.
fn incarnations(redone: &[(Lv, Lv, u32)], lv: Lv, n: u32) -> Vec<(Lv, u32)> {
    let mut out = vec![(lv, n)];
    let mut i = 0;
    while i < out.len() && out.len() < 10_000 {
        let (s, len) = out[i];
        for &(orig, new, m) in redone {
            let a = s.max(orig);
            let b = (s + len).min(orig + m);
            if a < b {
                out.push((new + (a - orig), b - a));
            }
        }
        i += 1;
    }
    out
}

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Mode {
    #[default]
    Normal,
    Undoing,
    Redoing,
}

/// Undo/redo of this replica's changes to a set of containers.
///
/// ```
/// use weft::{Doc, UndoManager, UndoOptions};
/// let mut doc = Doc::new();
/// let text = doc.text("t");
/// let mut undo = UndoManager::new(&mut doc, &[text.into()], UndoOptions::default());
/// let mut tx = doc.transact();
/// text.insert(&mut tx, 0, "hello").unwrap();
/// tx.commit();
/// undo.undo(&mut doc).unwrap();
/// assert_eq!(text.to_string(&doc), "");
/// undo.redo(&mut doc).unwrap();
/// assert_eq!(text.to_string(&doc), "hello");
/// ```
pub struct UndoManager {
    stacks: Arc<Mutex<Stacks>>,
    sub: Subscription,
    origin: Origin,
}

impl std::fmt::Debug for UndoManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("UndoManager");
        d.field("origin", &self.origin);
        if let Ok(s) = self.stacks.lock() {
            d.field("undo", &s.undo)
                .field("redo", &s.redo)
                .field("redone", &s.redone);
        }
        d.finish()
    }
}

fn capture(rec: &TxnRecord, scope: &[u32]) -> Step {
    let mut s = Step::default();
    let mut seq = |c: u32, edits: &[SeqEdit<Content>]| {
        for e in edits {
            match e {
                SeqEdit::Insert { lv, content, .. } => {
                    let n = match content {
                        Content::Text(t) => count_chars(t.as_bytes()) as u32,
                        Content::List(v) => v.len() as u32,
                    };
                    if n > 0 {
                        s.inserts.push((c, *lv, n));
                    }
                }
                SeqEdit::Delete { lv, content, .. } => s.deletes.push((c, *lv, content.clone())),
            }
        }
    };
    for (c, edits) in &rec.text {
        if scope.contains(c) {
            let v: Vec<SeqEdit<Content>> = edits
                .iter()
                .map(|e| map_edit(e, |t: &String| Content::Text(t.clone())))
                .collect();
            seq(*c, &v);
        }
    }
    for (c, edits) in &rec.list {
        if scope.contains(c) {
            let v: Vec<SeqEdit<Content>> = edits
                .iter()
                .map(|e| map_edit(e, |t: &Vec<Value>| Content::List(t.clone())))
                .collect();
            seq(*c, &v);
        }
    }
    for (c, keys) in &rec.keys {
        if scope.contains(c) {
            for (k, (old, new)) in keys {
                if old != new {
                    s.keys.push((*c, k.clone(), old.clone()));
                }
            }
        }
    }
    for (c, d) in &rec.counters {
        if scope.contains(c) && *d != 0 {
            s.counters.push((*c, *d));
        }
    }
    for (c, m) in &rec.sets {
        if scope.contains(c) {
            for (v, added) in m {
                if let Some(added) = added {
                    s.sets.push((*c, v.clone(), *added));
                }
            }
        }
    }
    for (c, (old, new)) in &rec.registers {
        if scope.contains(c) && old != new {
            s.registers.push((*c, old.clone()));
        }
    }
    s
}

fn map_edit<T, U>(e: &SeqEdit<T>, f: impl Fn(&T) -> U) -> SeqEdit<U> {
    match e {
        SeqEdit::Insert { pos, content, lv } => SeqEdit::Insert {
            pos: *pos,
            content: f(content),
            lv: *lv,
        },
        SeqEdit::Delete {
            pos,
            len,
            content,
            lv,
            n,
        } => SeqEdit::Delete {
            pos: *pos,
            len: *len,
            content: f(content),
            lv: *lv,
            n: *n,
        },
    }
}

static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl UndoManager {
    /// Starts capturing changes to `scope` made by local transactions of `doc`.
    pub fn new(doc: &mut Doc, scope: &[ContainerRef], options: UndoOptions) -> Self {
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let origin = Origin::from(format!("weft-undo-{id}"));
        let stacks = Arc::new(Mutex::new(Stacks::default()));
        let scope: Vec<u32> = scope.iter().map(|c| c.idx).collect();
        let (st, own) = (stacks.clone(), origin.clone());
        let sub = doc.observers.add_txn(Box::new(move |rec: &TxnRecord| {
            if !rec.local {
                return;
            }
            let ours = rec.origin.as_ref() == Some(&own);
            let tracked = match &rec.origin {
                None => options.track_untagged,
                Some(o) => ours || options.tracked_origins.contains(o),
            };
            if !tracked {
                return;
            }
            let step = capture(rec, &scope);
            if step.is_empty() {
                return;
            }
            let Ok(mut s) = st.lock() else {
                return;
            };
            match (ours, s.mode) {
                (true, Mode::Undoing) => s.redo.push(step),
                (true, Mode::Redoing) | (true, Mode::Normal) => s.undo.push(step),
                (false, _) => {
                    let now = (options.clock)();
                    let group = !s.stop
                        && s.last_capture
                            .is_some_and(|t| now.saturating_sub(t) < options.capture_timeout_ms);
                    match s.undo.last_mut() {
                        Some(top) if group => top.absorb(step),
                        _ => s.undo.push(step),
                    }
                    s.last_capture = Some(now);
                    s.stop = false;
                    s.redo.clear();
                }
            }
        }));
        Self {
            stacks,
            sub,
            origin,
        }
    }

    /// True when there is something to undo.
    pub fn can_undo(&self) -> bool {
        self.stacks
            .lock()
            .map(|s| !s.undo.is_empty())
            .unwrap_or(false)
    }

    /// True when there is something to redo.
    pub fn can_redo(&self) -> bool {
        self.stacks
            .lock()
            .map(|s| !s.redo.is_empty())
            .unwrap_or(false)
    }

    /// Makes the next captured change start a new undo step even within the timeout.
    pub fn stop_capturing(&mut self) {
        if let Ok(mut s) = self.stacks.lock() {
            s.stop = true;
        }
    }

    /// Forgets every undo and redo step.
    pub fn clear(&mut self) {
        if let Ok(mut s) = self.stacks.lock() {
            s.undo.clear();
            s.redo.clear();
        }
    }

    /// Stops capturing (the manager keeps working on what it captured).
    pub fn detach(&mut self, doc: &mut Doc) {
        doc.unobserve(self.sub);
    }

    /// Undoes the most recent step. Returns false when there was nothing to undo.
    pub fn undo(&mut self, doc: &mut Doc) -> Result<bool, Error> {
        self.run(doc, Mode::Undoing)
    }

    /// Redoes the most recently undone step. Returns false when there was nothing to redo.
    pub fn redo(&mut self, doc: &mut Doc) -> Result<bool, Error> {
        self.run(doc, Mode::Redoing)
    }

    fn run(&mut self, doc: &mut Doc, mode: Mode) -> Result<bool, Error> {
        let step = {
            let Ok(mut s) = self.stacks.lock() else {
                return Ok(false);
            };
            let step = if mode == Mode::Undoing {
                s.undo.pop()
            } else {
                s.redo.pop()
            };
            let Some(step) = step else {
                return Ok(false);
            };
            s.mode = mode;
            s.stop = true;
            step
        };
        let redone = self
            .stacks
            .lock()
            .map(|s| s.redone.clone())
            .unwrap_or_default();
        let result = invert(doc, &step, self.origin.clone(), &redone);
        if let (Ok(new), Ok(mut s)) = (&result, self.stacks.lock()) {
            s.redone.extend(new.iter().copied());
        }
        if let Ok(mut s) = self.stacks.lock() {
            s.mode = Mode::Normal;
        }
        result.map(|_| true)
    }
}

/// Applies the inverse of `step` in one transaction tagged `origin`. Returns the deleted
/// elements it brought back as `(original, new, count)`.
fn invert(
    doc: &mut Doc,
    step: &Step,
    origin: Origin,
    redone: &[(Lv, Lv, u32)],
) -> Result<Vec<(Lv, Lv, u32)>, Error> {
    let mut restored = Vec::new();
    let kinds: Vec<Kind> = doc.containers.iter().map(|c| c.kind).collect();
    let cref = |c: u32| ContainerRef {
        kind: kinds.get(c as usize).copied().unwrap_or(Kind::Text),
        idx: c,
    };
    let mut tx = doc.transact_with(origin);
    // Remove what was inserted (still-visible parts), last first.
    for &(c, lv, n) in step.inserts.iter().rev() {
        let mut pieces = Vec::new();
        for (lv, n) in incarnations(redone, lv, n) {
            pieces.extend(match tx.doc.containers.get(c as usize).map(|x| &x.state) {
                Some(State::Text(t)) => t.get(&tx.doc.ids).visible_pieces(lv, n),
                Some(State::List(t)) => t.visible_pieces(lv, n),
                _ => Vec::new(),
            });
        }
        crate::sort::sort(&mut pieces);
        for (pos, count) in pieces.into_iter().rev() {
            match kinds.get(c as usize) {
                Some(Kind::Text) => TextRef(cref(c)).delete(&mut tx, pos, count)?,
                Some(Kind::List) => ListRef(cref(c)).delete(&mut tx, pos, count)?,
                _ => {}
            }
        }
    }
    // Put back what was deleted, right after its tombstones (so it lands exactly where it was).
    for (c, lv, content) in step.deletes.iter().rev() {
        let n = match content {
            Content::Text(s) => count_chars(s.as_bytes()) as u32,
            Content::List(v) => v.len() as u32,
        };
        if n == 0 {
            continue;
        }
        let anchor = *lv + n - 1;
        let new = match content {
            Content::Text(s) => tx.seq_insert_after::<TextBuf>(cref(*c), anchor, s),
            Content::List(v) => {
                // Nested containers cannot be revived: restore their slots as nulls.
                let plain: Vec<Value> = v
                    .iter()
                    .map(|x| {
                        if x.has_container() {
                            Value::Null
                        } else {
                            x.clone()
                        }
                    })
                    .collect();
                tx.seq_insert_after::<ListBuf>(cref(*c), anchor, &plain)
            }
        };
        if let Ok(new) = new {
            restored.push((*lv, new, n));
        }
    }
    for (c, key, old) in step.keys.iter().rev() {
        match old {
            Some(Value::Container(_)) => {}
            Some(v) => {
                tx.map_write(cref(*c), key, Some(OpValue::Plain(v.clone())))?;
            }
            None => {
                tx.map_write(cref(*c), key, None)?;
            }
        }
    }
    for (c, d) in step.counters.iter().rev() {
        tx.counter_add(cref(*c), d.wrapping_neg())?;
    }
    for (c, v, added) in step.sets.iter().rev() {
        if *added {
            tx.set_remove(cref(*c), v)?;
        } else {
            tx.set_add(cref(*c), v.clone())?;
        }
    }
    for (c, old) in step.registers.iter().rev() {
        match old {
            Some(Value::Container(_)) => {}
            Some(v) => {
                tx.register_write(cref(*c), Some(OpValue::Plain(v.clone())))?;
            }
            None => {
                tx.register_write(cref(*c), None)?;
            }
        }
    }
    tx.commit();
    Ok(restored)
}
