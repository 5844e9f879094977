import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type SwitchboardClient } from '../client/index.js';
import type { ExtensionHandle } from '../hub/context.js';
import type { Hub } from '../hub/hub.js';
import { startTestHub } from '../hub/test/support.js';
import { openSync, type SyncApi } from './open.js';
import { syncService } from './service.js';

const fixture = fileURLToPath(new URL('./test/fixtures/pages-connector.ts', import.meta.url));
const command = `"${process.execPath}" --import "${import.meta.resolve('tsx')}" "${fixture}"`;

let hub: Hub;
let handle: ExtensionHandle | undefined;
let sync: SyncApi;
let client: SwitchboardClient;

before(async () => {
  delete process.env.SWITCHBOARD_DATABASE_URL;
  hub = await startTestHub();
  handle = await syncService({ dataPath: hub.config.dataPath }).start(hub);
  // The same store as the service (one SQLite file under the hub's data path).
  sync = await openSync({ home: hub.config.dataPath });
  const src = join(hub.config.dataPath, 'src.txt');
  await writeFile(src, 'x');
  await sync.installConnector(JSON.stringify({ name: 'pages', source: 'Local', uri: src, command }));
  await sync.addAccount({ connector: 'pages', name: 'a', options: '{"pages": 2, "perPage": 4}' });
  const local = hub.addresses.find((a) => a.kind === 'local')!;
  // Sending to the built-in `sync` needs a grant: the admin token, as the user who started the hub has it.
  client = await connect(local.url, {
    format: 'json',
    reconnect: false,
    requestTimeoutMs: 60_000,
    token: hub.adminToken!,
  });
  await client.register('sync_test_client');
});

after(async () => {
  client.dispose();
  await handle?.stop();
  await sync.close();
  await hub.stop();
});

const ask = (command: string, params: Record<string, string | number | string[]> = {}) =>
  client.message(command).to('sync').params(params).request();

void test('the sync service lists, syncs, pages data and sets notes over the hub', async () => {
  assert.ok(handle);
  const connectors = await ask('LIST_CONNECTORS');
  assert.equal(connectors.command, 'CONNECTORS');
  assert.deepEqual(
    (connectors.params.connectors as { name: string }[]).map((c) => c.name),
    ['pages'],
  );
  const accounts = await ask('LIST_ACCOUNTS', { connector: 'pages' });
  assert.deepEqual(
    (accounts.params.accounts as { name: string }[]).map((a) => a.name),
    ['a'],
  );

  const synced = await ask('SYNC', { accounts: 'a' });
  assert.equal(synced.command, 'SYNCED');
  assert.equal(synced.params.failed, 0);
  assert.equal((synced.params.runs as { run: { objects: number } }[])[0]!.run.objects, 8);

  const data = await ask('LIST_DATA', { account: 'a', page_size: 5, page: 2 });
  assert.deepEqual([data.params.total, data.params.pages, (data.params.items as unknown[]).length], [8, 2, 3]);
  const ordered = await ask('LIST_DATA', { order: 'remote-id', asc: 'true', page_size: 2 });
  assert.deepEqual(
    (ordered.params.items as { remoteId: string }[]).map((o) => o.remoteId),
    ['obj-0-0', 'obj-0-1'],
  );
  const id = (data.params.items as { id: number }[])[0]!.id;
  const noted = await ask('NOTE', { id, notes: 'seen' });
  assert.equal((noted.params.object as { notes: string }).notes, 'seen');
  const runs = await ask('LIST_RUNS', { account: 'a' });
  assert.equal((runs.params.runs as { success: boolean }[])[0]!.success, true);
});

void test('bad parameters get an ERROR naming them', async () => {
  await assert.rejects(ask('NOTE', { id: 'x', notes: 'y' }), /NOTE: id:/);
  await assert.rejects(ask('LIST_DATA', { account: 'nobody' }), /no account "nobody"/);
  await assert.rejects(ask('LIST_DATA', { order: 'size' }), /LIST_DATA: order:/);
});

void test('START_SYNC answers with the run id at once (or with its end, wait=true); GET_RUN reads it', async () => {
  const started = await ask('START_SYNC', { account: 'a' });
  assert.equal(started.command, 'SYNC_STARTED');
  const run = started.params.run as { id: number; status: string; startedBy: string };
  assert.deepEqual([run.status, run.startedBy], ['running', 'action']);
  // The run ends on its own; GET_RUN shows it when it did.
  for (;;) {
    const got = (await ask('GET_RUN', { id: run.id })).params.run as { status: string; objects: number };
    if (got.status !== 'running') {
      assert.deepEqual([got.status, got.objects], ['succeeded', 8]);
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const waited = await ask('START_SYNC', { account: 'a', wait: 'true' });
  assert.equal(waited.command, 'SYNC_DONE');
  assert.equal((waited.params.run as { status: string }).status, 'succeeded');
  await assert.rejects(ask('START_SYNC', { account: 'nobody' }), /no account "nobody"/);
});

void test('the sync service closes runs a crash left open when it starts', async () => {
  const [acct] = await sync.listAccounts();
  const [row] = await sync.store.query<{ id: number }>(
    "INSERT INTO sync_runs (account_id, account_name, connector, started_at, status) VALUES (?, 'a', 'pages', ?, 'running') RETURNING id",
    [acct!.id, new Date().toISOString()],
  );
  await handle?.stop();
  handle = await syncService({ dataPath: hub.config.dataPath }).start(hub);
  const run = await sync.getRun(Number(row!.id));
  assert.equal(run.status, 'abandoned');
  assert.match(run.error ?? '', /^abandoned: /);
});
