/**
 * Messages held for a known service that is not connected, delivered once, in order, to the next
 * instance that registers (a message to `name#id` waits for that instance). Bounded per service
 * and in total; the oldest message goes first when full. Expired messages are swept lazily.
 */
import type { Message } from '../core/message.js';

interface Held {
  msg: Message;
  /** Epoch ms. */
  expires: number;
  /** Instance id when the message named one. */
  instance: string | undefined;
}

export interface CacheLimits {
  perService: number;
  total: number;
}

export class MessageCache {
  private readonly byService = new Map<string, Held[]>();
  private count = 0;
  /** Messages pushed out by the bounds or expired; for logs and LIST_SERVICES. */
  evicted = 0;

  constructor(private readonly limits: CacheLimits = { perService: 1000, total: 20_000 }) {}

  get size(): number {
    return this.count;
  }

  add(service: string, instance: string | undefined, msg: Message, ttlSeconds: number, now = Date.now()): void {
    let list = this.byService.get(service);
    if (!list) {
      list = [];
      this.byService.set(service, list);
    }
    this.expire(list, now);
    if (list.length >= this.limits.perService) this.dropOldest(list);
    if (this.count >= this.limits.total) this.evictGlobalOldest();
    list.push({ msg, expires: now + ttlSeconds * 1000, instance });
    this.count++;
  }

  /** Takes the live messages an instance of `service` (with id `instance`) should receive now. */
  take(service: string, instance: string, now = Date.now()): Message[] {
    const list = this.byService.get(service);
    if (!list) return [];
    const out: Message[] = [];
    const keep: Held[] = [];
    for (const h of list) {
      if (h.expires <= now) {
        this.evicted++;
        continue;
      }
      if (h.instance === undefined || h.instance === instance) out.push(h.msg);
      else keep.push(h);
    }
    this.count -= list.length - keep.length;
    if (keep.length === 0) this.byService.delete(service);
    else this.byService.set(service, keep);
    return out;
  }

  pending(service: string): number {
    return this.byService.get(service)?.length ?? 0;
  }

  private expire(list: Held[], now: number): void {
    let i = 0;
    while (i < list.length && list[i]!.expires <= now) i++;
    if (i > 0) {
      // TTLs differ, so this only trims the expired head; take() drops the rest.
      list.splice(0, i);
      this.count -= i;
      this.evicted += i;
    }
  }

  private dropOldest(list: Held[]): void {
    list.shift();
    this.count--;
    this.evicted++;
  }

  private evictGlobalOldest(): void {
    let oldestKey: string | undefined;
    let oldest = Infinity;
    for (const [k, list] of this.byService) {
      const head = list[0];
      if (head && head.expires < oldest) {
        oldest = head.expires;
        oldestKey = k;
      }
    }
    if (oldestKey === undefined) return;
    const list = this.byService.get(oldestKey)!;
    this.dropOldest(list);
    if (list.length === 0) this.byService.delete(oldestKey);
  }
}
