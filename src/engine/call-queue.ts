/**
 * Per-plugin call queue: at most `concurrency` calls run at once (default 1, Remix's FIFO), each
 * with its own deadline and optional AbortSignal. A call that times out or is cancelled rejects at
 * once, frees its slot, and its `abandon` hook tells the plugin to stop (a `cancel` message).
 */
import { Deadlines, type Deadline } from './deadlines.js';
import { callCancelled, callTimeout } from './errors.js';
import type { RequestInfo } from './protocol.js';

export interface CallContext {
  readonly request: RequestInfo;
  /** Aborted when the call times out or is cancelled; created on first use (it costs a little). */
  readonly signal: AbortSignal;
  /** Set by a connector: the id of the request it sent, so it can send `cancel` for it. */
  remoteId?: number;
}

/**
 * What `QueuedCall.run` returns when it will settle the call itself through
 * `DeferredContext.complete` (connectors waiting for a response: no promise per call).
 */
export const DEFERRED: unique symbol = Symbol('switchboard.deferred');

/** The context of a running call that `run` answered with DEFERRED. */
export interface DeferredContext extends CallContext {
  /** Settle the call (once; later calls, e.g. after a timeout, are ignored). */
  complete(value: unknown, failed: boolean): void;
}

export interface QueuedCall {
  /** `target.method from caller`, for error messages. */
  readonly label: string;
  readonly method: string;
  readonly request: RequestInfo;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  run(ctx: DeferredContext): unknown;
  /** Called when the call is given up while running (timeout, cancel). */
  abandon?(reason: Error, ctx: CallContext): void;
}

class Entry implements DeferredContext {
  running = false;
  settled = false;
  deadline: Deadline | undefined;
  controller: AbortController | undefined;
  onAbort: (() => void) | undefined;
  remoteId?: number;
  resolve!: (v: unknown) => void;
  reject!: (e: unknown) => void;

  constructor(
    readonly queue: CallQueue,
    readonly call: QueuedCall,
  ) {}

  complete(value: unknown, failed: boolean): void {
    this.queue.finish(this, value, failed);
  }

  onDeadline(): void {
    this.queue.fail(this, callTimeout(this.call.label, this.call.timeoutMs));
  }

  /** As `then` callbacks of a promise returned by `run` (bound once per call only on that path). */
  onValue(value: unknown): void {
    this.queue.finish(this, value, false);
  }

  onError(err: unknown): void {
    this.queue.finish(this, err, true);
  }

  get request(): RequestInfo {
    return this.call.request;
  }

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }
}

export class CallQueue {
  private readonly waiting: Entry[] = [];
  private head = 0;
  private active = new Set<Entry>();
  private readonly deadlines = new Deadlines();

  constructor(public concurrency = 1) {}

  get size(): number {
    return this.waiting.length - this.head + this.active.size;
  }

  enqueue(call: QueuedCall): Promise<unknown> {
    if (call.signal?.aborted) return Promise.reject(callCancelled(call.label, call.signal.reason));
    const entry = new Entry(this, call);
    const promise = new Promise((resolve, reject) => {
      entry.resolve = resolve;
      entry.reject = reject;
    });
    if (call.signal) {
      entry.onAbort = () => this.fail(entry, callCancelled(call.label, call.signal?.reason));
      call.signal.addEventListener('abort', entry.onAbort, { once: true });
    }
    if (call.timeoutMs > 0 && Number.isFinite(call.timeoutMs))
      entry.deadline = this.deadlines.add(call.timeoutMs, entry);
    if (this.active.size < this.concurrency) this.start(entry);
    else this.waiting.push(entry);
    return promise;
  }

  /** Reject queued and running calls matching `pick` (Remix `cancel`: all calls from one caller, maybe to one method). */
  cancelWhere(pick: (call: QueuedCall) => boolean, reason: string): number {
    let n = 0;
    for (const entry of [...this.active, ...this.waiting.slice(this.head)]) {
      if (!entry.settled && pick(entry.call)) {
        this.fail(entry, callCancelled(entry.call.label, reason));
        n++;
      }
    }
    return n;
  }

  /** Reject everything (the plugin went away). */
  rejectAll(error: Error): void {
    for (const entry of [...this.active, ...this.waiting.slice(this.head)]) this.fail(entry, error, false);
    this.waiting.length = 0;
    this.head = 0;
  }

  private start(entry: Entry): void {
    entry.running = true;
    this.active.add(entry);
    let result: unknown;
    try {
      result = entry.call.run(entry);
    } catch (err) {
      this.finish(entry, err, true);
      return;
    }
    if (result === DEFERRED) return;
    if (result instanceof Promise) result.then(entry.onValue.bind(entry), entry.onError.bind(entry));
    else this.finish(entry, result, false);
  }

  /** @internal */
  finish(entry: Entry, value: unknown, failed: boolean): void {
    if (entry.settled) return;
    this.settle(entry);
    if (failed) entry.reject(value);
    else entry.resolve(value);
    this.next();
  }

  /** @internal */
  fail(entry: Entry, error: Error, notify = true): void {
    if (entry.settled) return;
    const wasRunning = entry.running;
    this.settle(entry);
    entry.reject(error);
    if (wasRunning) {
      entry.controller?.abort(error);
      if (notify) entry.call.abandon?.(error, entry);
    }
    this.next();
  }

  private settle(entry: Entry): void {
    entry.settled = true;
    entry.deadline?.cancel();
    if (entry.onAbort) entry.call.signal?.removeEventListener('abort', entry.onAbort);
    this.active.delete(entry);
  }

  private next(): void {
    while (this.active.size < this.concurrency && this.head < this.waiting.length) {
      const entry = this.waiting[this.head++]!;
      if (entry.settled) continue;
      this.start(entry);
    }
    if (this.head === this.waiting.length) {
      this.waiting.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
  }
}
