/**
 * One live hub-to-hub link after its handshake: messages in and out over a core Channel (JSON
 * lines, lossless), a keep-alive that closes a link whose peer stopped answering, and the facts
 * the mesh needs about the peer.
 */
import { EventEmitter } from 'node:events';
import type { Channel } from '../core/channel.js';
import type { Message } from '../core/message.js';
import { errorMessage, InvalidMessageError } from '../core/errors.js';
import type { MessageConnection, Received } from '../core/message-connection.js';
import type { Early } from './handshake.js';
import type { Clock, TimerHandle } from './clock.js';
import { controlMessage } from './link-protocol.js';

export interface RemoteLinkInfo {
  /** The peer's server name. */
  server: string;
  /** The peer's declared remote address (`ip:port`). */
  address: string;
  /** True when we dialed (we have the larger address). */
  outgoing: boolean;
  secure: boolean;
  /** The peer's boot epoch from its CONNECT/ACCEPT (0 when it did not say). */
  epoch: number;
}

export interface RemoteLinkEvents {
  /** The message and the line it came in (forwarded as is when the message is not changed). */
  message: [Message, string];
  invalid: [string];
  close: [{ disconnected: boolean; reason: string }];
}

export class RemoteLink extends EventEmitter<RemoteLinkEvents> {
  private lastHeard: number;
  private keepAlive: TimerHandle | undefined;
  private closed = false;
  /** Set when the peer said DISCONNECT (it is stopping): the close is then not a HANGUP. */
  peerDisconnected = false;
  readonly since: number;

  constructor(
    readonly info: RemoteLinkInfo,
    /** The link's message layer (JSON lines both ways). */
    private readonly messages: MessageConnection,
    private readonly clock: Clock,
    private readonly keepAliveMs: number,
  ) {
    super();
    this.lastHeard = clock.now();
    this.since = clock.now();
    messages.listen({
      message: (received) => this.onMessage(received),
      invalid: (_raw, err) => this.onInvalid(err),
      close: (reason) => this.finish(reason ? errorMessage(reason) : 'closed by peer'),
      error: (err) => this.emit('invalid', errorMessage(err)),
    });
    if (keepAliveMs > 0) this.armKeepAlive();
  }

  get remoteAddress(): string {
    return this.messages.channel.remoteAddress;
  }

  get stats(): Channel['stats'] {
    return this.messages.channel.stats;
  }

  /** False when the frame was dropped (peer not reading, or link closed). */
  send(msg: Message): boolean {
    if (this.closed) return false;
    return this.messages.send(msg);
  }

  /** Sends a line received from another link unchanged (no re-encoding on the transit path). */
  sendRaw(frame: string): boolean {
    if (this.closed) return false;
    return this.messages.sendLine(frame);
  }

  close(reason = 'closed'): void {
    if (this.closed) return;
    this.messages.close();
    this.finish(reason);
  }

  /** What arrived during the handshake, after the first message. */
  replay(early: readonly Early[]): void {
    for (const e of early) {
      if (this.closed) return;
      if (e instanceof InvalidMessageError) this.onInvalid(e);
      else this.onMessage(e);
    }
  }

  private onInvalid(err: InvalidMessageError): void {
    this.lastHeard = this.clock.now();
    this.emit('invalid', err.message);
  }

  private onMessage({ message: msg, raw }: Received): void {
    this.lastHeard = this.clock.now();
    if (msg.to.service === '' && msg.command === 'ALIVE') {
      this.send(controlMessage('ABSOLUTELY', msg.params));
      return;
    }
    if (msg.to.service === '' && msg.command === 'ABSOLUTELY') return;
    this.emit('message', msg, raw);
  }

  private armKeepAlive(): void {
    this.keepAlive = this.clock.setTimer(this.keepAliveMs, () => {
      if (this.closed) return;
      const idle = this.clock.now() - this.lastHeard;
      if (idle >= this.keepAliveMs * 3) {
        this.close(`no answer for ${idle} ms`);
        return;
      }
      if (idle >= this.keepAliveMs) this.send(controlMessage('ALIVE', { timestamp: String(this.clock.now()) }));
      this.armKeepAlive();
    });
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.keepAlive?.cancel();
    this.emit('close', { disconnected: this.peerDisconnected, reason });
  }
}
