/**
 * The Remix plugin wire protocol: the message shape real Remix plugin clients send and expect
 * (`@remixproject/plugin-utils` Message), plus the zod schema every incoming message passes
 * before the engine or a client acts on it.
 *
 * Extensions (ignored by Remix clients): an engine -> plugin `cancel` carrying the request `id`,
 * `requestInfo.timeoutMs` so a plugin knows its deadline, and `errorCode` next to `error`.
 */
import { z } from 'zod';

export type Action = 'on' | 'off' | 'once' | 'call' | 'response' | 'emit' | 'cancel' | 'notification' | 'request' | 'listen';

export interface RequestInfo {
  from: string;
  path?: string;
  isFromNative?: boolean;
  /** Extension: the deadline the engine gave this call, in ms from when it was sent. */
  timeoutMs?: number;
}

export interface RemixMessage {
  id?: number;
  action: Action;
  name?: string;
  key?: string;
  payload?: unknown;
  requestInfo?: RequestInfo;
  error?: string;
  /** Extension: a SwitchboardError code for `error`. */
  errorCode?: string;
}

export const HANDSHAKE_KEY = 'handshake';

/** Limits applied to every message that comes from a plugin (or, on the client, from the engine). */
export interface MessageLimits {
  /** Approximate JSON size in bytes; larger messages are dropped. Default 1 MiB. */
  maxMessageBytes: number;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

const name = z.string().min(1).max(256);
const requestInfo = z.object({
  from: z.string().max(256),
  path: z.string().max(1024).optional(),
  isFromNative: z.boolean().optional(),
  timeoutMs: z.number().nonnegative().optional(),
});
const args = z.array(z.unknown());
const errorField = z.union([z.string(), z.object({ message: z.string() }).transform((e) => e.message)]).nullish();

const messageSchema = z.discriminatedUnion('action', [
  z.object({ action: z.enum(['request', 'call']), id: z.number().int().optional(), name: z.string().max(256).optional(), key: name, payload: args.optional(), requestInfo: requestInfo.nullish() }),
  z.object({ action: z.literal('response'), id: z.number().int(), name: z.string().max(256).optional(), key: z.string().max(256).optional(), payload: z.unknown().optional(), error: errorField, errorCode: z.string().max(64).optional(), requestInfo: requestInfo.nullish() }),
  z.object({ action: z.enum(['emit', 'notification']), name: z.string().max(256).optional(), key: name, payload: args.optional(), id: z.number().int().optional() }),
  z.object({ action: z.enum(['on', 'listen', 'once', 'off']), name, key: name, id: z.number().int().optional() }),
  z.object({ action: z.literal('cancel'), name: z.string().max(256).optional(), key: z.string().max(256).optional(), id: z.number().int().optional() }),
]);

export type ParsedMessage = z.infer<typeof messageSchema>;

export type ParseResult = { ok: true; message: ParsedMessage } | { ok: false; reason: string };

/**
 * Rough size of a JSON value in bytes, stopping as soon as `limit` is passed so a huge message
 * costs no more than the limit to reject. Strings count their length (UTF-16 units).
 */
export function jsonSizeExceeds(value: unknown, limit: number): boolean {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') size += v.length + 2;
    else if (v === null || typeof v !== 'object') size += 8;
    else if (Array.isArray(v)) { size += 2 + v.length; for (const item of v) stack.push(item); }
    else {
      for (const k in v) { size += k.length + 4; stack.push((v as Record<string, unknown>)[k]); }
      size += 2;
    }
    if (size > limit) return true;
  }
  return false;
}

/** Validate one incoming message; never throws. `raw` is either a JSON string or an already-decoded object. */
export function parseMessage(raw: unknown, limits: MessageLimits = { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES }): ParseResult {
  let value = raw;
  if (typeof raw === 'string' || raw instanceof Uint8Array) {
    const text = typeof raw === 'string' ? raw : new TextDecoder().decode(raw);
    if (text.length > limits.maxMessageBytes) return { ok: false, reason: `message of ${text.length} bytes is over the ${limits.maxMessageBytes}-byte limit` };
    try {
      value = JSON.parse(text);
    } catch (err) {
      return { ok: false, reason: `message is not valid JSON (${(err as Error).message})` };
    }
  } else if (jsonSizeExceeds(raw, limits.maxMessageBytes)) {
    return { ok: false, reason: `message is over the ${limits.maxMessageBytes}-byte limit` };
  }
  const result = messageSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at "${issue.path.join('.')}"` : '';
    return { ok: false, reason: `message does not follow the Remix plugin protocol${where}: ${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, message: result.data };
}

export function isHandshake(message: { action?: string; key?: string | undefined }): boolean {
  return message.key === HANDSHAKE_KEY && (message.action === 'request' || message.action === 'call');
}

/** `[emitter] event`: the key Remix uses for event listeners. */
export function eventKey(emitter: string, event: string): string {
  return `[${emitter}] ${event}`;
}

/** Remix's method path: `a.b.c` with the root plugin stripped, so `getMethodPath('m', 'p.sub')` is `sub.m`. */
export function methodPath(method: string, path?: string): string {
  if (!path) return method;
  const parts = path.split('.');
  parts.shift();
  parts.push(method);
  return parts.join('.');
}
