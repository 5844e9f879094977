/**
 * Failed secure-link logins per source address: `authMaxFailures` failures within
 * `authFailureWindowMs` block the address for `authBlockMs` (3 in 15 min -> 1 h by default).
 * A blocked address gets no reply at all.
 */
import type { Clock } from './clock.js';
import type { MeshTimings } from './timings.js';

export interface BlockedAddress {
  address: string;
  /** Epoch ms the block ends. */
  until: number;
  failures: number;
}

export class AuthGuard {
  private failures = new Map<string, number[]>();
  private blocked = new Map<string, BlockedAddress>();

  constructor(
    private readonly clock: Clock,
    private readonly timings: Pick<MeshTimings, 'authFailureWindowMs' | 'authMaxFailures' | 'authBlockMs'>,
  ) {}

  isBlocked(address: string): boolean {
    const b = this.blocked.get(address);
    if (!b) return false;
    if (b.until <= this.clock.now()) {
      this.blocked.delete(address);
      return false;
    }
    return true;
  }

  /** Records a failure; returns the block when this one crossed the limit. */
  recordFailure(address: string): BlockedAddress | undefined {
    const now = this.clock.now();
    const recent = (this.failures.get(address) ?? []).filter((t) => t > now - this.timings.authFailureWindowMs);
    recent.push(now);
    this.failures.set(address, recent);
    if (recent.length < this.timings.authMaxFailures) return undefined;
    const block: BlockedAddress = { address, until: now + this.timings.authBlockMs, failures: recent.length };
    this.blocked.set(address, block);
    this.failures.delete(address);
    return block;
  }

  recordSuccess(address: string): void {
    this.failures.delete(address);
  }

  list(): BlockedAddress[] {
    const now = this.clock.now();
    return [...this.blocked.values()].filter((b) => b.until > now);
  }
}
