/**
 * The one line splitter: a pure state machine fed with chunks of a byte stream (a socket, a
 * child's stdout or stderr, stdin), pushing complete lines to a sink. Lines end with LF; a CR
 * before it is dropped (telnet sends CRLF). UTF-8 characters and CRLF split across chunks are
 * reassembled. Every user picks what happens to a line longer than `maxLineLength` bytes; it is
 * known to be too long as soon as that many bytes arrived, even before its LF (a peer holding an
 * endless line open must not make us buffer without bound):
 *
 * - `close` (message channels): the sink gets a LINE_TOO_LONG error and the framer ignores all
 *   further input; the channel closes.
 * - `skip` (a plugin's message lines): the line is dropped up to its LF, the sink gets a
 *   LINE_TOO_LONG error with the line's full size when the LF arrives, and reading goes on.
 * - `cut` (log output): the line is delivered in pieces of at most `maxLineLength` characters.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { LineTooLongError } from './errors.js';

export const DEFAULT_MAX_LINE_LENGTH = 1024 * 1024;

export type OverLongPolicy = 'close' | 'skip' | 'cut';

export interface LineSink {
  line(text: string): void;
  /** A line over the limit (`close`: the last call; `skip`: reading goes on). Never called with `cut`. */
  error(err: LineTooLongError): void;
}

export interface LineFramerOptions {
  /** In bytes (UTF-8), the line ending not counted; default 1 MiB. */
  maxLineLength?: number;
  /** What an over-long line does (default `close`). */
  overLong?: OverLongPolicy;
  /** At `end()`, deliver an unterminated last line instead of discarding it (logs, stdin). */
  keepPartial?: boolean;
}

export class LineFramer {
  readonly maxLineLength: number;
  private readonly policy: OverLongPolicy;
  private readonly keepPartial: boolean;
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private stopped = false;
  /** Paused: lines are not delivered; decoded text waits in `held` until `resume`. */
  private paused = false;
  private held = '';
  /** `skip`: bytes of the over-long line dropped so far (0 when not skipping). */
  private skipped = 0;

  constructor(
    private readonly sink: LineSink,
    options: number | LineFramerOptions = {},
  ) {
    const o = typeof options === 'number' ? { maxLineLength: options } : options;
    this.maxLineLength = o.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    this.policy = o.overLong ?? 'close';
    this.keepPartial = o.keepPartial ?? false;
  }

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
    if (this.paused) {
      this.held += text;
      return;
    }
    let nl = text.indexOf('\n');
    if (nl === -1) {
      if (this.skipped !== 0) {
        this.skipped += Buffer.byteLength(text);
        return;
      }
      this.pending = this.pending.length === 0 ? text : this.pending + text;
      // +1: a CR at the end may be the first half of a CRLF terminator.
      if (this.tooLong(this.pending, this.maxLineLength + 1)) this.overflow();
      return;
    }
    let start = 0;
    let line: string;
    if (this.skipped !== 0) {
      this.endSkip(Buffer.byteLength(text.slice(0, nl)));
      if (this.stopped) return;
      start = nl + 1;
      nl = text.indexOf('\n', start);
      if (nl === -1) {
        this.rest(text, start);
        return;
      }
      line = text.slice(start, nl);
    } else {
      line = this.pending.length === 0 ? text.slice(0, nl) : this.pending + text.slice(0, nl);
      this.pending = '';
    }
    for (;;) {
      this.emit(line);
      if (this.stopped) return;
      start = nl + 1;
      if (this.paused) {
        // The sink paused mid-chunk (its reader fell behind): the rest waits for resume().
        this.held = text.slice(start);
        return;
      }
      nl = text.indexOf('\n', start);
      if (nl === -1) break;
      line = text.slice(start, nl);
    }
    this.rest(text, start);
  }

  /**
   * Stops delivering lines, even the rest of a chunk being split (a consumer that cannot keep up
   * pauses between two lines, not after the whole chunk); what arrives meanwhile is kept.
   */
  pause(): void {
    this.paused = true;
  }

  /** Delivers what was kept while paused (until the sink pauses again), then goes on as usual. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const held = this.held;
    this.held = '';
    if (held !== '') this.push(held);
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /**
   * The stream ended: returns the byte length of an unterminated line that is discarded (a peer
   * that disconnects mid-message did not send a message), 0 when the input ended cleanly or the
   * line was delivered (`keepPartial`).
   */
  end(): number {
    // Lines kept by a pause are not delivered after the end (the peer is gone); the bytes count as discarded.
    if (this.held !== '') {
      this.pending = this.held + this.pending;
      this.held = '';
      this.paused = false;
    }
    const rest = this.stopped ? '' : this.pending + this.decoder.end();
    this.pending = '';
    const wasStopped = this.stopped;
    this.stopped = true;
    if (!wasStopped && this.skipped !== 0) {
      this.skipped += Buffer.byteLength(rest);
      this.endSkip(0);
      return 0;
    }
    if (this.keepPartial && rest !== '') {
      this.deliver(rest.charCodeAt(rest.length - 1) === 13 ? rest.slice(0, -1) : rest);
      return 0;
    }
    return Buffer.byteLength(rest);
  }

  /** Ignore everything from now on (the channel closed). */
  stop(): void {
    this.stopped = true;
    this.pending = '';
    this.held = '';
  }

  private rest(text: string, start: number): void {
    if (start >= text.length) return;
    this.pending = text.slice(start);
    if (this.tooLong(this.pending, this.maxLineLength + 1)) this.overflow();
  }

  private emit(raw: string): void {
    const line = raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw;
    if (this.tooLong(line, this.maxLineLength)) {
      if (this.policy === 'cut') this.deliver(line);
      else if (this.policy === 'skip') this.sink.error(this.tooLongError(Buffer.byteLength(line), 'skip'));
      else this.fail(line);
      return;
    }
    this.sink.line(line);
  }

  /** A line (complete or not) is known to be too long. */
  private overflow(): void {
    if (this.policy === 'close') {
      this.fail(this.pending);
    } else if (this.policy === 'skip') {
      this.skipped = Buffer.byteLength(this.pending);
      this.pending = '';
    } else {
      // cut: deliver what fills whole pieces, keep the remainder pending.
      const max = this.maxLineLength;
      let at = 0;
      while (this.pending.length - at > max) {
        this.sink.line(this.pending.slice(at, at + max));
        if (this.stopped) return;
        at += max;
      }
      this.pending = this.pending.slice(at);
    }
  }

  /** `cut`: a line in pieces of at most maxLineLength characters. */
  private deliver(line: string): void {
    const max = this.maxLineLength;
    if (this.policy !== 'cut' || line.length <= max) {
      this.sink.line(line);
      return;
    }
    for (let at = 0; at < line.length && !this.stopped; at += max) this.sink.line(line.slice(at, at + max));
  }

  private endSkip(tailBytes: number): void {
    const size = this.skipped + tailBytes;
    this.skipped = 0;
    this.sink.error(this.tooLongError(size, 'skip'));
  }

  // Bytes >= UTF-16 units, and at most 3 bytes per unit: the exact count is needed only near the limit.
  private tooLong(s: string, limit: number): boolean {
    return s.length > limit || (s.length * 3 > limit && Buffer.byteLength(s) > limit);
  }

  private fail(line: string): void {
    this.stopped = true;
    this.pending = '';
    this.sink.error(this.tooLongError(Buffer.byteLength(line), 'close'));
  }

  private tooLongError(size: number, policy: 'close' | 'skip'): LineTooLongError {
    const data = { maxLineLength: this.maxLineLength, received: size };
    if (policy === 'skip')
      return new LineTooLongError(
        `a line of ${size} bytes is over the ${this.maxLineLength}-byte limit: it was skipped`,
        { data },
      );
    return new LineTooLongError(
      `a line of more than ${this.maxLineLength} bytes was received (${size} bytes so far, no newline yet or too long): lines must be shorter; the connection is closed`,
      { data },
    );
  }
}

export interface ReadLinesOptions extends LineFramerOptions {
  /** Over-long lines under `close` or `skip` (default: ignored). */
  onOverLong?(err: LineTooLongError): void;
  /** The stream ended (after the last line). */
  onEnd?(): void;
}

/**
 * Reads the lines of a byte stream (a child's stdout or stderr, stdin) through a LineFramer.
 * Returns a function that stops reading (the stream itself is left open).
 */
export function readLines(input: Readable, onLine: (line: string) => void, options: ReadLinesOptions = {}): () => void {
  const framer = new LineFramer({ line: onLine, error: (err) => options.onOverLong?.(err) }, options);
  const onData = (chunk: Buffer | string): void => framer.push(chunk);
  const onEnd = (): void => {
    framer.end();
    options.onEnd?.();
  };
  input.on('data', onData);
  input.once('end', onEnd);
  return () => {
    framer.stop();
    input.off('data', onData);
    input.off('end', onEnd);
  };
}
