/**
 * One connection to the hub: the core Channel behind its message layer (which decodes, follows
 * the peer's wire format and answers bad lines with INVALID) plus what the hub knows about it
 * (listener kind, registration, COMMANDS list, sniff filter), flow control and the slow-consumer
 * guard.
 *
 * Flow control: when a message leaves this connection's queue past the high watermark, the
 * stream connection that sent it stops being read (its peer's bytes wait in the OS and its writes
 * block) until this queue drains, so a fast sender slows to the reader's pace instead of losing
 * messages. A connection that holds senders back, or keeps dropping, for `slowConsumerTimeoutMs`
 * is closed as a slow consumer, which lets its senders go.
 */
import type { Channel } from '../core/channel.js';
import { ConnectionError } from '../core/errors.js';
import type { WireFormat } from '../core/codec/index.js';
import type { Endpoint, Message } from '../core/message.js';
import type { Logger } from '../core/log.js';
import { MessageConnection, Outgoing, type TextShortcut } from '../core/message-connection.js';
import type { InstanceEntry } from './service-catalog.js';

/** Which listener a connection came in on; decides what it may do (UDP rules, SNIFF, STOP). */
export type ConnectionKind = 'local' | 'unix' | 'secure' | 'ws' | 'signal' | 'memory';

/** What a sniffing connection asked to see (SNIFF service= command=); the tap (sniff-tap.ts) applies it. */
export interface SniffFilter {
  service: string | undefined;
  command: string | undefined;
}

export interface ConnectionLimits {
  slowConsumerTimeoutMs: number;
  /** Queued bytes past which senders to this connection are held back. */
  highWaterBytes: number;
}

export class HubConnection {
  /** Decodes what arrives, encodes what the hub writes; stream connections are answered INVALID for bad lines. */
  readonly messages: MessageConnection;
  /** No line has arrived yet (a hub link on the TLS listener says CONNECT or GOSSIP first). */
  firstLine = true;
  registration: InstanceEntry<HubConnection> | undefined;
  commands: ReadonlySet<string> = new Set();
  sniff: SniffFilter | undefined;
  /** Messages the hub could not queue for this connection. */
  dropped = 0;
  private dropSince = 0;
  private readonly anonymous: Endpoint;
  /** Senders not read while this connection's queue drains. */
  private heldBack: Set<HubConnection> | undefined;
  private slowTimer: NodeJS.Timeout | undefined;
  /** How many destinations hold this connection back. */
  private holds = 0;

  constructor(
    readonly channel: Channel,
    readonly kind: ConnectionKind,
    /** `host:port` of the listener it came through (READY's my_address). */
    readonly localAddress: string,
    serverName: string,
    private readonly limits: ConnectionLimits,
    private readonly log: Logger,
    /** The hub's fast path for text lines (stream connections). */
    shortcut?: TextShortcut,
  ) {
    this.anonymous = { server: serverName, service: '' };
    const hub = { server: serverName, service: '' };
    this.messages = new MessageConnection(channel, {
      format: 'peer',
      replies: kind === 'signal' ? undefined : { from: hub, to: () => this.sender() },
      shortcut,
      write: (line) => this.writeLine(line),
    });
  }

  /** Wire format of what the hub writes; set by the first line received, or `format=` on REGISTER/SNIFF. */
  get format(): WireFormat | undefined {
    return this.messages.format;
  }

  set format(format: WireFormat | undefined) {
    this.messages.format = format;
  }

  /**
   * Called after a message from `from` was queued here: past the high watermark, `from` is not read
   * until this queue drains. Only stream channels on both ends take part (they can pause and drain).
   */
  holdBack(from: HubConnection): void {
    if (from === this || from.channel.pauseInput === undefined || this.channel.pauseInput === undefined) return;
    if (this.channel.stats.bufferedBytes < this.limits.highWaterBytes || this.heldBack?.has(from)) return;
    if (this.heldBack === undefined) {
      this.heldBack = new Set();
      this.slowTimer = setTimeout(() => {
        this.log.warn(
          {
            connection: this.id,
            service: this.registration?.id,
            queued: this.channel.stats.bufferedBytes,
            heldBack: this.heldBack?.size ?? 0,
          },
          'closing a slow consumer: its queue stayed full while senders waited',
        );
        this.channel.close(new ConnectionError('CONNECTION_CLOSED', 'slow consumer: the outbound queue stayed full'));
      }, this.limits.slowConsumerTimeoutMs);
      this.slowTimer.unref();
    }
    this.heldBack.add(from);
    if (from.holds++ === 0) from.channel.pauseInput();
  }

  /** Lets the held senders go (the hub calls it when this channel drains or closes). */
  releaseSenders(): void {
    const senders = this.heldBack;
    if (senders === undefined) return;
    this.heldBack = undefined;
    clearTimeout(this.slowTimer);
    for (const s of senders) if (--s.holds === 0) s.channel.resumeInput?.();
  }

  get id(): string {
    return this.channel.id;
  }

  get isStream(): boolean {
    return this.kind !== 'signal';
  }

  get open(): boolean {
    return this.channel.state === 'open';
  }

  /** The sender block the hub stamps on this connection's messages. */
  sender(): Endpoint {
    return this.registration ? this.registration.stamp() : this.anonymous;
  }

  /** Queues one encoded message; false (and counted) when the queue is full or the channel gone. */
  write(out: Outgoing): boolean {
    return this.writeLine(this.messages.encode(out));
  }

  /** Queues one line already in this connection's format. */
  writeLine(line: string): boolean {
    const ok = this.channel.send(line);
    if (ok) {
      if (this.dropSince !== 0) this.dropSince = 0;
      return true;
    }
    if (this.channel.state !== 'open') return false;
    this.dropped++;
    const now = Date.now();
    if (this.dropSince === 0) {
      this.dropSince = now;
      this.log.warn(
        { connection: this.id, service: this.registration?.id, queued: this.channel.stats.bufferedBytes },
        'slow consumer: outbound queue full, dropping messages for it',
      );
    } else if (now - this.dropSince >= this.limits.slowConsumerTimeoutMs) {
      this.log.warn(
        {
          connection: this.id,
          service: this.registration?.id,
          dropped: this.dropped,
          seconds: (now - this.dropSince) / 1000,
        },
        'closing a slow consumer that stopped reading',
      );
      this.channel.close(new ConnectionError('CONNECTION_CLOSED', 'slow consumer: the outbound queue stayed full'));
    }
    return false;
  }

  send(msg: Message): boolean {
    return this.write(new Outgoing(msg));
  }

  /** Stops reading through the hub (the channel is handed to the mesh). */
  detach(): void {
    this.messages.detach();
  }

  close(reason?: Error): void {
    this.channel.close(reason);
  }
}
