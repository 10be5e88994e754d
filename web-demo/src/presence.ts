// Presence: who is here, and where their cursors and selections are.
//
// Each client publishes a small JSON blob: its name, colour and selection. Selection ends are
// Weft cursors (`TextRef.cursor`), which stay attached to the characters around them, so a
// peer's caret is drawn in the right place even after edits the peer has not made yet.

import { StateEffect } from '@codemirror/state';
import type { Extension, Range } from '@codemirror/state';
import { Decoration, EditorView, ViewPlugin, WidgetType } from '@codemirror/view';
import type { DecorationSet, ViewUpdate } from '@codemirror/view';
import { Cursor } from 'weft-crdt';
import type { Doc, TextRef } from 'weft-crdt';

/** A user as others see them. */
export interface User {
  name: string;
  color: string;
}

/** A peer on the document. */
export interface Peer extends User {
  client: string;
  anchor: Cursor | undefined;
  head: Cursor | undefined;
}

interface Blob {
  name: string;
  color: string;
  anchor?: string;
  head?: string;
}

const FIRST = ['Ada', 'Grace', 'Alan', 'Barbara', 'Edsger', 'Frances', 'Linus', 'Margaret', 'Ken', 'Radia'];
const LAST = ['Otter', 'Heron', 'Lynx', 'Falcon', 'Badger', 'Marten', 'Ibis', 'Hare'];

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}

/** A random friendly name. */
export function randomName(): string {
  return `${pick(FIRST)} ${pick(LAST)}`;
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(s: string): Uint8Array {
  const raw = atob(s);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

function decodeCursor(s: unknown): Cursor | undefined {
  if (typeof s !== 'string') return undefined;
  try {
    return Cursor.decode(fromBase64(s));
  } catch {
    return undefined;
  }
}

/** Signals that remote presence changed and the editor's decorations must be redrawn. */
const presenceChanged = StateEffect.define<null>();

/** Tracks the peers of one document and publishes the local user's presence. */
export class Presence {
  private readonly doc: Doc;
  private readonly text: TextRef;
  private readonly publish: (blob: Uint8Array) => void;
  private readonly peers = new Map<string, Peer>();
  private readonly listeners = new Set<() => void>();
  private readonly views = new Set<EditorView>();
  private user: User;
  private selection: { anchor: number; head: number } | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastSent = 0;
  private static readonly MIN_INTERVAL_MS = 80; // the server allows 30 presence messages a second

  constructor(doc: Doc, text: TextRef, user: User, publish: (blob: Uint8Array) => void) {
    this.doc = doc;
    this.text = text;
    this.user = user;
    this.publish = publish;
  }

  /** The local user. */
  get me(): User {
    return this.user;
  }

  /** Renames or recolours the local user. */
  setUser(user: User): void {
    this.user = user;
    this.schedule();
    this.changed();
  }

  /** Records the local selection (UTF-16 offsets) and publishes it soon. */
  setSelection(anchor: number, head: number): void {
    if (this.selection?.anchor === anchor && this.selection.head === head) return;
    this.selection = { anchor, head };
    this.schedule();
  }

  /** Publishes the local presence now (for example after reconnecting). */
  publishNow(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.lastSent = Date.now();
    const blob: Blob = { name: this.user.name, color: this.user.color };
    if (this.selection) {
      const { anchor, head } = this.selection;
      const len = this.text.length;
      if (anchor <= len && head <= len) {
        blob.anchor = toBase64(this.text.cursor(anchor, anchor < head ? 'after' : 'before').encode());
        blob.head = toBase64(this.text.cursor(head, head < anchor ? 'after' : 'before').encode());
      }
    }
    this.publish(new TextEncoder().encode(JSON.stringify(blob)));
  }

  /** Handles a peer's presence blob (empty: the peer left). */
  receive(client: string, data: Uint8Array): void {
    const old = this.peers.get(client);
    old?.anchor?.free();
    old?.head?.free();
    if (data.length === 0) {
      this.peers.delete(client);
    } else {
      let blob: Partial<Blob>;
      try {
        blob = JSON.parse(new TextDecoder().decode(data)) as Partial<Blob>;
      } catch {
        return; // not ours to show
      }
      this.peers.set(client, {
        client,
        name: typeof blob.name === 'string' ? blob.name.slice(0, 40) : 'Someone',
        color: typeof blob.color === 'string' && /^#[0-9a-f]{6}$/i.test(blob.color) ? blob.color : '#888888',
        anchor: decodeCursor(blob.anchor),
        head: decodeCursor(blob.head),
      });
    }
    this.changed();
  }

  /** The peers, in a stable order. */
  list(): Peer[] {
    return [...this.peers.values()].sort((a, b) => a.name.localeCompare(b.name) || a.client.localeCompare(b.client));
  }

  /** Calls `listener` whenever the set of peers or the local user changes. */
  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  /** The editor extension that publishes the local selection and draws remote ones. */
  extension(): Extension {
    const presence = this;
    const plugin = ViewPlugin.fromClass(
      class {
        decorations: DecorationSet;
        constructor(readonly view: EditorView) {
          presence.views.add(view);
          this.decorations = presence.decorations(view);
        }
        update(update: ViewUpdate): void {
          const redraw =
            update.docChanged ||
            update.transactions.some((tr) => tr.effects.some((e) => e.is(presenceChanged)));
          if (redraw) this.decorations = presence.decorations(update.view);
          if (update.selectionSet || update.docChanged) {
            const { anchor, head } = update.state.selection.main;
            presence.setSelection(anchor, head);
          }
        }
        destroy(): void {
          presence.views.delete(this.view);
        }
      },
      { decorations: (v) => v.decorations },
    );
    return [plugin, remoteTheme];
  }

  private decorations(view: EditorView): DecorationSet {
    const ranges: Range<Decoration>[] = [];
    const length = view.state.doc.length;
    for (const peer of this.peers.values()) {
      const head = peer.head?.resolve(this.doc);
      if (head === undefined || head > length) continue;
      const anchor = peer.anchor?.resolve(this.doc) ?? head;
      const from = Math.min(anchor, head, length);
      const to = Math.min(Math.max(anchor, head), length);
      if (from < to) {
        ranges.push(
          Decoration.mark({
            class: 'weft-remote-selection',
            attributes: { style: `background-color: ${peer.color}33` },
          }).range(from, to),
        );
      }
      ranges.push(
        Decoration.widget({ widget: new CaretWidget(peer.name, peer.color), side: head === from && from < to ? -1 : 1 }).range(head),
      );
    }
    return Decoration.set(ranges, true);
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    const wait = Math.max(0, this.lastSent + Presence.MIN_INTERVAL_MS - Date.now());
    this.timer = setTimeout(() => this.publishNow(), wait);
  }

  private changed(): void {
    for (const view of this.views) view.dispatch({ effects: presenceChanged.of(null) });
    for (const listener of this.listeners) listener();
  }
}

/** A peer's caret: a coloured bar with the peer's name above it. */
class CaretWidget extends WidgetType {
  constructor(
    readonly name: string,
    readonly color: string,
  ) {
    super();
  }

  override eq(other: CaretWidget): boolean {
    return other.name === this.name && other.color === this.color;
  }

  toDOM(): HTMLElement {
    const caret = document.createElement('span');
    caret.className = 'weft-remote-caret';
    caret.style.borderColor = this.color;
    caret.setAttribute('aria-label', `${this.name}'s cursor`);
    const label = document.createElement('span');
    label.className = 'weft-remote-caret-label';
    label.style.backgroundColor = this.color;
    label.textContent = this.name;
    caret.append(label);
    return caret;
  }

  override ignoreEvent(): boolean {
    return true;
  }
}

const remoteTheme = EditorView.baseTheme({
  '.weft-remote-caret': {
    position: 'relative',
    borderLeft: '2px solid',
    marginLeft: '-1px',
    marginRight: '-1px',
    pointerEvents: 'none',
  },
  '.weft-remote-caret-label': {
    position: 'absolute',
    bottom: '100%',
    left: '-2px',
    padding: '0 5px',
    borderRadius: '4px 4px 4px 0',
    color: 'white',
    font: '600 10.5px/15px system-ui, sans-serif',
    whiteSpace: 'nowrap',
    userSelect: 'none',
    zIndex: '10',
  },
});
