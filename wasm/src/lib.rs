//! WebAssembly bindings of the Weft CRDT engine: the `weft-crdt` npm package.
//!
//! A thin, typed boundary: one file per JS class (`Doc`, `TextRef`, `ListRef`, `MapRef`,
//! `CounterRef`, `SetRef`, `RegisterRef`), every JS value conversion in [`convert`], every
//! fallible call returning a `WeftError` (an `Error` subclass defined in `wasm/js/errors.js`).
//! No CRDT logic lives here. Positions are UTF-16 code units, as in JS strings.

mod convert;
mod counter;
mod cursor;
mod doc;
mod list;
mod map;
mod register;
mod set;
mod sync;
mod text;
mod undo;

use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;

#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** Options of `new Doc()` and `Doc.load()`. */
export interface DocOptions {
  /** This replica's id, a 64-bit unsigned integer (decimal string or bigint). Random by default. */
  replicaId?: string | bigint;
}

/**
 * A value stored in lists, maps, sets and registers: JSON-compatible data or bytes. Integers
 * beyond ±2^53 are stored as 64-bit integers when given as bigint, and read back as bigint.
 */
export type Value =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | Value[]
  | { [key: string]: Value };

/** A shared type of a document. */
export type SharedType = TextRef | ListRef | MapRef | CounterRef | SetRef | RegisterRef;

/** The kinds of shared types, as `setContainer` and `insertContainer` name them. */
export type ContainerKind = 'text' | 'list' | 'map' | 'counter' | 'set' | 'register';

/** The handle class of each kind. */
export interface SharedTypes {
  text: TextRef;
  list: ListRef;
  map: MapRef;
  counter: CounterRef;
  set: SetRef;
  register: RegisterRef;
}

/** What a list element, map value or register holds: a value or a nested shared type. */
export type Content = Value | SharedType;

/** Listener of `doc.on('update', …)`. */
export type UpdateListener = (update: Uint8Array, origin: unknown, local: boolean) => void;

/** One step of a text delta; lengths in UTF-16 code units. */
export type TextDelta = { retain: number } | { insert: string } | { delete: number };

/** One step of a list delta; lengths in elements. */
export type ListDelta = { retain: number } | { insert: Content[] } | { delete: number };

/** What every container event carries. */
export interface WeftEvent<T extends SharedType> {
  /** The container that changed. */
  target: T;
  /** The transaction's origin (`doc.transact(fn, origin)`, `doc.applyUpdate(u, origin)`). */
  origin: unknown;
  /** True for local edits, false for applied remote updates. */
  local: boolean;
}

/** A text change, as a delta against the previous text. */
export interface TextEvent extends WeftEvent<TextRef> {
  delta: TextDelta[];
}

/** A list change, as a delta against the previous list. */
export interface ListEvent extends WeftEvent<ListRef> {
  delta: ListDelta[];
}

/** A change of one map key. */
export interface MapKeyChange {
  key: string;
  action: 'add' | 'update' | 'delete';
  oldValue: Content | undefined;
  newValue: Content | undefined;
}

/** A map change. */
export interface MapEvent extends WeftEvent<MapRef> {
  keys: MapKeyChange[];
}

/** A counter change. */
export interface CounterEvent extends WeftEvent<CounterRef> {
  /** Net change of the value. */
  delta: number;
}

/** A set change. */
export interface SetEvent extends WeftEvent<SetRef> {
  added: Value[];
  removed: Value[];
}

/** A register change. */
export interface RegisterEvent extends WeftEvent<RegisterRef> {
  oldValue: Content | undefined;
  newValue: Content | undefined;
}

/** Options of `new UndoManager()`. */
export interface UndoManagerOptions {
  /** Changes less than this many milliseconds apart form one undo step (default 500). */
  captureTimeout?: number;
  /** String origins whose local transactions are captured, besides those without an origin. */
  trackedOrigins?: string[];
  /** Whether local transactions without a string origin are captured (default true). */
  trackUntagged?: boolean;
  /** The origin of the transactions `undo()` and `redo()` make (default `'undo'`). */
  origin?: unknown;
}

/** Options of `new SyncSession()`. */
export interface SyncSessionOptions {
  /** Access token (a signed JWT) sent in the handshake. */
  token?: string;
  /** Origin of the transactions that apply the server's updates (default `'sync'`). */
  origin?: unknown;
}

/** Why a request failed (or `'ok'`), as the server reports it. */
export type SyncStatus =
  | 'ok'
  | 'invalid'
  | 'permission_denied'
  | 'too_large'
  | 'rate_limited'
  | 'unknown_document'
  | 'unavailable'
  | 'resync'
  | 'too_many_documents'
  | 'bad_request';

/** Something a sync session reports. Ids of clients and batches are 64-bit decimal strings. */
export type SyncEvent =
  | { type: 'connected'; client: string; rejoin: string[] }
  | { type: 'synced'; doc: string; access: 'read-write' | 'read-only' }
  | { type: 'acked'; doc: string; batch: string; status: SyncStatus }
  | { type: 'presence'; doc: string; client: string; clock: number; data: Uint8Array }
  | { type: 'join-failed'; doc: string; status: SyncStatus }
  | { type: 'rejoin'; doc: string; delayMs: number }
  | { type: 'error'; status: SyncStatus; message: string };

/** What a sync session call asks for: frames to send (in order) and events to act on. */
export interface SyncOutput {
  frames: Uint8Array[];
  events: SyncEvent[];
}

/** `localUpdate()`'s output, with the batch id its `acked` event will carry. */
export interface LocalUpdateOutput extends SyncOutput {
  batch: string;
}

/** The limits a server enforces. */
export interface SyncLimits {
  maxFrameBytes: number;
  maxUpdateBytes: number;
  maxPresenceBytes: number;
  presenceTimeoutMs: number;
  maxDocuments: number;
}

/** Whether and when to reconnect after the socket closed. */
export type Retry =
  | { kind: 'never' }
  | { kind: 'new-token' }
  | { kind: 'backoff'; minMs: number; maxMs: number };

export interface Doc {
  /**
   * Runs `fn`; every edit it makes forms one transaction: one update event and one event per
   * changed container, tagged with `origin`. Nested calls join the outer transaction. Returns
   * what `fn` returns. If `fn` throws, its earlier edits are kept and the error is rethrown.
   */
  transact<T>(fn: () => T, origin?: unknown): T;
}

export interface MapRef {
  /** Sets `key` to a new empty shared type of `kind` and returns it. */
  setContainer<K extends ContainerKind>(key: string, kind: K): SharedTypes[K];
}

export interface ListRef {
  /** Inserts a new empty shared type of `kind` at `index` and returns it. */
  insertContainer<K extends ContainerKind>(index: number, kind: K): SharedTypes[K];
}

export interface RegisterRef {
  /** Writes a new empty shared type of `kind` and returns it. */
  setContainer<K extends ContainerKind>(kind: K): SharedTypes[K];
}
"#;

/// Merges updates into one update equivalent to applying them all (no document needed).
#[wasm_bindgen(js_name = mergeUpdates)]
pub fn merge_updates(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array[]")] updates: JsValue,
) -> Result<Uint8Array, JsValue> {
    let updates = convert::byte_arrays(&updates)?;
    let slices: Vec<&[u8]> = updates.iter().map(Vec::as_slice).collect();
    weft::merge_updates(&slices)
        .map(|u| convert::bytes_to_js(&u))
        .map_err(convert::decode_error)
}
