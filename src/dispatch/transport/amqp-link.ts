/**
 * A RabbitMQ connection that comes back: connects, runs `setup` on a fresh confirm channel
 * (declare topology, start consumers), and when the connection or channel drops reconnects with
 * exponential back-off (jittered, capped). Every (re)connection bumps `generation`, so callers can
 * tell a delivery or confirm from an old channel apart from one on the live channel.
 */
import { EventEmitter } from 'node:events';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { ConnectionError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';

export interface LinkOptions {
  url: string;
  /** Shown in `rabbitmq-diagnostics list_connections client_properties` as connection_name (asked at each connection). */
  name: string | (() => string);
  /** Runs on each new connection; `conn` opens scratch channels (a failed passive check closes its channel). */
  setup: (ch: ConfirmChannel, generation: number, conn: ChannelModel) => Promise<void>;
  log: Logger;
  minDelayMs?: number;
  maxDelayMs?: number;
}

export class AmqpLink extends EventEmitter<{ up: [ConfirmChannel, number]; down: [Error] }> {
  private conn: ChannelModel | undefined;
  private ch: ConfirmChannel | undefined;
  private closed = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private waiting: { resolve: () => void; reject: (err: Error) => void } | undefined;
  generation = 0;
  reconnects = 0;

  constructor(private readonly opts: LinkOptions) {
    super();
  }

  get channel(): ConfirmChannel | undefined {
    return this.ch;
  }

  /** The live channel, other than `not` (one the caller saw fail), waiting for a reconnection when needed. */
  async liveChannel(not?: ConfirmChannel, timeoutMs = 15_000): Promise<ConfirmChannel> {
    if (this.ch && this.ch !== not) return this.ch;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('up', up);
        reject(new ConnectionError('CONNECTION_FAILED', `no connection to RabbitMQ within ${timeoutMs} ms`));
      }, timeoutMs);
      const up = (ch: ConfirmChannel) => {
        if (ch === not) return;
        clearTimeout(timer);
        this.off('up', up);
        resolve(ch);
      };
      this.on('up', up);
    });
  }

  /** Resolves on the first successful connection; keeps retrying (logging each failure) until then. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      void this.connect();
    });
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    let conn: ChannelModel | undefined;
    try {
      const name = typeof this.opts.name === 'function' ? this.opts.name() : this.opts.name;
      conn = await amqp.connect(this.opts.url, { clientProperties: { connection_name: name } });
      const ch = await conn.createConfirmChannel();
      if (this.closed) {
        await conn.close().catch(() => undefined);
        return;
      }
      const generation = ++this.generation;
      const lost = (err?: Error) => this.lost(conn!, generation, err);
      conn.on('error', () => undefined); // 'close' follows and carries the story
      conn.on('close', (err?: Error) => lost(err));
      ch.on('error', () => undefined);
      ch.on('close', () => lost(new ConnectionError('CONNECTION_CLOSED', 'channel closed')));
      await this.opts.setup(ch, generation, conn);
      this.conn = conn;
      this.ch = ch;
      if (this.attempt > 0 || generation > 1) this.opts.log.info({ generation }, 'connected to RabbitMQ again');
      this.attempt = 0;
      this.emit('up', ch, generation);
      this.waiting?.resolve();
      this.waiting = undefined;
    } catch (err) {
      await conn?.close().catch(() => undefined);
      if (this.closed) return;
      this.scheduleRetry(err);
    }
  }

  private lost(conn: ChannelModel, generation: number, err?: Error): void {
    if (generation !== this.generation || this.conn !== conn) return;
    this.conn = undefined;
    this.ch = undefined;
    void conn.close().catch(() => undefined);
    if (this.closed) return;
    this.reconnects++;
    this.opts.log.warn({ err: err ? errorMessage(err) : undefined }, 'RabbitMQ connection lost; reconnecting');
    this.emit('down', err ?? new ConnectionError('CONNECTION_CLOSED', 'connection closed'));
    this.scheduleRetry(err, true);
  }

  private scheduleRetry(err: unknown, quiet = false): void {
    const min = this.opts.minDelayMs ?? 100;
    const max = this.opts.maxDelayMs ?? 5000;
    const delay = Math.min(max, min * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    this.attempt++;
    if (!quiet && (this.attempt === 1 || this.attempt % 10 === 0))
      this.opts.log.warn(
        { err: errorMessage(err), attempt: this.attempt, delayMs: Math.round(delay) },
        `cannot reach RabbitMQ at ${redact(this.opts.url)}; retrying`,
      );
    this.timer = setTimeout(() => {
      void this.connect();
    }, delay);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.waiting?.reject(new ConnectionError('CONNECTION_CLOSED', 'closed before the first connection to RabbitMQ'));
    this.waiting = undefined;
    const conn = this.conn;
    this.conn = undefined;
    this.ch = undefined;
    await conn?.close().catch(() => undefined);
  }
}

/** The URL without its password, for log lines. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
