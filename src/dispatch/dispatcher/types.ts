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

/**
 * `dispatched`: a try is out, waiting for its result; `retrying`: a try failed and the next waits
 * for its time; `done` and `failed` are final (until a replay).
 */
export type ExecutionStatus = 'dispatched' | 'retrying' | 'done' | 'failed';
export const EXECUTION_STATUSES: readonly ExecutionStatus[] = ['dispatched', 'retrying', 'done', 'failed'];

/** One earlier try of an execution, as the log keeps it. */
export interface AttemptRecord {
  attempt: number;
  error: string;
  startedAt: string | null;
  finishedAt: string;
}

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
  /** The current (or last) try, from 1, of at most `maxAttempts`. */
  attempt: number;
  maxAttempts: number;
  /** The tries that failed, oldest first (the latest 20): each error and when. */
  attempts: AttemptRecord[];
  /** When the next try starts (retrying) or the current one times out (dispatched), ISO; else null. */
  dueAt: string | null;
  /** The event key its outputs are emitted as when it is done (a chain), or null. */
  emit: string | null;
  /** How far down a chain of triggers its event is (0: from a connector). */
  eventHops: number;
  /** The execution whose result emitted its event, or null. */
  eventCausedBy: string | null;
  /** A sync action's run (`switchboard account runs`, the dashboard's Sync page), once started. */
  runId: number | null;
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
  /** How far down a chain of triggers it is (0, the default: a connector emitted it). */
  hops?: number;
  /** The execution whose result it is (a trigger's `emit`). */
  causedBy?: string;
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
  /** The try this is (1 when new). */
  attempt?: number;
  /** Tries in all (default 1), the waits between them, each try's time limit (null: the dispatcher's). */
  maxAttempts?: number;
  backoff?: { delayMs: number; factor: number; maxDelayMs: number };
  timeoutMs?: number | null;
  /** Epoch ms when the try times out. */
  dueMs?: number;
  emit?: string | null;
}

/** A try that failed: its error, or no result in time. */
export interface FailedAttempt {
  executionId: string;
  attempt: number;
  error: string;
  startedAt?: string;
  finishedAt: string;
}

/** A finished execution whose outputs become an event (a trigger's `emit`). */
export interface EmitSource {
  executionId: string;
  emit: string;
  target: string;
  outputs: Record<string, JsonValue>;
  hops: number;
}

export interface ResultUpdate {
  executionId: string;
  outputs?: Record<string, JsonValue>;
  error?: string;
  startedAt?: string;
  finishedAt: string;
}
