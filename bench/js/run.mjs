// JS benchmark: replays real editing traces through the JS APIs of weft-crdt, yjs, loro-crdt and
// @automerge/automerge (`npm run bench:js`). Each library runs each trace in a fresh node process.
// Writes bench/results/js-latest.json and the JS section of bench/RESULTS.md.
//
// Environment: WEFT_TRACES (trace folder), WEFT_BENCH_TRACES (comma-separated trace names),
// WEFT_BENCH_LIBS (comma-separated: weft,yjs,loro,automerge), WEFT_BENCH_REPEAT (max runs per
// measure, default 5), WEFT_BENCH_BUDGET_MS (stop repeating a measure after this long, default 8000).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listTraces, tracesDir } from './lib/trace.mjs';
import { renderSection, replaceSection } from './lib/report.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const benchDir = join(here, '..');
const allLibs = ['weft', 'yjs', 'loro', 'automerge'];
const libs = (process.env.WEFT_BENCH_LIBS ?? allLibs.join(',')).split(',').filter(Boolean);
const dir = tracesDir();
const traces = (process.env.WEFT_BENCH_TRACES ?? listTraces(dir).join(',')).split(',').filter(Boolean);
const tmp = mkdtempSync(join(tmpdir(), 'weft-bench-js-'));

const worker = (args) =>
  JSON.parse(
    execFileSync(process.execPath, ['--expose-gc', join(here, 'worker.mjs'), ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 20,
    }),
  );

const results = [];
const skipped = [];
try {
  for (const lib of libs) {
    if (!allLibs.includes(lib)) throw new Error(`unknown library ${lib}; expected one of ${allLibs.join(', ')}`);
    if (lib === 'weft') {
      try {
        await import('weft-crdt');
      } catch (e) {
        skipped.push({ library: 'weft-crdt', reason: `not built (${e.message.split('\n')[0]}); run npm run build:wasm` });
        console.error(`skipping weft-crdt: ${e.message.split('\n')[0]}`);
        continue;
      }
    }
    for (const trace of traces) {
      process.stderr.write(`${lib} × ${trace} … `);
      const file = join(tmp, `${lib}-${trace}.bin`);
      const t = performance.now();
      const main = worker([lib, trace, 'main', file]);
      const loadMemory = worker([lib, trace, 'load-memory', file]).loadMemory;
      results.push({ ...main, loadMemory });
      process.stderr.write(`${((performance.now() - t) / 1000).toFixed(1)} s\n`);
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const versions = {};
for (const r of results) versions[r.library] ??= packageVersion(r.package);

function packageVersion(pkg) {
  let d = fileURLToPath(import.meta.resolve(pkg));
  while (d !== '/') {
    d = join(d, '..');
    const f = join(d, 'package.json');
    if (existsSync(f)) {
      const p = JSON.parse(readFileSync(f, 'utf8'));
      if (p.name === pkg) return p.version;
    }
  }
  return 'unknown';
}

const report = {
  date: new Date().toISOString(),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  traces,
  versions,
  skipped,
  results,
};
mkdirSync(join(benchDir, 'results'), { recursive: true });
writeFileSync(join(benchDir, 'results', 'js-latest.json'), `${JSON.stringify(report, null, 2)}\n`);
const resultsMd = join(benchDir, 'RESULTS.md');
const old = existsSync(resultsMd) ? readFileSync(resultsMd, 'utf8') : '# Benchmark results\n';
writeFileSync(resultsMd, replaceSection(old, renderSection(report)));
console.error('wrote bench/results/js-latest.json and the JS section of bench/RESULTS.md');
