// yjs through its public JS API: one `transact` and one 'update' event per edit.
import * as Y from 'yjs';

export const name = 'yjs';
export const pkg = 'yjs';

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
  const doc = new Y.Doc();
  const text = doc.getText('text');
  doc.on('update', (update) => onUpdate(update));
  for (const ops of txns) apply(doc, text, ops);
  return { doc, text: () => text.toString() };
}

export function peer(onLocalUpdate) {
  const doc = new Y.Doc();
  const text = doc.getText('text');
  const remote = {};
  doc.on('update', (update, origin) => {
    if (origin !== remote) onLocalUpdate(update);
  });
  return {
    length: () => text.length,
    edit: (ops) => apply(doc, text, ops),
    receive: (update) => Y.applyUpdate(doc, update, remote),
    text: () => text.toString(),
    dispose: () => doc.destroy(),
  };
}

export const encode = (doc) => Y.encodeStateAsUpdate(doc);

export function load(bytes) {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, bytes);
  return { doc, text: () => doc.getText('text').toString() };
}

export const dispose = (doc) => doc.destroy();

export const wasmFile = null;
