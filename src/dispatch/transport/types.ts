/** What the dispatcher and agents need from a transport (RabbitMQ or the hub). */
import { SwitchboardError } from '../../core/errors.js';
import type { AgentMessage, DispatcherReply, WireTask } from '../protocol/wire.js';

/** Another live agent holds this connector id (the broker or the hub enforces one at a time). */
export class ConnectorIdHeld extends SwitchboardError {
  constructor(
    readonly connectorId: string,
    detail: string,
  ) {
    super('CONFLICT', `connector id "${connectorId}" is already taken by a live agent: ${detail}`, {
      data: { connectorId },
    });
  }
}

/**
 * Tasks cannot go to their target now (its agent is gone from the hub): the tries fail with this
 * reason at once (and are tried again per their trigger), rather than waiting for a timeout.
 */
export class TargetUnreachable extends SwitchboardError {
  constructor(message: string) {
    super('UNAVAILABLE', message);
  }
}

export interface Inbound {
  message: AgentMessage;
  /** Present when the sender waits for a reply (register, triggers). */
  reply?: (r: DispatcherReply) => Promise<void>;
  /**
   * The message may have been processed before: RabbitMQ delivered it to a dispatcher that stopped
   * (or gave it back) without acknowledging it, or an agent sent it again for want of an answer.
   */
  redelivered?: boolean;
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

/** A connector (its kind names its queue) or any connector of a kind. */
export type TaskTarget = { connector: string; kind: string } | { kind: string };

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
  /**
   * Connects (requests and sends work from here on; RabbitMQ replies come to this very channel).
   * `onMessage` resolving to false leaves the message with the broker (the agent is stopping).
   */
  start(kind: string, onMessage: (m: AgentInbound) => Promise<void | false>): Promise<void>;
  /**
   * Takes the connector's place (its queue as the exclusive consumer on RabbitMQ, its service name on
   * the hub) and starts receiving its tasks. Throws ConnectorIdHeld when a live agent holds it.
   */
  attach(connectorId: string): Promise<void>;
  request(
    msg: Extract<AgentMessage, { type: 'register' | 'triggers' | 'holder' }>,
    timeoutMs?: number,
  ): Promise<DispatcherReply>;
  /** Resolves when the dispatcher side has the message safely (broker confirm). */
  send(msg: AgentMessage): Promise<void>;
  /** Called after the link came back, so the agent can refresh what it caches. */
  onReconnect(listener: () => void): void;
  readonly stats: { published: number; confirmed: number; republished: number; pending: number; reconnects: number };
  close(): Promise<void>;
}
