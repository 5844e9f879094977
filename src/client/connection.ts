/**
 * A permanent connection to a hub: dials, and when the channel drops, dials again after the
 * back-off delays (the communicator's 1,1,1,3,5,10,20,30,60 s by default). Each channel is read
 * and written through the core's message layer (messages up, messages or encoded lines down).
 * `close()` stops it for good.
 */
import type { Channel } from '../core/channel.js';
import type { WireFormat } from '../core/codec/index.js';
import { ConnectionError, errorMessage, type InvalidMessageError } from '../core/errors.js';
import type { Message } from '../core/message.js';
import { MessageConnection, type Received } from '../core/message-connection.js';
import { connect as dial } from '../core/transports/index.js';
import type { ConnectOptions as ChannelOptions } from '../core/transports/index.js';
import { backoffDelay } from './backoff.js';

export interface ConnectionHooks {
  connecting(attempt: number): void;
  open(channel: Channel): void;
  message(received: Received): void;
  /** A line from the hub that does not decode. */
  invalid(raw: string, error: InvalidMessageError): void;
  /** The channel closed or a dial failed; `retryInMs` is undefined when no retry follows. */
  down(reason: Error, retryInMs: number | undefined, attempt: number): void;
}

export interface ConnectionOptions {
  reconnect: boolean;
  backoffMs: readonly number[];
  channel: ChannelOptions | undefined;
  /** What the client writes. */
  format: WireFormat;
}

export class Connection {
  private channel: Channel | undefined;
  private messages: MessageConnection | undefined;
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private closed = false;

  constructor(
    readonly address: string,
    private readonly options: ConnectionOptions,
    private readonly hooks: ConnectionHooks,
  ) {}

  get open(): Channel | undefined {
    return this.channel?.state === 'open' ? this.channel : undefined;
  }

  /** One dial; resolves when open, rejects with ConnectionError (and schedules the next try when reconnecting). */
  async dial(): Promise<void> {
    if (this.closed) throw new ConnectionError('CONNECTION_CLOSED', 'the client was disposed');
    this.hooks.connecting(this.attempt);
    let channel: Channel;
    try {
      channel = await dial(this.address, this.options.channel);
    } catch (err) {
      const reason =
        err instanceof ConnectionError
          ? err
          : new ConnectionError(
              'CONNECTION_FAILED',
              `cannot connect to ${this.address}: ${errorMessage(err)} (is the hub running? start one with \`switchboard hub\`)`,
              { cause: err },
            );
      this.scheduleRetry(reason);
      throw reason;
    }
    if (this.closed) {
      channel.close();
      throw new ConnectionError('CONNECTION_CLOSED', 'the client was disposed');
    }
    this.attempt = 0;
    this.channel = channel;
    const messages = new MessageConnection(channel, { format: this.options.format });
    this.messages = messages;
    messages.listen({
      message: (received) => this.hooks.message(received),
      invalid: (raw, error) => this.hooks.invalid(raw, error),
      // Input errors (e.g. an over-long line) are followed by a close, which drives reconnecting.
      error: () => undefined,
      close: (reason) => this.onClose(channel, reason),
    });
    this.hooks.open(channel);
  }

  private onClose(channel: Channel, reason: Error | undefined): void {
    if (this.channel !== channel) return;
    this.channel = undefined;
    this.messages = undefined;
    this.scheduleRetry(
      new ConnectionError(
        'CONNECTION_CLOSED',
        `connection to ${this.address} closed${reason ? `: ${reason.message}` : ''}`,
        { cause: reason },
      ),
    );
  }

  /** Sends one encoded line (from the queue kept while disconnected); false when not open or dropped. */
  write(frame: string): boolean {
    return this.open ? this.messages!.sendLine(frame) : false;
  }

  /** Sends one message in the client's format; false when not open or dropped. */
  send(msg: Message): boolean {
    return this.open ? this.messages!.send(msg) : false;
  }

  /** Drops the current channel (the reconnect loop goes on unless closed). */
  drop(): void {
    this.channel?.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    const ch = this.channel;
    this.channel = undefined;
    this.messages = undefined;
    ch?.close();
  }

  private scheduleRetry(reason: Error): void {
    if (this.closed || !this.options.reconnect) {
      this.hooks.down(reason, undefined, this.attempt);
      return;
    }
    const delay = backoffDelay(this.options.backoffMs, this.attempt);
    this.hooks.down(reason, delay, this.attempt);
    this.attempt++;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.dial().catch(() => undefined);
    }, delay);
  }
}
