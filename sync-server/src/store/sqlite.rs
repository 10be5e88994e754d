//! The embedded default store: SQLite (bundled) in WAL mode with `synchronous = FULL`, written by
//! one thread that batches the writes of every document into one transaction (group commit).

use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::oneshot;

use super::{Store, StoreError, StoreFuture, StoredDoc};
use crate::metrics::Metrics;

/// Schema version kept in SQLite's `user_version`.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS snapshots (doc TEXT PRIMARY KEY NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS updates (id INTEGER PRIMARY KEY, doc TEXT NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS updates_by_doc ON updates (doc, id);
";

const APPEND: &str = "INSERT INTO updates (doc, data) VALUES (?1, ?2)";
const SNAPSHOT: &str = "INSERT INTO snapshots (doc, data) VALUES (?1, ?2) \
                        ON CONFLICT (doc) DO UPDATE SET data = excluded.data";
const CLEAR: &str = "DELETE FROM updates WHERE doc = ?1";

/// One queued write.
enum Write {
    Append { doc: String, data: Bytes },
    Compact { doc: String, snapshot: Bytes },
}

enum Op {
    Write(Write, oneshot::Sender<Result<(), StoreError>>),
    Close(oneshot::Sender<Result<(), StoreError>>),
}

/// SQLite-backed [`Store`] with group commit.
pub struct SqliteStore {
    writes: Mutex<Option<mpsc::Sender<Op>>>,
    reader: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

/// How the writer thread batches commits.
#[derive(Clone, Copy, Debug)]
pub struct GroupCommit {
    /// After the first write of a batch, how long to wait for more.
    pub window: Duration,
    /// Most writes in one transaction.
    pub max_batch: usize,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(backend)?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(backend)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(backend)?;
    // FULL: the WAL is synced on every commit, so an acknowledged write survives power loss.
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(backend)?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the database `weft.sqlite3` in `dir` and starts the writer
    /// thread.
    pub fn open(
        dir: &Path,
        commit: GroupCommit,
        metrics: Arc<Metrics>,
    ) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(backend)?;
        let path = dir.join("weft.sqlite3");
        let writer = open_connection(&path)?;
        let version: i64 = writer
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(backend)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Backend(format!(
                "{} has schema version {version}; this build knows up to {SCHEMA_VERSION}",
                path.display()
            )));
        }
        writer.execute_batch(SCHEMA).map_err(backend)?;
        writer
            .pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(backend)?;
        let reader = open_connection(&path)?;
        let (tx, rx) = mpsc::channel();
        thread::Builder::new()
            .name("weft-store".into())
            .spawn(move || write_loop(writer, rx, commit, &metrics))
            .map_err(backend)?;
        Ok(Self {
            writes: Mutex::new(Some(tx)),
            reader: Arc::new(Mutex::new(reader)),
        })
    }

    fn submit(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<(), StoreError>>) -> Op,
    ) -> StoreFuture<()> {
        let (reply, done) = oneshot::channel();
        let sent = match self.writes.lock() {
            Ok(guard) => guard
                .as_ref()
                .is_some_and(|tx| tx.send(make(reply)).is_ok()),
            Err(_) => false,
        };
        Box::pin(async move {
            if !sent {
                return Err(StoreError::Closed);
            }
            done.await.unwrap_or(Err(StoreError::Closed))
        })
    }
}

impl Store for SqliteStore {
    fn load(&self, doc: &str) -> StoreFuture<StoredDoc> {
        let reader = Arc::clone(&self.reader);
        let doc = doc.to_owned();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let mut conn = reader.lock().map_err(backend)?;
                load_doc(&mut conn, &doc).map_err(backend)
            })
            .await
            .map_err(backend)?
        })
    }

    fn append(&self, doc: &str, update: Bytes) -> StoreFuture<()> {
        let doc = doc.to_owned();
        self.submit(|reply| Op::Write(Write::Append { doc, data: update }, reply))
    }

    fn compact(&self, doc: &str, snapshot: Bytes) -> StoreFuture<()> {
        let doc = doc.to_owned();
        self.submit(|reply| Op::Write(Write::Compact { doc, snapshot }, reply))
    }

    fn close(&self) -> StoreFuture<()> {
        let fut = self.submit(Op::Close);
        if let Ok(mut guard) = self.writes.lock() {
            guard.take();
        }
        fut
    }
}

fn load_doc(conn: &mut Connection, doc: &str) -> rusqlite::Result<StoredDoc> {
    // One read transaction, so a concurrent compaction is seen entirely or not at all.
    let tx = conn.transaction()?;
    let snapshot = tx
        .query_row("SELECT data FROM snapshots WHERE doc = ?1", [doc], |r| {
            r.get(0)
        })
        .optional()?;
    let updates = {
        let mut stmt = tx.prepare("SELECT data FROM updates WHERE doc = ?1 ORDER BY id")?;
        stmt.query_map([doc], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<Vec<u8>>>>()?
    };
    tx.commit()?;
    Ok(StoredDoc { snapshot, updates })
}

fn write_loop(
    mut conn: Connection,
    rx: mpsc::Receiver<Op>,
    commit: GroupCommit,
    metrics: &Metrics,
) {
    let max_batch = commit.max_batch.max(1);
    let mut closing = None;
    while closing.is_none() {
        let Ok(first) = rx.recv() else { break };
        let mut batch = Vec::new();
        let push = |op: Op, batch: &mut Vec<_>, closing: &mut Option<Reply>| match op {
            Op::Write(w, reply) => batch.push((w, reply)),
            Op::Close(reply) => *closing = Some(reply),
        };
        push(first, &mut batch, &mut closing);
        // Wait out the window in one sleep, then take what queued meanwhile: waiting on the
        // channel instead would wake this thread (and make its sender pay a wake-up) for every
        // write that arrives within the window.
        if closing.is_none() && max_batch > 1 && !commit.window.is_zero() {
            thread::sleep(commit.window);
        }
        while closing.is_none() && batch.len() < max_batch {
            let Ok(op) = rx.try_recv() else { break };
            push(op, &mut batch, &mut closing);
        }
        if !batch.is_empty() {
            commit_batch(&mut conn, batch, metrics);
        }
    }
    // Every write queued before the close was committed above; answer the close last.
    let result = conn
        .pragma_update(None, "wal_checkpoint", "TRUNCATE")
        .map_err(backend);
    drop(conn);
    if let Some(reply) = closing {
        let _ = reply.send(result);
    }
}

type Reply = oneshot::Sender<Result<(), StoreError>>;

fn commit_batch(conn: &mut Connection, batch: Vec<(Write, Reply)>, metrics: &Metrics) {
    let started = Instant::now();
    let result = (|| -> rusqlite::Result<()> {
        let tx = conn.transaction()?;
        {
            // Compiling a statement costs more than a small insert: compile only the ones the
            // batch uses, once each.
            let mut append = None;
            let mut compact = None;
            for (write, _) in &batch {
                match write {
                    Write::Append { doc, data } => {
                        let stmt = match &mut append {
                            Some(stmt) => stmt,
                            None => append.insert(tx.prepare(APPEND)?),
                        };
                        stmt.execute(params![doc, &data[..]])?;
                    }
                    Write::Compact {
                        doc,
                        snapshot: snap,
                    } => {
                        let (snapshot, clear) = match &mut compact {
                            Some(stmts) => stmts,
                            None => compact.insert((tx.prepare(SNAPSHOT)?, tx.prepare(CLEAR)?)),
                        };
                        snapshot.execute(params![doc, &snap[..]])?;
                        clear.execute([doc])?;
                    }
                }
            }
        }
        tx.commit()
    })();
    metrics.commit_duration.observe_duration(started.elapsed());
    metrics.commit_batch_size.observe(batch.len() as f64);
    let result = result.map_err(|e| {
        metrics.store_errors.inc();
        tracing::error!(error = %e, writes = batch.len(), "store commit failed");
        backend(e)
    });
    for (_, reply) in batch {
        let _ = reply.send(result.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("weft-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn open(dir: &Path, metrics: &Arc<Metrics>) -> SqliteStore {
        let commit = GroupCommit {
            window: Duration::from_millis(1),
            max_batch: 64,
        };
        SqliteStore::open(dir, commit, Arc::clone(metrics)).expect("open store")
    }

    #[tokio::test]
    async fn appends_compacts_and_survives_reopen() {
        let dir = temp_dir("reopen");
        let metrics = Arc::new(Metrics::default());
        let store = open(&dir, &metrics);
        assert_eq!(store.load("a").await.expect("load"), StoredDoc::default());

        // Many concurrent appends across documents share commits.
        let mut pending = Vec::new();
        for i in 0..200u32 {
            let doc = format!("doc-{}", i % 4);
            pending.push(store.append(&doc, Bytes::from(i.to_le_bytes().to_vec())));
        }
        for p in pending {
            p.await.expect("append");
        }
        assert!(metrics.commit_batch_size.count() < 200);

        store
            .compact("doc-0", Bytes::from_static(b"snap"))
            .await
            .expect("compact");
        store
            .append("doc-0", Bytes::from_static(b"after"))
            .await
            .expect("append");
        store.close().await.expect("close");
        assert!(matches!(
            store.append("doc-0", Bytes::new()).await,
            Err(StoreError::Closed)
        ));
        drop(store);

        let store = open(&dir, &metrics);
        let d0 = store.load("doc-0").await.expect("load");
        assert_eq!(d0.snapshot.as_deref(), Some(&b"snap"[..]));
        assert_eq!(d0.updates, vec![b"after".to_vec()]);
        let d1 = store.load("doc-1").await.expect("load");
        assert_eq!(d1.snapshot, None);
        let expected: Vec<Vec<u8>> = (0..200u32)
            .filter(|i| i % 4 == 1)
            .map(|i| i.to_le_bytes().to_vec())
            .collect();
        assert_eq!(d1.updates, expected);
        store.close().await.expect("close");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
