// The browser provider: one WebSocket to weft-server, driven by the engine's own sans-IO sync
// session (`SyncSession` from weft-crdt), so framing, the join handshake, acks and rejoins are
// the same code the server runs. This file owns only the socket, timers and status reporting.

import { SyncSession } from 'weft-crdt';
import type { Doc, Retry, SyncEvent, SyncOutput, SyncStatus } from 'weft-crdt';

/** Where the connection stands. */
export type ConnectionState =
  | 'connecting' // a socket is opening or the handshake is under way
  | 'online' // joined: edits are sent as they are made
  | 'waiting' // disconnected; a reconnect is scheduled
  | 'paused' // the user switched the connection off ("offline" toggle)
  | 'failed'; // the server told us not to reconnect

/** Whether the local edits are durable on the server. */
export type SaveState =
  | 'saved' // the server has acknowledged every local edit (after it committed them)
  | 'saving' // edits are on the wire
  | 'queued'; // edits are kept locally until the connection is back

/** What the provider reports to the page. */
export interface ProviderStatus {
  connection: ConnectionState;
  save: SaveState;
  /** Local edits the server has not acknowledged yet. */
  unacked: number;
  /** When the next reconnect attempt starts (`Date.now()` time), while `waiting`. */
  retryAt: number | undefined;
  /** The latest problem worth showing, if any. */
  problem: string | undefined;
}

/** Another client's presence on this document (`data` empty: the client left). */
export interface PresenceMessage {
  client: string;
  data: Uint8Array;
}

/** Options of `new WeftProvider()`. */
export interface ProviderOptions {
  /** WebSocket URL of the server's `/ws` endpoint. */
  url: string;
  /** Document id, as the server names it. */
  docId: string;
  /** The local replica. */
  doc: Doc;
  /** True when `doc` was restored from local storage and may hold edits the server lacks. */
  restored: boolean;
  /** Access token (a signed JWT), when the server requires one. */
  token?: string | undefined;
}

type Listener<T> = (value: T) => void;

/** Statuses for which a join or update is retried by the session itself. */
const RETRIED: ReadonlySet<SyncStatus> = new Set(['rate_limited', 'unavailable', 'resync']);

/**
 * Exponential backoff with full jitter: a uniformly random delay below the exponential cap
 * (`minMs` doubled per failed attempt, at most `maxMs`). Close codes that ask for a long wait
 * (1013 and 4007: at least 5 s) keep that minimum.
 */
export function backoffDelay(retry: Retry, attempt: number, random: number): number | undefined {
  if (retry.kind !== 'backoff') return undefined;
  const cap = Math.min(retry.maxMs, retry.minMs * 2 ** Math.min(attempt, 20));
  const floor = retry.minMs >= 5000 ? retry.minMs : 0;
  return Math.round(floor + random * Math.max(0, cap - floor));
}

/** Syncs one document with weft-server over a WebSocket, reconnecting when the link drops. */
export class WeftProvider {
  readonly docId: string;
  private readonly url: string;
  private readonly doc: Doc;
  private readonly session: SyncSession;
  private socket: WebSocket | undefined;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectAt: number | undefined;
  private presenceTimer: ReturnType<typeof setInterval> | undefined;
  private readonly rejoinTimers = new Set<ReturnType<typeof setTimeout>>();
  private paused = false;
  private failed = false;
  private joined = false;
  private problem: string | undefined;
  private readonly remoteClients = new Set<string>();
  private readonly statusListeners = new Set<Listener<ProviderStatus>>();
  private readonly presenceListeners = new Set<Listener<PresenceMessage>>();
  private lastStatus = '';
  private readonly onUpdate = (update: Uint8Array, _origin: unknown, local: boolean): void => {
    if (!local) return; // remote updates came from the server: never send them back
    this.run(this.session.localUpdate(this.docId, update));
  };
  private readonly onBrowserOnline = (): void => {
    if (this.connectionState() === 'waiting') this.reconnectNow();
  };

  constructor(options: ProviderOptions) {
    this.url = options.url;
    this.docId = options.docId;
    this.doc = options.doc;
    this.session = new SyncSession(options.token === undefined ? {} : { token: options.token });
    this.run(this.session.addDoc(this.docId, this.doc));
    if (options.restored) {
      // The restored state may hold edits made offline before a reload. Reporting it as a local
      // update (while disconnected, so nothing is sent now) gives it a batch id: the next join
      // sends whatever the server lacks, and its ack tells us when that is durable.
      this.session.localUpdate(this.docId, this.doc.encodeStateAsUpdate());
    }
    this.doc.on('update', this.onUpdate);
    window.addEventListener('online', this.onBrowserOnline);
  }

  /** Opens the connection (call once). */
  start(): void {
    this.open();
  }

  /** Switches the connection off (`true`) or back on (`false`); edits are kept meanwhile. */
  setPaused(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    if (paused) {
      this.clearTimers();
      this.closeSocket(1000, 'paused by the user');
    } else {
      this.attempt = 0;
      this.failed = false;
      this.problem = undefined;
      this.open();
    }
    this.emitStatus();
  }

  /** Publishes this client's presence blob (an empty array clears it). */
  setPresence(data: Uint8Array): void {
    this.run(this.session.setPresence(this.docId, data));
  }

  /** Calls `listener` now and whenever the status changes. */
  onStatus(listener: Listener<ProviderStatus>): void {
    this.statusListeners.add(listener);
    listener(this.status());
  }

  /** Calls `listener` for each presence message of another client. */
  onPresence(listener: Listener<PresenceMessage>): void {
    this.presenceListeners.add(listener);
  }

  /** The current status. */
  status(): ProviderStatus {
    const connection = this.connectionState();
    const unacked = this.session.unacked(this.docId);
    const save: SaveState =
      unacked === 0 ? 'saved' : connection === 'online' ? 'saving' : 'queued';
    return {
      connection,
      save,
      unacked,
      retryAt: connection === 'waiting' ? this.reconnectAt : undefined,
      problem: this.problem,
    };
  }

  private connectionState(): ConnectionState {
    if (this.paused) return 'paused';
    if (this.failed) return 'failed';
    if (this.joined && this.session.connected) return 'online';
    if (this.socket !== undefined) return 'connecting';
    return 'waiting';
  }

  private open(): void {
    if (this.paused || this.socket !== undefined) return;
    this.reconnectAt = undefined;
    const socket = new WebSocket(this.url);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onopen = () => this.send(this.session.connect());
    socket.onmessage = (message: MessageEvent) => {
      if (this.socket !== socket) return;
      if (!(message.data instanceof ArrayBuffer)) {
        this.problem = 'the server sent a text frame';
        return;
      }
      let out: SyncOutput;
      try {
        out = this.session.receive(new Uint8Array(message.data));
      } catch (e) {
        // A frame we cannot decode is a bug on one side: close as the protocol says (1002,
        // do not reconnect) and show why.
        this.closeSocket(1002, 'undecodable frame');
        this.problem = `could not read a message from the server: ${(e as Error).message}`;
        this.emitStatus();
        return;
      }
      this.run(out);
    };
    socket.onclose = (event: CloseEvent) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.afterClose(this.disconnected(event.code), event.code, event.reason);
    };
    this.emitStatus();
  }

  private afterClose(retry: Retry, code: number, reason: string): void {
    this.joined = false;
    this.stopPresenceTimer();
    for (const timer of this.rejoinTimers) clearTimeout(timer);
    this.rejoinTimers.clear();
    for (const client of this.remoteClients) {
      this.emitPresence({ client, data: new Uint8Array() });
    }
    this.remoteClients.clear();
    if (this.paused) {
      this.emitStatus();
      return;
    }
    if (retry.kind === 'backoff') {
      this.scheduleReconnect(retry);
    } else {
      this.failed = true;
      this.problem =
        retry.kind === 'new-token'
          ? 'the access token expired'
          : `the server closed the connection (${code}${reason ? `: ${reason}` : ''})`;
      this.emitStatus();
    }
  }

  private scheduleReconnect(retry: Retry): void {
    if (this.paused || this.reconnectTimer !== undefined) return;
    const delay = backoffDelay(retry, this.attempt, Math.random()) ?? 0;
    this.attempt += 1;
    this.reconnectAt = Date.now() + delay;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.open();
    }, delay);
    this.emitStatus();
  }

  private reconnectNow(): void {
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.open();
  }

  /** Sends a call's frames in order and acts on its events. */
  private run(out: SyncOutput): void {
    for (const frame of out.frames) this.send(frame);
    for (const event of out.events) this.handle(event);
    this.emitStatus();
  }

  private send(frame: Uint8Array): void {
    // Frames are only produced while the session is connected, i.e. while the socket is open.
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(frame);
  }

  private handle(event: SyncEvent): void {
    switch (event.type) {
      case 'connected':
        // The session joins our document itself (the join is in the same output).
        this.problem = undefined;
        break;
      case 'synced':
        this.joined = true;
        this.attempt = 0; // a full handshake and join worked: start the backoff afresh
        this.startPresenceTimer();
        break;
      case 'acked':
        if (event.status !== 'ok') {
          this.problem = `the server refused an edit (${event.status})`;
        }
        break;
      case 'presence':
        if (event.data.length === 0) this.remoteClients.delete(event.client);
        else this.remoteClients.add(event.client);
        this.emitPresence({ client: event.client, data: event.data });
        break;
      case 'join-failed':
        this.joined = false;
        this.problem = `the server refused to open this document (${event.status})`;
        break;
      case 'rejoin': {
        this.joined = false;
        const timer = setTimeout(() => {
          this.rejoinTimers.delete(timer);
          this.run(this.session.join(event.doc));
        }, event.delayMs);
        this.rejoinTimers.add(timer);
        break;
      }
      case 'error':
        if (!RETRIED.has(event.status)) {
          this.problem = `server: ${event.message} (${event.status})`;
        }
        break;
    }
  }

  private startPresenceTimer(): void {
    this.stopPresenceTimer();
    const timeout = this.session.limits?.presenceTimeoutMs ?? 30_000;
    this.presenceTimer = setInterval(
      () => this.run(this.session.refreshPresence()),
      Math.max(1000, timeout / 2),
    );
  }

  private stopPresenceTimer(): void {
    if (this.presenceTimer !== undefined) clearInterval(this.presenceTimer);
    this.presenceTimer = undefined;
  }

  private clearTimers(): void {
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.reconnectAt = undefined;
    for (const timer of this.rejoinTimers) clearTimeout(timer);
    this.rejoinTimers.clear();
    this.stopPresenceTimer();
  }

  /** Closes the current socket without waiting for its close event. */
  private closeSocket(code: number, reason: string): void {
    const socket = this.socket;
    if (socket === undefined) return;
    this.socket = undefined;
    socket.onmessage = null;
    if (socket.readyState === WebSocket.CONNECTING) {
      // Closing a socket that is still connecting makes Chromium log an error: close it as
      // soon as it opens instead.
      socket.onopen = () => socket.close(1000, reason);
      socket.onclose = null;
    } else {
      socket.onopen = null;
      socket.onclose = null;
      // Browsers may only send 1000 or 3000–4999; other codes are what the session is told.
      socket.close(code === 1000 || code >= 3000 ? code : 1000, reason);
    }
    this.afterClose(this.disconnected(code), code, reason);
  }

  /** Tells the session the socket closed; whether and when to reconnect. */
  private disconnected(code: number): Retry {
    try {
      return this.session.disconnected(code);
    } catch (e) {
      // Only after an earlier failure inside the session itself: do not loop on it.
      this.problem ??= `sync stopped: ${(e as Error).message}`;
      return { kind: 'never' };
    }
  }

  private emitPresence(message: PresenceMessage): void {
    for (const listener of this.presenceListeners) listener(message);
  }

  private emitStatus(): void {
    const status = this.status();
    const key = JSON.stringify(status);
    if (key === this.lastStatus) return;
    this.lastStatus = key;
    for (const listener of this.statusListeners) listener(status);
  }
}
