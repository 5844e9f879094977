/**
 * Publishes with confirms and loses nothing the caller was told is safe: a message stays in memory
 * until the broker confirms it. When the connection drops, what was in flight goes back to the front
 * of the queue (in order) and is published again on the next channel; a nack is retried too.
 * Duplicates after a republish are possible by design; receivers dedup by id.
 */
import type { ConfirmChannel, Options } from 'amqplib';
import { SwitchboardError } from '../../core/errors.js';
import type { AmqpLink } from './amqp-link.js';

interface Entry {
  exchange: string;
  routingKey: string;
  body: Buffer;
  options: Options.Publish;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface PublisherStats {
  published: number;
  confirmed: number;
  republished: number;
  pending: number;
}

export class ReliablePublisher {
  private queue: Entry[] = [];
  private inflight = new Set<Entry>();
  private flushing = false;
  private closed = false;
  readonly stats = { published: 0, confirmed: 0, republished: 0 };

  constructor(
    private readonly link: AmqpLink,
    private readonly maxQueued = 200_000,
  ) {
    link.on('down', () => {
      // Whatever the old channel never confirmed is published again, ahead of newer messages.
      const back = [...this.inflight];
      this.inflight.clear();
      this.stats.republished += back.length;
      this.queue = [...back, ...this.queue];
    });
    link.on('up', () => this.flush());
  }

  get pendingStats(): PublisherStats {
    return { ...this.stats, pending: this.queue.length + this.inflight.size };
  }

  /** Resolves once the broker has confirmed the message. */
  publish(exchange: string, routingKey: string, body: Buffer, options: Options.Publish = {}): Promise<void> {
    if (this.closed) return Promise.reject(new SwitchboardError('CONNECTION_CLOSED', 'publisher is closed'));
    if (this.queue.length + this.inflight.size >= this.maxQueued) {
      return Promise.reject(
        new SwitchboardError(
          'UNAVAILABLE',
          `more than ${this.maxQueued} messages wait for RabbitMQ; refusing more until it is reachable`,
          { retryable: true },
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ exchange, routingKey, body, options: { persistent: true, ...options }, resolve, reject });
      this.flush();
    });
  }

  private flush(): void {
    if (this.flushing) return;
    const ch = this.link.channel;
    if (!ch) return;
    this.flushing = true;
    try {
      while (this.queue.length && this.link.channel === ch) {
        const e = this.queue.shift()!;
        this.send(ch, e);
        this.stats.published++;
      }
    } finally {
      this.flushing = false;
    }
  }

  private send(ch: ConfirmChannel, e: Entry): void {
    const generation = this.link.generation;
    this.inflight.add(e);
    const done = (err: unknown) => {
      if (!this.inflight.has(e)) return; // already moved back for a republish
      if (err) {
        if (generation === this.link.generation && this.link.channel === ch) {
          // A nack on a live channel: try again.
          this.inflight.delete(e);
          this.stats.republished++;
          this.queue.push(e);
          queueMicrotask(() => this.flush());
        }
        return; // a dead channel: the 'down' handler requeues it
      }
      this.inflight.delete(e);
      this.stats.confirmed++;
      e.resolve();
    };
    try {
      ch.publish(e.exchange, e.routingKey, e.body, e.options, done);
    } catch {
      // Channel closing under us: 'down' requeues what is in flight.
    }
  }

  /** Stops accepting; rejects what was never confirmed. */
  close(): void {
    this.closed = true;
    const err = new SwitchboardError('CONNECTION_CLOSED', 'publisher closed before RabbitMQ confirmed the message');
    for (const e of [...this.inflight, ...this.queue]) e.reject(err);
    this.inflight.clear();
    this.queue = [];
  }

  /** Resolves when nothing waits for a confirm (or after `timeoutMs`). */
  async drain(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length + this.inflight.size > 0) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }
}
