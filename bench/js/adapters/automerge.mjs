// @automerge/automerge through its public JS API: one `change` per edit, whose bytes
// (`getLastLocalChange`) are the update an editor would send.
import * as A from '@automerge/automerge';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const name = 'automerge';
export const pkg = '@automerge/automerge';

function apply(doc, ops) {
  return A.change(doc, (d) => {
    for (const [kind, pos, arg] of ops) {
      if (kind === 0) A.splice(d, ['text'], pos, 0, arg);
      else A.splice(d, ['text'], pos, arg);
    }
  });
}

export function replay(txns, onUpdate) {
  let doc = A.from({ text: '' });
  for (const ops of txns) {
    doc = apply(doc, ops);
    onUpdate(A.getLastLocalChange(doc));
  }
  return { doc, text: () => doc.text };
}

export function peer(onLocalUpdate, index) {
  // Both peers start from one shared initial change that creates the text field.
  let doc = index === 0 ? A.from({ text: '' }) : A.init();
  if (index === 0) onLocalUpdate(A.getLastLocalChange(doc));
  return {
    length: () => doc.text.length,
    edit: (ops) => {
      doc = apply(doc, ops);
      onLocalUpdate(A.getLastLocalChange(doc));
    },
    receive: (update) => {
      [doc] = A.applyChanges(doc, [update]);
    },
    text: () => doc.text,
    dispose: () => A.free(doc),
  };
}

export const encode = (doc) => A.save(doc);

export function load(bytes) {
  const doc = A.load(bytes);
  return { doc, text: () => doc.text };
}

export const dispose = (doc) => A.free(doc);

// The package's node entry lives in dist/mjs/entrypoints/; the binary is dist/automerge.wasm.
export const wasmFile = join(
  dirname(fileURLToPath(import.meta.resolve('@automerge/automerge'))),
  '../../automerge.wasm',
);
