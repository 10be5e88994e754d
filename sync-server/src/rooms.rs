//! The registry of loaded documents: finds a document's actor, starting (and loading) it on
//! first use, and forgets it when the actor evicts itself.
//!
//! Joins that arrive while a document loads queue in its actor's mailbox, so they share the one
//! load. An actor evicts itself only while no connection holds its sender and its mailbox is
//! empty, checked under the registry lock, so no command can reach an actor that has left.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, watch};
use weft::sync::Handle;

use crate::metrics::Metrics;
use crate::room::{self, RoomCmd, RoomConfig, RoomTask};
use crate::store::Store;

/// A loaded document's handle and mailbox.
#[derive(Clone, Debug)]
pub struct RoomRef {
    /// The document's handle (the same for every connection).
    pub handle: Handle,
    /// The actor's mailbox.
    pub tx: mpsc::Sender<RoomCmd>,
}

/// State shared by the registry and the room tasks.
pub(crate) struct RoomsShared {
    map: Mutex<HashMap<Arc<str>, RoomRef>>,
}

impl RoomsShared {
    /// Forgets `name` if it is still the room `handle`.
    pub(crate) fn remove(&self, name: &str, handle: Handle) {
        if let Ok(mut map) = self.map.lock()
            && map.get(name).is_some_and(|r| r.handle == handle)
        {
            map.remove(name);
        }
    }

    /// Forgets `name` if nobody but the registry holds its sender and nothing is queued.
    pub(crate) fn remove_if_unused(
        &self,
        name: &str,
        handle: Handle,
        rx: &mpsc::Receiver<RoomCmd>,
    ) -> bool {
        let Ok(mut map) = self.map.lock() else {
            return false;
        };
        let unused = map
            .get(name)
            .is_some_and(|r| r.handle == handle && r.tx.strong_count() == 1 && rx.is_empty());
        if unused {
            map.remove(name);
        }
        unused
    }
}

/// The registry of loaded documents.
pub struct Rooms {
    shared: Arc<RoomsShared>,
    next_handle: AtomicU64,
    store: Arc<dyn Store>,
    config: RoomConfig,
    metrics: Arc<Metrics>,
    stop_tx: watch::Sender<bool>,
    /// Each room task holds a clone; shutdown waits until all are dropped.
    alive: Mutex<Option<mpsc::Sender<()>>>,
    all_done: tokio::sync::Mutex<mpsc::Receiver<()>>,
}

impl std::fmt::Debug for Rooms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rooms")
            .field("loaded", &self.loaded())
            .finish_non_exhaustive()
    }
}

impl Rooms {
    /// An empty registry whose rooms use `store`.
    pub fn new(store: Arc<dyn Store>, config: RoomConfig, metrics: Arc<Metrics>) -> Self {
        let (alive, all_done) = mpsc::channel(1);
        Self {
            shared: Arc::new(RoomsShared {
                map: Mutex::new(HashMap::new()),
            }),
            next_handle: AtomicU64::new(1),
            store,
            config,
            metrics,
            stop_tx: watch::channel(false).0,
            alive: Mutex::new(Some(alive)),
            all_done: tokio::sync::Mutex::new(all_done),
        }
    }

    /// The actor of document `name`, started if it is not loaded. `None` once shutting down.
    pub fn get(&self, name: &str) -> Option<RoomRef> {
        let alive = self.alive.lock().ok()?.clone()?;
        let mut map = self.shared.map.lock().ok()?;
        if let Some(room) = map.get(name) {
            return Some(room.clone());
        }
        let name: Arc<str> = Arc::from(name);
        let (tx, rx) = mpsc::channel(self.config.queue.max(1));
        let handle = Handle(self.next_handle.fetch_add(1, Ordering::Relaxed));
        let room = RoomRef { handle, tx };
        map.insert(Arc::clone(&name), room.clone());
        let task = RoomTask {
            name,
            handle,
            rx,
            registry: Arc::clone(&self.shared),
            store: Arc::clone(&self.store),
            config: self.config.clone(),
            metrics: Arc::clone(&self.metrics),
            stop: self.stop_tx.subscribe(),
        };
        tokio::spawn(async move {
            room::run(task).await;
            drop(alive);
        });
        Some(room)
    }

    /// Number of loaded documents.
    pub fn loaded(&self) -> usize {
        self.shared.map.lock().map_or(0, |m| m.len())
    }

    /// Stops every room after its in-flight commits finish, and waits for them.
    pub async fn shutdown(&self) {
        if let Ok(mut alive) = self.alive.lock() {
            alive.take();
        }
        self.stop_tx.send_replace(true);
        let mut done = self.all_done.lock().await;
        while done.recv().await.is_some() {}
    }
}
