/**
 * Messages between agents and the dispatcher, whatever carries them (RabbitMQ or the hub).
 * Every message from an agent carries the connector's token; the dispatcher checks it.
 */
import { z } from 'zod';
import type { JsonValue } from '../../core/message.js';
import { triggerSpecSchema, type TriggerSpec } from '../trigger/schema.js';

const id = z.string().min(1).max(200);
// Bodies arrive through JSON.parse, so any value in them is JSON already: checking it again value
// by value would only cost time (measured: the largest share of the dispatcher's parsing).
const json = z.custom<JsonValue>((v) => v !== undefined);
const record = z.record(z.string(), json);

export const connectorInfo = z.object({
  id,
  kind: id,
  meta: record.default({}),
  events: z.array(z.string()).default([]),
  tasks: z.array(z.string()).default([]),
});
export type ConnectorInfo = z.infer<typeof connectorInfo>;

export const wireEvent = z.object({ id, key: id, data: json, time: z.string() });
export type WireEvent = z.infer<typeof wireEvent>;

export const wireResult = z.object({
  executionId: id,
  outputs: record.optional(),
  error: z.string().optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string(),
});
export type WireResult = z.infer<typeof wireResult>;

/** Agent -> dispatcher. `register` and `triggers` expect a reply. */
export const agentMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('register'), token: z.string(), connector: connectorInfo }),
  z.object({ type: z.literal('unregister'), token: z.string(), connectorId: id }),
  z.object({ type: z.literal('triggers'), token: z.string(), connectorId: id }),
  z.object({ type: z.literal('events'), token: z.string(), connectorId: id, events: z.array(wireEvent).min(1).max(10_000) }),
  z.object({ type: z.literal('results'), token: z.string(), connectorId: id, results: z.array(wireResult).min(1).max(10_000) }),
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
  /** Over the hub: events or results are stored (the hub does not confirm like a broker does). */
  | { type: 'accepted'; ok: true }
  | { type: 'tasks'; tasks: WireTask[] }
  | { type: 'invalidate'; version: number };

/** Replies to `register` and `triggers`. */
export type DispatcherReply = Extract<DispatcherMessage, { type: 'registered' | 'refused' | 'snapshot' }>;

const snapshot = z.object({ version: z.number(), triggers: z.array(triggerSpecSchema) });
const wireTask = z.object({ executionId: id, key: id, inputs: record });

/** What an agent accepts from the dispatcher (checked: it crossed a process boundary). */
export const dispatcherMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('registered'), ok: z.literal(true), snapshot }),
  z.object({ type: z.literal('refused'), ok: z.literal(false), code: z.string(), message: z.string() }),
  z.object({ type: z.literal('snapshot'), ok: z.literal(true), snapshot }),
  z.object({ type: z.literal('accepted'), ok: z.literal(true) }),
  z.object({ type: z.literal('tasks'), tasks: z.array(wireTask) }),
  z.object({ type: z.literal('invalidate'), version: z.number() }),
]);

/** Parses a dispatcher message, or says what is wrong with it. */
export function parseDispatcherMessage(raw: unknown): DispatcherMessage | string {
  const r = dispatcherMessage.safeParse(raw);
  if (r.success) return r.data as DispatcherMessage;
  return r.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}
