/**
 * discovery: how fast a change reaches a watcher on another hub, and what a lookup costs.
 * - switchboard: two hub processes meshed on loopback; a client on hub A registers / unregisters
 *   an instance of `app` with an endpoint (N changes); a monitor on hub B times each change from
 *   the register/unregister call to its callback (push). `getPeers` calls/s from the cache.
 * - nats (@nats-io/services on nats-server 127.0.0.1:4222): discovery is a question, not a push:
 *   a service is added on connection A, connection B asks `ping(name)` until it answers; timed from
 *   `add()` to the answer. Then sequential `ping(name)` / `info(name)` questions per second.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { connect } from '../src/client/index.js';
import { portOpen } from '../src/core/test/support.js';
import { attachDiscovery } from '../src/discovery/index.js';
import { startCluster, waitConverged } from '../src/mesh/test/cluster.js';

const CHANGES = Number(process.env.CHANGES ?? 1000);
const NATS_CHANGES = Number(process.env.NATS_CHANGES ?? 300);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}
const r2 = (x: number) => Math.round(x * 100) / 100;

async function switchboard(): Promise<{
  p50: number;
  p90: number;
  p99: number;
  max: number;
  getPeersPerSec: number;
  changes: number;
}> {
  const hubs = await startCluster([
    { name: 'ha', ip: '127.0.0.1', neighbors: [] },
    { name: 'hb', ip: '127.0.0.2', neighbors: ['ha'] },
  ]);
  try {
    await waitConverged(hubs.values());
    const watcher = await connect(hubs.get('hb')!.localUrl, { reconnect: false });
    await watcher.register('watcher');
    const d = await attachDiscovery(watcher, { override: '' });
    let wake: (() => void) | undefined;
    d.monitorPeers('service', 'app', 'default', () => {
      wake?.();
    });
    // A steady instance so the map is never empty (and getPeers has something to return).
    const steady = await connect(hubs.get('ha')!.localUrl, { reconnect: false });
    await steady.register('app', { instance: 'steady', endpoints: [{ port: 7000 }] });
    const app = await connect(hubs.get('ha')!.localUrl, { reconnect: false });
    const seen = () =>
      new Promise<void>((resolve) => {
        wake = resolve;
      });
    await new Promise((r) => setTimeout(r, 300));
    const lat: number[] = [];
    for (let i = 0; i < CHANGES; i++) {
      const arrived = seen();
      const t0 = performance.now();
      if (i % 2 === 0) void app.register('app', { instance: 'moving', endpoints: [{ port: 7001 + (i % 1000) }] });
      else app.unregister();
      await arrived;
      lat.push(performance.now() - t0);
      // A register must be confirmed before the next unregister (the hub answers READY).
      if (i % 2 === 0) await waitReady(app);
    }
    let calls = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 1000)
      for (let k = 0; k < 1000; k++) {
        if (d.getPeers('service', 'app')) calls++;
      }
    const getPeersPerSec = calls / ((performance.now() - t0) / 1000);
    app.dispose();
    steady.dispose();
    watcher.dispose();
    return {
      p50: pct(lat, 50),
      p90: pct(lat, 90),
      p99: pct(lat, 99),
      max: Math.max(...lat),
      getPeersPerSec,
      changes: lat.length,
    };
  } finally {
    for (const h of hubs.values()) await h.dispose();
  }
}

async function waitReady(c: Awaited<ReturnType<typeof connect>>): Promise<void> {
  while (!c.registered) await new Promise((r) => setImmediate(r));
}

async function nats(): Promise<
  { p50: number; p99: number; pingPerSec: number; infoPerSec: number; changes: number } | undefined
> {
  if (!(await portOpen(4222, '127.0.0.1', 500))) {
    console.log('nats-server not reachable at 127.0.0.1:4222: skipped');
    return undefined;
  }
  const { connect: natsConnect } = await import('@nats-io/transport-node');
  const { Svcm } = await import('@nats-io/services');
  // transport-node carries its own copy of nats-core: the same connection at run time, two types.
  type Conn = ConstructorParameters<typeof Svcm>[0];
  const a = (await natsConnect({ servers: '127.0.0.1:4222' })) as unknown as Conn;
  const b = (await natsConnect({ servers: '127.0.0.1:4222' })) as unknown as Conn;
  const client = new Svcm(b).client({ strategy: 'count', maxMessages: 1, maxWait: 1000 });
  const name = `app_${process.pid}`;
  const lat: number[] = [];
  for (let i = 0; i < NATS_CHANGES; i++) {
    const t0 = performance.now();
    const svc = await new Svcm(a).add({ name, version: '1.0.0' });
    for (;;) {
      let found = false;
      try {
        for await (const _ of await client.ping(name)) {
          found = true;
          break;
        }
      } catch {
        // NoResponders: the service's subscription has not reached the server yet; ask again.
      }
      if (found) break;
    }
    lat.push(performance.now() - t0);
    await svc.stop();
  }
  const svc = await new Svcm(a).add({ name, version: '1.0.0' });
  const rate = async (ask: () => Promise<AsyncIterable<unknown>>): Promise<number> => {
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 1000) {
      for await (const _ of await ask()) break;
      n++;
    }
    return n / ((performance.now() - t0) / 1000);
  };
  const pingPerSec = await rate(() => client.ping(name));
  const infoPerSec = await rate(() => client.info(name));
  await svc.stop();
  await a.close();
  await b.close();
  return { p50: pct(lat, 50), p99: pct(lat, 99), pingPerSec, infoPerSec, changes: lat.length };
}

const started = performance.now();
const load = loadavg()[0]!.toFixed(1);
const sb = await switchboard();
console.log('switchboard', sb);
const nt = await nats();
console.log('nats', nt);
const result = {
  name: 'discovery',
  unit: 'ms (propagation), calls/s (lookups)',
  node: process.version,
  loadAverage: Number(load),
  date: new Date().toISOString(),
  results: [
    {
      system: 'switchboard',
      metric: 'propagation hub A register -> monitor on hub B',
      p50: r2(sb.p50),
      p90: r2(sb.p90),
      p99: r2(sb.p99),
      max: r2(sb.max),
      value: r2(sb.p99),
      changes: sb.changes,
    },
    { system: 'switchboard', metric: 'getPeers calls/s (cache)', value: Math.round(sb.getPeersPerSec) },
    ...(nt
      ? [
          {
            system: 'nats',
            metric: 'service add -> ping(name) answers',
            p50: r2(nt.p50),
            p99: r2(nt.p99),
            value: r2(nt.p99),
            changes: nt.changes,
          },
          { system: 'nats', metric: 'ping(name) calls/s', value: Math.round(nt.pingPerSec) },
          { system: 'nats', metric: 'info(name) calls/s', value: Math.round(nt.infoPerSec) },
        ]
      : []),
  ],
  ratios: nt
    ? {
        propagation_p99_nats_over_switchboard: r2(nt.p99 / sb.p99),
        lookups_switchboard_getPeers_over_nats_ping: Math.round(sb.getPeersPerSec / nt.pingPerSec),
      }
    : {},
  seconds: Math.round((performance.now() - started) / 1000),
};
// NO_WRITE=1: a look without touching the results (exploratory runs on a busy machine).
if (process.env.NO_WRITE === '1') {
  console.log('NO_WRITE=1: results not written');
  process.exit(0);
}
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/discovery.json', `${JSON.stringify(result, null, 2)}\n`);
const table = [
  `Measured ${result.date.slice(0, 10)}, Node ${process.version}, ${sb.changes} changes (switchboard), ${nt?.changes ?? 0} (nats); load average ${load} at the start (2 cores shared with other work: tails are noisy).`,
  '',
  '| system | change visible on the other side (p50 / p99) | lookups/s |',
  '|---|---|---|',
  `| switchboard (push, 2 meshed hubs) | ${r2(sb.p50)} / ${r2(sb.p99)} ms | ${Math.round(sb.getPeersPerSec).toLocaleString('en')} getPeers |`,
  ...(nt
    ? [
        `| nats @nats-io/services (ask) | ${r2(nt.p50)} / ${r2(nt.p99)} ms | ${Math.round(nt.pingPerSec)} ping, ${Math.round(nt.infoPerSec)} info |`,
      ]
    : []),
].join('\n');
const readme = readFileSync('bench/README.md', 'utf8');
const begin = '<!-- discovery:begin -->';
const end = '<!-- discovery:end -->';
if (readme.includes(begin))
  writeFileSync(
    'bench/README.md',
    readme.replace(new RegExp(`${begin}[\\s\\S]*?${end}`), `${begin}\n${table}\n${end}`),
  );
console.log(`\n${table}\nwrote bench/results/discovery.json in ${result.seconds} s`);
