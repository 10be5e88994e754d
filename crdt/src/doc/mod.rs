//! [`Doc`]: a replica of a document — its clock, named roots, containers, transactions,
//! pending buffer and observers.

pub(crate) mod container;
pub(crate) mod deferred;
pub(crate) mod dels;
pub(crate) mod ids;
pub(crate) mod txn;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

pub use txn::Transaction;

use crate::event::{Event, Observers, Subscription, UpdateEvent};
use crate::id::{Agent, Lv, ReplicaId};
use crate::register::LwwRegister;
use crate::seq::buf::{ListBuf, TextBuf};
use crate::seq::tree::{Removed, SeqTree};
use crate::types::{CounterRef, ListRef, MapRef, RegisterRef, SetRef, TextRef};
use crate::update::Pending;
use crate::value::{ContainerRef, Kind, Value};
use crate::vecmap::VecMap;
use crate::version::{Clocks, StateVector};
use container::{Container, ContainerKey, MiscOp, Owners, State};
use dels::DelLog;
use ids::IdMap;

/// A tag describing where a transaction came from (for example `"remote"` or `"undo"`), passed
/// to observers so providers can skip their own changes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin(Arc<str>);

impl Origin {
    /// The tag text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Origin {
    fn from(s: &str) -> Self {
        Origin(Arc::from(s))
    }
}

impl From<String> for Origin {
    fn from(s: String) -> Self {
        Origin(Arc::from(s))
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A replica of a document: every shared type it holds, its history and its clock.
///
/// ```
/// use weft::Doc;
/// let mut doc = Doc::new();
/// let text = doc.text("content");
/// let mut tx = doc.transact();
/// text.insert(&mut tx, 0, "hello").unwrap();
/// tx.commit();
/// assert_eq!(text.to_string(&doc), "hello");
/// ```
pub struct Doc {
    pub(crate) ids: IdMap,
    pub(crate) me: Agent,
    pub(crate) containers: Vec<Container>,
    /// Root containers by name and kind (in name order).
    roots: VecMap<(String, Kind), u32>,
    /// Nested containers by the local version of the operation that created them.
    nested: VecMap<Lv, u32>,
    pub(crate) owners: Owners,
    /// Deletions per agent, in deletion-sequence order.
    pub(crate) dels: Vec<DelLog>,
    /// Non-sequence operations by local version.
    pub(crate) misc: VecMap<Lv, MiscOp>,
    /// Highest Lamport clock seen.
    pub(crate) lamport: u64,
    pub(crate) pending: Pending,
    pub(crate) observers: Observers,
    /// A whole-document load whose history is parsed on first use.
    pub(crate) deferred: Option<Box<deferred::Deferred>>,
    /// Reused by local deletions.
    pub(crate) scratch: Vec<crate::seq::tree::Removed>,
}

impl fmt::Debug for Doc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Doc")
            .field("replica", &self.replica_id())
            .field("containers", &self.containers.len())
            .field("ops", &self.ids.next_lv())
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "random")]
impl Default for Doc {
    fn default() -> Self {
        Self::new()
    }
}

impl Doc {
    /// A new empty document with a random replica id (48 random bits: two replicas of one
    /// document collide with probability below 10⁻⁵ even after 10⁵ sessions, and the ids stay
    /// short in every update).
    #[cfg(feature = "random")]
    pub fn new() -> Self {
        Self::with_replica_id(ReplicaId::random())
    }

    /// A new empty document with the given replica id. Two live replicas must never share an id.
    pub fn with_replica_id(replica: ReplicaId) -> Self {
        let mut ids = IdMap::default();
        let me = ids.agent(replica);
        Self {
            ids,
            me,
            containers: Vec::new(),
            roots: VecMap::new(),
            nested: VecMap::new(),
            owners: Owners::default(),
            dels: vec![DelLog::default()],
            misc: VecMap::new(),
            lamport: 0,
            pending: Pending::default(),
            observers: Observers::default(),
            deferred: None,
            scratch: Vec::new(),
        }
    }

    /// This replica's id.
    pub fn replica_id(&self) -> ReplicaId {
        self.ids.replica(self.me)
    }

    // ------------------------------------------------------------------ roots

    pub(crate) fn root(&mut self, name: &str, kind: Kind) -> ContainerRef {
        if let Some(idx) = self.find_root(name, kind) {
            return ContainerRef { kind, idx };
        }
        let idx = self.add_container(ContainerKey::Root(name.to_owned()), kind);
        self.roots.insert((name.to_owned(), kind), idx);
        ContainerRef { kind, idx }
    }

    pub(crate) fn find_root(&self, name: &str, kind: Kind) -> Option<u32> {
        self.roots.get(&(name.to_owned(), kind)).copied()
    }

    pub(crate) fn add_container(&mut self, key: ContainerKey, kind: Kind) -> u32 {
        let idx = self.containers.len() as u32;
        if let ContainerKey::Nested(lv) = key {
            self.nested.insert(lv, idx);
        }
        self.containers.push(Container {
            key,
            kind,
            state: State::new(kind),
        });
        idx
    }

    pub(crate) fn nested_container(&self, lv: Lv) -> Option<u32> {
        self.nested.get(&lv).copied()
    }

    /// The root text named `name` (created on first use; a name and kind pair identifies a root).
    pub fn text(&mut self, name: &str) -> TextRef {
        TextRef(self.root(name, Kind::Text))
    }

    /// The root list named `name`.
    pub fn list(&mut self, name: &str) -> ListRef {
        ListRef(self.root(name, Kind::List))
    }

    /// The root map named `name`.
    pub fn map(&mut self, name: &str) -> MapRef {
        MapRef(self.root(name, Kind::Map))
    }

    /// The root counter named `name`.
    pub fn counter(&mut self, name: &str) -> CounterRef {
        CounterRef(self.root(name, Kind::Counter))
    }

    /// The root set named `name`.
    pub fn set(&mut self, name: &str) -> SetRef {
        SetRef(self.root(name, Kind::Set))
    }

    /// The root register named `name`.
    pub fn register(&mut self, name: &str) -> RegisterRef {
        RegisterRef(self.root(name, Kind::Register))
    }

    /// Root containers: `(name, handle)` in name order.
    pub fn roots(&self) -> Vec<(String, ContainerRef)> {
        // Kept sorted by (name, kind): the same order as (name, handle).
        self.roots
            .iter()
            .map(|((name, kind), idx)| {
                (
                    name.clone(),
                    ContainerRef {
                        kind: *kind,
                        idx: *idx,
                    },
                )
            })
            .collect()
    }

    // ------------------------------------------------------------------ container access

    /// The tree of text `c` (`None` when `c` is no text of this document).
    pub(crate) fn text_tree(&self, c: ContainerRef) -> Option<&SeqTree<TextBuf>> {
        let doc = self.resolved();
        match doc.containers.get(c.idx as usize).map(|c| &c.state) {
            Some(State::Text(t)) => Some(t.get(&doc.ids)),
            _ => None,
        }
    }

    /// Appends a text's content to `out` without building a lazily loaded tree.
    pub(crate) fn text_content(&self, c: ContainerRef, out: &mut String) {
        if let Some(State::Text(t)) = self.containers.get(c.idx as usize).map(|c| &c.state) {
            t.content(out);
        }
    }

    /// A text's length without building a lazily loaded tree.
    pub(crate) fn text_len(&self, c: ContainerRef) -> crate::seq::Len {
        match self.containers.get(c.idx as usize).map(|c| &c.state) {
            Some(State::Text(t)) => t.len(),
            _ => crate::seq::Len::default(),
        }
    }

    /// The tree of list `c` (`None` when `c` is no list of this document).
    pub(crate) fn list_tree(&self, c: ContainerRef) -> Option<&SeqTree<ListBuf>> {
        match self.containers.get(c.idx as usize).map(|c| &c.state) {
            Some(State::List(t)) => Some(t),
            _ => None,
        }
    }

    pub(crate) fn state(&self, c: ContainerRef) -> Option<&State> {
        self.containers.get(c.idx as usize).map(|c| &c.state)
    }

    pub(crate) fn map_entries(
        &self,
        c: ContainerRef,
    ) -> Option<&BTreeMap<String, LwwRegister<Value>>> {
        match self.state(c) {
            Some(State::Map(m)) => Some(m),
            _ => None,
        }
    }

    /// Records deletions `dseq..dseq+n` by `agent` of the elements `lv..lv+n` (reversed when
    /// `rev`).
    pub(crate) fn log_deletion(&mut self, agent: Agent, dseq: u32, lv: Lv, n: u32, rev: bool) {
        let a = agent as usize;
        if self.dels.len() <= a {
            self.dels.resize_with(a + 1, DelLog::default);
        }
        let prefix = self.ids.agents[a].next_del;
        let next = self.dels[a].insert(&self.ids, dseq, lv, n, rev, prefix);
        self.ids.agents[a].next_del = next;
    }

    /// Records this replica's deletions of the `removed` stretches, in order, after all of its
    /// earlier ones.
    pub(crate) fn log_local_deletions(&mut self, removed: &[Removed]) {
        let a = self.me as usize;
        if self.dels.len() <= a {
            self.dels.resize_with(a + 1, DelLog::default);
        }
        let prefix = self.ids.agents[a].next_del;
        let log = &mut self.dels[a];
        let start = prefix.max(log.end());
        let mut dseq = start;
        for r in removed {
            log.append(&self.ids, dseq, r.lv, r.n);
            dseq += r.n;
        }
        // Past a gap (deletions of this replica still missing), the prefix stays.
        if start == prefix {
            self.ids.agents[a].next_del = dseq;
        }
    }

    /// True when `agent` has deletions beyond its gap-free prefix.
    pub(crate) fn del_end(&self, agent: Agent) -> u32 {
        self.dels.get(agent as usize).map_or(0, DelLog::end)
    }

    // ------------------------------------------------------------------ transactions

    /// Starts a transaction: edits made through it form one update, delivered to observers when
    /// it commits (on [`Transaction::commit`] or when dropped).
    #[inline]
    pub fn transact(&mut self) -> Transaction<'_> {
        self.materialize();
        Transaction::new(self, None, true)
    }

    /// Starts a transaction tagged with `origin`.
    pub fn transact_with(&mut self, origin: impl Into<Origin>) -> Transaction<'_> {
        self.materialize();
        Transaction::new(self, Some(origin.into()), true)
    }

    // ------------------------------------------------------------------ versions

    /// What this replica has seen: per replica, the operation and deletion clocks.
    pub fn state_vector(&self) -> StateVector {
        if let Some(d) = &self.deferred {
            return d.sv.clone();
        }
        // The agents in replica order: the entries come sorted.
        StateVector::from_sorted(self.ids.agents_in_replica_order().map(|(_, a)| {
            (
                a.replica,
                Clocks {
                    ops: u64::from(a.next_seq),
                    deletes: u64::from(a.next_del),
                },
            )
        }))
    }

    /// True when some received operations wait for operations that have not arrived yet.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The clocks the pending operations are waiting for (empty when nothing is pending): for
    /// each replica, the first operation or deletion that must arrive before they can apply.
    pub fn pending_missing(&self) -> StateVector {
        self.pending.missing(self)
    }

    // ------------------------------------------------------------------ observers

    /// Calls `f` with the encoded update of every transaction that changes the document (local
    /// edits and applied remote updates). This is what a network provider sends.
    pub fn on_update(&mut self, f: impl FnMut(&UpdateEvent<'_>) + Send + 'static) -> Subscription {
        self.observers.add_update(Box::new(f))
    }

    /// Calls `f` after each transaction that changed `container`, with what changed.
    pub fn observe(
        &mut self,
        container: impl Into<ContainerRef>,
        f: impl FnMut(&Event) + Send + 'static,
    ) -> Subscription {
        self.observers.add_event(container.into(), Box::new(f))
    }

    /// Removes an observer registered with [`Doc::on_update`] or [`Doc::observe`].
    pub fn unobserve(&mut self, sub: Subscription) {
        self.observers.remove(sub);
    }

    /// Checks internal invariants (cached lengths, parent links, the id index) and panics when
    /// one is broken. For tests and fuzzing; O(n).
    #[doc(hidden)]
    pub fn check_invariants(&self) {
        if self.deferred.is_some() {
            return self.resolved().check_invariants();
        }
        let mut logged: Vec<(Lv, Lv)> = self
            .dels
            .iter()
            .flat_map(|l| l.runs().iter())
            .map(|r| (r.target, r.target + r.len))
            .collect();
        crate::sort::sort(&mut logged);
        let is_logged = |lv: Lv| {
            let i = logged.partition_point(|x| x.0 <= lv);
            logged[..i].iter().any(|x| lv < x.1)
        };
        for (ci, c) in self.containers.iter().enumerate() {
            let runs: Vec<crate::seq::run::Run> = match &c.state {
                State::Text(t) => {
                    let t = t.get(&self.ids);
                    t.check();
                    t.leaves_in_order()
                        .flat_map(|l| l.runs.iter().copied())
                        .collect()
                }
                State::List(t) => {
                    t.check();
                    t.leaves_in_order()
                        .flat_map(|l| l.runs.iter().copied())
                        .collect()
                }
                _ => continue,
            };
            for r in runs {
                for lv in r.lv..r.end() {
                    assert_eq!(
                        r.deleted(),
                        is_logged(lv),
                        "container {ci}: element {lv} of {r:?} deleted in tree vs log"
                    );
                }
            }
        }
    }

    // ------------------------------------------------------------------ JSON

    /// Every root container as a JSON-like value: an object keyed by root name (roots of
    /// different kinds sharing a name get a `name:kind` key).
    pub fn to_json(&self) -> Value {
        let mut out = BTreeMap::new();
        let roots = self.roots.as_slice();
        for (i, ((name, kind), idx)) in roots.iter().enumerate() {
            // Roots are sorted by name: roots sharing a name are neighbours.
            let shared = |j: Option<usize>| {
                j.and_then(|j| roots.get(j))
                    .is_some_and(|((other, _), _)| other == name)
            };
            let key = if shared(i.checked_sub(1)) || shared(i.checked_add(1)) {
                format!("{name}:{kind}")
            } else {
                name.clone()
            };
            out.insert(
                key,
                self.container_json(
                    ContainerRef {
                        kind: *kind,
                        idx: *idx,
                    },
                    0,
                ),
            );
        }
        Value::Object(out)
    }

    /// One container as a JSON-like value, nested containers expanded.
    pub fn container_json(&self, c: ContainerRef, depth: usize) -> Value {
        if depth > crate::value::MAX_DEPTH {
            return Value::Null;
        }
        let expand = |v: &Value| match v {
            Value::Container(inner) => self.container_json(*inner, depth + 1),
            other => other.clone(),
        };
        match self.state(c) {
            Some(State::Text(t)) => {
                let mut s = String::with_capacity(t.len().utf8 as usize);
                t.content(&mut s);
                Value::String(s)
            }
            Some(State::List(t)) => {
                let mut v = Vec::new();
                t.content(&mut v);
                Value::Array(v.iter().map(expand).collect())
            }
            Some(State::Map(m)) => {
                // Inserted in key order (no collect: that would sort them again).
                let mut o = BTreeMap::new();
                for (k, r) in m {
                    if let Some(v) = r.get() {
                        o.insert(k.clone(), expand(v));
                    }
                }
                Value::Object(o)
            }
            Some(State::Counter(c)) => Value::Int(c.value()),
            Some(State::Set(s)) => Value::Array(s.iter().cloned().collect()),
            Some(State::Register(r)) => r.get().map(expand).unwrap_or(Value::Null),
            None => Value::Null,
        }
    }
}

#[cfg(feature = "random")]
impl ReplicaId {
    /// A random replica id of 48 bits (never 0).
    pub fn random() -> ReplicaId {
        ReplicaId::from_random_bits(random_u64())
    }
}

#[cfg(feature = "random")]
fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    // An OS without a randomness source cannot run Weft safely: ids would collide.
    if getrandom::fill(&mut b).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        return t ^ (std::process::id() as u64).rotate_left(32);
    }
    u64::from_le_bytes(b)
}
