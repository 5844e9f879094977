/**
 * Test helpers (not part of the public API): an in-process hub on free ports and a raw line
 * client that writes exact bytes (partial lines, oversized lines) and waits for replies.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeLine } from '../../core/codec/index.js';
import { readLines } from '../../core/framing.js';
import type { Message } from '../../core/message.js';
import { parseAddress } from '../../core/address.js';
import { loadConfig, type HubConfig } from '../config.js';
import { Hub } from '../hub.js';

/** A hub on free loopback ports; its admin token (hub.adminToken) is in a token file under its data path. */
export async function startTestHub(flags: Record<string, unknown> = {}): Promise<Hub> {
  const dataPath = mkdtempSync(join(tmpdir(), 'sb-hub-test-'));
  const config: HubConfig = loadConfig({
    env: {},
    flags: {
      serverName: 'testhub',
      localListen: 'cd://127.0.0.1:0',
      signal: 'cdu://127.0.0.1:0',
      dataPath,
      tokenFile: join(dataPath, 'hub.token'),
      ...flags,
    },
  });
  return new Hub(config).start();
}

export function hubPort(hub: Hub, kind: 'local' | 'signal' = 'local'): number {
  const a = hub.addresses.find((x) => x.kind === kind);
  if (!a) throw new Error(`the hub has no ${kind} listener`);
  return parseAddress(a.url).port;
}

/** A raw TCP (or Unix) line client: exact bytes out, decoded messages in. */
export class LineClient {
  readonly received: Message[] = [];
  readonly raw: string[] = [];
  private waiters: { test: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
  private cursor = 0;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    readLines(socket, (line) => this.onLine(line), { maxLineLength: 64 * 1024 * 1024 });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static connect(target: number | string): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const socket = typeof target === 'number' ? netConnect(target, '127.0.0.1') : netConnect({ path: target });
      socket.once('connect', () => resolve(new LineClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Connects and registers; resolves after READY. */
  static async register(port: number, service: string, extra = ''): Promise<LineClient> {
    const c = await LineClient.connect(port);
    c.send(`REGISTER service=${service};version=1${extra}`);
    await c.next('READY');
    return c;
  }

  private onLine(line: string): void {
    if (line.trim() === '') return;
    this.raw.push(line);
    const msg = decodeLine(line);
    this.received.push(msg);
    const i = this.waiters.findIndex((w) => w.test(msg));
    if (i !== -1) this.waiters.splice(i, 1)[0]!.resolve(msg);
  }

  send(line: string): void {
    this.socket.write(`${line}\n`);
  }

  /** Proves an identity (`AUTH token=`); resolves once the hub says AUTHENTICATED. */
  async auth(token: string | undefined): Promise<Message> {
    if (token === undefined) throw new Error('no token to authenticate with (the hub has no token_file)');
    this.send(`AUTH token=${token}`);
    return this.next('AUTHENTICATED');
  }

  write(bytes: string): void {
    this.socket.write(bytes);
  }

  /**
   * The next message (after the ones already returned by `next`) matching a command or a test,
   * within `timeoutMs`.
   */
  next(match: string | ((m: Message) => boolean), timeoutMs = 5000): Promise<Message> {
    const test = typeof match === 'string' ? (m: Message) => m.command === match : match;
    for (let i = this.cursor; i < this.received.length; i++) {
      const m = this.received[i]!;
      if (test(m)) {
        this.cursor = i + 1;
        return Promise.resolve(m);
      }
    }
    this.cursor = this.received.length;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(
          new Error(
            `no ${typeof match === 'string' ? match : 'matching message'} within ${timeoutMs} ms; got: ${this.raw.slice(-5).join(' | ')}`,
          ),
        );
      }, timeoutMs);
      const done = (m: Message) => {
        clearTimeout(timer);
        this.cursor = this.received.length;
        resolve(m);
      };
      this.waiters.push({ test, resolve: done });
    });
  }

  /** True when nothing matching arrives within `ms` (used sparingly: it waits). */
  async nothing(match: string | ((m: Message) => boolean), ms = 200): Promise<boolean> {
    try {
      await this.next(match, ms);
      return false;
    } catch {
      return true;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Sends one UDP datagram and resolves with the first reply, or undefined after `waitMs`. */
export function sendDatagram(port: number, payload: string | Buffer, waitMs = 300): Promise<string | undefined> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const timer = setTimeout(() => {
      sock.close();
      resolve(undefined);
    }, waitMs);
    sock.on('message', (msg) => {
      clearTimeout(timer);
      sock.close();
      resolve(msg.toString('utf8'));
    });
    sock.send(payload, port, '127.0.0.1');
  });
}
