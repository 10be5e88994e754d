// The page chrome: connection and save status, the offline switch, undo/redo buttons, the
// people list and the document switcher.

import type { UndoManager } from 'weft-crdt';
import type { Presence, User } from './presence';
import type { ProviderStatus, WeftProvider } from './provider';

function byId<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} is missing from index.html`);
  return node as T;
}

const PALETTE = ['#e5484d', '#0d74ce', '#29a383', '#8e4ec6', '#d6409f', '#e54d2e', '#3e63dd', '#ad7f58'];

/** A stable colour for a name. */
export function colorFor(name: string): string {
  let h = 0;
  for (const c of name) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  return PALETTE[Math.abs(h) % PALETTE.length]!;
}

function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const first = parts[0]?.[0] ?? '?';
  const last = parts.length > 1 ? (parts[parts.length - 1]?.[0] ?? '') : '';
  return (first + last).toUpperCase();
}

/** The document named by the URL's hash (`/#notes`), or `welcome`. */
export function docIdFromLocation(): string {
  const raw = decodeURIComponent(location.hash.slice(1)).trim();
  return raw.length > 0 && raw.length <= 200 ? raw : 'welcome';
}

/** Reloads the page when the hash names another document. */
export function bindDocumentSwitcher(docId: string): void {
  if (location.hash !== `#${encodeURIComponent(docId)}`) {
    history.replaceState(null, '', `#${encodeURIComponent(docId)}`);
  }
  const form = byId<HTMLFormElement>('doc-form');
  const input = byId<HTMLInputElement>('doc-input');
  input.value = docId;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const next = input.value.trim();
    if (next && next !== docId) location.hash = encodeURIComponent(next);
  });
  window.addEventListener('hashchange', () => {
    if (docIdFromLocation() !== docId) location.reload();
  });
}

/** The local user: `?name=` in the URL, else the name this tab used before, else a new one. */
export function loadUser(randomName: () => string): User {
  const key = 'weft-demo-user';
  const fromUrl = new URLSearchParams(location.search).get('name')?.trim().slice(0, 40);
  let storage: Storage | undefined;
  try {
    storage = sessionStorage; // throws where storage is blocked (sandboxed frames)
  } catch {
    storage = undefined;
  }
  const name = fromUrl || storage?.getItem(key) || randomName();
  storage?.setItem(key, name);
  return { name, color: colorFor(name) };
}

/** Shows the provider's status and wires the offline switch. */
export function bindStatus(provider: WeftProvider): void {
  const connection = byId<HTMLElement>('connection');
  const connectionText = byId<HTMLElement>('connection-text');
  const saved = byId<HTMLElement>('saved');
  const savedText = byId<HTMLElement>('saved-text');
  const offline = byId<HTMLInputElement>('offline');
  const problem = byId<HTMLElement>('problem');
  let last: ProviderStatus | undefined;
  let ticker: ReturnType<typeof setInterval> | undefined;

  const draw = (): void => {
    const s = last;
    if (!s) return;
    connection.dataset['state'] = s.connection;
    let label: string;
    switch (s.connection) {
      case 'online':
        label = 'Online';
        break;
      case 'connecting':
        label = 'Connecting…';
        break;
      case 'paused':
        label = 'Offline';
        break;
      case 'failed':
        label = 'Disconnected';
        break;
      case 'waiting': {
        const secs = s.retryAt === undefined ? 0 : Math.ceil((s.retryAt - Date.now()) / 1000);
        label = secs > 0 ? `Reconnecting in ${secs}s` : 'Reconnecting…';
        break;
      }
    }
    connectionText.textContent = label;
    saved.dataset['state'] = s.save;
    savedText.textContent =
      s.save === 'saved'
        ? 'All changes saved'
        : s.save === 'saving'
          ? 'Saving…'
          : `${s.unacked} change${s.unacked === 1 ? '' : 's'} kept locally`;
    problem.textContent = s.problem ?? '';
    problem.hidden = s.problem === undefined;
    offline.checked = s.connection === 'paused';
  };

  provider.onStatus((s) => {
    last = s;
    draw();
    if (s.connection === 'waiting' && ticker === undefined) {
      ticker = setInterval(draw, 500);
    } else if (s.connection !== 'waiting' && ticker !== undefined) {
      clearInterval(ticker);
      ticker = undefined;
    }
  });
  offline.addEventListener('change', () => provider.setPaused(offline.checked));
}

/** Wires the undo and redo buttons and keeps their enabled state current. */
export function bindUndoButtons(undo: UndoManager, onUpdate: (listener: () => void) => void, focus: () => void): void {
  const undoButton = byId<HTMLButtonElement>('undo');
  const redoButton = byId<HTMLButtonElement>('redo');
  const refresh = (): void => {
    undoButton.disabled = !undo.canUndo();
    redoButton.disabled = !undo.canRedo();
  };
  undoButton.addEventListener('click', () => {
    undo.undo();
    focus();
  });
  redoButton.addEventListener('click', () => {
    undo.redo();
    focus();
  });
  onUpdate(refresh);
  refresh();
}

/** Keeps the people list (and the header's avatars) current. */
export function bindPeople(presence: Presence, onRename: (name: string) => void): void {
  const list = byId<HTMLUListElement>('people');
  const avatars = byId<HTMLElement>('avatars');
  const count = byId<HTMLElement>('people-count');
  const nameInput = byId<HTMLInputElement>('my-name');
  const myDot = byId<HTMLElement>('my-dot');
  nameInput.value = presence.me.name;
  nameInput.addEventListener('change', () => {
    const name = nameInput.value.trim().slice(0, 40);
    if (name) onRename(name);
    else nameInput.value = presence.me.name;
  });

  const avatar = (user: User, title: string): HTMLElement => {
    const a = document.createElement('span');
    a.className = 'avatar';
    a.style.backgroundColor = user.color;
    a.textContent = initials(user.name);
    a.title = title;
    return a;
  };

  const draw = (): void => {
    const me = presence.me;
    myDot.style.backgroundColor = me.color;
    const peers = presence.list();
    list.replaceChildren(
      ...peers.map((peer) => {
        const li = document.createElement('li');
        li.className = 'person';
        li.dataset['client'] = peer.client;
        const dot = document.createElement('span');
        dot.className = 'dot';
        dot.style.backgroundColor = peer.color;
        const name = document.createElement('span');
        name.className = 'person-name';
        name.textContent = peer.name;
        li.append(dot, name);
        return li;
      }),
    );
    count.textContent = String(peers.length + 1);
    avatars.replaceChildren(avatar(me, `${me.name} (you)`), ...peers.map((p) => avatar(p, p.name)));
  };
  presence.onChange(draw);
  draw();
}
