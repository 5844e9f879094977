/**
 * The fluent form of a message:
 *   hub.message('LOCK').to('cluckd').param('key', 'abc').cache({ ttl: 60 }).request()
 * It only collects; `send()`, `broadcast()` and `request()` go through the client like any message.
 */
import type { Message } from '../core/message.js';
import type { JsonValue } from '../core/message.js';
import { toEndpoint } from './destination.js';
import type { Destination, OutgoingMessage, Params, RequestOptions } from './types.js';

/** The communicator's `cache=` parameter: `no`, `reply` (answer SERVICE_UNAVAILABLE), `ttl=N` seconds. */
export type CachePolicy = 'no' | 'reply' | { ttl?: number; no?: boolean; reply?: boolean };

export interface MessageSender {
  send(msg: OutgoingMessage): boolean;
  broadcast(command: string, params?: Params, scope?: BroadcastScope): boolean;
  request(msg: OutgoingMessage, options?: RequestOptions): Promise<Message>;
}

/** `*` every service on every hub, `?` local and LAN hubs, `.` this hub only. */
export type BroadcastScope = '*' | '?' | '.';

export function cacheParam(policy: CachePolicy): string {
  if (policy === 'no' || policy === 'reply') return policy;
  const parts: string[] = [];
  if (policy.no) parts.push('no');
  if (policy.reply) parts.push('reply');
  if (policy.ttl !== undefined) parts.push(`ttl=${policy.ttl}`);
  return parts.join(';');
}

export class MessageBuilder {
  private destination: Destination | undefined;
  private readonly values: Params = {};

  constructor(
    private readonly client: MessageSender,
    readonly command: string,
  ) {}

  /** `'service'`, `'server:service'`, `'service#instance'`; checked now so a typo fails here. */
  to(destination: Destination): this {
    toEndpoint(destination);
    this.destination = destination;
    return this;
  }

  param(name: string, value: JsonValue): this {
    this.values[name] = value;
    return this;
  }

  params(values: Params): this {
    Object.assign(this.values, values);
    return this;
  }

  /** Ask the hub to keep the message while the service is away (`{ ttl: 60 }`), or not to (`'no'`). */
  cache(policy: CachePolicy): this {
    return this.param('cache', cacheParam(policy));
  }

  /** Ask the hub for a TRANSMISSION_REPORT when the message cannot be delivered. */
  transmissionReport(when: 'failure' | 'all' = 'failure'): this {
    return this.param('transmission_report', when);
  }

  build(): OutgoingMessage {
    return {
      command: this.command,
      ...(this.destination !== undefined ? { to: this.destination } : {}),
      params: { ...this.values },
    };
  }

  send(): boolean {
    return this.client.send(this.build());
  }

  broadcast(scope: BroadcastScope = '*'): boolean {
    return this.client.broadcast(this.command, { ...this.values }, scope);
  }

  request(options?: RequestOptions): Promise<Message> {
    return this.client.request(this.build(), options);
  }
}
