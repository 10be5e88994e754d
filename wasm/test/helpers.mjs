// Shared helpers of the weft-crdt tests (not a test file itself).

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence on every run. */
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    shuffle(xs) {
      const out = [...xs];
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    },
  };
}

/** Records every local update a document emits. */
export function recordUpdates(doc) {
  const updates = [];
  doc.on('update', (u, _origin, local) => {
    if (local) updates.push(u);
  });
  return updates;
}

/** Text pieces that exercise UTF-16: ASCII, accents, emoji (surrogate pairs), combining marks. */
export const PIECES = ['a', 'xyz', 'é', '😀', 'e\u0301', '👍🏽', '中文', '\n', '🏳️‍🌈', 'Ω'];

/**
 * One random local edit of `doc` on every shared type (text, list, map, counter, set,
 * register), always at valid UTF-16 positions (never inside a surrogate pair).
 */
export function randomEdit(doc, r) {
  const kind = r.int(8);
  if (kind <= 2) {
    const text = doc.getText('text');
    const s = text.toString();
    const boundaries = [0];
    for (let i = 0; i < s.length; ) {
      i += s.codePointAt(i) > 0xffff ? 2 : 1;
      boundaries.push(i);
    }
    if (kind < 2 || s.length === 0) {
      text.insert(r.pick(boundaries), r.pick(PIECES));
    } else {
      const a = r.int(boundaries.length - 1);
      const b = Math.min(boundaries.length - 1, a + 1 + r.int(3));
      text.delete(boundaries[a], boundaries[b] - boundaries[a]);
    }
  } else if (kind === 3) {
    const list = doc.getList('list');
    if (list.length > 0 && r.next() < 0.3) list.delete(r.int(list.length), 1);
    else list.insert(r.int(list.length + 1), [r.pick([1, 'two', null, true, { k: [1.5] }, new Uint8Array([1, 2])])]);
  } else if (kind === 4) {
    const map = doc.getMap('map');
    const key = r.pick(['a', 'b', 'c', 'd']);
    if (r.next() < 0.25) map.delete(key);
    else map.set(key, r.pick([1, 'v', [1, 2], { n: null }, false]));
  } else if (kind === 5) {
    const counter = doc.getCounter('counter');
    if (r.next() < 0.5) counter.increment(r.int(5) + 1);
    else counter.decrement(r.int(3) + 1);
  } else if (kind === 6) {
    const set = doc.getSet('set');
    const v = r.pick(['red', 'green', 'blue', 1, 2]);
    if (r.next() < 0.4) set.delete(v);
    else set.add(v);
  } else {
    doc.getRegister('register').set(r.pick(['x', 'y', 3, null, { deep: ['z'] }]));
  }
}

/** Everything observable about a document, for convergence checks. */
export function snapshot(doc) {
  return JSON.stringify(doc.toJSON(), (_k, v) =>
    v instanceof Uint8Array ? `bytes:${[...v].join(',')}` : typeof v === 'bigint' ? `${v}n` : v,
  );
}
