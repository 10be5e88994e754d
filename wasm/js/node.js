// weft-crdt for node: the WebAssembly module is read from disk and instantiated synchronously.
import { readFileSync } from 'node:fs';
import * as wasm from './weft_wasm.js';

wasm.initSync({ module: readFileSync(new URL('./weft_wasm_bg.wasm', import.meta.url)) });

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
