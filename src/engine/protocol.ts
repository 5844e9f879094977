/**
 * The Remix plugin wire protocol: the message shape real Remix plugin clients send and expect
 * (`@remixproject/plugin-utils` Message), plus the zod schema every incoming message passes
 * before the engine or a client acts on it.
 *
 * Extensions (ignored by Remix clients): an engine -> plugin `cancel` carrying the request `id`,
 * `requestInfo.timeoutMs` so a plugin knows its deadline, and `errorCode` next to `error`.
 */
import * as z from 'zod/mini';

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

// zod/mini keeps the browser bundles small (the classic API pulls in every locale).
const name = z.string().check(z.minLength(1), z.maxLength(256));
const optName = z.optional(z.string().check(z.maxLength(256)));
const id = z.optional(z.int());
const requestInfo = z.object({
  from: z.string().check(z.maxLength(256)),
  path: z.optional(z.string().check(z.maxLength(1024))),
  isFromNative: z.optional(z.boolean()),
  timeoutMs: z.optional(z.number().check(z.nonnegative())),
});
const args = z.array(z.unknown());
const errorField = z.nullish(z.union([z.string(), z.pipe(z.object({ message: z.string() }), z.transform((e) => e.message))]));

const messageSchema = z.discriminatedUnion('action', [
  z.object({ action: z.enum(['request', 'call']), id, name: optName, key: name, payload: z.optional(args), requestInfo: z.nullish(requestInfo) }),
  z.object({ action: z.literal('response'), id: z.int(), name: optName, key: optName, payload: z.optional(z.unknown()), error: errorField, errorCode: z.optional(z.string().check(z.maxLength(64))), requestInfo: z.nullish(requestInfo) }),
  z.object({ action: z.enum(['emit', 'notification']), name: optName, key: name, payload: z.optional(args), id }),
  z.object({ action: z.enum(['on', 'listen', 'once', 'off']), name, key: name, id }),
  z.object({ action: z.literal('cancel'), name: optName, key: optName, id }),
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
    return { ok: false, reason: `message does not follow the Remix plugin protocol: ${describeIssue(result.error.issues[0], value)}` };
  }
  return { ok: true, message: result.data };
}

function describeIssue(issue: z.core.$ZodIssue | undefined, value: unknown): string {
  if (!issue) return 'invalid';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `expected an object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`;
  const where = issue.path.length > 0 ? `"${issue.path.join('.')}" ` : '';
  switch (issue.code) {
    case 'invalid_type': return `${where}should be ${issue.expected}`;
    case 'invalid_union': return issue.path.length === 0 || issue.path[0] === 'action' ? `unknown action ${JSON.stringify((value as { action?: unknown }).action)}` : `${where}has the wrong type`;
    case 'invalid_value': return `${where}should be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_big': return `${where}is too long (max ${String(issue.maximum)})`;
    case 'too_small': return `${where}is too short (min ${String(issue.minimum)})`;
    default: return `${where}is invalid (${issue.code})`;
  }
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
