/**
 * Helpers for the adversarial suite (src/hub/adversarial.test.ts) and the long fuzz run
 * (`npm run fuzz`): memory after a full collection, a bystander that measures its own round trips,
 * a WebSocket client that never reads, and the fuzzer itself. Not part of the public API.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { waitFor } from '../../core/test/support.js';
import { LineClient } from './support.js';

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/** Bytes held by this process after a full collection (JS heap plus buffers), in MB. */
export function heldMb(): number {
  collect();
  collect();
  const m = process.memoryUsage();
  return (m.heapUsed + m.external) / 1e6;
}

export function rssMb(): number {
  return process.memoryUsage().rss / 1e6;
}

/** One figure of the suite, printed so a run shows what each scenario measured. */
export function figure(scenario: string, values: Record<string, number | string>): void {
  const text = Object.entries(values)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? (Number.isInteger(v) ? v : v.toFixed(1)) : v}`)
    .join(' ');
  console.log(`# adversarial ${scenario}: ${text}`);
}

/**
 * A registered service that sends itself numbered PINGs through the hub every `everyMs` and
 * records each round trip: what a bystander sees while someone else abuses the hub.
 */
export class Bystander {
  readonly latencies: number[] = [];
  private sent = new Map<number, number>();
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = performance.now();

  private constructor(
    readonly client: LineClient,
    private readonly name: string,
    private readonly everyMs: number,
  ) {
    client.socket.on('data', () => this.collect());
  }

  static async start(port: number, name: string, everyMs = 20): Promise<Bystander> {
    const client = await LineClient.register(port, name);
    const b = new Bystander(client, name, everyMs);
    b.timer = setInterval(() => b.ping(), everyMs);
    return b;
  }

  /**
   * Sends the PINGs that are due. In one process with the hub, a hub that blocks delays these
   * sends too: each PING counts from when it was due, as a bystander in another process would.
   */
  private ping(): void {
    const now = performance.now();
    for (;;) {
      const due = this.startedAt + this.next * this.everyMs;
      if (due > now) break;
      const n = this.next++;
      this.sent.set(n, due);
      this.client.send(`${this.name}/PING n=${n}`);
    }
  }

  private collect(): void {
    // LineClient parses first (its listener was attached first): read what it has.
    for (const m of this.client.received.splice(0)) {
      if (m.command !== 'PING') continue;
      const n = Number(m.params.n);
      const at = this.sent.get(n);
      if (at === undefined) continue;
      this.sent.delete(n);
      this.latencies.push(performance.now() - at);
    }
  }

  get pingsSent(): number {
    return this.next;
  }

  /** Stops pinging; resolves when every PING came back (or throws after `timeoutMs`). */
  async stop(timeoutMs = 15_000): Promise<{ count: number; maxMs: number; p50Ms: number }> {
    clearInterval(this.timer);
    await waitFor(() => this.sent.size === 0, {
      what: `the bystander's ${this.sent.size} PINGs in flight`,
      timeoutMs,
    });
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return { count: sorted.length, maxMs: sorted.at(-1) ?? 0, p50Ms: sorted[Math.floor(sorted.length / 2)] ?? 0 };
  }

  close(): void {
    clearInterval(this.timer);
    this.client.close();
  }
}

/**
 * A WebSocket client that completes the handshake and then never reads: the server's frames pile
 * up in its socket and, past the kernel's buffers, in the server.
 */
export function neverReadingWebSocket(url: string): Promise<Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = netConnect(Number(u.port), u.hostname);
    socket.setNoDelay(true);
    let head = '';
    const onData = (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (!/^HTTP\/1\.1 101/.test(head)) {
        socket.destroy();
        reject(new Error(`the WebSocket handshake was refused: ${head.split('\r\n')[0]}`));
        return;
      }
      socket.pause();
      resolve(socket);
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.write(
        `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
  });
}

/** A small deterministic random source (the fuzz run prints its seed so a failure can be replayed). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
}

const COMMANDS = ['PING', 'DATA', 'LIST_SERVICES', 'ALIVE', 'HELP', 'SERVICE_STATUS', 'REGISTER', 'UNREGISTER'];

/** One line an abusive client might send: valid, nearly valid, or garbage. */
function fuzzLine(r: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  switch (Math.floor(r() * 10)) {
    case 0:
      return randomBytes(1 + Math.floor(r() * 200))
        .toString('latin1')
        .replaceAll('\n', ' ');
    case 1:
      return `${pick(['', 'nobody/', 'victim/', '*/', '?:*/', 'x:y/'])}${pick(COMMANDS)} ${'p'.repeat(Math.floor(r() * 3))}="${'"'.repeat(Math.floor(r() * 3))}`;
    case 2:
      return `REGISTER service=fz_${Math.floor(r() * 50)};version=1;commands=PING`;
    case 3:
      return `UNREGISTER`;
    case 4:
      return `LIST_SERVICES`;
    case 5:
      return `gone_${Math.floor(r() * 5)}/DATA cache="ttl=${10 + Math.floor(r() * 100)}";transmission_report=all;blob=${'b'.repeat(Math.floor(r() * 5000))}`;
    case 6:
      return `{"command":"${pick(COMMANDS)}","parameters":{"x":${Math.floor(r() * 1e6)}}${r() < 0.3 ? '' : '}'}`;
    case 7:
      return `fz_${Math.floor(r() * 50)}/PING n=${Math.floor(r() * 1000)}`;
    case 8:
      return `${pick(COMMANDS)} service=${pick(['fz_1', 'victim', '', '#', 'a#b'])};list=${pick(['PING', 'a,b', ',,,', 'STATUS'])}`;
    default:
      return `victim/NOT_FOR_YOU x=1`;
  }
}

export interface FuzzReport {
  connections: number;
  lines: number;
  bystanderMessages: number;
  seed: number;
}

/**
 * Abusive clients against a hub for `seconds`: random lines (valid, half-valid, garbage, long),
 * partial lines, pipelined bursts, registrations that come and go, sockets that stop reading or
 * close mid-line. Meanwhile one bystander sends another numbered messages; it throws when one is
 * missing or out of order.
 */
export async function fuzzHub(port: number, seconds: number, seed = Date.now() & 0xffffffff): Promise<FuzzReport> {
  const r = rng(seed);
  const receiver = await LineClient.register(port, 'fuzz_receiver');
  const sender = await LineClient.register(port, 'fuzz_sender');
  const until = Date.now() + seconds * 1000;
  let lines = 0;
  let connections = 0;
  let sent = 0;
  const sockets = new Set<Socket>();
  const open = () => {
    const s = netConnect(port, '127.0.0.1');
    connections++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    if (r() < 0.3) s.pause();
    else s.resume();
    return s;
  };
  const sendTick = setInterval(() => {
    for (let i = 0; i < 20; i++) sender.send(`fuzz_receiver/SEQ n=${sent++}`);
  }, 5);
  try {
    while (Date.now() < until) {
      if (sockets.size < 20) open();
      for (const s of sockets) {
        if (s.connecting || s.destroyed) continue;
        const burst = Math.floor(r() * 30);
        let text = '';
        for (let i = 0; i < burst; i++) text += `${fuzzLine(r)}\n`;
        lines += burst;
        if (r() < 0.1) text += 'partial/LINE x=';
        s.write(text);
        const roll = r();
        if (roll < 0.03) s.destroy();
        else if (roll < 0.05) s.end();
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    clearInterval(sendTick);
    for (const s of sockets) s.destroy();
  }
  const expected = sent;
  await waitFor(() => receiver.received.filter((m) => m.command === 'SEQ').length >= expected, {
    what: `the bystander's ${expected} messages (got ${receiver.received.filter((m) => m.command === 'SEQ').length})`,
    timeoutMs: 20_000,
  });
  const seq = receiver.received.filter((m) => m.command === 'SEQ').map((m) => Number(m.params.n));
  seq.forEach((n, i) => {
    if (n !== i) throw new Error(`fuzz (seed ${seed}): the bystander's message ${i} arrived as ${n}`);
  });
  receiver.close();
  sender.close();
  return { connections, lines, bystanderMessages: seq.length, seed };
}
