// The side panel: the other shared types of the same document, each live.
//   title     — LWW register  (last writer wins)
//   likes     — PN-counter    (concurrent increments add up)
//   tags      — OR-Set        (a concurrent add wins over a remove)
//   checklist — List of Maps  ({ text, done } per item)
//
// Every section redraws from the document after each transaction (coalesced per task), and
// only when its own value changed, so typing elsewhere never disturbs it.

import { MapRef } from 'weft-crdt';
import type { CounterRef, Doc, ListRef, RegisterRef, SetRef, Value } from 'weft-crdt';

/** The shared types the panel edits. */
export interface PanelTypes {
  title: RegisterRef;
  likes: CounterRef;
  tags: SetRef;
  checklist: ListRef;
}

/** The panel's shared types in `doc`. */
export function panelTypes(doc: Doc): PanelTypes {
  return {
    title: doc.getRegister('title'),
    likes: doc.getCounter('likes'),
    tags: doc.getSet('tags'),
    checklist: doc.getList('checklist'),
  };
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function byId<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} is missing from index.html`);
  return node as T;
}

interface ChecklistItem {
  text: string;
  done: boolean;
}

function readChecklist(list: ListRef): ChecklistItem[] {
  return list.toJSON().map((v: Value) => {
    const o = v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) ? v : {};
    return { text: typeof o['text'] === 'string' ? o['text'] : '', done: o['done'] === true };
  });
}

/** Wires the side panel's controls to the document. */
export class SidePanel {
  private readonly types: PanelTypes;
  private readonly titleChanged: (title: string) => void;
  private readonly shown = new Map<string, string>();
  private scheduled = false;
  private readonly titleInput = byId<HTMLInputElement>('title');
  private readonly likeCount = byId<HTMLElement>('like-count');
  private readonly tagList = byId<HTMLUListElement>('tags');
  private readonly checklist = byId<HTMLUListElement>('checklist');
  private readonly checklistEmpty = byId<HTMLElement>('checklist-empty');
  private readonly checklistCount = byId<HTMLElement>('checklist-count');

  constructor(doc: Doc, onTitle: (title: string) => void) {
    this.types = panelTypes(doc);
    this.titleChanged = onTitle;
    const { title, likes, tags, checklist } = this.types;

    this.titleInput.addEventListener('input', () => title.set(this.titleInput.value));
    this.titleInput.addEventListener('blur', () => this.render());

    byId('like').addEventListener('click', () => likes.increment());
    byId('unlike').addEventListener('click', () => likes.decrement());

    const tagForm = byId<HTMLFormElement>('tag-form');
    const tagInput = byId<HTMLInputElement>('tag-input');
    tagForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const tag = tagInput.value.trim().toLowerCase().slice(0, 32);
      if (tag) tags.add(tag);
      tagInput.value = '';
    });
    this.tagList.addEventListener('click', (e) => {
      const button = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-tag]');
      if (button?.dataset['tag'] !== undefined) tags.delete(button.dataset['tag']);
    });

    const itemForm = byId<HTMLFormElement>('item-form');
    const itemInput = byId<HTMLInputElement>('item-input');
    itemForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const text = itemInput.value.trim().slice(0, 200);
      if (!text) return;
      // One transaction: the new item and its fields arrive together everywhere.
      doc.transact(() => {
        const item = checklist.insertContainer(checklist.length, 'map');
        item.set('text', text);
        item.set('done', false);
      });
      itemInput.value = '';
    });
    this.checklist.addEventListener('change', (e) => {
      const box = e.target as HTMLInputElement;
      const item = this.item(box.closest<HTMLElement>('li')?.dataset['index']);
      item?.set('done', box.checked);
    });
    this.checklist.addEventListener('click', (e) => {
      const button = (e.target as HTMLElement).closest<HTMLButtonElement>('button.remove');
      const index = Number(button?.closest<HTMLElement>('li')?.dataset['index']);
      if (button && Number.isInteger(index) && index < checklist.length) checklist.delete(index);
    });

    doc.on('update', () => this.schedule());
    this.render();
  }

  /** The nested map of checklist item `index`, if it is one. */
  private item(index: string | undefined): MapRef | undefined {
    const i = Number(index);
    if (index === undefined || !Number.isInteger(i)) return undefined;
    const content = this.types.checklist.get(i);
    return content instanceof MapRef ? content : undefined;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.render();
    });
  }

  /** Runs `draw` when `value` differs from what the section `key` shows. */
  private section(key: string, value: unknown, draw: () => void): void {
    const json = JSON.stringify(value);
    if (this.shown.get(key) === json) return;
    this.shown.set(key, json);
    draw();
  }

  private render(): void {
    const { title, likes, tags, checklist } = this.types;

    const titleValue = title.get();
    const titleText = typeof titleValue === 'string' ? titleValue : '';
    // Never rewrite the field under the user's fingers; it catches up on blur.
    if (document.activeElement !== this.titleInput && this.titleInput.value !== titleText) {
      this.titleInput.value = titleText;
    }
    this.section('title', titleText, () => this.titleChanged(titleText));

    this.section('likes', likes.value, () => {
      this.likeCount.textContent = String(likes.value);
    });

    const tagValues = tags.values().filter((v): v is string => typeof v === 'string');
    this.section('tags', tagValues, () => {
      this.tagList.replaceChildren(
        ...tagValues.map((tag) => {
          const remove = el('button', {
            type: 'button',
            className: 'tag-remove',
            title: `Remove ${tag}`,
            ariaLabel: `Remove tag ${tag}`,
            textContent: '×',
          });
          remove.dataset['tag'] = tag;
          return el('li', { className: 'tag' }, el('span', { textContent: tag }), remove);
        }),
      );
    });

    const items = readChecklist(checklist);
    this.section('checklist', items, () => {
      this.checklist.replaceChildren(
        ...items.map((item, index) => {
          const box = el('input', { type: 'checkbox', checked: item.done, ariaLabel: `Done: ${item.text}` });
          const li = el(
            'li',
            { className: item.done ? 'item done' : 'item' },
            el('label', {}, box, el('span', { textContent: item.text })),
            el('button', { type: 'button', className: 'remove', title: 'Remove item', ariaLabel: `Remove ${item.text}`, textContent: '×' }),
          );
          li.dataset['index'] = String(index);
          return li;
        }),
      );
      this.checklistEmpty.hidden = items.length > 0;
      const done = items.filter((i) => i.done).length;
      this.checklistCount.textContent = items.length ? `${done}/${items.length}` : '';
    });
  }
}
