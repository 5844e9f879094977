/**
 * Messages between agents and the dispatcher, whatever carries them (RabbitMQ or the hub).
 * Every message from an agent carries the connector's token; the dispatcher checks it.
 */
import { z } from 'zod';
import type { JsonValue } from '../../core/message.js';
import type { TriggerSpec } from '../trigger/schema.js';

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
  | { type: 'tasks'; tasks: WireTask[] }
  | { type: 'invalidate'; version: number };

/** Replies to `register` and `triggers`. */
export type DispatcherReply = Extract<DispatcherMessage, { type: 'registered' | 'refused' | 'snapshot' }>;
