// Wiring only: the document, its local copy, the provider, the editor and the panels.

import './styles.css';
import { defaultKeymap, indentWithTab } from '@codemirror/commands';
import { EditorState } from '@codemirror/state';
import {
  EditorView,
  drawSelection,
  dropCursor,
  highlightActiveLine,
  highlightSpecialChars,
  keymap,
  placeholder,
} from '@codemirror/view';
import { UndoManager } from 'weft-crdt';
import { EDITOR_ORIGIN, followText, weftBinding } from './binding';
import { SidePanel } from './panel';
import { LocalStore, restoreDoc } from './persistence';
import { Presence, randomName } from './presence';
import { WeftProvider } from './provider';
import { bindDocumentSwitcher, bindPeople, bindStatus, bindUndoButtons, colorFor, docIdFromLocation, loadUser } from './ui';

const docId = docIdFromLocation();
bindDocumentSwitcher(docId);

// The service worker keeps the app itself, so a reload works while the server is unreachable.
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register('./sw.js').catch(() => {
    // Not fatal: the page works, it just will not load without the server.
  });
}

// The local copy first, so the page works (and the state vector is right) before any network.
const store = await LocalStore.open(docId);
const { doc, restored } = await restoreDoc(store);
if (store) doc.on('update', (update) => store.append(update));

const text = doc.getText('content');
const undo = new UndoManager(doc, [text], { trackedOrigins: [EDITOR_ORIGIN], trackUntagged: false });

const socketUrl =
  new URLSearchParams(location.search).get('server') ??
  `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
const provider = new WeftProvider({ url: socketUrl, docId, doc, restored });

const presence = new Presence(doc, text, loadUser(randomName), (blob) => provider.setPresence(blob));
provider.onPresence(({ client, data }) => presence.receive(client, data));

const parent = document.getElementById('editor');
if (!parent) throw new Error('#editor is missing from index.html');
const view = new EditorView({
  parent,
  state: EditorState.create({
    doc: text.toString(),
    extensions: [
      weftBinding({ doc, text, undo }),
      presence.extension(),
      highlightSpecialChars(),
      drawSelection(),
      dropCursor(),
      highlightActiveLine(),
      EditorView.lineWrapping,
      placeholder('Start typing… then open this page in a second window and type there too.'),
      keymap.of([...defaultKeymap, indentWithTab]),
      EditorView.contentAttributes.of({ 'aria-label': 'Document text' }),
    ],
  }),
});
followText(view, text);

const heading = document.getElementById('doc-heading');
new SidePanel(doc, (title) => {
  if (heading) heading.textContent = title || 'Untitled document';
  document.title = `${title || docId} · Weft`;
});
bindStatus(provider);
bindUndoButtons(undo, (listener) => doc.on('update', listener), () => view.focus());
bindPeople(presence, (name) => presence.setUser({ name, color: colorFor(name) }));

presence.publishNow();
provider.start();
if (store) void store.compact();

// A handle for the browser console (and the end-to-end tests).
Object.assign(window, { weft: { doc, text, view, provider, presence, undo, store } });
