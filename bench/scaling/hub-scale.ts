/**
 * One hub with N connected services: resident memory per connection, the time for N
 * registrations sent at once (a REGISTER storm: every connection already open, every REGISTER
 * written in one go, until the last READY), and routed messages/s with the N connections open:
 * one busy pair among N-2 idle connections, and one sender spreading over all N.
 */
import { freePort } from '../../src/core/test/support.js';
import { HubChild } from '../../src/hub/test/hub-child.js';
import { LineConn, line } from './lines.js';
import { load, median, rssBytes, sleep } from './proc.js';

const PAYLOAD = 'x'.repeat(100);

class ScaleHub extends HubChild {
  constructor(readonly port: number) {
    super('scaling hub', 'switchboard-scaling-');
  }
  start(): Promise<void> {
    return this.spawnHub(
      [
        '--server-name',
        'scale',
        '--local-listen',
        `cd://127.0.0.1:${this.port}`,
        '--signal',
        'off',
        '--max-connections',
        '10000',
      ],
      this.port,
      { SWITCHBOARD_DATA_PATH: this.home },
    );
  }
}

export interface HubPoint {
  services: number;
  /** Hub RSS growth per connected, registered service. */
  rssPerConnectionKiB: number;
  rssMiB: number;
  registerStormMs: number;
  registersPerSec: number;
  pairMsgPerSec: number;
  spreadMsgPerSec: number;
  load: number;
}

/** Writes `total` lines from `next(i)` respecting the socket's back-pressure; resolves when all are written. */
async function pump(conn: LineConn, total: number, next: (i: number) => string): Promise<void> {
  const batch = 256;
  for (let i = 0; i < total;) {
    let chunk = '';
    const end = Math.min(total, i + batch);
    for (; i < end; i++) chunk += next(i);
    if (!conn.write(chunk)) await new Promise((r) => conn.socket.once('drain', r));
  }
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

export async function hubPoint(n: number, messages: number, runs: number): Promise<HubPoint> {
  const hub = new ScaleHub(await freePort());
  await hub.start();
  const conns: LineConn[] = [];
  try {
    await sleep(1000);
    const rss0 = rssBytes(hub.pid!);
    // Open every connection first (not timed): the storm is the registrations alone.
    for (let i = 0; i < n; i += 200)
      conns.push(...(await Promise.all(Array.from({ length: Math.min(200, n - i) }, () => LineConn.open(hub.port)))));
    const ready = conns.map((c) => c.until('"READY"', 300_000));
    const t0 = performance.now();
    for (let i = 0; i < n; i++) conns[i]!.write(line('REGISTER', { service: `s${i}`, version: '1', format: 'json' }));
    await Promise.all(ready);
    const registerStormMs = performance.now() - t0;
    await sleep(1000);
    const rss1 = rssBytes(hub.pid!);

    const src = conns[0]!;
    const pair: number[] = [];
    const spread: number[] = [];
    const toPair = line('PING', { p: PAYLOAD }, 's1');
    const spreadLines = Array.from({ length: Math.max(1, n - 1) }, (_, i) => line('PING', { p: PAYLOAD }, `s${i + 1}`));
    const received = () => conns.reduce((sum, c) => sum + c.lines, 0);
    for (let r = 0; r < runs; r++) {
      let before = received();
      let t = performance.now();
      await pump(src, messages, () => toPair);
      await until(() => received() - before >= messages, 120_000, 'the pair run');
      pair.push(messages / ((performance.now() - t) / 1000));
      before = received();
      t = performance.now();
      await pump(src, messages, (i) => spreadLines[i % spreadLines.length]!);
      await until(() => received() - before >= messages, 120_000, 'the spread run');
      spread.push(messages / ((performance.now() - t) / 1000));
    }
    return {
      services: n,
      rssPerConnectionKiB: Math.round(((rss1 - rss0) / n / 1024) * 10) / 10,
      rssMiB: Math.round((rss1 / 1024 / 1024) * 10) / 10,
      registerStormMs: Math.round(registerStormMs),
      registersPerSec: Math.round(n / (registerStormMs / 1000)),
      pairMsgPerSec: Math.round(median(pair)),
      spreadMsgPerSec: Math.round(median(spread)),
      load: load(),
    };
  } finally {
    for (const c of conns) c.close();
    await hub.dispose();
  }
}
