//! # Weft
//!
//! A CRDT collaboration engine: shared text, lists, maps, counters, sets and registers that
//! replicas edit independently and merge without conflicts, synced by compact binary updates.
//!
//! ```
//! use weft::{Doc, ReplicaId};
//!
//! let mut alice = Doc::with_replica_id(ReplicaId(1));
//! let mut bob = Doc::with_replica_id(ReplicaId(2));
//! let (a, b) = (alice.text("notes"), bob.text("notes"));
//!
//! let mut tx = alice.transact();
//! a.insert(&mut tx, 0, "Hello world").unwrap();
//! tx.commit();
//! bob.apply_update(&alice.encode_state()).unwrap();
//!
//! // Concurrent edits…
//! let mut tx = alice.transact();
//! a.insert(&mut tx, 5, ",").unwrap();
//! tx.commit();
//! let mut tx = bob.transact();
//! b.insert(&mut tx, 11, "!").unwrap();
//! tx.commit();
//!
//! // …merge by exchanging exactly what the other side lacks.
//! let to_bob = alice.encode_diff(&bob.state_vector());
//! let to_alice = bob.encode_diff(&alice.state_vector());
//! bob.apply_update(&to_bob).unwrap();
//! alice.apply_update(&to_alice).unwrap();
//! assert_eq!(a.to_string(&alice), "Hello, world!");
//! assert_eq!(b.to_string(&bob), "Hello, world!");
//! ```
//!
//! Standalone state-based types ([`GCounter`], [`PNCounter`], [`OrSet`], [`LwwRegister`],
//! [`LwwMap`]) merge with `merge(&mut self, &other)`; inside a [`Doc`] the same types are driven
//! by operations and synced by [`StateVector`]s. The binary format is specified in
//! `docs/FORMAT.md`; the network protocol in [`sync`] and `docs/PROTOCOL.md`.
#![forbid(unsafe_code)]

mod counter;
mod cursor;
mod doc;
mod encoding;
mod error;
mod event;
mod id;
mod list;
mod map;
mod register;
mod seq;
mod set;
mod sort;
mod span;
pub mod sync;
mod text;
mod types;
mod undo;
mod update;
mod value;
mod vecmap;
mod version;

pub use counter::{GCounter, PNCounter};
pub use cursor::{Assoc, Cursor};
pub use doc::{Doc, Origin, Transaction};
pub use encoding::{DecodeError, DecodeErrorKind};
pub use error::Error;
pub use event::{Change, Delta, Event, KeyChange, ListDelta, Subscription, TextDelta, UpdateEvent};
pub use id::{OpId, ReplicaId};
pub use map::LwwMap;
pub use register::{LwwRegister, Stamp};
pub use seq::{Len, Unit};
pub use set::{Dot, OrSet};
pub use types::{CounterRef, ListRef, MapRef, RegisterRef, SetRef, TextRef};
pub use undo::{Clock, UndoManager, UndoOptions};
pub use update::{ApplyOutcome, diff_update, merge_updates, update_state_vector};
pub use value::{ContainerRef, Kind, Value};
pub use version::{Clocks, StateVector, StateVectorDiff};

/// The repository README's Rust examples, run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
