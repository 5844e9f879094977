/**
 * The payload of `ERROR`, the reply a service sends when its handler for a request failed:
 * `ERROR code=..;message=..;retryable=..` (the core's error wire form as message parameters).
 */
import { fromWire, toWire, type SwitchboardError } from '../errors.js';
import type { JsonValue, Message } from '../message.js';

/** The parameters of an ERROR reply for anything a handler threw (a plain throw is INTERNAL). */
export function errorParams(err: unknown): Record<string, JsonValue> {
  const wire = toWire(err);
  return { code: wire.code, message: wire.message, retryable: wire.retryable ?? false };
}

/** The error an ERROR reply describes; `data.remote` names who answered. `what`: the request, for a reply without a message. */
export function readErrorReply(msg: Message, what: string): SwitchboardError {
  const p = msg.params;
  return fromWire(
    {
      code: typeof p.code === 'string' ? p.code : 'INTERNAL',
      message: typeof p.message === 'string' ? p.message : `${what} failed`,
      retryable: p.retryable === 'true' || p.retryable === true,
    },
    { data: { remote: `${msg.sentFrom.server}:${msg.sentFrom.service}` } },
  );
}
