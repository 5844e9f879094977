/**
 * The plugin side: `createClient(connector, methods)` gives a PluginClient that answers the
 * engine's handshake with its method list, serves calls, and can call other plugins, emit and
 * listen — the same wire protocol as `@remixproject/plugin`, so it also works with a Remix engine.
 *
 * Beyond Remix: calls made before the handshake wait for it instead of throwing, subscriptions made
 * before the handshake are sent once it is done (and again after a reconnect), every call has a
 * timeout and can be aborted (the engine is sent `cancel`), and methods can see the engine's
 * cancellation of a call through `withContext`.
 */
import { SwitchboardError, TimeoutError } from '../../core/errors.js';
import { Deadlines, type Deadline } from '../deadlines.js';
import { PluginError, callCancelled, callTimeout, errorFromWire, errorToWire } from '../errors.js';
import { Outbox } from '../outbox.js';
import {
  batchItems,
  DEFAULT_MAX_MESSAGE_BYTES,
  eventKey,
  isBatch,
  isHandshake,
  methodPath,
  parseMessage,
  type ParsedMessage,
  type RemixMessage,
  type RequestInfo,
} from '../protocol.js';

/** How a client reaches the engine (Remix's ClientConnector). */
export interface ClientConnector {
  send(message: RemixMessage): void;
  on(cb: (message: unknown) => void): void;
  /** Optional: release the transport. */
  close?(): void;
  /**
   * True when the transport carries whole objects with no size limit of its own (worker threads,
   * fork IPC): the client then accepts the engine's offer of `batch` messages at handshake.
   */
  readonly batch?: boolean;
}

export interface MethodContext {
  readonly request: RequestInfo | undefined;
  /** Aborted when the engine cancels this call or its deadline passes. */
  readonly signal: AbortSignal;
}

const CONTEXT = Symbol('switchboard.withContext');
type ContextHandler = ((ctx: MethodContext, ...args: never[]) => unknown) & { [CONTEXT]: true };

/** Mark a method that wants its call context (abort signal, caller) as first argument. */
export function withContext<A extends unknown[], R>(fn: (ctx: MethodContext, ...args: A) => R): (...args: A) => R {
  return Object.assign(fn, { [CONTEXT]: true as const }) as unknown as (...args: A) => R;
}

export interface ClientOptions {
  /** Default deadline for this plugin's calls to others, ms. Default 10 000; 0 = none. */
  callTimeoutMs?: number;
  /** Messages from the engine larger than this are dropped. Default 1 MiB. */
  maxMessageBytes?: number;
  /** Where errors in listeners and dropped messages are reported. Default console.error. */
  onError?: (err: unknown) => void;
}

export interface ClientCallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

type Listener = (...payload: unknown[]) => void;

interface PendingCall {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class PluginClient {
  /** The name the engine knows this plugin by (from the handshake). */
  name = '';
  private readonly handlers = new Map<string, (...args: unknown[]) => unknown>();
  private readonly pending = new Map<number, PendingCall>();
  private readonly running = new Map<number, AbortController>();
  private readonly listeners = new Map<string, { cbs: Set<Listener>; once: boolean; emitter: string; event: string }>();
  private readonly waitingLoad: Array<() => void> = [];
  private nextId = 0;
  private readonly deadlines = new Deadlines();
  private loadedValue = false;
  private connector: ClientConnector | undefined;
  /** Agreed with the engine at handshake: messages go out once per microtask, as one batch. */
  private readonly outbox = new Outbox(
    (m) => this.connector?.send(m),
    (m) => this.sendOne(m),
  );

  constructor(
    methods: object = {},
    private readonly options: ClientOptions = {},
  ) {
    for (const [name, fn] of methodsOf(methods)) this.handlers.set(name, fn);
  }

  get isLoaded(): boolean {
    return this.loadedValue;
  }

  get methods(): string[] {
    return [...this.handlers.keys()];
  }

  /** Add a method after creation (sent with the next handshake). */
  expose(name: string, fn: (...args: never[]) => unknown): void {
    this.handlers.set(name, fn as (...args: unknown[]) => unknown);
  }

  /** Resolves once the engine completed the handshake. */
  onload(cb?: () => void): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        resolve();
        cb?.();
      };
      if (this.loadedValue) done();
      else this.waitingLoad.push(done);
    });
  }

  call<T = unknown>(target: string, method: string, ...args: unknown[]): Promise<T> {
    return this.callWith<T>({}, target, method, ...args);
  }

  callWith<T = unknown>(options: ClientCallOptions, target: string, method: string, ...args: unknown[]): Promise<T> {
    const label = `"${target}.${method}" from plugin "${this.name || '?'}"`;
    const timeoutMs = options.timeoutMs ?? this.options.callTimeoutMs ?? 10_000;
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(callCancelled(label, signal.reason));
    return new Promise<T>((resolve, reject) => {
      let id = -1;
      let deadline: Deadline | undefined;
      let expired = false;
      const cleanup = () => {
        deadline?.cancel();
        signal?.removeEventListener('abort', onAbort);
        if (id >= 0) this.pending.delete(id);
      };
      const giveUp = (err: Error) => {
        cleanup();
        if (id >= 0 && this.loadedValue) this.transmit({ action: 'cancel', id, name: target, key: method });
        reject(err);
      };
      const onAbort = () => giveUp(callCancelled(label, signal?.reason));
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs > 0)
        deadline = this.deadlines.add(timeoutMs, () => {
          expired = true;
          giveUp(callTimeout(label, timeoutMs));
        });
      const send = () => {
        if (signal?.aborted || expired) return;
        id = ++this.nextId;
        this.pending.set(id, {
          resolve: (v) => {
            cleanup();
            resolve(v as T);
          },
          reject: (e) => {
            cleanup();
            reject(e);
          },
        });
        const requestInfo: RequestInfo | undefined = timeoutMs > 0 ? { from: this.name, timeoutMs } : undefined;
        this.transmit({
          action: 'request',
          name: target,
          key: method,
          payload: args,
          id,
          ...(requestInfo ? { requestInfo } : {}),
        });
      };
      if (this.loadedValue) send();
      else this.waitingLoad.push(send);
    });
  }

  /** Cancel this plugin's calls to `target.method` (Remix `cancel`). */
  cancel(target: string, method?: string): void {
    this.whenLoaded(() => this.transmit({ action: 'cancel', name: target, ...(method ? { key: method } : {}) }));
  }

  on(emitter: string, event: string, cb: Listener): void {
    this.listen(emitter, event, cb, false);
  }

  once(emitter: string, event: string, cb: Listener): void {
    this.listen(emitter, event, cb, true);
  }

  off(emitter: string, event: string): void {
    this.listeners.delete(eventKey(emitter, event));
    this.whenLoaded(() => this.transmit({ action: 'off', name: emitter, key: event }));
  }

  emit(event: string, ...payload: unknown[]): void {
    this.whenLoaded(() => this.transmit({ action: 'emit', key: event, payload }));
  }

  /** @internal Wire the client to a connector and ask the engine for the handshake. */
  connect(connector: ClientConnector): void {
    this.connector = connector;
    connector.on((raw) => this.receive(raw));
    connector.send({ action: 'request', key: 'handshake', id: -1 });
  }

  close(): void {
    const err = new SwitchboardError('CONNECTION_CLOSED', `plugin client "${this.name}" was closed`);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.flush();
    this.connector?.close?.();
  }

  private listen(emitter: string, event: string, cb: Listener, once: boolean): void {
    const key = eventKey(emitter, event);
    let entry = this.listeners.get(key);
    if (!entry) this.listeners.set(key, (entry = { cbs: new Set(), once, emitter, event }));
    entry.cbs.add(cb);
    // Before the handshake the subscription is kept and sent when the engine is ready.
    if (this.loadedValue) this.transmit({ action: once ? 'once' : 'on', name: emitter, key: event });
  }

  private whenLoaded(fn: () => void): void {
    if (this.loadedValue) fn();
    else this.waitingLoad.push(fn);
  }

  private transmit(message: RemixMessage): void {
    this.outbox.push(message);
  }

  private flush(): void {
    this.outbox.flush();
  }

  /** Send one message; when the transport refuses it, whoever waits on it learns why. */
  private sendOne(m: RemixMessage): void {
    try {
      this.connector?.send(m);
    } catch (err) {
      if (m.action === 'request' && m.id !== undefined && this.pending.has(m.id)) {
        this.pending.get(m.id)!.reject(err);
        return;
      }
      if (m.action === 'response' && m.error === undefined) {
        // The result could not be sent: the engine gets an error now instead of waiting for its deadline.
        const reason = new SwitchboardError(
          'INTERNAL',
          `the result of "${m.key ?? '?'}" could not be sent by plugin "${this.name}": ${err instanceof Error ? err.message : String(err)}`,
        );
        try {
          this.connector?.send({ action: 'response', id: m.id, name: m.name, key: m.key, ...errorToWire(reason) });
          return;
        } catch {
          /* the transport itself is gone */
        }
      }
      this.report(err);
    }
  }

  private receive(raw: unknown): void {
    if (isBatch(raw) && this.connector?.batch) {
      const items = batchItems(raw);
      if (!items.ok) {
        this.report(new SwitchboardError('INVALID_MESSAGE', `dropped a message from the engine: ${items.error}`));
        return;
      }
      for (const item of items.value) this.receiveOne(item);
      return;
    }
    this.receiveOne(raw);
  }

  private receiveOne(raw: unknown): void {
    const parsed = parseMessage(raw, { maxMessageBytes: this.options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES });
    if (!parsed.ok) {
      this.report(new SwitchboardError('INVALID_MESSAGE', `dropped a message from the engine: ${parsed.error}`));
      return;
    }
    const msg = parsed.value;
    switch (msg.action) {
      case 'request':
      case 'call':
        if (isHandshake(msg)) this.answerHandshake(msg);
        else this.serve(msg);
        return;
      case 'response': {
        const p = this.pending.get(msg.id);
        if (!p) return;
        if (msg.error) p.reject(errorFromWire(msg.error, msg.errorCode));
        else p.resolve(msg.payload);
        return;
      }
      case 'notification':
      case 'emit': {
        const entry = msg.name ? this.listeners.get(eventKey(msg.name, msg.key)) : undefined;
        if (!entry) return;
        if (entry.once) this.listeners.delete(eventKey(msg.name!, msg.key));
        for (const cb of [...entry.cbs]) {
          try {
            cb(...(msg.payload ?? []));
          } catch (err) {
            this.report(err);
          }
        }
        return;
      }
      case 'cancel':
        if (msg.id !== undefined)
          this.running.get(msg.id)?.abort(new SwitchboardError('CANCELLED', 'the engine cancelled this call'));
        return;
      default:
        return;
    }
  }

  private answerHandshake(msg: Extract<ParsedMessage, { action: 'request' | 'call' }>): void {
    const payload = msg.payload ?? [];
    if (typeof payload[0] === 'string') this.name = payload[0];
    // A new session: whatever is queued goes out as agreed before, then the new agreement holds.
    this.flush();
    const batch = msg.batch === true && this.connector?.batch === true;
    this.outbox.batching = false;
    this.transmit({
      action: 'response',
      name: msg.name,
      key: msg.key,
      id: msg.id,
      payload: this.methods,
      ...(batch ? { batch } : {}),
    });
    this.outbox.batching = batch;
    if (this.loadedValue) {
      // A new engine session (reconnect): subscriptions must be made again.
      for (const l of this.listeners.values())
        this.transmit({ action: l.once ? 'once' : 'on', name: l.emitter, key: l.event });
      return;
    }
    this.loadedValue = true;
    for (const l of this.listeners.values())
      this.transmit({ action: l.once ? 'once' : 'on', name: l.emitter, key: l.event });
    const waiting = this.waitingLoad.splice(0);
    for (const fn of waiting) fn();
  }

  private reply(msg: Extract<ParsedMessage, { action: 'request' | 'call' }>, payload: unknown, err?: unknown): void {
    if (msg.id !== undefined && this.running.size > 0) this.running.delete(msg.id);
    const response: RemixMessage = { action: 'response', name: msg.name, key: msg.key, id: msg.id };
    if (err === undefined) response.payload = payload;
    else {
      const wire = errorToWire(err);
      response.error = wire.error;
      response.errorCode = wire.errorCode;
    }
    this.transmit(response);
  }

  private serve(msg: Extract<ParsedMessage, { action: 'request' | 'call' }>): void {
    const method = methodPath(msg.key, msg.requestInfo?.path);
    const fn = this.handlers.get(method);
    if (!fn) {
      this.reply(
        msg,
        undefined,
        new SwitchboardError('NOT_FOUND', `method "${method}" does not exist on plugin "${this.name}"`),
      );
      return;
    }
    let result: unknown;
    try {
      if ((fn as Partial<ContextHandler>)[CONTEXT]) {
        const controller = new AbortController();
        if (msg.id !== undefined) this.running.set(msg.id, controller);
        const deadline = msg.requestInfo?.timeoutMs;
        if (deadline !== undefined && deadline > 0) {
          const t = setTimeout(() => controller.abort(new TimeoutError(`deadline of ${deadline} ms passed`)), deadline);
          controller.signal.addEventListener('abort', () => clearTimeout(t), { once: true });
          (t as { unref?: () => void }).unref?.();
        }
        result = fn({ request: msg.requestInfo ?? undefined, signal: controller.signal }, ...(msg.payload ?? []));
      } else {
        result = fn(...(msg.payload ?? []));
      }
    } catch (err) {
      this.reply(msg, undefined, err);
      return;
    }
    if (result instanceof Promise)
      result.then(
        (v) => this.reply(msg, v),
        (e: unknown) => this.reply(msg, undefined, e ?? new PluginError('method failed')),
      );
    else this.reply(msg, result);
  }

  private report(err: unknown): void {
    if (this.options.onError) this.options.onError(err);
    else console.error('[switchboard plugin client]', err instanceof Error ? err.message : err);
  }
}

/** Own and prototype methods of an object (a plain object of functions or a class instance). */
function methodsOf(obj: object): Array<[string, (...args: unknown[]) => unknown]> {
  const out: Array<[string, (...args: unknown[]) => unknown]> = [];
  const seen = new Set<string>();
  for (let o: object | null = obj; o && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const key of Object.getOwnPropertyNames(o)) {
      if (key === 'constructor' || seen.has(key)) continue;
      const v = (obj as Record<string, unknown>)[key];
      if (typeof v !== 'function') continue;
      seen.add(key);
      const bound = (v as (...a: unknown[]) => unknown).bind(obj);
      if ((v as Partial<ContextHandler>)[CONTEXT]) Object.assign(bound, { [CONTEXT]: true });
      out.push([key, bound]);
    }
  }
  return out;
}

/** Create a plugin client on a connector, exposing `methods` (an object of functions or a class instance). */
export function createClient(
  connector: ClientConnector,
  methods: object = {},
  options: ClientOptions = {},
): PluginClient {
  const client = new PluginClient(methods, options);
  client.connect(connector);
  return client;
}
