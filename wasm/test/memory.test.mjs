// free() releases memory; FinalizationRegistry covers handles that are dropped without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Doc } from 'weft-crdt';

/** WebAssembly memory and array buffers, as node counts them. */
const external = () => process.memoryUsage().external;

/** About 1.3 MB of text and list content; returns the handles it made. */
function fill(doc) {
  const text = doc.getText('t');
  const chunk = 'lorem ipsum dolor sit amet '.repeat(40);
  for (let i = 0; i < 200; i++) text.insert(text.length, chunk);
  const list = doc.getList('l');
  for (let i = 0; i < 200; i++) list.push([{ i, s: chunk }]);
  return [text, list];
}

test('documents freed with free() give their memory back', () => {
  // Warm up: let the allocator reach the size one document needs.
  for (let i = 0; i < 3; i++) {
    const doc = new Doc();
    for (const h of fill(doc)) h.free();
    doc.free();
  }
  const start = external();
  for (let i = 0; i < 40; i++) {
    const doc = new Doc();
    for (const h of fill(doc)) h.free();
    doc.getText('t').free();
    doc.free();
  }
  // 40 documents of about 1.3 MB of content each: without release, memory would grow by far
  // more than 8 MB.
  const grown = external() - start;
  assert.ok(grown < 8 * 1024 * 1024, `memory grew by ${grown} bytes`);
});

test('documents and handles dropped without free() are released after garbage collection', {
  skip: typeof globalThis.gc !== 'function' && 'run node with --expose-gc',
}, async () => {
  const round = () => {
    const doc = new Doc();
    fill(doc);
  };
  for (let i = 0; i < 3; i++) round();
  const settle = async () => {
    for (let k = 0; k < 5; k++) {
      globalThis.gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  await settle();
  const start = external();
  for (let i = 0; i < 10; i++) {
    round();
    await settle();
  }
  const grown = external() - start;
  assert.ok(grown < 8 * 1024 * 1024, `memory grew by ${grown} bytes`);
});

test('a handle keeps its document alive after the Doc object is freed', () => {
  const doc = new Doc();
  const text = doc.getText('t');
  text.insert(0, 'still here');
  doc.free();
  assert.equal(text.toString(), 'still here');
  text.insert(0, '> ');
  assert.equal(text.toString(), '> still here');
  text.free();
  assert.throws(() => text.toString(), /null pointer|freed|destroyed/i);
});
