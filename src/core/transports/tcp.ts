/** TCP (`cd://host:port`) and Unix socket (`cd:///path.sock`) transports: line channels over net sockets. */
import { connect as netConnect, createServer, type AddressInfo } from 'node:net';
import { chmod, chown, lstat, unlink } from 'node:fs/promises';
import type { Channel } from '../channel.js';
import { formatAddress, type ChannelAddress } from '../address.js';
import { ConnectionError } from '../errors.js';
import { awaitConnected } from './connect-socket.js';
import { describeSocket, KEEPALIVE_MS, serveSockets, socketListener, startListening } from './socket-server.js';
import { StreamChannel } from './stream-channel.js';
import type { ConnectOptions, Listener, ListenOptions, OnChannel } from './options.js';
import { portOpen } from './probe.js';

export async function connectTcp(addr: ChannelAddress, options?: ConnectOptions): Promise<Channel> {
  const socket =
    addr.transport === 'unix'
      ? netConnect({ path: addr.path })
      : netConnect({
          host: addr.host,
          port: addr.port,
          noDelay: true,
          keepAlive: true,
          keepAliveInitialDelay: KEEPALIVE_MS,
        });
  await awaitConnected(socket, addr.url, 'connect', options);
  return new StreamChannel(
    socket,
    socket,
    { transport: addr.transport, remoteAddress: addr.transport === 'unix' ? addr.path : describeSocket(socket) },
    options,
  );
}

export async function listenTcp(addr: ChannelAddress, options: ListenOptions, onChannel: OnChannel): Promise<Listener> {
  const server = createServer({ noDelay: true });
  const { channels, stats, accept } = serveSockets(server, addr.transport, options, onChannel);
  server.on('connection', accept);
  if (addr.transport === 'unix') {
    await removeStaleSocket(addr.path, addr.url);
    await startListening(server, addr.url, { path: addr.path, ...backlogOf(options) });
    // The group first: a 0o660 socket is never open to a group it was not meant for.
    if (options.socketGroup !== undefined) await chown(addr.path, -1, options.socketGroup);
    if (options.socketMode !== undefined) await chmod(addr.path, options.socketMode);
    return socketListener(server, formatAddress(addr), 'unix', channels, stats, () =>
      unlink(addr.path).catch(() => undefined),
    );
  }
  await startListening(server, addr.url, { host: addr.host, port: addr.port, ...backlogOf(options) });
  const port = (server.address() as AddressInfo).port;
  return socketListener(server, formatAddress({ ...addr, port }), 'tcp', channels, stats);
}

export function backlogOf(options: ListenOptions): { backlog?: number } {
  return options.backlog !== undefined ? { backlog: options.backlog } : {};
}

/** A socket file left by a crashed hub is removed; one that still answers is someone else's. */
async function removeStaleSocket(path: string, url: string): Promise<void> {
  const info = await lstat(path).catch(() => undefined);
  if (!info) return;
  if (!info.isSocket())
    throw new ConnectionError('CONNECTION_FAILED', `cannot listen on ${url}: ${path} exists and is not a socket`);
  if (await portOpen({ path }))
    throw new ConnectionError('CONNECTION_FAILED', `cannot listen on ${url}: another process is listening on ${path}`);
  await unlink(path);
}
