/**
 * Broadcast bookkeeping (the communicator's rules): each broadcast carries
 * `broadcast_msgid=<server>-<seq>`, `broadcast_hops` (not forwarded at 5), `broadcast_originator`,
 * `broadcast_timeout` (epoch seconds) and `broadcast_informed_neighbors` (hubs that already have it,
 * so a ring or full mesh does not send it around again). A hub handles a given msgid once.
 */
import type { JsonValue } from '../core/message.js';
import type { Clock } from './clock.js';

export const MAX_BROADCAST_HOPS = 5;

export interface BroadcastInfo {
  msgid: string;
  hops: number;
  originator: string;
  /** Epoch seconds after which the broadcast is dropped. */
  timeout: number;
  informed: string[];
}

export const BROADCAST_PARAMS = [
  'broadcast_msgid',
  'broadcast_hops',
  'broadcast_originator',
  'broadcast_timeout',
  'broadcast_informed_neighbors',
] as const;

function str(v: JsonValue | undefined): string {
  return v === undefined || v === null ? '' : typeof v === 'string' ? v : String(v);
}

/** Reads the broadcast parameters, or undefined when the message carries no msgid. */
export function readBroadcast(params: Record<string, JsonValue>): BroadcastInfo | undefined {
  const msgid = str(params.broadcast_msgid);
  if (!msgid) return undefined;
  const informed = str(params.broadcast_informed_neighbors)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    msgid,
    hops: Number(str(params.broadcast_hops)) || 0,
    originator: str(params.broadcast_originator),
    timeout: Number(str(params.broadcast_timeout)) || 0,
    informed,
  };
}

export function writeBroadcast(params: Record<string, JsonValue>, info: BroadcastInfo): Record<string, JsonValue> {
  return {
    ...params,
    broadcast_msgid: info.msgid,
    broadcast_hops: String(info.hops),
    broadcast_originator: info.originator,
    broadcast_timeout: String(info.timeout),
    broadcast_informed_neighbors: info.informed.join(','),
  };
}

/** Strips the bookkeeping before a local service sees the message. */
export function stripBroadcast(params: Record<string, JsonValue>): Record<string, JsonValue> {
  const out = { ...params };
  for (const k of BROADCAST_PARAMS) delete out[k];
  return out;
}

export class BroadcastTracker {
  private seq = 0;
  /** msgid -> expiry (ms). */
  private seen = new Map<string, number>();

  constructor(
    private readonly server: string,
    private readonly clock: Clock,
    private readonly timeoutMs: number,
  ) {}

  /** A new broadcast from this hub (also marked seen, so echoes are dropped). */
  originate(): BroadcastInfo {
    const info: BroadcastInfo = {
      msgid: `${this.server}-${++this.seq}`,
      hops: 0,
      originator: this.server,
      timeout: Math.floor((this.clock.now() + this.timeoutMs) / 1000) + 1,
      informed: [],
    };
    this.seen.set(info.msgid, this.clock.now() + this.timeoutMs);
    return info;
  }

  /**
   * True when this hub should handle `info` (first time, not expired); it is then remembered until
   * it expires.
   */
  accept(info: BroadcastInfo): boolean {
    const now = this.clock.now();
    this.prune(now);
    if (info.timeout * 1000 < now) return false;
    if (this.seen.has(info.msgid)) return false;
    this.seen.set(info.msgid, Math.max(info.timeout * 1000, now + this.timeoutMs));
    return true;
  }

  /**
   * Which of `neighbors` to forward to, and the info they get: hops+1, the informed list grown by
   * this hub and every target. Empty when the hop limit is reached.
   */
  forward(info: BroadcastInfo, neighbors: readonly string[]): { targets: string[]; info: BroadcastInfo } {
    const informed = new Set([...info.informed, this.server]);
    if (info.hops >= MAX_BROADCAST_HOPS) return { targets: [], info };
    const targets = neighbors.filter((n) => !informed.has(n) && n !== info.originator);
    for (const t of targets) informed.add(t);
    return { targets, info: { ...info, hops: info.hops + 1, informed: [...informed] } };
  }

  get size(): number {
    return this.seen.size;
  }

  private prune(now: number): void {
    if (this.seen.size < 1024) return;
    for (const [id, exp] of this.seen) if (exp < now) this.seen.delete(id);
  }
}
