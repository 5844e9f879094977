/**
 * The payload of `SNIFFED`, the hub's notice to a sniffer for every message that passes it (see
 * src/hub/PROTOCOL.md, "The sniff tap"). Written by the hub's tap, read by `switchboard sniff` and
 * the dashboard: one shape, one writer, one reader.
 *
 * In the text form `message` is the message's text line and `delivered_to` a `,`-separated list;
 * in the JSON form `message` is the message as a JSON object and `delivered_to` an array.
 */
import type { JsonValue, Message } from '../message.js';

export type SniffOutcome =
  'delivered' | 'broadcast' | 'forwarded' | 'cached' | 'failed' | 'dropped' | 'hub' | 'sent' | 'refused' | 'invalid';

export interface Sniffed {
  /** What the hub did with the message (an unknown word from a newer hub is kept as it came). */
  outcome: SniffOutcome | (string & {});
  /** When, in ms since the epoch. */
  at: number;
  /** The message: its text line, or (JSON form) the message object; an `invalid` line as it came. */
  message: JsonValue;
  /** The instances it reached (`clock#1`), when it reached any. */
  deliveredTo?: string[];
  reason?: string;
}

/** The parameters of a SNIFFED notice; `typed`: for a sniffer that reads the JSON form. */
export function sniffedParams(event: Sniffed, typed: boolean): Record<string, JsonValue> {
  const params: Record<string, JsonValue> = { outcome: event.outcome, at: event.at, message: event.message };
  const to = event.deliveredTo;
  if (to !== undefined && to.length > 0) params.delivered_to = typed ? [...to] : to.join(',');
  if (event.reason !== undefined) params.reason = event.reason;
  return params;
}

/** Reads a SNIFFED notice in either form; a missing or bad `at` is now. */
export function readSniffed(msg: Message): Sniffed {
  const p = msg.params;
  const at = Number(p.at);
  const out: Sniffed = {
    outcome: String(p.outcome ?? ''),
    at: p.at !== undefined && p.at !== null && Number.isFinite(at) ? at : Date.now(),
    message: p.message ?? '',
  };
  const to = p.delivered_to;
  if (to !== undefined && to !== null && to !== '')
    out.deliveredTo = Array.isArray(to) ? to.map((x) => String(x)) : String(to).split(',');
  if (p.reason !== undefined && p.reason !== null) out.reason = String(p.reason);
  return out;
}
