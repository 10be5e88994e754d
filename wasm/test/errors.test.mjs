// Bad input throws a WeftError with a clear message; the document is unchanged and usable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Doc, WeftError, mergeUpdates } from 'weft-crdt';
import { rng, recordUpdates, randomEdit, snapshot } from './helpers.mjs';

function isWeftError(code, pattern) {
  return (e) => {
    assert.ok(e instanceof WeftError, `expected a WeftError, got ${e}`);
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'WeftError');
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(e.message, pattern);
    return true;
  };
}

/** A document with some of everything, and its updates. */
function sample(seed) {
  const doc = new Doc({ replicaId: String(seed) });
  const updates = recordUpdates(doc);
  const r = rng(seed);
  for (let i = 0; i < 40; i++) randomEdit(doc, r);
  return { doc, updates };
}

test('corrupt updates throw MALFORMED_UPDATE and leave the document unchanged and usable', () => {
  const { doc: source, updates } = sample(3);
  const valid = source.encodeStateAsUpdate();
  const target = new Doc({ replicaId: '9' });
  target.getText('text').insert(0, 'local');
  const before = snapshot(target);
  const sv = target.stateVector();
  const r = rng(11);
  const corrupt = [
    new Uint8Array(),
    new Uint8Array([0]),
    new Uint8Array([1, 2, 3]),
    Uint8Array.from({ length: 64 }, () => r.int(256)),
  ];
  // Every truncation of a real update, and single-bit flips all over it.
  for (let n = 0; n < valid.length; n += Math.max(1, valid.length >> 6)) corrupt.push(valid.slice(0, n));
  for (let k = 0; k < 200; k++) {
    const u = valid.slice();
    u[r.int(u.length)] ^= 1 << r.int(8);
    corrupt.push(u);
  }
  for (const u of updates.slice(0, 20)) corrupt.push(u.slice(0, u.length - 1), new Uint8Array([...u, 0]));
  let rejected = 0;
  for (const u of corrupt) {
    try {
      target.applyUpdate(u);
    } catch (e) {
      isWeftError('MALFORMED_UPDATE', /^malformed update: .* at byte \d+$/)(e);
      assert.equal(typeof e.offset, 'number');
      rejected++;
      assert.equal(snapshot(target), before);
      assert.deepEqual(target.stateVector(), sv);
      continue;
    }
    assert.fail(`a corrupt update of ${u.length} bytes was accepted`);
  }
  assert.equal(rejected, corrupt.length);
  // Still usable: edits and the real update apply.
  target.getText('text').insert(0, '>');
  target.applyUpdate(valid);
  assert.equal(target.getCounter('counter').value, source.getCounter('counter').value);
  assert.throws(() => Doc.load(new Uint8Array([9, 9, 9])), isWeftError('MALFORMED_UPDATE'));
  assert.throws(() => mergeUpdates([valid, new Uint8Array([1])]), isWeftError('MALFORMED_UPDATE'));
  assert.throws(() => target.encodeStateAsUpdate(new Uint8Array([255, 255])), isWeftError('MALFORMED_UPDATE'));
});

test('indexes past the end throw OUT_OF_RANGE and change nothing', () => {
  const doc = new Doc();
  const text = doc.getText('t');
  const list = doc.getList('l');
  text.insert(0, 'abc');
  list.push([1, 2]);
  const before = doc.encodeStateAsUpdate();
  assert.throws(() => text.insert(4, 'x'), isWeftError('OUT_OF_RANGE', /index 4 is out of range \(length 3\)/));
  assert.throws(() => text.delete(2, 5), isWeftError('OUT_OF_RANGE'));
  assert.throws(() => text.slice(1, 9), isWeftError('OUT_OF_RANGE'));
  assert.throws(() => list.insert(3, [0]), isWeftError('OUT_OF_RANGE'));
  assert.throws(() => list.delete(1, 2), isWeftError('OUT_OF_RANGE'));
  assert.throws(() => text.insert(-1, 'x'), isWeftError('OUT_OF_RANGE', /non-negative integer, got -1/));
  assert.throws(() => text.insert(1.5, 'x'), isWeftError('OUT_OF_RANGE', /got 1\.5/));
  assert.throws(() => text.insert(NaN, 'x'), isWeftError('OUT_OF_RANGE', /got NaN/));
  assert.throws(() => list.get(2 ** 40), isWeftError('OUT_OF_RANGE'));
  assert.deepEqual(doc.encodeStateAsUpdate(), before);
  text.insert(3, 'd');
  assert.equal(text.toString(), 'abcd');
});

test('arguments of the wrong type throw INVALID_ARGUMENT or INVALID_VALUE with clear messages', () => {
  const doc = new Doc();
  const text = doc.getText('t');
  const map = doc.getMap('m');
  assert.throws(() => text.insert(0, 5), isWeftError('INVALID_ARGUMENT', /text must be a string, got number/));
  assert.throws(() => text.insert(0), isWeftError('INVALID_ARGUMENT', /got undefined/));
  assert.throws(() => doc.getText(null), isWeftError('INVALID_ARGUMENT', /name must be a string, got null/));
  assert.throws(() => map.set(1, 'v'), isWeftError('INVALID_ARGUMENT', /key must be a string/));
  assert.throws(() => map.set('k', () => 1), isWeftError('INVALID_VALUE', /type function/));
  assert.throws(() => map.set('k', undefined), isWeftError('INVALID_VALUE', /undefined/));
  assert.throws(() => map.set('k', new Date()), isWeftError('INVALID_VALUE', /Date/));
  assert.throws(() => map.set('k', new Map()), isWeftError('INVALID_VALUE', /Map/));
  assert.throws(() => map.set('k', Symbol('s')), isWeftError('INVALID_VALUE', /symbol/));
  assert.throws(() => map.set('k', 2n ** 64n), isWeftError('INVALID_VALUE', /64 bits/));
  const cyclic = { a: 1 };
  cyclic.self = cyclic;
  assert.throws(() => map.set('k', cyclic), isWeftError('INVALID_VALUE', /nested too deeply/));
  assert.throws(() => doc.getList('l').insert(0, 'not an array'), isWeftError('INVALID_ARGUMENT', /array/));
  assert.throws(() => doc.applyUpdate('bytes'), isWeftError('INVALID_ARGUMENT', /Uint8Array, got string/));
  assert.throws(() => doc.applyUpdate([1, 2]), isWeftError('INVALID_ARGUMENT', /Uint8Array, got Array/));
  assert.throws(() => Doc.load({}), isWeftError('INVALID_ARGUMENT'));
  assert.throws(() => doc.on('update', 'nope'), isWeftError('INVALID_ARGUMENT', /listener must be a function/));
  assert.throws(() => text.observe(42), isWeftError('INVALID_ARGUMENT', /listener must be a function/));
  assert.throws(() => mergeUpdates('x'), isWeftError('INVALID_ARGUMENT'));
  assert.throws(() => map.setContainer('k', 'tree'), isWeftError('INVALID_ARGUMENT', /unknown container kind "tree"/));
  assert.deepEqual(doc.toJSON(), { t: '', m: {}, l: [] });
});

test('a root name used for two kinds gives two roots', () => {
  const doc = new Doc();
  doc.getText('x').insert(0, 't');
  doc.getMap('x').set('k', 1);
  assert.equal(doc.getText('x').toString(), 't');
  assert.equal(doc.getMap('x').get('k'), 1);
});
