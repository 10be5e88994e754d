// End-to-end tests of the demo: headless Chromium against a real weft-server.
// Run with `npm run test:e2e` (scripts/test-e2e.sh builds the server, the package and the demo).

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ConsoleWatch,
  ROOT,
  Server,
  WAIT_MS,
  cleanup,
  converged,
  editorText,
  eventually,
  focusEnd,
  launchBrowser,
  launchPersistent,
  openDemo,
  tempDir,
  uniqueDoc,
  waitOnline,
  waitSaved,
} from './harness.mjs';

/** @type {Server} */
let server;
/** @type {import('playwright-core').Browser} */
let browser;
let dataDir = '';
const watch = new ConsoleWatch();
/** Contexts and directories to close even when a test fails. */
const closers = [];

/** A fresh browser context (its own storage, like a separate browser profile). */
async function newContext(viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  closers.push(() => context.close());
  return context;
}

/** The side panel as the page shows it. */
function panelState(page) {
  return page.evaluate(() => ({
    title: /** @type {HTMLInputElement} */ (document.getElementById('title')).value,
    heading: document.getElementById('doc-heading')?.textContent,
    likes: Number(document.getElementById('like-count')?.textContent),
    tags: [...document.querySelectorAll('#tags .tag span')].map((e) => e.textContent),
    checklist: [...document.querySelectorAll('#checklist .item')].map((li) => ({
      text: li.querySelector('span')?.textContent,
      done: /** @type {HTMLInputElement} */ (li.querySelector('input')).checked,
    })),
  }));
}

async function setOffline(page, offline) {
  const box = page.locator('#offline');
  if ((await box.isChecked()) !== offline) await page.click('label.switch');
  await page.waitForSelector(offline ? '#connection[data-state="paused"]' : '#connection[data-state="online"]', {
    timeout: WAIT_MS,
  });
}

describe('web demo', { timeout: 240_000 }, () => {
  before(async () => {
    dataDir = await tempDir('data');
    server = new Server(dataDir);
    await server.start();
    browser = await launchBrowser();
  });

  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    await browser?.close().catch(() => {});
    await server?.stop();
    await cleanup(dataDir);
  });

  test('two windows type concurrently, converge and see each other’s cursors', async () => {
    const doc = uniqueDoc('concurrent');
    const alice = await openDemo(await newContext(), server, watch, { doc, name: 'Alice' });
    const bob = await openDemo(await newContext(), server, watch, { doc, name: 'Bob' });
    await Promise.all([focusEnd(alice), focusEnd(bob)]);

    const a = 'Alice types this sentence. ';
    const b = 'Bob writes ünïcödé 😀 at the same time! ';
    await Promise.all([alice.keyboard.type(a, { delay: 15 }), bob.keyboard.type(b, { delay: 15 })]);

    const text = await converged([alice, bob]);
    assert.equal(text.length, a.length + b.length, `nothing lost or duplicated: ${JSON.stringify(text)}`);
    assert.ok(text.includes(a) && text.includes(b), `both runs intact: ${JSON.stringify(text)}`);

    // Each sees the other's caret, labelled with the other's name, and in the people list.
    await alice.waitForSelector('.weft-remote-caret-label >> text=Bob', { timeout: WAIT_MS });
    await bob.waitForSelector('.weft-remote-caret-label >> text=Alice', { timeout: WAIT_MS });
    await alice.waitForSelector('#people .person-name >> text=Bob', { timeout: WAIT_MS });
    await bob.waitForSelector('#people .person-name >> text=Alice', { timeout: WAIT_MS });

    // The carets follow edits: Bob's caret sits right after Bob's run in Alice's editor.
    await bob.keyboard.press('Control+End');
    await eventually(
      () =>
        alice.evaluate(() => {
          const { doc, text, presence } = /** @type {any} */ (window).weft;
          const [peer] = presence.list();
          return peer?.head?.resolve(doc) === text.length;
        }),
      'Bob’s caret at the end of the text in Alice’s editor',
    );

    // Undo takes back only the local user's edits.
    await alice.keyboard.press('Control+z');
    const afterUndo = await converged([alice, bob], 'the undo to reach Bob');
    assert.ok(afterUndo.includes(b), 'Bob’s text survives Alice’s undo');
    assert.ok(!afterUndo.includes('Alice'), `Alice’s run is undone: ${JSON.stringify(afterUndo)}`);
    await alice.keyboard.press('Control+y');
    assert.equal(await converged([alice, bob], 'the redo to reach Bob'), text);
    await Promise.all([waitSaved(alice), waitSaved(bob)]);
  });

  test('offline toggle: both edit, reconnect, converge and nothing typed is lost', async () => {
    const doc = uniqueDoc('offline');
    const alice = await openDemo(await newContext(), server, watch, { doc, name: 'Alice' });
    const bob = await openDemo(await newContext(), server, watch, { doc, name: 'Bob' });
    await focusEnd(alice);
    await alice.keyboard.type('Shared start.');
    await converged([alice, bob]);

    await setOffline(alice, true);
    await focusEnd(alice);
    await alice.keyboard.type(' Alice offline one.');
    await alice.keyboard.press('Enter');
    await alice.keyboard.type('Alice offline two.');
    await bob.click('.cm-content');
    await bob.keyboard.press('Control+Home');
    await bob.keyboard.type('Bob online. ');
    await alice.waitForSelector('#saved[data-state="queued"]', { timeout: WAIT_MS });
    await waitSaved(bob);
    assert.ok(!(await editorText(bob)).includes('Alice offline'), 'offline edits stay local');
    assert.ok(!(await editorText(alice)).includes('Bob online'), 'an offline window gets nothing');

    // Alice leaves her caret right after "Shared start." before coming back online.
    await alice.keyboard.press('Control+Home');
    for (let i = 0; i < 'Shared start.'.length; i++) await alice.keyboard.press('ArrowRight');
    await setOffline(alice, false);
    const text = await converged([alice, bob]);
    assert.equal(text, 'Bob online. Shared start. Alice offline one.\nAlice offline two.');
    // Bob's text arrived before Alice's caret, which stays after the same characters.
    const caret = await alice.evaluate(() => /** @type {any} */ (window).weft.view.state.selection.main.head);
    assert.equal(caret, 'Bob online. Shared start.'.length);
    await Promise.all([waitSaved(alice), waitSaved(bob)]);
  });

  test('reload restores the document from the server, and from IndexedDB while the server is down', async () => {
    const doc = uniqueDoc('reload');
    const profile = await tempDir('profile');
    const persistent = await launchPersistent(profile);
    closers.push(async () => {
      await persistent.close();
      await cleanup(profile);
    });
    const page = await openDemo(persistent, server, watch, { doc, name: 'Carol' });
    // The service worker keeps the app so it can load without the server.
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: WAIT_MS });
    await focusEnd(page);
    await page.keyboard.type('Written before the reload.');
    await waitSaved(page);

    await page.reload();
    await waitOnline(page);
    assert.equal(await editorText(page), 'Written before the reload.');

    // A browser with empty storage gets the document from the server.
    const fresh = await openDemo(await newContext(), server, watch, { doc, name: 'Dave' });
    assert.equal(await editorText(fresh), 'Written before the reload.');
    await fresh.close();

    watch.serverDown = true;
    await server.stop();
    await page.waitForSelector('#connection[data-state="waiting"]', { timeout: WAIT_MS });
    await page.reload();
    await page.waitForFunction(() => 'weft' in window, null, { timeout: WAIT_MS });
    assert.equal(await editorText(page), 'Written before the reload.', 'restored from IndexedDB');
    await focusEnd(page);
    await page.keyboard.type(' Then edited offline.');
    await page.waitForSelector('#saved[data-state="queued"]', { timeout: WAIT_MS });
    // Let the local copy land, then reload once more without the server.
    await page.evaluate(() => /** @type {any} */ (window).weft.store.flushed());
    await page.reload();
    await page.waitForFunction(() => 'weft' in window, null, { timeout: WAIT_MS });
    assert.equal(await editorText(page), 'Written before the reload. Then edited offline.');
    await page.waitForSelector('#saved[data-state="queued"]', { timeout: WAIT_MS });

    await server.start();
    await waitSaved(page);
    watch.serverDown = false;
    const later = await openDemo(await newContext(), server, watch, { doc, name: 'Erin' });
    assert.equal(await editorText(later), 'Written before the reload. Then edited offline.', 'synced later');
  });

  test('side-panel types converge: title, likes, tags and checklist', async () => {
    const doc = uniqueDoc('panel');
    const alice = await openDemo(await newContext(), server, watch, { doc, name: 'Alice' });
    const bob = await openDemo(await newContext(), server, watch, { doc, name: 'Bob' });

    await alice.fill('#title', 'Launch plan');
    await bob.waitForFunction(() => document.getElementById('doc-heading')?.textContent === 'Launch plan', null, {
      timeout: WAIT_MS,
    });
    for (const tag of ['draft', 'urgent']) {
      await alice.fill('#tag-input', tag);
      await alice.press('#tag-input', 'Enter');
    }
    await alice.fill('#item-input', 'Write the announcement');
    await alice.press('#item-input', 'Enter');
    await bob.waitForSelector('#checklist .item >> text=Write the announcement', { timeout: WAIT_MS });
    await bob.waitForSelector('#tags .tag >> text=urgent', { timeout: WAIT_MS });

    // Concurrent edits while Bob is offline.
    await setOffline(bob, true);
    for (let i = 0; i < 3; i++) await alice.click('#like');
    for (let i = 0; i < 2; i++) await bob.click('#like');
    await bob.click('#unlike');
    await alice.fill('#tag-input', 'draft'); // already there: a concurrent add of the same tag…
    await alice.press('#tag-input', 'Enter');
    await bob.click('#tags .tag:has-text("draft") button'); // …wins over Bob's remove
    await bob.click('#tags .tag:has-text("urgent") button');
    await bob.fill('#tag-input', 'review');
    await bob.press('#tag-input', 'Enter');
    await bob.fill('#item-input', 'Check the numbers');
    await bob.press('#item-input', 'Enter');
    await bob.click('#checklist .item:has-text("Write the announcement") input');
    await alice.fill('#item-input', 'Book the room');
    await alice.press('#item-input', 'Enter');
    await setOffline(bob, false);

    const expected = {
      title: 'Launch plan',
      heading: 'Launch plan',
      likes: 4,
      tags: ['draft', 'review'],
      checklist: [
        { text: 'Write the announcement', done: true },
        { text: 'Book the room', done: false },
        { text: 'Check the numbers', done: false },
      ],
    };
    let shown;
    await eventually(async () => {
      const [a, b] = await Promise.all([panelState(alice), panelState(bob)]);
      shown = a;
      return JSON.stringify(a) === JSON.stringify(b) && a.likes === 4 && a.checklist.length === 3;
    }, 'the side panels to converge');
    // Concurrent appends are ordered the same everywhere, in an order the engine chooses.
    shown.checklist.sort((x, y) => expected.checklist.findIndex((e) => e.text === x.text) - expected.checklist.findIndex((e) => e.text === y.text));
    shown.tags.sort();
    assert.deepEqual(shown, expected);
    await Promise.all([waitSaved(alice), waitSaved(bob)]);
  });

  test('the server restarts mid-session; clients reconnect and converge', async () => {
    const doc = uniqueDoc('restart');
    const alice = await openDemo(await newContext(), server, watch, { doc, name: 'Alice' });
    const bob = await openDemo(await newContext(), server, watch, { doc, name: 'Bob' });
    await focusEnd(alice);
    await alice.keyboard.type('Before the restart.');
    await converged([alice, bob]);
    await Promise.all([waitSaved(alice), waitSaved(bob)]);

    watch.serverDown = true;
    await server.stop();
    await Promise.all(
      [alice, bob].map((p) => p.waitForSelector('#connection:not([data-state="online"])', { timeout: WAIT_MS })),
    );
    await focusEnd(alice);
    await alice.keyboard.type(' Alice while down.');
    await focusEnd(bob);
    await bob.keyboard.type(' Bob while down.');
    await server.start();
    await Promise.all([waitSaved(alice), waitSaved(bob)]);
    watch.serverDown = false;

    const text = await converged([alice, bob]);
    for (const part of ['Before the restart.', ' Alice while down.', ' Bob while down.']) {
      assert.ok(text.includes(part), `${JSON.stringify(part)} kept: ${JSON.stringify(text)}`);
    }
    assert.equal(text.length, 'Before the restart. Alice while down. Bob while down.'.length);
    // After the restart the edits flow live again.
    await alice.keyboard.press('Control+End');
    await alice.keyboard.type(' Live again.');
    assert.ok((await converged([alice, bob])).endsWith(' Live again.'));
  });

  test('writes docs/demo.png: two editors side by side', async () => {
    const doc = 'release-notes';
    const context = await newContext({ width: 1920, height: 1000 });
    const page = await context.newPage();
    watch.watch(page, 'screenshot');
    const frame = (name) =>
      `<div class="win"><div class="bar"><i></i><i></i><i></i><span>127.0.0.1:8080/#${doc}</span></div>` +
      `<iframe title="${name}" src="${server.url}/?name=${encodeURIComponent(name)}#${doc}"></iframe></div>`;
    const hostPage = `<!doctype html><html><head><link rel="icon" href="data:,"><style>
      html, body { margin: 0; height: 100%; }
      body { display: flex; gap: 24px; padding: 28px; box-sizing: border-box;
             background: linear-gradient(135deg, #dfe4ff, #e9f7f1); font: 12px system-ui, sans-serif; }
      .win { flex: 1; display: flex; flex-direction: column; border-radius: 10px; overflow: hidden;
             background: white; box-shadow: 0 12px 40px rgb(30 40 90 / 22%), 0 0 0 1px rgb(30 40 90 / 10%); }
      .bar { display: flex; align-items: center; gap: 6px; height: 30px; padding: 0 12px; background: #f1f2f5;
             border-bottom: 1px solid #e2e4e9; color: #6b7280; }
      .bar i { width: 10px; height: 10px; border-radius: 50%; background: #d4d7dd; }
      .bar span { margin: 0 auto; padding-right: 48px; }
      iframe { flex: 1; border: 0; width: 100%; }
    </style></head><body>${frame('Ada')}${frame('Linus')}</body></html>`;
    // The frames' host page is on the server's origin (served by the test, not the server), so
    // the frames get their normal storage (IndexedDB is denied to frames of opaque origins).
    const host = `${server.url}/side-by-side-e2e`;
    await page.route(host, (route) => route.fulfill({ contentType: 'text/html', body: hostPage }));
    await page.goto(host);
    const frames = () => page.frames().filter((f) => f !== page.mainFrame());
    await eventually(async () => frames().length === 2, 'the two frames');
    const [ada, linus] = frames();
    for (const f of [ada, linus]) await f.waitForSelector('#connection[data-state="online"]', { timeout: WAIT_MS });

    // The side panel, from both windows.
    await ada.fill('#title', 'Release notes');
    for (const tag of ['release', 'docs']) {
      await linus.fill('#tag-input', tag);
      await linus.press('#tag-input', 'Enter');
    }
    for (let i = 0; i < 3; i++) await ada.click('#like');
    await linus.click('#like');
    for (const item of ['Write the changelog', 'Update the screenshots', 'Tag the release']) {
      await linus.fill('#item-input', item);
      await linus.press('#item-input', 'Enter');
    }
    await ada.click('#checklist .item:has-text("Write the changelog") input');

    // The text: Ada writes the top, Linus a second paragraph, then each leaves a caret or selection.
    await ada.click('.cm-content');
    await page.keyboard.type('Weft 0.1');
    await page.keyboard.press('Enter');
    await page.keyboard.type('Everyone who opens this page edits the same document, live.');
    await linus.click('.cm-content');
    await page.keyboard.press('Control+End');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Enter');
    await page.keyboard.type('Edits merge without conflicts, even when made offline; the server stores each one ');
    await page.keyboard.type('durably before the page says saved.');
    for (const line of [
      '',
      'One document, many shared types:',
      '• text, with everyone’s cursors',
      '• a title, likes, tags and a checklist (on the right)',
      '',
      'Positions are UTF-16 code units, so “ünïcödé” just works.',
    ]) {
      await page.keyboard.press('Enter');
      await page.keyboard.type(line);
    }
    // Linus selects a phrase (Shift+arrows from its start), which Ada sees highlighted.
    await linus.evaluate(() => {
      const { view } = /** @type {any} */ (window).weft;
      const at = view.state.doc.toString().indexOf('without conflicts');
      view.dispatch({ selection: { anchor: at } });
    });
    for (let i = 0; i < 2; i++) await page.keyboard.press('Control+Shift+ArrowRight');
    await ada.click('.cm-content');
    await page.keyboard.press('Control+Home');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('End');
    await page.keyboard.type(' Try the offline switch.');

    await eventually(async () => {
      const shown = await Promise.all([ada, linus].map((f) => f.evaluate(() => document.getElementById('like-count')?.textContent)));
      return shown.every((n) => n === '4');
    }, 'both panels to show 4 likes');
    await converged([ada, linus]);
    await ada.waitForSelector('.weft-remote-caret-label >> text=Linus', { timeout: WAIT_MS });
    await linus.waitForSelector('.weft-remote-caret-label >> text=Ada', { timeout: WAIT_MS });
    await ada.waitForSelector('.weft-remote-selection', { timeout: WAIT_MS });
    await Promise.all([ada, linus].map((f) => f.waitForSelector('#saved[data-state="saved"]', { timeout: WAIT_MS })));
    await page.mouse.move(0, 0);
    for (const f of [ada, linus]) await f.evaluate(() => window.scrollTo(0, 0));

    await mkdir(join(ROOT, 'docs'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'docs', 'demo.png') });
  });

  test('no console errors in any page', (t) => {
    assert.deepEqual(watch.errors, [], 'console errors');
    // Refused connections while a test had stopped the server are Chromium's own log lines.
    t.diagnostic(`${watch.expected.length} refused-connection messages while the server was down`);
  });
});
