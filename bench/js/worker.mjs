// Runs every measure for one library on one trace in a fresh process (run with --expose-gc) and
// prints one JSON object. Used by run.mjs; `node --expose-gc worker.mjs <adapter> <trace> [load-memory <file>]`.
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { loadTrace } from './lib/trace.mjs';

const [adapterName, traceName, mode, file] = process.argv.slice(2);
const maxRuns = Number(process.env.WEFT_BENCH_REPEAT ?? 5);
const budgetMs = Number(process.env.WEFT_BENCH_BUDGET_MS ?? 8000);

if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');

// WebAssembly memories of every instance the library creates (read at measurement time).
const memories = new Set();
const track = (instance) => {
  for (const v of Object.values(instance.exports)) if (v instanceof WebAssembly.Memory) memories.add(v);
};
const NativeInstance = WebAssembly.Instance;
WebAssembly.Instance = function Instance(module, imports) {
  const instance = new NativeInstance(module, imports);
  track(instance);
  return instance;
};
WebAssembly.Instance.prototype = NativeInstance.prototype;
const nativeInstantiate = WebAssembly.instantiate;
WebAssembly.instantiate = async (...args) => {
  const result = await nativeInstantiate(...args);
  track(result.instance ?? result);
  return result;
};
const wasmBytes = () => [...memories].reduce((n, m) => n + m.buffer.byteLength, 0);

// JS heap after full collections (finalizers and sweeping get a turn in between).
const heap = async () => {
  for (let i = 0; i < 4; i++) {
    globalThis.gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
};
// JS heap growth since `base` (never negative: collection noise is of the order of 1 MB) and
// the whole WebAssembly memory of the library.
const memory = async (base) => ({ heap: Math.max(0, (await heap()) - base), wasm: wasmBytes() });

const lib = await import(`./adapters/${adapterName}.mjs`);
const trace = loadTrace(traceName);
// Operations as [kind, pos, arg]: kind 0 inserts text `arg`, kind 1 deletes `arg` code units.
const txns = trace.txns.map((ps) => {
  const ops = [];
  for (const [pos, del, ins] of ps) {
    if (del > 0) ops.push([1, pos, del]);
    if (ins.length > 0) ops.push([0, pos, ins]);
  }
  return ops;
}).filter((ops) => ops.length > 0);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
// Runs `f` (which returns elapsed ms) at least once, at most maxRuns times, within the time budget.
const repeat = (f) => {
  const times = [];
  let spent = 0;
  while (times.length < maxRuns && (times.length === 0 || spent < budgetMs)) {
    const t = f();
    times.push(t);
    spent += t;
  }
  return { ms: median(times), runs: times.length };
};
const check = (ok, what) => {
  if (!ok) throw new Error(`${lib.name} on ${traceName}: ${what}`);
};

if (mode === 'load-memory') {
  const bytes = new Uint8Array(readFileSync(file));
  const base = await heap();
  const loaded = lib.load(bytes);
  check(loaded.text() === trace.end, 'loaded text differs from the trace');
  const mem = await memory(base);
  process.stdout.write(JSON.stringify({ loadMemory: mem }));
  process.exit(0);
}

// 1. Replay: one transaction and one update event per edit.
let updates = 0;
let updateBytes = 0;
const onUpdate = (u) => {
  updates++;
  updateBytes += u.length;
};
const base = await heap();
let t0 = performance.now();
let first = lib.replay(txns, onUpdate);
const firstMs = performance.now() - t0;
check(first.text() === trace.end, 'replayed text differs from the trace');
const replayMemory = await memory(base);
const updatesPerRun = updates;
const updateBytesPerRun = updateBytes;
check(updatesPerRun === txns.length, `expected ${txns.length} update events, got ${updatesPerRun}`);

// 2. Encoding of the whole document.
t0 = performance.now();
const encoded = lib.encode(first.doc);
const encodeMs = performance.now() - t0;
if (file) writeFileSync(file, encoded);
lib.dispose(first.doc);
first = null;

let runs = 1;
const replayTimes = [firstMs];
let spent = firstMs;
while (runs < maxRuns && spent < budgetMs) {
  const t = performance.now();
  const r = lib.replay(txns, () => {});
  const ms = performance.now() - t;
  lib.dispose(r.doc);
  replayTimes.push(ms);
  spent += ms;
  runs++;
}

// 3. Loading the encoding and reading the text.
const load = repeat(() => {
  const t = performance.now();
  const loaded = lib.load(encoded);
  const text = loaded.text();
  const ms = performance.now() - t;
  check(text === trace.end, 'loaded text differs from the trace');
  lib.dispose(loaded.doc);
  return ms;
});

// 4. Concurrent editing: two replicas take the first `concurrentTxns` transactions of the trace in
// turn (positions clamped to the local length). They exchange updates in rounds: within a round
// each replica makes `round` edits without seeing the other's, then every update of the round is
// delivered, one `receive` per update. At the end both replicas must hold the same text.
const concurrentTxns = Math.min(txns.length, Number(process.env.WEFT_BENCH_CONCURRENT_TXNS ?? 4000));
const round = Number(process.env.WEFT_BENCH_ROUND ?? 10);
const concurrent = repeat(() => {
  const outbox = [[], []];
  const t = performance.now();
  const peers = [0, 1].map((i) => lib.peer((u) => outbox[i].push(u), i));
  const deliver = (to) => {
    const from = outbox[1 - to];
    for (let k = 0; k < from.length; k++) peers[to].receive(from[k]);
    from.length = 0;
  };
  deliver(0);
  deliver(1);
  for (let i = 0; i < concurrentTxns; i++) {
    const p = peers[i & 1];
    let len = p.length();
    const ops = [];
    for (const [kind, pos0, arg] of txns[i]) {
      const pos = Math.min(pos0, len);
      if (kind === 0) {
        ops.push([0, pos, arg]);
        len += arg.length;
      } else {
        const n = Math.min(arg, len - pos);
        if (n > 0) ops.push([1, pos, n]);
        len -= n;
      }
    }
    if (ops.length > 0) p.edit(ops);
    if (i % (2 * round) === 2 * round - 1) {
      deliver(0);
      deliver(1);
    }
  }
  deliver(0);
  deliver(1);
  const a = peers[0].text();
  const b = peers[1].text();
  const ms = performance.now() - t;
  check(a === b, 'concurrent replicas did not converge');
  for (const p of peers) p.dispose();
  return ms;
});

const wasm = lib.wasmFile ? readFileSync(lib.wasmFile) : null;
process.stdout.write(
  JSON.stringify({
    library: lib.name,
    package: lib.pkg,
    trace: traceName,
    transactions: txns.length,
    edits: trace.edits,
    replayMs: median(replayTimes),
    replayRuns: replayTimes.length,
    updates: updatesPerRun,
    updateBytes: updateBytesPerRun,
    encodeMs,
    encodedBytes: encoded.length,
    encodedGzipBytes: gzipSync(encoded).length,
    loadMs: load.ms,
    loadRuns: load.runs,
    concurrentTxns,
    concurrentRound: round,
    concurrentMs: concurrent.ms,
    concurrentRuns: concurrent.runs,
    replayMemory,
    wasmBytes: wasm ? wasm.length : null,
    wasmGzipBytes: wasm ? gzipSync(wasm, { level: 9 }).length : null,
  }),
);
