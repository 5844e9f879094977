/** The dashboard's HTTP API, live WebSocket and /metrics over a real `switchboard start` hub in-process. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { connect, type SwitchboardClient } from '../client/index.js';
import { waitFor } from '../core/test/support.js';
import { dashboardConfig } from './config.js';
import { seedData, startWithDashboard, type Running } from './test/harness.js';
import type { SyncApi } from '../sync/open.js';

let running: Running;
let sync: SyncApi;
const clients: SwitchboardClient[] = [];

before(async () => {
  // No RabbitMQ URL, whatever the environment says: the dispatcher runs over the hub.
  running = await startWithDashboard({ amqp: null });
  sync = await seedData(running.home, 120);
});

after(async () => {
  for (const c of clients) c.dispose();
  await sync?.close();
  await running?.stop();
  delete process.env.SWITCHBOARD_HTTP;
});

async function getJson(path: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${running.url}${path}`, { ...init, headers: { ...running.headers, ...init?.headers } });
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function service(name: string): Promise<SwitchboardClient> {
  const local = running.hub.addresses.find((a) => a.kind === 'local')!;
  const client = await connect(local.url, { format: 'json' });
  clients.push(client);
  client.on('PING', () => ({ command: 'PONG', params: {} }));
  await client.register(name);
  return client;
}

void test('services: the built-in ones, then a new one as soon as it registers; /api/live pushes the change', async () => {
  const first = await getJson('/api/services');
  assert.equal(first.status, 200);
  assert.equal(first.body.server, 'dash');
  const names = (first.body.services as { name: string }[]).map((s) => s.name);
  assert.ok(names.includes('sync'), `sync is listed: ${names.join(', ')}`);
  assert.ok(!names.includes('weather'));

  const ws = new WebSocket(`${running.url.replace('http', 'ws')}/api/live?token=${running.token}`);
  const frames: { type: string; services?: { name: string; status: string; instances: { commands: string[] }[] }[] }[] =
    [];
  ws.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString()) as (typeof frames)[number]));
  await waitFor(() => frames.some((f) => f.type === 'services'), { what: 'the first services frame' });
  await service('weather');
  const pushed = await waitFor(
    () =>
      frames.find((f) => f.type === 'services' && f.services!.some((s) => s.name === 'weather' && s.status === 'up')),
    { what: 'weather pushed' },
  );
  const weather = pushed.services!.find((s) => s.name === 'weather')!;
  assert.deepEqual(weather.instances.length, 1);
  const now = await getJson('/api/services');
  assert.ok((now.body.services as { name: string }[]).some((s) => s.name === 'weather'));
  ws.close();
});

void test('traffic: sniffed messages reach /api/live and are counted in /metrics by command and outcome', async () => {
  const ws = new WebSocket(`${running.url.replace('http', 'ws')}/api/live?token=${running.token}`);
  const sniffed: { outcome: string; message: { command?: string } }[] = [];
  ws.on('message', (data: Buffer) => {
    const f = JSON.parse(data.toString()) as { type: string; event?: (typeof sniffed)[number] };
    if (f.type === 'sniffed') sniffed.push(f.event!);
  });
  await new Promise((r) => ws.once('open', r));
  await service('pinger_target');
  const caller = await service('pinger');
  const reply = await caller.request({ to: { service: 'pinger_target' }, command: 'PING', params: {} });
  assert.equal(reply.command, 'PONG');
  await waitFor(() => sniffed.find((e) => e.message.command === 'PING' && e.outcome === 'delivered'), {
    what: 'PING sniffed',
  });
  ws.close();
  const res = await fetch(`${running.url}/metrics`, { headers: running.headers });
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.match(text, /switchboard_messages_total\{command="PING",outcome="delivered"\} [1-9]/);
  assert.match(text, /switchboard_connections [1-9]/);
  assert.match(text, /switchboard_sync_objects 121/);
  assert.match(text, /switchboard_events 0/);
  const counts = (await getJson('/api/services')).body.counts as Record<string, { received: number; sent: number }>;
  assert.ok(counts.pinger_target!.received >= 1 && counts.pinger_target!.sent >= 1, JSON.stringify(counts));
  assert.ok(counts.pinger!.sent >= 1 && counts.pinger!.received >= 1, JSON.stringify(counts));
});

void test('data: pages of 50, filter by account and connector, search, order; notes are saved', async () => {
  const p1 = await getJson('/api/data');
  assert.equal(p1.status, 200);
  assert.deepEqual([p1.body.total, p1.body.pages, (p1.body.items as unknown[]).length], [121, 3, 50]);
  const p3 = await getJson('/api/data?account=files/docs&page=3&order=remote-id&asc=true');
  assert.deepEqual([p3.body.total, (p3.body.items as unknown[]).length], [120, 20]);
  const mail = await getJson('/api/data?connector=mail');
  const items = mail.body.items as { id: number; remoteId: string; notes: string }[];
  assert.deepEqual(
    items.map((o) => o.remoteId),
    ['m1'],
  );
  const search = await getJson('/api/data?search=doc%2011');
  assert.deepEqual((search.body.items as { remoteId: string }[]).map((o) => o.remoteId).sort(), [
    'd11',
    'd110',
    'd111',
    'd112',
    'd113',
    'd114',
    'd115',
    'd116',
    'd117',
    'd118',
    'd119',
  ]);

  const put = await getJson(`/api/data/${items[0]!.id}/note`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ notes: 'call back' }),
  });
  assert.equal(put.status, 200);
  assert.equal((put.body.object as { notes: string }).notes, 'call back');
  assert.equal(((await getJson('/api/data?search=call%20back')).body.items as unknown[]).length, 1);
});

void test('bad input gets a JSON error with a sentence, and the right status', async () => {
  const badPage = await getJson('/api/data?page=zero');
  assert.equal(badPage.status, 400);
  assert.match((badPage.body.error as { message: string }).message, /^query: page:/);
  const unknownParam = await getJson('/api/data?colour=red');
  assert.equal(unknownParam.status, 400);
  assert.match((unknownParam.body.error as { message: string }).message, /colour/);
  const badOrder = await getJson('/api/data?order=size');
  assert.equal(badOrder.status, 400);
  const noAccount = await getJson('/api/data?account=nobody');
  assert.equal(noAccount.status, 404);
  assert.match((noAccount.body.error as { message: string }).message, /no account "nobody"/);
  const notJson = await getJson('/api/data/1/note', { method: 'PUT', body: 'notes=x' });
  assert.equal(notJson.status, 400);
  assert.match((notJson.body.error as { message: string }).message, /not JSON/);
  const noObject = await getJson('/api/data/999999/note', { method: 'PUT', body: '{"notes":"x"}' });
  assert.equal(noObject.status, 404);
  const nowhere = await getJson('/api/nothing');
  assert.equal(nowhere.status, 404);
  assert.match((nowhere.body.error as { message: string }).message, /\/api\/services/);
  const wrongMethod = await getJson('/api/services', { method: 'POST' });
  assert.equal(wrongMethod.status, 405);
});

void test("connectors, accounts, runs, triggers, executions and the cluster answer with the stores' contents", async () => {
  const connectors = await getJson('/api/connectors');
  assert.deepEqual((connectors.body.connectors as { name: string }[]).map((c) => c.name).sort(), ['files', 'mail']);
  const accounts = await getJson('/api/accounts?connector=mail');
  assert.deepEqual(
    (accounts.body.accounts as { name: string }[]).map((a) => a.name),
    ['inbox'],
  );
  assert.deepEqual((await getJson('/api/runs')).body, { runs: [] });
  assert.deepEqual((await getJson('/api/triggers')).body, { triggers: [] });
  assert.deepEqual((await getJson('/api/executions?limit=5')).body, { executions: [] });
  const cluster = await getJson('/api/cluster');
  assert.equal(cluster.body.server, 'dash');
  assert.equal(cluster.body.mesh, null);
  assert.ok((cluster.body.services as string[]).includes('sync'));
});

void test('without an AMQP URL the dead letters say where they live and how to give the dashboard one', async () => {
  const listed = await getJson('/api/dead-letters');
  assert.equal(listed.status, 200);
  assert.equal(listed.body.queue, null);
  assert.deepEqual(listed.body.letters, []);
  assert.match(
    listed.body.why as string,
    /^dead letters live on RabbitMQ, and this dashboard has no AMQP URL: .* start switchboard with --amqp URL or SWITCHBOARD_AMQP_URL set/,
  );
  const replay = await getJson('/api/dead-letters/replay', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ all: true }),
  });
  assert.equal(replay.status, 409);
  assert.equal((replay.body.error as { message: string }).message, listed.body.why);
  // The body is still checked first: a mistake is named before the missing broker.
  const bad = await getJson('/api/dead-letters/replay', { method: 'POST', body: '{}' });
  assert.equal(bad.status, 400);
});

void test('the UI is served at /', async () => {
  const res = await fetch(`${running.url}/`);
  assert.equal(res.status, 200);
  assert.match(await res.text(), /<title>Switchboard<\/title>/);
  assert.equal((await fetch(`${running.url}/../../package.json`)).status, 404);
  const module = await fetch(`${running.url}/api.js`); // a UI file, not the API
  assert.equal(module.status, 200);
  assert.match(module.headers.get('content-type') ?? '', /text\/javascript/);
});

void test('the address is checked; an extra token comes from the environment or a file, never the command line', () => {
  // Beyond loopback is allowed: every data request needs a token anyway.
  assert.deepEqual(dashboardConfig({ SWITCHBOARD_HTTP: '0.0.0.0:4080' }), {
    host: '0.0.0.0',
    port: 4080,
    token: undefined,
    explicit: true,
  });
  assert.deepEqual(
    dashboardConfig({ SWITCHBOARD_HTTP: '0.0.0.0:4080', SWITCHBOARD_HTTP_TOKEN: 's3cret-s3cret-s3cret' }),
    {
      host: '0.0.0.0',
      port: 4080,
      token: 's3cret-s3cret-s3cret',
      explicit: true,
    },
  );
  assert.throws(() => dashboardConfig({ SWITCHBOARD_HTTP_TOKEN: 'short' }), /must be 16 to 512 printable ASCII/);
  assert.throws(
    () => dashboardConfig({ SWITCHBOARD_HTTP_TOKEN_FILE: '/nonexistent/token' }),
    /--http-token-file: cannot read \/nonexistent\/token: ENOENT/,
  );
  assert.deepEqual(dashboardConfig({}), { host: '127.0.0.1', port: 4080, token: undefined, explicit: false });
  assert.deepEqual(dashboardConfig({ SWITCHBOARD_HTTP: ':9000' }), {
    host: '127.0.0.1',
    port: 9000,
    token: undefined,
    explicit: true,
  });
  assert.equal(dashboardConfig({ SWITCHBOARD_HTTP: 'off' }), undefined);
  assert.throws(() => dashboardConfig({ SWITCHBOARD_HTTP: 'http://127.0.0.1:99999' }), /above 65535/);
  assert.throws(() => dashboardConfig({ SWITCHBOARD_HTTP: 'not an address!' }), /expected HOST:PORT/);
});
