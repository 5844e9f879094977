/** TLS transport (`cds://[user:pass@]host:port`): line channels over TLS sockets. */
import { readFileSync } from 'node:fs';
import { isIP, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect, createServer, type TLSSocket } from 'node:tls';
import type { Channel } from '../channel.js';
import { formatAddress, type ChannelAddress } from '../address.js';
import { InvalidArgumentError, errorMessage } from '../errors.js';
import { awaitConnected } from './connect-socket.js';
import { describeSocket, KEEPALIVE_MS, serveSockets, socketListener, startListening } from './socket-server.js';
import { StreamChannel } from './stream-channel.js';
import { channelLogger } from './base-channel.js';
import type { ConnectOptions, Listener, ListenOptions, OnChannel } from './options.js';

/** PEM text as given, or the content of the file it names. */
export function readPem(value: string, what: string): string {
  if (value.includes('-----BEGIN')) return value;
  try {
    return readFileSync(value, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`cannot read the ${what} file ${JSON.stringify(value)}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
}

function readCa(ca: string | string[] | undefined): string[] | undefined {
  if (ca === undefined) return undefined;
  return (Array.isArray(ca) ? ca : [ca]).map((c) => readPem(c, 'CA certificate'));
}

/**
 * The CAs a client trusts: the ones it was given, else the PEM file named by `SWITCHBOARD_CA`
 * (a private CA for every client on the machine: send, sniff, the client library, the CLI verbs),
 * else the system's.
 */
export function clientCa(given: string | string[] | undefined, env = process.env): string[] | undefined {
  if (given !== undefined) return readCa(given);
  const file = env.SWITCHBOARD_CA?.trim();
  if (!file) return undefined;
  try {
    return readCa(file);
  } catch (err) {
    throw new InvalidArgumentError(`SWITCHBOARD_CA: ${errorMessage(err)}`, { cause: err });
  }
}

export async function connectTls(addr: ChannelAddress, options?: ConnectOptions): Promise<Channel> {
  const ca = clientCa(options?.ca);
  const socket = tlsConnect({
    host: addr.host,
    port: addr.port,
    ...(isIP(addr.host) === 0 ? { servername: addr.host } : {}),
    ...(ca ? { ca } : {}),
    rejectUnauthorized: options?.rejectUnauthorized ?? true,
    ...(options?.certificate ? { cert: readPem(options.certificate, 'certificate') } : {}),
    ...(options?.privateKey ? { key: readPem(options.privateKey, 'private key') } : {}),
  });
  socket.setNoDelay(true);
  socket.setKeepAlive(true, KEEPALIVE_MS);
  await awaitConnected(socket, addr.url, 'secureConnect', options);
  return new StreamChannel(socket, socket, { transport: 'tls', remoteAddress: describeSocket(socket) }, options);
}

/** `CN=web,O=acme` for a client certificate the handshake verified; undefined for none or an unverified one. */
function verifiedSubject(socket: Socket): string | undefined {
  const tls = socket as TLSSocket;
  if (!tls.authorized) return undefined;
  const subject = tls.getPeerCertificate().subject as Record<string, string | string[]> | undefined;
  if (!subject) return undefined;
  return Object.entries(subject)
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}=${x}`))
    .join(',');
}

export async function listenTls(addr: ChannelAddress, options: ListenOptions, onChannel: OnChannel): Promise<Listener> {
  if (!options.certificate || !options.privateKey) {
    throw new InvalidArgumentError(
      `listening on ${addr.url} needs a certificate and a private key (--certificate, --private-key)`,
    );
  }
  const ca = readCa(options.ca);
  if (options.requireClientCertificate && !ca) {
    throw new InvalidArgumentError(
      `listening on ${addr.url} with client certificates required needs the CA that signs them (--client-ca FILE)`,
    );
  }
  const server = createServer({
    cert: readPem(options.certificate, 'certificate'),
    key: readPem(options.privateKey, 'private key'),
    ...(ca ? { ca } : {}),
    ...(options.requireClientCertificate ? { requestCert: true, rejectUnauthorized: true } : {}),
  });
  const { channels, stats, accept } = serveSockets(server, 'tls', options, onChannel, verifiedSubject);
  server.on('secureConnection', accept);
  server.on('tlsClientError', (err, socket) => {
    stats.rejected++;
    channelLogger().warn(
      { transport: 'tls', remote: describeSocket(socket), err: err.message },
      'TLS handshake failed',
    );
  });
  await startListening(server, addr.url, {
    host: addr.host,
    port: addr.port,
    ...(options.backlog !== undefined ? { backlog: options.backlog } : {}),
  });
  const port = (server.address() as AddressInfo).port;
  return socketListener(server, formatAddress({ ...addr, port }), 'tls', channels, stats);
}
