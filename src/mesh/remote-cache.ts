/**
 * Messages waiting for a hub that is unreachable right now (the route is gone): kept per
 * destination hub until their `cache=ttl=` runs out, handed back when the hub is reachable again.
 */
import type { Message } from '../core/message.js';
import type { Clock } from './clock.js';

interface Waiting {
  msg: Message;
  expires: number;
}

export class RemoteCache {
  private byHub = new Map<string, Waiting[]>();

  constructor(
    private readonly clock: Clock,
    private readonly maxPerHub = 10_000,
  ) {}

  /** False when the hub's queue is full. */
  add(hub: string, msg: Message, ttlSeconds: number): boolean {
    const q = this.byHub.get(hub) ?? [];
    this.dropExpired(q);
    if (q.length >= this.maxPerHub) return false;
    q.push({ msg, expires: this.clock.now() + ttlSeconds * 1000 });
    this.byHub.set(hub, q);
    return true;
  }

  /** Removes and returns what is still valid for `hub`, in arrival order. */
  take(hub: string): Message[] {
    const q = this.byHub.get(hub);
    if (!q) return [];
    this.byHub.delete(hub);
    this.dropExpired(q);
    return q.map((w) => w.msg);
  }

  /** Hubs that have messages waiting. */
  hubs(): string[] {
    return [...this.byHub.keys()];
  }

  get size(): number {
    let n = 0;
    for (const q of this.byHub.values()) n += q.length;
    return n;
  }

  private dropExpired(q: Waiting[]): void {
    const now = this.clock.now();
    const keep = q.filter((w) => w.expires > now);
    q.splice(0, q.length, ...keep);
  }
}
