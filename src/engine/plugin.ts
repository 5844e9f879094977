/**
 * A plugin: a profile plus methods, hosted by an Engine. Local plugins are subclasses with methods;
 * external plugins are connectors (see connector.ts). The engine gives a registered plugin `call`,
 * `callWith`, `cancel`, `on`, `once`, `off` and `emit`.
 */
import { SwitchboardError } from '../core/errors.js';
import { CallQueue, type CallContext, type DeferredContext, type QueuedCall } from './call-queue.js';
import type { EventCallback } from './event-bus.js';
import { methodPath, type RequestInfo } from './protocol.js';
import type { Profile } from './profile.js';

export interface CallOptions {
  /** Give up after this many ms (default: the target plugin's `callTimeoutMs`, 10 s). 0 = no deadline. */
  timeoutMs?: number;
  /** Cancel the call; the target plugin is told to stop. */
  signal?: AbortSignal;
}

export interface PluginOptions {
  /** Default deadline of a call to this plugin, in ms (Remix's `queueTimeout`). Default 10 000. */
  callTimeoutMs?: number;
  /** How many calls to this plugin may run at once. Default 1 (Remix's queue). */
  concurrency?: number;
  [option: string]: unknown;
}

export type ErrorSource =
  'onActivation' | 'onDeactivation' | 'onRegistration' | 'event-listener' | 'manager-hook' | 'connector';

export interface EngineErrorContext {
  plugin: string;
  source: ErrorSource;
  detail?: string;
}

/** What the engine offers a registered plugin. */
export interface PluginHost {
  readonly engineName: string;
  callMethod(caller: string, path: string, method: string, args: unknown[], options?: CallOptions): Promise<unknown>;
  cancelMethod(caller: string, path: string, method?: string): number;
  addListener(listener: string, emitter: string, event: string, cb: EventCallback, once: boolean): void;
  removeListener(listener: string, emitter: string, event: string): void;
  broadcast(emitter: string, event: string, payload: unknown[]): void;
  reportError(err: unknown, context: EngineErrorContext): void;
  /** An external plugin went away on its own (crash, exit): reject its calls and mark it inactive. */
  pluginFailed(name: string, err: Error): void;
  /** A connector learned the plugin's methods at handshake. */
  updateProfileFromPlugin(profile: Partial<Profile> & { name: string }): void;
}

export type PluginState = 'inactive' | 'activating' | 'active' | 'deactivating';

interface PendingSubscription {
  emitter: string;
  event: string;
  cb: EventCallback;
  once: boolean;
}

const DEFAULT_CALL_TIMEOUT_MS = 10_000;

class PluginCall implements QueuedCall {
  constructor(
    private readonly plugin: Plugin,
    readonly method: string,
    private readonly args: unknown[],
    readonly request: RequestInfo,
    readonly timeoutMs: number,
    readonly signal: AbortSignal | undefined,
  ) {}

  get label(): string {
    return `"${this.plugin.name}.${this.method}" from "${this.request.from}"`;
  }

  run(ctx: DeferredContext): unknown {
    return this.plugin.startCall(this.method, this.args, ctx);
  }

  abandon(reason: Error, ctx: CallContext): void {
    this.plugin.callAbandoned(this.method, ctx, reason);
  }
}

export class Plugin {
  options: PluginOptions = {};
  /** The request being served (only meaningful with concurrency 1, as in Remix; prefer the `ctx` of callPluginMethod). */
  currentRequest: RequestInfo | undefined;
  protected host: PluginHost | undefined;
  private stateValue: PluginState = 'inactive';
  private readonly queue = new CallQueue(1);
  private readonly selfQueue = new CallQueue(Infinity);
  private pendingSubscriptions: PendingSubscription[] = [];

  onRegistration?(): void;
  onActivation?(): void | Promise<void>;
  onDeactivation?(): void | Promise<void>;

  constructor(
    public profile: Profile,
    options: PluginOptions = {},
  ) {
    this.setOptions(options);
  }

  get name(): string {
    return this.profile.name;
  }

  get methods(): string[] | undefined {
    return this.profile.methods;
  }

  set methods(methods: string[] | undefined) {
    this.profile.methods = methods;
  }

  get state(): PluginState {
    return this.stateValue;
  }

  get queuedCalls(): number {
    return this.queue.size;
  }

  setOptions(options: Partial<PluginOptions> = {}): void {
    this.options = { ...this.options, ...options };
    const concurrency = this.options.concurrency ?? 1;
    if (!(concurrency >= 1))
      throw new SwitchboardError(
        'INVALID_ARGUMENT',
        `concurrency of plugin "${this.name}" must be 1 or more, got ${concurrency}`,
      );
    this.queue.concurrency = concurrency;
  }

  /** Override to refuse activation by a given caller. */
  canActivate(_from: Profile, _method?: string): boolean | Promise<boolean> {
    return true;
  }

  /** Override to refuse deactivation by a given caller (the manager always may). */
  canDeactivate(_from: Profile): boolean | Promise<boolean> {
    return true;
  }

  /** Engine-called: start the plugin. Connectors connect and handshake here. */
  async activate(): Promise<void> {
    await this.onActivation?.();
  }

  /** Engine-called: stop the plugin. */
  async deactivate(): Promise<void> {
    await this.onDeactivation?.();
  }

  // ---- the API a registered plugin uses ----

  call<T = unknown>(target: string, method: string, ...args: unknown[]): Promise<T> {
    return this.callWith<T>({}, target, method, ...args);
  }

  callWith<T = unknown>(options: CallOptions, target: string, method: string, ...args: unknown[]): Promise<T> {
    if (!this.host) return Promise.reject(this.notReady(`call "${target}.${method}"`));
    return this.host.callMethod(this.name, target, method, args, options) as Promise<T>;
  }

  /** Cancel this plugin's calls to `target` (to one method, or all). Returns how many were cancelled. */
  cancel(target: string, method?: string): number {
    if (!this.host) throw this.notReady(`cancel calls to "${target}"`);
    return this.host.cancelMethod(this.name, target, method);
  }

  /** Listen on an event. Before activation the subscription is kept and applied when the plugin is activated. */
  on(emitter: string, event: string, cb: EventCallback): void {
    this.subscribe(emitter, event, cb, false);
  }

  once(emitter: string, event: string, cb: EventCallback): void {
    this.subscribe(emitter, event, cb, true);
  }

  off(emitter: string, event: string): void {
    this.pendingSubscriptions = this.pendingSubscriptions.filter((s) => s.emitter !== emitter || s.event !== event);
    if (this.host && this.stateValue !== 'inactive') this.host.removeListener(this.name, emitter, event);
  }

  /**
   * Remix's askUserPermission: inside a call from another plugin, ask the manager's `canCall`
   * whether that caller may use `method` of this plugin (true outside a call).
   */
  askUserPermission(method: string, message?: string): Promise<boolean> {
    const from = this.currentRequest?.from;
    if (!from) return Promise.resolve(true);
    if (!(this.methods ?? []).includes(method)) return Promise.resolve(false);
    return this.call<boolean>('manager', 'canCall', from, this.name, method, message);
  }

  emit(event: string, ...payload: unknown[]): void {
    if (!this.host || this.stateValue === 'inactive') throw this.notReady(`emit "${event}"`);
    this.host.broadcast(this.name, event, payload);
  }

  // ---- engine internals ----

  /** @internal Queue a call to one of this plugin's methods. */
  addRequest(
    request: RequestInfo,
    method: string,
    args: unknown[],
    options: CallOptions,
    selfCall = false,
  ): Promise<unknown> {
    const timeoutMs = options.timeoutMs ?? this.options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    const call = new PluginCall(this, method, args, request, timeoutMs, options.signal);
    // A plugin calling itself must not wait behind its own running call (Remix bypassed the queue
    // and overwrote currentRequest; here it gets its own slot and context).
    return (selfCall ? this.selfQueue : this.queue).enqueue(call);
  }

  /** @internal Cancel queued/running calls from `from` (to `method`, or all). */
  cancelRequests(from: string, method: string | undefined, reason: string): number {
    return this.queue.cancelWhere(
      (c) => c.request.from === from && (method === undefined || c.method === method),
      reason,
    );
  }

  /** @internal Reject every call (the plugin is gone). */
  rejectAllRequests(err: Error): void {
    this.queue.rejectAll(err);
    this.selfQueue.rejectAll(err);
  }

  /** Run one method. Local plugins: `this[method](...args)`; connectors send a request. */
  callPluginMethod(method: string, args: unknown[], ctx: CallContext): unknown {
    const path = methodPath(method, ctx.request.path);
    const fn = (this as unknown as Record<string, unknown>)[path];
    if (typeof fn !== 'function')
      throw new SwitchboardError('NOT_FOUND', `method "${path}" is not implemented by plugin "${this.name}"`);
    this.currentRequest = ctx.request;
    return (fn as (...a: unknown[]) => unknown).apply(this, args);
  }

  /**
   * @internal How the queue runs a call: `callPluginMethod`, or (connectors) send the request and
   * return DEFERRED, settling `ctx` when the response comes.
   */
  startCall(method: string, args: unknown[], ctx: DeferredContext): unknown {
    return this.callPluginMethod(method, args, ctx);
  }

  /** A running call was given up (timeout, cancel). Connectors tell the remote side. */
  callAbandoned(_method: string, _ctx: CallContext, _reason: Error): void {
    // local methods see ctx.signal abort
  }

  /** @internal */
  attach(host: PluginHost): void {
    this.host = host;
  }

  /** @internal */
  setState(state: PluginState): void {
    this.stateValue = state;
    if (state === 'activating' && this.host) {
      const pending = this.pendingSubscriptions;
      this.pendingSubscriptions = [];
      for (const s of pending) this.host.addListener(this.name, s.emitter, s.event, s.cb, s.once);
    }
    if (state === 'inactive') this.currentRequest = undefined;
  }

  private subscribe(emitter: string, event: string, cb: EventCallback, once: boolean): void {
    if (this.host && this.stateValue !== 'inactive') this.host.addListener(this.name, emitter, event, cb, once);
    else this.pendingSubscriptions.push({ emitter, event, cb, once });
  }

  private notReady(what: string): SwitchboardError {
    const why = this.host
      ? 'it is not active; activate it first'
      : 'it is not registered in an engine; call engine.register() first';
    return new SwitchboardError('UNAVAILABLE', `plugin "${this.name}" cannot ${what}: ${why}`);
  }
}
