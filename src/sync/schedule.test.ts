// Schedules: parsing, next runs with jitter, the claim that makes a due sync run once across
// sync services, and a schedule firing under `switchboard start`.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../core/test/support.js';
import { testStore } from '../store/test/test-store.js';
import { openSync, type SyncApi } from './open.js';
import { claimDue, nextAfter, nextRunAt, scheduleFrom } from './schedule.js';
import { Scheduler } from './scheduler.js';
import { cli, pagesCommand } from './test/cli-helpers.js';

void test('schedules: --every and --cron, the next run after a time, jitter within a tenth of the period', () => {
  const every = scheduleFrom({ every: '15m' });
  assert.equal(every.text, 'every 15m');
  const t0 = new Date('2026-01-01T10:07:00Z');
  assert.equal(nextAfter(every, t0).toISOString(), '2026-01-01T10:22:00.000Z');
  const hourly = scheduleFrom({ cron: '0  *  * * *' });
  assert.equal(hourly.text, 'cron 0 * * * *');
  assert.equal(nextAfter(hourly, t0).toISOString(), '2026-01-01T11:00:00.000Z');
  assert.equal(nextRunAt(hourly, t0, () => 0.999).toISOString(), '2026-01-01T11:00:59.940Z');
  assert.equal(nextRunAt(every, t0, () => 0.5).getTime() - nextAfter(every, t0).getTime(), 30_000);
  assert.throws(() => scheduleFrom({ cron: '61 * * * *' }), /the cron expression "61 \* \* \* \*" is not valid/);
  assert.throws(() => scheduleFrom({ every: 'soon' }), /--every must be a duration such as 90s, 15m/);
  assert.throws(() => scheduleFrom({}), /give either --every/);
});

void test('two sync services on one PostgreSQL store: every due sync runs exactly once', async (t) => {
  const s = await testStore(t, 'postgres');
  if (!s) return;
  // Two services, each with its own connection pool to the same schema.
  const apis: SyncApi[] = [
    await openSync({ store: s.store, home: s.home }),
    await openSync({ home: s.home, database: s.url }),
  ];
  t.after(async () => {
    for (const api of apis.reverse()) await api.close();
    await s.cleanup();
  });
  const readme = join(s.home, 'README');
  await writeFile(readme, 'x');
  await apis[0]!.installConnector(
    JSON.stringify({ name: 'pages', source: 'Local', uri: readme, command: pagesCommand }),
  );
  for (const name of ['a', 'b', 'c']) {
    await apis[0]!.addAccount({ connector: 'pages', name, options: '{"pages": 1, "perPage": 2}' });
    await apis[0]!.setSchedule(name, { every: '1h' });
  }
  const runs: string[][] = [[], []];
  const schedulers = apis.map(
    (api, i) => new Scheduler({ db: api.store, home: api.home }, { onRun: (account) => runs[i]!.push(account.name) }),
  );
  const rounds = 4;
  for (let round = 0; round < rounds; round++) {
    // Everything due now; both services look at the same moment.
    await s.store.exec("UPDATE accounts SET next_run_at = '2000-01-01T00:00:00.000Z'");
    await Promise.all(schedulers.map((x) => x.tick()));
    // Wait for the runs both started (the claims are made; stop() waits for what runs).
    await Promise.all(schedulers.map((x) => x.idle()));
  }
  await Promise.all(schedulers.map((x) => x.stop()));
  const all = [...runs[0]!, ...runs[1]!].sort();
  assert.deepEqual(all, ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b', 'c', 'c', 'c', 'c']);
  const recorded = await apis[0]!.listRuns({ limit: 100 });
  assert.equal(recorded.length, 3 * rounds);
  assert.ok(recorded.every((r) => r.startedBy === 'schedule' && r.status === 'succeeded'));
  // The claim alone (without the lease behind it): each due account goes to exactly one service.
  for (let round = 0; round < 20; round++) {
    await s.store.exec("UPDATE accounts SET next_run_at = '2000-01-01T00:00:00.000Z'");
    const claimed = (await Promise.all(apis.map((api) => claimDue(api.store)))).flat().map((a) => a.name);
    assert.deepEqual(claimed.sort(), ['a', 'b', 'c']);
  }
  // Each account's next run moved on by its period.
  for (const a of await apis[0]!.listAccounts()) assert.ok(Date.parse(a.nextRunAt!) > Date.now() + 3_000_000);
});

const root = fileURLToPath(new URL('../../', import.meta.url));
const home = await tempDir('sb-schedule-start-');
after(() => home.cleanup());

void test('under `switchboard start` a schedule fires, and a run missed while it was down runs once at start', async () => {
  const { ok } = cli(home.path, home.path);
  await writeFile(join(home.path, 'README'), 'x');
  await ok(
    'connector',
    'install',
    JSON.stringify({ name: 'pages', source: 'Local', uri: join(home.path, 'README'), command: pagesCommand }),
  );
  await ok('account', 'add', '--connector', 'pages', '--name', 'missed', '--no-check', '--options', '{"pages": 1}');
  await ok('account', 'add', '--connector', 'pages', '--name', 'often', '--no-check', '--options', '{"pages": 1}');
  await ok('account', 'schedule', 'missed', '--every', '1d');
  assert.match(await ok('account', 'schedule', 'often', '--every', '2s'), /syncs every 2s; next run 20/);
  // "missed" was due an hour ago, while nothing ran.
  const sync = await openSync({ home: home.path, database: join(home.path, 'switchboard.db') });
  t_after(() => sync.close());
  await sync.store.exec("UPDATE accounts SET next_run_at = ? WHERE name = 'missed'", [
    new Date(Date.now() - 3_600_000).toISOString(),
  ]);
  const list = await ok('account', 'list');
  assert.match(list, /SCHEDULE\s+NEXT RUN/);
  assert.match(list, /every 2s/);

  const hub = spawn(
    process.execPath,
    [
      join(root, 'bin/switchboard.js'),
      'start',
      '--local-listen',
      'cd://127.0.0.1:0',
      '--signal',
      'off',
      '--http',
      'off',
    ],
    {
      cwd: home.path,
      env: {
        ...process.env,
        SWITCHBOARD_FROM_SOURCE: '1',
        SWITCHBOARD_HOME: home.path,
        SWITCHBOARD_LOG_LEVEL: 'silent',
        SWITCHBOARD_DATABASE_URL: '',
      },
      stdio: 'ignore',
    },
  );
  try {
    const started = Date.now();
    // Until the scheduler has run "often" twice and "missed" once.
    for (;;) {
      const runs = await sync.listRuns({ limit: 50 });
      const often = runs.filter((r) => r.accountName === 'often' && r.status === 'succeeded');
      const missed = runs.filter((r) => r.accountName === 'missed');
      if (often.length >= 2 && missed.length >= 1) {
        assert.equal(missed.length, 1);
        assert.ok(runs.every((r) => r.startedBy === 'schedule'));
        break;
      }
      assert.ok(Date.now() - started < 120_000, `no scheduled runs: ${JSON.stringify(runs)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    hub.kill('SIGTERM');
    await new Promise((r) => hub.once('exit', r));
  }
});

function t_after(fn: () => Promise<void>): void {
  after(fn);
}
