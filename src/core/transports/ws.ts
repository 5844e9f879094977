/**
 * WebSocket transport (`ws://host:port/path`, `wss://`), on the `ws` package: one frame per
 * WebSocket text message (no line framing: the protocol already delimits messages). A message
 * over `maxLineLength` is refused by `ws` from its header (close code 1009) and reported as
 * LINE_TOO_LONG, like an oversized line on a stream.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Channel } from '../channel.js';
import { formatAddress, type ChannelAddress } from '../address.js';
import { ConnectionError, InvalidArgumentError, LineTooLongError } from '../errors.js';
import { channelLogger } from './base-channel.js';
import { BatchingChannel } from './batching-channel.js';
import { startListening } from './socket-server.js';
import { clientCa, readPem } from './tls.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  resolveChannelOptions,
  type ChannelOptions,
  type ConnectOptions,
  type Listener,
  type ListenerStats,
  type ListenOptions,
  type OnChannel,
} from './options.js';

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function rawLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data.byteLength;
}

export class WsChannel extends BatchingChannel {
  private closeReason: Error | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private inputPaused = false;
  /**
   * Messages `ws` still emits after `pause()` (it parses what it had already read) and those a
   * resume has not delivered yet: they come first when input resumes. At most what one read held.
   */
  private held: string[] = [];
  /** The peer closed while messages were held by a pause: the close waits for them. */
  private closePending = false;

  constructor(
    private readonly ws: WebSocket,
    /** The connection's socket, from the public upgrade events (the request's, the response's), for corking. */
    private readonly socket: Socket | undefined,
    remoteAddress: string,
    options?: ChannelOptions,
  ) {
    super('ws', remoteAddress, options, 0);
    ws.on('message', (data) => {
      if (this.currentState !== 'open') return;
      this.stats.bytesIn += rawLength(data);
      this.stats.lastInAt = Date.now();
      if (this.inputPaused || this.held.length > 0) this.held.push(rawToString(data));
      else this.emitFrame(rawToString(data));
    });
    // What `ws` buffered has gone to the socket: a queue counted full may be empty now.
    socket?.on('drain', () => {
      if (this.currentState === 'open' && this.bufferedBytes() === 0) this.emitDrain();
    });
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        const tooLong = new LineTooLongError(
          `a WebSocket message of more than ${this.options.maxLineLength} bytes was received: messages must be shorter; the connection is closed`,
          { cause: err, data: { maxLineLength: this.options.maxLineLength } },
        );
        this.emitError(tooLong);
        this.closeReason ??= tooLong;
        return;
      }
      this.closeReason ??= new ConnectionError(
        'CONNECTION_CLOSED',
        `WebSocket connection to ${remoteAddress} failed: ${err.message}`,
        { cause: err },
      );
    });
    ws.on('close', () => {
      if (this.closeTimer) clearTimeout(this.closeTimer);
      this.discardPending();
      if (this.currentState === 'open' && this.held.length > 0) this.closePending = true;
      else this.finish(this.closeReason);
    });
  }

  /** Stops taking messages until `resumeInput` (the peer's bytes wait in the OS, as on a socket). */
  pauseInput(): void {
    this.inputPaused = true;
    this.ws.pause();
  }

  /** Takes messages again; those held by the pause come first, on a microtask (as a stream channel's). */
  resumeInput(): void {
    if (this.currentState !== 'open' || !this.inputPaused) return;
    this.inputPaused = false;
    queueMicrotask(this.resumeNow);
  }

  private readonly resumeNow = (): void => {
    // A listener may pause again while the held messages are delivered.
    while (!this.inputPaused && this.currentState === 'open' && this.held.length > 0)
      this.emitFrame(this.held.shift()!);
    if (this.inputPaused || this.currentState !== 'open') return;
    if (this.closePending) {
      this.closePending = false;
      this.finish(this.closeReason);
    } else this.ws.resume();
  };

  close(reason?: Error): void {
    if (this.currentState !== 'open') return;
    if (this.closePending) {
      // The peer is gone already (its close waited for held messages): nothing more will come.
      this.closePending = false;
      this.held = [];
      this.finish(reason ?? this.closeReason);
      return;
    }
    this.currentState = 'closing';
    this.closeReason = reason;
    this.flush();
    this.ws.close(reason instanceof LineTooLongError ? 1009 : 1000);
    this.closeTimer = setTimeout(() => this.ws.terminate(), this.options.closeTimeoutMs);
    this.closeTimer.unref();
  }

  protected canWrite(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  protected transportBuffered(): number {
    return this.ws.bufferedAmount;
  }

  protected writeBatch(frames: string[]): number {
    // One writev for the burst: `ws` corks per frame; an outer cork holds them all.
    const socket = this.socket;
    socket?.cork();
    let bytes = 0;
    for (const frame of frames) {
      const data = Buffer.from(frame);
      bytes += data.length;
      this.ws.send(data, { binary: false });
    }
    socket?.uncork();
    return bytes;
  }
}

export async function connectWs(addr: ChannelAddress, options?: ConnectOptions): Promise<Channel> {
  const o = resolveChannelOptions(options);
  const ca = addr.scheme === 'wss' ? clientCa(options?.ca) : undefined;
  const ws = new WebSocket(addr.url, {
    maxPayload: o.maxLineLength,
    handshakeTimeout: options?.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    ...(ca ? { ca } : {}),
    ...(options?.rejectUnauthorized !== undefined ? { rejectUnauthorized: options.rejectUnauthorized } : {}),
  });
  // The upgrade response's socket is the one the WebSocket then runs on.
  let socket: Socket | undefined;
  ws.once('upgrade', (res: IncomingMessage) => {
    socket = res.socket;
  });
  // The channel is built inside 'open': a message can follow in the same tick, before any await resumes.
  return new Promise<Channel>((resolve, reject) => {
    const onAbort = (): void => {
      ws.terminate();
      reject(new ConnectionError('CONNECTION_FAILED', `connecting to ${addr.url} was cancelled`));
    };
    options?.signal?.addEventListener('abort', onAbort, { once: true });
    ws.once('open', () => {
      options?.signal?.removeEventListener('abort', onAbort);
      resolve(new WsChannel(ws, socket, `${addr.host}:${addr.port}`, options));
    });
    ws.once('error', (err: Error & { code?: string }) => {
      options?.signal?.removeEventListener('abort', onAbort);
      reject(
        new ConnectionError('CONNECTION_FAILED', `cannot connect to ${addr.url}: ${err.code ?? err.message}`, {
          cause: err,
        }),
      );
    });
  });
}

function describeRequest(req: IncomingMessage): string {
  const s = req.socket;
  return s.remoteFamily === 'IPv6' ? `[${s.remoteAddress}]:${s.remotePort}` : `${s.remoteAddress}:${s.remotePort}`;
}

export async function listenWs(addr: ChannelAddress, options: ListenOptions, onChannel: OnChannel): Promise<Listener> {
  const o = resolveChannelOptions(options);
  const path = options.wsPath ?? addr.path.split('?')[0] ?? '/';
  const channels = new Set<Channel>();
  const stats: ListenerStats = { accepted: 0, rejected: 0 };
  let http;
  if (addr.scheme === 'wss') {
    if (!options.certificate || !options.privateKey)
      throw new InvalidArgumentError(`listening on ${addr.url} needs a certificate and a private key`);
    http = createHttpsServer({
      cert: readPem(options.certificate, 'certificate'),
      key: readPem(options.privateKey, 'private key'),
    });
  } else {
    http = createServer();
  }
  const check = options.checkHandshake;
  const wss = new WebSocketServer({
    server: http,
    path,
    maxPayload: o.maxLineLength,
    ...(check
      ? {
          verifyClient: (
            info: { origin: string | undefined; req: IncomingMessage },
            done: (ok: boolean, code?: number, message?: string) => void,
          ) => {
            const problem = check({
              origin: info.req.headers.origin,
              host: info.req.headers.host,
              remoteAddress: describeRequest(info.req),
            });
            if (problem === undefined) done(true);
            else {
              stats.rejected++;
              // The reason phrase is a header value: one line of ASCII.
              done(false, 403, problem.replace(/[^\x20-\x7e]/g, '?').slice(0, 300));
            }
          },
        }
      : {}),
  });
  wss.on('connection', (ws, req) => {
    // ws runs the connection on the socket of the upgrade request (Node hands the same one to 'upgrade').
    const channel = new WsChannel(ws, req.socket, describeRequest(req), options);
    channels.add(channel);
    channel.on('close', () => channels.delete(channel));
    stats.accepted++;
    onChannel(channel);
  });
  wss.on('wsClientError', (err, socket) => {
    stats.rejected++;
    channelLogger().warn({ transport: 'ws', err: err.message }, 'WebSocket handshake refused');
    socket.destroy();
  });
  wss.on('error', (err) => channelLogger().error({ transport: 'ws', err: err.message }, 'listener error'));
  await startListening(http, addr.url, { host: addr.host, port: addr.port });
  const port = (http.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    address: formatAddress({ ...addr, port, path }),
    transport: 'ws',
    stats,
    close() {
      closing ??= (async () => {
        for (const ch of [...channels]) ch.close();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        http.closeAllConnections();
        await new Promise<void>((resolve) => http.close(() => resolve()));
      })();
      return closing;
    },
  };
}
