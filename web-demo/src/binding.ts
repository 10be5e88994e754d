// Binds a CodeMirror 6 editor to a Weft Text, both ways.
//
// Local edits: each editor transaction's changes become Text deletes and inserts (positions in
// UTF-16 code units, which is what both CodeMirror and weft-crdt count) in one Weft transaction
// tagged `EDITOR_ORIGIN`, so the undo manager captures them. Everything else that changes the
// Text (remote updates, undo and redo) arrives as a delta and becomes one editor transaction;
// CodeMirror maps the local selection through it, so the caret stays where the user left it.

import { Annotation, EditorSelection, EditorState } from '@codemirror/state';
import type { ChangeSpec, Extension, Transaction } from '@codemirror/state';
import { EditorView, keymap } from '@codemirror/view';
import type { Doc, TextEvent, TextRef, UndoManager } from 'weft-crdt';

/** The origin of the Weft transactions the editor makes. */
export const EDITOR_ORIGIN = 'editor';

/** Marks editor transactions that mirror a Text change (they must not be sent back). */
const fromWeft = Annotation.define<boolean>();

/** Turns a Text delta into CodeMirror changes (positions in the text before the change). */
export function deltaToChanges(delta: TextEvent['delta']): ChangeSpec[] {
  const changes: ChangeSpec[] = [];
  let pos = 0;
  for (const step of delta) {
    if ('retain' in step) {
      pos += step.retain;
    } else if ('insert' in step) {
      changes.push({ from: pos, insert: step.insert });
    } else {
      changes.push({ from: pos, to: pos + step.delete });
      pos += step.delete;
    }
  }
  return changes;
}

/** Applies an editor transaction's changes to `text`, in one Weft transaction. */
function applyToText(doc: Doc, text: TextRef, tr: Transaction): void {
  const edits: { from: number; to: number; insert: string }[] = [];
  tr.changes.iterChanges((fromA, toA, _fromB, _toB, inserted) => {
    edits.push({ from: fromA, to: toA, insert: inserted.toString() });
  });
  doc.transact(() => {
    // From the end backwards, so the positions (in the old text) of earlier edits stay valid.
    for (let i = edits.length - 1; i >= 0; i--) {
      const { from, to, insert } = edits[i]!;
      if (to > from) text.delete(from, to - from);
      if (insert.length > 0) text.insert(from, insert);
    }
  }, EDITOR_ORIGIN);
}

/** Options of `weftBinding()`. */
export interface BindingOptions {
  doc: Doc;
  text: TextRef;
  undo: UndoManager;
}

/**
 * The editor extension that keeps the editor and `text` equal, plus undo/redo key bindings
 * (Mod-z, Mod-y, Mod-Shift-z) driven by Weft's undo manager: only this user's edits are undone.
 */
export function weftBinding({ doc, text, undo }: BindingOptions): Extension {
  const sync = EditorView.updateListener.of((update) => {
    for (const tr of update.transactions) {
      if (tr.docChanged && !tr.annotation(fromWeft)) applyToText(doc, text, tr);
    }
  });
  const undoKeys = keymap.of([
    { key: 'Mod-z', run: () => undo.undo(), preventDefault: true },
    { key: 'Mod-y', run: () => undo.redo(), preventDefault: true },
    { key: 'Mod-Shift-z', run: () => undo.redo(), preventDefault: true },
  ]);
  return [sync, undoKeys, EditorState.lineSeparator.of('\n')];
}

/**
 * Mirrors every change of `text` not made by the editor (remote updates, undo, redo) into
 * `view`. Returns a function that stops it.
 */
export function followText(view: EditorView, text: TextRef): () => void {
  const listener = (event: TextEvent): void => {
    if (event.origin === EDITOR_ORIGIN && event.local) return;
    const changes = view.state.changes(deltaToChanges(event.delta));
    const spec: Parameters<EditorView['dispatch']>[0] = {
      changes,
      annotations: [fromWeft.of(true)],
    };
    if (event.local) {
      // Undo and redo: put the caret where the change happened, as editors do.
      let caret: number | undefined;
      changes.iterChangedRanges((_fromA, _toA, _fromB, toB) => {
        caret = toB;
      });
      if (caret !== undefined) {
        spec.selection = EditorSelection.cursor(caret);
        spec.scrollIntoView = true;
      }
    }
    view.dispatch(spec);
    if (view.state.doc.length !== text.length) {
      // Never expected; if it happens, the Text wins and the editor is reset to it.
      view.dispatch({
        changes: { from: 0, to: view.state.doc.length, insert: text.toString() },
        annotations: [fromWeft.of(true)],
      });
    }
  };
  text.observe(listener);
  return () => text.unobserve(listener);
}
