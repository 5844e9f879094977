/**
 * mesh-routing: request/reply across Switchboard hubs in a line A-B-C-D (requester on A; responder
 * on A itself, then on B, C, D: 0, 1 and 2 intermediate hubs), next to a three-server NATS cluster
 * on loopback (nats-server with full-mesh routes; responder on the requester's server, then on
 * another one) with the same client pattern: round trips/s at 1 and 64 in flight, p50/p99.
 * Then route convergence after a hub is killed in a ring of 4 and of 8 hubs.
 *
 *   npm run bench -- mesh-routing          (QUICK=1 for shorter phases)
 */
import { readFileSync } from 'node:fs';
import { median } from './hub-throughput/stats.js';
import {
  natsRequester,
  natsResponder,
  switchboardRequester,
  switchboardResponder,
  type Requester,
  type RRResult,
} from './mesh-routing/rr.js';
import { NatsCluster } from '../src/backplane/test/nats-cluster.js';
import { LineService, startCluster, waitConverged, type HubProcess } from '../src/mesh/test/cluster.js';
import { writeBenchFile, writing } from './write.js';

const QUICK = process.env.QUICK === '1';
const RUNS = QUICK ? 1 : 3;
const PHASE_MS = QUICK ? 600 : 1000;
const KILLS = QUICK ? 2 : 4;

interface Row {
  system: string;
  path: string;
  intermediate: number | null;
  rr1: number;
  rr1p50us: number;
  rr1p99us: number;
  rr64: number;
  rr64p50us: number;
  rr64p99us: number;
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0);
}

async function measure(system: string, path: string, intermediate: number | null, req: Requester): Promise<Row> {
  await req.run(8, 200); // warm-up
  const runs: { r1: RRResult; r64: RRResult }[] = [];
  for (let i = 0; i < RUNS; i++) runs.push({ r1: await req.run(1, PHASE_MS), r64: await req.run(64, PHASE_MS) });
  const row: Row = {
    system,
    path,
    intermediate,
    rr1: median(runs.map((r) => r.r1.rate)),
    rr1p50us: median(runs.map((r) => r.r1.p50us)),
    rr1p99us: median(runs.map((r) => r.r1.p99us)),
    rr64: median(runs.map((r) => r.r64.rate)),
    rr64p50us: median(runs.map((r) => r.r64.p50us)),
    rr64p99us: median(runs.map((r) => r.r64.p99us)),
  };
  console.log(
    `  ${system.padEnd(11)} ${path.padEnd(34)} rr1 ${fmt(row.rr1)}/s p50 ${row.rr1p50us.toFixed(0)} us p99 ${row.rr1p99us.toFixed(0)} us | rr64 ${fmt(row.rr64)}/s p50 ${row.rr64p50us.toFixed(0)} us p99 ${row.rr64p99us.toFixed(0)} us`,
  );
  return row;
}

async function switchboardRows(): Promise<Row[]> {
  const names = ['a', 'b', 'c', 'd'];
  const hubs = await startCluster(
    names.map((n, i) => ({
      name: n,
      ip: `127.0.0.${i + 1}`,
      neighbors: [names[i - 1], names[i + 1]].filter((x): x is string => x !== undefined),
    })),
  );
  const stops: (() => void)[] = [];
  try {
    for (const n of names) stops.push(await switchboardResponder(hubs.get(n)!.localUrl, `echo_${n.toLowerCase()}`));
    await waitConverged(hubs.values(), (s) =>
      names.every((n) => s.hubs.some((h) => h.services.includes(`echo_${n.toLowerCase()}`))),
    );
    const rows: Row[] = [];
    const paths: [string, string, number | null][] = [
      ['echo_a', 'same hub (A)', null],
      ['echo_b', 'A -> B (neighbor, 0 between)', 0],
      ['echo_c', 'A -> B -> C (1 between)', 1],
      ['echo_d', 'A -> B -> C -> D (2 between)', 2],
    ];
    for (const [target, path, inter] of paths) {
      const req = await switchboardRequester(hubs.get('a')!.localUrl, target);
      try {
        rows.push(await measure('switchboard', path, inter, req));
      } finally {
        req.close();
      }
    }
    return rows;
  } finally {
    for (const s of stops) s();
    await Promise.all([...hubs.values()].map((h) => h.dispose()));
  }
}

async function natsRows(): Promise<Row[]> {
  const cluster = await NatsCluster.start(3, { jetstream: false });
  const closers: (() => Promise<void>)[] = [];
  try {
    closers.push(await natsResponder(cluster.urls[0]!, 'echo.local'));
    closers.push(await natsResponder(cluster.urls[1]!, 'echo.remote'));
    const rows: Row[] = [];
    for (const [subject, path, inter] of [
      ['echo.local', 'same server', null],
      ['echo.remote', 'server 1 -> server 2 (route, 0 between)', 0],
    ] as const) {
      const req = await natsRequester(cluster.urls[0]!, subject);
      // Interest travels over the routes; wait until a request is answered.
      for (let i = 0; i < 100; i++) {
        const r = await req.run(1, 50).catch(() => undefined);
        if (r && r.count > 0) break;
      }
      try {
        rows.push(await measure('nats', path, inter, req));
      } finally {
        await req.closeAsync();
      }
    }
    return rows;
  } finally {
    for (const c of closers) await c();
    await cluster.dispose();
  }
}

/** Kill one hub of a ring; time until every other hub's services heard that its service went down. */
async function convergence(
  size: number,
): Promise<{ ring: number; killMs: number[]; restartMs: number[]; rejoinMs: number[] }> {
  const names = Array.from({ length: size }, (_, i) => `h${i}`);
  const hubs = await startCluster(
    names.map((n, i) => ({
      name: n,
      ip: `127.0.0.${i + 1}`,
      neighbors: [names[(i + size - 1) % size]!, names[(i + 1) % size]!],
    })),
  );
  const watchers: LineService[] = [];
  try {
    for (const n of names)
      watchers.push(await LineService.register(hubs.get(n)!.localUrl, `w_${n.toLowerCase()}`, ['STATUS']));
    await waitConverged(
      hubs.values(),
      (s) => names.every((n) => s.hubs.some((h) => h.services.includes(`w_${n.toLowerCase()}`))),
      60_000,
    );
    const killMs: number[] = [];
    const restartMs: number[] = [];
    const rejoinMs: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      const victim = names[(k * 3 + 1) % size]!;
      const hub = hubs.get(victim)!;
      const vi = names.indexOf(victim);
      const others = watchers.filter((_, i) => i !== vi);
      for (const w of others) w.inbox.length = 0;
      const service = `w_${victim.toLowerCase()}`;
      const t0 = performance.now();
      await hub.kill();
      await Promise.all(
        others.map((w) =>
          w.next((m) => m.command === 'STATUS' && m.params.service === service && m.params.status === 'down', 20_000),
        ),
      );
      killMs.push(performance.now() - t0);
      // Back: restart the process and register its service again; time until every hub sees it.
      const t1 = performance.now();
      await hub.start();
      const t2 = performance.now();
      watchers[vi] = await LineService.register(hub.localUrl, service, ['STATUS']);
      await Promise.all(
        others.map((w) =>
          w.next((m) => m.command === 'STATUS' && m.params.service === service && m.params.status === 'up', 30_000),
        ),
      );
      const t3 = performance.now();
      restartMs.push(t3 - t1);
      rejoinMs.push(t3 - t2);
      // Barrier (not timed): the restarted hub knows everyone's services too before the next kill.
      await waitConverged(
        hubs.values(),
        (s) => names.every((n) => s.hubs.some((h) => h.services.includes(`w_${n.toLowerCase()}`))),
        60_000,
      );
      console.log(
        `  ring of ${size}: kill ${victim} -> all ${size - 1} hubs rerouted in ${killMs.at(-1)!.toFixed(0)} ms; restart -> converged in ${restartMs.at(-1)!.toFixed(0)} ms (${rejoinMs.at(-1)!.toFixed(0)} ms after the new process listened)`,
      );
    }
    return { ring: size, killMs, restartMs, rejoinMs };
  } finally {
    for (const w of watchers) w.close();
    await Promise.all([...hubs.values()].map((h: HubProcess) => h.dispose()));
  }
}

function ratio(a: number | undefined, b: number | undefined): number | null {
  return a !== undefined && b !== undefined && b !== 0 ? Math.round((a / b) * 100) / 100 : null;
}

async function main(): Promise<void> {
  const started = Date.now();
  console.log('switchboard line A-B-C-D...');
  const sb = await switchboardRows();
  console.log('nats 3-server cluster...');
  const nats = await natsRows();
  console.log('convergence...');
  const conv = [await convergence(4), await convergence(8)];

  const row = (sys: Row[], inter: number | null) => sys.find((r) => r.intermediate === inter);
  // The cost of one more hop, in p50 microseconds of a round trip (rr1).
  const sbHop = [row(sb, 0), row(sb, 1), row(sb, 2)].every(Boolean)
    ? (row(sb, 2)!.rr1p50us - row(sb, 0)!.rr1p50us) / 2
    : NaN;
  const natsHop = row(nats, 0) && row(nats, null) ? row(nats, 0)!.rr1p50us - row(nats, null)!.rr1p50us : NaN;
  const sbFirstHop = row(sb, 0) && row(sb, null) ? row(sb, 0)!.rr1p50us - row(sb, null)!.rr1p50us : NaN;
  const results = [
    ...[...sb, ...nats].map((r) => ({ ...r, value: Math.round(r.rr1) })),
    ...conv.map((c) => ({
      system: 'switchboard',
      path: `convergence after a hub is killed, ring of ${c.ring} (ms)`,
      value: Math.round(median(c.killMs)),
      killMs: c.killMs.map(Math.round),
      restartMs: c.restartMs.map(Math.round),
      rejoinMs: c.rejoinMs.map(Math.round),
      medianRejoinMs: Math.round(median(c.rejoinMs)),
    })),
  ];
  const result = {
    name: 'mesh-routing',
    unit: 'round trips/s at 1 in flight (value); rr64 = 64 in flight; latencies in microseconds; convergence in ms',
    date: new Date().toISOString(),
    results,
    ratios: {
      extra_hop_p50_us_switchboard: Math.round(sbHop),
      first_remote_hop_p50_us_switchboard: Math.round(sbFirstHop),
      route_hop_p50_us_nats: Math.round(natsHop),
      extra_hop_vs_nats_hop: ratio(sbHop, natsHop),
      rr1_2between_vs_nats_route: ratio(row(sb, 2)?.rr1, row(nats, 0)?.rr1),
      rr64_2between_vs_nats_route: ratio(row(sb, 2)?.rr64, row(nats, 0)?.rr64),
      rr64_neighbor_vs_nats_route: ratio(row(sb, 0)?.rr64, row(nats, 0)?.rr64),
    },
    seconds: Math.round((Date.now() - started) / 1000),
  };
  writeBenchFile('bench/results/mesh-routing.json', `${JSON.stringify(result, null, 2)}\n`);

  const table = [
    '| system | path | rr/s (1 in flight) | p50 / p99 us | rr/s (64 in flight) | p50 / p99 us |',
    '|---|---|---|---|---|---|',
    ...[...sb, ...nats].map(
      (r) =>
        `| ${r.system} | ${r.path} | ${fmt(r.rr1)} | ${r.rr1p50us.toFixed(0)} / ${r.rr1p99us.toFixed(0)} | ${fmt(r.rr64)} | ${r.rr64p50us.toFixed(0)} / ${r.rr64p99us.toFixed(0)} |`,
    ),
    '',
    `One more Switchboard hop adds ${sbHop.toFixed(0)} us to a round trip's p50 (a NATS route hop adds ${natsHop.toFixed(0)} us; ratio ${String(ratio(sbHop, natsHop))}).`,
    '',
    '| ring | hub killed -> every other hub rerouted (median, ms) | runs (ms) | restarted hub listening -> every hub has its service (median, ms) | same, from process spawn (ms) |',
    '|---|---|---|---|---|',
    ...conv.map(
      (c) =>
        `| ${c.ring} hubs | ${median(c.killMs).toFixed(0)} | ${c.killMs.map((x) => x.toFixed(0)).join(', ')} | ${median(c.rejoinMs).toFixed(0)} | ${median(c.restartMs).toFixed(0)} |`,
    ),
    '',
    `(${new Date().toISOString().slice(0, 10)}, ${result.seconds} s run, 2-core machine)`,
  ].join('\n');
  const readme = readFileSync('bench/README.md', 'utf8');
  const begin = '<!-- mesh-routing:begin -->';
  const end = '<!-- mesh-routing:end -->';
  if (readme.includes(begin)) {
    writeBenchFile(
      'bench/README.md',
      readme.replace(new RegExp(`${begin}[\\s\\S]*?${end}`), `${begin}\n${table}\n${end}`),
    );
  } else {
    console.log('(bench/README.md has no mesh-routing markers; table not written)');
  }
  console.log(
    `\n${table}\n${writing ? 'wrote bench/results/mesh-routing.json' : 'NO_WRITE=1: results not written'} in ${result.seconds} s`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
