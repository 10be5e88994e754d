// Every shared type through the public API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Doc, TextRef, ListRef, MapRef, CounterRef, SetRef, RegisterRef, WeftError } from 'weft-crdt';

test('Doc: replica ids are 64-bit decimal strings, random (48-bit) by default', () => {
  assert.equal(new Doc({ replicaId: '18446744073709551615' }).replicaId, '18446744073709551615');
  assert.equal(new Doc({ replicaId: 2n ** 63n }).replicaId, String(2n ** 63n));
  const ids = new Set(Array.from({ length: 20 }, () => new Doc().replicaId));
  assert.equal(ids.size, 20);
  for (const id of ids) {
    assert.match(id, /^\d+$/);
    // Random ids take 48 bits, which keeps every update's replica id a 7-byte varint.
    assert.ok(BigInt(id) > 0n && BigInt(id) < 2n ** 48n, id);
  }
  assert.throws(() => new Doc({ replicaId: 5 }), WeftError);
  assert.throws(() => new Doc({ replicaId: '-1' }), /decimal u64/);
  assert.throws(() => new Doc({ replicaId: 2n ** 64n }), WeftError);
});

test('Doc: handles of every kind, toJSON of everything', () => {
  const doc = new Doc();
  assert.ok(doc.getText('t') instanceof TextRef);
  assert.ok(doc.getList('l') instanceof ListRef);
  assert.ok(doc.getMap('m') instanceof MapRef);
  assert.ok(doc.getCounter('c') instanceof CounterRef);
  assert.ok(doc.getSet('s') instanceof SetRef);
  assert.ok(doc.getRegister('r') instanceof RegisterRef);
  doc.getText('t').insert(0, 'hi');
  doc.getList('l').push([1, 2]);
  doc.getMap('m').set('k', 'v');
  doc.getCounter('c').increment(3);
  doc.getSet('s').add('x');
  doc.getRegister('r').set({ a: 1 });
  assert.deepEqual(doc.toJSON(), { t: 'hi', l: [1, 2], m: { k: 'v' }, c: 3, s: ['x'], r: { a: 1 } });
  assert.equal(JSON.stringify(doc.getText('t')), '"hi"');
});

test('Text: insert, delete, slice, length, toString', () => {
  const text = new Doc().getText('t');
  assert.equal(text.length, 0);
  text.insert(0, 'Hello world');
  text.insert(5, ',');
  text.delete(6, 1);
  text.insert(6, ' big ');
  assert.equal(text.toString(), 'Hello, big world');
  assert.equal(text.length, 16);
  assert.equal(text.slice(7, 10), 'big');
  assert.equal(text.slice(11), 'world');
  text.delete(0, text.length);
  assert.equal(text.toString(), '');
});

test('Text: applyDelta applies retain/insert/delete steps in one transaction', () => {
  const doc = new Doc();
  const text = doc.getText('t');
  text.insert(0, 'Hello world');
  let updates = 0;
  doc.on('update', () => updates++);
  text.applyDelta([{ retain: 6 }, { delete: 5 }, { insert: 'there', attributes: { bold: true } }]);
  assert.equal(text.toString(), 'Hello there');
  assert.equal(updates, 1);
  assert.throws(() => text.applyDelta([{ nope: 1 }]), WeftError);
  assert.throws(() => text.applyDelta('x'), WeftError);
});

test('List: insert, push, delete, get, toArray, length; values and bytes', () => {
  const list = new Doc().getList('l');
  const bytes = new Uint8Array([0, 255, 7]);
  list.insert(0, [1, 'two', null, true]);
  list.push([{ nested: [1.5, { deep: 'x' }] }, bytes, 2n ** 60n]);
  list.delete(1);
  list.delete(1, 2);
  assert.equal(list.length, 4);
  assert.equal(list.get(0), 1);
  assert.equal(list.get(99), undefined);
  const arr = list.toArray();
  assert.deepEqual(arr[1], { nested: [1.5, { deep: 'x' }] });
  assert.ok(arr[2] instanceof Uint8Array);
  assert.deepEqual([...arr[2]], [0, 255, 7]);
  assert.equal(arr[3], 2n ** 60n);
  assert.deepEqual(list.toJSON(), arr);
});

test('Map: set, get, delete, has, keys, entries, size, toJSON', () => {
  const map = new Doc().getMap('m');
  map.set('b', 2);
  map.set('a', { x: [true] });
  map.set('b', 3);
  assert.equal(map.get('b'), 3);
  assert.equal(map.has('a'), true);
  assert.deepEqual(map.keys(), ['a', 'b']);
  assert.deepEqual(map.entries(), [['a', { x: [true] }], ['b', 3]]);
  assert.equal(map.size, 2);
  map.delete('a');
  map.delete('missing');
  assert.equal(map.has('a'), false);
  assert.equal(map.get('a'), undefined);
  assert.deepEqual(map.toJSON(), { b: 3 });
  // `undefined` properties are skipped, as JSON.stringify does.
  map.set('o', { keep: 1, drop: undefined });
  assert.deepEqual(map.get('o'), { keep: 1 });
});

test('Counter: increment, decrement, value, bigValue', () => {
  const counter = new Doc().getCounter('c');
  counter.increment();
  counter.increment(10);
  counter.decrement(3);
  counter.decrement();
  assert.equal(counter.value, 7);
  counter.increment(2n ** 62n);
  assert.equal(counter.bigValue, 2n ** 62n + 7n);
  assert.throws(() => counter.increment(1.5), WeftError);
  assert.throws(() => counter.increment('1'), WeftError);
});

test('Set: add, delete, has, values, size', () => {
  const set = new Doc().getSet('s');
  set.add('red');
  set.add('blue');
  set.add('red');
  set.add({ rgb: [1, 2, 3] });
  assert.equal(set.size, 3);
  assert.equal(set.has('red'), true);
  assert.equal(set.has({ rgb: [1, 2, 3] }), true);
  assert.equal(set.delete('red'), true);
  assert.equal(set.delete('red'), false);
  assert.deepEqual(set.values().sort(), ['blue', { rgb: [1, 2, 3] }].sort());
});

test('Register: set, get, clear', () => {
  const reg = new Doc().getRegister('r');
  assert.equal(reg.get(), undefined);
  reg.set('v1');
  reg.set({ title: 'v2' });
  assert.deepEqual(reg.get(), { title: 'v2' });
  reg.clear();
  assert.equal(reg.get(), undefined);
  assert.equal(reg.toJSON(), null);
});

test('nested shared types: created in maps, lists and registers, synced, expanded by toJSON', () => {
  const a = new Doc({ replicaId: '1' });
  const root = a.getMap('root');
  const notes = root.setContainer('notes', 'text');
  assert.ok(notes instanceof TextRef);
  notes.insert(0, 'nested');
  const items = a.getList('items');
  const inner = items.insertContainer(0, 'map');
  inner.set('done', false);
  const cell = a.getRegister('cell').setContainer('counter');
  cell.increment(4);
  assert.deepEqual(a.toJSON(), { root: { notes: 'nested' }, items: [{ done: false }], cell: 4 });
  assert.ok(root.get('notes') instanceof TextRef);
  assert.ok(items.get(0) instanceof MapRef);

  const b = new Doc({ replicaId: '2' });
  b.applyUpdate(a.encodeStateAsUpdate());
  b.getMap('root').get('notes').insert(6, '!');
  a.applyUpdate(b.encodeStateAsUpdate(a.stateVector()));
  assert.equal(notes.toString(), 'nested!');
  assert.throws(() => root.setContainer('x', 'nope'), WeftError);
});

test('Doc.load and encodeStateAsUpdate round-trip every type', () => {
  const a = new Doc();
  a.getText('t').insert(0, 'héllo 😀');
  a.getList('l').push([1, new Uint8Array([9])]);
  a.getMap('m').set('k', [null]);
  a.getCounter('c').decrement(5);
  a.getSet('s').add(1);
  a.getRegister('r').set('r');
  const b = Doc.load(a.encodeStateAsUpdate(), { replicaId: '99' });
  assert.equal(b.replicaId, '99');
  assert.deepEqual(b.toJSON(), a.toJSON());
});

test('transact groups edits into one update; nested transact joins; return value passes through', () => {
  const doc = new Doc();
  const updates = [];
  doc.on('update', (u, origin, local) => updates.push({ origin, local }));
  const text = doc.getText('t');
  const map = doc.getMap('m');
  const out = doc.transact(() => {
    text.insert(0, 'a');
    doc.transact(() => text.insert(1, 'b'), 'inner');
    map.set('k', 1);
    return 42;
  }, 'outer');
  assert.equal(out, 42);
  assert.deepEqual(updates, [{ origin: 'outer', local: true }]);
  const origin = { provider: true };
  doc.transact(() => text.insert(0, 'x'), origin);
  assert.equal(updates[1].origin, origin);
});

test('transact: an exception keeps earlier edits, is rethrown, and the doc stays usable', () => {
  const doc = new Doc();
  const text = doc.getText('t');
  assert.throws(
    () =>
      doc.transact(() => {
        text.insert(0, 'kept');
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.equal(text.toString(), 'kept');
  text.insert(4, '!');
  assert.equal(text.toString(), 'kept!');
});

test('inside transact: new roots can be created, applyUpdate is refused', () => {
  const doc = new Doc();
  const other = new Doc();
  other.getText('t').insert(0, 'x');
  let sawError;
  doc.transact(() => {
    doc.getText('first').insert(0, '1');
    doc.getMap('created-inside').set('k', 'v');
    try {
      doc.applyUpdate(other.encodeStateAsUpdate());
    } catch (e) {
      sawError = e;
    }
  });
  assert.equal(sawError?.code, 'IN_TRANSACTION');
  assert.deepEqual(doc.toJSON(), { first: '1', 'created-inside': { k: 'v' } });
});

test('on/off: listeners are removed; unknown events are refused', () => {
  const doc = new Doc();
  let n = 0;
  const f = () => n++;
  doc.on('update', f);
  doc.getText('t').insert(0, 'a');
  doc.off('update', f);
  doc.getText('t').insert(0, 'b');
  assert.equal(n, 1);
  assert.throws(() => doc.on('change', f), WeftError);
});

test('values nested to the limit and deeply nested shared types round-trip (stack depth)', () => {
  let deep = 'leaf';
  for (let i = 0; i < 31; i++) deep = { k: [deep] }; // 62 levels: within the limit of 64
  const a = new Doc();
  a.getMap('m').set('deep', deep);
  a.getList('l').push([deep, deep]);
  let node = a.getMap('root');
  for (let i = 0; i < 100; i++) node = node.setContainer('child', 'map');
  node.set('x', deep);
  const b = Doc.load(a.encodeStateAsUpdate());
  assert.deepEqual(b.getMap('m').get('deep'), deep);
  assert.equal(JSON.stringify(b.toJSON()), JSON.stringify(a.toJSON()));
  assert.throws(() => a.getMap('m').set('x', [[[[deep]]]]), WeftError); // 66 levels
});
