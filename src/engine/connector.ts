/**
 * PluginConnector: the engine side of an external plugin (another process, thread, socket, frame).
 * Subclasses implement `connect(url)`, `disconnect()` and `send(message)`, and pass every incoming
 * message to `getMessage(raw)`. This base speaks the Remix protocol: handshake (the plugin's method
 * list), calls both ways, events, cancellation, and checks every message with a schema first —
 * a malformed or oversized message is dropped with a logged error, the connector keeps serving.
 *
 * Beyond Remix: a connection timeout (no handshake within `connectTimeoutMs` fails the
 * activation), a `cancel` with the request id when an engine-side call times out or is aborted,
 * and `connectionLost()` for transports to report a crash: pending calls reject with a clear error
 * and the plugin becomes inactive (it can be activated again).
 */
import { SwitchboardError, TimeoutError, asSwitchboardError } from '../core/errors.js';
import { DEFERRED, type CallContext, type DeferredContext } from './call-queue.js';
import { PluginError, errorFromWire, errorToWire, type EngineErrorCode } from './errors.js';
import { engineLog } from './log.js';
import { Plugin, type PluginOptions } from './plugin.js';
import type { Profile } from './profile.js';
import { Outbox } from './outbox.js';
import {
  batchItems,
  DEFAULT_MAX_MESSAGE_BYTES,
  HANDSHAKE_KEY,
  isBatch,
  isHandshake,
  parseMessage,
  type ParsedMessage,
  type RemixMessage,
} from './protocol.js';

export interface ConnectorOptions extends PluginOptions {
  /** Activation fails when the plugin has not completed the handshake within this many ms. Default 10 000. */
  connectTimeoutMs?: number;
  /** Messages from the plugin larger than this (approximate JSON bytes) are dropped. Default 1 MiB. */
  maxMessageBytes?: number;
  /** Rewrite the profile's url before connecting (Remix option). */
  transformUrl?: (profile: Profile) => string;
}

export interface ConnectorStats {
  received: number;
  sent: number;
  /** Messages dropped because they were malformed or too large. */
  rejected: number;
  /** Responses whose id matched no pending call (late answers after a timeout). */
  unmatched: number;
  /** `batch` messages sent and received (their messages count in `sent` / `received` one by one). */
  batchesSent: number;
  batchesReceived: number;
}

/** A request waiting for its response: a queued call's context itself, or a promise's settler. */
interface PendingRequest {
  complete(value: unknown, failed: boolean): void;
}

const settler = (resolve: (v: unknown) => void, reject: (e: unknown) => void): PendingRequest => ({
  complete: (value, failed) => {
    if (failed) reject(value);
    else resolve(value);
  },
});

export abstract class PluginConnector extends Plugin {
  declare options: ConnectorOptions;
  readonly stats: ConnectorStats = {
    received: 0,
    sent: 0,
    rejected: 0,
    unmatched: 0,
    batchesSent: 0,
    batchesReceived: 0,
  };
  private nextId = 0;
  private readonly pending = new Map<number, PendingRequest>();
  /** Calls the plugin made to others that it may cancel by id. */
  private readonly inbound = new Map<number, AbortController>();
  private handshaken = false;
  private handshaking: Promise<void> | undefined;
  private handshakeId: number | undefined;
  private waitHandshake: { resolve: () => void; reject: (err: Error) => void } | undefined;
  private closing = false;
  /** The plugin agreed to batches at handshake: messages to it go out once per microtask. */
  private readonly outbox = new Outbox(
    (m) => this.send(m),
    (m) => this.sendOne(m),
    () => {
      this.stats.batchesSent++;
    },
  );

  constructor(profile: Profile, options: ConnectorOptions = {}) {
    super(profile, options);
  }

  /** Open the transport to the plugin at `url`. */
  protected abstract connect(url: string): void | Promise<void>;
  /** Close the transport. */
  protected abstract disconnect(): void | Promise<void>;
  /** Deliver one message to the plugin. */
  protected abstract send(message: RemixMessage): void;

  /**
   * Whether this transport may carry `batch` messages (see protocol.ts): true for transports that
   * deliver whole objects without a size limit of their own (worker threads, fork IPC). Batches are
   * used only when the plugin's client also agrees at handshake.
   */
  protected supportsBatch(): boolean {
    return false;
  }

  get connected(): boolean {
    return this.handshaken;
  }

  override async activate(): Promise<void> {
    this.closing = false;
    this.handshaken = false;
    this.handshaking = undefined;
    this.stopBatching();
    const url = this.options.transformUrl ? this.options.transformUrl(this.profile) : (this.profile.url ?? '');
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    const handshake = new Promise<void>((resolve, reject) => {
      this.waitHandshake = { resolve, reject };
    });
    handshake.catch(() => undefined);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new TimeoutError(
              `plugin "${this.name}" did not complete the handshake within ${timeoutMs} ms of connecting to ${url || 'its transport'}; is it a plugin client that calls createClient()?`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      await Promise.race([Promise.resolve(this.connect(url)), timeout]);
      await Promise.race([handshake, timeout]);
    } catch (err) {
      this.closing = true;
      try {
        await this.disconnect();
      } catch {
        /* already failing */
      }
      throw err;
    } finally {
      clearTimeout(timer);
      this.waitHandshake = undefined;
    }
    await super.activate();
  }

  override async deactivate(): Promise<void> {
    this.closing = true;
    this.handshaken = false;
    try {
      await super.deactivate();
    } finally {
      this.failPending(new SwitchboardError('UNAVAILABLE', `plugin "${this.name}" was deactivated`));
      this.flush();
      await this.disconnect();
    }
  }

  /** Engine -> plugin: send a request and wait for its response. */
  override callPluginMethod(method: string, args: unknown[], ctx: CallContext): Promise<unknown> {
    return new Promise((resolve, reject) => this.request(method, args, ctx, settler(resolve, reject)));
  }

  /** @internal The queue's path: the call's context waits for the response itself (no promise). */
  override startCall(method: string, args: unknown[], ctx: DeferredContext): unknown {
    // A subclass that wraps callPluginMethod keeps its wrapper.
    if (this.callPluginMethod !== PluginConnector.prototype.callPluginMethod)
      return this.callPluginMethod(method, args, ctx);
    this.request(method, args, ctx, ctx);
    return DEFERRED;
  }

  /** Send a request; `waiter` gets the response, or the error if the transport refuses it. */
  private request(method: string, args: unknown[], ctx: CallContext, waiter: PendingRequest): void {
    const id = this.nextId++;
    ctx.remoteId = id;
    this.pending.set(id, waiter);
    this.transmit({ id, action: 'request', key: method, payload: args, requestInfo: ctx.request, name: this.name });
  }

  override callAbandoned(method: string, ctx: CallContext, _reason: Error): void {
    if (ctx.remoteId === undefined || !this.pending.delete(ctx.remoteId)) return;
    if (this.handshaken) this.transmit({ action: 'cancel', id: ctx.remoteId, key: method, name: this.name });
  }

  /**
   * Transports call this with each message from the plugin (a decoded object, a JSON string or
   * bytes). Never throws.
   */
  protected getMessage(raw: unknown): void {
    if (isBatch(raw) && this.supportsBatch()) {
      const items = batchItems(raw);
      if (!items.ok) {
        this.messageRejected(items.error);
        return;
      }
      this.stats.batchesReceived++;
      for (const item of items.value) this.getOne(item);
      return;
    }
    this.getOne(raw);
  }

  private getOne(raw: unknown): void {
    this.stats.received++;
    const parsed = parseMessage(raw, { maxMessageBytes: this.options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES });
    if (!parsed.ok) {
      this.messageRejected(parsed.error);
      return;
    }
    try {
      this.dispatch(parsed.value);
    } catch (err) {
      this.host?.reportError(err, {
        plugin: this.name,
        source: 'connector',
        detail: `handling "${parsed.value.action}"`,
      });
    }
  }

  /** Count and log a message from the plugin that was dropped (malformed, too large). */
  protected messageRejected(reason: string): void {
    this.stats.rejected++;
    engineLog().error({ plugin: this.name, reason }, `dropped a message from plugin "${this.name}": ${reason}`);
  }

  /**
   * Transports call this when the connection ends without a deactivation (crash, exit, network).
   * Pending calls reject with `err`; unless `willReconnect`, the plugin becomes inactive.
   */
  protected connectionLost(err: Error, willReconnect = false): void {
    if (this.closing) return;
    this.handshaken = false;
    this.handshaking = undefined;
    this.stopBatching();
    this.failPending(err);
    if (this.waitHandshake) {
      this.waitHandshake.reject(err);
      return;
    }
    if (!willReconnect) {
      this.closing = true;
      this.host?.pluginFailed(this.name, err);
      // Release whatever is left of the transport (a hub connection outlives its service).
      Promise.resolve()
        .then(() => this.disconnect())
        .catch(() => undefined);
    }
  }

  /** True while the connector is being shut down on purpose (so transport close is expected). */
  protected get isClosing(): boolean {
    return this.closing;
  }

  private transmit(message: RemixMessage): void {
    this.stats.sent++;
    this.outbox.push(message);
  }

  private flush(): void {
    this.outbox.flush();
  }

  /** Send one message; when the transport refuses it, whoever waits on it learns why. */
  private sendOne(message: RemixMessage): void {
    try {
      this.send(message);
    } catch (err) {
      this.sendFailed(message, err);
    }
  }

  private sendFailed(m: RemixMessage, err: unknown): void {
    if (m.action === 'request' && m.id !== undefined) {
      const p = this.pending.get(m.id);
      if (p) {
        this.pending.delete(m.id);
        p.complete(err, true);
      }
      return;
    }
    if (m.action === 'response' && m.error === undefined && m.id !== undefined) {
      // The result could not be sent: the plugin gets an error now instead of waiting for its deadline.
      const reason = new SwitchboardError(
        'INTERNAL',
        `the result of "${m.name ?? '?'}.${m.key ?? '?'}" could not be sent to plugin "${this.name}": ${err instanceof Error ? err.message : String(err)}`,
      );
      try {
        this.send({ action: 'response', id: m.id, name: m.name, key: m.key, ...errorToWire(reason) });
        return;
      } catch {
        /* the transport itself is gone */
      }
    }
    // Gone transports are reported by their close handler.
    if (this.handshaken && !this.closing)
      this.host?.reportError(err, { plugin: this.name, source: 'connector', detail: `sending "${m.action}"` });
  }

  private stopBatching(): void {
    this.outbox.reset();
  }

  private failPending(err: Error): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.complete(err, true);
    for (const c of this.inbound.values()) c.abort(err);
    this.inbound.clear();
  }

  private dispatch(msg: ParsedMessage): void {
    switch (msg.action) {
      case 'request':
      case 'call':
        if (isHandshake(msg)) {
          this.startHandshake();
          return;
        }
        this.serveCall(msg);
        return;
      case 'response': {
        const p = this.pending.get(msg.id);
        if (!p) {
          this.stats.unmatched++;
          return;
        }
        this.pending.delete(msg.id);
        if (msg.id === this.handshakeId) this.outbox.batching = msg.batch === true && this.supportsBatch();
        if (msg.error) p.complete(errorFromWire(msg.error, msg.errorCode), true);
        else p.complete(msg.payload, false);
        return;
      }
      case 'emit':
      case 'notification':
        if (!msg.payload) return;
        this.requireHost().broadcast(this.name, msg.key, msg.payload);
        return;
      case 'on':
      case 'listen':
      case 'once': {
        const { name, key } = msg;
        this.requireHost().addListener(
          this.name,
          name,
          key,
          (...payload: unknown[]) => {
            if (this.handshaken) this.transmit({ action: 'notification', name, key, payload });
          },
          msg.action === 'once',
        );
        return;
      }
      case 'off':
        this.requireHost().removeListener(this.name, msg.name, msg.key);
        return;
      case 'cancel':
        if (msg.id !== undefined && this.inbound.has(msg.id))
          this.inbound
            .get(msg.id)!
            .abort(new SwitchboardError('CANCELLED', `plugin "${this.name}" cancelled its call`));
        else if (msg.name) this.requireHost().cancelMethod(this.name, msg.name, msg.key);
        return;
    }
  }

  private serveCall(msg: Extract<ParsedMessage, { action: 'request' | 'call' }>): void {
    const host = this.requireHost();
    const target = msg.name ?? '';
    const id = msg.id;
    let controller: AbortController | undefined;
    if (id !== undefined) {
      controller = new AbortController();
      this.inbound.set(id, controller);
    }
    const timeoutMs = msg.requestInfo?.timeoutMs;
    const reply = (payload: unknown, err?: unknown) => {
      if (id !== undefined) this.inbound.delete(id);
      if (!this.handshaken) return;
      const response: RemixMessage = {
        action: 'response',
        id,
        name: msg.name,
        key: msg.key,
        requestInfo: msg.requestInfo ?? undefined,
      };
      if (err === undefined) response.payload = payload;
      else {
        const wire = errorToWire(err);
        response.error = wire.error;
        response.errorCode = wire.errorCode;
      }
      this.transmit(response);
    };
    host
      .callMethod(this.name, target, msg.key, msg.payload ?? [], {
        ...(controller ? { signal: controller.signal } : {}),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      })
      .then(
        (v) => reply(v),
        (e: unknown) => reply(undefined, e ?? new PluginError('call failed')),
      );
  }

  /**
   * Ask the plugin for its methods (Remix's handshake). Called when the plugin asks for it; a
   * transport where the plugin cannot ask first (a hub service) calls it itself, with `retry` to
   * start over when an earlier request may have been lost.
   */
  protected startHandshake(retry = false): void {
    if (this.handshaking && !retry) return;
    // A new session: batches only once the plugin agrees again.
    this.flush();
    this.outbox.batching = false;
    if (this.handshakeId !== undefined) this.pending.delete(this.handshakeId);
    const id = this.nextId++;
    this.handshakeId = id;
    const done = new Promise<unknown>((resolve, reject) => this.pending.set(id, settler(resolve, reject)));
    this.handshaking = done
      .then(
        (methods) => {
          this.handshaking = undefined;
          if (methods !== undefined && methods !== null) {
            if (!Array.isArray(methods) || !methods.every((m) => typeof m === 'string')) {
              throw new SwitchboardError(
                'INVALID_MESSAGE',
                `plugin "${this.name}" answered the handshake with ${JSON.stringify(methods).slice(0, 100)} instead of a list of method names`,
              );
            }
            this.profile.methods = methods as string[];
            this.host?.updateProfileFromPlugin({ name: this.name, methods: methods as string[] });
          }
          this.handshaken = true;
          this.waitHandshake?.resolve();
        },
        (err: unknown) => {
          this.handshaking = undefined;
          throw err;
        },
      )
      .catch((err: unknown) => {
        const e = asSwitchboardError(err, 'PLUGIN_ERROR' satisfies EngineErrorCode);
        if (this.waitHandshake) this.waitHandshake.reject(e);
        else this.host?.reportError(e, { plugin: this.name, source: 'connector', detail: 'handshake' });
      });
    this.transmit({
      id,
      action: 'request',
      key: HANDSHAKE_KEY,
      payload: [this.name, this.host?.engineName ?? 'switchboard'],
      name: this.name,
      ...(this.supportsBatch() ? { batch: true } : {}),
    });
  }

  private requireHost() {
    if (!this.host)
      throw new SwitchboardError(
        'UNAVAILABLE',
        `plugin "${this.name}" sent a message but is not registered in an engine`,
      );
    return this.host;
  }
}
