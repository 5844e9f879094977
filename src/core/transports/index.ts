/**
 * Channels by URL: `connect(url)` dials and `listen(url, options, onChannel)` serves, choosing
 * the transport from the scheme (cd: TCP or Unix socket, cds: TLS, cdu: UDP, ws:/wss: WebSocket).
 */
import type { Channel } from '../channel.js';
import { parseAddress, type ChannelAddress } from '../address.js';
import { connectTcp, listenTcp } from './tcp.js';
import { connectTls, listenTls } from './tls.js';
import { connectUdp, listenUdp } from './udp.js';
import { connectWs, listenWs } from './ws.js';
import type { ConnectOptions, Listener, ListenOptions, OnChannel } from './options.js';

export type {
  ChannelOptions,
  ConnectOptions,
  Listener,
  ListenerStats,
  ListenOptions,
  OnChannel,
  TlsOptions,
  WsHandshake,
} from './options.js';
export {
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_LINE_LENGTH,
  DEFAULT_MAX_QUEUED_BYTES,
  MAX_DATAGRAM_BYTES,
} from './options.js';
export { streamChannel, StreamChannel, type StreamChannelInfo } from './stream-channel.js';
export { memoryChannelPair, MemoryChannel } from './memory.js';
/** For message transports outside core (worker ports, IPC): extend it, implement send/close/bufferedBytes. */
export { BaseChannel } from './base-channel.js';

export async function connect(url: string | ChannelAddress, options?: ConnectOptions): Promise<Channel> {
  const addr = typeof url === 'string' ? parseAddress(url) : url;
  switch (addr.transport) {
    case 'tcp':
    case 'unix':
      return connectTcp(addr, options);
    case 'tls':
      return connectTls(addr, options);
    case 'udp':
      return connectUdp(addr, options);
    case 'ws':
      return connectWs(addr, options);
  }
}

export async function listen(
  url: string | ChannelAddress,
  options: ListenOptions,
  onChannel: OnChannel,
): Promise<Listener> {
  const addr = typeof url === 'string' ? parseAddress(url) : url;
  switch (addr.transport) {
    case 'tcp':
    case 'unix':
      return listenTcp(addr, options, onChannel);
    case 'tls':
      return listenTls(addr, options, onChannel);
    case 'udp':
      return listenUdp(addr, options, onChannel);
    case 'ws':
      return listenWs(addr, options, onChannel);
  }
}
