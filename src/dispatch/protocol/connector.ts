/**
 * The connector protocol: one JSON object a line on the connector's stdin/stdout (any language).
 *   connector -> agent: {"type":"hello","events":[...],"tasks":[...]}   (optional, first)
 *                       {"type":"event","key":"<event>","data":{...}}
 *                       {"type":"result","id":"<id>","outputs":{...}} | {"type":"result","id":"<id>","error":"..."}
 *   agent -> connector: {"type":"task","id":"<id>","key":"<task>","inputs":{...}}
 * Stderr is the connector's log. Pure: parsing never throws, it says what was wrong.
 */
import { z } from 'zod';
import type { JsonValue } from '../../core/message.js';

const key = z.string().min(1).max(200);
// Lines are JSON.parse'd first, so values are JSON already; no need to walk them again.
const json = z.custom<JsonValue>((v) => v !== undefined);
const record = z.record(z.string(), json);

export const helloLine = z.strictObject({
  type: z.literal('hello'),
  events: z.array(key).max(1000).optional(),
  tasks: z.array(key).max(1000).optional(),
  meta: record.optional(),
});
export const eventLine = z.strictObject({ type: z.literal('event'), key, data: json.default({}) });
export const resultLine = z.union([
  z.strictObject({ type: z.literal('result'), id: z.string().min(1), outputs: record }),
  z.strictObject({ type: z.literal('result'), id: z.string().min(1), error: z.string() }),
]);

export type HelloLine = z.infer<typeof helloLine>;
export type EventLine = z.infer<typeof eventLine>;
export type ResultLine = z.infer<typeof resultLine>;
export type ConnectorLine = HelloLine | EventLine | ResultLine;

export interface TaskLine {
  type: 'task';
  id: string;
  key: string;
  inputs: Record<string, JsonValue>;
}

export type ParsedLine = { ok: true; line: ConnectorLine } | { ok: false; problem: string };

function describe(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

/** Parses one line written by a connector. */
export function parseConnectorLine(text: string): ParsedLine {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'not JSON (each stdout line must be one JSON object; write logs to stderr)' };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, problem: 'not a JSON object' };
  const type = (raw as { type?: unknown }).type;
  // Fast path for the line that matters for throughput: a well-formed event.
  const ev = raw as { key?: unknown; data?: unknown };
  if (type === 'event' && typeof ev.key === 'string' && ev.key.length > 0 && ev.key.length <= 200) {
    const n = Object.keys(raw).length;
    if (n === 3 && ev.data !== undefined) return { ok: true, line: raw as EventLine };
    if (n === 2) return { ok: true, line: { type: 'event', key: ev.key, data: {} } };
  }
  const res = raw as { id?: unknown; outputs?: unknown; error?: unknown };
  if (type === 'result' && typeof res.id === 'string' && res.id.length > 0 && Object.keys(raw).length === 3) {
    if (res.outputs !== null && typeof res.outputs === 'object' && !Array.isArray(res.outputs))
      return { ok: true, line: raw as ResultLine };
    if (typeof res.error === 'string') return { ok: true, line: raw as ResultLine };
  }
  const schema =
    type === 'hello' ? helloLine : type === 'event' ? eventLine : type === 'result' ? resultLine : undefined;
  if (!schema) return { ok: false, problem: `unknown type ${JSON.stringify(type)} (expected hello, event or result)` };
  const r = schema.safeParse(raw);
  if (!r.success) {
    const message =
      type === 'result'
        ? 'a result needs a string id and either outputs (an object) or error (a string)'
        : describe(r.error.issues);
    return { ok: false, problem: `bad ${String(type)} line: ${message}` };
  }
  return { ok: true, line: r.data };
}

export function encodeTask(task: Omit<TaskLine, 'type'>): string {
  return JSON.stringify({ type: 'task', id: task.id, key: task.key, inputs: task.inputs });
}
