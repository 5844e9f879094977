/**
 * A channel whose outbound frames are queued and written once per microtask (one syscall for a
 * burst), bounded by `maxQueuedBytes` with a drop-newest policy (drops are counted in stats).
 * Stream and WebSocket channels differ only in how a batch is written and what the transport
 * itself still buffers.
 */
import { BaseChannel } from './base-channel.js';
import { resolveChannelOptions, type ChannelOptions, type ResolvedChannelOptions } from './options.js';

export abstract class BatchingChannel extends BaseChannel {
  protected readonly options: ResolvedChannelOptions;
  private pending: string[] = [];
  private pendingChars = 0;
  private flushScheduled = false;
  private drainScheduled = false;

  constructor(
    transport: string,
    remoteAddress: string,
    options: ChannelOptions | undefined,
    private readonly separatorChars: number,
  ) {
    super(transport, remoteAddress);
    this.options = resolveChannelOptions(options);
  }

  /** Whether the transport can take writes now (not ended or destroyed underneath). */
  protected abstract canWrite(): boolean;
  /** Bytes the transport itself still holds (socket write buffer, WebSocket bufferedAmount). */
  protected abstract transportBuffered(): number;
  /** Writes a non-empty batch of frames; returns the bytes written. */
  protected abstract writeBatch(frames: string[]): number;
  /** Checks a frame before it is queued (throws on a frame the transport cannot carry). */
  protected checkFrame(_frame: string): void {}

  send(frame: string): boolean {
    if (this.currentState !== 'open' || !this.canWrite()) return false;
    this.checkFrame(frame);
    const size = frame.length + this.separatorChars;
    if (this.pendingChars + size + this.transportBuffered() > this.options.maxQueuedBytes) {
      this.stats.dropped++;
      return false;
    }
    this.pending.push(frame);
    this.pendingChars += size;
    this.stats.framesOut++;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flush);
    }
    return true;
  }

  protected bufferedBytes(): number {
    return this.pendingChars + this.transportBuffered();
  }

  /** Drops what is queued and not yet written (the connection is gone). */
  protected discardPending(): void {
    this.pending = [];
    this.pendingChars = 0;
  }

  protected readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.pending.length === 0 || !this.canWrite()) return;
    const frames = this.pending;
    this.discardPending();
    this.stats.bytesOut += this.writeBatch(frames);
    // The transport took the whole batch at once (a socket often does, however large): it will not
    // say `drain`, yet a queue counted full a moment ago is empty now. Said on the next turn of the
    // event loop, not in this microtask: a listener that resumes a sender here could otherwise chain
    // batch after batch without ever letting timers and other sockets run.
    if (this.transportBuffered() === 0 && !this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(this.emitLateDrain);
    }
  };

  private readonly emitLateDrain = (): void => {
    this.drainScheduled = false;
    // Only if it is still empty: otherwise the transport's own drain (or the next batch) will say it.
    if (this.currentState === 'open' && this.pendingChars === 0 && this.transportBuffered() === 0) this.emitDrain();
  };
}
