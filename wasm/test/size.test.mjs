// The size bar of the package: the .wasm gzipped (level 9) must stay within 120 KB
// (122,746 bytes at last count; 193.6 KB before the size work).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const BAR = 120 * 1024;
const wasm = readFileSync(new URL('../pkg/weft_wasm_bg.wasm', import.meta.url));
const gzipped = gzipSync(wasm, { level: 9 }).length;
const kb = (gzipped / 1024).toFixed(1);

test(`weft_wasm_bg.wasm gzipped is at most 120 KB (now ${kb} KB)`, () => {
  assert.ok(gzipped <= BAR, `${gzipped} bytes gzipped`);
});
