// loro-crdt through its public JS API: one `commit` and one local-update event per edit.
import { LoroDoc } from 'loro-crdt';
import { createRequire } from 'node:module';

export const name = 'loro-crdt';
export const pkg = 'loro-crdt';

function apply(doc, text, ops) {
  for (const [kind, pos, arg] of ops) {
    if (kind === 0) text.insert(pos, arg);
    else text.delete(pos, arg);
  }
  doc.commit();
}

export function replay(txns, onUpdate) {
  const doc = new LoroDoc();
  const text = doc.getText('text');
  doc.subscribeLocalUpdates((update) => onUpdate(update));
  for (const ops of txns) apply(doc, text, ops);
  return { doc, text: () => text.toString() };
}

export function peer(onLocalUpdate) {
  const doc = new LoroDoc();
  const text = doc.getText('text');
  doc.subscribeLocalUpdates((update) => onLocalUpdate(update));
  return {
    length: () => text.length,
    edit: (ops) => apply(doc, text, ops),
    receive: (update) => doc.import(update),
    text: () => text.toString(),
    dispose: () => doc.free(),
  };
}

export const encode = (doc) => doc.export({ mode: 'snapshot' });

export function load(bytes) {
  const doc = LoroDoc.fromSnapshot(bytes);
  return { doc, text: () => doc.getText('text').toString() };
}

export const dispose = (doc) => doc.free();

export const wasmFile = createRequire(import.meta.url).resolve('loro-crdt/nodejs/loro_wasm_bg.wasm');
