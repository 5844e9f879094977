/**
 * The Remix plugin wire protocol: the message shape real Remix plugin clients send and expect
 * (`@remixproject/plugin-utils` Message), plus the zod schema every incoming message passes
 * before the engine or a client acts on it.
 *
 * Extensions (ignored by Remix clients): a `cancel` carrying the request `id` (both directions),
 * `requestInfo.timeoutMs` on a plugin's call so the engine applies the plugin's deadline, and
 * `errorCode` next to `error`.
 */
import * as z from 'zod';

export type Action = 'on' | 'off' | 'once' | 'call' | 'response' | 'emit' | 'cancel' | 'notification' | 'request' | 'listen';

export interface RequestInfo {
  from: string;
  path?: string;
  isFromNative?: boolean;
  /** Extension: the caller's deadline for this call, in ms from when it was sent. */
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

// Classic zod, imported as a namespace so esbuild drops what the browser bundle does not use
// (its JIT-compiled object parser is ~2x faster than zod/mini's here).
const name = z.string().min(1).max(256);
const optName = z.string().max(256).optional();
const id = z.number().int().optional();
const requestInfo = z.object({
  from: z.string().max(256),
  path: z.string().max(1024).optional(),
  isFromNative: z.boolean().optional(),
  timeoutMs: z.number().nonnegative().optional(),
});
const args = z.array(z.unknown());
const errorField = z.union([z.string(), z.object({ message: z.string() }).transform((e) => e.message)]).nullish();

const requestSchema = z.object({ action: z.enum(['request', 'call']), id, name: optName, key: name, payload: args.optional(), requestInfo: requestInfo.nullish() });
const responseSchema = z.object({ action: z.literal('response'), id: z.number().int(), name: optName, key: optName, payload: z.unknown().optional(), error: errorField, errorCode: z.string().max(64).optional(), requestInfo: requestInfo.nullish() });
const emitSchema = z.object({ action: z.enum(['emit', 'notification']), name: optName, key: name, payload: args.optional(), id });
const listenSchema = z.object({ action: z.enum(['on', 'listen', 'once', 'off']), name, key: name, id });
const cancelSchema = z.object({ action: z.literal('cancel'), name: optName, key: optName, id });
const messageSchema = z.discriminatedUnion('action', [requestSchema, responseSchema, emitSchema, listenSchema, cancelSchema]);

/** Picking the schema by action first is cheaper than the union's own dispatch on the hot path. */
const schemaByAction: Record<string, z.ZodType> = {
  request: requestSchema, call: requestSchema, response: responseSchema,
  emit: emitSchema, notification: emitSchema,
  on: listenSchema, listen: listenSchema, once: listenSchema, off: listenSchema,
  cancel: cancelSchema,
};

export type ParsedMessage = z.infer<typeof messageSchema>;

export type ParseResult = { ok: true; message: ParsedMessage } | { ok: false; reason: string };

/**
 * Rough size of a JSON value in bytes, stopping as soon as `limit` is passed so a huge message
 * costs no more than the limit to reject. Strings count their length (UTF-16 units). Nesting
 * deeper than 64 levels counts as too large. No allocation: this runs on every message.
 */
export function jsonSizeExceeds(value: unknown, limit: number): boolean {
  return sizeWithin(value, limit, 0) < 0;
}

/** Bytes left of `budget` after `value`, or -1 once it is spent. */
function sizeWithin(value: unknown, budget: number, depth: number): number {
  if (typeof value === 'string') budget -= value.length + 2;
  else if (value === null || typeof value !== 'object') budget -= 8;
  else if (depth > 64) return -1;
  else if (Array.isArray(value)) {
    budget -= 2 + value.length;
    for (let i = 0; i < value.length && budget >= 0; i++) budget = sizeWithin(value[i], budget, depth + 1);
  } else {
    budget -= 2;
    for (const k in value) {
      budget = sizeWithin((value as Record<string, unknown>)[k], budget - k.length - 4, depth + 1);
      if (budget < 0) break;
    }
  }
  return budget < 0 ? -1 : budget;
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
  const action = typeof value === 'object' && value !== null ? (value as { action?: unknown }).action : undefined;
  const schema = typeof action === 'string' && Object.hasOwn(schemaByAction, action) ? schemaByAction[action]! : messageSchema;
  const result = schema.safeParse(value) as ReturnType<typeof messageSchema.safeParse>;
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
  if (!path || !path.includes('.')) return method;
  const parts = path.split('.');
  parts.shift();
  parts.push(method);
  return parts.join('.');
}
