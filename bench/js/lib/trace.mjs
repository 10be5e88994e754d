// Loads an editing trace (`*.json.gz` from the editing-traces collection) and converts its
// positions from Unicode characters (code points) to UTF-16 code units, as an editor would see them.
import { readFileSync, readdirSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

/** The folder holding `*.json.gz` traces: `$WEFT_TRACES`, else `../shared/editing-traces/sequential` from the repo root. */
export function tracesDir() {
  const base = process.env.WEFT_TRACES ?? resolve(here, '../../../../shared/editing-traces');
  // Accept either the collection root or its `sequential/` folder.
  try {
    if (readdirSync(join(base, 'sequential')).some((f) => f.endsWith('.json.gz'))) return join(base, 'sequential');
  } catch {
    // not the collection root
  }
  return base;
}

/** Names (without `.json.gz`) of the traces in `dir`, sorted. */
export function listTraces(dir = tracesDir()) {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json.gz'))
    .map((f) => f.slice(0, -'.json.gz'.length))
    .sort();
}

/**
 * Loads one trace. Returns `{ name, start, end, txns }` where every transaction is an array of
 * patches `[pos, deleteCount, insertText]` with pos and deleteCount in UTF-16 code units.
 */
export function loadTrace(name, dir = tracesDir()) {
  const raw = JSON.parse(gunzipSync(readFileSync(join(dir, `${name}.json.gz`))).toString('utf8'));
  const txns = raw.txns.map((t) => t.patches);
  const hasAstral = (s) => /[\u{10000}-\u{10FFFF}]/u.test(s);
  const needsConversion =
    hasAstral(raw.startContent) || txns.some((ps) => ps.some((p) => hasAstral(p[2])));
  return {
    name,
    start: raw.startContent,
    end: raw.endContent,
    txns: needsConversion ? toUtf16(raw.startContent, txns) : txns,
    edits: txns.reduce((n, ps) => n + ps.length, 0),
  };
}

// Replays the trace over an array of per-character UTF-16 widths (1 or 2) and rewrites each patch's
// character position and length into code units. A cursor (character index, code-unit index) follows
// the edits, so the walk to each position is as long as the jump from the previous edit.
function toUtf16(start, txns) {
  const widths = Array.from(start, (c) => c.length);
  let cp = 0;
  let cu = 0;
  const seek = (target) => {
    while (cp < target) cu += widths[cp++];
    while (cp > target) cu -= widths[--cp];
    return cu;
  };
  return txns.map((ps) =>
    ps.map(([pos, del, ins]) => {
      const at = seek(pos);
      let delUnits = 0;
      for (let i = pos; i < pos + del; i++) delUnits += widths[i];
      widths.splice(pos, del, ...Array.from(ins, (c) => c.length));
      return [at, delUnits, ins];
    }),
  );
}
