/**
 * One large sync in a process of its own, so its peak RSS is its own: OBJECTS objects (1M) from a
 * bench connector (the ts-sdk one, bench/sync-ingest/connector.ts, or its Go twin) into a fresh store, then three incremental re-syncs with 1% changed each
 * (the connector's state carries the version it got to; the median counts), then a full refresh of
 * the same objects (state reset: all of them again, then Clean). Prints one JSON line.
 *
 *   node --import tsx bench/sync-ingest/large.ts sqlite|postgres OBJECTS "<connector command>" HOME [PG_URL]
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { openSync } from '../../src/sync/open.js';

const [store, objectsArg, command, home, pgUrl] = process.argv.slice(2) as [string, string, string, string, string?];
const objects = Number(objectsArg);
const perPage = 1000;
const pages = Math.ceil(objects / perPage);
const schema = `sb_bench_large_${randomBytes(5).toString('hex')}`;
const database =
  store === 'sqlite' ? join(home, `large-${randomBytes(4).toString('hex')}.db`) : `${pgUrl}?schema=${schema}`;
const sync = await openSync({ home, database });
const rssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);
try {
  writeFileSync(join(home, 'README'), 'bench');
  await sync.installConnector(JSON.stringify({ name: 'big', source: 'Local', uri: join(home, 'README'), command }));
  await sync.addAccount({ connector: 'big', name: 'big', options: JSON.stringify({ pages, perPage, version: 1 }) });
  const run = async (version: number) => {
    await sync.updateAccount('big', { options: JSON.stringify({ pages, perPage, version }) });
    const t0 = performance.now();
    const [o] = await sync.sync(['big'], { onLog: () => {} });
    const ms = performance.now() - t0;
    if (!o?.run?.success) throw new Error(`run failed: ${o?.run?.error ?? o?.error?.message}`);
    return { ms: Math.round(ms), objects: o.run.objects };
  };
  const first = await run(1);
  const firstRss = rssMb();
  // Three re-syncs, each with another 1% changed (versions 2, 3, 4): one run is a third of a second,
  // where a stray scheduling hiccup moves the ratio by a quarter; their median is the figure.
  const resyncs = [await run(2), await run(3), await run(4)];
  const median = [...resyncs].sort((a, b) => a.ms - b.ms)[1]!;
  const incremental = { ...median, runs: resyncs.map((r) => r.ms) };
  await sync.resetState('big');
  const full = await run(5);
  const total = (await sync.listData({ accounts: ['big'], pageSize: 1 })).total;
  if (total !== pages * perPage) throw new Error(`expected ${pages * perPage} objects stored, found ${total}`);
  process.stdout.write(
    `${JSON.stringify({ store, objects: pages * perPage, first, firstRssMb: firstRss, incremental, full, peakRssMb: rssMb() })}\n`,
  );
} finally {
  await sync.close();
  if (store === 'postgres') {
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.end();
  }
}
