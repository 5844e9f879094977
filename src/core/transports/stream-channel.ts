/**
 * A line channel over a Node stream pair: a socket (TCP, Unix, TLS) or a child's stdout/stdin.
 * Inbound bytes go through the LineFramer; outbound frames are joined and written once per
 * microtask (one syscall for a burst), bounded by `maxQueuedBytes` with a drop-newest policy.
 */
import type { Readable, Writable } from 'node:stream';
import { ConnectionError, InvalidArgumentError, type LineTooLongError } from '../errors.js';
import { LineFramer } from '../framing.js';
import { BaseChannel, channelLogger } from './base-channel.js';
import { resolveChannelOptions, type ChannelOptions, type ResolvedChannelOptions } from './options.js';

export interface StreamChannelInfo {
  transport: string;
  remoteAddress: string;
}

interface Destroyable {
  destroy(error?: Error): void;
}

export class StreamChannel extends BaseChannel {
  private readonly options: ResolvedChannelOptions;
  private readonly framer: LineFramer;
  private readonly duplex: boolean;
  private pending: string[] = [];
  private pendingChars = 0;
  private flushScheduled = false;
  private closeReason: Error | undefined;
  private closeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly readable: Readable, private readonly writable: Writable, info: StreamChannelInfo, options?: ChannelOptions) {
    super(info.transport, info.remoteAddress);
    this.options = resolveChannelOptions(options);
    this.duplex = (readable as unknown) === (writable as unknown);
    this.framer = new LineFramer({ line: (l) => this.emitFrame(l), error: (e) => this.onLineTooLong(e) }, this.options.maxLineLength);

    readable.on('data', (chunk: Buffer | string) => {
      this.stats.bytesIn += chunk.length;
      this.framer.push(chunk);
    });
    readable.on('end', () => this.onEnd());
    readable.on('error', (err) => this.onStreamError(err));
    if (!this.duplex) {
      writable.on('error', (err) => this.onStreamError(err));
      writable.on('close', () => this.finishNow());
      writable.on('finish', () => { if (this.currentState === 'closing') this.finishNow(); });
    }
    (this.duplex ? readable : writable).on('close', () => this.finishNow());
  }

  send(frame: string): boolean {
    if (this.currentState !== 'open') return false;
    if (frame.indexOf('\n') !== -1) throw new InvalidArgumentError('a frame cannot contain a newline: encode the message with encodeLine() first');
    const size = frame.length + 1;
    if (this.pendingChars + size + this.writable.writableLength > this.options.maxQueuedBytes) {
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

  close(reason?: Error): void {
    if (this.currentState !== 'open') return;
    this.currentState = 'closing';
    this.closeReason = reason;
    this.framer.stop();
    this.flush();
    this.writable.end();
    if (!this.duplex) (this.readable as Destroyable).destroy();
    this.closeTimer = setTimeout(() => {
      (this.writable as unknown as Destroyable).destroy();
      if (!this.duplex) this.finishNow();
    }, this.options.closeTimeoutMs);
    this.closeTimer.unref();
  }

  protected bufferedBytes(): number {
    return this.pendingChars + (this.writable.writableLength ?? 0);
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    const n = this.pending.length;
    if (n === 0 || this.writable.destroyed) return;
    // A string goes to the socket without an intermediate Buffer; byteLength is a native scan.
    const data = n === 1 ? `${this.pending[0]}\n` : `${this.pending.join('\n')}\n`;
    this.pending = [];
    this.pendingChars = 0;
    this.stats.bytesOut += Buffer.byteLength(data);
    this.writable.write(data, 'utf8');
  };

  private onLineTooLong(err: LineTooLongError): void {
    // Listeners may still send (e.g. INVALID) before the close below flushes and ends the stream.
    this.emitError(err);
    this.close(err);
  }

  private onEnd(): void {
    const partial = this.framer.end();
    if (partial > 0) channelLogger().info({ channel: this.id, remote: this.remoteAddress, bytes: partial }, 'peer closed in the middle of a line; the partial line is discarded');
    if (this.currentState === 'open') {
      if (this.duplex) {
        // A socket with allowHalfOpen=false ends our side too; 'close' follows.
        this.currentState = 'closing';
        this.flush();
      } else {
        this.close();
      }
    }
  }

  private onStreamError(err: Error): void {
    this.closeReason ??= new ConnectionError('CONNECTION_CLOSED', `connection to ${this.remoteAddress} failed: ${err.message}`, { cause: err });
    this.framer.stop();
    if (this.duplex) return; // 'close' follows on a socket
    (this.readable as Destroyable).destroy();
    (this.writable as unknown as Destroyable).destroy();
    this.finishNow();
  }

  private finishNow(): void {
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.framer.stop();
    this.pending = [];
    this.pendingChars = 0;
    this.finish(this.closeReason);
  }
}

/** A line channel over any readable/writable pair (e.g. a child process's stdout and stdin). */
export function streamChannel(readable: Readable, writable: Writable, info: StreamChannelInfo, options?: ChannelOptions): StreamChannel {
  return new StreamChannel(readable, writable, info, options);
}
