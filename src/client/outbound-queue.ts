/**
 * Frames waiting while the client is disconnected (or not yet registered). Bounded in frames and in
 * bytes: when either is full, the policy decides which frames go (`drop-oldest` keeps the freshest
 * state, `drop-newest` keeps order of what was accepted) and `dropped` counts every loss so it is
 * visible in `client.stats`. A frame larger than the whole byte budget is dropped at once.
 */
export type DropPolicy = 'drop-oldest' | 'drop-newest';

export class OutboundQueue {
  private items: string[] = [];
  private sizes: number[] = [];
  private head = 0;
  /** UTF-8 bytes of the frames queued now. */
  bytes = 0;
  dropped = 0;

  constructor(
    readonly capacity: number,
    readonly policy: DropPolicy,
    readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /** Adds a frame; returns false when the frame itself was dropped (drop-newest on a full queue). */
  push(frame: string): boolean {
    const size = Buffer.byteLength(frame);
    if (this.capacity <= 0 || size > this.maxBytes) {
      this.dropped++;
      return false;
    }
    const full = () => this.length >= this.capacity || this.bytes + size > this.maxBytes;
    if (full() && this.policy === 'drop-newest') {
      this.dropped++;
      return false;
    }
    while (full()) {
      this.bytes -= this.sizes[this.head]!;
      this.head++;
      this.dropped++;
    }
    this.items.push(frame);
    this.sizes.push(size);
    this.bytes += size;
    return true;
  }

  /** Removes and returns every queued frame in order. */
  drain(): string[] {
    const out = this.head === 0 ? this.items : this.items.slice(this.head);
    this.items = [];
    this.sizes = [];
    this.head = 0;
    this.bytes = 0;
    return out;
  }
}
