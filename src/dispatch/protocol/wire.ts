/**
 * Messages between agents and the dispatcher, whatever carries them (RabbitMQ or the hub).
 * Every message from an agent carries the connector's token; the dispatcher checks it.
 */
import { z } from 'zod';
import type { JsonValue } from '../../core/message.js';
import { fail, ok, type Result } from '../../core/result.js';
import { triggerSpecSchema, type TriggerSpec } from '../trigger/schema.js';

/**
 * Ids and keys: printable text (no control characters: PostgreSQL refuses NUL in text where SQLite
 * stores it, and both stores must take or refuse the same messages).
 */
// eslint-disable-next-line no-control-regex -- control characters are what this refuses
const PRINTABLE = /^[^\u0000-\u001f\u007f]+$/;
const id = z.string().min(1).max(200).regex(PRINTABLE, 'must not contain control characters');
/** Connector ids and kinds also name RabbitMQ queues and hub services: the trigger names' alphabet. */
export const CONNECTOR_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
export const MAX_KIND_LENGTH = 64;
export const MAX_CONNECTOR_ID_LENGTH = 128;
const kindName = z
  .string()
  .min(1)
  .max(MAX_KIND_LENGTH)
  .regex(CONNECTOR_NAME, 'a kind may hold letters, digits and _ . : - only (and start with a letter or digit)');
const connectorId = z
  .string()
  .min(1)
  .max(MAX_CONNECTOR_ID_LENGTH)
  .regex(CONNECTOR_NAME, 'a connector id may hold letters, digits and _ . : - only (and start with a letter or digit)');
/** An ISO-8601 time with a zone, as `new Date().toISOString()` writes it (a duration is computed from two). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
export function isIsoTime(v: unknown): v is string {
  return typeof v === 'string' && v.length <= 40 && ISO_TIME.test(v) && Number.isFinite(Date.parse(v));
}
const time = z.string().refine(isIsoTime, 'must be an ISO-8601 time such as 2026-01-31T12:00:00.000Z');
// Bodies arrive through JSON.parse, so any value in them is JSON already: checking it again value
// by value would only cost time (measured: the largest share of the dispatcher's parsing).
const json = z.custom<JsonValue>((v) => v !== undefined);
const record = z.record(z.string(), json);

export const connectorInfo = z.object({
  id: connectorId,
  kind: kindName,
  meta: record.default({}),
  events: z.array(z.string()).default([]),
  tasks: z.array(z.string()).default([]),
});
export type ConnectorInfo = z.infer<typeof connectorInfo>;

export const wireEvent = z.object({ id, key: id, data: json, time });
export type WireEvent = z.infer<typeof wireEvent>;

export const wireResult = z.object({
  executionId: id,
  outputs: record.optional(),
  error: z.string().optional(),
  startedAt: time.optional(),
  finishedAt: time,
});
export type WireResult = z.infer<typeof wireResult>;

/** Agent -> dispatcher. `register` and `triggers` expect a reply. */
export const agentMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('register'), token: z.string(), connector: connectorInfo }),
  z.object({ type: z.literal('unregister'), token: z.string(), connectorId }),
  z.object({ type: z.literal('triggers'), token: z.string(), connectorId }),
  /** Who holds this connector id (asked by an agent the broker refused it to). */
  z.object({ type: z.literal('holder'), token: z.string(), connectorId }),
  z.object({
    type: z.literal('events'),
    token: z.string(),
    connectorId,
    events: z.array(wireEvent).min(1).max(10_000),
  }),
  z.object({
    type: z.literal('results'),
    token: z.string(),
    connectorId,
    results: z.array(wireResult).min(1).max(10_000),
  }),
]);
export type AgentMessage = z.infer<typeof agentMessage>;

export interface WireTask {
  executionId: string;
  key: string;
  inputs: Record<string, JsonValue>;
}

/** The triggers an agent filters with: those listening to its connector id or its kind. */
export interface TriggerSnapshot {
  version: number;
  triggers: TriggerSpec[];
}

/** Dispatcher -> agent. */
export type DispatcherMessage =
  | { type: 'registered'; ok: true; snapshot: TriggerSnapshot }
  | { type: 'refused'; ok: false; code: string; message: string }
  | { type: 'snapshot'; ok: true; snapshot: TriggerSnapshot }
  | { type: 'holder'; ok: true; holder: HolderInfo | null }
  /** Over the hub: events or results are stored (the hub does not confirm like a broker does). */
  | { type: 'accepted'; ok: true }
  | { type: 'tasks'; tasks: WireTask[] }
  | { type: 'invalidate'; version: number };

/** What the registry says about the agent holding a connector id. */
export interface HolderInfo {
  id: string;
  kind: string;
  status: string;
  registeredAt: string;
  lastSeen: string;
  host: string | null;
  pid: number | null;
}

/** Replies to `register`, `triggers` and `holder`. */
export type DispatcherReply = Extract<DispatcherMessage, { type: 'registered' | 'refused' | 'snapshot' | 'holder' }>;

const snapshot = z.object({ version: z.number(), triggers: z.array(triggerSpecSchema) });
const wireTask = z.object({ executionId: id, key: id, inputs: record });

/** What an agent accepts from the dispatcher (checked: it crossed a process boundary). */
export const dispatcherMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('registered'), ok: z.literal(true), snapshot }),
  z.object({ type: z.literal('refused'), ok: z.literal(false), code: z.string(), message: z.string() }),
  z.object({ type: z.literal('snapshot'), ok: z.literal(true), snapshot }),
  z.object({
    type: z.literal('holder'),
    ok: z.literal(true),
    holder: z
      .object({
        id: z.string(),
        kind: z.string(),
        status: z.string(),
        registeredAt: z.string(),
        lastSeen: z.string(),
        host: z.string().nullable(),
        pid: z.number().nullable(),
      })
      .nullable(),
  }),
  z.object({ type: z.literal('accepted'), ok: z.literal(true) }),
  z.object({ type: z.literal('tasks'), tasks: z.array(wireTask) }),
  z.object({ type: z.literal('invalidate'), version: z.number() }),
]);

// Hand-written checks for the messages that carry the traffic (events, results, tasks): one loop
// over the items instead of zod's per-item object parse (the largest parsing cost per event in a
// profile of the dispatcher and agents). They accept only what the schemas accept, with exactly the
// schemas' keys; anything they doubt goes through zod, which also words the problem.
const isId = (v: unknown): v is string =>
  typeof v === 'string' && v.length >= 1 && v.length <= 200 && PRINTABLE.test(v);
const isConnectorId = (v: unknown): v is string =>
  typeof v === 'string' && v.length >= 1 && v.length <= MAX_CONNECTOR_ID_LENGTH && CONNECTOR_NAME.test(v);
const isRecord = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);
const optional = (v: unknown, check: (x: unknown) => boolean) => v === undefined || check(v);
const isString = (v: unknown) => typeof v === 'string';

function keysWithin(o: object, allowed: number): boolean {
  let n = 0;
  for (const _ in o) if (++n > allowed) return false;
  return true;
}

function fastEvents(list: unknown): boolean {
  if (!Array.isArray(list) || list.length < 1 || list.length > 10_000) return false;
  for (const e of list as { id?: unknown; key?: unknown; data?: unknown; time?: unknown }[]) {
    if (!isRecord(e) || !isId(e.id) || !isId(e.key) || e.data === undefined || !isIsoTime(e.time) || !keysWithin(e, 4))
      return false;
  }
  return true;
}

function fastResults(list: unknown): boolean {
  if (!Array.isArray(list) || list.length < 1 || list.length > 10_000) return false;
  for (const r of list as Partial<Record<keyof WireResult, unknown>>[]) {
    if (!isRecord(r) || !isId(r.executionId) || !isIsoTime(r.finishedAt)) return false;
    if (!optional(r.outputs, isRecord) || !optional(r.error, isString) || !optional(r.startedAt, isIsoTime))
      return false;
    if (
      !keysWithin(
        r,
        2 + (r.outputs === undefined ? 0 : 1) + (r.error === undefined ? 0 : 1) + (r.startedAt === undefined ? 0 : 1),
      )
    )
      return false;
  }
  return true;
}

function fastTasks(list: unknown): boolean {
  if (!Array.isArray(list)) return false;
  for (const t of list as Partial<Record<keyof WireTask, unknown>>[]) {
    if (!isRecord(t) || !isId(t.executionId) || !isId(t.key) || !isRecord(t.inputs) || !keysWithin(t, 3)) return false;
  }
  return true;
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

/** Parses an agent message, or says what is wrong with it. */
export function parseAgentMessage(raw: unknown): Result<AgentMessage> {
  if (isRecord(raw)) {
    const m = raw as { type?: unknown; token?: unknown; connectorId?: unknown; events?: unknown; results?: unknown };
    if (typeof m.token === 'string' && isConnectorId(m.connectorId) && keysWithin(m, 4)) {
      if (m.type === 'events' && fastEvents(m.events)) return ok(raw as AgentMessage);
      if (m.type === 'results' && fastResults(m.results)) return ok(raw as AgentMessage);
    }
  }
  const r = agentMessage.safeParse(raw);
  return r.success ? ok(r.data) : fail(describeIssues(r.error.issues));
}

/** Parses a dispatcher message, or says what is wrong with it. */
export function parseDispatcherMessage(raw: unknown): Result<DispatcherMessage> {
  if (
    isRecord(raw) &&
    (raw as { type?: unknown }).type === 'tasks' &&
    keysWithin(raw as object, 2) &&
    fastTasks((raw as { tasks?: unknown }).tasks)
  )
    return ok(raw as DispatcherMessage);
  const r = dispatcherMessage.safeParse(raw);
  if (r.success) return ok(r.data as DispatcherMessage);
  return fail(describeIssues(r.error.issues));
}
