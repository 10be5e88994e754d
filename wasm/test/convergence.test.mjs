// Replicas converge through updates delivered in any order, duplicated and delayed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Doc, mergeUpdates } from 'weft-crdt';
import { rng, recordUpdates, randomEdit, snapshot } from './helpers.mjs';

test('two docs converge by exchanging updates', () => {
  const a = new Doc({ replicaId: '1' });
  const b = new Doc({ replicaId: '2' });
  a.on('update', (u, origin) => origin !== 'b' && b.applyUpdate(u, 'a'));
  b.on('update', (u, origin) => origin !== 'a' && a.applyUpdate(u, 'b'));
  a.getText('t').insert(0, 'Hello world');
  b.getText('t').insert(5, ',');
  a.getText('t').insert(12, '!');
  assert.equal(a.getText('t').toString(), 'Hello, world!');
  assert.equal(b.getText('t').toString(), 'Hello, world!');
});

test('concurrent edits merge the same way on both sides', () => {
  const a = new Doc({ replicaId: '1' });
  const b = new Doc({ replicaId: '2' });
  a.getText('t').insert(0, 'base');
  b.applyUpdate(a.encodeStateAsUpdate());
  a.getText('t').insert(4, ' from a');
  b.getText('t').insert(0, 'b says: ');
  a.getMap('m').set('k', 'a');
  b.getMap('m').set('k', 'b');
  const toB = a.encodeStateAsUpdate(b.stateVector());
  const toA = b.encodeStateAsUpdate(a.stateVector());
  a.applyUpdate(toA);
  b.applyUpdate(toB);
  assert.equal(snapshot(a), snapshot(b));
  assert.equal(a.getText('t').toString(), 'b says: base from a');
  assert.ok(['a', 'b'].includes(a.getMap('m').get('k')));
});

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
  test(`three docs converge with reordered, duplicated and delayed updates (seed ${seed})`, () => {
    const r = rng(seed);
    const docs = [0, 1, 2].map((i) => new Doc({ replicaId: String(100 + i) }));
    const logs = docs.map(recordUpdates);
    // Each replica keeps an inbox of updates from the others that it has not applied yet.
    const inbox = docs.map(() => []);
    const sent = docs.map(() => 0);
    for (let step = 0; step < 300; step++) {
      const i = r.int(3);
      const action = r.next();
      if (action < 0.6) {
        randomEdit(docs[i], r);
      } else if (action < 0.85) {
        // Ship new updates of replica i to the others' inboxes (each copy delivered later).
        for (let j = 0; j < 3; j++) if (j !== i) inbox[j].push(...logs[i].slice(sent[i]));
        sent[i] = logs[i].length;
      } else {
        // Deliver part of replica i's inbox in a random order, sometimes twice.
        const batch = r.shuffle(inbox[i]).slice(0, 1 + r.int(inbox[i].length + 1));
        for (const u of batch) {
          docs[i].applyUpdate(u, 'remote');
          if (r.next() < 0.2) docs[i].applyUpdate(u, 'remote');
        }
        inbox[i] = inbox[i].filter((u) => !batch.includes(u));
      }
    }
    // Everyone gets everything, in a random order, with duplicates.
    const all = logs.flat();
    for (const d of docs) {
      for (const u of r.shuffle([...all, ...all.slice(0, 10)])) d.applyUpdate(u, 'remote');
      assert.equal(d.hasPending, false);
    }
    const [s0, s1, s2] = docs.map(snapshot);
    assert.equal(s1, s0);
    assert.equal(s2, s0);
    // State vectors agree, and a fresh replica built from one merged update matches too.
    assert.deepEqual(docs[1].stateVector(), docs[0].stateVector());
    const fresh = Doc.load(mergeUpdates(all));
    assert.equal(snapshot(fresh), s0);
    for (const d of [...docs, fresh]) d.free();
  });
}

test('an update whose dependencies are missing waits until they arrive', () => {
  const a = new Doc({ replicaId: '1' });
  const updates = recordUpdates(a);
  const t = a.getText('t');
  t.insert(0, 'abc');
  t.insert(3, 'def');
  t.delete(1, 3);
  const b = new Doc({ replicaId: '2' });
  b.applyUpdate(updates[2]);
  b.applyUpdate(updates[1]);
  assert.equal(b.hasPending, true);
  assert.equal(b.getText('t').toString(), '');
  b.applyUpdate(updates[0]);
  assert.equal(b.hasPending, false);
  assert.equal(b.getText('t').toString(), 'aef');
});

test('state vectors and diffs carry exactly what a peer lacks', () => {
  const a = new Doc({ replicaId: '1' });
  const b = new Doc({ replicaId: '2' });
  a.getText('t').insert(0, 'x'.repeat(1000));
  b.applyUpdate(a.encodeStateAsUpdate());
  a.getText('t').insert(0, 'y');
  const diff = a.encodeStateAsUpdate(b.stateVector());
  assert.ok(diff.length < 200, `diff of one char is ${diff.length} bytes`);
  b.applyUpdate(diff);
  assert.equal(b.getText('t').toString(), a.getText('t').toString());
  assert.equal(a.encodeStateAsUpdate(b.stateVector()).length <= diff.length, true);
});

test('mergeUpdates equals applying the updates one by one', () => {
  const a = new Doc({ replicaId: '7' });
  const updates = recordUpdates(a);
  const r = rng(42);
  for (let i = 0; i < 50; i++) randomEdit(a, r);
  const merged = mergeUpdates(updates);
  const b = new Doc({ replicaId: '8' });
  b.applyUpdate(merged);
  assert.equal(snapshot(b), snapshot(a));
  assert.equal(mergeUpdates([]).length > 0, true);
});
