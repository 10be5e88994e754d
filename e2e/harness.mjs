// Helpers of the end-to-end tests: a real weft-server in a temporary data directory, headless
// Debian Chromium driven by playwright-core, and pages of the demo that record console errors.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The server binary (`cargo build -p weft-server`), overridable with WEFT_SERVER_BIN. */
export const SERVER_BIN = process.env.WEFT_SERVER_BIN ?? join(ROOT, 'target', 'debug', 'weft-server');

/** Debian's Chromium, overridable with CHROMIUM_PATH. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Upper bound of every wait for the app to reach a state (milliseconds). */
export const WAIT_MS = 20_000;

/** A temporary directory, removed by `cleanup()`. */
export async function tempDir(prefix) {
  return mkdtemp(join(tmpdir(), `weft-e2e-${prefix}-`));
}

/** Removes a directory made by `tempDir`. */
export async function cleanup(dir) {
  if (dir) await rm(dir, { recursive: true, force: true });
}

/** A weft-server process serving the built demo, with its store in `dataDir`. */
export class Server {
  /** @param {string} dataDir */
  constructor(dataDir) {
    this.dataDir = dataDir;
    /** @type {import('node:child_process').ChildProcess | undefined} */
    this.child = undefined;
    this.port = 0;
    this.log = '';
    this.running = false;
  }

  /** The demo's base URL. */
  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts the server (on the port it had before, else on a free one) and waits until it listens. */
  async start() {
    if (!existsSync(SERVER_BIN)) {
      throw new Error(`${SERVER_BIN} is missing: run \`cargo build -p weft-server\` (scripts/test-e2e.sh does)`);
    }
    if (!existsSync(join(ROOT, 'web-demo', 'dist', 'index.html'))) {
      throw new Error('web-demo/dist is missing: run `npm run build -w web-demo` (scripts/test-e2e.sh does)');
    }
    const child = spawn(
      SERVER_BIN,
      [
        '--bind',
        `127.0.0.1:${this.port}`,
        '--data-dir',
        this.dataDir,
        '--static-dir',
        join(ROOT, 'web-demo', 'dist'),
        '--pkg-dir',
        join(ROOT, 'wasm', 'pkg'),
        '--shutdown-grace-ms',
        '2000',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' } },
    );
    this.child = child;
    // Never leave a server behind, even if the test process ends abruptly.
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    child.once('exit', () => process.off('exit', reap));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      this.log = (this.log + chunk).slice(-20_000);
    });
    child.stdout.setEncoding('utf8');
    const listening = new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`weft-server did not start within 15 s:\n${this.log}`)), 15_000);
      child.stdout.on('data', (chunk) => {
        out += chunk;
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`weft-server exited at start (${code ?? signal}):\n${this.log}`));
      });
    });
    this.port = await listening;
    this.running = true;
    child.once('exit', () => {
      this.running = false;
    });
  }

  /** Stops the server with SIGTERM (graceful: clients get close code 1001); SIGKILL after 10 s. */
  async stop() {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    this.running = false;
  }
}

/** Launches headless Chromium. */
export function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/** A browser context with a profile directory, so IndexedDB and the service worker outlive reloads. */
export function launchPersistent(dir, options = {}) {
  return chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
    viewport: { width: 1280, height: 800 },
    ...options,
  });
}

/**
 * Records the console errors and uncaught exceptions of every page handed to `watch`. Network
 * errors of connections refused while a test has deliberately stopped the server are expected
 * (Chromium logs each failed WebSocket attempt) and are recorded apart.
 */
export class ConsoleWatch {
  constructor() {
    /** @type {string[]} */
    this.errors = [];
    /** @type {string[]} */
    this.expected = [];
    /** While true, refused connections are expected. */
    this.serverDown = false;
  }

  /** @param {import('playwright-core').Page} page @param {string} label */
  watch(page, label) {
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const text = `${label}: ${msg.text()}`;
      const refused = /ERR_CONNECTION_REFUSED|WebSocket connection to '[^']*' failed/.test(msg.text());
      if (refused && this.serverDown) this.expected.push(text);
      else this.errors.push(text);
    });
    page.on('pageerror', (err) => this.errors.push(`${label}: uncaught ${err.stack ?? err.message}`));
  }
}

/**
 * Opens the demo on document `doc` as user `name` and waits until it is online.
 * @param {import('playwright-core').BrowserContext} context
 */
export async function openDemo(context, server, watch, { doc, name, online = true }) {
  const page = await context.newPage();
  watch.watch(page, name);
  await page.goto(`${server.url}/?name=${encodeURIComponent(name)}#${encodeURIComponent(doc)}`, {
    timeout: WAIT_MS,
  });
  await page.waitForFunction(() => 'weft' in window, null, { timeout: WAIT_MS });
  if (online) await waitOnline(page);
  return page;
}

/** Waits until the page's connection is online. */
export async function waitOnline(page) {
  await page.waitForSelector('#connection[data-state="online"]', { timeout: WAIT_MS });
}

/** Waits until the server has acknowledged every local edit of the page. */
export async function waitSaved(page) {
  await page.waitForSelector('#connection[data-state="online"]', { timeout: WAIT_MS });
  await page.waitForSelector('#saved[data-state="saved"]', { timeout: WAIT_MS });
}

/** The editor's text and the Weft Text's, which must always be equal. */
export async function texts(page) {
  return page.evaluate(() => {
    const { view, text } = /** @type {any} */ (window).weft;
    return { editor: view.state.doc.toString(), weft: text.toString() };
  });
}

/** The editor's text (after checking that it equals the Weft Text). */
export async function editorText(page) {
  const { editor, weft } = await texts(page);
  if (editor !== weft) throw new Error(`editor and Weft text differ:\n${JSON.stringify(editor)}\n${JSON.stringify(weft)}`);
  return editor;
}

/** Polls `check` (an async function returning true when done) until it holds or time runs out. */
export async function eventually(check, what, timeout = WAIT_MS) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until all pages show the same text and returns it. */
export async function converged(pages, what = 'the editors to converge') {
  let text = '';
  await eventually(async () => {
    const all = await Promise.all(pages.map(editorText));
    text = all[0];
    return all.every((t) => t === text);
  }, what);
  return text;
}

/** Clicks into the editor and moves the caret to the end of the text. */
export async function focusEnd(page) {
  await page.click('.cm-content');
  await page.keyboard.press('Control+End');
}

/** A document id unique to this run. */
export function uniqueDoc(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}
