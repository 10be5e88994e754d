// Stable cursors and the undo manager.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Doc, Cursor, UndoManager, WeftError } from 'weft-crdt';

test('a text cursor follows edits made before it, locally and remotely', () => {
  const a = new Doc({ replicaId: '1' });
  const b = new Doc({ replicaId: '2' });
  const t = a.getText('t');
  t.insert(0, 'Hello 😀 world');
  b.applyUpdate(a.encodeStateAsUpdate());
  const caret = t.cursor(8); // before " world"
  assert.equal(caret.resolve(a), 8);
  t.insert(0, '>> ');
  assert.equal(caret.resolve(a), 11);
  b.getText('t').delete(0, 6);
  a.applyUpdate(b.encodeStateAsUpdate(a.stateVector()));
  assert.equal(t.toString(), '>> 😀 world');
  assert.equal(caret.resolve(a), 5);
  // Shared as bytes, resolved on another replica.
  b.applyUpdate(a.encodeStateAsUpdate(b.stateVector()));
  const remote = Cursor.decode(caret.encode());
  assert.equal(remote.resolve(b), 5);
  assert.equal(b.getText('t').toString().slice(remote.resolve(b)), ' world');
});

test("cursor assoc: 'after' stays before text inserted at it, 'before' moves past it", () => {
  const doc = new Doc();
  const t = doc.getText('t');
  t.insert(0, 'ab');
  const after = t.cursor(1);
  const before = t.cursor(1, 'before');
  t.insert(1, 'XY');
  assert.equal(after.resolve(doc), 3);
  assert.equal(before.resolve(doc), 1);
  const end = t.cursor(t.length);
  t.insert(t.length, '!');
  assert.equal(end.resolve(doc), t.length);
  assert.throws(() => t.cursor(99), WeftError);
  assert.throws(() => t.cursor(0, 'sideways'), WeftError);
  assert.throws(() => Cursor.decode(new Uint8Array([7])), WeftError);
});

test('a cursor resolves to undefined on a replica that has not seen its element', () => {
  const a = new Doc();
  a.getText('t').insert(0, 'abc');
  const c = a.getText('t').cursor(1);
  assert.equal(c.resolve(new Doc()), undefined);
});

test('list cursors', () => {
  const doc = new Doc();
  const l = doc.getList('l');
  l.push([1, 2, 3]);
  const c = l.cursor(2);
  l.insert(0, ['x', 'y']);
  l.delete(2, 1);
  assert.equal(c.resolve(doc), 3);
  assert.equal(l.get(c.resolve(doc)), 3);
});

test('undo and redo local changes of the chosen types only', () => {
  const doc = new Doc();
  const text = doc.getText('t');
  const map = doc.getMap('m');
  const other = doc.getText('other');
  const undo = new UndoManager(doc, [text, map], { captureTimeout: 0 });
  assert.equal(undo.canUndo(), false);
  text.insert(0, 'hello');
  map.set('k', 1);
  other.insert(0, 'untracked');
  text.insert(5, ' world');
  assert.equal(undo.undo(), true);
  assert.equal(text.toString(), 'hello');
  assert.equal(undo.undo(), true);
  assert.equal(map.has('k'), false);
  assert.equal(undo.canRedo(), true);
  assert.equal(undo.redo(), true);
  assert.equal(map.get('k'), 1);
  assert.equal(other.toString(), 'untracked');
  undo.clear();
  assert.equal(undo.undo(), false);
  undo.free();
});

test('undo groups changes within the capture timeout; stopCapturing splits them', () => {
  const doc = new Doc();
  const text = doc.getText('t');
  const undo = new UndoManager(doc, text, { captureTimeout: 60_000 });
  text.insert(0, 'a');
  text.insert(1, 'b');
  undo.stopCapturing();
  text.insert(2, 'c');
  undo.undo();
  assert.equal(text.toString(), 'ab');
  undo.undo();
  assert.equal(text.toString(), '');
});

test('undo leaves remote changes alone and its own edits sync and carry its origin', () => {
  const a = new Doc({ replicaId: '1' });
  const b = new Doc({ replicaId: '2' });
  const origins = [];
  a.on('update', (u, origin, local) => {
    origins.push(origin);
    if (local) b.applyUpdate(u);
  });
  b.on('update', (u, _o, local) => local && a.applyUpdate(u, 'remote'));
  const undo = new UndoManager(a, a.getText('t'), { captureTimeout: 0, origin: 'my-undo' });
  a.getText('t').insert(0, 'mine ');
  b.getText('t').insert(5, 'theirs');
  undo.undo();
  assert.equal(a.getText('t').toString(), 'theirs');
  assert.equal(b.getText('t').toString(), 'theirs');
  assert.equal(origins.at(-1), 'my-undo');
});

test('tracked origins and untagged transactions', () => {
  const doc = new Doc();
  const text = doc.getText('t');
  const undo = new UndoManager(doc, text, { captureTimeout: 0, trackedOrigins: ['editor'], trackUntagged: false });
  doc.transact(() => text.insert(0, 'x'));
  doc.transact(() => text.insert(1, 'y'), 'editor');
  undo.undo();
  assert.equal(text.toString(), 'x');
  assert.equal(undo.undo(), false);
});

test('UndoManager rejects a bad scope', () => {
  const doc = new Doc();
  assert.throws(() => new UndoManager(doc, 'text'), WeftError);
  assert.throws(() => new UndoManager(doc, [new Doc().getText('t')]), /belong to this document/);
  assert.throws(() => new UndoManager(doc, doc.getText('t'), { captureTimeout: -1 }), WeftError);
});
