/**
 * One harness per transport for the contract suite: how to get a connected pair, a peer that
 * never reads, and a raw peer that writes arbitrary bytes. Test helper, not public API.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { createSocket } from 'node:dgram';
import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import type { Channel } from '../../channel.js';
import { parseAddress } from '../../address.js';
import { tempDir } from '../../test/support.js';
import { connect, listen, memoryChannelPair, streamChannel, type ListenOptions, type Listener } from '../index.js';
import type { MemoryChannel } from '../memory.js';
import { makeTestPki, type TestPki } from '../../test/certs.js';

export const LIMITS = { maxLineLength: 4096, maxQueuedBytes: 256 * 1024, closeTimeoutMs: 500 } as const;

/** A peer that does not go through Channel: writes bytes, can stall or vanish. */
export interface RawPeer {
  write(data: string): void;
  /** Bytes received so far. */
  received(): string;
  /** Resolves when the other side closed the connection. */
  ended: Promise<void>;
  /** Disconnect abruptly. */
  destroy(): void;
}

export interface Harness {
  name: string;
  /** Ordered and lossless under load (not UDP). */
  reliable: boolean;
  /** Byte stream with line framing: raw peers can write partial lines and oversized lines get INVALID before the close. */
  lineFramed: boolean;
  /** The server learns that the peer closed (not UDP). */
  connectionOriented: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  pair(): Promise<{ client: Channel; server: Channel }>;
  /** A connected peer that never reads; returns the server side of it. */
  stalled?(): Promise<{ server: Channel; release(): void }>;
  /** A raw peer and the server channel it produced. */
  raw?(): Promise<{ peer: RawPeer; server: Channel }>;
  listener?: Listener;
}

/** Channels accepted by a listener, handed out in order. */
class Accepted {
  private readonly queue: Channel[] = [];
  private readonly waiting: Array<(ch: Channel) => void> = [];
  readonly onChannel = (ch: Channel): void => {
    const w = this.waiting.shift();
    if (w) w(ch);
    else this.queue.push(ch);
  };
  next(): Promise<Channel> {
    const ch = this.queue.shift();
    if (ch) return Promise.resolve(ch);
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}

/** Waits for (and consumes) the next frame, e.g. the datagram that introduced a UDP peer. */
function firstFrame(ch: Channel): Promise<string> {
  return new Promise((resolve) => {
    const take = (f: string): void => {
      ch.off('frame', take);
      resolve(f);
    };
    ch.on('frame', take);
  });
}

function socketPeer(socket: Socket): RawPeer {
  let data = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    data += d;
  });
  socket.on('error', () => undefined);
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { write: (d) => socket.write(d), received: () => data, ended, destroy: () => socket.destroy() };
}

function listenerHarness(
  name: string,
  urlOf: () => Promise<string>,
  opts: {
    listen?: ListenOptions;
    connect?: Record<string, unknown>;
    rawSocket?: (l: Listener) => Promise<Socket>;
    wsRaw?: boolean | { ca: () => string };
    udp?: boolean;
    before?: () => Promise<void>;
    after?: () => Promise<void>;
  },
): Harness {
  const accepted = new Accepted();
  const h: Harness = {
    name,
    reliable: !opts.udp,
    lineFramed: !!opts.rawSocket,
    connectionOriented: !opts.udp,
    async start() {
      await opts.before?.();
      h.listener = await listen(await urlOf(), { ...LIMITS, ...opts.listen }, accepted.onChannel);
    },
    async stop() {
      await h.listener?.close();
      await opts.after?.();
    },
    async pair() {
      const client = await connect(h.listener!.address, { ...LIMITS, ...opts.connect });
      if (opts.udp) client.send('HELLO'); // a UDP server learns of a peer from its first datagram (consumed here)
      const server = await accepted.next();
      if (opts.udp) await firstFrame(server);
      return { client, server };
    },
  };
  if (opts.rawSocket) {
    const rawSocket = opts.rawSocket;
    h.stalled = async () => {
      const socket = await rawSocket(h.listener!);
      socket.pause();
      return { server: await accepted.next(), release: () => socket.destroy() };
    };
    h.raw = async () => {
      const socket = await rawSocket(h.listener!);
      return { peer: socketPeer(socket), server: await accepted.next() };
    };
  }
  if (opts.wsRaw) {
    const open = async (): Promise<WebSocket> => {
      const wsRaw = opts.wsRaw;
      const ws = new WebSocket(h.listener!.address, typeof wsRaw === 'object' ? { ca: wsRaw.ca() } : {});
      await once(ws, 'open');
      return ws;
    };
    h.stalled = async () => {
      const ws = await open();
      ws.pause();
      return { server: await accepted.next(), release: () => ws.terminate() };
    };
    h.raw = async () => {
      const ws = await open();
      let data = '';
      ws.on('message', (d: Buffer) => {
        data += `${d.toString()}\n`;
      });
      ws.on('error', () => undefined);
      const ended = new Promise<void>((resolve) => ws.once('close', () => resolve()));
      return {
        peer: { write: (d) => ws.send(d), received: () => data, ended, destroy: () => ws.terminate() },
        server: await accepted.next(),
      };
    };
  }
  if (opts.udp) {
    h.raw = async () => {
      const addr = parseAddress(h.listener!.address);
      const socket = createSocket('udp4');
      await new Promise<void>((resolve) => socket.connect(addr.port, addr.host, () => resolve()));
      let data = '';
      socket.on('message', (m) => {
        data += `${m.toString()}\n`;
      });
      socket.send('HELLO');
      const server = await accepted.next();
      await firstFrame(server);
      return {
        peer: {
          write: (d) => socket.send(d),
          received: () => data,
          ended: new Promise<void>(() => undefined),
          destroy: () => socket.close(),
        },
        server,
      };
    };
  }
  return h;
}

export function harnesses(): Harness[] {
  let cert: TestPki | undefined;
  let sockDir: { path: string; cleanup: () => Promise<void> } | undefined;
  const tls = (): TestPki => (cert ??= makeTestPki());
  return [
    listenerHarness('tcp', async () => 'cd://127.0.0.1:0', {
      rawSocket: async (l) => {
        const a = parseAddress(l.address);
        const s = netConnect({ host: a.host, port: a.port });
        await once(s, 'connect');
        return s;
      },
    }),
    listenerHarness(
      'unix',
      async () => {
        sockDir = await tempDir('sb-unix-');
        return `cd://${join(sockDir.path, 'hub.sock')}`;
      },
      {
        rawSocket: async (l) => {
          const s = netConnect({ path: parseAddress(l.address).path });
          await once(s, 'connect');
          return s;
        },
        after: async () => {
          await sockDir?.cleanup();
        },
      },
    ),
    listenerHarness('tls', async () => 'cds://127.0.0.1:0', {
      listen: {
        get certificate() {
          return tls().certificatePem;
        },
        get privateKey() {
          return tls().privateKeyPem;
        },
      },
      connect: {
        get ca() {
          return tls().ca;
        },
      },
      rawSocket: async (l) => {
        const a = parseAddress(l.address);
        const s = tlsConnect({ host: a.host, port: a.port, ca: tls().caPem });
        await once(s, 'secureConnect');
        return s;
      },
      after: async () => {
        cert?.cleanup();
        cert = undefined;
      },
    }),
    listenerHarness('ws', async () => 'ws://127.0.0.1:0/switchboard', { wsRaw: true }),
    listenerHarness('wss', async () => 'wss://127.0.0.1:0/switchboard', {
      listen: {
        get certificate() {
          return tls().certificatePem;
        },
        get privateKey() {
          return tls().privateKeyPem;
        },
      },
      connect: {
        get ca() {
          return tls().ca;
        },
      },
      wsRaw: { ca: () => tls().caPem },
      after: async () => {
        cert?.cleanup();
        cert = undefined;
      },
    }),
    listenerHarness('udp', async () => 'cdu://127.0.0.1:0', { udp: true }),
    memoryHarness(),
    streamHarness(),
  ];
}

function memoryHarness(): Harness {
  return {
    name: 'memory',
    reliable: true,
    lineFramed: false,
    connectionOriented: true,
    async start() {},
    async stop() {},
    async pair() {
      const [client, server] = memoryChannelPair(LIMITS);
      return { client, server };
    },
    async stalled() {
      const [reader, server] = memoryChannelPair(LIMITS);
      (reader as MemoryChannel).pause();
      return { server, release: () => reader.close() };
    },
  };
}

/** streamChannel over two crossed PassThrough pipes (what a child's stdio looks like). */
function streamHarness(): Harness {
  const make = (): { client: Channel; server: Channel; up: PassThrough; down: PassThrough } => {
    const up = new PassThrough();
    const down = new PassThrough();
    const client = streamChannel(down, up, { transport: 'stream', remoteAddress: 'server' }, LIMITS);
    const server = streamChannel(up, down, { transport: 'stream', remoteAddress: 'client' }, LIMITS);
    return { client, server, up, down };
  };
  return {
    name: 'stream',
    reliable: true,
    lineFramed: true,
    connectionOriented: true,
    async start() {},
    async stop() {},
    async pair() {
      const { client, server } = make();
      return { client, server };
    },
    async stalled() {
      const down = new PassThrough();
      const up = new PassThrough();
      const server = streamChannel(up, down, { transport: 'stream', remoteAddress: 'client' }, LIMITS);
      return {
        server,
        release: () => {
          down.destroy();
          up.destroy();
        },
      };
    },
    async raw() {
      const up = new PassThrough();
      const down = new PassThrough();
      const server = streamChannel(up, down, { transport: 'stream', remoteAddress: 'client' }, LIMITS);
      let data = '';
      down.setEncoding('utf8');
      down.on('data', (d: string) => {
        data += d;
      });
      const ended = new Promise<void>((resolve) => down.once('end', () => resolve()));
      return {
        peer: {
          write: (d) => up.write(d),
          received: () => data,
          ended,
          destroy: () => {
            up.end();
          },
        },
        server,
      };
    },
  };
}
