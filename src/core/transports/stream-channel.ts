/**
 * A line channel over a Node stream pair: a socket (TCP, Unix, TLS) or a child's stdout/stdin.
 * Inbound bytes go through the LineFramer; outbound frames are batched (BatchingChannel) and
 * written joined by newlines.
 */
import type { Readable, Writable } from 'node:stream';
import { ConnectionError, InvalidArgumentError, type LineTooLongError } from '../errors.js';
import { LineFramer } from '../framing.js';
import { channelLogger } from './base-channel.js';
import { BatchingChannel } from './batching-channel.js';
import type { ChannelOptions } from './options.js';

export interface StreamChannelInfo {
  transport: string;
  remoteAddress: string;
  /** The verified client certificate's subject (TLS listeners with client certificates). */
  peerSubject?: string;
}

interface Destroyable {
  destroy(error?: Error): void;
}

export class StreamChannel extends BatchingChannel {
  private readonly framer: LineFramer;
  private readonly duplex: boolean;
  private closeReason: Error | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  readonly peerSubject: string | undefined;
  /** The peer ended while lines it sent were kept by a pause: the end waits for them. */
  private endPending = false;
  private inputPaused = false;

  constructor(
    private readonly readable: Readable,
    private readonly output: Writable,
    info: StreamChannelInfo,
    options?: ChannelOptions,
  ) {
    super(info.transport, info.remoteAddress, options, 1);
    this.peerSubject = info.peerSubject;
    this.duplex = (readable as unknown) === (output as unknown);
    this.framer = new LineFramer(
      { line: (l) => this.emitFrame(l), error: (e) => this.onLineTooLong(e) },
      this.options.maxLineLength,
    );

    readable.on('data', (chunk: Buffer | string) => {
      this.stats.bytesIn += chunk.length;
      this.stats.lastInAt = Date.now(); // per chunk, not per line
      this.framer.push(chunk);
    });
    readable.on('end', () => this.onEnd());
    readable.on('error', (err) => this.onStreamError(err));
    if (!this.duplex) {
      output.on('error', (err) => this.onStreamError(err));
      output.on('close', () => this.finishNow());
      output.on('finish', () => {
        if (this.currentState === 'closing') this.finishNow();
      });
    }
    (this.duplex ? readable : output).on('close', () => this.finishNow());
    output.on('drain', () => this.emitDrain());
  }

  /** Stops reading, from the next line on (the rest of a chunk being split waits too). */
  pauseInput(): void {
    this.inputPaused = true;
    this.framer.pause();
    this.readable.pause();
  }

  /**
   * Reads again; the lines held by the pause come first, on a microtask: not inside the caller's
   * own callback (a close or drain handler still busy with its books).
   */
  resumeInput(): void {
    if (this.currentState !== 'open' || !this.inputPaused) return;
    this.inputPaused = false;
    queueMicrotask(this.resumeNow);
  }

  private readonly resumeNow = (): void => {
    if (this.inputPaused || this.currentState !== 'open') return;
    // A listener may pause again while the held lines are delivered.
    this.framer.resume();
    if (this.framer.isPaused || this.currentState !== 'open') return;
    if (this.endPending) {
      this.endPending = false;
      this.onEnd();
    } else this.readable.resume();
  };

  protected override checkFrame(frame: string): void {
    if (frame.indexOf('\n') !== -1)
      throw new InvalidArgumentError('a frame cannot contain a newline: encode the message with encodeLine() first');
  }

  close(reason?: Error): void {
    if (this.currentState !== 'open') return;
    this.currentState = 'closing';
    this.closeReason = reason;
    this.framer.stop();
    this.flush();
    this.output.end();
    if (!this.duplex) (this.readable as Destroyable).destroy();
    this.closeTimer = setTimeout(() => {
      (this.output as unknown as Destroyable).destroy();
      if (!this.duplex) this.finishNow();
    }, this.options.closeTimeoutMs);
    this.closeTimer.unref();
  }

  protected canWrite(): boolean {
    return !this.output.destroyed;
  }

  protected transportBuffered(): number {
    return this.output.writableLength ?? 0;
  }

  protected writeBatch(frames: string[]): number {
    // A string goes to the socket without an intermediate Buffer; byteLength is a native scan.
    const data = frames.length === 1 ? `${frames[0]}\n` : `${frames.join('\n')}\n`;
    this.output.write(data, 'utf8');
    return Buffer.byteLength(data);
  }

  private onLineTooLong(err: LineTooLongError): void {
    // Listeners may still send (e.g. INVALID) before the close below flushes and ends the stream.
    this.emitError(err);
    this.close(err);
  }

  private onEnd(): void {
    if (this.framer.isPaused && this.currentState === 'open') {
      this.endPending = true;
      return;
    }
    const partial = this.framer.end();
    if (partial > 0)
      channelLogger().info(
        { channel: this.id, remote: this.remoteAddress, bytes: partial },
        'peer closed in the middle of a line; the partial line is discarded',
      );
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
    this.closeReason ??= new ConnectionError(
      'CONNECTION_CLOSED',
      `connection to ${this.remoteAddress} failed: ${err.message}`,
      { cause: err },
    );
    this.framer.stop();
    if (this.duplex) return; // 'close' follows on a socket
    (this.readable as Destroyable).destroy();
    (this.output as unknown as Destroyable).destroy();
    this.finishNow();
  }

  private finishNow(): void {
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.framer.stop();
    this.discardPending();
    this.finish(this.closeReason);
  }
}

/** A line channel over any readable/writable pair (e.g. a child process's stdout and stdin). */
export function streamChannel(
  readable: Readable,
  writable: Writable,
  info: StreamChannelInfo,
  options?: ChannelOptions,
): StreamChannel {
  return new StreamChannel(readable, writable, info, options);
}
