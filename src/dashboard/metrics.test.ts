/**
 * /metrics and the live frames with real traffic over a real `switchboard start` hub in-process:
 * messages by command and outcome and per service from hub-side counters (no sniffer needed),
 * queue depths from a service that stops reading, action outcomes and latency from real agents
 * and triggers, message rates and mesh changes pushed over /api/live.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { connect, type SwitchboardClient } from '../client/index.js';
import type { MemoryChannel } from '../core/transports/memory.js';
import { encodeText } from '../core/codec/index.js';
import { createMessage } from '../core/message.js';
import { getLogger } from '../core/log.js';
import { waitFor } from '../core/test/support.js';
import type { Agent } from '../dispatch/agent/agent.js';
import { openDispatchDb } from '../dispatch/open.js';
import { startAgent } from '../dispatch/run.js';
import { parseTriggers } from '../dispatch/trigger/parse.js';
import { SniffTap } from '../hub/sniff-tap.js';
import { startWithDashboard, type Running } from './test/harness.js';
import { startMeshHub } from './test/mesh-hubs.js';

let running: Running;
const clients: SwitchboardClient[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

before(async () => {
  running = await startWithDashboard();
});
after(async () => {
  for (const c of clients) c.dispose();
  for (const f of cleanups.reverse()) await Promise.resolve(f()).catch(() => undefined);
  await running?.stop();
  delete process.env.SWITCHBOARD_HTTP;
});

const localUrl = () => running.hub.addresses.find((a) => a.kind === 'local')!.url;

async function service(name: string, format: 'json' | 'text' = 'json'): Promise<SwitchboardClient> {
  const client = await connect(localUrl(), { format });
  clients.push(client);
  client.on('PING', () => ({ command: 'PONG', params: {} }));
  await client.register(name);
  return client;
}

async function metrics(url = running.url, headers = running.headers): Promise<string> {
  const res = await fetch(`${url}/metrics`, { headers });
  assert.equal(res.status, 200);
  return res.text();
}

/** The value of one sample, e.g. `switchboard_actions_total{status="done"}`; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function live(url = running.url, token = running.token): { ws: WebSocket; frames: Record<string, unknown>[] } {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/api/live?token=${token}`);
  const frames: Record<string, unknown>[] = [];
  ws.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString()) as Record<string, unknown>));
  cleanups.push(() => ws.close());
  return { ws, frames };
}

void test('messages by command and outcome and per service come from hub counters, with nobody sniffing', async () => {
  assert.equal(running.hub.tap.count, 0, 'no live client: no sniffer on the hub');
  // Text on both sides: the hub's quickest routing path must count too.
  const target = await service('m_target', 'text');
  const caller = await service('m_caller', 'text');
  for (let i = 0; i < 25; i++)
    assert.equal((await caller.request({ to: { service: 'm_target' }, command: 'PING', params: {} })).command, 'PONG');
  caller.send({ to: { service: 'm_nobody' }, command: 'HELLO', params: { cache: 'no' } });
  await waitFor(
    async () => sample(await metrics(), 'switchboard_messages_total{command="HELLO",outcome="failed"}') === 1,
    { what: 'the failed HELLO counted' },
  );
  const text = await metrics();
  assert.equal(sample(text, 'switchboard_messages_total{command="PING",outcome="delivered"}'), 25);
  assert.equal(sample(text, 'switchboard_messages_total{command="PONG",outcome="delivered"}'), 25);
  assert.equal(running.hub.tap.count, 0, 'still no sniffer: counting needs none');
  // Per service, from the hub's channel counters: 25 PINGs in (plus the hub's notices: HELP, READY, ...), 25 PONGs out (plus REGISTER, COMMANDS).
  const received = sample(text, 'switchboard_service_messages_received_total{service="m_target"}')!;
  const sent = sample(text, 'switchboard_service_messages_sent_total{service="m_target"}')!;
  assert.ok(received >= 25 && received < 40, `m_target received ${received}`);
  assert.ok(sent >= 25 && sent < 40, `m_target sent ${sent}`);
  assert.ok(sample(text, 'switchboard_service_messages_sent_total{service="m_caller"}')! >= 26);
  const counts = (
    (await (await fetch(`${running.url}/api/services`, { headers: running.headers })).json()) as {
      counts: Record<string, { received: number; sent: number }>;
    }
  ).counts;
  assert.deepEqual(counts.m_target, { received, sent });

  // Counts survive the instance leaving (an instance's frames are kept when it unregisters).
  target.dispose();
  await waitFor(() => running.hub.services.get('m_target')?.up === false, { what: 'm_target down' });
  const after = await metrics();
  assert.equal(sample(after, 'switchboard_service_messages_received_total{service="m_target"}'), received);
});

void test('a live client turns the traffic stream on and gets message rates; the stream stops when it leaves', async () => {
  const pinger = await service('r_pinger');
  await service('r_target');
  const { ws, frames } = live();
  await new Promise((r) => ws.once('open', r));
  await waitFor(() => running.hub.tap.count === 1, { what: 'the dashboard sniffing' });
  const stop = setInterval(() => {
    void pinger.request({ to: { service: 'r_target' }, command: 'PING', params: {} }).catch(() => undefined);
  }, 20);
  cleanups.push(() => clearInterval(stop));
  type Rates = {
    type: 'rates';
    rates: Record<string, { in: number; out: number }>;
    counts: Record<string, { received: number; sent: number }>;
  };
  const rates = await waitFor(
    () => (frames.filter((f) => f.type === 'rates') as Rates[]).find((f) => (f.rates.r_target?.in ?? 0) > 0),
    { what: 'a rates frame with traffic to r_target' },
  );
  clearInterval(stop);
  assert.ok(rates.rates.r_pinger!.out > 0, JSON.stringify(rates.rates.r_pinger));
  assert.ok(rates.counts.r_target!.received > 0);
  assert.ok(
    frames.some((f) => f.type === 'sniffed'),
    'traffic streamed to the live client',
  );
  // A client that does not show traffic says so, and the hub stops being sniffed for it.
  ws.send(JSON.stringify({ type: 'subscribe', traffic: false }));
  await waitFor(() => running.hub.tap.count === 0, { what: 'the sniffer gone for a client that opted out' });
  ws.send('{"type":"subscribe"}');
  const error = await waitFor(
    () => frames.find((f) => f.type === 'error') as { error: { code: string; message: string } } | undefined,
    { what: 'an error frame for a bad client frame' },
  );
  assert.equal(error.error.code, 'INVALID_ARGUMENT');
  assert.match(error.error.message, /"traffic":true\|false/);
  ws.send(JSON.stringify({ type: 'subscribe', traffic: true }));
  await waitFor(() => running.hub.tap.count === 1, { what: 'sniffing again' });
  ws.close();
  await waitFor(() => running.hub.tap.count === 0, { what: 'the sniffer gone with the last live client' });
});

void test('queue depths: a service that stops reading shows in the quantiles and by name', async () => {
  const slow = running.hub.connectInProcess('m_slow') as MemoryChannel;
  const lines: string[] = [];
  slow.on('frame', (f) => lines.push(f));
  slow.send(encodeText(createMessage('REGISTER', { service: 'm_slow' })));
  await waitFor(() => lines.some((l) => l.includes('READY')), { what: 'm_slow registered' });
  slow.pause();
  cleanups.push(() => slow.close());
  const sender = await service('m_sender');
  const big = 'x'.repeat(10_000);
  for (let i = 0; i < 20; i++) sender.send({ to: { service: 'm_slow' }, command: 'BIG', params: { big } });
  const text = await waitFor(
    async () => {
      const t = await metrics();
      return (sample(t, 'switchboard_service_queue_bytes{service="m_slow"}') ?? 0) >= 200_000 ? t : undefined;
    },
    { what: 'the queue of m_slow in /metrics' },
  );
  const deepest = sample(text, 'switchboard_connection_queue_bytes{quantile="1"}')!;
  assert.ok(deepest >= 200_000, `deepest queue ${deepest}`);
  assert.ok(
    sample(text, 'switchboard_connection_queue_bytes{quantile="0.5"}')! < 200_000,
    'most connections are not behind',
  );
  assert.ok(sample(text, 'switchboard_queue_bytes')! >= deepest);
  slow.resume();
  await waitFor(async () => (sample(await metrics(), 'switchboard_service_queue_bytes{service="m_slow"}') ?? 0) === 0, {
    what: 'the queue drained',
  });
});

void test('actions: outcomes and latency from trigger match to result, with real agents and triggers', async () => {
  const { db, close } = await openDispatchDb({ home: running.home });
  cleanups.push(close);
  const token = await db.issueToken('counter');
  await db.addTriggers(
    parseTriggers(
      [
        '- name: echo\n  when: { kind: counter, event: tick }\n  filters: [{ path: n, op: lt, value: 3 }]\n  then: { connector: counter-m, task: emit, inputs: { n: 0 } }\n',
        '- name: ghost\n  when: { kind: counter, event: tick }\n  filters: [{ path: n, op: eq, value: 0 }]\n  then: { connector: nobody, task: emit }\n',
      ].join(''),
      't.yml',
    ),
  );
  const fixture = join(import.meta.dirname, '..', 'dispatch', 'test', 'fixtures', 'counter.ts');
  const agent: Agent = await startAgent({
    command: [process.execPath, '--import', 'tsx', fixture],
    kind: 'counter',
    id: 'counter-m',
    token,
    dispatcher: localUrl(),
    log: getLogger('metrics-test'),
  });
  cleanups.push(() => agent.stop());
  await waitFor(() => agent.triggers === 2, { what: 'the agent holding both triggers' });
  const before = await metrics();
  assert.equal(sample(before, 'switchboard_actions_total{status="done"}'), 0);
  agent.connector.sendTask({ id: 'go', key: 'emit', inputs: { n: 5, everyMs: 1 } });
  const text = await waitFor(
    async () => {
      const t = await metrics();
      return sample(t, 'switchboard_actions_total{status="done"}') === 3 ? t : undefined;
    },
    { timeoutMs: 30_000, what: 'three actions done' },
  );
  assert.equal(
    sample(text, 'switchboard_actions_total{status="unsent"}'),
    1,
    'the trigger to a connector that is not registered',
  );
  assert.equal(sample(text, 'switchboard_action_latency_seconds_count{status="done"}'), 3);
  const sum = sample(text, 'switchboard_action_latency_seconds_sum{status="done"}')!;
  assert.ok(sum > 0 && sum < 30, `latency sum ${sum} s`);
  assert.equal(sample(text, 'switchboard_action_latency_seconds_bucket{le="+Inf",status="done"}'), 3);
  assert.equal(sample(text, 'switchboard_executions{status="done"}'), 3);
});

void test('mesh changes are pushed to live clients as cluster frames (hubs and links), no polling', async () => {
  process.env.SWITCHBOARD_MESH_TIMINGS = 'fast';
  const a = await startMeshHub({ name: 'dash_a', ip: '127.0.0.1', scope: 'start' });
  cleanups.push(() => a.stop());
  type Cluster = {
    type: 'cluster';
    cluster: { server: string; mesh: { hubs: { name: string; reachable: boolean }[]; links: { server: string }[] } };
  };
  const { ws, frames } = live(a.url, a.hub.adminToken);
  await new Promise((r) => ws.once('open', r));
  const clusters = () => frames.filter((f) => f.type === 'cluster') as Cluster[];
  const first = await waitFor(() => clusters()[0], { what: 'the cluster frame sent on connect' });
  assert.equal(first.cluster.server, 'dash_a');
  assert.deepEqual(first.cluster.mesh.links, []);

  const b = await startMeshHub({ name: 'dash_b', ip: '127.0.0.2', scope: 'hub', neighbors: [a.remote] });
  let bRunning = true;
  cleanups.push(() => (bRunning ? b.stop() : undefined));
  const linked = await waitFor(
    () =>
      clusters().find(
        (f) =>
          f.cluster.mesh.links.some((l) => l.server === 'dash_b') &&
          f.cluster.mesh.hubs.some((h) => h.name === 'dash_b' && h.reachable),
      ),
    { what: 'a cluster frame with dash_b linked and reachable' },
  );
  assert.ok(linked);
  // A service on the other hub shows in the pushed services frames.
  const far = await connect(b.hub.addresses.find((x) => x.kind === 'local')!.url, { reconnect: false });
  clients.push(far);
  await far.register('far_service');
  await waitFor(
    () =>
      frames.some(
        (f) =>
          f.type === 'services' &&
          (f.services as { name: string; server: string }[]).some(
            (s) => s.name === 'far_service' && s.server === 'dash_b',
          ),
      ),
    { what: 'far_service pushed' },
  );

  const seen = clusters().length;
  far.dispose();
  await b.stop();
  bRunning = false;
  await waitFor(
    () =>
      clusters()
        .slice(seen)
        .find((f) => !f.cluster.mesh.links.some((l) => l.server === 'dash_b')),
    { what: 'a cluster frame without the link to dash_b' },
  );
  // The metrics of the meshed hub count remote services too.
  assert.match(await metrics(a.url, a.headers), /switchboard_services\{status="up"\} \d+/);
});

void test('the hub tally keeps label cardinality bounded: commands past 500 distinct ones count as other', () => {
  const tap = new SniffTap('x');
  assert.equal(tap.active, false);
  const tally = tap.countMessages();
  assert.equal(tap.active, true, 'counting makes the hub call the tap');
  for (let i = 0; i < 600; i++) tap.publish('delivered', createMessage(`CMD_${i}`, {}, { service: 's' }));
  tap.publish('failed', createMessage('CMD_0', {}, { service: 's' }));
  tap.publishInvalid('garbage', 'not a line');
  assert.equal(tally.size, 501);
  assert.deepEqual(tally.get('CMD_0'), { delivered: 1, failed: 1 });
  tap.countOne('delivered', 'CMD_1'); // a routing path that skips publish
  assert.deepEqual(tally.get('CMD_1'), { delivered: 2 });
  assert.equal(tap.sniffing, false);
  assert.equal(tap.counting, true);
  assert.deepEqual(tally.get('other'), { delivered: 100, invalid: 1 });
});
