/**
 * The dispatcher's side of the RabbitMQ transport. It consumes two queues, each in its own lane:
 * events (with results and unregistrations) and control requests (registrations, trigger requests),
 * so a backlog of events never delays a registration. In a lane, deliveries are processed in order, in batches
 * (whatever arrived while the previous batch was being processed), and acknowledged only after the
 * handler finished and everything it published was confirmed. A message that is not valid, or that
 * the handler could not process, is republished to the dead-letter queue with the reason in the
 * `x-switchboard-error` header, then acknowledged.
 */
import { LogThrottle } from '../../core/log-throttle.js';
import type { Channel, ConsumeMessage } from 'amqplib';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { parseAgentMessage, type DispatcherReply, type WireTask } from '../protocol/wire.js';
import { fail, ok, type Result } from '../../core/result.js';
import { timeOrderedId } from '../protocol/ids.js';
import { AmqpLink } from './amqp-link.js';
import { safeAck } from './amqp-agent.js';
import { ReliablePublisher } from './publisher.js';
import { declareAgentQueue, declareCore, declareKindQueue, DEFAULT_PREFIX, names, type Names } from './topology.js';
import type { DispatcherHandler, DispatcherTransport, Inbound, TaskTarget } from './types.js';

export interface AmqpDispatcherOptions {
  url: string;
  prefix?: string;
  log: Logger;
  prefetch?: number;
  maxBatch?: number;
  /** Largest message body processed; a larger one is dead-lettered unread (bytes). */
  maxMessageBytes?: number;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
/** What a dead letter keeps of a body over the size limit (enough to see what it was). */
const KEPT_OF_OVERSIZE = 4096;

interface Delivery {
  ch: Channel;
  msg: ConsumeMessage;
}

/** Batches processed but not yet confirmed; more wait. */
const MAX_UNSETTLED = 8;

/** One consumed queue: deliveries in arrival order, one batch at a time, at most MAX_UNSETTLED awaiting confirms. */
class Lane {
  private pending: Delivery[] = [];
  private draining = false;
  private unsettled = 0;
  private wake: (() => void) | undefined;

  constructor(
    readonly queue: string,
    private readonly maxBatch: number,
    private readonly run: (batch: Delivery[], lane: Lane) => Promise<void>,
  ) {}

  push(d: Delivery): void {
    this.pending.push(d);
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.pending.length) await this.run(this.pending.splice(0, this.maxBatch), this);
    } finally {
      this.draining = false;
    }
  }

  settle(done: Promise<void>): void {
    this.unsettled++;
    void done.finally(() => {
      this.unsettled--;
      this.wake?.();
    });
  }

  async roomForMore(): Promise<void> {
    while (this.unsettled >= MAX_UNSETTLED)
      await new Promise<void>((r) => {
        this.wake = r;
      });
  }
}

export class AmqpDispatcherTransport implements DispatcherTransport {
  readonly kind = 'amqp';
  private link: AmqpLink | undefined;
  private publisher: ReliablePublisher | undefined;
  private readonly n: Names;
  private readonly lanes: Lane[];
  private handler: DispatcherHandler | undefined;
  private declared = new Set<string>();
  readonly counters = { delivered: 0, deadLettered: 0 };

  /** Dead-lettered messages come from outside: one log line per interval with a count (the queue keeps each reason). */
  private readonly faultLog: LogThrottle;

  constructor(private readonly opts: AmqpDispatcherOptions) {
    this.faultLog = new LogThrottle(opts.log, 10_000);
    this.n = names(opts.prefix ?? DEFAULT_PREFIX);
    const maxBatch = opts.maxBatch ?? 100;
    this.lanes = [this.n.dispatcher, this.n.control].map(
      (queue) => new Lane(queue, maxBatch, (batch, lane) => this.process(batch, lane)),
    );
  }

  get names(): Names {
    return this.n;
  }

  async start(handler: DispatcherHandler): Promise<void> {
    this.handler = handler;
    this.link = new AmqpLink({
      url: this.opts.url,
      name: `switchboard-dispatcher ${this.n.prefix} pid ${process.pid}`,
      log: this.opts.log,
      setup: async (ch) => {
        this.declared.clear();
        await declareCore(ch, this.n);
        await ch.prefetch(this.opts.prefetch ?? 500);
        for (const lane of this.lanes)
          await ch.consume(
            lane.queue,
            (msg) => {
              if (!msg) return;
              this.counters.delivered++;
              lane.push({ ch, msg });
            },
            { noAck: false },
          );
      },
    });
    this.publisher = new ReliablePublisher(this.link);
    await this.link.start();
  }

  /** One batch of a lane: handled, dead letters sent, acknowledged once all it caused is confirmed. */
  private async process(batch: Delivery[], lane: Lane): Promise<void> {
    const inbound: Inbound[] = [];
    const fromIndex: number[] = [];
    const dead: Promise<void>[] = [];
    batch.forEach((d, i) => {
      const parsed = this.parse(d.msg);
      if (!parsed.ok) {
        dead.push(this.deadLetter(d, parsed.error));
        return;
      }
      inbound.push(parsed.value);
      fromIndex.push(i);
    });
    let outcomes: (Error | undefined)[];
    let settled: Promise<unknown>;
    try {
      ({ outcomes, settled } = inbound.length
        ? await this.handler!.handle(inbound)
        : { outcomes: [], settled: Promise.resolve() });
    } catch (err) {
      // The handler as a whole failed (e.g. the store is down): leave the messages unacknowledged on
      // this channel, so they come back after a reconnect, and try again shortly.
      this.opts.log.error(
        { err: errorMessage(err), messages: batch.length, queue: lane.queue },
        'dispatcher failed to process a batch; will retry',
      );
      await new Promise((r) => setTimeout(r, 500));
      for (const d of batch)
        try {
          d.ch.nack(d.msg, false, true);
        } catch {
          /* gone */
        }
      return;
    }
    outcomes.forEach((o, j) => {
      if (o) dead.push(this.deadLetter(batch[fromIndex[j]!]!, o.message));
    });
    // Acknowledge once everything this batch caused is confirmed; meanwhile the next batch runs.
    lane.settle(
      Promise.all([...dead, settled]).then(
        () => {
          for (const d of batch) safeAck(d.ch, d.msg);
        },
        (err: unknown) => {
          // Not confirmed (e.g. closing): leave unacknowledged, the broker redelivers, dedup keeps it once.
          this.opts.log.warn({ err: errorMessage(err) }, 'a batch was not confirmed; it will be redelivered');
        },
      ),
    );
    await lane.roomForMore();
  }

  private parse(msg: ConsumeMessage): Result<Inbound> {
    const max = this.opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (msg.content.length > max)
      return fail(`the message is ${msg.content.length} bytes; the dispatcher takes messages of at most ${max} bytes`);
    let raw: unknown;
    try {
      raw = JSON.parse(msg.content.toString('utf8'));
    } catch {
      return fail('the message body is not JSON');
    }
    const parsed = parseAgentMessage(raw);
    if (!parsed.ok) return fail(`the message is not a valid agent message: ${parsed.error}`);
    const message = parsed.value;
    const inbound: Inbound = { message, ...(msg.fields.redelivered ? { redelivered: true } : {}) };
    const { replyTo, correlationId } = msg.properties as { replyTo?: string; correlationId?: string };
    if (
      replyTo &&
      correlationId &&
      (message.type === 'register' || message.type === 'triggers' || message.type === 'holder')
    ) {
      inbound.reply = (reply: DispatcherReply) =>
        this.publisher!.publish('', replyTo, Buffer.from(JSON.stringify(reply)), {
          contentType: 'application/json',
          correlationId,
          type: reply.type,
          persistent: false,
        });
    }
    return ok(inbound);
  }

  /**
   * Sets a message aside in the dead-letter queue with the reason, and tells its sender when it
   * waits for a reply. A body over the size limit keeps only its first bytes there.
   */
  private async deadLetter(d: Delivery, reason: string): Promise<void> {
    this.counters.deadLettered++;
    const props = d.msg.properties as { messageId?: unknown; type?: unknown; replyTo?: string; correlationId?: string };
    this.faultLog.warn(
      'dead-letter',
      { reason, messageId: props.messageId, type: props.type, bytes: d.msg.content.length },
      `dead-lettering a message to ${this.n.dead}: ${reason}`,
    );
    const max = this.opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    const oversize = d.msg.content.length > max;
    const sends: Promise<void>[] = [
      this.publisher!.publish(
        this.n.dlx,
        this.n.dead,
        oversize ? d.msg.content.subarray(0, KEPT_OF_OVERSIZE) : d.msg.content,
        {
          contentType: d.msg.properties.contentType as string | undefined,
          type: d.msg.properties.type as string | undefined,
          headers: {
            ...(d.msg.properties.headers ?? {}),
            'x-switchboard-error': reason,
            // Names the letter for `switchboard trigger dead` and `trigger replay --dead ID`.
            'x-dead-letter-id': timeOrderedId(),
            'x-original-queue': d.msg.fields.routingKey,
            'x-dead-lettered-at': new Date().toISOString(),
            ...(oversize ? { 'x-original-bytes': d.msg.content.length, 'x-truncated': true } : {}),
          },
        },
      ),
    ];
    if (props.replyTo && props.correlationId)
      sends.push(
        this.publisher!.publish(
          '',
          props.replyTo,
          Buffer.from(JSON.stringify({ type: 'refused', ok: false, code: 'INVALID_MESSAGE', message: reason })),
          { contentType: 'application/json', correlationId: props.correlationId, type: 'refused', persistent: false },
        ),
      );
    await Promise.all(sends);
  }

  private async ensureQueue(q: string, declare: (ch: Channel) => Promise<string>): Promise<void> {
    if (this.declared.has(q)) return;
    const ch = this.link?.channel;
    if (!ch) return; // published once the link is back; the agent declares its own queues too
    await declare(ch);
    this.declared.add(q);
  }

  async sendTasks(to: TaskTarget, tasks: WireTask[]): Promise<void> {
    const q = 'connector' in to ? this.n.agent(to.kind, to.connector) : this.n.kind(to.kind);
    await this.ensureQueue(q, (ch) =>
      'connector' in to ? declareAgentQueue(ch, this.n, to.kind, to.connector) : declareKindQueue(ch, this.n, to.kind),
    );
    await this.publisher!.publish('', q, Buffer.from(JSON.stringify({ type: 'tasks', tasks })), {
      contentType: 'application/json',
      type: 'tasks',
    });
  }

  async broadcastInvalidate(version: number): Promise<void> {
    await this.publisher!.publish(this.n.broadcast, '', Buffer.from(JSON.stringify({ type: 'invalidate', version })), {
      contentType: 'application/json',
      type: 'invalidate',
      persistent: false,
    });
  }

  async close(): Promise<void> {
    await this.publisher?.drain(3000);
    this.publisher?.close();
    await this.link?.close();
  }
}
