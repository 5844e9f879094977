/**
 * Client-side load balancing: which of the allowed peers takes the next attempt. `least-loaded`
 * prefers the peer whose hub reported the lowest load (LOADAVG; loads.ts).
 */
import { pickLeastLoaded } from './loads.js';

export type BalanceMode = 'random' | 'round-robin' | 'least-pending' | 'least-loaded';

export class Balancer {
  private cursor = 0;
  private readonly pending = new Map<string, number>();

  constructor(
    readonly mode: BalanceMode,
    /** The load of a peer's hub, when known (for `least-loaded`). */
    private readonly loadOf: (identity: string) => number | undefined = () => undefined,
  ) {}

  /** `mode`: the request's policy (defaults to the constructor's). */
  pick(candidates: readonly string[], mode: BalanceMode = this.mode): string | undefined {
    if (candidates.length === 0) return undefined;
    switch (mode) {
      case 'random':
        return candidates[Math.floor(Math.random() * candidates.length)];
      case 'round-robin':
        return candidates[this.cursor++ % candidates.length];
      case 'least-loaded':
        return pickLeastLoaded(candidates, this.loadOf);
      case 'least-pending': {
        let best = candidates[0]!;
        for (const c of candidates) if ((this.pending.get(c) ?? 0) < (this.pending.get(best) ?? 0)) best = c;
        return best;
      }
    }
  }

  started(peer: string): void {
    this.pending.set(peer, (this.pending.get(peer) ?? 0) + 1);
  }

  finished(peer: string): void {
    const n = (this.pending.get(peer) ?? 1) - 1;
    if (n <= 0) this.pending.delete(peer);
    else this.pending.set(peer, n);
  }
}
