/**
 * The Remix plugin wire protocol: the message shape real Remix plugin clients send and expect
 * (`@remixproject/plugin-utils` Message), plus the zod schema every incoming message passes
 * before the engine or a client acts on it.
 *
 * Extensions (ignored by Remix clients): a `cancel` carrying the request `id` (both directions),
 * `requestInfo.timeoutMs` on a plugin's call so the engine applies the plugin's deadline,
 * `errorCode` next to `error`, and batching: on transports that carry whole objects (worker
 * threads, fork IPC) the engine offers `batch: true` in its handshake request; a Switchboard client
 * on such a transport answers `batch: true`, and from then on both sides may send many messages
 * as one `{ action: 'batch', payload: [...] }` (one postMessage / IPC write per microtask instead of
 * one per message). A Remix client ignores the offer, so it is never sent a batch.
 */
import { fail, ok, type Result } from '../core/result.js';
import * as z from 'zod';

export type Action =
  'on' | 'off' | 'once' | 'call' | 'response' | 'emit' | 'cancel' | 'notification' | 'request' | 'listen' | 'batch';

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
  /** Extension, on the handshake request and its response: this side sends and accepts `batch` messages. */
  batch?: boolean;
}

/** Most messages in one `batch`; a sender starts a new batch past it, a receiver drops a longer one. */
export const MAX_BATCH = 1024;

/** A `batch` message (the receiver still checks every message in it). */
export function isBatch(raw: unknown): raw is { action: 'batch'; payload: unknown } {
  return typeof raw === 'object' && raw !== null && (raw as { action?: unknown }).action === 'batch';
}

/** The messages of a batch, or why it is refused. */
export function batchItems(batch: { payload: unknown }): Result<unknown[]> {
  const items = batch.payload;
  if (!Array.isArray(items)) return fail('a batch\'s "payload" should be a list of messages');
  if (items.length > MAX_BATCH) return fail(`a batch of ${items.length} messages is over the limit of ${MAX_BATCH}`);
  return ok(items);
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

const batchFlag = z.boolean().optional();
const requestSchema = z.object({
  action: z.enum(['request', 'call']),
  id,
  name: optName,
  key: name,
  payload: args.optional(),
  requestInfo: requestInfo.nullish(),
  batch: batchFlag,
});
const responseSchema = z.object({
  action: z.literal('response'),
  id: z.number().int(),
  name: optName,
  key: optName,
  payload: z.unknown().optional(),
  error: errorField,
  errorCode: z.string().max(64).optional(),
  requestInfo: requestInfo.nullish(),
  batch: batchFlag,
});
const emitSchema = z.object({
  action: z.enum(['emit', 'notification']),
  name: optName,
  key: name,
  payload: args.optional(),
  id,
});
const listenSchema = z.object({ action: z.enum(['on', 'listen', 'once', 'off']), name, key: name, id });
const cancelSchema = z.object({ action: z.literal('cancel'), name: optName, key: optName, id });
const messageSchema = z.discriminatedUnion('action', [
  requestSchema,
  responseSchema,
  emitSchema,
  listenSchema,
  cancelSchema,
]);

/** Picking the schema by action first is cheaper than the union's own dispatch on the hot path. */
const schemaByAction: Record<string, z.ZodType> = {
  request: requestSchema,
  call: requestSchema,
  response: responseSchema,
  emit: emitSchema,
  notification: emitSchema,
  on: listenSchema,
  listen: listenSchema,
  once: listenSchema,
  off: listenSchema,
  cancel: cancelSchema,
};

export type ParsedMessage = z.infer<typeof messageSchema>;

export type ParseResult = Result<ParsedMessage>;

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
export function parseMessage(
  raw: unknown,
  limits: MessageLimits = { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES },
): ParseResult {
  let value = raw;
  if (typeof raw === 'string' || raw instanceof Uint8Array) {
    const text = typeof raw === 'string' ? raw : new TextDecoder().decode(raw);
    if (text.length > limits.maxMessageBytes)
      return fail(`message of ${text.length} bytes is over the ${limits.maxMessageBytes}-byte limit`);
    try {
      value = JSON.parse(text);
    } catch (err) {
      return fail(`message is not valid JSON (${(err as Error).message})`);
    }
  } else if (jsonSizeExceeds(raw, limits.maxMessageBytes)) {
    return fail(`message is over the ${limits.maxMessageBytes}-byte limit`);
  }
  const action = typeof value === 'object' && value !== null ? (value as { action?: unknown }).action : undefined;
  // Calls and responses are nearly all the traffic: a hand-written check of their plain shape
  // (accepting only what the schema accepts) costs a fraction of zod's; anything else, and
  // anything this check doubts, goes through the schema, which also words the error.
  if (
    action === 'response'
      ? isPlainResponse(value as Record<string, unknown>)
      : (action === 'request' || action === 'call') && isPlainRequest(value as Record<string, unknown>)
  ) {
    return ok(value as ParsedMessage);
  }
  const schema =
    typeof action === 'string' && Object.hasOwn(schemaByAction, action) ? schemaByAction[action]! : messageSchema;
  const result = schema.safeParse(value) as ReturnType<typeof messageSchema.safeParse>;
  if (!result.success) {
    return fail(`message does not follow the Remix plugin protocol: ${describeIssue(result.error.issues[0], value)}`);
  }
  return ok(result.data);
}

const isOptName = (v: unknown) => v === undefined || (typeof v === 'string' && v.length <= 256);
const isOptId = (v: unknown) => v === undefined || Number.isSafeInteger(v);
const isOptBool = (v: unknown) => v === undefined || typeof v === 'boolean';

function isPlainRequestInfo(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (typeof v !== 'object' || Array.isArray(v)) return false;
  const r = v as Record<string, unknown>;
  const { path, timeoutMs } = r;
  return (
    typeof r.from === 'string' &&
    r.from.length <= 256 &&
    (path === undefined || (typeof path === 'string' && path.length <= 1024)) &&
    isOptBool(r.isFromNative) &&
    (timeoutMs === undefined || (typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs >= 0))
  );
}

/** The request schema's rules, by hand (the message is already known to be a non-null object). */
function isPlainRequest(m: Record<string, unknown>): boolean {
  if (Array.isArray(m)) return false;
  const { key, payload } = m;
  return (
    typeof key === 'string' &&
    key.length >= 1 &&
    key.length <= 256 &&
    isOptId(m.id) &&
    isOptName(m.name) &&
    (payload === undefined || Array.isArray(payload)) &&
    isPlainRequestInfo(m.requestInfo) &&
    isOptBool(m.batch)
  );
}

/** The response schema's rules, by hand; an `error` other than a string takes the schema's path. */
function isPlainResponse(m: Record<string, unknown>): boolean {
  if (Array.isArray(m)) return false;
  const { error, errorCode } = m;
  return (
    Number.isSafeInteger(m.id) &&
    isOptName(m.name) &&
    isOptName(m.key) &&
    (error === undefined || typeof error === 'string') &&
    (errorCode === undefined || (typeof errorCode === 'string' && errorCode.length <= 64)) &&
    isPlainRequestInfo(m.requestInfo) &&
    isOptBool(m.batch)
  );
}

function describeIssue(issue: z.core.$ZodIssue | undefined, value: unknown): string {
  if (!issue) return 'invalid';
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return `expected an object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`;
  const where = issue.path.length > 0 ? `"${issue.path.join('.')}" ` : '';
  switch (issue.code) {
    case 'invalid_type':
      return `${where}should be ${issue.expected}`;
    case 'invalid_union':
      return issue.path.length === 0 || issue.path[0] === 'action'
        ? `unknown action ${JSON.stringify((value as { action?: unknown }).action)}`
        : `${where}has the wrong type`;
    case 'invalid_value':
      return `${where}should be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_big':
      return `${where}is too long (max ${String(issue.maximum)})`;
    case 'too_small':
      return `${where}is too short (min ${String(issue.minimum)})`;
    default:
      return `${where}is invalid (${issue.code})`;
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
