// weft-crdt (this repository's npm package) through its public JS API: one transaction and one
// 'update' event per edit. A single insert or delete is a transaction of its own; edits made of
// several operations are grouped with `doc.transact`.
import { Doc } from 'weft-crdt';
import { fileURLToPath } from 'node:url';

export const name = 'weft-crdt';
export const pkg = 'weft-crdt';

function apply(doc, text, ops) {
  if (ops.length === 1) {
    const [kind, pos, arg] = ops[0];
    if (kind === 0) text.insert(pos, arg);
    else text.delete(pos, arg);
    return;
  }
  doc.transact(() => {
    for (const [kind, pos, arg] of ops) {
      if (kind === 0) text.insert(pos, arg);
      else text.delete(pos, arg);
    }
  });
}

export function replay(txns, onUpdate) {
  const doc = new Doc();
  const text = doc.getText('text');
  doc.on('update', (update) => onUpdate(update));
  for (const ops of txns) apply(doc, text, ops);
  return { doc, text: () => text.toString() };
}

export function peer(onLocalUpdate) {
  const doc = new Doc();
  const text = doc.getText('text');
  const remote = 'remote';
  doc.on('update', (update, origin) => {
    if (origin !== remote) onLocalUpdate(update);
  });
  return {
    length: () => text.length,
    edit: (ops) => apply(doc, text, ops),
    receive: (update) => doc.applyUpdate(update, remote),
    text: () => text.toString(),
    dispose: () => doc.free(),
  };
}

export const encode = (doc) => doc.encodeStateAsUpdate();

export function load(bytes) {
  const doc = Doc.load(bytes);
  return { doc, text: () => doc.getText('text').toString() };
}

export const dispose = (doc) => doc.free();

export const wasmFile = fileURLToPath(import.meta.resolve('weft-crdt/weft_wasm_bg.wasm'));
