// The package's .d.ts: a typed usage file (typed/usage.ts) must compile under strict settings,
// including the @ts-expect-error lines that prove misuse is rejected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

// tsconfig.json: a browser project (lib dom); tsconfig.node.json: a node project (@types/node,
// no DOM). Both check the package's declarations too (skipLibCheck off).
for (const config of ['tsconfig.json', 'tsconfig.node.json']) {
  test(`tsc --noEmit accepts the typed usage file (${config})`, () => {
    const tsc = `${root}node_modules/typescript/bin/tsc`;
    try {
      execFileSync(process.execPath, [tsc, '-p', fileURLToPath(new URL(`typed/${config}`, import.meta.url))], {
        cwd: root,
        encoding: 'utf8',
      });
    } catch (e) {
      assert.fail(`tsc reported errors:\n${e.stdout}${e.stderr}`);
    }
  });
}

test('no public declaration uses `any`', () => {
  const pkg = new URL('../pkg/', import.meta.url);
  for (const file of ['index.d.ts', 'errors.d.ts']) {
    assert.doesNotMatch(readFileSync(new URL(file, pkg), 'utf8'), /\bany\b/, file);
  }
  const generated = readFileSync(new URL('weft_wasm.d.ts', pkg), 'utf8');
  assert.ok(generated.includes('export class Doc'));
  assert.doesNotMatch(generated.replace(/\/\*\*[\s\S]*?\*\//g, ''), /\bany\b/);
});
