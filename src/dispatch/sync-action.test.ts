// Sync as an action, end to end under `switchboard start` (the dispatcher and the sync service on
// one hub and one store): a timer's tick starts a sync of a real sync connector (the sync tests'
// pages connector), the execution names its run, the run's result chains into a second sync, a
// sync that fails is tried again, and an account that does not exist is refused with a sentence.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { getLogger } from '../core/log.js';
import { freePort, tempDir, waitFor } from '../core/test/support.js';
import { openSync } from '../sync/open.js';
import type { ExecutionRecord } from './dispatcher/types.js';
import { exampleCommand } from './examples.js';
import { openDispatchDb } from './open.js';
import { startAgent } from './run.js';
import { parseTriggers } from './trigger/parse.js';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'switchboard.js');
const log = getLogger('dispatch-test');
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const f of cleanups.reverse()) await f().catch(() => undefined);
});

const pages = fileURLToPath(new URL('../sync/test/fixtures/pages-connector.ts', import.meta.url));

const TRIGGERS = `
- name: tick-sync
  when: { kind: timer, event: tick }
  filters: [ { path: n, op: eq, value: 2 } ]
  then: { sync: pages/a, emit: synced }
- name: after-sync
  when: { kind: sync, event: synced }
  filters: [ { path: account, op: eq, value: pages/a } ]
  then: { sync: b }
- name: broken-sync
  when: { kind: timer, event: tick }
  filters: [ { path: n, op: eq, value: 3 } ]
  then: { sync: pages/broken, attempts: 2, backoff: 200ms }
- name: no-such-account
  when: { kind: timer, event: tick }
  filters: [ { path: n, op: eq, value: 3 } ]
  then: { sync: nobody-here }
`;

void test('a timer event starts a sync; the execution names the run; chains, retries and refusals', async () => {
  const home = await tempDir('sb-sync-action-');
  cleanups.push(home.cleanup);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SWITCHBOARD_FROM_SOURCE: '1',
    SWITCHBOARD_HOME: home.path,
    SWITCHBOARD_LOG_LEVEL: 'warn',
    SWITCHBOARD_AMQP_URL: '',
    SWITCHBOARD_DATABASE_URL: '',
  };
  delete process.env.SWITCHBOARD_DATABASE_URL;

  // The sync side: a connector and three accounts, on the store `switchboard start` will use.
  const sync = await openSync({ home: home.path });
  cleanups.push(() => sync.close());
  const src = join(home.path, 'src.txt');
  await writeFile(src, 'x');
  const command = `"${process.execPath}" --import "${import.meta.resolve('tsx')}" "${pages}"`;
  await sync.installConnector(JSON.stringify({ name: 'pages', source: 'Local', uri: src, command }));
  await sync.addAccount({ connector: 'pages', name: 'a', options: '{"pages": 3, "perPage": 5}' });
  await sync.addAccount({ connector: 'pages', name: 'b', options: '{"pages": 1, "perPage": 2, "prefix": "b"}' });
  await sync.addAccount({ connector: 'pages', name: 'broken', options: '{"pages": 2, "failBefore": 1}' });

  const { db, close } = await openDispatchDb({ home: home.path });
  cleanups.push(close);
  const token = await db.issueToken('timer');
  await db.addTriggers(parseTriggers(TRIGGERS, 'sync.yml'));

  const address = `cd://127.0.0.1:${await freePort()}`;
  const hub = spawn(
    process.execPath,
    [bin, 'start', '--local-listen', address, '--http', 'off', '--signal', 'off', '--unix-listen', 'off'],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  hub.stdout.on('data', (c: Buffer) => (out += c.toString()));
  hub.stderr.on('data', (c: Buffer) => (out += c.toString()));
  cleanups.push(async () => {
    if (hub.exitCode === null && hub.signalCode === null) {
      hub.kill('SIGTERM');
      await new Promise((r) => hub.once('exit', r));
    }
  });
  await waitFor(() => out.includes('dispatcher'), { timeoutMs: 30_000, what: `the hub to start (output: ${out})` });

  const timer = await startAgent({
    command: exampleCommand('timer'),
    kind: 'timer',
    id: 'timer-1',
    token,
    dispatcher: address,
    env: { set: { TIMER_INTERVAL_MS: '300' } },
    log,
  });
  cleanups.push(() => timer.stop());

  const settled = (trigger: string) =>
    waitFor(
      async () => {
        const [x] = await db.listExecutions({ trigger });
        return x && (x.status === 'done' || x.status === 'failed') ? x : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: `an execution of ${trigger} to end` },
    );

  // The tick starts the sync; the execution ends with the run and names it.
  const first: ExecutionRecord = await settled('tick-sync');
  assert.equal(first.status, 'done', first.error ?? '');
  assert.equal(first.target, 'sync:pages/a');
  assert.equal(typeof first.runId, 'number');
  const run = await sync.getRun(first.runId!);
  assert.deepEqual([run.accountName, run.status, run.objects, run.startedBy], ['a', 'succeeded', 15, 'action']);
  assert.deepEqual(first.outputs, {
    runId: run.id,
    account: 'pages/a',
    connector: 'pages',
    status: 'succeeded',
    objects: 15,
    pages: 3,
  });
  assert.equal((await sync.listData({ accounts: ['pages/a'] })).total, 15);

  // Its result, emitted as `synced` from the connector `sync`, starts the next sync.
  const second = await settled('after-sync');
  assert.equal(second.status, 'done', second.error ?? '');
  assert.equal(second.eventId, `emit:${first.id}`);
  assert.deepEqual([second.eventConnector, second.eventKey, second.eventHops], ['sync', 'synced', 1]);
  assert.equal((await sync.getRun(second.runId!)).accountName, 'b');

  // A sync that fails is tried again after its back-off; both runs are recorded.
  const broken = await settled('broken-sync');
  assert.equal(broken.status, 'failed');
  assert.equal(broken.attempt, 2);
  assert.match(broken.error!, new RegExp(`^sync run ${broken.runId} of pages/broken failed: `));
  assert.equal(broken.attempts.length, 2);
  const brokenRuns = await sync.listRuns({ account: 'pages/broken' });
  assert.deepEqual(
    brokenRuns.map((r) => [r.status, r.startedBy]),
    [
      ['failed', 'action'],
      ['failed', 'action'],
    ],
  );

  // An account that is not there: refused with the sync library's sentence.
  const missing = await settled('no-such-account');
  assert.equal(missing.status, 'failed');
  assert.match(missing.error!, /^cannot start the sync of nobody-here: .*no account "nobody-here"/);
  assert.equal(missing.runId, null);

  // The log links the run.
  const logged = await promisify(execFile)(
    process.execPath,
    [bin, 'trigger', 'log', '--trigger', 'tick-sync', '--home', home.path],
    { env },
  );
  assert.match(logged.stdout, new RegExp(`sync:pages/a run ${run.id}`));
});
