/**
 * The message layer: between a Channel (which moves string frames) and whoever speaks the
 * protocol over it (the hub, the client, a hub link, the CLI's short conversations, the
 * dashboard). It decodes each frame once, in the format the frame is written in, and delivers
 * `{ message, format, raw }`; it sends a Message encoded in the format the peer reads; a line that
 * does not decode is answered with INVALID here (for connections that answer), never in each user.
 * Models: vscode-jsonrpc's MessageReader/MessageWriter/createMessageConnection and Moleculer's
 * transporter (`incomingMessage` / `serialize`).
 *
 * Two options serve the hub:
 * - `shortcut`, the fast path: a text line is first scanned (every rule of the decoder, but no
 *   message built) and offered with its head (destination, command); the shortcut may pass the raw
 *   line on and return true. Otherwise (or when the scan fails) the line takes the full path.
 * - `admit`, the one place for a per-connection check ("may this connection send this"): it sees
 *   the destination and command of every valid line, on the fast path and on the full path alike,
 *   before either; a sentence refuses the line (INVALID back when the connection answers).
 */
import type { Channel } from './channel.js';
import {
  decodeJson,
  decodeText,
  encodeJson,
  encodeText,
  lineFormat,
  scanText,
  type TextHead,
  type WireFormat,
} from './codec/index.js';
import { InvalidMessageError, SwitchboardError, errorMessage } from './errors.js';
import { createMessage, type Endpoint, type JsonValue, type Message } from './message.js';

/** One message as it arrived: decoded, the format it was written in, and the line itself. */
export interface Received {
  readonly message: Message;
  readonly format: WireFormat;
  readonly raw: string;
}

/**
 * The fast path: `head` (reused by the next line: read it at once) of a valid text line that was
 * not turned into a message. True when the line was handled; false sends it down the full path.
 */
export type TextShortcut = (head: Readonly<TextHead>, raw: string) => boolean;

/** A per-connection check: undefined admits the line, a sentence refuses it. */
export type AdmitCheck = (server: string, service: string, command: string) => string | undefined;

export interface MessageHandler {
  message(received: Received): void;
  /** A line that does not decode. `reply`: the INVALID sent back (connections that answer). */
  invalid?(raw: string, error: InvalidMessageError, reply: Message | undefined): void;
  /** A line `admit` refused (decoded for the report). `reply`: the INVALID sent back. */
  refused?(received: Received, reason: string, reply: Message | undefined): void;
  /**
   * An error from the channel. A LINE_TOO_LONG was answered with `reply` (INVALID, on connections
   * that answer) and the channel closes after it; DATAGRAM_TOO_LARGE dropped one datagram.
   */
  error?(err: Error, reply: Message | undefined): void;
  close?(reason?: Error): void;
  /** The channel's write queue emptied after it had filled (byte streams). */
  drain?(): void;
}

export interface MessageConnectionOptions {
  /**
   * The format this side writes: a fixed one, or `peer` (the default): the format of the first
   * line the peer sends (text until then). `format` can be set later (`REGISTER format=json`).
   */
  format?: WireFormat | 'peer';
  /** Answer a line that does not decode (or is too long, or refused) with INVALID, from `from` to `to()`. */
  replies?: { from: Partial<Endpoint>; to(): Partial<Endpoint> };
  shortcut?: TextShortcut;
  admit?: AdmitCheck;
  /** Writes one encoded line (default: the channel's send); the hub counts drops here. */
  write?(line: string): boolean;
}

/** The command of a line that failed to decode, for `INVALID command=`. */
export function guessCommand(line: string): string | undefined {
  const m = /^\s*(?:<\S*\s+)?(?:[^\s/]*\/)?([A-Z_][A-Z0-9_]*)(?:\s|$)/.exec(line);
  return m?.[1];
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/**
 * The text line for a message whose sender block changed and nothing else: `sender`'s block, then
 * the line's own destination, command and parameters as they came (already validated by the
 * decoder, and equal to what re-encoding would give, up to parameter order and optional quoting).
 */
export function restamp(sender: Endpoint, source: string): string {
  let start = 0;
  let end = source.length;
  while (start < end && isSpace(source.charCodeAt(start))) start++;
  while (end > start && isSpace(source.charCodeAt(end - 1))) end--;
  if (source.charCodeAt(start) === 60 /* < */) start = source.indexOf(' ', start) + 1;
  return `<${sender.server}:${sender.service} ${source.slice(start, end)}`;
}

/**
 * A message on its way out, encoded at most once per wire format however many connections
 * receive it (a broadcast to fifty text services encodes one line).
 */
export class Outgoing {
  private text: string | undefined;
  private json: string | undefined;

  /** `sourceText`: the text line `msg` was decoded from, unchanged since but for the sender (saves re-encoding). */
  constructor(
    readonly msg: Message,
    private readonly sourceText?: string,
  ) {}

  line(format: WireFormat): string {
    if (format === 'json') return (this.json ??= encodeJson(this.msg));
    return (this.text ??=
      this.sourceText === undefined ? encodeText(this.msg) : restamp(this.msg.sentFrom, this.sourceText));
  }
}

/** Encodes one message in `format`; throws InvalidMessageError on a bad name. */
export function encodeMessage(msg: Message, format: WireFormat): string {
  return format === 'json' ? encodeJson(msg) : encodeText(msg);
}

export class MessageConnection {
  /** What this side writes; undefined (text) until the peer's first line when following the peer. */
  format: WireFormat | undefined;
  private readonly followsPeer: boolean;
  private readonly replies: MessageConnectionOptions['replies'];
  private readonly shortcut: TextShortcut | undefined;
  private readonly admit: AdmitCheck | undefined;
  private readonly writeLine: (line: string) => boolean;
  private handler: MessageHandler | undefined;
  private readonly onFrame = (raw: string): void => this.receive(raw);
  private readonly onError = (err: Error): void => this.channelError(err);
  private readonly onClose = (reason?: Error): void => this.handler?.close?.(reason);
  private readonly onDrain = (): void => this.handler?.drain?.();

  constructor(
    readonly channel: Channel,
    options: MessageConnectionOptions = {},
  ) {
    const format = options.format ?? 'peer';
    this.followsPeer = format === 'peer';
    this.format = format === 'peer' ? undefined : format;
    this.replies = options.replies;
    this.shortcut = options.shortcut;
    this.admit = options.admit;
    this.writeLine = options.write ?? ((line) => channel.send(line));
  }

  get id(): string {
    return this.channel.id;
  }

  get open(): boolean {
    return this.channel.state === 'open';
  }

  /** Starts delivering to `handler` (frames the channel held until now included). Replaces an earlier handler. */
  listen(handler: MessageHandler): this {
    const first = this.handler === undefined;
    this.handler = handler;
    if (first) {
      this.channel.on('frame', this.onFrame);
      this.channel.on('error', this.onError);
      this.channel.on('close', this.onClose);
      this.channel.on('drain', this.onDrain);
    }
    return this;
  }

  /** Stops listening (the channel stays open: someone else takes it over). */
  detach(): void {
    if (this.handler === undefined) return;
    this.handler = undefined;
    this.channel.off('frame', this.onFrame);
    this.channel.off('error', this.onError);
    this.channel.off('close', this.onClose);
    this.channel.off('drain', this.onDrain);
  }

  /** Sends one message in this connection's format; false when it was dropped. Throws InvalidMessageError on a bad name. */
  send(msg: Message | Outgoing): boolean {
    const format = this.format ?? 'text';
    return this.writeLine(msg instanceof Outgoing ? msg.line(format) : encodeMessage(msg, format));
  }

  /** The line `msg` would be sent as (in this connection's format). */
  encode(msg: Outgoing): string {
    return msg.line(this.format ?? 'text');
  }

  /** Sends a line already encoded in this connection's format (a frame passed on unchanged). */
  sendLine(line: string): boolean {
    return this.writeLine(line);
  }

  close(reason?: Error): void {
    this.channel.close(reason);
  }

  /** Handles one frame as if it had just arrived (frames read before this connection existed). */
  receive(raw: string): void {
    const format = lineFormat(raw);
    if (format === 'text' && this.shortcut !== undefined && this.format !== undefined) {
      const head = scanText(raw);
      if (head !== undefined) {
        const refusal = this.admit?.(head.server, head.service, head.command);
        if (refusal !== undefined) {
          this.refuse(raw, format, refusal);
          return;
        }
        if (this.shortcut(head, raw)) return;
      }
    }
    let message: Message;
    try {
      message = format === 'json' ? decodeJson(raw) : decodeText(raw);
    } catch (err) {
      this.undecodable(raw, format, err);
      return;
    }
    if (this.followsPeer && this.format === undefined) this.format = format;
    const received: Received = { message, format, raw };
    if (this.admit !== undefined) {
      const refusal = this.admit(message.to.server, message.to.service, message.command);
      if (refusal !== undefined) {
        this.handler?.refused?.(received, refusal, this.reply(message.command, refusal));
        return;
      }
    }
    this.handler?.message(received);
  }

  private refuse(raw: string, format: WireFormat, reason: string): void {
    const message = format === 'json' ? decodeJson(raw) : decodeText(raw);
    this.handler?.refused?.({ message, format, raw }, reason, this.reply(message.command, reason));
  }

  private undecodable(raw: string, format: WireFormat, err: unknown): void {
    const error = err instanceof InvalidMessageError ? err : new InvalidMessageError(errorMessage(err), { cause: err });
    if (this.followsPeer && this.format === undefined) this.format = format;
    this.handler?.invalid?.(raw, error, this.reply(guessCommand(raw), error.message));
  }

  private channelError(err: Error): void {
    const code = err instanceof SwitchboardError ? err.code : undefined;
    // The framer's sentence says the connection closes.
    const reply = code === 'LINE_TOO_LONG' ? this.reply(undefined, err.message) : undefined;
    this.handler?.error?.(err, reply);
  }

  /** INVALID back to the peer, on connections that answer. */
  private reply(command: string | undefined, text: string): Message | undefined {
    const replies = this.replies;
    if (replies === undefined) return undefined;
    const params: Record<string, JsonValue> = { message: text };
    if (command !== undefined) params.command = command;
    const reply = createMessage('INVALID', params, replies.to(), replies.from);
    this.send(reply);
    return reply;
  }
}
