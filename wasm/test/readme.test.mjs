// Runs every ```js example of the package README (and the repository README's JS quick start,
// when there is one) against the built package, checking the output each `// →` comment states.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

function examples(file) {
  const md = readFileSync(file, 'utf8');
  return [...md.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
}

function run(code) {
  // From the repository root, `weft-crdt` resolves to the built package (an npm workspace).
  return execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd: root, encoding: 'utf8' });
}

function check(code) {
  const expected = [...code.matchAll(/\/\/ → (.*)$/gm)].map((m) => m[1].trim());
  const printed = run(code).trimEnd().split('\n').filter((l) => l !== '');
  assert.deepEqual(printed, expected);
}

const pkgReadme = fileURLToPath(new URL('../pkg/README.md', import.meta.url));
const blocks = examples(pkgReadme);

test('the package README has examples, including a quick start of at most ten lines', () => {
  assert.ok(blocks.length >= 5);
  const quickStart = blocks[0].trimEnd().split('\n');
  assert.ok(quickStart.length <= 10, `quick start has ${quickStart.length} lines`);
});

blocks.forEach((code, i) => {
  test(`package README example ${i + 1} runs and prints what it says`, () => check(code));
});

const repoReadme = `${root}README.md`;
const repoBlocks = existsSync(repoReadme) ? examples(repoReadme) : [];
test(
  "the repository README's JS quick start runs and prints what it says",
  { skip: repoBlocks.length === 0 && 'README.md has no ```js block yet' },
  () => {
    for (const code of repoBlocks) check(code);
  },
);
