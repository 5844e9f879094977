/**
 * Request/reply correlation in one place: every request gets an id carried in the
 * `correlation_id` parameter; the replying side echoes it. One map from id to resolver, a deadline
 * and an optional AbortSignal per request; `rejectAll` empties the map (dispose, fatal errors).
 *
 * Timeouts: requests with the same timeout expire in the order they were made, so each distinct
 * timeout has one FIFO list (the pending requests are its links) and one timer for the list's
 * head, instead of a Node timer per request (a timer object, a timer-list insert and a
 * clearTimeout each: a measurable share of a request's CPU at tens of thousands per second).
 */
import { SwitchboardError, TimeoutError } from '../core/errors.js';
import type { Message } from '../core/message.js';
import { readErrorReply } from '../core/protocol/index.js';

export const CORRELATION_PARAM = 'correlation_id';

export interface PendingInfo {
  /** What was asked, for error messages and for matching replies that lack the id. */
  readonly command: string;
  readonly service: string;
}

/** One request in flight (a class: a request should cost no closures but the promise's own). */
class Pending implements PendingInfo {
  onAbort: (() => void) | undefined;
  /** performance.now() at which it times out. */
  deadline = 0;
  /** Links in its DeadlineQueue. */
  prev: Pending | undefined;
  next: Pending | undefined;
  queue: DeadlineQueue | undefined;

  constructor(
    readonly id: string,
    readonly command: string,
    readonly service: string,
    readonly resolve: (msg: Message) => void,
    readonly reject: (err: Error) => void,
    /** Matches a reply that does not carry the id (a peer that does not echo it). */
    readonly match: ((msg: Message) => boolean) | undefined,
    readonly signal: AbortSignal | undefined,
  ) {}

  cleanup(): void {
    this.queue?.remove(this);
    if (this.onAbort) this.signal?.removeEventListener('abort', this.onAbort);
  }
}

/**
 * The pending requests of one timeout length, oldest first, with one timer armed for the oldest.
 * Removing a settled request is O(1); the timer is only re-armed when it fires (a head that was
 * settled in the meantime just makes it fire early and re-arm), and it holds the process open
 * only while the list is not empty, like a per-request timer would.
 */
class DeadlineQueue {
  private head: Pending | undefined;
  private tail: Pending | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;

  constructor(
    readonly timeoutMs: number,
    private readonly expire: (p: Pending) => void,
  ) {}

  add(p: Pending): void {
    p.deadline = performance.now() + this.timeoutMs;
    p.queue = this;
    p.prev = this.tail;
    p.next = undefined;
    if (this.tail) this.tail.next = p;
    else {
      this.head = p;
      if (this.timer === undefined) this.arm(p.deadline);
      else if (this.timerAt > p.deadline) {
        clearTimeout(this.timer);
        this.arm(p.deadline);
      } else this.timer.ref();
    }
    this.tail = p;
  }

  remove(p: Pending): void {
    if (p.queue !== this) return;
    p.queue = undefined;
    if (p.prev) p.prev.next = p.next;
    else this.head = p.next;
    if (p.next) p.next.prev = p.prev;
    else this.tail = p.prev;
    p.prev = p.next = undefined;
    // Nothing left to time out: the timer must not keep the process alive.
    if (this.head === undefined) this.timer?.unref();
  }

  private arm(at: number): void {
    this.timerAt = at;
    this.timer = setTimeout(this.onTimer, Math.max(1, Math.ceil(at - performance.now())));
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    const now = performance.now();
    // `expire` settles the request, which removes it from this list.
    while (this.head !== undefined && this.head.deadline <= now) this.expire(this.head);
    if (this.head !== undefined) this.arm(this.head.deadline);
  };

  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export interface TrackOptions {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  match?: ((msg: Message) => boolean) | undefined;
}

export class Correlator {
  private readonly pending = new Map<string, Pending>();
  /** One deadline list per distinct timeout length (usually one or two). */
  private readonly queues = new Map<number, DeadlineQueue>();
  private readonly prefix = Math.random().toString(36).slice(2, 8);
  private seq = 0;
  /** Pending requests with a `match` predicate (replies without the id are offered only to them). */
  private matchers = 0;

  get size(): number {
    return this.pending.size;
  }

  nextId(): string {
    return `${this.prefix}${(++this.seq).toString(36)}`;
  }

  /** Registers a request under `id`; the promise settles with the reply, a timeout or an abort. */
  track(id: string, info: PendingInfo, options: TrackOptions): Promise<Message> {
    return new Promise<Message>((resolve, reject) => {
      const { signal } = options;
      if (signal?.aborted) {
        reject(cancelled(info, signal));
        return;
      }
      const p = new Pending(id, info.command, info.service, resolve, reject, options.match, signal);
      const timeoutMs = options.timeoutMs;
      let queue = this.queues.get(timeoutMs);
      if (queue === undefined) this.queues.set(timeoutMs, (queue = new DeadlineQueue(timeoutMs, this.onTimeout)));
      queue.add(p);
      if (signal) {
        p.onAbort = () => this.settle(id)?.reject(cancelled(p, signal));
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      if (p.match) this.matchers++;
      this.pending.set(id, p);
    });
  }

  private readonly onTimeout = (p: Pending): void => {
    const timeoutMs = p.queue?.timeoutMs ?? 0;
    // Settle exactly this request (and so take it off its list, which the timer's loop relies on),
    // even if its id was tracked again since.
    if (this.pending.get(p.id) === p) this.settle(p.id);
    else p.cleanup();
    p.reject(
      new TimeoutError(`no reply to ${describe(p)} within ${timeoutMs} ms`, {
        data: { command: p.command, service: p.service, timeoutMs },
      }),
    );
  };

  /** Settles the request a reply belongs to; false when nobody waits for it (late or foreign). */
  resolve(msg: Message): boolean {
    const id = msg.params[CORRELATION_PARAM];
    if (typeof id === 'string' && this.pending.has(id)) {
      this.settleWith(id, msg);
      return true;
    }
    if (id !== undefined || this.matchers === 0) return false;
    for (const [key, p] of this.pending) {
      if (p.match?.(msg)) {
        this.settleWith(key, msg);
        return true;
      }
    }
    return false;
  }

  /** Rejects the first pending request the predicate picks (e.g. SERVICE_UNAVAILABLE for it). */
  rejectWhere(pick: (info: PendingInfo) => boolean, err: Error): boolean {
    for (const [key, p] of this.pending) {
      if (pick(p)) {
        this.settle(key)?.reject(err);
        return true;
      }
    }
    return false;
  }

  reject(id: string, err: Error): void {
    this.settle(id)?.reject(err);
  }

  /** True for ids this correlator made (a late reply, after its request timed out). */
  owns(id: string): boolean {
    return id.startsWith(this.prefix);
  }

  rejectAll(err: Error): void {
    for (const key of [...this.pending.keys()]) this.settle(key)?.reject(err);
    for (const q of this.queues.values()) q.dispose();
    this.queues.clear();
  }

  private settleWith(id: string, msg: Message): void {
    const p = this.settle(id);
    if (!p) return;
    if (msg.command === 'ERROR') p.reject(readErrorReply(msg, describe(p)));
    else if (msg.command === 'UNKNOWN')
      p.reject(
        new SwitchboardError('NOT_FOUND', `${msg.sentFrom.service || 'the hub'} does not understand ${describe(p)}`),
      );
    else p.resolve(msg);
  }

  private settle(id: string): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    if (p.match) this.matchers--;
    p.cleanup();
    return p;
  }
}

function describe(info: PendingInfo): string {
  return `${info.service || '(hub)'}/${info.command}`;
}

function cancelled(info: PendingInfo, signal: AbortSignal | undefined): SwitchboardError {
  return new SwitchboardError('CANCELLED', `request ${describe(info)} was cancelled`, { cause: signal?.reason });
}
