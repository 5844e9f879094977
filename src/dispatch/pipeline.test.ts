// The event pipeline against the real RabbitMQ: webhook -> trigger -> http-request to a loopback
// server, the execution log, trigger cache invalidation, reconnects with exactly-once dispatch,
// the Python connector, tokens.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { freePort, needService, portOpen, SERVICES, tempDir, waitFor } from '../core/test/support.js';
import { getLogger } from '../core/log.js';
import type { JsonValue } from '../core/message.js';
import type { Agent } from './agent/agent.js';
import type { DispatchDb } from './dispatcher/db.js';
import type { Dispatcher } from './dispatcher/dispatcher.js';
import { exampleCommand } from './examples.js';
import { openDispatchDb } from './open.js';
import { startAgent, startDispatcher } from './run.js';
import { AMQP_URL, closeConnections, deleteTopology, testPrefix } from './test/rabbit.js';
import { parseTriggers } from './trigger/parse.js';

const log = getLogger('dispatch-test');
const tsx = [process.execPath, '--import', 'tsx'];
const fixture = (name: string) => [...tsx, join(import.meta.dirname, 'test', 'fixtures', name)];

let up = false;
let home: { path: string; cleanup: () => Promise<void> };
let db: DispatchDb;
let closeDb: () => Promise<void>;
let dispatcher: Dispatcher;
const prefix = testPrefix();
const token = { webhook: '', http: '', counter: '', sink: '' };
const agents: Agent[] = [];
const received: { path: string; body: JsonValue }[] = [];
let loopback: ReturnType<typeof createServer>;
let loopPort = 0;

before(async () => {
  up = await portOpen(SERVICES.rabbitmq.port);
  if (!up) return;
  home = await tempDir('sb-dispatch-');
  ({ db, close: closeDb } = await openDispatchDb({ home: home.path }));
  token.webhook = await db.issueToken('webhook');
  token.http = await db.issueToken('http-request');
  token.counter = await db.issueToken('counter');
  token.sink = await db.issueToken('upper');
  dispatcher = await startDispatcher({ db, amqp: AMQP_URL, prefix, log });
  loopback = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (c: Buffer) => {
      text += c.toString();
    });
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: text ? (JSON.parse(text) as JsonValue) : null });
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, n: received.length }));
    });
  });
  await new Promise<void>((r) => loopback.listen(0, '127.0.0.1', () => r()));
  loopPort = (loopback.address() as { port: number }).port;
});

after(async () => {
  if (!up) return;
  for (const a of agents) await a.stop().catch(() => undefined);
  await dispatcher?.stop().catch(() => undefined);
  await closeDb?.();
  loopback?.close();
  await deleteTopology(prefix).catch(() => undefined);
  await home?.cleanup();
});

async function post(port: number, path: string, body: JsonValue): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.text();
  return res.status;
}

void test('a webhook event matching a trigger makes http-request call a loopback server; the log shows it all; a non-matching event does nothing', async (t) => {
  if (!(await needService(t, 'rabbitmq'))) return;
  await db.addTriggers(
    parseTriggers(
      `
name: big-order
when: { kind: webhook, event: request }
filters:
  - { path: path, op: eq, value: /orders }
  - { path: body.amount, op: gte, value: 100 }
then:
  kind: http-request
  task: request
  inputs:
    url: http://127.0.0.1:${loopPort}/notify
    method: POST
    body: { order: { $ref: data.body }, event: { $ref: event.id } }
`,
      'big-order.yml',
    ),
  );
  const webPort = await freePort();
  const web = await startAgent({
    command: exampleCommand('webhook'),
    env: { set: { WEBHOOK_PORT: String(webPort) } },
    kind: 'webhook',
    id: 'webhook-1',
    token: token.webhook,
    amqp: AMQP_URL,
    prefix,
    log,
  });
  agents.push(web);
  agents.push(
    await startAgent({
      command: exampleCommand('http-request'),
      kind: 'http-request',
      id: 'http-1',
      token: token.http,
      amqp: AMQP_URL,
      prefix,
      log,
    }),
  );
  assert.equal(web.triggers, 1, 'the agent got the trigger that concerns it at registration');
  // The webhook says hello once it listens (it may come after registration on a slow machine).
  await waitFor(async () => (await db.listConnectors()).find((c) => c.id === 'webhook-1')?.events.length, {
    what: 'the webhook to declare its events',
  });

  assert.equal(await post(webPort, '/orders', { amount: 5, id: 'small' }), 202); // filtered out
  assert.equal(await post(webPort, '/other', { amount: 500, id: 'elsewhere' }), 202); // filtered out
  assert.equal(await post(webPort, '/orders', { amount: 250, id: 'big' }), 202);
  const [exec] = await waitFor(
    async () => {
      const xs = await db.listExecutions({ trigger: 'big-order' });
      return xs.length && xs[0]!.status !== 'dispatched' ? xs : undefined;
    },
    { what: 'the execution to finish' },
  );
  assert.equal(received.length, 1);
  assert.deepEqual(received[0]!.body, { order: { amount: 250, id: 'big' }, event: exec!.eventId });
  assert.equal(exec!.status, 'done', exec!.error ?? '');
  assert.equal(exec!.eventKey, 'request');
  assert.equal(exec!.eventConnector, 'webhook-1');
  assert.equal((exec!.eventData as { path: string }).path, '/orders');
  assert.equal(exec!.target, 'kind:http-request');
  assert.deepEqual(exec!.inputs.body, { order: { amount: 250, id: 'big' }, event: exec!.eventId });
  assert.equal(exec!.outputs!.status, 201);
  assert.deepEqual(exec!.outputs!.body, { ok: true, n: 1 });
  assert.ok(exec!.durationMs !== null && exec!.finishedAt);
  assert.equal(web.counters.filteredOut, 2, 'the agent dropped the two non-matching events');
  assert.equal(await db.countEvents(), 1, 'only the valid event reached the dispatcher');
  assert.equal((await db.listExecutions()).length, 1);

  // Trigger changes reach the agent's cache without a restart (pushed invalidation).
  const before = web.triggerVersion;
  await db.addTriggers(
    parseTriggers(
      `{"name":"any-other","when":{"kind":"webhook","event":"request"},"filters":[{"path":"path","op":"regex","value":"^/oth"}],"then":{"kind":"http-request","task":"request","inputs":{"url":"http://127.0.0.1:${loopPort}/other"}}}`,
      'x.json',
    ),
  );
  await waitFor(() => web.triggerVersion > before && web.triggers === 2, { what: 'the agent to refresh its triggers' });
  await post(webPort, '/other', { amount: 1 });
  await waitFor(() => received.some((r) => r.path === '/other'), { what: 'the new trigger to act' });

  // A failing action is logged with its error.
  const closed = await freePort();
  await db.addTriggers(
    parseTriggers(
      `{"name":"to-nowhere","when":{"connector":"webhook-1","event":"request"},"filters":[{"path":"body.nowhere","op":"exists"}],"then":{"kind":"http-request","task":"request","inputs":{"url":"http://127.0.0.1:${closed}/"}}}`,
      'y.json',
    ),
  );
  await waitFor(() => web.triggers === 3, { what: 'the agent to get the third trigger' });
  await post(webPort, '/x', { nowhere: true });
  const [failed] = await waitFor(
    async () => {
      const xs = await db.listExecutions({ trigger: 'to-nowhere' });
      return xs[0]?.status === 'failed' ? xs : undefined;
    },
    { what: 'the failed execution' },
  );
  assert.match(failed!.error!, /fetch failed|ECONNREFUSED/);
  assert.equal(failed!.outputs, null);

  // The registry knows both connectors with their meta information.
  const reg = await db.listConnectors();
  const w = reg.find((c) => c.id === 'webhook-1')!;
  assert.equal(w.kind, 'webhook');
  assert.equal(w.status, 'online');
  assert.deepEqual(w.events, ['request']);
  assert.equal(w.meta.address, `http://127.0.0.1:${webPort}`);
  assert.deepEqual(reg.find((c) => c.id === 'http-1')!.tasks, ['request']);
});

void test('the connection is closed under the agent while events flow: it reconnects and every confirmed event is dispatched exactly once', async (t) => {
  if (!(await needService(t, 'rabbitmq'))) return;
  await db.addTriggers(
    parseTriggers(
      `
name: shout
when: { kind: counter, event: tick }
then: { kind: upper, task: upper, inputs: { text: { $ref: data.label } } }
`,
      'shout.yml',
    ),
  );
  const counter = await startAgent({
    command: fixture('counter.ts'),
    kind: 'counter',
    id: 'counter-1',
    token: token.counter,
    amqp: AMQP_URL,
    prefix,
    log,
  });
  agents.push(counter);
  agents.push(
    await startAgent({
      command: exampleCommand('upper'),
      kind: 'upper',
      id: 'upper-1',
      token: token.sink,
      amqp: AMQP_URL,
      prefix,
      log,
    }),
  );
  // The dispatcher notices a trigger added by another process on its next poll (500 ms): until the
  // agent has it, its events are filtered out, which is not what this test is about.
  await waitFor(() => counter.triggers === 1, { what: 'the counter agent to have the shout trigger' });
  const N = 800;
  counter.connector.sendTask({ id: 'go', key: 'emit', inputs: { n: N, everyMs: 2 } });
  const transport = (
    counter as unknown as {
      opts: { transport: { stats: { reconnects: number; republished: number; pending: number } } };
    }
  ).opts.transport;
  await waitFor(() => counter.counters.confirmed > 100, { what: 'events flowing' });
  assert.ok((await closeConnections(`switchboard-agent ${prefix} counter counter-1`)) >= 1);
  await waitFor(() => transport.stats.reconnects >= 1 && counter.counters.confirmed > 400, {
    timeoutMs: 30_000,
    what: 'reconnected, events flowing again',
  });
  assert.ok((await closeConnections(`switchboard-agent ${prefix} counter counter-1`)) >= 1);
  await waitFor(
    () => counter.counters.events === N && transport.stats.pending === 0 && transport.stats.reconnects >= 2,
    { timeoutMs: 60_000, what: 'all events emitted and confirmed' },
  );
  assert.equal(counter.counters.filteredOut, 0, 'every event matched the trigger');
  assert.equal(counter.counters.confirmed, N, 'every event was confirmed');
  const execs = await waitFor(
    async () => {
      const xs = await db.listExecutions({ trigger: 'shout', limit: 10 * N });
      return xs.length >= N && xs.every((x) => x.status === 'done') ? xs : undefined;
    },
    { timeoutMs: 60_000, what: `${N} finished executions` },
  );
  assert.equal(execs.length, N, 'exactly one execution per event');
  const ns = execs.map((x) => (x.eventData as { n: number }).n).sort((a, b) => a - b);
  assert.deepEqual(
    ns,
    Array.from({ length: N }, (_, i) => i),
    'each emitted event dispatched once',
  );
  const x0 = execs.find((x) => (x.eventData as { n: number }).n === 7)!;
  assert.deepEqual(x0.outputs, { text: 'EVENT 7' }, 'the Python connector answered');
  t.diagnostic(
    `reconnects ${transport.stats.reconnects}, republished ${transport.stats.republished}, duplicates ignored by the dispatcher ${dispatcher.counters.duplicates}`,
  );
});

void test('a wrong or missing token is refused and logged', async (t) => {
  if (!(await needService(t, 'rabbitmq'))) return;
  const refusedBefore = dispatcher.counters.refused;
  await assert.rejects(
    startAgent({
      command: fixture('counter.ts'),
      kind: 'counter',
      id: 'intruder',
      token: 'sbt_wrong',
      amqp: AMQP_URL,
      prefix,
      log,
      helloTimeoutMs: 200,
    }),
    /refused connector intruder: the token is not one this dispatcher issued/,
  );
  await assert.rejects(
    startAgent({
      command: fixture('counter.ts'),
      kind: 'counter',
      id: 'intruder',
      token: '',
      amqp: AMQP_URL,
      prefix,
      log,
      helloTimeoutMs: 200,
    }),
    /no token/,
  );
  await assert.rejects(
    startAgent({
      command: fixture('counter.ts'),
      kind: 'webhook',
      id: 'intruder',
      token: token.counter,
      amqp: AMQP_URL,
      prefix,
      log,
      helloTimeoutMs: 200,
    }),
    /the token is for kind counter, not webhook/,
  );
  assert.equal(dispatcher.counters.refused, refusedBefore + 3);
  assert.ok(!(await db.listConnectors()).some((c) => c.id === 'intruder'));
});
