/**
 * The dashboard's write endpoints over a real `switchboard start` hub: a real example connector
 * (directory) installed, checked, synced with progress over /api/live; triggers from YAML text;
 * bad input of every kind answered with a sentence and the right status.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { tempDir, waitFor } from '../core/test/support.js';
import { startWithDashboard, type Running } from './test/harness.js';

let running: Running;
let tree: { path: string; cleanup: () => Promise<void> };
/** The directory the connector syncs (7 files); manifests go beside it. */
let root: string;

before(async () => {
  running = await startWithDashboard();
  tree = await tempDir('switchboard-tree-');
  root = join(tree.path, 'root');
  await mkdir(join(root, 'sub'), { recursive: true });
  for (let i = 0; i < 7; i++) await writeFile(join(root, i % 2 ? 'sub' : '', `file${i}.txt`), `content ${i}`);
});

after(async () => {
  await running?.stop();
  await tree?.cleanup();
  delete process.env.SWITCHBOARD_HTTP;
});

type Json = Record<string, unknown>;
interface ErrorBody {
  error: { code: string; message: string; data?: Json };
}

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${running.url}${path}`, {
    method,
    headers: { ...running.headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  return { status: res.status, body: (await res.json()) as Json };
}

function error(r: { body: Json }): ErrorBody['error'] {
  return (r.body as unknown as ErrorBody).error;
}

void test('connectors: install an example (name override), refuse duplicates and bad manifests, update, remove only without accounts', async () => {
  const examples = await call('GET', '/api/examples');
  assert.deepEqual((examples.body.examples as { name: string }[]).map((e) => e.name).sort(), [
    'directory',
    'http-json',
  ]);

  // With a progress id the install's output is pushed live as it comes.
  const ws = new WebSocket(`${running.url.replace('http', 'ws')}/api/live?token=${running.token}`);
  const output: string[] = [];
  ws.on('message', (data: Buffer) => {
    const f = JSON.parse(data.toString()) as { type: string; progress?: string; text?: string };
    if (f.type === 'connector-output' && f.progress === 'p1') output.push(f.text!);
  });
  await new Promise((r) => ws.once('open', r));
  const installed = await call('POST', '/api/connectors', { example: 'directory', name: 'disk', progress: 'p1' });
  assert.equal(installed.status, 201, JSON.stringify(installed.body));
  await waitFor(() => output.join('').includes('installed disk'), { what: 'the live install output' });
  assert.equal(output.join(''), installed.body.output);
  ws.close();
  assert.equal((installed.body.connector as { name: string }).name, 'disk');
  assert.match(installed.body.output as string, /installed disk/);
  const again = await call('POST', '/api/connectors', { example: 'directory', name: 'disk' });
  assert.equal(again.status, 409);
  assert.match(error(again).message, /installed already/);

  const badManifest = await call('POST', '/api/connectors', {
    manifest: { name: 'x', source: 'FTP', uri: '/tmp', command: 'true' },
  });
  assert.equal(badManifest.status, 400);
  assert.match(error(badManifest).message, /field "source" must be one of HTTP, VCS or Local/);
  const badText = await call('POST', '/api/connectors', { manifest: '{"name": "x",' });
  assert.equal(badText.status, 400, JSON.stringify(badText.body));
  // A file that is not JSON is named, never quoted (it could be /etc/shadow).
  const secretFile = join(tree.path, 'not-a-manifest.txt');
  await writeFile(secretFile, 'root:$y$j9T$secret-hash:19000:0:99999:7:::\n');
  const notJson = await call('POST', '/api/connectors', { manifest: secretFile });
  assert.equal(notJson.status, 400);
  assert.match(error(notJson).message, /not-a-manifest\.txt is not valid JSON \(line 1, column 1: /);
  assert.doesNotMatch(JSON.stringify(notJson.body), /root|secret-hash|99999/);
  const missingPath = await call('POST', '/api/connectors', { manifest: join(tree.path, 'no-such-manifest.json') });
  assert.ok(missingPath.status === 400 || missingPath.status === 404, JSON.stringify(missingPath.body));
  const both = await call('POST', '/api/connectors', { example: 'directory', manifest: '{}' });
  assert.equal(both.status, 400);
  assert.match(error(both).message, /either "manifest".*or "example"/);
  const badName = await call('POST', '/api/connectors', { example: 'directory', name: '../etc' });
  assert.equal(badName.status, 400);
  const unknownExample = await call('POST', '/api/connectors', { example: 'ftp' });
  assert.equal(unknownExample.status, 400);
  assert.match(error(unknownExample).message, /no example connector "ftp"/);
  const extra = await call('POST', '/api/connectors', { example: 'directory', colour: 'red' });
  assert.equal(extra.status, 400);
  assert.match(error(extra).message, /colour/);

  // A manifest given as a path, like the CLI takes it.
  const manifestFile = join(tree.path, 'manifest.json');
  await writeFile(manifestFile, JSON.stringify({ name: 'from-file', source: 'Local', uri: root, command: 'true' }));
  const fromPath = await call('POST', '/api/connectors', { manifest: manifestFile });
  assert.equal(fromPath.status, 201, JSON.stringify(fromPath.body));

  const updated = await call('POST', '/api/connectors/from-file/update', { progress: 'p2' });
  assert.equal(updated.status, 200, JSON.stringify(updated.body));
  assert.match(updated.body.output as string, /updated from-file/);
  assert.equal((await call('POST', '/api/connectors/from-file/update')).status, 200, 'no body is fine');
  assert.equal((await call('POST', '/api/connectors/from-file/update', { force: true })).status, 400);
  assert.equal((await call('POST', '/api/connectors/nothing/update')).status, 404);
  assert.equal((await call('GET', '/api/connectors/from-file/update')).status, 405);

  await call('POST', '/api/accounts', { connector: 'from-file', name: 'a', check: false });
  const busy = await call('DELETE', '/api/connectors/from-file');
  assert.equal(busy.status, 409);
  assert.match(error(busy).message, /still has 1 account/);
  const forced = await call('DELETE', '/api/connectors/from-file?force=true');
  assert.equal(forced.status, 200);
  assert.equal(forced.body.accountsRemoved, 1);
  assert.equal((await call('DELETE', '/api/connectors/from-file')).status, 404);
  const names = ((await call('GET', '/api/connectors')).body.connectors as { name: string }[]).map((c) => c.name);
  assert.deepEqual(names, ['disk']);
});

void test('accounts: created with options the connector checks; bad JSON says where; edit and remove', async () => {
  const created = await call('POST', '/api/accounts', {
    connector: 'disk',
    name: 'tree',
    options: { root: root, pageSize: 2 },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.deepEqual(created.body.check, { supported: true, ok: true, message: '' });
  assert.equal((created.body.account as { options: string }).options, JSON.stringify({ root: root, pageSize: 2 }));

  const refused = await call('POST', '/api/accounts', { connector: 'disk', name: 'bad', options: '{"pageSize": 0}' });
  assert.equal(refused.status, 400);
  assert.match(error(refused).message, /refused these options: .*root: .*pageSize/);
  assert.equal(error(refused).data?.field, 'options');
  const missingRoot = await call('POST', '/api/accounts', {
    connector: 'disk',
    name: 'bad',
    options: { root: join(root, 'nope') },
  });
  assert.equal(missingRoot.status, 400);
  assert.match(error(missingRoot).message, /is not a readable directory/);

  const notJson = await call('POST', '/api/accounts', {
    connector: 'disk',
    name: 'bad',
    options: '{\n  "root": "/tmp",\n  pageSize: 2\n}',
  });
  assert.equal(notJson.status, 400);
  assert.match(error(notJson).message, /options are not valid JSON \(line 3, column \d+\)/);
  assert.equal(error(notJson).data?.line, 3);
  assert.equal((await call('POST', '/api/accounts', { connector: 'nothing', name: 'x' })).status, 404);
  const dup = await call('POST', '/api/accounts', { connector: 'disk', name: 'tree', options: { root: root } });
  assert.equal(dup.status, 409);
  const noName = await call('POST', '/api/accounts', { connector: 'disk' });
  assert.equal(noName.status, 400);
  assert.match(error(noName).message, /^account: name:/);
  assert.equal((await call('GET', '/api/accounts')).body.accounts instanceof Array, true);
  assert.equal(((await call('GET', '/api/accounts?connector=disk')).body.accounts as unknown[]).length, 1);

  const edited = await call('PUT', '/api/accounts/disk%2Ftree', {
    options: `{"root": ${JSON.stringify(root)}, "pageSize": 3}`,
  });
  assert.equal(edited.status, 200, JSON.stringify(edited.body));
  assert.equal((edited.body.account as { options: string }).options, JSON.stringify({ root: root, pageSize: 3 }));
  const badEdit = await call('PUT', '/api/accounts/tree', { options: { pageSize: 'many' } });
  assert.equal(badEdit.status, 400);
  const stored = (await call('GET', '/api/accounts/tree')).body.account as { options: string };
  assert.equal(stored.options, JSON.stringify({ root: root, pageSize: 3 }), 'a refused edit changes nothing');
  const nothing = await call('PUT', '/api/accounts/tree', {});
  assert.equal(nothing.status, 400);
  assert.match(error(nothing).message, /nothing to change/);
  assert.equal((await call('PUT', '/api/accounts/nobody', { name: 'x' })).status, 404);

  const temp = await call('POST', '/api/accounts', {
    connector: 'disk',
    name: 'temp',
    options: { root: root },
    check: false,
  });
  assert.equal(temp.status, 201);
  assert.equal(temp.body.check, null);
  const removed = await call('DELETE', `/api/accounts/${(temp.body.account as { id: number }).id}`);
  assert.equal(removed.status, 200);
  assert.equal((await call('DELETE', '/api/accounts/temp')).status, 404);
});

void test('sync: a run started over the API pushes progress on /api/live, then its run and its rows are there', async () => {
  const ws = new WebSocket(`${running.url.replace('http', 'ws')}/api/live?token=${running.token}`);
  const frames: { type: string; job?: unknown; progress?: { phase: string; objects: number; account: string } }[] = [];
  ws.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString()) as (typeof frames)[number]));
  await new Promise((r) => ws.once('open', r));

  const started = await call('POST', '/api/sync', { accounts: ['disk/tree'] });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const job = started.body.job as { id: number; accounts: { name: string }[] };
  assert.deepEqual(
    job.accounts.map((a) => a.name),
    ['tree'],
  );
  const done = await waitFor(
    () => frames.find((f) => f.type === 'sync-job' && (f.job as { finishedAt: string | null }).finishedAt),
    { what: 'the job finished', timeoutMs: 60_000 },
  );
  const progress = frames.filter((f) => f.type === 'sync-progress').map((f) => f.progress!);
  assert.equal(progress[0]!.phase, 'started');
  assert.equal(progress.at(-1)!.phase, 'finished');
  assert.equal(progress.at(-1)!.objects, 7);
  assert.equal(progress[0]!.account, 'disk/tree');
  const outcomes = (done.job as { outcomes: { run: { success: boolean; objects: number } | null; error: unknown }[] })
    .outcomes;
  assert.equal(outcomes[0]!.run!.success, true);
  assert.equal(outcomes[0]!.run!.objects, 7);
  ws.close();

  const data = await call('GET', '/api/data?account=disk/tree&order=remote-id&asc=true');
  assert.deepEqual(
    (data.body.items as { remoteId: string }[]).map((o) => o.remoteId),
    ['file0.txt', 'file2.txt', 'file4.txt', 'file6.txt', 'sub/file1.txt', 'sub/file3.txt', 'sub/file5.txt'],
  );
  const listed = (await call('GET', '/api/accounts?connector=disk')).body.accounts as {
    name: string;
    lastRun: { success: boolean; objects: number } | null;
  }[];
  assert.deepEqual(
    listed.map((a) => [a.name, a.lastRun?.success, a.lastRun?.objects]),
    [['tree', true, 7]],
  );
  const runs = await call('GET', '/api/runs?account=tree');
  assert.equal((runs.body.runs as { success: boolean }[])[0]!.success, true);
  const jobs = await call('GET', '/api/sync');
  assert.equal((jobs.body.jobs as { id: number }[])[0]!.id, job.id);
  assert.equal((await call('GET', `/api/sync/${job.id}`)).status, 200);
  const finished = await call('DELETE', `/api/sync/${job.id}`);
  assert.equal(finished.status, 409);

  // A failing run is recorded with its error.
  await call('PUT', '/api/accounts/tree', { options: { root: join(root, 'gone') }, check: false });
  const failing = await call('POST', '/api/sync', { accounts: ['tree'] });
  const failedJob = await waitFor(
    async () => {
      const j = (await call('GET', `/api/sync/${(failing.body.job as { id: number }).id}`)).body.job as {
        finishedAt: string | null;
        outcomes: { run: { success: boolean; error: string } }[];
      };
      return j.finishedAt ? j : undefined;
    },
    { what: 'the failing job', timeoutMs: 60_000 },
  );
  assert.equal(failedJob.outcomes[0]!.run.success, false);
  assert.match(failedJob.outcomes[0]!.run.error, /not a readable directory/);
  await call('PUT', '/api/accounts/tree', { options: { root: root }, check: false });

  // Many accounts at once: no list means every account; one outcome each.
  assert.equal(
    (await call('POST', '/api/accounts', { connector: 'disk', name: 'sub', options: { root: join(root, 'sub') } }))
      .status,
    201,
  );
  const all = await call('POST', '/api/sync', { concurrency: 2 });
  assert.deepEqual((all.body.job as { accounts: { name: string }[] }).accounts.map((a) => a.name).sort(), [
    'sub',
    'tree',
  ]);
  const allDone = await waitFor(
    async () => {
      const j = (await call('GET', `/api/sync/${(all.body.job as { id: number }).id}`)).body.job as {
        finishedAt: string | null;
        outcomes: { account: string; run: { success: boolean; objects: number } }[];
      };
      return j.finishedAt ? j : undefined;
    },
    { what: 'the job of every account', timeoutMs: 60_000 },
  );
  assert.deepEqual(allDone.outcomes.map((o) => [o.account, o.run.success, o.run.objects]).sort(), [
    ['disk/sub', true, 3],
    ['disk/tree', true, 7],
  ]);
  assert.equal((await call('DELETE', '/api/accounts/sub')).status, 200);

  assert.equal((await call('POST', '/api/sync', { accounts: ['nobody'] })).status, 404);
  const badBody = await call('POST', '/api/sync', { accounts: 'tree' });
  assert.equal(badBody.status, 400);
  assert.match(error(badBody).message, /^sync: accounts:/);
  assert.equal((await call('POST', '/api/sync', { concurrency: 0 })).status, 400);
  assert.equal((await call('GET', '/api/sync/999')).status, 404);
  assert.equal((await call('GET', '/api/sync/abc')).status, 400);
});

void test('sync: a running job is cancelled (its run is recorded as failed)', async () => {
  // A JSON API that serves page 1 and then never answers: the run stays busy until cancelled.
  const hanging: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const page = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('page') ?? 1);
    if (page > 1) {
      hanging.push(res);
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ items: Array.from({ length: 5 }, (_, i) => ({ id: i, name: `item ${i}` })) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/items`;
    assert.equal((await call('POST', '/api/connectors', { example: 'http-json' })).status, 201);
    assert.equal(
      (
        await call('POST', '/api/accounts', {
          connector: 'http-json',
          name: 'api',
          options: { url, pageSize: 5, pageSizeParam: 'per_page' },
          check: false,
        })
      ).status,
      201,
    );
    const started = await call('POST', '/api/sync', { accounts: ['http-json/api'] });
    const id = (started.body.job as { id: number }).id;
    await waitFor(() => hanging.length > 0, { what: 'the connector waiting on page 2', timeoutMs: 60_000 });
    const cancelled = await call('DELETE', `/api/sync/${id}`);
    assert.equal(cancelled.status, 200);
    assert.equal((cancelled.body.job as { cancelled: boolean }).cancelled, true);
    const job = await waitFor(
      async () => {
        const j = (await call('GET', `/api/sync/${id}`)).body.job as {
          finishedAt: string | null;
          outcomes: { run: { success: boolean; objects: number; error: string } }[];
        };
        return j.finishedAt ? j : undefined;
      },
      { what: 'the cancelled job', timeoutMs: 30_000 },
    );
    assert.equal(job.outcomes[0]!.run.success, false);
    assert.match(job.outcomes[0]!.run.error, /cancel/);
  } finally {
    for (const res of hanging) res.destroy();
    server.close();
  }
});

const TRIGGER = `name: big-order
when: { kind: webhook, event: request }
filters:
  - { path: body.amount, op: gte, value: 100 }
then: { kind: http-request, task: request, inputs: { url: "http://127.0.0.1:9/", body: { $ref: data.body } } }
`;

void test('triggers: created from YAML, malformed text answered with its problems and lines, edited, enabled and disabled, removed', async () => {
  const checked = await call('POST', '/api/triggers', { text: TRIGGER, check: true });
  assert.deepEqual(checked.body, { valid: ['big-order'] });
  assert.deepEqual((await call('GET', '/api/triggers')).body, { triggers: [] }, 'check stores nothing');
  const added = await call('POST', '/api/triggers', { text: TRIGGER });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  assert.deepEqual(added.body, { added: ['big-order'], replaced: [] });
  const again = await call('POST', '/api/triggers', { text: TRIGGER });
  assert.equal(again.status, 409);
  assert.equal((await call('POST', '/api/triggers', { text: TRIGGER, replace: true })).status, 201);

  const malformed = await call('POST', '/api/triggers', {
    text: 'name: broken\nwhen: { kind: webhook }\nfilters:\n  - { path: body.amount, op: bigger, value: 1 }\nthen: { task: request }\n',
  });
  assert.equal(malformed.status, 400);
  const problems = error(malformed).data!.problems as { line: number; field: string; message: string }[];
  assert.ok(
    problems.some((p) => p.line === 4 && p.field === 'filters[0].op' && /op must be one of/.test(p.message)),
    JSON.stringify(problems),
  );
  assert.ok(
    problems.some((p) => p.line === 2 && p.field === 'when.event'),
    JSON.stringify(problems),
  );
  const yamlError = await call('POST', '/api/triggers', { text: 'name: x\nwhen: { kind: webhook\n' });
  assert.equal(yamlError.status, 400);
  assert.ok((error(yamlError).data!.problems as { line: number }[]).length >= 1);
  assert.equal((await call('POST', '/api/triggers', { text: '' })).status, 400);

  const shown = await call('GET', '/api/triggers/big-order');
  assert.match(shown.body.text as string, /^name: big-order\nenabled: true\n/);
  const disabled = await call('PUT', '/api/triggers/big-order/enabled', { enabled: false });
  assert.equal((disabled.body.trigger as { enabled: boolean }).enabled, false);
  // An edit without an `enabled` line keeps the trigger disabled.
  const edited = await call('PUT', '/api/triggers/big-order', {
    text: TRIGGER.replace('name: big-order', 'name: big-order\ndescription: orders of 100 or more'),
  });
  assert.equal(edited.status, 200, JSON.stringify(edited.body));
  assert.equal((edited.body.trigger as { enabled: boolean }).enabled, false);
  assert.equal((edited.body.trigger as { spec: { description: string } }).spec.description, 'orders of 100 or more');
  const badEdit = await call('PUT', '/api/triggers/big-order', { text: TRIGGER.replace('op: gte', 'op: gteq') });
  assert.equal(badEdit.status, 400);
  assert.equal((error(badEdit).data!.problems as { line: number }[])[0]!.line, 4);
  const two = await call('PUT', '/api/triggers/big-order', {
    text: `- ${TRIGGER.replace(/\n(?=.)/g, '\n  ')}- ${TRIGGER.replace('big-order', 'other').replace(/\n(?=.)/g, '\n  ')}`,
  });
  assert.equal(two.status, 400);
  assert.match(error(two).message, /takes one trigger, not 2/);
  const renamed = await call('PUT', '/api/triggers/big-order', { text: TRIGGER.replace('big-order', 'large-order') });
  assert.equal(renamed.status, 200);
  assert.deepEqual(
    ((await call('GET', '/api/triggers')).body.triggers as { name: string }[]).map((t) => t.name),
    ['large-order'],
  );
  assert.equal((await call('PUT', '/api/triggers/large-order/enabled', { enabled: 'yes' })).status, 400);
  assert.equal((await call('PUT', '/api/triggers/nothing/enabled', { enabled: true })).status, 404);
  assert.equal((await call('DELETE', '/api/triggers/large-order')).status, 200);
  assert.equal((await call('DELETE', '/api/triggers/large-order')).status, 404);
  assert.equal((await call('GET', '/api/triggers/large-order')).status, 404);
});

const ALIAS_BOMB = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
  .concat('bcdefghi'.split('').map((x, i) => `${x}: &${x} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`))
  .join('\n');

void test('triggers: a YAML alias bomb is refused with 400, an oversized body with 413, each with a sentence, never 500', async () => {
  const bomb = await call('POST', '/api/triggers', { text: ALIAS_BOMB });
  assert.equal(bomb.status, 400);
  assert.match(error(bomb).message, /expands more than 100 aliases/);
  const nested = await call('POST', '/api/triggers', { text: '['.repeat(100_000) });
  assert.equal(nested.status, 400);
  const big = await call('POST', '/api/triggers', { text: `name: x\n# ${'y'.repeat(2 * 1024 * 1024)}\n` });
  assert.equal(big.status, 413);
  assert.equal(error(big).code, 'BODY_TOO_LARGE');
  assert.match(error(big).message, /over 1048576 bytes/);
  const edit = await call('POST', '/api/triggers', {
    text: `name: x\n# ${'y'.repeat(999_000)}é${'z'.repeat(60_000)}\n`,
  });
  assert.equal(edit.status, 413);
});

void test('executions filter by trigger, status and event; bad filters are refused', async () => {
  assert.deepEqual((await call('GET', '/api/executions?status=failed&trigger=x&event=e1&limit=5')).body, {
    executions: [],
  });
  const bad = await call('GET', '/api/executions?status=lost');
  assert.equal(bad.status, 400);
  assert.match(error(bad).message, /status/);
});

void test("executions: a failed one is replayed (its trigger's tries again, due now); others are refused with the reason", async () => {
  const { openDispatchDb } = await import('../dispatch/open.js');
  const { db, close } = await openDispatchDb({ home: running.home });
  try {
    const now = new Date().toISOString();
    await db.recordEvents([{ id: 'replay-ev', connectorId: 'c1', kind: 'k', key: 'e', data: {}, time: now }], () => [
      {
        id: 'replay-x',
        eventId: 'replay-ev',
        trigger: 't',
        target: 'kind:gone',
        task: 't',
        inputs: {},
        dispatchedAt: now,
      },
    ]);
    await db.completeExecutions([{ executionId: 'replay-x', error: 'it broke', finishedAt: now }]);
    const r = await call('POST', '/api/executions/replay-x/replay');
    assert.equal(r.status, 200);
    const x = r.body.execution as { maxAttempts: number; attempts: unknown[] };
    assert.deepEqual([x.maxAttempts, x.attempts.length], [2, 1]);
    // The hub's dispatcher takes it within a second and tries again (nobody of kind gone is there).
    const tried = await waitFor(
      async () => {
        const e = await db.getExecution('replay-x');
        return e?.status === 'failed' && e.attempt === 2 ? e : undefined;
      },
      { timeoutMs: 20_000, what: 'the second try' },
    );
    assert.match(tried.error!, /gone/);
    await db.recordEvents([{ id: 'done-ev', connectorId: 'c1', kind: 'k', key: 'e', data: {}, time: now }], () => [
      { id: 'done-x', eventId: 'done-ev', trigger: 't', target: 'kind:k', task: 't', inputs: {}, dispatchedAt: now },
    ]);
    await db.completeExecutions([{ executionId: 'done-x', outputs: {}, finishedAt: now }]);
    const again = await call('POST', '/api/executions/done-x/replay');
    assert.equal(again.status, 409);
    assert.match(
      error(again).message,
      /execution done-x is not failed: it is done; only failed executions are replayed/,
    );
    const missing = await call('POST', '/api/executions/nope/replay');
    assert.equal(missing.status, 404);
    assert.match(error(missing).message, /no execution nope/);
    assert.equal((await call('GET', '/api/executions?status=retrying')).status, 200);
  } finally {
    await close();
  }
});

function rawRequest(headers: Record<string, string>, method = 'GET', path = '/api/connectors'): Promise<number> {
  const url = new URL(running.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method, headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(method === 'GET' ? undefined : '{"example":"directory","name":"evil"}');
  });
}

void test('requests without the token, from another site, or under a rebound Host name are refused', async () => {
  const host = new URL(running.url).host;
  const auth = running.headers;
  assert.equal(await rawRequest({ host }), 401, 'no token, even on loopback');
  assert.equal(await rawRequest({ host, ...auth }), 200);
  assert.equal(await rawRequest({ host, origin: running.url, ...auth }), 200);
  assert.equal(await rawRequest({ host, origin: 'http://evil.example', ...auth }, 'POST'), 403);
  // A DNS-rebound page talks under its own name and has no token: it gets nothing.
  assert.equal(await rawRequest({ host: 'evil.example:4080', origin: 'http://evil.example:4080' }, 'POST'), 401);
  assert.equal(await rawRequest({ host: `localhost:${new URL(running.url).port}`, ...auth }), 200);
  assert.ok(
    !((await call('GET', '/api/connectors')).body.connectors as { name: string }[]).some((c) => c.name === 'evil'),
  );
  const ws = new WebSocket(`${running.url.replace('http', 'ws')}/api/live?token=${running.token}`, {
    origin: 'http://evil.example',
  });
  const refused = await new Promise<boolean>((resolve) => {
    ws.once('open', () => resolve(false));
    ws.once('error', () => resolve(true));
  });
  assert.ok(refused, 'a WebSocket from another site is refused');
});
