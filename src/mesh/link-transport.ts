/**
 * Sockets for hub links: TCP or TLS, dialed from this hub's own address (so the peer sees the
 * real source, which the link rule and the block list rely on), with the peer certificate checked
 * against a CA when one is given (mutual TLS). Each socket becomes a core line Channel.
 */
import { createServer as createTcpServer, connect as tcpConnect, type Socket, type Server } from 'node:net';
import { createServer as createTlsServer, connect as tlsConnect, type TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { Channel } from '../core/channel.js';
import { ConnectionError, InvalidArgumentError, errorMessage } from '../core/errors.js';
import { formatHubAddress, parseHubAddress } from './address-order.js';
import { streamChannel } from '../core/transports/index.js';

function socketChannel(socket: Socket, transport: string): Channel {
  return streamChannel(socket, socket, {
    transport,
    remoteAddress: `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0}`,
  });
}

export interface TlsFiles {
  certificate?: string;
  privateKey?: string;
  /** When set: peers must present a certificate signed by it, and we verify theirs. */
  ca?: string;
}

export interface LinkListener {
  readonly address: string;
  close(): Promise<void>;
}

interface TlsMaterial {
  cert?: Buffer;
  key?: Buffer;
  ca?: Buffer;
}

function readTls(files: TlsFiles | undefined): TlsMaterial {
  const read = (path: string | undefined, what: string): Buffer | undefined => {
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new InvalidArgumentError(`cannot read the ${what} ${path}: ${errorMessage(err)}`);
    }
  };
  const out: TlsMaterial = {};
  const cert = read(files?.certificate, 'certificate');
  const key = read(files?.privateKey, 'private key');
  const ca = read(files?.ca, 'CA file');
  if (cert) out.cert = cert;
  if (key) out.key = key;
  if (ca) out.ca = ca;
  return out;
}

/** Opens a link socket to `url` (cd:// or cds://) from `localHost`; resolves once connected (TLS: after the handshake). */
export function dialLink(
  url: string,
  options: { localHost?: string; tls?: TlsFiles | undefined; timeoutMs: number },
): Promise<Channel> {
  const secure = url.startsWith('cds://');
  const { host, port } = parseHubAddress(url, secure ? 4043 : 4042);
  return new Promise((resolve, reject) => {
    let socket: Socket | TLSSocket;
    const fail = (err: Error): void => {
      socket.destroy();
      reject(
        new ConnectionError(
          'CONNECTION_FAILED',
          `cannot reach hub ${formatHubAddress({ host, port })}: ${err.message}`,
          { cause: err },
        ),
      );
    };
    const ready = (): void => {
      socket.setTimeout(0);
      socket.off('error', fail);
      resolve(socketChannel(socket, secure ? 'tls' : 'tcp'));
    };
    const base = { host, port, ...(options.localHost ? { localAddress: options.localHost } : {}) };
    if (secure) {
      const m = readTls(options.tls);
      socket = tlsConnect(
        { ...base, ...m, rejectUnauthorized: m.ca !== undefined, checkServerIdentity: () => undefined },
        ready,
      );
    } else {
      socket = tcpConnect(base, ready);
    }
    socket.setNoDelay(true);
    socket.setTimeout(options.timeoutMs, () =>
      fail(new ConnectionError('CONNECTION_FAILED', `no connection within ${options.timeoutMs} ms`)),
    );
    socket.once('error', fail);
  });
}

/**
 * Listens on `url`; `onLink(channel, sourceIp)` for each connection. `isBlocked(ip)` is asked
 * before anything is read (a blocked address gets no TLS handshake, no reply).
 */
export function listenLinks(
  url: string,
  tls: TlsFiles | undefined,
  isBlocked: (ip: string) => boolean,
  onLink: (channel: Channel, sourceIp: string) => void,
): Promise<LinkListener> {
  const secure = url.startsWith('cds://');
  const { host, port } = parseHubAddress(url, secure ? 4043 : 4042, true);
  let server: Server;
  const sourceOf = (s: Socket): string => (s.remoteAddress ?? '').replace(/^::ffff:/, '');
  if (secure) {
    const m = readTls(tls);
    if (!m.cert || !m.key) throw new InvalidArgumentError('a cds: listener needs --certificate and --private-key');
    const srv = createTlsServer({ ...m, requestCert: m.ca !== undefined, rejectUnauthorized: m.ca !== undefined });
    srv.on('secureConnection', (s: TLSSocket) => onLink(socketChannel(s, 'tls'), sourceOf(s)));
    srv.on('tlsClientError', () => undefined);
    server = srv;
  } else {
    server = createTcpServer((s) => onLink(socketChannel(s, 'tcp'), sourceOf(s)));
  }
  // Runs before any TLS handshake: a blocked address is cut at once.
  server.prependListener('connection', (s: Socket) => {
    if (isBlocked(sourceOf(s))) s.destroy();
    else s.setNoDelay(true);
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) =>
      reject(new ConnectionError('CONNECTION_FAILED', `cannot listen on ${url}: ${err.message}`, { cause: err })),
    );
    server.listen(port, host, () => {
      const a = server.address();
      const actual = typeof a === 'object' && a ? a.port : port;
      resolve({
        address: `${secure ? 'cds' : 'cd'}://${formatHubAddress({ host, port: actual })}`,
        close: async () => {
          server.close();
        },
      });
    });
  });
}
