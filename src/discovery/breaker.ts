/**
 * A circuit breaker per peer: closed (requests flow) -> open after `failureThreshold` failures in
 * a row (the peer is skipped) -> half-open after `cooldownMs` (one trial request) -> closed on a
 * success, open again on a failure.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  failureThreshold: number;
  cooldownMs: number;
}

interface Entry {
  state: BreakerState;
  failures: number;
  openedAt: number;
  /** The cool-down of the policy in force when it opened (policies may differ per target). */
  cooldownMs: number;
  trialInFlight: boolean;
}

export class Breakers {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly options: BreakerOptions,
    private readonly now: () => number = Date.now,
  ) {}

  state(peer: string): BreakerState {
    const e = this.entries.get(peer);
    if (!e) return 'closed';
    if (e.state === 'open' && this.now() - e.openedAt >= e.cooldownMs) return 'half-open';
    return e.state;
  }

  /** May a request go to `peer` now? A half-open peer takes one trial at a time. */
  allows(peer: string): boolean {
    const s = this.state(peer);
    if (s === 'closed') return true;
    if (s === 'open') return false;
    return !this.entries.get(peer)!.trialInFlight;
  }

  /** Call when a request is sent to `peer` (marks the half-open trial). */
  begin(peer: string): void {
    const e = this.entries.get(peer);
    if (e && this.state(peer) === 'half-open') {
      e.state = 'half-open';
      e.trialInFlight = true;
    }
  }

  success(peer: string): void {
    this.entries.delete(peer);
  }

  /** `options`: the failing request's policy (defaults to the constructor's). */
  failure(peer: string, options: BreakerOptions = this.options): void {
    const e = this.entries.get(peer) ?? {
      state: 'closed' as BreakerState,
      failures: 0,
      openedAt: 0,
      cooldownMs: options.cooldownMs,
      trialInFlight: false,
    };
    e.failures++;
    e.trialInFlight = false;
    if (e.state === 'half-open' || this.state(peer) === 'half-open' || e.failures >= options.failureThreshold) {
      e.state = 'open';
      e.openedAt = this.now();
      e.cooldownMs = options.cooldownMs;
    }
    this.entries.set(peer, e);
  }
}
