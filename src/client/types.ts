/** The client's public types: what goes in, what comes out, what the status callbacks carry. */
import type { Endpoint, JsonValue, Message } from '../core/message.js';

export type Params = Record<string, JsonValue>;

/** Where a message goes: `'service'`, `'server:service'`, `'service#instance'`, or an endpoint. */
export type Destination = string | Partial<Endpoint>;

export interface OutgoingMessage {
  command: string;
  to?: Destination;
  params?: Params;
}

/** What a handler may return to answer: it is sent back to the sender with the correlation id. */
export interface ReplyInit {
  command: string;
  params?: Params;
}

export interface HandlerContext {
  /** Sends an extra reply to the sender (the return value is the usual way to answer once). */
  reply(reply: ReplyInit): boolean;
}

export type Handler = (msg: Message, ctx: HandlerContext) => ReplyInit | void | Promise<ReplyInit | void>;

export interface RegisterOptions {
  /** Commands this service handles; handlers added with `on()` are added automatically. */
  commands?: string[];
  /** Mark this registration as one more instance of the service (optionally naming it). */
  instance?: string | true;
  /** Endpoints advertised to discovery (sent as JSON in the REGISTER message). */
  endpoints?: JsonValue[];
}

export interface Registration {
  service: string;
  /** The instance id the hub gave this connection, when it gives one. */
  instance: string | undefined;
  /** The hub's `my_address` from READY. */
  hubAddress: string | undefined;
}

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Accept a reply without the correlation id when this matches: the hub's own replies
   * (`LIST_SERVICES` -> `SERVICES`, `SERVICE_STATUS` -> `STATUS`, `ALIVE` -> `ABSOLUTELY`) and peers
   * that do not echo the id. It sees every inbound message without an id but HELP and READY.
   */
  match?: (msg: Message) => boolean;
}

/** STATUS of a service as the hub reports it. */
export interface ServiceStatus {
  service: string;
  server: string;
  status: 'up' | 'down';
  /** `up_since` or `down_since`, when the hub says. */
  since: Date | undefined;
  /** The instance that changed and the live count, when the hub says. */
  instance: string | undefined;
  instances: number | undefined;
  message: Message;
}

/** Where the connection stands; `attempt` counts failed dials since the last success. */
export type ConnectionState =
  | { status: 'connecting'; address: string; attempt: number }
  | { status: 'connected'; address: string; transport: string }
  | { status: 'ready'; address: string; registration: Registration }
  | { status: 'disconnected'; address: string; reason: Error; retryInMs: number | undefined; attempt: number }
  | { status: 'closed'; address: string };

export interface ClientStats {
  sent: number;
  received: number;
  /** Frames waiting for the connection. */
  queued: number;
  /** Frames lost because the disconnected queue was full or the channel refused them. */
  dropped: number;
  /** Lines from the hub that did not parse. */
  invalid: number;
  pendingRequests: number;
  reconnects: number;
}
