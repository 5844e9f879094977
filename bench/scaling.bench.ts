/**
 * scaling: curves, not points. How cost grows with the number of services on one hub, the number
 * of hubs in a mesh, the way a request crosses hubs, and the number of objects a sync ingests:
 *
 * - one hub with 10, 1,000 and 10,000 connected services: resident memory per connection,
 *   REGISTER storm time, routed msg/s (one busy pair among the idle, and one sender over all);
 * - rings of 4, 8 and 16 meshed hubs: bytes all hubs write for one change (LINK_STATE flood), and
 *   reroute time after a hub is killed;
 * - a request crossing hubs: mesh vs NATS backplane vs NATS alone, 1 and 64 in flight;
 * - sync of 10k, 100k and 1M objects into SQLite: the store's path and the in-process limit.
 *
 * Writes bench/results/scaling.json ({ name, unit, results, ratios, curves }), bench/scaling.svg
 * and the table between the scaling markers in bench/README.md. Every figure carries the
 * 1-minute load average when it was taken. 10,000 connections need ~10,100 open files in this
 * process and in the hub: the bench raises its soft limit to the hard one (re-running itself
 * under `ulimit -n`) and says what the machine allows.
 *
 *   npm run bench -- scaling                 PARTS=hub,mesh,cross,sync (default all), QUICK=1
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { crossHub, type CrossRow } from './scaling/cross-hub.js';
import { hubPoint, type HubPoint } from './scaling/hub-scale.js';
import { meshPoint, type MeshPoint } from './scaling/mesh-scale.js';
import { renderSvg, short, type Panel } from './scaling/plot.js';
import { fileLimits, load } from './scaling/proc.js';
import { syncPoint, type SyncPoint } from './scaling/sync-scale.js';

const QUICK = process.env.QUICK === '1';
const PARTS = new Set((process.env.PARTS ?? 'hub,mesh,cross,sync').split(','));
const HUB_SIZES = (process.env.HUB_SIZES ?? '10,1000,10000').split(',').map(Number);
const MESH_SIZES = (process.env.MESH_SIZES ?? '4,8,16').split(',').map(Number);
const SYNC_SIZES = (process.env.SYNC_SIZES ?? (QUICK ? '10000,100000' : '10000,100000,1000000')).split(',').map(Number);
const NEEDED_FILES = Math.max(...HUB_SIZES) + 200;

// Raise the open-file limit for this process and the hubs it starts (children inherit it).
const limits = fileLimits();
if (PARTS.has('hub') && limits.soft < NEEDED_FILES && !process.env.SCALING_REEXEC) {
  if (limits.hard < NEEDED_FILES)
    console.warn(
      `open files: the hard limit is ${limits.hard}, the 10,000-connection point needs ${NEEDED_FILES}; it may fail`,
    );
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(
    'sh',
    [
      '-c',
      `ulimit -n ${Number.isFinite(limits.hard) ? limits.hard : NEEDED_FILES} && exec "$0" --import tsx "$1"`,
      process.execPath,
      self,
    ],
    { stdio: 'inherit', env: { ...process.env, SCALING_REEXEC: '1' } },
  );
  process.exit(r.status ?? 1);
}

const started = new Date();
const loadBefore = load();
console.log(`open files: soft ${limits.soft}, hard ${limits.hard}; load ${loadBefore}`);

const hub: HubPoint[] = [];
const mesh: MeshPoint[] = [];
let cross: CrossRow[] = [];
const sync: SyncPoint[] = [];

if (PARTS.has('hub'))
  for (const n of HUB_SIZES) {
    console.log(`one hub, ${n} services...`);
    hub.push(await hubPoint(n, QUICK ? 50_000 : 200_000, QUICK ? 1 : 3));
    console.log(hub.at(-1));
  }
if (PARTS.has('mesh'))
  for (const n of MESH_SIZES) {
    console.log(`ring of ${n} hubs...`);
    mesh.push(await meshPoint(n, QUICK ? 3 : 5, QUICK ? 1 : 3));
    console.log(mesh.at(-1));
  }
if (PARTS.has('cross')) {
  console.log('a request crossing hubs: mesh, backplane, NATS...');
  cross = await crossHub(QUICK ? 500 : 1000, QUICK ? 1 : 3);
  console.log(cross);
}
if (PARTS.has('sync'))
  for (const n of SYNC_SIZES) {
    console.log(`sync of ${n} objects...`);
    sync.push(await syncPoint(n));
    console.log(sync.at(-1));
  }

// ---- what the curves say ------------------------------------------------------------------------

const ratio = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined && b !== 0 ? Math.round((a / b) * 100) / 100 : null;
const first = <T>(xs: T[]) => xs[0];
const last = <T>(xs: T[]) => xs.at(-1);
const crossOf = (system: CrossRow['system'], inflight: number) =>
  cross.find((r) => r.system === system && r.inflight === inflight);

const ratios = {
  // > 1 = grows with the count; 1 = flat.
  hub_rssPerConnection_last_vs_first: ratio(last(hub)?.rssPerConnectionKiB, first(hub)?.rssPerConnectionKiB),
  hub_registerPerSec_last_vs_first: ratio(last(hub)?.registersPerSec, first(hub)?.registersPerSec),
  hub_pairMsgPerSec_last_vs_first: ratio(last(hub)?.pairMsgPerSec, first(hub)?.pairMsgPerSec),
  hub_spreadMsgPerSec_last_vs_first: ratio(last(hub)?.spreadMsgPerSec, first(hub)?.spreadMsgPerSec),
  mesh_bytesPerChange_last_vs_first: ratio(last(mesh)?.bytesPerChange, first(mesh)?.bytesPerChange),
  mesh_bytesPerLink_last_vs_first: ratio(last(mesh)?.bytesPerLink, first(mesh)?.bytesPerLink),
  mesh_reroute_last_vs_first: ratio(last(mesh)?.rerouteMs, first(mesh)?.rerouteMs),
  cross_rr1_backplane_vs_mesh: ratio(crossOf('backplane', 1)?.rate, crossOf('mesh', 1)?.rate),
  cross_rr1_backplane_vs_nats: ratio(crossOf('backplane', 1)?.rate, crossOf('nats', 1)?.rate),
  cross_rr64_backplane_vs_mesh: ratio(crossOf('backplane', 64)?.rate, crossOf('mesh', 64)?.rate),
  cross_rr64_backplane_vs_nats: ratio(crossOf('backplane', 64)?.rate, crossOf('nats', 64)?.rate),
  cross_rr64_mesh_vs_nats: ratio(crossOf('mesh', 64)?.rate, crossOf('nats', 64)?.rate),
  sync_store_last_vs_first: ratio(last(sync)?.storeObjectsPerSec, first(sync)?.storeObjectsPerSec),
  sync_store_vs_limit_at_last: ratio(last(sync)?.storeObjectsPerSec, last(sync)?.limitObjectsPerSec),
};
console.log(ratios);

const results = [
  ...hub.map((p) => ({ system: 'switchboard hub', curve: 'hub', value: p.pairMsgPerSec, unit: 'msg/s', ...p })),
  ...mesh.map((p) => ({
    system: 'switchboard mesh',
    curve: 'mesh',
    value: p.bytesPerChange,
    unit: 'bytes/change',
    ...p,
  })),
  ...cross.map((r) => ({ curve: 'cross-hub', value: r.rate, unit: 'round trips/s', ...r })),
  ...sync.map((p) => ({
    system: 'switchboard sync (sqlite)',
    curve: 'sync',
    value: p.storeObjectsPerSec,
    unit: 'objects/s',
    ...p,
  })),
];
const loadAfter = load();
const machine = {
  cores: 2,
  openFiles: limits,
  node: process.version,
  loadAverage: { before: loadBefore, after: loadAfter },
};

const write = process.env.NO_WRITE !== '1';
if (write) {
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(
    'bench/results/scaling.json',
    `${JSON.stringify({ name: 'scaling', unit: 'mixed (see each result)', date: started.toISOString(), machine, results, ratios, curves: { hub, mesh, cross, sync } }, null, 2)}\n`,
  );
}

// ---- the plot -----------------------------------------------------------------------------------

const C = { a: '#1d4f9c', b: '#c0392b', c: '#2e8b57' };
const panels: Panel[] = [];
if (hub.length) {
  const xs = hub.map((p) => p.services);
  panels.push(
    {
      kind: 'line',
      title: 'Hub: memory per connection',
      xLabel: 'connected services (log)',
      yLabel: 'KiB of hub RSS',
      xs,
      log: true,
      series: [{ name: 'KiB/connection', color: C.a, values: hub.map((p) => p.rssPerConnectionKiB) }],
    },
    {
      kind: 'line',
      title: 'Hub: REGISTER storm',
      xLabel: 'services registering at once (log)',
      yLabel: 'ms to the last READY',
      xs,
      log: true,
      series: [{ name: 'ms', color: C.a, values: hub.map((p) => p.registerStormMs) }],
    },
    {
      kind: 'line',
      title: 'Hub: routed msg/s',
      xLabel: 'connected services (log)',
      yLabel: 'messages/s',
      xs,
      log: true,
      series: [
        { name: 'one pair, others idle', color: C.a, values: hub.map((p) => p.pairMsgPerSec) },
        { name: 'one sender to all', color: C.b, values: hub.map((p) => p.spreadMsgPerSec) },
      ],
    },
  );
}
if (mesh.length) {
  const xs = mesh.map((p) => p.hubs);
  panels.push(
    {
      kind: 'line',
      title: 'Mesh ring: bytes per change',
      xLabel: 'hubs',
      yLabel: 'bytes written by all hubs',
      xs,
      log: false,
      series: [{ name: 'bytes', color: C.a, values: mesh.map((p) => p.bytesPerChange) }],
    },
    {
      kind: 'line',
      title: 'Mesh ring: reroute after a kill',
      xLabel: 'hubs',
      yLabel: 'ms until all hubs know',
      xs,
      log: false,
      series: [{ name: 'ms', color: C.b, values: mesh.map((p) => p.rerouteMs) }],
    },
  );
}
if (cross.length) {
  const systems: CrossRow['system'][] = ['mesh', 'backplane', 'nats'];
  panels.push({
    kind: 'bars',
    title: 'A request crossing hubs',
    yLabel: 'round trips/s',
    groups: ['1 in flight', '64 in flight'],
    series: systems.map((s, i) => ({
      name: s === 'nats' ? 'NATS alone' : s,
      color: [C.a, C.c, C.b][i]!,
      values: [1, 64].map((f) => crossOf(s, f)?.rate ?? null),
    })),
  });
}
if (sync.length) {
  const xs = sync.map((p) => p.objects);
  panels.push({
    kind: 'line',
    title: 'Sync into SQLite',
    xLabel: 'objects (log)',
    yLabel: 'objects/s',
    xs,
    log: true,
    series: [
      { name: 'store path', color: C.a, values: sync.map((p) => p.storeObjectsPerSec) },
      { name: 'in-process limit', color: C.b, values: sync.map((p) => p.limitObjectsPerSec) },
    ],
  });
}
const note = `${started.toISOString().slice(0, 10)}, Node ${process.version}, 2 cores shared with other work: load average ${loadBefore} before, ${loadAfter} after; open files ${limits.soft}/${limits.hard}.`;
if (write && panels.length) writeFileSync('bench/scaling.svg', renderSvg('Switchboard: how cost grows', note, panels));

// ---- the table in bench/README.md ---------------------------------------------------------------

const md: string[] = [
  `Measured ${started.toISOString().slice(0, 10)}, Node ${process.version}; ${note.split(': ')[1]}`,
  '',
];
if (hub.length)
  md.push(
    '| services on one hub | KiB per connection | hub RSS | REGISTER storm | registrations/s | msg/s, one pair | msg/s, one sender to all | load |',
    '|---|---|---|---|---|---|---|---|',
    ...hub.map(
      (p) =>
        `| ${short(p.services)} | ${p.rssPerConnectionKiB} | ${p.rssMiB} MiB | ${p.registerStormMs} ms | ${short(p.registersPerSec)} | ${short(p.pairMsgPerSec)} | ${short(p.spreadMsgPerSec)} | ${p.load} |`,
    ),
    '',
  );
if (mesh.length)
  md.push(
    '| hubs in a ring | bytes all hubs write per change | per link | reroute after a kill (median) | runs | load |',
    '|---|---|---|---|---|---|',
    ...mesh.map(
      (p) =>
        `| ${p.hubs} | ${p.bytesPerChange} | ${p.bytesPerLink} | ${p.rerouteMs} ms | ${p.rerouteRuns.join(', ')} | ${p.load} |`,
    ),
    '',
  );
if (cross.length)
  md.push(
    '| a request crossing hubs | rt/s 1 in flight (p50 / p99 us) | rt/s 64 in flight (p50 / p99 us) | load |',
    '|---|---|---|---|',
    ...(['mesh', 'backplane', 'nats'] as const).map((s) => {
      const a = crossOf(s, 1);
      const b = crossOf(s, 64);
      return `| ${s === 'nats' ? 'NATS alone (no hub)' : s === 'mesh' ? 'mesh (2 hubs, one link)' : 'backplane (2 hubs on one nats-server)'} | ${short(a?.rate ?? 0)} (${a?.p50us} / ${a?.p99us}) | ${short(b?.rate ?? 0)} (${b?.p50us} / ${b?.p99us}) | ${b?.load} |`;
    }),
    '',
  );
if (sync.length)
  md.push(
    '| objects synced | store path objects/s | in-process limit objects/s | store / limit | load |',
    '|---|---|---|---|---|',
    ...sync.map(
      (p) =>
        `| ${short(p.objects)} | ${short(p.storeObjectsPerSec)} | ${short(p.limitObjectsPerSec)} | ${ratio(p.storeObjectsPerSec, p.limitObjectsPerSec)} | ${p.load} |`,
    ),
    '',
  );
if (write) {
  const readme = readFileSync('bench/README.md', 'utf8');
  const begin = '<!-- scaling:begin -->';
  const end = '<!-- scaling:end -->';
  const i = readme.indexOf(begin);
  const j = readme.indexOf(end);
  if (i >= 0 && j > i)
    writeFileSync('bench/README.md', `${readme.slice(0, i + begin.length)}\n${md.join('\n')}${readme.slice(j)}`);
  else console.log('bench/README.md has no scaling markers; table not written');
}
console.log(md.join('\n'));
process.exit(0);
