// The sync session (the engine's sans-IO protocol client) against a small relay written here
// from docs/PROTOCOL.md: handshake, joins, updates, acks, presence, reconnects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Doc, SyncSession, WeftError } from 'weft-crdt';

// ---- frame codec (docs/PROTOCOL.md, section 2 and 3)
const varint = (n) => {
  const out = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
};
const bytes = (b) => [...varint(b.length), ...b];
const string = (s) => bytes(new TextEncoder().encode(s));
const frame = (...parts) => new Uint8Array(parts.flat());

class Reader {
  constructor(b) {
    this.b = b;
    this.i = 0;
  }
  u8() {
    return this.b[this.i++];
  }
  varint() {
    let n = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.u8();
      n |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (!(b & 0x80)) return n;
    }
  }
  bytes() {
    const n = Number(this.varint());
    const out = this.b.slice(this.i, this.i + n);
    this.i += n;
    return out;
  }
  string() {
    return new TextDecoder().decode(this.bytes());
  }
}

/** A relay holding one Doc per document id, speaking protocol version 1 (no auth, no store). */
class Relay {
  constructor() {
    this.docs = new Map();
    this.clients = [];
    this.nextClient = 1;
  }
  connect(send) {
    const client = { id: this.nextClient++, send, handles: new Map() };
    this.clients.push(client);
    return {
      deliver: (f) => this.onFrame(client, f),
      close: () => (this.clients = this.clients.filter((c) => c !== client)),
    };
  }
  onFrame(c, f) {
    const r = new Reader(f);
    const tag = r.u8();
    if (tag === 0x01) {
      assert.deepEqual([...f.slice(1, 5)], [0x77, 0x65, 0x66, 0x74]);
      c.send(frame([0x81, 1], varint(c.id), varint(1 << 20), varint(1 << 19), varint(1024), varint(30000), varint(8)));
    } else if (tag === 0x02) {
      const id = r.string();
      const sv = r.bytes();
      if (!this.docs.has(id)) this.docs.set(id, new Doc({ replicaId: '0' }));
      const doc = this.docs.get(id);
      const handle = c.handles.size + 1;
      c.handles.set(handle, id);
      c.send(frame([0x82], varint(handle), string(id), [0], bytes(doc.stateVector()), bytes(doc.encodeStateAsUpdate(sv))));
    } else if (tag === 0x04) {
      const handle = Number(r.varint());
      const batch = r.varint();
      const update = r.bytes();
      const id = c.handles.get(handle);
      this.docs.get(id).applyUpdate(update);
      c.send(frame([0x85], varint(handle), varint(batch), [0]));
      for (const other of this.clients) {
        if (other === c) continue;
        for (const [h, d] of other.handles) if (d === id) other.send(frame([0x86], varint(h), bytes(update)));
      }
    } else if (tag === 0x05) {
      const handle = Number(r.varint());
      const clock = r.varint();
      const data = r.bytes();
      const id = c.handles.get(handle);
      for (const other of this.clients) {
        if (other === c) continue;
        for (const [h, d] of other.handles) {
          if (d === id) other.send(frame([0x87], varint(h), varint(c.id), varint(clock), bytes(data)));
        }
      }
    }
  }
}

/** A client: a Doc, a SyncSession and an in-memory socket to the relay. */
function client(relay, docId, replicaId) {
  const doc = new Doc({ replicaId });
  const session = new SyncSession();
  const events = [];
  let socket = null;
  const inbox = [];
  const handle = (out) => {
    events.push(...out.events);
    for (const f of out.frames) socket?.deliver(f);
  };
  doc.on('update', (u, _origin, local) => {
    if (local) handle(session.localUpdate(docId, u));
  });
  const self = {
    doc,
    session,
    events,
    open() {
      socket = relay.connect((f) => inbox.push(f));
      socket.deliver(session.connect());
    },
    close() {
      socket.close();
      socket = null;
      inbox.length = 0;
      return session.disconnected();
    },
    /** Processes every frame the relay sent, until none are left. */
    pump() {
      while (inbox.length > 0) handle(session.receive(inbox.shift()));
    },
  };
  handle(session.addDoc(docId, doc));
  return self;
}

const pumpAll = (...cs) => {
  for (let k = 0; k < 5; k++) for (const c of cs) c.pump();
};

test('two clients sync through the relay: join, updates, acks', () => {
  const relay = new Relay();
  const a = client(relay, 'notes', '1');
  const b = client(relay, 'notes', '2');
  a.doc.getText('t').insert(0, 'offline edit ');
  a.open();
  b.open();
  pumpAll(a, b);
  assert.equal(a.session.connected, true);
  assert.match(a.session.clientId, /^\d+$/);
  assert.equal(a.session.limits.maxDocuments, 8);
  assert.ok(a.events.some((e) => e.type === 'connected'));
  assert.ok(a.events.some((e) => e.type === 'synced' && e.doc === 'notes' && e.access === 'read-write'));
  assert.equal(b.doc.getText('t').toString(), 'offline edit ');
  b.doc.getText('t').insert(13, 'from b');
  pumpAll(a, b);
  assert.equal(a.doc.getText('t').toString(), 'offline edit from b');
  assert.equal(b.session.unacked('notes'), 0);
  const acked = b.events.filter((e) => e.type === 'acked');
  assert.equal(acked.length, 1);
  assert.equal(acked[0].status, 'ok');
  assert.match(acked[0].batch, /^\d+$/);
});

test('remote updates applied by the session reach observers with the session origin', () => {
  const relay = new Relay();
  const a = client(relay, 'd', '1');
  const b = client(relay, 'd', '2');
  a.open();
  b.open();
  pumpAll(a, b);
  const seen = [];
  b.doc.getText('t').observe((e) => seen.push([e.origin, e.local, e.delta]));
  a.doc.getText('t').insert(0, 'hi');
  pumpAll(a, b);
  assert.deepEqual(seen, [['sync', false, [{ insert: 'hi' }]]]);
});

test('edits made while disconnected are sent after reconnecting', () => {
  const relay = new Relay();
  const a = client(relay, 'd', '1');
  const b = client(relay, 'd', '2');
  a.open();
  b.open();
  pumpAll(a, b);
  const retry = a.close();
  assert.equal(retry.kind, 'backoff');
  const delay = SyncSession.retryDelay(retry, 0, 1);
  assert.equal(delay, retry.minMs);
  assert.equal(SyncSession.retryDelay({ kind: 'never' }, 0, 1), undefined);
  a.doc.getText('t').insert(0, 'while away');
  assert.equal(a.session.connected, false);
  assert.equal(a.session.unacked('d'), 1);
  a.open();
  pumpAll(a, b);
  assert.equal(b.doc.getText('t').toString(), 'while away');
  assert.equal(a.session.unacked('d'), 0);
});

test('presence travels to the other clients', () => {
  const relay = new Relay();
  const a = client(relay, 'd', '1');
  const b = client(relay, 'd', '2');
  a.open();
  b.open();
  pumpAll(a, b);
  const out = a.session.setPresence('d', new TextEncoder().encode('{"caret":3}'));
  for (const f of out.frames) relay.onFrame(relay.clients[0], f);
  pumpAll(a, b);
  const p = b.events.find((e) => e.type === 'presence');
  assert.ok(p);
  assert.equal(new TextDecoder().decode(p.data), '{"caret":3}');
  assert.equal(p.client, a.session.clientId);
});

test('bad frames and arguments throw WeftError; the session stays usable', () => {
  const s = new SyncSession({ token: 'secret' });
  const hello = s.connect();
  assert.deepEqual([...hello.slice(0, 7)], [0x01, 0x77, 0x65, 0x66, 0x74, 1, 1]);
  assert.equal(new TextDecoder().decode(hello.slice(8)), 'secret');
  assert.throws(() => s.receive(new Uint8Array([0xff, 1])), (e) => e instanceof WeftError && e.code === 'MALFORMED_UPDATE');
  assert.throws(() => s.receive('frame'), (e) => e instanceof WeftError && e.code === 'INVALID_ARGUMENT');
  assert.throws(() => s.join('unknown'), /unknown document/);
  assert.throws(() => SyncSession.retryDelay({ kind: 'soon' }, 0, 0), WeftError);
  const out = s.receive(frame([0x88, 9], string('nope')));
  assert.deepEqual(out.events, [{ type: 'error', status: 'bad_request', message: 'nope' }]);
});
