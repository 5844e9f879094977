// The host against a real subprocess written with the SDK: the happy paths (unix, tcp, AutoMTLS)
// and every way a connector can misbehave.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { tempDir } from '../../core/test/support.js';
import { checkConnector, runConnector, startPlugin } from './index.js';
import { methods } from '../proto/index.js';
import { unary } from './rpc.js';
import {
  ConnectorCancelledError,
  ConnectorSyncError,
  PageRejectedError,
  PluginExitedError,
  PluginHandshakeError,
  PluginTimeoutError,
} from './errors.js';
import type { DataObject, PluginLogEntry, RunConnectorOptions } from './types.js';

const fixture = fileURLToPath(new URL('./fixtures/behaving-connector.ts', import.meta.url));
// tsx by URL: the command runs in a temp folder where a bare `tsx` does not resolve.
const connectorCommand = `"${process.execPath}" --import "${import.meta.resolve('tsx')}" "${fixture}"`;
const work = await tempDir('sb-goplugin-');
after(() => work.cleanup());

function run(options: Record<string, unknown>, extra: Partial<RunConnectorOptions> = {}) {
  const pages: DataObject[][] = [];
  const logs: PluginLogEntry[] = [];
  const result = runConnector({
    command: connectorCommand,
    cwd: work.path,
    options: JSON.stringify(options),
    onPage: async (objects) => {
      pages.push(objects);
    },
    onLog: (e) => logs.push(e),
    ...extra,
  });
  return { result, pages, logs };
}

/** Gone, or a zombie nobody reaped yet (it no longer runs). */
function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return /^\d+ \(.*\) Z/.test(stat);
}

void test('an SDK connector syncs pages in order, with logs and metadata (unix socket)', async () => {
  const { result, pages, logs } = run({ pages: 4, perPage: 5, logLines: 2, metadata: 'cursor-42' });
  const r = await result;
  assert.deepEqual(r, { metadata: 'cursor-42', pages: 4, objects: 20, checkpoints: 0 });
  assert.deepEqual(
    pages.map((p) => p[0]!.remoteId),
    ['obj-0-0', 'obj-1-0', 'obj-2-0', 'obj-3-0'],
  );
  assert.deepEqual(pages[2]![3], {
    remoteId: 'obj-2-3',
    resourceName: 'Object 2/3',
    uri: 'test://2/3',
    metadata: '{"page":2,"index":3}',
  });
  const working = logs.filter((l) => l.message === 'working');
  assert.deepEqual(
    working.map((l) => [l.level, l.fields.step, l.stream]),
    [
      ['info', 0, 'stderr'],
      ['info', 1, 'stderr'],
    ],
  );
});

void test('pages in flight are stored in the order they were sent, even when a small one overtakes a big one', async () => {
  const sizes = [3_000_000, 10, 2_000_000, 10, 10, 1_000_000, 10];
  const { result, pages } = run({ sizes });
  assert.equal((await result).pages, sizes.length);
  assert.deepEqual(
    pages.map((p) => p[0]!.remoteId),
    sizes.map((_, i) => `sized-${i}`),
  );
  assert.deepEqual(
    pages.map((p) => p[0]!.metadata.length),
    sizes,
  );
});

void test('TCP address and AutoMTLS on the main connection and the brokered callback', async () => {
  const { result, pages } = run({ pages: 3, perPage: 2 }, { env: { FIXTURE_NETWORK: 'tcp' }, autoMTLS: true });
  assert.deepEqual(await result, { metadata: 'done:3', pages: 3, objects: 6, checkpoints: 0 });
  assert.equal(pages.length, 3);
});

void test('startPlugin: the SDK honours PLUGIN_UNIX_SOCKET_DIR, reports health SERVING; close() ends the process', async () => {
  const session = await startPlugin({
    command: connectorCommand,
    cwd: work.path,
    env: { PLUGIN_UNIX_SOCKET_DIR: work.path },
    onLog: () => {},
  });
  assert.equal(session.handshake.network, 'unix');
  assert.ok(session.handshake.address.startsWith(work.path), session.handshake.address);
  assert.deepEqual(await unary(session.client, methods.healthCheck, { service: 'plugin' }), { status: 'SERVING' });
  const exit = await session.close();
  assert.equal(exit.code, 0);
  assert.ok(!existsSync(session.handshake.address), 'socket removed on Shutdown');
});

void test('a connector that exits mid-sync: typed error with exit code and stderr tail; delivered pages stay', async () => {
  const { result, pages } = run({ pages: 5, perPage: 2, exitAfter: 2 });
  await assert.rejects(result, (err: unknown) => {
    assert.ok(err instanceof PluginExitedError, String(err));
    assert.equal(err.code, 'PLUGIN_EXITED');
    assert.equal(err.exitCode, 3);
    assert.match(err.stderrTail, /the source went away/);
    assert.match(err.message, /exited with code 3 during Sync[\s\S]*the source went away/);
    return true;
  });
  assert.equal(pages.length, 2);
});

void test('Sync returning an error is a ConnectorSyncError; the host carries on', async () => {
  const { result, pages } = run({ pages: 5, failAfter: 1 });
  await assert.rejects(
    result,
    (err: unknown) =>
      err instanceof ConnectorSyncError &&
      err.code === 'SYNC_FAILED' &&
      /503 on page 2/.test(err.message) &&
      err.phase === 'sync',
  );
  assert.equal(pages.length, 1);
  // Same host process, next run is fine.
  assert.equal((await run({ pages: 1 }).result).pages, 1);
});

void test('a bad handshake line fails at once with the line quoted', async () => {
  const t0 = Date.now();
  await assert.rejects(
    runConnector({
      command: 'echo "Starting my connector..."; sleep 20',
      cwd: work.path,
      options: '{}',
      onPage: async () => {},
    }),
    (err: unknown) => err instanceof PluginHandshakeError && /"Starting my connector\.\.\."/.test(err.message),
  );
  assert.ok(Date.now() - t0 < 20_000, 'well before the 60 s handshake timeout');
});

void test('no handshake within the timeout: PluginTimeoutError, the process group is killed', async () => {
  const pidFile = join(work.path, 'silent.pid');
  await assert.rejects(
    runConnector({
      command: `echo $$ > "${pidFile}"; echo "waiting for nothing" >&2; sleep 30`,
      cwd: work.path,
      options: '{}',
      onPage: async () => {},
      handshakeTimeoutMs: 1500,
    }),
    (err: unknown) =>
      err instanceof PluginTimeoutError &&
      err.code === 'TIMEOUT' &&
      /within 1500 ms/.test(err.message) &&
      /waiting for nothing/.test(err.stderrTail),
  );
  const pid = Number(readFileSync(pidFile, 'utf8'));
  assert.ok(processGone(pid));
});

void test('a process that dies before its handshake reports the exit and its stderr', async () => {
  await assert.rejects(
    runConnector({
      command: 'echo "missing library libfoo" >&2; exit 7',
      cwd: work.path,
      options: '{}',
      onPage: async () => {},
    }),
    (err: unknown) =>
      err instanceof PluginExitedError &&
      err.exitCode === 7 &&
      /before printing its handshake/.test(err.message) &&
      /libfoo/.test(err.message),
  );
});

void test('a page over 4 MiB is rejected with a clear error; earlier pages stay', async () => {
  const { result, pages } = run({ pages: 0, bigPageBytes: 5 * 1024 * 1024 });
  await assert.rejects(
    result,
    (err: unknown) =>
      err instanceof PageRejectedError &&
      err.code === 'PAGE_REJECTED' &&
      /page 1 is 5\.00 MiB, over the host's limit of 4\.00 MiB/.test(err.message),
  );
  assert.equal(pages.length, 0);
  // The limit is the host's choice.
  const big = run({ pages: 0, bigPageBytes: 5 * 1024 * 1024 }, { maxPageBytes: 8 * 1024 * 1024 });
  assert.equal((await big.result).pages, 1);
});

void test('onPage throwing fails the run with that error, after the pages before it', async () => {
  let n = 0;
  const storeDown = new Error('database is locked');
  await assert.rejects(
    runConnector({
      command: connectorCommand,
      cwd: work.path,
      options: JSON.stringify({ pages: 5 }),
      onLog: () => {},
      onPage: async () => {
        if (++n === 3) throw storeDown;
      },
    }),
    (err: unknown) => err === storeDown,
  );
  assert.equal(n, 3);
});

void test('cancelling kills the whole process group: no orphan left', async () => {
  const pidFile = join(work.path, 'hang.json');
  const controller = new AbortController();
  const { result } = run({ hangPidFile: pidFile }, { signal: controller.signal });
  const pids = await (async () => {
    for (let i = 0; i < 1200 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 50));
    return JSON.parse(readFileSync(pidFile, 'utf8')) as { plugin: number; grandchild: number };
  })();
  assert.ok(!processGone(pids.grandchild));
  controller.abort();
  await assert.rejects(result, (err: unknown) => err instanceof ConnectorCancelledError && err.code === 'CANCELLED');
  // SIGKILL is delivered at once but the kernel may take a moment to tear a process down.
  for (let i = 0; i < 100 && !(processGone(pids.plugin) && processGone(pids.grandchild)); i++)
    await new Promise((r) => setTimeout(r, 20));
  assert.ok(processGone(pids.plugin), 'connector process gone');
  assert.ok(processGone(pids.grandchild), 'its child gone too');
});

void test('Check: refused options fail before Sync; checkConnector reports them', async () => {
  const { result, pages } = run({ pages: 3, refuse: 'the token is expired' });
  await assert.rejects(
    result,
    (err: unknown) =>
      err instanceof ConnectorSyncError &&
      err.phase === 'check' &&
      /refused the options: the token is expired/.test(err.message),
  );
  assert.equal(pages.length, 0);
  const checked = await checkConnector({
    command: connectorCommand,
    cwd: work.path,
    options: '{"refuse":"no access"}',
    onLog: () => {},
  });
  assert.deepEqual(checked, { supported: true, ok: false, message: 'no access' });
  assert.deepEqual(
    await checkConnector({ command: connectorCommand, cwd: work.path, options: 'not json', onLog: () => {} }),
    {
      supported: true,
      ok: false,
      message: 'the options are not valid JSON: Unexpected token \'o\', "not json" is not valid JSON',
    },
  );
});

void test('the SDK refuses to run without the magic cookie', () => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.BASIC_PLUGIN;
  const r = spawnSync(process.execPath, ['--import', 'tsx', fixture], { env, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /This binary is a plugin/);
  assert.equal(r.stdout, '');
});
