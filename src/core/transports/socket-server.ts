/**
 * The listener side of socket transports (TCP, Unix, TLS): wraps a net/tls server, turns each
 * accepted socket into a StreamChannel, tracks live channels so `close()` can end them, and maps
 * listen failures to a ConnectionError with a sentence.
 */
import type { Server, Socket } from 'node:net';
import type { Channel } from '../channel.js';
import { ConnectionError, errorMessage } from '../errors.js';
import { channelLogger } from './base-channel.js';
import { StreamChannel } from './stream-channel.js';
import type { ChannelOptions, Listener, ListenerStats, OnChannel } from './options.js';

/** TCP keep-alive probes find peers that vanished without a FIN (cable pulled, VM paused). */
export const KEEPALIVE_MS = 30_000;

export function describeSocket(socket: Socket): string {
  if (socket.remoteAddress === undefined) return 'local';
  return socket.remoteFamily === 'IPv6'
    ? `[${socket.remoteAddress}]:${socket.remotePort}`
    : `${socket.remoteAddress}:${socket.remotePort}`;
}

export function serveSockets(
  server: Server,
  transport: string,
  options: ChannelOptions,
  onChannel: OnChannel,
  /** The verified peer certificate's subject of an accepted socket (TLS). */
  peerSubject?: (socket: Socket) => string | undefined,
): { channels: Set<Channel>; stats: ListenerStats; accept: (socket: Socket) => void } {
  const channels = new Set<Channel>();
  const stats: ListenerStats = { accepted: 0, rejected: 0 };
  const accept = (socket: Socket): void => {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_MS);
    const channel = new StreamChannel(
      socket,
      socket,
      {
        transport,
        remoteAddress: transport === 'unix' ? 'unix' : describeSocket(socket),
        ...(peerSubject ? { peerSubject: peerSubject(socket) } : {}),
      },
      options,
    );
    channels.add(channel);
    channel.on('close', () => channels.delete(channel));
    stats.accepted++;
    try {
      onChannel(channel);
    } catch (err) {
      channelLogger().error({ channel: channel.id, err: errorMessage(err) }, 'onChannel threw; closing the connection');
      channel.close();
    }
  };
  server.on('error', (err) => channelLogger().error({ transport, err: err.message }, 'listener error'));
  return { channels, stats, accept };
}

export function startListening(
  server: Server,
  url: string,
  target: ({ host: string; port: number } | { path: string }) & { backlog?: number },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const hint =
        err.code === 'EADDRINUSE'
          ? ' (is another hub already listening there?)'
          : err.code === 'EACCES'
            ? ' (permission denied: ports under 1024 need privileges)'
            : '';
      reject(
        new ConnectionError('CONNECTION_FAILED', `cannot listen on ${url}: ${err.code ?? err.message}${hint}`, {
          cause: err,
        }),
      );
    };
    server.once('error', onError);
    server.listen(target, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

export function socketListener(
  server: Server,
  address: string,
  transport: string,
  channels: Set<Channel>,
  stats: ListenerStats,
  cleanup?: () => Promise<void>,
): Listener {
  let closing: Promise<void> | undefined;
  return {
    address,
    transport,
    stats,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const ch of [...channels]) ch.close();
        await closed;
        await cleanup?.();
      })();
      return closing;
    },
  };
}
