/**
 * Hub loads for least-loaded picks: the communicator's LOADAVG readings (1-minute load per
 * processor) by hub name, as the discovery client receives them from its hub (its own hub's after
 * REGISTER_FOR_LOADAVG, the others' after LISTEN_LOADAVG; see src/hub/PROTOCOL.md). A peer's
 * identity is `<hub>/<service>#<instance>`, so its hub's load is its load.
 */
import type { Message } from '../core/message.js';
import { readLoadAvg } from '../core/protocol/index.js';

/** Hubs whose load one client keeps (a cluster larger than this is not one a client balances over). */
export const MAX_HUB_LOADS = 1024;

export interface HubLoad {
  /** 1-minute load per processor (1.0 = a full machine). */
  readonly avg: number;
  /** When the hub read it, epoch seconds. */
  readonly timestamp: number;
}

export class HubLoads {
  private readonly loads = new Map<string, HubLoad>();

  /** A LOADAVG from the hub; false when it does not validate (or the table is full of other hubs). */
  record(msg: Message): boolean {
    const hub = msg.sentFrom.server;
    const r = readLoadAvg(msg.params);
    if (hub === '' || !r.ok) return false;
    const before = this.loads.get(hub);
    if (before && before.timestamp > r.value.timestamp) return true; // an older reading that arrived late
    if (!before && this.loads.size >= MAX_HUB_LOADS) return false;
    this.loads.set(hub, { avg: r.value.avg, timestamp: r.value.timestamp });
    return true;
  }

  of(hub: string): HubLoad | undefined {
    return this.loads.get(hub);
  }

  /** The load of the hub a peer identity (`<hub>/<service>#<instance>`) lives on. */
  ofPeer(identity: string): number | undefined {
    const slash = identity.indexOf('/');
    return slash > 0 ? this.loads.get(identity.slice(0, slash))?.avg : undefined;
  }

  hubs(): string[] {
    return [...this.loads.keys()];
  }
}

/**
 * The candidate on the least-loaded hub: candidates whose hub reported a load come first, lowest
 * load wins, ties are broken at random (instances of one hub share its load). With no load known
 * at all, a random candidate.
 */
export function pickLeastLoaded(
  candidates: readonly string[],
  loadOf: (identity: string) => number | undefined,
): string | undefined {
  let best: string[] = [];
  let bestLoad = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const load = loadOf(c);
    if (load === undefined) continue;
    if (load < bestLoad) {
      best = [c];
      bestLoad = load;
    } else if (load === bestLoad) best.push(c);
  }
  const pool = best.length ? best : candidates;
  return pool.length ? pool[Math.floor(Math.random() * pool.length)] : undefined;
}
