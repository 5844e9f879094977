/**
 * One connection to the hub: the core Channel behind its message layer (which decodes, follows
 * the peer's wire format and answers bad lines with INVALID) plus what the hub knows about it
 * (listener kind, registration, COMMANDS list, sniff filter), flow control and the slow-consumer
 * guard.
 *
 * Flow control: when a message leaves this connection's queue past the high watermark, the
 * stream or WebSocket connection that sent it stops being read (its peer's bytes wait in the OS and its writes
 * block) until this queue drains, so a fast sender slows to the reader's pace instead of losing
 * messages. A connection that holds senders back, or keeps dropping, for `slowConsumerTimeoutMs`
 * is closed as a slow consumer, which lets its senders go.
 *
 * The backlog: messages the hub had cached for a service are not written into the queue at once
 * (a returning service may have tens of megabytes waiting) but fed in as the connection reads,
 * the queue kept near the high watermark; while they wait, messages that arrive after them wait
 * behind them (stream senders held back, others kept up to `maxQueuedBytes`), so the order holds.
 * A connection that reads none of them for `slowConsumerTimeoutMs` is closed as a slow consumer;
 * what it had not been sent goes back to the cache (`stopBacklog`).
 */
import type { Channel } from '../core/channel.js';
import { ConnectionError } from '../core/errors.js';
import type { WireFormat } from '../core/codec/index.js';
import { createMessage, type Endpoint, type Message } from '../core/message.js';
import type { Logger } from '../core/log.js';
import { MessageConnection, Outgoing, type AdmitCheck, type TextShortcut } from '../core/message-connection.js';
import type { Grant } from '../trust/policy.js';
import type { Cached } from './message-cache.js';
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
  /** A stream connection with no valid message this long after connecting is closed (0: never). */
  firstMessageTimeoutMs: number;
  /** Queued bytes past which senders to this connection are held back. */
  highWaterBytes: number;
  /** The queue's bound; also what may wait behind a backlog from senders that cannot be held back. */
  maxQueuedBytes: number;
}

/** A message waiting in a connection's backlog: cached ones first, then what arrived behind them. */
interface Waiting {
  readonly out: Outgoing | string;
  readonly cached?: Cached<HubConnection>;
}

/** Who fed a backlog: told of each cached message queued, and handed back what was never sent. */
export interface BacklogOwner {
  queued(cached: Cached<HubConnection>): void;
  unsent(left: Cached<HubConnection>[]): void;
}

/** Backlogs are fed on drain events; channels without them (in-process) are looked at this often. */
const BACKLOG_POLL_MS = 10;

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
  /** Of those, the ones it has not been told of yet (DROPPED). */
  private unreported = 0;
  /** Who this connection speaks for and what it may do (from where it came; AUTH or REGISTER password= change it). */
  grant: Grant;
  /** AUTH / REGISTER password= attempts whose token proved nobody. */
  authFailures = 0;
  /** Service names this connection registered that the hub did not know before (max_names_per_connection). */
  namesAdded = 0;
  /** Told when this connection is closed for saying nothing valid in time (the hub counts and logs it). */
  onSilent: ((seconds: number) => void) | undefined;
  /** SHA-256 of the token it proved itself with (cluster commands are signed with it). */
  tokenDigest: string | undefined;
  private dropSince = 0;
  private readonly anonymous: Endpoint;
  /** Senders not read while this connection's queue drains. */
  private heldBack: Set<HubConnection> | undefined;
  private slowTimer: NodeJS.Timeout | undefined;
  /** How many destinations hold this connection back. */
  private holds = 0;
  private backlog: Waiting[] | undefined;
  private backlogHead = 0;
  /** Characters waiting behind the backlog that were not cached (bounded by maxQueuedBytes). */
  private behindChars = 0;
  private backlogOwner: BacklogOwner | undefined;
  private backlogPoll: NodeJS.Timeout | undefined;
  private silenceTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly channel: Channel,
    readonly kind: ConnectionKind,
    /** `host:port` of the listener it came through (READY's my_address). */
    readonly localAddress: string,
    serverName: string,
    private readonly limits: ConnectionLimits,
    private readonly log: Logger,
    grant: Grant,
    /** The hub's fast path for text lines (stream connections). */
    shortcut?: TextShortcut,
    /** The hub's per-line check (identities): before the fast path and the full path. */
    admit?: AdmitCheck,
  ) {
    this.grant = grant;
    this.anonymous = { server: serverName, service: '' };
    const hub = { server: serverName, service: '' };
    this.messages = new MessageConnection(channel, {
      format: 'peer',
      replies: kind === 'signal' ? undefined : { from: hub, to: () => this.sender() },
      shortcut,
      admit,
      write: (line) => this.writeLine(line),
    });
    // A connection that says nothing valid holds a slot (max_connections) for nothing: the auth timeout of NATS.
    if (kind !== 'memory' && kind !== 'signal' && limits.firstMessageTimeoutMs > 0) {
      this.silenceTimer = setTimeout(() => this.closeSilent(), limits.firstMessageTimeoutMs);
      this.silenceTimer.unref();
    }
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
   * The hub calls it with `from === this` after handling each line: its answers count as well.
   */
  holdBack(from: HubConnection): void {
    // `from` may be this connection itself: the hub's answers to it count too.
    if (from.channel.pauseInput === undefined || this.channel.pauseInput === undefined) return;
    if (this.backlog === undefined && this.channel.stats.bufferedBytes < this.limits.highWaterBytes) return;
    if (this.heldBack?.has(from)) return;
    this.heldBack ??= new Set();
    this.armSlowTimer();
    this.heldBack.add(from);
    if (from.holds++ === 0) from.channel.pauseInput();
  }

  /** A valid message arrived: the connection is no longer silent. */
  heard(): void {
    if (this.silenceTimer === undefined) return;
    clearTimeout(this.silenceTimer);
    this.silenceTimer = undefined;
  }

  private closeSilent(): void {
    this.silenceTimer = undefined;
    if (this.channel.state !== 'open') return;
    const seconds = this.limits.firstMessageTimeoutMs / 1000;
    this.onSilent?.(seconds);
    this.messages.send(
      createMessage(
        'INVALID',
        {
          message: `no valid message within ${seconds} s of connecting (first_message_timeout): the connection is closed; send REGISTER service=NAME;version=1 (or any message) sooner`,
        },
        this.sender(),
        { server: this.anonymous.server },
      ),
    );
    this.channel.close(new ConnectionError('CONNECTION_CLOSED', 'no valid message within first_message_timeout'));
  }

  /** Closes this connection to free its slot for a newcomer (max_connections), telling it why. */
  evict(message: string): void {
    this.messages.send(createMessage('INVALID', { message }, this.sender(), { server: this.anonymous.server }));
    this.channel.close(new ConnectionError('CONNECTION_CLOSED', 'closed to free a slot (max_connections)'));
  }

  private countDrop(): void {
    this.dropped++;
    this.unreported++;
  }

  /**
   * A connection that lists DROPPED among its commands hears `DROPPED count=N` once its queue has
   * room again after the hub dropped messages for it, so it can ask again for what it keeps a view
   * of instead of holding a stale one until the next change. (A full queue loses a stream sender's
   * message too: holding a sender back stops its next messages, not the one that found no room.)
   */
  private reportDrops(): void {
    if (this.unreported === 0 || !this.commands.has('DROPPED') || this.channel.state !== 'open') return;
    const count = this.unreported;
    this.unreported = 0;
    this.send(createMessage('DROPPED', { count: String(count) }, this.sender(), { server: this.anonymous.server }));
  }

  /** The queue drained (the hub's drain handler): feed the backlog, or let the held senders go. */
  drained(): void {
    this.reportDrops();
    if (this.backlog !== undefined) this.pumpBacklog();
    else this.releaseSenders();
  }

  /** Lets the held senders go (the queue drained, or this connection closed). */
  releaseSenders(): void {
    const senders = this.heldBack;
    if (senders === undefined) return;
    this.heldBack = undefined;
    if (this.backlog === undefined) this.disarmSlowTimer();
    for (const s of senders) if (--s.holds === 0) s.channel.resumeInput?.();
  }

  /**
   * Queues `cached` (in order) as this connection reads: the queue is filled to the high
   * watermark, then again on each drain. `owner` counts what was queued and takes back what was not.
   */
  startBacklog(cached: readonly Cached<HubConnection>[], owner: BacklogOwner): void {
    if (cached.length === 0) return;
    const items: Waiting[] = cached.map((c) => ({ out: new Outgoing(c.msg), cached: c }));
    if (this.backlog === undefined) {
      this.backlog = items;
      this.backlogHead = 0;
      this.behindChars = 0;
    } else this.backlog.push(...items);
    this.backlogOwner = owner;
    this.pumpBacklog();
  }

  /** Ends the backlog (unregistered or closed): cached messages not yet queued go back to their owner. */
  stopBacklog(): void {
    const backlog = this.backlog;
    if (backlog === undefined) return;
    const unsent: Cached<HubConnection>[] = [];
    for (let i = this.backlogHead; i < backlog.length; i++) {
      const c = backlog[i]!.cached;
      if (c !== undefined) unsent.push(c);
    }
    const owner = this.backlogOwner;
    this.endBacklog();
    if (unsent.length > 0) owner?.unsent(unsent);
  }

  private endBacklog(): void {
    this.backlog = undefined;
    this.backlogHead = 0;
    this.behindChars = 0;
    this.backlogOwner = undefined;
    clearTimeout(this.backlogPoll);
    this.backlogPoll = undefined;
    this.releaseSenders();
    this.disarmSlowTimer();
  }

  /** Moves backlog messages into the queue up to the high watermark. */
  private pumpBacklog(): void {
    const backlog = this.backlog;
    if (backlog === undefined) return;
    if (this.channel.state !== 'open') {
      this.stopBacklog();
      return;
    }
    const start = this.backlogHead;
    while (this.backlogHead < backlog.length && this.channel.stats.bufferedBytes < this.limits.highWaterBytes) {
      const item = backlog[this.backlogHead++]!;
      const line = typeof item.out === 'string' ? item.out : this.messages.encode(item.out);
      if (item.cached === undefined) this.behindChars -= line.length;
      if (this.channel.send(line)) {
        if (item.cached !== undefined) this.backlogOwner?.queued(item.cached);
      } else if (this.channel.state === 'open') this.countDrop();
    }
    if (this.backlogHead === backlog.length) {
      this.endBacklog();
      return;
    }
    // Progress restarts the slow-consumer clock; a reader that takes nothing for that long is closed.
    if (this.backlogHead > start) this.disarmSlowTimer();
    this.armSlowTimer();
    this.backlogPoll ??= setTimeout(() => {
      this.backlogPoll = undefined;
      this.pumpBacklog();
    }, BACKLOG_POLL_MS).unref();
  }

  private armSlowTimer(): void {
    if (this.slowTimer !== undefined) return;
    this.slowTimer = setTimeout(() => {
      this.slowTimer = undefined;
      this.log.warn(
        {
          connection: this.id,
          service: this.registration?.id,
          queued: this.channel.stats.bufferedBytes,
          heldBack: this.heldBack?.size ?? 0,
          backlog: this.backlog === undefined ? 0 : this.backlog.length - this.backlogHead,
        },
        'closing a slow consumer: its queue stayed full while senders or cached messages waited',
      );
      this.channel.close(new ConnectionError('CONNECTION_CLOSED', 'slow consumer: the outbound queue stayed full'));
    }, this.limits.slowConsumerTimeoutMs);
    this.slowTimer.unref();
  }

  private disarmSlowTimer(): void {
    clearTimeout(this.slowTimer);
    this.slowTimer = undefined;
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

  /** Queues one line already in this connection's format (behind the backlog while there is one). */
  writeLine(line: string): boolean {
    if (this.backlog !== undefined) return this.waitBehind(line);
    const ok = this.channel.send(line);
    if (ok) {
      if (this.dropSince !== 0) {
        this.dropSince = 0;
        this.reportDrops();
      }
      return true;
    }
    if (this.channel.state !== 'open') return false;
    this.countDrop();
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

  /** A message behind the backlog; over the bound (senders that cannot be held back) it is dropped and counted. */
  private waitBehind(line: string): boolean {
    if (this.channel.state !== 'open') return false;
    if (this.behindChars + line.length > this.limits.maxQueuedBytes) {
      this.countDrop();
      return false;
    }
    this.behindChars += line.length;
    this.backlog!.push({ out: line });
    return true;
  }

  /** Stops reading through the hub (the channel is handed to the mesh). */
  detach(): void {
    this.messages.detach();
  }

  close(reason?: Error): void {
    this.channel.close(reason);
  }
}
