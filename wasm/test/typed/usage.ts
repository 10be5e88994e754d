// Type-checked (never run) by wasm/test/typings.test.mjs: every public signature of weft-crdt
// is precise — no `any` — and misuse is a type error.
import {
  Doc,
  TextRef,
  ListRef,
  MapRef,
  CounterRef,
  SetRef,
  RegisterRef,
  Cursor,
  UndoManager,
  SyncSession,
  WeftError,
  mergeUpdates,
} from 'weft-crdt';
import type {
  Content,
  DocOptions,
  SharedType,
  TextDelta,
  TextEvent,
  ListEvent,
  MapEvent,
  CounterEvent,
  SetEvent,
  RegisterEvent,
  Value,
  WeftErrorCode,
  SyncEvent,
  SyncOutput,
  LocalUpdateOutput,
  Retry,
  SyncLimits,
} from 'weft-crdt';

/** Fails to compile unless `A` and `B` are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<A, B>(_: Equal<A, B>): void {}
/** True when `T` is `any`. */
type IsAny<T> = 0 extends 1 & T ? true : false;

const options: DocOptions = { replicaId: 5n };
const doc = new Doc(options);
const doc2 = new Doc();
expectType<string, typeof doc.replicaId>(true);

const text: TextRef = doc.getText('t');
const list: ListRef = doc.getList('l');
const map: MapRef = doc.getMap('m');
const counter: CounterRef = doc.getCounter('c');
const set: SetRef = doc.getSet('s');
const register: RegisterRef = doc.getRegister('r');

text.insert(0, 'hi');
text.delete(0, 1);
text.applyDelta([{ retain: 1 }, { insert: 'x' }, { delete: 1 }]);
expectType<string, ReturnType<typeof text.toString>>(true);
expectType<number, typeof text.length>(true);
text.observe((e) => {
  expectType<TextEvent, typeof e>(true);
  expectType<TextDelta[], typeof e.delta>(true);
  expectType<TextRef, typeof e.target>(true);
  expectType<unknown, typeof e.origin>(true);
  expectType<boolean, typeof e.local>(true);
});

list.insert(0, [1, 'two', null, true, { a: [1n] }, new Uint8Array(2)]);
list.push([1]);
list.delete(0);
expectType<Content | undefined, ReturnType<typeof list.get>>(true);
expectType<Content[], ReturnType<typeof list.toArray>>(true);
list.observe((e: ListEvent) => e.delta);

map.set('k', { nested: ['v'] });
expectType<Content | undefined, ReturnType<typeof map.get>>(true);
expectType<boolean, ReturnType<typeof map.has>>(true);
expectType<string[], ReturnType<typeof map.keys>>(true);
map.observe((e: MapEvent) => e.keys.map((k) => k.action));
const nestedText: TextRef = map.setContainer('body', 'text');
const nestedMap: MapRef = list.insertContainer(0, 'map');
const nestedCounter: CounterRef = register.setContainer('counter');
nestedText.insert(0, 'x');
nestedMap.delete('x');
nestedCounter.increment();

counter.increment();
counter.increment(2n);
counter.decrement(3);
expectType<number, typeof counter.value>(true);
expectType<bigint, typeof counter.bigValue>(true);
counter.observe((e: CounterEvent) => e.delta);

set.add('x');
expectType<boolean, ReturnType<typeof set.delete>>(true);
expectType<Value[], ReturnType<typeof set.values>>(true);
set.observe((e: SetEvent) => e.added);

register.set('v');
register.observe((e: RegisterEvent) => e.newValue);

const n: number = doc.transact(() => 42, 'origin');
const s: string = doc.transact(() => 'x');
doc.on('update', (update, origin, local) => {
  expectType<Uint8Array, typeof update>(true);
  expectType<unknown, typeof origin>(true);
  expectType<boolean, typeof local>(true);
});
doc2.applyUpdate(doc.encodeStateAsUpdate(doc2.stateVector()), { provider: 1 });
const merged: Uint8Array = mergeUpdates([doc.encodeStateAsUpdate()]);
const loaded: Doc = Doc.load(merged, { replicaId: '7' });
expectType<boolean, typeof loaded.hasPending>(true);
expectType<Record<string, Value>, ReturnType<typeof doc.toJSON>>(true);

const cursor: Cursor = text.cursor(0, 'before');
expectType<number | undefined, ReturnType<typeof cursor.resolve>>(true);
const sameCursor: Cursor = Cursor.decode(cursor.encode());
list.cursor(0);

const undo = new UndoManager(doc, [text, map], { captureTimeout: 100, trackedOrigins: ['editor'] });
new UndoManager(doc, text);
expectType<boolean, ReturnType<typeof undo.undo>>(true);

const session = new SyncSession({ token: 'jwt' });
const out: SyncOutput = session.addDoc('id', doc);
const local: LocalUpdateOutput = session.localUpdate('id', new Uint8Array());
expectType<string, typeof local.batch>(true);
for (const e of session.receive(new Uint8Array()).events) {
  const ev: SyncEvent = e;
  if (ev.type === 'rejoin') expectType<number, typeof ev.delayMs>(true);
  if (ev.type === 'acked') expectType<string, typeof ev.batch>(true);
}
const retry: Retry = session.disconnected(1006);
const delay: number | undefined = SyncSession.retryDelay(retry, 0, Math.random());
const limits: SyncLimits | undefined = session.limits;

try {
  text.insert(99, 'x');
} catch (e) {
  if (e instanceof WeftError) {
    const code: WeftErrorCode = e.code;
    const offset: number | undefined = e.offset;
    void code;
    void offset;
  }
}

{
  using scoped = new Doc();
  scoped.getText('t').insert(0, 'freed at the end of the block');
}

const shared: SharedType[] = [text, list, map, counter, set, register];

// No public signature leaks `any`.
expectType<false, IsAny<ReturnType<typeof map.get>>>(true);
expectType<false, IsAny<Parameters<typeof map.set>[1]>>(true);
expectType<false, IsAny<Parameters<typeof doc.applyUpdate>[1]>>(true);
expectType<false, IsAny<ReturnType<typeof doc.toJSON>>>(true);
expectType<false, IsAny<Parameters<typeof list.insert>[1]>>(true);

// Misuse does not compile.
// @ts-expect-error an index is a number
text.insert('0', 'x');
// @ts-expect-error only 'update' events exist
doc.on('change', () => {});
// @ts-expect-error functions are not values
map.set('k', () => 1);
// @ts-expect-error undefined is not a value
list.push([undefined]);
// @ts-expect-error replica ids are strings or bigints, never lossy numbers
new Doc({ replicaId: 5 });
// @ts-expect-error updates are Uint8Array
doc.applyUpdate([1, 2, 3]);
// @ts-expect-error unknown container kind
map.setContainer('k', 'tree');
// @ts-expect-error assoc is 'before' or 'after'
text.cursor(0, 'left');
// @ts-expect-error the init functions of the generated bindings are not exported
import('weft-crdt').then((m) => m.initSync);

void [n, s, out, delay, limits, sameCursor, shared];
