/**
 * The agent's side of the RabbitMQ transport. Requests go to `<prefix>.control` through the inbox
 * exchange and their replies come back on RabbitMQ's direct reply-to, to this very channel (so a
 * refusal reaches exactly the agent that was refused, even when two claim the same connector id).
 * The connector's own queue is consumed exclusively: while one agent holds it, the broker refuses
 * a second consumer, which is how a second agent with the same id learns it at once.
 */
import { randomUUID } from 'node:crypto';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { SwitchboardError, TimeoutError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { parseDispatcherMessage, type AgentMessage, type DispatcherReply } from '../protocol/wire.js';
import { AmqpLink } from './amqp-link.js';
import { ReliablePublisher } from './publisher.js';
import {
  declareAgentQueue,
  declareCore,
  declareKindQueue,
  DEFAULT_PREFIX,
  DIRECT_REPLY_TO,
  names,
  ROUTE_CONTROL,
  ROUTE_EVENTS,
  type Names,
} from './topology.js';
import { ConnectorIdHeld, type AgentInbound, type AgentTransport } from './types.js';

export interface AmqpAgentOptions {
  url: string;
  prefix?: string;
  log: Logger;
  prefetch?: number;
  /** The connector id when it is given (it names the connection in RabbitMQ's list from the first one). */
  id?: string;
}

/** amqplib rejects an operation the broker refused with the AMQP reply code (403 ACCESS_REFUSED). */
const accessRefused = (err: unknown) => (err as { code?: unknown } | null)?.code === 403;

export class AmqpAgentTransport implements AgentTransport {
  readonly kind = 'amqp';
  /** Half the dispatcher's default limit (8 MiB): room for the envelope, and batches stay quick to parse. */
  readonly maxMessageBytes = 4 * 1024 * 1024;
  private link: AmqpLink | undefined;
  private publisher: ReliablePublisher | undefined;
  private readonly n: Names;
  private readonly waiting = new Map<string, (r: DispatcherReply) => void>();
  private readonly reconnectListeners: (() => void)[] = [];
  private kindName = '';
  private onMessage: ((m: AgentInbound) => Promise<void | false>) | undefined;
  /** The connector id whose queue this agent holds, once `attach` succeeded (taken again after a reconnect). */
  private connectorId: string | undefined;
  /** The channel a refused `attach` closed: the next attempt waits for the link's next one. */
  private refusedOn: ConfirmChannel | undefined;

  constructor(private readonly opts: AmqpAgentOptions) {
    this.n = names(opts.prefix ?? DEFAULT_PREFIX);
  }

  get stats() {
    const s = this.publisher?.pendingStats ?? { published: 0, confirmed: 0, republished: 0, pending: 0 };
    return { ...s, reconnects: this.link?.reconnects ?? 0 };
  }

  async start(kind: string, onMessage: (m: AgentInbound) => Promise<void | false>): Promise<void> {
    this.kindName = kind;
    this.onMessage = onMessage;
    this.link = new AmqpLink({
      url: this.opts.url,
      name: () =>
        `switchboard-agent ${this.n.prefix} ${kind} ${this.connectorId ?? this.opts.id ?? `pid ${process.pid}`}`,
      log: this.opts.log,
      setup: async (ch, _generation, conn) => {
        await this.ensureCore(conn);
        await ch.prefetch(this.opts.prefetch ?? 256);
        await ch.consume(DIRECT_REPLY_TO, (msg) => this.onReply(msg), { noAck: true });
        if (this.connectorId !== undefined) {
          try {
            await this.consumeOwn(ch, this.connectorId);
          } catch (err) {
            if (!accessRefused(err)) throw err;
            // Our previous connection is still the consumer until the broker notices it is gone.
            throw new SwitchboardError(
              'UNAVAILABLE',
              `the queue of connector ${this.connectorId} still has another consumer (this agent's previous connection, until RabbitMQ notices it is gone); retrying`,
              { retryable: true },
            );
          }
        }
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

  /**
   * The dispatcher's exchanges and queues: checked passively (a broker user limited to its kind
   * may do that), declared when missing and allowed (a shared credential), otherwise a sentence.
   */
  private async ensureCore(conn: ChannelModel): Promise<void> {
    const scratch = async (fn: (ch: Channel) => Promise<void>) => {
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      try {
        await fn(ch);
      } finally {
        await ch.close().catch(() => undefined);
      }
    };
    try {
      await scratch(async (ch) => {
        await ch.checkExchange(this.n.inbox);
        await ch.checkExchange(this.n.broadcast);
      });
      return;
    } catch {
      // missing: declare below
    }
    try {
      await scratch((ch) => declareCore(ch, this.n));
    } catch (err) {
      if (!accessRefused(err)) throw err;
      throw new SwitchboardError(
        'UNAVAILABLE',
        `the dispatcher's exchange ${this.n.inbox} does not exist on this broker yet and this broker user may not create it: start \`switchboard dispatcher\` (prefix ${this.n.prefix}) first`,
        { retryable: true },
      );
    }
  }

  private async consumeOwn(ch: ConfirmChannel, connectorId: string): Promise<void> {
    let own: string;
    let kindQueue: string;
    try {
      own = await declareAgentQueue(ch, this.n, this.kindName, connectorId);
      kindQueue = await declareKindQueue(ch, this.n, this.kindName);
    } catch (err) {
      if (!accessRefused(err)) throw err;
      throw new SwitchboardError(
        'PERMISSION_DENIED',
        `this RabbitMQ user may not use the queues of kind ${this.kindName} (${errorMessage(err).replace(/^.*ACCESS_REFUSED - /, '')}): a user made by \`switchboard connector token --kind K --broker-user\` serves kind K only`,
      );
    }
    const consume = (msg: ConsumeMessage | null) => {
      if (msg) void this.deliver(ch, msg);
    };
    await ch.consume(own, consume, { noAck: false, exclusive: true });
    await ch.consume(kindQueue, consume, { noAck: false });
  }

  async attach(connectorId: string): Promise<void> {
    if (!this.link) throw new SwitchboardError('UNAVAILABLE', 'the agent transport is not started');
    const ch = await this.link.liveChannel(this.refusedOn);
    try {
      await this.consumeOwn(ch, connectorId);
      this.connectorId = connectorId;
    } catch (err) {
      // The refusal closed the channel; the link opens a new one (without this id) by itself.
      this.refusedOn = ch;
      if (accessRefused(err))
        throw new ConnectorIdHeld(
          connectorId,
          `RabbitMQ refused a second consumer on ${this.n.agent(this.kindName, connectorId)}`,
        );
      throw err;
    }
  }

  private onReply(msg: ConsumeMessage | null): void {
    if (!msg) return;
    const correlationId = msg.properties.correlationId as string | undefined;
    const waiter = correlationId ? this.waiting.get(correlationId) : undefined;
    if (!waiter) return; // a reply after its request timed out
    let raw: unknown;
    try {
      raw = JSON.parse(msg.content.toString('utf8'));
    } catch {
      this.opts.log.error('dropping a reply from the dispatcher that is not JSON');
      return;
    }
    const parsed = parseDispatcherMessage(raw);
    if (!parsed.ok || !('ok' in parsed.value) || parsed.value.type === 'accepted') {
      this.opts.log.error(
        `dropping a reply from the dispatcher that is not valid: ${parsed.ok ? parsed.value.type : parsed.error}`,
      );
      return;
    }
    waiter(parsed.value);
  }

  private async deliver(ch: Channel, msg: ConsumeMessage): Promise<void> {
    let raw: unknown;
    try {
      raw = JSON.parse(msg.content.toString('utf8'));
    } catch {
      this.opts.log.error({ queue: msg.fields.routingKey }, 'dropping a message from the dispatcher that is not JSON');
      safeAck(ch, msg);
      return;
    }
    const parsed = parseDispatcherMessage(raw);
    if (!parsed.ok) {
      this.opts.log.error(
        { queue: msg.fields.routingKey },
        `dropping a message from the dispatcher that is not valid: ${parsed.error}`,
      );
      safeAck(ch, msg);
      return;
    }
    const body = parsed.value;
    if (body.type === 'tasks' || body.type === 'invalidate') {
      try {
        if ((await this.onMessage!(body)) === false) {
          try {
            ch.nack(msg, false, true);
          } catch {
            /* channel gone: the broker redelivers */
          }
          return;
        }
      } catch (err) {
        this.opts.log.error({ err: errorMessage(err) }, 'agent failed to handle a message from the dispatcher');
      }
    }
    safeAck(ch, msg);
  }

  async request(
    msg: Extract<AgentMessage, { type: 'register' | 'triggers' | 'holder' }>,
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
    await publisher.publish(this.n.inbox, ROUTE_CONTROL, Buffer.from(JSON.stringify(msg)), {
      contentType: 'application/json',
      type: msg.type,
      correlationId,
      replyTo: DIRECT_REPLY_TO,
      persistent: false,
    });
    return reply;
  }

  send(msg: AgentMessage): Promise<void> {
    return this.requirePublisher().publish(this.n.inbox, ROUTE_EVENTS, Buffer.from(JSON.stringify(msg)), {
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
