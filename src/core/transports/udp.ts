/**
 * UDP transport (`cdu://host:port`): one message per datagram, no newline, at most 1024 bytes
 * (the communicator's limit). A listener serves one bound socket and hands out one Channel per
 * remote address (so replies go back to the sender); peers silent for `udpIdleTimeoutMs` are
 * forgotten. Oversized datagrams, in or out, are dropped with a DATAGRAM_TOO_LARGE error event
 * and counted; nothing closes because of them. UDP has no back-pressure from the peer: the bound
 * applies to the socket's own send queue.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Channel } from '../channel.js';
import { formatAddress, type ChannelAddress } from '../address.js';
import { ConnectionError, DatagramTooLargeError, InvalidArgumentError } from '../errors.js';
import { LogThrottle } from '../log-throttle.js';
import { BaseChannel, channelLogger } from './base-channel.js';
import {
  MAX_DATAGRAM_BYTES,
  resolveChannelOptions,
  type ChannelOptions,
  type ConnectOptions,
  type Listener,
  type ListenerStats,
  type ListenOptions,
  type OnChannel,
} from './options.js';

const DEFAULT_UDP_IDLE_TIMEOUT_MS = 5 * 60_000;
const DEFAULT_MAX_UDP_PEERS = 10_000;

function datagramText(msg: Buffer): string {
  let end = msg.length;
  if (end > 0 && msg[end - 1] === 10) end--;
  if (end > 0 && msg[end - 1] === 13) end--;
  return msg.toString('utf8', 0, end);
}

function family(host: string): 'udp4' | 'udp6' {
  return isIP(host) === 6 ? 'udp6' : 'udp4';
}

export class UdpChannel extends BaseChannel {
  private readonly maxQueuedBytes: number;
  /** Last datagram in or out, for the listener's idle sweep. */
  lastActivity = Date.now();

  constructor(
    private readonly socket: Socket,
    remoteAddress: string,
    private readonly target: { port: number; host: string } | undefined,
    options: ChannelOptions | undefined,
    private readonly onClose: (ch: UdpChannel) => void,
  ) {
    super('udp', remoteAddress);
    this.maxQueuedBytes = resolveChannelOptions(options).maxQueuedBytes;
  }

  send(frame: string): boolean {
    if (this.currentState !== 'open') return false;
    const data = Buffer.from(frame);
    if (data.length > MAX_DATAGRAM_BYTES) {
      this.stats.dropped++;
      this.emitError(
        new DatagramTooLargeError(
          `a UDP message is limited to ${MAX_DATAGRAM_BYTES} bytes; this one has ${data.length}: send it over a stream (cd://) instead`,
          { data: { size: data.length } },
        ),
      );
      return false;
    }
    if (this.socket.getSendQueueSize() + data.length > this.maxQueuedBytes) {
      this.stats.dropped++;
      return false;
    }
    this.stats.framesOut++;
    this.stats.bytesOut += data.length;
    this.lastActivity = Date.now();
    if (this.target) this.socket.send(data, this.target.port, this.target.host, this.onSent);
    else this.socket.send(data, this.onSent);
    return true;
  }

  close(reason?: Error): void {
    if (this.currentState === 'closed') return;
    this.onClose(this);
    this.finish(reason);
  }

  /** A datagram from the peer (called by the socket owner). */
  receive(msg: Buffer): void {
    if (this.currentState !== 'open') return;
    this.lastActivity = this.stats.lastInAt = Date.now();
    this.stats.bytesIn += msg.length;
    if (msg.length > MAX_DATAGRAM_BYTES) {
      this.stats.dropped++;
      this.emitError(
        new DatagramTooLargeError(
          `a UDP datagram of ${msg.length} bytes from ${this.remoteAddress} was dropped: the limit is ${MAX_DATAGRAM_BYTES} bytes`,
          { data: { size: msg.length } },
        ),
      );
      return;
    }
    this.emitFrame(datagramText(msg));
  }

  protected bufferedBytes(): number {
    return this.currentState === 'closed' ? 0 : this.socket.getSendQueueSize();
  }

  private readonly onSent = (err: Error | null): void => {
    if (err) channelLogger().debug({ channel: this.id, err: err.message }, 'UDP send failed');
  };
}

export async function connectUdp(addr: ChannelAddress, options?: ConnectOptions): Promise<Channel> {
  const socket = createSocket(family(addr.host));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new ConnectionError('CONNECTION_FAILED', `cannot reach ${addr.url}: ${err.code ?? err.message}`, {
          cause: err,
        }),
      ),
    );
    socket.connect(addr.port, addr.host, () => resolve());
  });
  const remote = socket.remoteAddress();
  const channel = new UdpChannel(socket, `${remote.address}:${remote.port}`, undefined, options, () => socket.close());
  // An ICMP "port unreachable" comes back as an error on a later send: logged, not fatal.
  socket.on('error', (err) => channelLogger().debug({ channel: channel.id, err: err.message }, 'UDP socket error'));
  socket.on('message', (msg) => channel.receive(msg));
  return channel;
}

export async function listenUdp(addr: ChannelAddress, options: ListenOptions, onChannel: OnChannel): Promise<Listener> {
  if (addr.transport !== 'udp') throw new InvalidArgumentError(`${addr.url} is not a UDP address`);
  const idleMs = options.udpIdleTimeoutMs ?? DEFAULT_UDP_IDLE_TIMEOUT_MS;
  const maxPeers = options.maxUdpPeers ?? DEFAULT_MAX_UDP_PEERS;
  const socket = createSocket({ type: family(addr.host), reuseAddr: false });
  const peers = new Map<string, UdpChannel>();
  const stats: ListenerStats = { accepted: 0, rejected: 0 };
  const log = channelLogger();
  // Datagrams cost nothing to send: one line per 10 s, with the count, whatever the flood.
  const faultLog = new LogThrottle(log, 10_000);

  socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    const key = rinfo.family === 'IPv6' ? `[${rinfo.address}]:${rinfo.port}` : `${rinfo.address}:${rinfo.port}`;
    let channel = peers.get(key);
    if (!channel) {
      if (peers.size >= maxPeers) {
        stats.rejected++;
        faultLog.warn(
          'udp-peers',
          { transport: 'udp', remote: key, peers: peers.size },
          'too many UDP peers; datagram dropped',
        );
        return;
      }
      channel = new UdpChannel(socket, key, { port: rinfo.port, host: rinfo.address }, options, (ch) =>
        peers.delete(ch.remoteAddress),
      );
      peers.set(key, channel);
      stats.accepted++;
      onChannel(channel);
    }
    if (msg.length > MAX_DATAGRAM_BYTES) stats.rejected++;
    channel.receive(msg);
  });
  socket.on('error', (err) => log.error({ transport: 'udp', err: err.message }, 'UDP listener error'));

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void =>
      reject(
        new ConnectionError('CONNECTION_FAILED', `cannot listen on ${addr.url}: ${err.code ?? err.message}`, {
          cause: err,
        }),
      );
    socket.once('error', onError);
    socket.bind(addr.port, addr.host, () => {
      socket.off('error', onError);
      resolve();
    });
  });

  const sweep = setInterval(
    () => {
      const cutoff = Date.now() - idleMs;
      for (const ch of [...peers.values()]) if (ch.lastActivity < cutoff) ch.close();
    },
    Math.max(1000, Math.min(idleMs, 60_000)),
  );
  sweep.unref();

  let closing: Promise<void> | undefined;
  return {
    address: formatAddress({ ...addr, port: socket.address().port }),
    transport: 'udp',
    stats,
    close() {
      closing ??= (async () => {
        clearInterval(sweep);
        for (const ch of [...peers.values()]) ch.close();
        await new Promise<void>((resolve) => socket.close(() => resolve()));
      })();
      return closing;
    },
  };
}
