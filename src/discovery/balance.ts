/** Client-side load balancing: which of the allowed peers takes the next attempt. */
export type BalanceMode = 'random' | 'round-robin' | 'least-pending';

export class Balancer {
  private cursor = 0;
  private readonly pending = new Map<string, number>();

  constructor(readonly mode: BalanceMode) {}

  /** `mode`: the request's policy (defaults to the constructor's). */
  pick(candidates: readonly string[], mode: BalanceMode = this.mode): string | undefined {
    if (candidates.length === 0) return undefined;
    switch (mode) {
      case 'random':
        return candidates[Math.floor(Math.random() * candidates.length)];
      case 'round-robin':
        return candidates[this.cursor++ % candidates.length];
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
