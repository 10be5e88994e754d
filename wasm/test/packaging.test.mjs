// The built package as consumers get it: plain node ESM through the `exports` map, a Vite
// production build (the .wasm emitted as an asset) run in node, and the same build in
// headless Chromium when it is installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkgDir = join(root, 'wasm/pkg');
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));

/** A scratch consumer project whose node_modules/weft-crdt is the built package. */
function consumer() {
  const dir = mkdtempSync(join(tmpdir(), 'weft-consumer-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(pkgDir, join(dir, 'node_modules', 'weft-crdt'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  return dir;
}

// The app both builds run: edits, syncs two documents, and reports what it saw.
const APP = `
import { Doc, WeftError } from 'weft-crdt';
const a = new Doc();
const b = new Doc();
a.on('update', (u) => b.applyUpdate(u));
a.getText('t').insert(0, 'hello 😀');
let error = '';
try { b.applyUpdate(new Uint8Array([1, 2])); } catch (e) { error = e instanceof WeftError ? e.code : String(e); }
globalThis.__weftResult = JSON.stringify({ text: b.getText('t').toString(), error });
`;
const EXPECTED = JSON.stringify({ text: 'hello 😀', error: 'MALFORMED_UPDATE' });

test('package.json: ESM, exports map with node/default conditions and types, no side effects', () => {
  assert.equal(pkg.name, 'weft-crdt');
  assert.equal(pkg.type, 'module');
  assert.equal(pkg.sideEffects, false);
  assert.deepEqual(Object.keys(pkg.exports['.']), ['types', 'node', 'default']);
  for (const target of [pkg.types, ...Object.values(pkg.exports['.'])]) assert.ok(existsSync(join(pkgDir, target)), target);
  for (const f of pkg.files) assert.ok(existsSync(join(pkgDir, f)), `listed file ${f} exists`);
  const wasm = readFileSync(join(pkgDir, 'weft_wasm_bg.wasm'));
  assert.deepEqual([...wasm.subarray(0, 4)], [0, 0x61, 0x73, 0x6d]);
});

test('plain node ESM: import { Doc } from "weft-crdt"; internals are not exported', () => {
  const dir = consumer();
  try {
    writeFileSync(join(dir, 'main.mjs'), `${APP}\nconsole.log(globalThis.__weftResult);`);
    const out = execFileSync(process.execPath, ['main.mjs'], { cwd: dir, encoding: 'utf8' });
    assert.equal(out.trim(), EXPECTED);
    writeFileSync(join(dir, 'deep.mjs'), `import('weft-crdt/weft_wasm.js').then(() => console.log('open'), (e) => console.log(e.code));`);
    assert.equal(execFileSync(process.execPath, ['deep.mjs'], { cwd: dir, encoding: 'utf8' }).trim(), 'ERR_PACKAGE_PATH_NOT_EXPORTED');
    writeFileSync(join(dir, 'names.mjs'), `import * as w from 'weft-crdt'; console.log(Object.keys(w).sort().join(','));`);
    assert.equal(
      execFileSync(process.execPath, ['names.mjs'], { cwd: dir, encoding: 'utf8' }).trim(),
      'CounterRef,Cursor,Doc,ListRef,MapRef,RegisterRef,SetRef,SyncSession,TextRef,UndoManager,WeftError,mergeUpdates',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Builds APP with Vite for browsers; returns the consumer dir and the dist dir. */
async function viteBuild() {
  const { build } = await import('vite');
  const dir = consumer();
  writeFileSync(join(dir, 'main.js'), `${APP}\ndocument.title = globalThis.__weftResult;\n`);
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html><html><head><link rel="icon" href="data:,"><title>loading</title></head>' +
      '<body><script type="module" src="./main.js"></script></body></html>',
  );
  const outDir = join(dir, 'dist');
  await build({ root: dir, base: './', logLevel: 'silent', configFile: false, build: { outDir, emptyOutDir: true, modulePreload: { polyfill: false } } });
  return { dir, outDir };
}

let built;
test('Vite production build: the .wasm is emitted as an asset and the bundle runs', async () => {
  built = await viteBuild();
  const assets = readdirSync(join(built.outDir, 'assets'));
  const wasm = assets.filter((f) => f.endsWith('.wasm'));
  assert.equal(wasm.length, 1, `assets: ${assets}`);
  const js = assets.filter((f) => f.endsWith('.js'));
  const code = js.map((f) => readFileSync(join(built.outDir, 'assets', f), 'utf8')).join('\n');
  assert.ok(code.includes(wasm[0]), 'the bundle references the emitted .wasm');
  // Run the browser bundle in node: `fetch` of the file: URL the bundle computes is served from disk.
  const runner = `
    import { readFileSync } from 'node:fs';
    import { fileURLToPath } from 'node:url';
    globalThis.document = {};
    globalThis.fetch = async (url) => new Response(readFileSync(fileURLToPath(url)), { headers: { 'content-type': 'application/wasm' } });
    await import(${JSON.stringify(join(built.outDir, 'assets', js[0]))});
    console.log(globalThis.__weftResult);
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', runner], { encoding: 'utf8' });
  assert.equal(out.trim(), EXPECTED);
});

const chromium = '/usr/bin/chromium';
test('the Vite build runs in headless Chromium', { skip: !existsSync(chromium) && 'no Chromium installed', timeout: 120_000 }, async () => {
  assert.ok(built, 'the Vite build test ran first');
  const { chromium: launcher } = await import('playwright-core');
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
  const server = createServer((req, res) => {
    const path = join(built.outDir, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (!existsSync(path) || path.endsWith('/')) {
      const index = join(built.outDir, 'index.html');
      res.writeHead(200, { 'content-type': 'text/html' }).end(readFileSync(index));
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(readFileSync(path));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await launcher.launch({
    executablePath: chromium,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => document.title !== 'loading', null, { timeout: 30_000 });
    assert.equal(await page.title(), EXPECTED);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    server.close();
    rmSync(built.dir, { recursive: true, force: true });
  }
});
