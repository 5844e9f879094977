/** The agent's side of the RabbitMQ transport. */
import { randomUUID } from 'node:crypto';
import type { Channel, ConsumeMessage } from 'amqplib';
import { SwitchboardError, TimeoutError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { parseDispatcherMessage, type AgentMessage, type DispatcherReply } from '../protocol/wire.js';
import { AmqpLink } from './amqp-link.js';
import { ReliablePublisher } from './publisher.js';
import { declareAgentQueue, declareCore, declareKindQueue, DEFAULT_PREFIX, names } from './topology.js';
import type { AgentInbound, AgentTransport } from './types.js';

export interface AmqpAgentOptions {
  url: string;
  prefix?: string;
  log: Logger;
  prefetch?: number;
}

export class AmqpAgentTransport implements AgentTransport {
  readonly kind = 'amqp';
  /** Half the dispatcher's default limit (8 MiB): room for the envelope, and batches stay quick to parse. */
  readonly maxMessageBytes = 4 * 1024 * 1024;
  private link: AmqpLink | undefined;
  private publisher: ReliablePublisher | undefined;
  private readonly n;
  private readonly waiting = new Map<string, (r: DispatcherReply) => void>();
  private readonly reconnectListeners: (() => void)[] = [];
  private replyQueue = '';

  constructor(private readonly opts: AmqpAgentOptions) {
    this.n = names(opts.prefix ?? DEFAULT_PREFIX);
  }

  get stats() {
    const s = this.publisher?.pendingStats ?? { published: 0, confirmed: 0, republished: 0, pending: 0 };
    return { ...s, reconnects: this.link?.reconnects ?? 0 };
  }

  async start(connector: { id: string; kind: string }, onMessage: (m: AgentInbound) => Promise<void>): Promise<void> {
    const log = this.opts.log;
    this.link = new AmqpLink({
      url: this.opts.url,
      name: `switchboard-agent ${this.opts.prefix ?? DEFAULT_PREFIX} ${connector.id}`,
      log,
      setup: async (ch) => {
        await declareCore(ch, this.n);
        this.replyQueue = await declareAgentQueue(ch, this.n, connector.id);
        const kindQueue = await declareKindQueue(ch, this.n, connector.kind);
        await ch.prefetch(this.opts.prefetch ?? 256);
        const consume = (msg: ConsumeMessage | null) => {
          if (!msg) return;
          void this.deliver(ch, msg, onMessage);
        };
        await ch.consume(this.replyQueue, consume, { noAck: false });
        await ch.consume(kindQueue, consume, { noAck: false });
      },
    });
    this.publisher = new ReliablePublisher(this.link);
    let first = true;
    this.link.on('up', () => {
      if (first) {
        first = false;
        return;
      }
      for (const l of this.reconnectListeners) l();
    });
    await this.link.start();
  }

  private async deliver(
    ch: Channel,
    msg: ConsumeMessage,
    onMessage: (m: AgentInbound) => Promise<void>,
  ): Promise<void> {
    let raw: unknown;
    try {
      raw = JSON.parse(msg.content.toString('utf8'));
    } catch {
      this.opts.log.error({ queue: msg.fields.routingKey }, 'dropping a message from the dispatcher that is not JSON');
      safeAck(ch, msg);
      return;
    }
    const body = parseDispatcherMessage(raw);
    if (typeof body === 'string') {
      this.opts.log.error(
        { queue: msg.fields.routingKey },
        `dropping a message from the dispatcher that is not valid: ${body}`,
      );
      safeAck(ch, msg);
      return;
    }
    const correlationId = msg.properties.correlationId as string | undefined;
    if (correlationId && (body.type === 'registered' || body.type === 'refused' || body.type === 'snapshot')) {
      this.waiting.get(correlationId)?.(body);
      safeAck(ch, msg);
      return;
    }
    if (body.type === 'tasks' || body.type === 'invalidate') {
      try {
        await onMessage(body);
      } catch (err) {
        this.opts.log.error({ err }, 'agent failed to handle a message from the dispatcher');
      }
    }
    safeAck(ch, msg);
  }

  async request(
    msg: Extract<AgentMessage, { type: 'register' | 'triggers' }>,
    timeoutMs = 10_000,
  ): Promise<DispatcherReply> {
    const publisher = this.requirePublisher();
    const correlationId = randomUUID();
    const reply = new Promise<DispatcherReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(correlationId);
        reject(
          new TimeoutError(
            `the dispatcher did not answer ${msg.type} within ${timeoutMs} ms (is \`switchboard dispatcher\` running on this broker?)`,
          ),
        );
      }, timeoutMs);
      this.waiting.set(correlationId, (r) => {
        clearTimeout(timer);
        this.waiting.delete(correlationId);
        resolve(r);
      });
    });
    await publisher.publish('', this.n.dispatcher, Buffer.from(JSON.stringify(msg)), {
      contentType: 'application/json',
      type: msg.type,
      correlationId,
      replyTo: this.replyQueue,
      persistent: false,
    });
    return reply;
  }

  send(msg: AgentMessage): Promise<void> {
    return this.requirePublisher().publish('', this.n.dispatcher, Buffer.from(JSON.stringify(msg)), {
      contentType: 'application/json',
      type: msg.type,
    });
  }

  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  private requirePublisher(): ReliablePublisher {
    if (!this.publisher) throw new SwitchboardError('UNAVAILABLE', 'the agent transport is not started');
    return this.publisher;
  }

  /** Waits (bounded) for outstanding confirms, then closes. */
  async close(): Promise<void> {
    await this.publisher?.drain(3000);
    this.publisher?.close();
    await this.link?.close();
  }
}

export function safeAck(ch: Channel, msg: ConsumeMessage): void {
  try {
    ch.ack(msg);
  } catch {
    /* channel gone: the broker redelivers */
  }
}
