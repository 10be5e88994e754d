// weft-crdt for browsers and bundlers: the WebAssembly module is fetched next to this file
// (bundlers such as Vite emit it as an asset) and instantiated with top-level await.
import * as wasm from './weft_wasm.js';

await wasm.default({ module_or_path: new URL('./weft_wasm_bg.wasm', import.meta.url) });

// Bindings of this module (not re-exports), so bundlers keep the initialisation above.
export const Doc = wasm.Doc;
export const TextRef = wasm.TextRef;
export const ListRef = wasm.ListRef;
export const MapRef = wasm.MapRef;
export const CounterRef = wasm.CounterRef;
export const SetRef = wasm.SetRef;
export const RegisterRef = wasm.RegisterRef;
export const Cursor = wasm.Cursor;
export const UndoManager = wasm.UndoManager;
export const SyncSession = wasm.SyncSession;
export const mergeUpdates = wasm.mergeUpdates;
export { WeftError } from './errors.js';
