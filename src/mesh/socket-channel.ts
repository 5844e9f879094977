/**
 * A line Channel over a connected TCP/TLS socket for hub links.
 * TODO(core): replace with core's stream channel once src/core/transports lands.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Channel, ChannelEvents, ChannelState, ChannelStats } from '../core/channel.js';
import { SwitchboardError } from '../core/errors.js';

const MAX_LINE = 1 << 20;
const MAX_QUEUED = 8 << 20;
let nextId = 0;

class SocketChannel extends EventEmitter implements Channel {
  readonly id = `link-${++nextId}`;
  readonly remoteAddress: string;
  state: ChannelState = 'open';
  readonly stats: ChannelStats = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, dropped: 0, bufferedBytes: 0 };
  private pending = '';

  constructor(private readonly socket: Socket, readonly transport: string) {
    super();
    this.remoteAddress = `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0}`;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => this.closed());
  }

  private onData(chunk: string): void {
    this.stats.bytesIn += chunk.length;
    let start = 0;
    let text = this.pending + chunk;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', start)) {
      const line = text.slice(start, i);
      start = i + 1;
      if (line.length === 0) continue;
      this.stats.framesIn++;
      this.emit('frame', line.endsWith('\r') ? line.slice(0, -1) : line);
      if (this.state !== 'open') return;
    }
    text = text.slice(start);
    if (text.length > MAX_LINE) {
      this.emit('error', new SwitchboardError('LINE_TOO_LONG', `a line over ${MAX_LINE} bytes arrived on a hub link`));
      this.close();
      return;
    }
    this.pending = text;
  }

  send(frame: string): boolean {
    if (this.state !== 'open') return false;
    if (this.socket.writableLength > MAX_QUEUED) {
      this.stats.dropped++;
      return false;
    }
    this.socket.write(`${frame}\n`);
    this.stats.framesOut++;
    this.stats.bytesOut += frame.length + 1;
    this.stats.bufferedBytes = this.socket.writableLength;
    return true;
  }

  close(): void {
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.socket.end();
    this.socket.destroySoon();
  }

  private closed(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.emit('close');
  }

  override on<E extends keyof ChannelEvents>(event: E, listener: ChannelEvents[E]): this {
    return super.on(event, listener);
  }

  override off<E extends keyof ChannelEvents>(event: E, listener: ChannelEvents[E]): this {
    return super.off(event, listener);
  }
}

export function socketChannel(socket: Socket, transport: string): Channel {
  return new SocketChannel(socket, transport);
}
