// Positions are UTF-16 code units, exactly as JS strings count them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Doc, WeftError } from 'weft-crdt';

const SAMPLES = [
  'plain ascii',
  'héllo wörld',
  'emoji 😀 and 👍🏽 skin tone',
  'flags 🏳️‍🌈 🇫🇷 zwj',
  'combining e\u0301 a\u0308 o\u0302\u0323',
  '中文 日本語 한국어',
  'math 𝔸𝔹ℂ 𝟘𝟙',
  '\u{10FFFF}\u{1F600}',
];

test('length and indexes match JS strings for every sample', () => {
  for (const s of SAMPLES) {
    const t = new Doc().getText('t');
    t.insert(0, s);
    assert.equal(t.length, s.length, s);
    assert.equal(t.toString(), s);
    // Insert at every code point boundary of the sample, mirrored on a JS string.
    let mirror = s;
    for (let i = s.length; i >= 0; i--) {
      const isInside = i > 0 && i < s.length && /[\uDC00-\uDFFF]/.test(s[i]) && /[\uD800-\uDBFF]/.test(s[i - 1]);
      if (isInside) continue;
      t.insert(i, '|');
      mirror = mirror.slice(0, i) + '|' + mirror.slice(i);
    }
    assert.equal(t.toString(), mirror);
    assert.equal(t.length, mirror.length);
  }
});

test('deleting a surrogate pair takes two code units; combining marks are separate code points', () => {
  const t = new Doc().getText('t');
  t.insert(0, 'a😀b');
  t.delete(1, 2);
  assert.equal(t.toString(), 'ab');
  t.delete(0, 2);
  t.insert(0, 'e\u0301x');
  t.delete(1, 1); // the combining accent alone
  assert.equal(t.toString(), 'ex');
});

test('an index between the halves of a surrogate pair is refused and changes nothing', () => {
  const doc = new Doc();
  const t = doc.getText('t');
  t.insert(0, 'a😀b');
  const before = doc.encodeStateAsUpdate();
  for (const f of [() => t.insert(2, 'x'), () => t.delete(2, 1), () => t.delete(0, 2), () => t.slice(2)]) {
    assert.throws(f, (e) => e instanceof WeftError && e.code === 'INSIDE_CHARACTER');
  }
  assert.equal(t.toString(), 'a😀b');
  assert.deepEqual(doc.encodeStateAsUpdate(), before);
});

test('remote edits of non-BMP text arrive intact', () => {
  const a = new Doc({ replicaId: '1' });
  const b = new Doc({ replicaId: '2' });
  a.on('update', (u, _o, local) => local && b.applyUpdate(u));
  const t = a.getText('t');
  for (const s of SAMPLES) t.insert(t.length, s);
  t.delete(3, 4);
  assert.equal(b.getText('t').toString(), t.toString());
  assert.equal(b.getText('t').length, t.length);
});
