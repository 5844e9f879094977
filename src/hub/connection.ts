/**
 * One connection to the hub: the core Channel plus what the hub knows about it (listener kind,
 * wire format, registration, COMMANDS list, sniff filter) and the slow-consumer guard: a
 * connection whose bounded outbound queue keeps dropping for `slowConsumerTimeoutMs` is closed.
 */
import type { Channel } from '../core/channel.js';
import type { WireFormat } from '../core/codec/index.js';
import type { Endpoint, Message } from '../core/message.js';
import type { Logger } from '../core/log.js';
import { Outgoing } from './outgoing.js';
import type { InstanceEntry } from './registry.js';
import type { SniffFilter } from './sniff.js';

/** Which listener a connection came in on; decides what it may do (UDP rules, SNIFF, STOP). */
export type ConnectionKind = 'local' | 'unix' | 'secure' | 'ws' | 'signal' | 'memory';

export interface ConnectionLimits {
  slowConsumerTimeoutMs: number;
}

export class HubConnection {
  /** Wire format of what the hub writes; set by the first line received, or `format=` on REGISTER/SNIFF. */
  format: WireFormat | undefined;
  registration: InstanceEntry | undefined;
  commands: ReadonlySet<string> = new Set();
  sniff: SniffFilter | undefined;
  /** Messages the hub could not queue for this connection. */
  dropped = 0;
  /** Removes the hub's listeners from the channel (set by the hub; used to hand a link to the mesh). */
  detach: () => void = () => undefined;
  private dropSince = 0;
  private readonly anonymous: Endpoint;

  constructor(
    readonly channel: Channel,
    readonly kind: ConnectionKind,
    /** `host:port` of the listener it came through (READY's my_address). */
    readonly localAddress: string,
    serverName: string,
    private readonly limits: ConnectionLimits,
    private readonly log: Logger,
  ) {
    this.anonymous = { server: serverName, service: '' };
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
    return this.writeLine(out.line(this.format ?? 'text'));
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
      this.log.warn({ connection: this.id, service: this.registration?.id, queued: this.channel.stats.bufferedBytes }, 'slow consumer: outbound queue full, dropping messages for it');
    } else if (now - this.dropSince >= this.limits.slowConsumerTimeoutMs) {
      this.log.warn({ connection: this.id, service: this.registration?.id, dropped: this.dropped, seconds: (now - this.dropSince) / 1000 }, 'closing a slow consumer that stopped reading');
      this.channel.close(new Error('slow consumer: the outbound queue stayed full'));
    }
    return false;
  }

  send(msg: Message): boolean {
    return this.write(new Outgoing(msg));
  }

  close(reason?: Error): void {
    this.channel.close(reason);
  }
}
