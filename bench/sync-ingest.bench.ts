/**
 * sync-ingest: objects/s from a connector subprocess into the store, next to the in-process limit.
 *
 * Systems, each into a fresh database, 1000 objects a page (~330-byte rows), OBJECTS in all (200k):
 * - `ts-sdk`: a TypeScript SDK connector (bench/sync-ingest/connector.ts, compiled) run by the sync runner
 *   (`openSync().sync()`: go-plugin host, brokered CallbackHandler, one store transaction per page
 *   with the run's counters) — the whole run, process start and stop included;
 * - `go`: the Go interop connector (real go-plugin v1.0.1) through the same runner;
 * - `limit`: the same rows upserted in-process straight into the database, one transaction per page
 *   (better-sqlite3 prepared statement loop; pg multi-row INSERT ... ON CONFLICT);
 * - `store (in-process)`: the same rows through the store's API in this process (one
 *   `transaction(upsertMany)` per page): what the runner's database work costs without a connector;
 * - `ts-sdk, no store`: the connector into the host with a no-op onPage (the transport alone);
 * - `airbyte`: the same objects as RECORD lines from an Airbyte-protocol source (bench/sync-ingest/
 *   airbyte-source.ts) through the same runner;
 * - large (LARGE_OBJECTS, 1M; LARGE=0 leaves it out): one process per store and connector
 *   (bench/sync-ingest/large.ts) syncs 1M objects, then re-syncs three times with 1% changed (the
 *   connector's state; the median counts), then runs a full refresh of the same 1M; objects/s,
 *   times, peak RSS. Once with the ts-sdk connector, once with its Go twin
 *   (src/sync/connectors/go-bench: the same source and objects, started like c1-core's connectors).
 * On SQLite and on PostgreSQL (127.0.0.1:5432, db `test`, a fresh schema, dropped after).
 *
 *   npm run bench -- sync-ingest          (OBJECTS=50000 QUICK=1 LARGE=0 for a quick look; RUNS=3 for medians)
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { build as esbuild } from 'esbuild';
import { portOpen, tempDir, SERVICES } from '../src/core/test/support.js';
import { openSync, type SyncApi } from '../src/sync/open.js';
import { runConnector } from '../src/sync/goplugin/index.js';
import { buildGoProgram, goMissing } from '../src/sync/test/go-build.js';
import { postgresLimit, sqliteLimit } from './sync-ingest/limits.js';
import { pageObjects } from './sync-ingest/rows.js';
import { DATA_UPSERT, pageRows } from '../src/sync/data.js';

const QUICK = process.env.QUICK === '1';
const OBJECTS = Number(process.env.OBJECTS ?? (QUICK ? 50_000 : 200_000));
const PER_PAGE = 1000;
const PAGES = Math.ceil(OBJECTS / PER_PAGE);
const RUNS = Number(process.env.RUNS ?? 1);
const PG_URL = process.env.PG_URL ?? SERVICES.postgres.url;

const connectorFile = fileURLToPath(new URL('./sync-ingest/connector.ts', import.meta.url));
/**
 * The TS connector as it is deployed: compiled to one JavaScript file (esbuild, packages left
 * external) and run with plain node, not through tsx. It is written under node_modules/.cache so
 * its packages resolve from the project.
 */
const bundle = join(
  fileURLToPath(new URL('..', import.meta.url)),
  'node_modules',
  '.cache',
  'switchboard-bench',
  'sync-ingest-connector.mjs',
);
await esbuild({
  entryPoints: [connectorFile],
  bundle: true,
  platform: 'node',
  format: 'esm',
  packages: 'external',
  outfile: bundle,
  logLevel: 'warning',
});
const tsCommand = `"${process.execPath}" ${process.env.CONNECTOR_NODE_ARGS ?? ''} "${bundle}"`; // e.g. CONNECTOR_NODE_ARGS=--cpu-prof
const airbyteBundle = bundle.replace('sync-ingest-connector.mjs', 'sync-ingest-airbyte.mjs');
await esbuild({
  entryPoints: [fileURLToPath(new URL('./sync-ingest/airbyte-source.ts', import.meta.url))],
  bundle: true,
  platform: 'node',
  format: 'esm',
  packages: 'external',
  outfile: airbyteBundle,
  logLevel: 'warning',
});
const airbyteCommand = `"${process.execPath}" "${airbyteBundle}"`;
const LARGE_OBJECTS = process.env.LARGE === '0' ? 0 : Number(process.env.LARGE_OBJECTS ?? 1_000_000);
const options = JSON.stringify({ pages: PAGES, perPage: PER_PAGE });

interface Figure {
  system: string;
  store: 'sqlite' | 'postgres' | 'none';
  value: number;
  /** Objects/s from the first page to the last (without process start-up and shutdown). */
  steady?: number;
  ms: number;
  objects: number;
}

const home = await tempDir('sb-bench-sync-');
const results: Figure[] = [];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function openFresh(
  store: 'sqlite' | 'postgres',
  label: string,
): Promise<{ api: SyncApi; database: string; schema?: string }> {
  if (store === 'sqlite') {
    const database = join(home.path, `${label}-${randomBytes(4).toString('hex')}.db`);
    return { api: await openSync({ home: home.path, database }), database };
  }
  const schema = `sb_bench_${randomBytes(6).toString('hex')}`;
  const database = `${PG_URL}?schema=${schema}`;
  return { api: await openSync({ home: home.path, database }), database, schema };
}

async function dropSchema(schema: string | undefined): Promise<void> {
  if (!schema) return;
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await c.end();
}

/** One sync of a fresh account through the runner; returns [wall ms, steady objects/s]. */
async function viaRunner(
  store: 'sqlite' | 'postgres',
  name: string,
  command: string,
  protocol: 'go-plugin' | 'airbyte' = 'go-plugin',
): Promise<{ ms: number; steady: number; objects: number }> {
  const { api, schema } = await openFresh(store, name);
  try {
    const folder = join(home.path, `src-${name}`);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'README'), 'benchmark connector\n');
    const connector = `${name}-${randomBytes(3).toString('hex')}`;
    await api.installConnector(JSON.stringify({ name: connector, source: 'Local', uri: folder, command, protocol }));
    await api.addAccount({ connector, name: 'bench', options });
    let first = 0;
    let last = 0;
    let firstObjects = 0;
    const t0 = performance.now();
    const [outcome] = await api.sync([`${connector}/bench`], {
      onLog: () => {},
      onProgress: (p) => {
        if (p.phase !== 'page') return;
        if (!first) {
          first = performance.now();
          firstObjects = p.objects;
        }
        last = performance.now();
      },
    });
    const ms = performance.now() - t0;
    const run = outcome?.run;
    if (!run?.success || run.objects !== PAGES * PER_PAGE)
      throw new Error(
        `${name} on ${store}: run failed or incomplete: ${JSON.stringify(outcome?.error?.message ?? run)}`,
      );
    return { ms, steady: ((run.objects - firstObjects) / (last - first)) * 1000, objects: run.objects };
  } finally {
    await api.close();
    await dropSchema(schema);
  }
}

async function limit(store: 'sqlite' | 'postgres', pages = PAGES): Promise<number> {
  const { api, database, schema } = await openFresh(store, 'limit');
  try {
    const folder = join(home.path, 'src-limit');
    mkdirSync(folder, { recursive: true });
    await api.installConnector(JSON.stringify({ name: 'limit', source: 'Local', uri: folder, command: 'true' }));
    const account = await api.addAccount({ connector: 'limit', name: 'bench', options: '{}' });
    if (store === 'sqlite') {
      await api.close();
      return sqliteLimit(database, account.id, pages, PER_PAGE);
    }
    return await postgresLimit(PG_URL, schema!, account.id, pages, PER_PAGE);
  } finally {
    await api.close().catch(() => {});
    await dropSchema(schema);
  }
}

/** The rows through the store's own API, in-process: one transaction with upsertMany per page. */
async function viaStore(store: 'sqlite' | 'postgres'): Promise<number> {
  const { api, schema } = await openFresh(store, 'store');
  try {
    const folder = join(home.path, 'src-store');
    mkdirSync(folder, { recursive: true });
    await api.installConnector(JSON.stringify({ name: 'store', source: 'Local', uri: folder, command: 'true' }));
    const account = await api.addAccount({ connector: 'store', name: 'bench', options: '{}' });
    const t0 = performance.now();
    for (let p = 0; p < PAGES; p++) {
      const rows = pageRows(
        { id: account.id, connector: 'store' },
        pageObjects(p, PER_PAGE, 'store'),
        null,
        new Date().toISOString(),
      );
      await api.store.transaction((tx) => tx.upsertMany(DATA_UPSERT, rows));
    }
    return performance.now() - t0;
  } finally {
    await api.close();
    await dropSchema(schema);
  }
}

async function measure(
  system: string,
  store: Figure['store'],
  once: () => Promise<{ ms: number; steady?: number; objects: number }>,
): Promise<void> {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await once());
  const ms = median(runs.map((r) => r.ms));
  const objects = runs[0]!.objects;
  const steadies = runs.flatMap((r) => (r.steady ? [r.steady] : []));
  const figure: Figure = {
    system,
    store,
    value: Math.round((objects / ms) * 1000),
    ...(steadies.length ? { steady: Math.round(median(steadies)) } : {}),
    ms: Math.round(ms),
    objects,
  };
  results.push(figure);
  console.log(
    `${system.padEnd(22)} ${store.padEnd(9)} ${String(figure.value).padStart(8)} objects/s${figure.steady ? ` (steady ${figure.steady})` : ''}  ${figure.ms} ms`,
  );
}

const goBinary = (await goMissing()) ? undefined : await buildGoProgram('go-interop');
if (!goBinary) console.log(`go connector skipped: ${await goMissing()}`);
// STORES=sqlite and SYSTEMS=ts-sdk,limit,... narrow a look (profiling); NO_WRITE=1 keeps the results.
const wantStores = (process.env.STORES ?? 'sqlite,postgres').split(',');
const wantSystem = (system: string) =>
  !process.env.SYSTEMS || process.env.SYSTEMS.split(',').some((s) => system.startsWith(s));
const stores: ('sqlite' | 'postgres')[] = wantStores.includes('sqlite') ? ['sqlite'] : [];
if (!wantStores.includes('postgres')) {
  /* left out */
} else if (await portOpen(SERVICES.postgres.port)) stores.push('postgres');
else console.log('postgres skipped: not reachable on 127.0.0.1:5432');

const loadBefore = loadavg()[0]!;
console.log(
  `sync-ingest: ${PAGES} pages x ${PER_PAGE} objects, ${RUNS} run(s) each; load average ${loadBefore.toFixed(1)}`,
);
if (wantSystem('ts-sdk, no store'))
  await measure('ts-sdk, no store', 'none', async () => {
    let n = 0;
    const t0 = performance.now();
    await runConnector({
      command: tsCommand,
      cwd: home.path,
      options,
      onPage: async (o) => {
        n += o.length;
      },
      onLog: () => {},
    });
    return { ms: performance.now() - t0, objects: n };
  });
for (const store of stores) {
  // Warm-up (JIT, page cache): measured first, the limit was otherwise slower than the store itself.
  await limit(store, 20);
  if (wantSystem('limit'))
    await measure('limit (in-process)', store, async () => ({ ms: await limit(store), objects: PAGES * PER_PAGE }));
  if (wantSystem('store'))
    await measure('store (in-process)', store, async () => ({ ms: await viaStore(store), objects: PAGES * PER_PAGE }));
  if (wantSystem('ts-sdk')) await measure('ts-sdk', store, () => viaRunner(store, 'ts-sdk', tsCommand));
  if (goBinary && wantSystem('go')) await measure('go', store, () => viaRunner(store, 'go', `"${goBinary}"`));
  if (wantSystem('airbyte'))
    await measure('airbyte', store, () => viaRunner(store, 'airbyte', airbyteCommand, 'airbyte'));
}

interface Large {
  store: string;
  connector: 'ts-sdk' | 'go';
  objects: number;
  first: { ms: number; objects: number };
  firstRssMb: number;
  /** The median of three re-syncs; `runs` has all three (ms). */
  incremental: { ms: number; objects: number; runs: number[] };
  full: { ms: number; objects: number };
  peakRssMb: number;
}
const large: Large[] = [];
if (LARGE_OBJECTS > 0 && wantSystem('large')) {
  const { execFile } = await import('node:child_process');
  const goLarge = goBinary ? await buildGoProgram('go-bench') : undefined;
  const connectors = [
    { connector: 'ts-sdk' as const, command: tsCommand },
    ...(goLarge ? [{ connector: 'go' as const, command: `"${goLarge}"` }] : []),
  ];
  for (const store of stores)
    for (const { connector, command } of connectors) {
      const script = fileURLToPath(new URL('./sync-ingest/large.ts', import.meta.url));
      const stdout = await new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          ['--import', 'tsx', script, store, String(LARGE_OBJECTS), command, home.path, PG_URL],
          { maxBuffer: 1 << 20, env: { ...process.env, SWITCHBOARD_LOG_LEVEL: 'silent' } },
          (err, out, errOut) =>
            err ? reject(new Error(`large sync on ${store} (${connector}): ${errOut || err.message}`)) : resolve(out),
        ),
      );
      const r = { ...(JSON.parse(stdout.trim().split('\n').at(-1)!) as Omit<Large, 'connector'>), connector };
      large.push(r);
      console.log(
        `large ${store} ${connector}: ${r.objects} objects in ${r.first.ms} ms (${Math.round((r.objects / r.first.ms) * 1000)}/s), peak RSS ${r.peakRssMb} MB; 1% re-sync ${r.incremental.ms} ms (median of ${r.incremental.runs.join(', ')}; ${r.incremental.objects} objects) vs full refresh ${r.full.ms} ms: ${(r.full.ms / r.incremental.ms).toFixed(1)}x`,
      );
    }
}

const by = (system: string, store: string) => results.find((r) => r.system === system && r.store === store);
const ratios: Record<string, number> = {};
for (const store of stores) {
  const lim = by('limit (in-process)', store);
  for (const system of ['ts-sdk', 'go', 'airbyte', 'store (in-process)']) {
    const r = by(system, store);
    if (lim && r) {
      ratios[`${system} / limit (${store})`] = Number((r.value / lim.value).toFixed(2));
      if (r.steady) ratios[`${system} steady / limit (${store})`] = Number((r.steady / lim.value).toFixed(2));
    }
  }
}
for (const store of stores) {
  const a = by('airbyte', store);
  const t = by('ts-sdk', store);
  if (a && t) ratios[`airbyte / ts-sdk (${store})`] = Number((a.value / t.value).toFixed(2));
}
for (const l of large)
  ratios[`full refresh / 1% re-sync (${l.store}, ${l.connector})`] = Number((l.full.ms / l.incremental.ms).toFixed(1));
console.log(ratios);
// Other work on the machine skews every figure: say how busy it was.
const load = { before: Number(loadBefore.toFixed(1)), after: Number(loadavg()[0]!.toFixed(1)) };

if (process.env.NO_WRITE === '1') {
  console.log('NO_WRITE=1: results not written');
  await home.cleanup();
  process.exit(0);
}
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/sync-ingest.json',
  `${JSON.stringify({ name: 'sync-ingest', unit: 'objects/s', date: new Date().toISOString(), node: process.version, objects: PAGES * PER_PAGE, perPage: PER_PAGE, runs: RUNS, loadAverage: load, results, large, ratios }, null, 2)}\n`,
);

// The table in bench/README.md, between this benchmark's markers.
const fmt = (n: number | undefined) => (n === undefined ? 'n/a' : n >= 1000 ? `${(n / 1000).toFixed(1)}k` : String(n));
const lines = [
  `Measured ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${PAGES * PER_PAGE} objects (${PER_PAGE} a page), ${RUNS === 1 ? 'one run' : `medians of ${RUNS} runs`}; 1-minute load average ${load.before} before, ${load.after} after (2 cores).`,
  '',
  '| system | store | objects/s (whole run) | objects/s (first to last page) | ms | vs limit |',
  '|---|---|---|---|---|---|',
  ...results.map((r) => {
    const lim = r.store === 'none' ? undefined : by('limit (in-process)', r.store);
    const ratio =
      lim && r.system !== 'limit (in-process)'
        ? `${(r.value / lim.value).toFixed(2)}x${r.steady ? ` (${(r.steady / lim.value).toFixed(2)}x)` : ''}`
        : '';
    return `| ${r.system} | ${r.store} | ${fmt(r.value)} | ${fmt(r.steady)} | ${r.ms} | ${ratio} |`;
  }),
  ...(large.length
    ? [
        '',
        `Large syncs (${large[0]!.objects.toLocaleString('en-US')} objects, one process per store and connector; 1-minute load average ${load.before} before, ${load.after} after):`,
        '',
        '| store | connector | first sync: objects/s (ms) | peak RSS of the syncing process | 1% changed, incremental: ms, median of 3 (objects) | full refresh: ms | full / incremental |',
        '|---|---|---|---|---|---|---|',
        ...large.map(
          (l) =>
            `| ${l.store} | ${l.connector} | ${fmt(Math.round((l.objects / l.first.ms) * 1000))} (${l.first.ms}) | ${l.peakRssMb} MB | ${l.incremental.ms} (${l.incremental.objects}) | ${l.full.ms} | ${(l.full.ms / l.incremental.ms).toFixed(1)}x |`,
        ),
      ]
    : []),
];
const readme = readFileSync('bench/README.md', 'utf8');
const begin = '<!-- sync-ingest:begin -->';
const end = '<!-- sync-ingest:end -->';
if (readme.includes(begin) && readme.includes(end)) {
  writeFileSync(
    'bench/README.md',
    readme.replace(new RegExp(`${begin}[\\s\\S]*${end}`), `${begin}\n${lines.join('\n')}\n${end}`),
  );
} else {
  console.log('bench/README.md has no sync-ingest markers; table not written');
}
await home.cleanup();
