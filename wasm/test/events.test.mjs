// Observers fire once per transaction, after it commits, with correct deltas and origins.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Doc } from 'weft-crdt';

/** Applies a text delta to a string, as an editor binding would. */
function applyTextDelta(s, delta) {
  let out = '';
  let at = 0;
  for (const step of delta) {
    if ('retain' in step) {
      out += s.slice(at, at + step.retain);
      at += step.retain;
    } else if ('delete' in step) {
      at += step.delete;
    } else {
      out += step.insert;
    }
  }
  return out + s.slice(at);
}

test('text deltas replayed on a mirror string reproduce the text (local and remote)', () => {
  const a = new Doc({ replicaId: '1' });
  const b = new Doc({ replicaId: '2' });
  a.on('update', (u, _o, local) => local && b.applyUpdate(u, 'from-a'));
  const mirror = { a: '', b: '' };
  const origins = [];
  a.getText('t').observe((e) => {
    assert.equal(e.local, true);
    mirror.a = applyTextDelta(mirror.a, e.delta);
  });
  b.getText('t').observe((e) => {
    assert.equal(e.local, false);
    assert.ok(e.target.toString() === b.getText('t').toString());
    origins.push(e.origin);
    mirror.b = applyTextDelta(mirror.b, e.delta);
  });
  const t = a.getText('t');
  t.insert(0, 'Hello world');
  t.insert(5, ',');
  t.delete(0, 1);
  a.transact(() => {
    t.insert(0, 'J');
    t.delete(6, 6);
    t.insert(6, ' 😀 there');
  });
  assert.equal(t.toString(), 'Jello, 😀 there');
  assert.equal(mirror.a, t.toString());
  assert.equal(mirror.b, t.toString());
  assert.ok(origins.every((o) => o === 'from-a'));
});

test('a text delta counts UTF-16 code units', () => {
  const doc = new Doc();
  const t = doc.getText('t');
  t.insert(0, '😀😀');
  const deltas = [];
  t.observe((e) => deltas.push(e.delta));
  t.insert(2, 'x');
  t.delete(3, 2);
  assert.deepEqual(deltas, [[{ retain: 2 }, { insert: 'x' }], [{ retain: 3 }, { delete: 2 }]]);
});

test('one event per transaction, composed against the state before it', () => {
  const doc = new Doc();
  const t = doc.getText('t');
  t.insert(0, 'abc');
  const events = [];
  t.observe((e) => events.push(e));
  doc.transact(() => {
    t.insert(3, 'def');
    t.delete(0, 1);
  }, 'batch');
  assert.equal(events.length, 1);
  assert.equal(events[0].origin, 'batch');
  assert.equal(applyTextDelta('abc', events[0].delta), 'bcdef');
});

test('list deltas', () => {
  const doc = new Doc();
  const l = doc.getList('l');
  l.push([1, 2, 3]);
  const deltas = [];
  l.observe((e) => deltas.push(e.delta));
  l.insert(1, ['x', { y: 1 }]);
  l.delete(0, 2);
  assert.deepEqual(deltas, [
    [{ retain: 1 }, { insert: ['x', { y: 1 }] }],
    [{ delete: 2 }],
  ]);
});

test('map key changes with actions and old/new values', () => {
  const doc = new Doc();
  const m = doc.getMap('m');
  m.set('keep', 0);
  const events = [];
  m.observe((e) => events.push(e.keys));
  m.set('a', 1);
  m.set('a', 2);
  doc.transact(() => {
    m.delete('a');
    m.set('b', [true]);
  });
  assert.deepEqual(events, [
    [{ key: 'a', action: 'add', oldValue: undefined, newValue: 1 }],
    [{ key: 'a', action: 'update', oldValue: 1, newValue: 2 }],
    [
      { key: 'a', action: 'delete', oldValue: 2, newValue: undefined },
      { key: 'b', action: 'add', oldValue: undefined, newValue: [true] },
    ],
  ]);
});

test('counter, set and register events', () => {
  const doc = new Doc();
  const seen = [];
  doc.getCounter('c').observe((e) => seen.push(['counter', e.delta]));
  doc.getSet('s').observe((e) => seen.push(['set', e.added, e.removed]));
  doc.getRegister('r').observe((e) => seen.push(['register', e.oldValue, e.newValue]));
  doc.transact(() => {
    doc.getCounter('c').increment(5);
    doc.getCounter('c').decrement(2);
  });
  doc.getSet('s').add('x');
  doc.getSet('s').delete('x');
  doc.getRegister('r').set('v');
  doc.getRegister('r').set('w');
  assert.deepEqual(seen, [
    ['counter', 3],
    ['set', ['x'], []],
    ['set', [], ['x']],
    ['register', undefined, 'v'],
    ['register', 'v', 'w'],
  ]);
});

test('observers see only their container; unobserve stops them', () => {
  const doc = new Doc();
  let a = 0;
  let b = 0;
  const fa = () => a++;
  doc.getText('a').observe(fa);
  doc.getText('b').observe(() => b++);
  doc.getText('a').insert(0, '1');
  doc.getText('b').insert(0, '1');
  doc.getText('a').unobserve(fa);
  doc.getText('a').insert(0, '2');
  assert.deepEqual([a, b], [1, 1]);
});

test('callbacks may read and edit the document; events still arrive in commit order', () => {
  const doc = new Doc();
  const t = doc.getText('t');
  let mirror = '';
  const deltas = [];
  t.observe((e) => {
    deltas.push(e.delta);
    mirror = applyTextDelta(mirror, e.delta);
  });
  doc.on('update', () => {
    // A listener that edits again: that edit is a transaction of its own, whose callbacks run
    // after those of the transaction being delivered.
    if (t.toString() === 'a') t.insert(1, 'b');
  });
  t.insert(0, 'a');
  assert.deepEqual(deltas, [[{ insert: 'a' }], [{ retain: 1 }, { insert: 'b' }]]);
  assert.equal(mirror, 'ab');
  assert.equal(t.toString(), 'ab');
});

test('a throwing listener does not stop the others, and its error reaches the caller', () => {
  const doc = new Doc();
  let reached = false;
  doc.on('update', () => {
    throw new Error('listener failed');
  });
  doc.on('update', () => {
    reached = true;
  });
  assert.throws(() => doc.getText('t').insert(0, 'x'), /listener failed/);
  assert.equal(reached, true);
  // The edit itself was made, and the document keeps working.
  assert.equal(doc.getText('t').toString(), 'x');
});

test('update events: one per transaction, local flag, origin of remote updates', () => {
  const a = new Doc();
  const b = new Doc();
  const seen = [];
  b.on('update', (u, origin, local) => seen.push({ bytes: u instanceof Uint8Array, origin, local }));
  const provider = { name: 'provider' };
  a.getText('t').insert(0, 'x');
  b.applyUpdate(a.encodeStateAsUpdate(), provider);
  b.getText('t').insert(0, 'y');
  // Applying the same update again changes nothing and emits nothing.
  b.applyUpdate(a.encodeStateAsUpdate(), provider);
  assert.deepEqual(seen, [
    { bytes: true, origin: provider, local: false },
    { bytes: true, origin: undefined, local: true },
  ]);
});
