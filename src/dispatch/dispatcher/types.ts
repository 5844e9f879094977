/** Rows of the dispatcher's tables, as the code sees them. */
import type { JsonValue } from '../../core/message.js';
import type { TriggerSpec } from '../trigger/schema.js';

export type ConnectorStatus = 'online' | 'offline';

export interface ConnectorRecord {
  id: string;
  kind: string;
  meta: Record<string, JsonValue>;
  events: string[];
  tasks: string[];
  status: ConnectorStatus;
  registeredAt: string;
  lastSeen: string;
}

export interface TriggerRecord {
  name: string;
  enabled: boolean;
  spec: TriggerSpec;
  createdAt: string;
  updatedAt: string;
}

export type ExecutionStatus = 'dispatched' | 'done' | 'failed';

export interface ExecutionRecord {
  id: string;
  eventId: string;
  eventKey: string;
  eventConnector: string;
  eventData: JsonValue;
  trigger: string;
  target: string;
  task: string;
  inputs: Record<string, JsonValue>;
  outputs: Record<string, JsonValue> | null;
  error: string | null;
  status: ExecutionStatus;
  /** When the agent received the event. */
  eventTime: string;
  dispatchedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  /** The dispatcher that recorded it (`host:pid`), when known. */
  dispatcher: string | null;
}

export interface NewEvent {
  id: string;
  connectorId: string;
  kind: string;
  key: string;
  data: JsonValue;
  /** `data` as JSON (serialised once, for the size limit and the store). */
  dataText?: string;
  time: string;
  /** Its message may have been processed before (a dispatcher stopped before acknowledging it). */
  redelivered?: boolean;
}

export interface NewExecution {
  id: string;
  eventId: string;
  trigger: string;
  target: string;
  task: string;
  inputs: Record<string, JsonValue>;
  /** Set when the execution failed before it was sent (e.g. no such connector). */
  error?: string;
  dispatchedAt: string;
}

export interface ResultUpdate {
  executionId: string;
  outputs?: Record<string, JsonValue>;
  error?: string;
  startedAt?: string;
  finishedAt: string;
}
