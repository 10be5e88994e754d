// A local copy of each document in IndexedDB, so a reload works offline and syncs later.
//
// Every update (local edits and updates from the server) is appended as it happens; once enough
// have piled up they are merged into one snapshot. Compaction merges exactly the records it read,
// in the same transaction that deletes them, so updates appended meanwhile (by this tab or
// another tab on the same document) are never lost.

import { Doc, mergeUpdates } from 'weft-crdt';

const DB_NAME = 'weft-demo';
const DB_VERSION = 1;
const SNAPSHOTS = 'snapshots'; // key: document id → merged update
const UPDATES = 'updates'; // auto-increment key → { doc, update }
const BY_DOC = 'by-doc';
/** Updates appended before they are merged into the snapshot. */
const COMPACT_AFTER = 200;
/** How long to wait for IndexedDB before going on without a local copy. */
const OPEN_TIMEOUT_MS = 3000;

interface UpdateRecord {
  doc: string;
  update: Uint8Array;
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
  });
}

function openDatabase(): Promise<IDBDatabase> {
  const req = indexedDB.open(DB_NAME, DB_VERSION);
  req.onupgradeneeded = () => {
    const db = req.result;
    db.createObjectStore(SNAPSHOTS);
    db.createObjectStore(UPDATES, { autoIncrement: true }).createIndex(BY_DOC, 'doc');
  };
  return request(req);
}

/** The stored copy of one document. */
export class LocalStore {
  private readonly db: IDBDatabase;
  private readonly docId: string;
  private appended = 0;
  private compacting = false;
  private writes: Promise<void> = Promise.resolve();

  private constructor(db: IDBDatabase, docId: string) {
    this.db = db;
    this.docId = docId;
  }

  /**
   * Opens the store of `docId`; `undefined` when IndexedDB is unavailable (blocked storage,
   * some private modes) or does not answer within `OPEN_TIMEOUT_MS` (seen in frames whose
   * storage is denied).
   */
  static async open(docId: string): Promise<LocalStore | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), OPEN_TIMEOUT_MS);
    });
    try {
      const db = await Promise.race([openDatabase(), timeout]);
      return db && new LocalStore(db, docId);
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The stored document as one update, or `undefined` when nothing is stored. */
  async load(): Promise<Uint8Array | undefined> {
    const tx = this.db.transaction([SNAPSHOTS, UPDATES], 'readonly');
    const snapshot = request(tx.objectStore(SNAPSHOTS).get(this.docId)) as Promise<
      Uint8Array | undefined
    >;
    const records = request(
      tx.objectStore(UPDATES).index(BY_DOC).getAll(IDBKeyRange.only(this.docId)),
    ) as Promise<UpdateRecord[]>;
    const [base, rest] = await Promise.all([snapshot, records]);
    const parts = [...(base ? [base] : []), ...rest.map((r) => r.update)];
    this.appended = rest.length;
    if (parts.length === 0) return undefined;
    return parts.length === 1 ? parts[0] : mergeUpdates(parts);
  }

  /** Appends an update; writes are queued so they land in order. */
  append(update: Uint8Array): void {
    this.writes = this.writes
      .then(async () => {
        const tx = this.db.transaction(UPDATES, 'readwrite');
        tx.objectStore(UPDATES).add({ doc: this.docId, update } satisfies UpdateRecord);
        await done(tx);
        this.appended += 1;
        if (this.appended >= COMPACT_AFTER) await this.compact();
      })
      .catch((e: unknown) => {
        // The page (and the server, once synced) still has the edit; only the offline copy
        // misses it (storage quota, private modes).
        console.warn('weft demo: the local copy was not updated:', e);
      });
  }

  /** Resolves when every queued write has finished. */
  flushed(): Promise<void> {
    return this.writes;
  }

  /** Merges the snapshot and the appended updates read now into a new snapshot. */
  async compact(): Promise<void> {
    if (this.compacting) return;
    this.compacting = true;
    try {
      const tx = this.db.transaction([SNAPSHOTS, UPDATES], 'readwrite');
      const snapshots = tx.objectStore(SNAPSHOTS);
      const updates = tx.objectStore(UPDATES);
      const [base, keys, records] = await Promise.all([
        request(snapshots.get(this.docId)) as Promise<Uint8Array | undefined>,
        request(updates.index(BY_DOC).getAllKeys(IDBKeyRange.only(this.docId))),
        request(updates.index(BY_DOC).getAll(IDBKeyRange.only(this.docId))) as Promise<
          UpdateRecord[]
        >,
      ]);
      const parts = [...(base ? [base] : []), ...records.map((r) => r.update)];
      if (parts.length > 1) {
        snapshots.put(mergeUpdates(parts), this.docId);
        for (const key of keys) updates.delete(key);
      }
      await done(tx);
      this.appended = 0;
    } finally {
      this.compacting = false;
    }
  }
}

/** A document restored from `store` (or a fresh one), and whether anything was restored. */
export async function restoreDoc(store: LocalStore | undefined): Promise<{
  doc: Doc;
  restored: boolean;
}> {
  const saved = store ? await store.load().catch(() => undefined) : undefined;
  if (saved === undefined) return { doc: new Doc(), restored: false };
  try {
    return { doc: Doc.load(saved), restored: true };
  } catch {
    // A corrupt local copy is dropped: the server has the document.
    return { doc: new Doc(), restored: false };
  }
}
