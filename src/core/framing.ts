/**
 * Line framing for byte streams (TCP, Unix, TLS, stdio): a pure state machine fed with chunks,
 * pushing complete lines to a sink. Lines end with LF; a CR before it is dropped (telnet sends
 * CRLF). UTF-8 characters and CRLF split across chunks are reassembled. A line longer than
 * `maxLineLength` bytes is an error as soon as it is known to be too long, even before its LF
 * arrives (a peer holding an endless line open must not make us buffer without bound); after the
 * error the framer ignores all further input.
 */
import { StringDecoder } from 'node:string_decoder';
import { LineTooLongError } from './errors.js';

export const DEFAULT_MAX_LINE_LENGTH = 1024 * 1024;

export interface LineSink {
  line(text: string): void;
  error(err: LineTooLongError): void;
}

export class LineFramer {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private stopped = false;

  constructor(
    private readonly sink: LineSink,
    readonly maxLineLength: number = DEFAULT_MAX_LINE_LENGTH,
  ) {}

  /** Characters of an unterminated line held so far. */
  get pendingLength(): number {
    return this.pending.length;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  push(chunk: Buffer | string): void {
    if (this.stopped) return;
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    let nl = text.indexOf('\n');
    if (nl === -1) {
      this.pending = this.pending.length === 0 ? text : this.pending + text;
      // +1: a CR at the end may be the first half of a CRLF terminator.
      if (this.tooLong(this.pending, this.maxLineLength + 1)) this.fail(this.pending);
      return;
    }
    let start = 0;
    let line = this.pending.length === 0 ? text.slice(0, nl) : this.pending + text.slice(0, nl);
    this.pending = '';
    for (;;) {
      this.emit(line);
      if (this.stopped) return;
      start = nl + 1;
      nl = text.indexOf('\n', start);
      if (nl === -1) break;
      line = text.slice(start, nl);
    }
    if (start < text.length) {
      this.pending = text.slice(start);
      if (this.tooLong(this.pending, this.maxLineLength + 1)) this.fail(this.pending);
    }
  }

  /**
   * The stream ended: returns the byte length of an unterminated line that is discarded (a peer
   * that disconnects mid-message did not send a message), 0 when the input ended cleanly.
   */
  end(): number {
    const rest = this.stopped ? '' : this.pending + this.decoder.end();
    this.pending = '';
    this.stopped = true;
    return Buffer.byteLength(rest);
  }

  /** Ignore everything from now on (the channel closed). */
  stop(): void {
    this.stopped = true;
    this.pending = '';
  }

  private emit(raw: string): void {
    const line = raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw;
    if (this.tooLong(line, this.maxLineLength)) {
      this.fail(line);
      return;
    }
    this.sink.line(line);
  }

  // Bytes >= UTF-16 units, and at most 3 bytes per unit: the exact count is needed only near the limit.
  private tooLong(s: string, limit: number): boolean {
    return s.length > limit || (s.length * 3 > limit && Buffer.byteLength(s) > limit);
  }

  private fail(line: string): void {
    this.stopped = true;
    this.pending = '';
    const size = Buffer.byteLength(line);
    this.sink.error(
      new LineTooLongError(
        `a line of more than ${this.maxLineLength} bytes was received (${size} bytes so far, no newline yet or too long): lines must be shorter; the connection is closed`,
        { data: { maxLineLength: this.maxLineLength, received: size } },
      ),
    );
  }
}
