/**
 * The dashboard's sync additions over a real `switchboard start` hub: connector edit, schedules,
 * options refused by the schema and by the connector's check with the CLI's very sentence, and
 * manifests that are too large or alias bombs answered 400, never 500.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli, pagesCommand } from '../sync/test/cli-helpers.js';
import { startWithDashboard, type Running } from './test/harness.js';

let running: Running;

before(async () => {
  running = await startWithDashboard();
});

after(async () => {
  await running?.stop();
});

type Json = Record<string, unknown>;

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${running.url}${path}`, {
    method,
    headers: { ...running.headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Json };
}
const message = (r: { body: Json }) => (r.body.error as { message: string }).message;

void test('manifests: an alias bomb and an oversized one get 400 with a sentence; edit replaces a manifest', async () => {
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 12; i++) {
    const c = String.fromCharCode(97 + i);
    lines.push(
      `${c}: &${c} [${Array(9)
        .fill(`*${String.fromCharCode(96 + i)}`)
        .join(', ')}]`,
    );
  }
  const bomb = await call('POST', '/api/connectors', {
    manifest: `${lines.join('\n')}\nname: bomb\nsource: Local\nuri: /x\ncommand: x\n`,
  });
  assert.equal(bomb.status, 400);
  assert.match(message(bomb), /too many YAML aliases/);
  const big = await call('POST', '/api/connectors', {
    manifest: JSON.stringify({
      name: 'big',
      source: 'Local',
      uri: '/x',
      command: 'x',
      description: 'y'.repeat(300_000),
    }),
  });
  assert.equal(big.status, 400);
  assert.match(message(big), /is over 256 KiB/);

  const readme = join(running.home, 'README');
  await writeFile(readme, 'x');
  const manifest = { name: 'pages', source: 'Local', uri: readme, command: pagesCommand };
  assert.equal((await call('POST', '/api/connectors', { manifest })).status, 201);
  const shown = await call('GET', '/api/connectors/pages');
  assert.deepEqual(shown.body.manifest, manifest);
  const schema = { type: 'object', required: ['pages'], properties: { pages: { type: 'integer', minimum: 1 } } };
  const edited = await call('PUT', '/api/connectors/pages', {
    manifest: `name: pages\nsource: Local\nuri: ${readme}\ncommand: '${pagesCommand}'\ndescription: edited\ntimeout: 10m\noptions_schema:\n  type: object\n  required: [pages]\n  properties:\n    pages: {type: integer, minimum: 1}\n`,
  });
  assert.equal(edited.status, 200, JSON.stringify(edited.body));
  const c = edited.body.connector as { description: string; timeoutMs: number; optionsSchema: unknown };
  assert.deepEqual([c.description, c.timeoutMs, c.optionsSchema], ['edited', 600_000, schema]);
  const renamed = await call('PUT', '/api/connectors/pages', { manifest: { ...manifest, name: 'other' } });
  assert.equal(renamed.status, 400);
  assert.match(message(renamed), /a connector keeps its name/);
});

void test('account options: the schema and the check refuse with the same sentence on the dashboard and the CLI; schedules', async () => {
  const { sb } = cli(running.home, running.home);
  const bad = await call('POST', '/api/accounts', { connector: 'pages', name: 'a', options: { pages: 0 } });
  assert.equal(bad.status, 400);
  assert.equal(message(bad), `options do not match connector "pages"'s options schema: field "pages" must be >= 1`);
  const viaCli = await sb('account', 'add', '--connector', 'pages', '--name', 'a', '--options', '{"pages": 0}');
  assert.equal(viaCli.code, 1);
  assert.equal(viaCli.stderr.trim(), `switchboard: INVALID_ARGUMENT: ${message(bad)}`);

  // The connector's own check (the pages connector refuses what its parser throws on: not JSON here).
  const ok = await call('POST', '/api/accounts', { connector: 'pages', name: 'a', options: { pages: 2 } });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.deepEqual((ok.body.check as { ok: boolean }).ok, true);

  const scheduled = await call('PUT', '/api/accounts/a/schedule', { every: '15m' });
  assert.equal(scheduled.status, 200);
  const account = scheduled.body.account as { schedule: string; nextRunAt: string };
  assert.equal(account.schedule, 'every 15m');
  assert.ok(Date.parse(account.nextRunAt) > Date.now() + 14 * 60_000);
  const listed = (await call('GET', '/api/accounts')).body.accounts as { name: string; nextRunAt: string }[];
  assert.equal(listed.find((x) => x.name === 'a')!.nextRunAt, account.nextRunAt);
  const badCron = await call('PUT', '/api/accounts/a/schedule', { cron: '61 * * * *' });
  assert.equal(badCron.status, 400);
  assert.match(message(badCron), /the cron expression "61 \* \* \* \*" is not valid/);
  const off = await call('PUT', '/api/accounts/a/schedule', { off: true });
  assert.equal((off.body.account as { schedule: string | null }).schedule, null);
  const reset = await call('POST', '/api/accounts/a/reset-state');
  assert.equal((reset.body.account as { state: string | null }).state, null);
});
