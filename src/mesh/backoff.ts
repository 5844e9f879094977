/**
 * When to try a neighbor again. Toward a smaller address (we connect): after a lost link or a
 * failed attempt wait `reconnectMs`, after DISCONNECT (the peer is stopping) `reconnectAfterDisconnectMs`.
 * Toward a larger address (we only GOSSIP): `gossipInitialMs`, doubling up to `gossipMaxMs`,
 * back to the start once the link is up.
 */
import type { Clock, TimerHandle } from './clock.js';
import type { MeshTimings } from './timings.js';

export type RetryReason = 'initial' | 'lost' | 'failed' | 'disconnect';

export function reconnectDelay(timings: MeshTimings, reason: RetryReason): number {
  switch (reason) {
    case 'initial':
      return 0;
    case 'disconnect':
      return timings.reconnectAfterDisconnectMs;
    case 'lost':
    case 'failed':
      return timings.reconnectMs;
  }
}

export class GossipBackoff {
  private current: number;

  constructor(private readonly timings: MeshTimings) {
    this.current = timings.gossipInitialMs;
  }

  /** The delay to wait now; the following one is twice as long (capped). */
  next(): number {
    const d = this.current;
    this.current = Math.min(this.current * 2, this.timings.gossipMaxMs);
    return d;
  }

  reset(): void {
    this.current = this.timings.gossipInitialMs;
  }
}

/** One pending retry per neighbor: scheduling again replaces the previous timer. */
export class RetryTimer {
  private handle: TimerHandle | undefined;
  private dueAt: number | undefined;

  constructor(private readonly clock: Clock) {}

  schedule(delayMs: number, fn: () => void): void {
    this.cancel();
    this.dueAt = this.clock.now() + delayMs;
    this.handle = this.clock.setTimer(delayMs, () => {
      this.handle = undefined;
      this.dueAt = undefined;
      fn();
    });
  }

  cancel(): void {
    this.handle?.cancel();
    this.handle = undefined;
    this.dueAt = undefined;
  }

  /** When the retry fires (epoch ms), or undefined when none is pending. */
  get due(): number | undefined {
    return this.dueAt;
  }
}
