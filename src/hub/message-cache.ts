/**
 * Messages held for a known service that is not connected, delivered once, in order, to the next
 * instance that registers (a message to `name#id` waits for that instance). Bounded per service
 * and in total, in messages and in bytes; when a bound is reached the oldest message goes first
 * (globally oldest for the total bounds), and every message that leaves without being delivered
 * (evicted, expired, or too big to keep at all) is reported to `onDropped` with the reason, so the
 * sender can be told (TRANSMISSION_REPORT). Expired messages are swept every few seconds.
 */
import { messageBytes, type Message } from '../core/message.js';

export interface CacheLimits {
  /** Messages per service. */
  perService: number;
  /** Messages in all. */
  total: number;
  /** Bytes per service (the messages' text size, about what they occupy). */
  perServiceBytes: number;
  /** Bytes in all. */
  totalBytes: number;
}

export const DEFAULT_CACHE_LIMITS: CacheLimits = {
  perService: 1000,
  total: 20_000,
  perServiceBytes: 32 << 20,
  totalBytes: 128 << 20,
};

/** A message taken from the cache (or put back): what it is, until when, for whom, from whom. */
export interface Cached<From> {
  readonly msg: Message;
  readonly bytes: number;
  /** Epoch ms. */
  readonly expires: number;
  readonly ttlSeconds: number;
  /** Instance id when the message named one. */
  readonly instance: string | undefined;
  /** Where it came from (the hub: the sending connection), for a report when it is dropped. */
  readonly from: From | undefined;
}

interface Entry<From> {
  /** The message while it is held; undefined once it left (the book of insertion order may still list it). */
  item: Cached<From> | undefined;
  /** Insertion order across every service: eviction by the total bounds takes the smallest. */
  seq: number;
  readonly service: string;
}

export type DropListener<From> = (dropped: Cached<From>, reason: string) => void;

/** Sweep expired messages this often (ms) while anything is held. */
const SWEEP_MS = 5000;

export class MessageCache<From = unknown> {
  private readonly byService = new Map<string, Entry<From>[]>();
  /** Every held entry in insertion order; entries that left stay (dead) until skipped or compacted. */
  private order: Entry<From>[] = [];
  private orderHead = 0;
  private deadInOrder = 0;
  private seq = 0;
  private count = 0;
  private heldBytes = 0;
  private readonly bytesOf = new Map<string, number>();
  private sweepTimer: NodeJS.Timeout | undefined;
  /** Messages that left without being delivered (evicted, expired, refused); for logs and tests. */
  evicted = 0;

  constructor(
    private readonly limits: CacheLimits = DEFAULT_CACHE_LIMITS,
    private readonly onDropped: DropListener<From> = () => undefined,
  ) {}

  /** Messages held. */
  get size(): number {
    return this.count;
  }

  /** Bytes held (see messageBytes). */
  get bytes(): number {
    return this.heldBytes;
  }

  /**
   * Keeps `msg` for `service` (and `instance`, when it named one); makes room by dropping the
   * oldest. Returns undefined when kept, or the sentence saying why it cannot be kept at all.
   */
  add(
    service: string,
    instance: string | undefined,
    msg: Message,
    ttlSeconds: number,
    from?: From,
    now = Date.now(),
  ): string | undefined {
    const bytes = messageBytes(msg);
    const room = Math.min(this.limits.perServiceBytes, this.limits.totalBytes);
    if (bytes > room)
      return room === 0
        ? 'the hub keeps no messages for later (max_cache_bytes or max_service_cache_bytes is 0)'
        : `the message (${bytes} bytes) is larger than the cache keeps for one service (${room} bytes: max_service_cache_bytes, max_cache_bytes)`;
    let list = this.byService.get(service);
    if (!list) {
      list = [];
      this.byService.set(service, list);
    }
    this.expireHead(list, now);
    while (list.length >= this.limits.perService)
      this.remove(
        list[0]!,
        `evicted from the cache: service "${service}" already had ${this.limits.perService} messages waiting`,
      );
    while ((this.bytesOf.get(service) ?? 0) + bytes > this.limits.perServiceBytes)
      this.remove(
        list[0]!,
        `evicted from the cache: the messages waiting for service "${service}" passed its budget of ${this.limits.perServiceBytes} bytes (max_service_cache_bytes)`,
      );
    while (this.count >= this.limits.total)
      this.removeOldest(`evicted from the cache: it held ${this.limits.total} messages in all`);
    while (this.heldBytes + bytes > this.limits.totalBytes)
      this.removeOldest(
        `evicted from the cache: the messages waiting for all services passed its budget of ${this.limits.totalBytes} bytes (max_cache_bytes)`,
      );
    const entry: Entry<From> = {
      item: { msg, bytes, expires: now + ttlSeconds * 1000, ttlSeconds, instance, from },
      seq: this.seq++,
      service,
    };
    // The service's list may have been emptied (and removed) while making room.
    let target = this.byService.get(service);
    if (!target) {
      target = [];
      this.byService.set(service, target);
    }
    target.push(entry);
    this.order.push(entry);
    this.count++;
    this.heldBytes += bytes;
    this.bytesOf.set(service, (this.bytesOf.get(service) ?? 0) + bytes);
    this.sweepTimer ??= setInterval(() => this.sweep(), SWEEP_MS).unref();
    return undefined;
  }

  /** Takes the live messages an instance of `service` (with id `instance`) should receive now, in order. */
  take(service: string, instance: string, now = Date.now()): Cached<From>[] {
    const list = this.byService.get(service);
    if (!list) return [];
    const out: Cached<From>[] = [];
    for (const e of [...list]) {
      const item = e.item!;
      if (item.expires <= now) this.remove(e, expiredReason(item));
      else if (item.instance === undefined || item.instance === instance) {
        this.unlink(e);
        out.push(item);
      }
    }
    return out;
  }

  /**
   * Puts messages taken for a delivery that did not happen (the instance left before it read them)
   * back in front of the service's queue, in their order, as if they had never left.
   */
  putBack(service: string, items: readonly Cached<From>[], now = Date.now()): void {
    if (items.length === 0) return;
    const back: Entry<From>[] = items.map((item) => ({ item, seq: -1, service }));
    const list = this.byService.get(service) ?? [];
    this.byService.set(service, [...back, ...list]);
    for (const e of back) {
      this.count++;
      this.heldBytes += e.item!.bytes;
      this.bytesOf.set(service, (this.bytesOf.get(service) ?? 0) + e.item!.bytes);
    }
    // Renumber in order, the put-back ones first (rare: a slow consumer closed mid-flush), then apply the bounds.
    const others = [...this.byService.values()]
      .flat()
      .filter((e) => e.seq !== -1)
      .sort((a, b) => a.seq - b.seq);
    this.order = [...back, ...others].map((e) => Object.assign(e, { seq: this.seq++ }));
    this.orderHead = 0;
    this.deadInOrder = 0;
    const mine = this.byService.get(service)!;
    for (const e of [...mine]) if (e.item!.expires <= now) this.remove(e, expiredReason(e.item!));
    while ((this.byService.get(service)?.length ?? 0) > this.limits.perService)
      this.remove(
        this.byService.get(service)![0]!,
        `evicted from the cache: service "${service}" had ${this.limits.perService} messages waiting`,
      );
    while ((this.bytesOf.get(service) ?? 0) > this.limits.perServiceBytes)
      this.remove(
        this.byService.get(service)![0]!,
        `evicted from the cache: the messages waiting for service "${service}" passed its budget of ${this.limits.perServiceBytes} bytes (max_service_cache_bytes)`,
      );
    while (this.count > this.limits.total || this.heldBytes > this.limits.totalBytes)
      this.removeOldest(`evicted from the cache: the messages waiting for all services passed its budget`);
    this.sweepTimer ??= setInterval(() => this.sweep(), SWEEP_MS).unref();
  }

  pending(service: string): number {
    return this.byService.get(service)?.length ?? 0;
  }

  pendingBytes(service: string): number {
    return this.bytesOf.get(service) ?? 0;
  }

  /** Drops the expired messages (each reported). */
  sweep(now = Date.now()): void {
    for (const list of [...this.byService.values()])
      for (const e of [...list]) if (e.item!.expires <= now) this.remove(e, expiredReason(e.item!));
  }

  /** Stops the sweep timer (the hub stopped); what is held stays until dropped. */
  close(): void {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  private expireHead(list: Entry<From>[], now: number): void {
    // TTLs differ, so this only trims the expired head; take() and sweep() drop the rest.
    while (list.length > 0 && list[0]!.item!.expires <= now) this.remove(list[0]!, expiredReason(list[0]!.item!));
  }

  /** Drops one held entry and reports it. */
  private remove(e: Entry<From>, reason: string): void {
    const item = this.unlink(e);
    if (item === undefined) return;
    this.evicted++;
    this.onDropped(item, reason);
  }

  /** Takes an entry out of every book (delivered or dropped); returns what it held. */
  private unlink(e: Entry<From>): Cached<From> | undefined {
    const item = e.item;
    if (item === undefined) return undefined;
    e.item = undefined;
    const list = this.byService.get(e.service)!;
    const i = list[0] === e ? 0 : list.indexOf(e);
    list.splice(i, 1);
    if (list.length === 0) this.byService.delete(e.service);
    this.count--;
    this.heldBytes -= item.bytes;
    const left = (this.bytesOf.get(e.service) ?? 0) - item.bytes;
    if (left <= 0) this.bytesOf.delete(e.service);
    else this.bytesOf.set(e.service, left);
    this.deadInOrder++;
    if (this.count === 0) {
      this.order = [];
      this.orderHead = 0;
      this.deadInOrder = 0;
      this.close();
    } else if (this.deadInOrder > 1024 && this.deadInOrder > this.count) {
      this.order = this.order.slice(this.orderHead).filter((x) => x.item !== undefined);
      this.orderHead = 0;
      this.deadInOrder = 0;
    }
    return item;
  }

  /** Drops the oldest message of all (its service's first: lists are in insertion order). */
  private removeOldest(reason: string): void {
    while (this.orderHead < this.order.length && this.order[this.orderHead]!.item === undefined) {
      this.orderHead++;
      this.deadInOrder--;
    }
    const oldest = this.order[this.orderHead];
    if (oldest) this.remove(oldest, reason);
  }
}

function expiredReason(e: Cached<unknown>): string {
  return `not delivered: no instance registered within its cache ttl of ${e.ttlSeconds} seconds`;
}
