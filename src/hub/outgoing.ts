/**
 * A message on its way out of the hub, encoded at most once per wire format however many
 * connections receive it (a broadcast to fifty text services encodes one line).
 */
import { encodeJson, encodeText, type WireFormat } from '../core/codec/index.js';
import type { Endpoint, Message } from '../core/message.js';

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/**
 * The text line for `msg` built from the line it was decoded from: the hub's sender block, then
 * the sender's own destination, command and parameters as they came (already validated by the
 * decoder, and equal to what re-encoding would give, up to parameter order and optional quoting).
 */
export function restamp(msg: Message, source: string): string {
  return restampWith(msg.sentFrom, source);
}

/** The same, for a line the hub never turned into a message (the router's fast path). */
export function restampWith(sender: Endpoint, source: string): string {
  let start = 0;
  let end = source.length;
  while (start < end && isSpace(source.charCodeAt(start))) start++;
  while (end > start && isSpace(source.charCodeAt(end - 1))) end--;
  if (source.charCodeAt(start) === 60 /* < */) start = source.indexOf(' ', start) + 1;
  return `<${sender.server}:${sender.service} ${source.slice(start, end)}`;
}

export class Outgoing {
  private text: string | undefined;
  private json: string | undefined;

  /** `sourceText`: the text line `msg` was decoded from, unchanged since (saves re-encoding it). */
  constructor(
    readonly msg: Message,
    private readonly sourceText?: string,
  ) {}

  line(format: WireFormat): string {
    if (format === 'json') return (this.json ??= encodeJson(this.msg));
    return (this.text ??= this.sourceText === undefined ? encodeText(this.msg) : restamp(this.msg, this.sourceText));
  }
}
