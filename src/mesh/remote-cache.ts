/**
 * Messages waiting for a hub that is unreachable right now (the route is gone): kept per
 * destination hub until their `cache=ttl=` runs out, handed back when the hub is reachable again.
 * Bounded per hub in messages and in bytes: past either, a new message is refused (it fails, and
 * its sender hears so when it asked for a report).
 */
import { messageBytes, type Message } from '../core/message.js';
import type { Clock } from './clock.js';

interface Waiting {
  msg: Message;
  expires: number;
  bytes: number;
}

/** Bytes of messages kept for one unreachable hub (like the hub's own max_service_cache_bytes). */
export const MAX_BYTES_PER_HUB = 32 * 1024 * 1024;

export class RemoteCache {
  private byHub = new Map<string, Waiting[]>();
  private readonly bytesOf = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly maxPerHub = 10_000,
    private readonly maxBytesPerHub = MAX_BYTES_PER_HUB,
  ) {}

  /** False when the hub's queue is full (in messages or bytes). */
  add(hub: string, msg: Message, ttlSeconds: number): boolean {
    const q = this.byHub.get(hub) ?? [];
    const bytes = messageBytes(msg);
    const full = () => q.length >= this.maxPerHub || (this.bytesOf.get(hub) ?? 0) + bytes > this.maxBytesPerHub;
    // Expired ones make room; looked for only when full (a scan per message would cost a flood dearly).
    if (full()) this.dropExpired(hub, q);
    if (full()) return false;
    q.push({ msg, expires: this.clock.now() + ttlSeconds * 1000, bytes });
    this.byHub.set(hub, q);
    this.bytesOf.set(hub, (this.bytesOf.get(hub) ?? 0) + bytes);
    return true;
  }

  /** Bytes waiting for `hub`. */
  pendingBytes(hub: string): number {
    return this.bytesOf.get(hub) ?? 0;
  }

  /** Removes and returns what is still valid for `hub`, in arrival order. */
  take(hub: string): Message[] {
    const q = this.byHub.get(hub);
    if (!q) return [];
    this.byHub.delete(hub);
    this.bytesOf.delete(hub);
    const now = this.clock.now();
    return q.filter((w) => w.expires > now).map((w) => w.msg);
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

  private dropExpired(hub: string, q: Waiting[]): void {
    const now = this.clock.now();
    const keep = q.filter((w) => w.expires > now);
    q.splice(0, q.length, ...keep);
    this.bytesOf.set(
      hub,
      keep.reduce((n, w) => n + w.bytes, 0),
    );
  }
}
