/** What the dispatcher and agents need from a transport (RabbitMQ or the hub). */
import type { AgentMessage, DispatcherReply, WireTask } from '../protocol/wire.js';

export interface Inbound {
  message: AgentMessage;
  /** Present when the sender waits for a reply (register, triggers). */
  reply?: (r: DispatcherReply) => Promise<void>;
}

export interface HandleResult {
  /** One per message: undefined when done, an Error when it could not be processed (dead-lettered). */
  outcomes: (Error | undefined)[];
  /** Settles when what the handler sent on (tasks, replies) is safely queued; then the batch is acknowledged. */
  settled: Promise<unknown>;
}

export interface DispatcherHandler {
  /**
   * Processes messages in order; resolves once its own work is done (so the next batch may start)
   * while what it sent may still await confirms (`settled`).
   */
  handle(batch: Inbound[]): Promise<HandleResult>;
}

export type TaskTarget = { connector: string } | { kind: string };

export interface DispatcherTransport {
  readonly kind: 'amqp' | 'hub';
  start(handler: DispatcherHandler): Promise<void>;
  /** Resolves when the tasks are safely queued (confirmed by the broker). */
  sendTasks(to: TaskTarget, tasks: WireTask[]): Promise<void>;
  broadcastInvalidate(version: number): Promise<void>;
  close(): Promise<void>;
}

export type AgentInbound = { type: 'tasks'; tasks: WireTask[] } | { type: 'invalidate'; version: number };

export interface AgentTransport {
  readonly kind: 'amqp' | 'hub';
  /** Largest message the agent sends on this transport (bytes): batches are cut below it. */
  readonly maxMessageBytes: number;
  start(connector: { id: string; kind: string }, onMessage: (m: AgentInbound) => Promise<void>): Promise<void>;
  request(msg: Extract<AgentMessage, { type: 'register' | 'triggers' }>, timeoutMs?: number): Promise<DispatcherReply>;
  /** Resolves when the dispatcher side has the message safely (broker confirm). */
  send(msg: AgentMessage): Promise<void>;
  /** Called after the link came back, so the agent can refresh what it caches. */
  onReconnect(listener: () => void): void;
  readonly stats: { published: number; confirmed: number; republished: number; pending: number; reconnects: number };
  close(): Promise<void>;
}
