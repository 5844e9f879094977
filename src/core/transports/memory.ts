/**
 * An in-memory duplex pair: what one side sends, the other receives, in order, on a later
 * microtask (never re-entrantly inside `send`). Real code for tests and in-process services. The
 * receiver can `pause()`: frames then wait in its inbox, which counts against the sender's
 * `maxQueuedBytes` exactly like a socket buffer does, so back-pressure behaves as on the wire.
 */
import { LineTooLongError } from '../errors.js';
import { BaseChannel } from './base-channel.js';
import { resolveChannelOptions, type ChannelOptions, type ResolvedChannelOptions } from './options.js';

export class MemoryChannel extends BaseChannel {
  peer!: MemoryChannel;
  private readonly options: ResolvedChannelOptions;
  private inbox: string[] = [];
  private inboxHead = 0;
  private inboxChars = 0;
  private paused = false;
  private deliveryScheduled = false;
  /** The peer closed: deliver what is in the inbox, then close. */
  private peerClosed = false;
  private closeReason: Error | undefined;

  constructor(peerName: string, options?: ChannelOptions) {
    super('memory', peerName);
    this.options = resolveChannelOptions(options);
  }

  send(frame: string): boolean {
    if (this.currentState !== 'open' || this.peer.currentState === 'closed') return false;
    if (this.peer.inboxChars + frame.length > this.options.maxQueuedBytes) {
      this.stats.dropped++;
      return false;
    }
    this.stats.framesOut++;
    this.stats.bytesOut += frame.length;
    this.peer.enqueue(frame);
    return true;
  }

  close(reason?: Error): void {
    if (this.currentState !== 'open') return;
    this.currentState = 'closing';
    this.closeReason = reason;
    this.inbox = [];
    this.inboxHead = 0;
    this.inboxChars = 0;
    this.peer.peerClosed = true;
    this.peer.schedule();
    queueMicrotask(() => this.finish(this.closeReason));
  }

  /** Stop delivering frames (they queue up and count against the sender's bound). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.schedule();
  }

  protected bufferedBytes(): number {
    return this.currentState === 'open' ? this.peer.inboxChars : 0;
  }

  private enqueue(frame: string): void {
    this.inbox.push(frame);
    this.inboxChars += frame.length;
    this.schedule();
  }

  private schedule(): void {
    if (this.deliveryScheduled || this.paused) return;
    this.deliveryScheduled = true;
    queueMicrotask(this.deliver);
  }

  private readonly deliver = (): void => {
    this.deliveryScheduled = false;
    if (this.inboxHead < this.inbox.length) this.stats.lastInAt = Date.now(); // per batch, not per frame
    while (!this.paused && this.currentState === 'open' && this.inboxHead < this.inbox.length) {
      const frame = this.inbox[this.inboxHead++]!;
      this.inboxChars -= frame.length;
      this.stats.bytesIn += frame.length;
      if (frame.length > this.options.maxLineLength) {
        const err = new LineTooLongError(
          `a frame of more than ${this.options.maxLineLength} bytes was received: frames must be shorter; the channel is closed`,
        );
        this.emitError(err);
        this.close(err);
        return;
      }
      this.emitFrame(frame);
    }
    if (this.inboxHead === this.inbox.length) {
      this.inbox = [];
      this.inboxHead = 0;
    }
    if (this.peerClosed && !this.paused && this.currentState === 'open') {
      this.currentState = 'closing';
      this.finish();
    }
  };
}

/** Two connected in-memory channels. */
export function memoryChannelPair(
  options?: ChannelOptions & { names?: [string, string] },
): [MemoryChannel, MemoryChannel] {
  const [nameA, nameB] = options?.names ?? ['memory-a', 'memory-b'];
  // Each side's remoteAddress names the other side.
  const a = new MemoryChannel(nameB, options);
  const b = new MemoryChannel(nameA, options);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
