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

export interface QueuedCall {
  /** `target.method from caller`, for error messages. */
  readonly label: string;
  readonly method: string;
  readonly request: RequestInfo;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  run(ctx: CallContext): unknown;
  /** Called when the call is given up while running (timeout, cancel). */
  abandon?(reason: Error, ctx: CallContext): void;
}

class Entry implements CallContext {
  running = false;
  settled = false;
  deadline: Deadline | undefined;
  controller: AbortController | undefined;
  onAbort: (() => void) | undefined;
  abandonHook: ((reason: Error, ctx: CallContext) => void) | undefined;
  remoteId?: number;

  constructor(readonly call: QueuedCall, readonly resolve: (v: unknown) => void, readonly reject: (e: unknown) => void) {
    this.abandonHook = call.abandon?.bind(call);
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
    return new Promise((resolve, reject) => {
      const entry = new Entry(call, resolve, reject);
      if (call.signal) {
        if (call.signal.aborted) { reject(callCancelled(call.label, call.signal.reason)); return; }
        entry.onAbort = () => this.fail(entry, callCancelled(call.label, call.signal?.reason));
        call.signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      if (call.timeoutMs > 0 && Number.isFinite(call.timeoutMs)) {
        entry.deadline = this.deadlines.add(call.timeoutMs, () => this.fail(entry, callTimeout(call.label, call.timeoutMs)));
      }
      if (this.active.size < this.concurrency) this.start(entry);
      else this.waiting.push(entry);
    });
  }

  /** Reject queued and running calls matching `pick` (Remix `cancel`: all calls from one caller, maybe to one method). */
  cancelWhere(pick: (call: QueuedCall) => boolean, reason: string): number {
    let n = 0;
    for (const entry of [...this.active, ...this.waiting.slice(this.head)]) {
      if (!entry.settled && pick(entry.call)) { this.fail(entry, callCancelled(entry.call.label, reason)); n++; }
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
    if (result instanceof Promise) result.then((v) => this.finish(entry, v, false), (e: unknown) => this.finish(entry, e, true));
    else this.finish(entry, result, false);
  }

  private finish(entry: Entry, value: unknown, failed: boolean): void {
    if (entry.settled) return;
    this.settle(entry);
    if (failed) entry.reject(value);
    else entry.resolve(value);
    this.next();
  }

  private fail(entry: Entry, error: Error, notify = true): void {
    if (entry.settled) return;
    const wasRunning = entry.running;
    this.settle(entry);
    entry.reject(error);
    if (wasRunning) {
      entry.controller?.abort(error);
      if (notify) entry.abandonHook?.(error, entry);
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
