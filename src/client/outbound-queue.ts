/**
 * Frames waiting while the client is disconnected (or not yet registered). Bounded: when full, the
 * policy decides which frame goes (`drop-oldest` keeps the freshest state, `drop-newest` keeps
 * order of what was accepted) and `dropped` counts every loss so it is visible in `client.stats`.
 */
export type DropPolicy = 'drop-oldest' | 'drop-newest';

export class OutboundQueue {
  private items: string[] = [];
  private head = 0;
  dropped = 0;

  constructor(
    readonly capacity: number,
    readonly policy: DropPolicy,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /** Adds a frame; returns false when the frame itself was dropped (drop-newest on a full queue). */
  push(frame: string): boolean {
    if (this.capacity <= 0) {
      this.dropped++;
      return false;
    }
    if (this.length >= this.capacity) {
      this.dropped++;
      if (this.policy === 'drop-newest') return false;
      this.head++;
    }
    this.items.push(frame);
    return true;
  }

  /** Removes and returns every queued frame in order. */
  drain(): string[] {
    const out = this.head === 0 ? this.items : this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return out;
  }
}
