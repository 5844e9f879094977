// The dispatcher under abuse, on both stores: a poison message is tried a few times and set aside
// with its reason while the rest of its batch goes through; a store outage sets nothing aside;
// timestamps and ids are checked alike on SQLite and PostgreSQL; a message or an event over its
// byte limit is refused with a reason that reaches the sender; agents cut batches below the
// transport's limit.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import amqp from 'amqplib';
import { needService, waitFor } from '../core/test/support.js';
import { getLogger } from '../core/log.js';
import { hubPort, startTestHub } from '../hub/test/support.js';
import { BACKENDS, testStore } from '../store/test/test-store.js';
import type { Db } from '../store/types.js';
import { DispatchDb } from './dispatcher/db.js';
import { startAgent, startDispatcher } from './run.js';
import { AMQP_URL, deleteTopology, drainQueue, testPrefix } from './test/rabbit.js';
import { names } from './transport/topology.js';
import { parseTriggers } from './trigger/parse.js';

const log = getLogger('dispatch-test');
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const f of cleanups.reverse()) await f().catch(() => undefined);
});

const MARK = 'poison-5f3a';

/**
 * The real store, with faults a store can raise: a statement carrying MARK is refused like a value
 * PostgreSQL rejects (SQLSTATE 22P02), and the next `outages` statements fail as if the server
 * were restarting (57P01).
 */
function faulty(store: Db): { db: Db; refusals: () => number; outage: (n: number) => void } {
  let refusals = 0;
  let outages = 0;
  const check = (params?: readonly unknown[]) => {
    if (outages > 0) {
      outages--;
      throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    }
    if (params?.some((p) => typeof p === 'string' && p.includes(MARK))) {
      refusals++;
      throw Object.assign(new Error('invalid input syntax (injected)'), { code: '22P02' });
    }
  };
  const wrap = (inner: Db): Db => ({
    dialect: inner.dialect,
    query: (sql, params) =>
      Promise.resolve()
        .then(() => check(params))
        .then(() => inner.query(sql, params)),
    exec: (sql, params) =>
      Promise.resolve()
        .then(() => check(params))
        .then(() => inner.exec(sql, params)),
    script: (sql) => inner.script(sql),
    upsertMany: (spec, rows) => inner.upsertMany(spec, rows),
    transaction: (fn) => inner.transaction((tx) => fn(wrap(tx))),
    migrate: (ns, m) => inner.migrate(ns, m),
  });
  return { db: wrap(store), refusals: () => refusals, outage: (n) => (outages = n) };
}

async function publishRaw(queue: string, bodies: Buffer[], props: amqp.Options.Publish = {}): Promise<void> {
  const conn = await amqp.connect(AMQP_URL);
  try {
    const ch = await conn.createConfirmChannel();
    for (const b of bodies) ch.sendToQueue(queue, b, props);
    await ch.waitForConfirms();
  } finally {
    await conn.close();
  }
}

const now = () => new Date().toISOString();
const events = (token: string, ...ids: string[]) =>
  Buffer.from(
    JSON.stringify({
      type: 'events',
      token,
      connectorId: 'c-1',
      events: ids.map((id) => ({ id, key: 'tick', data: { id }, time: now() })),
    }),
  );

for (const backend of BACKENDS) {
  void test(`${backend}: a poison message is set aside after 3 tries with its reason, its batch goes through; bad times and NUL ids are refused alike; an outage sets nothing aside`, async (t) => {
    if (!(await needService(t, 'rabbitmq'))) return;
    const ts = await testStore(t, backend);
    if (!ts) return;
    cleanups.push(ts.cleanup);
    const prefix = testPrefix();
    cleanups.push(() => deleteTopology(prefix));
    const n = names(prefix);
    const fault = faulty(ts.store);
    const db = new DispatchDb(fault.db);
    await db.migrate();
    const check = new DispatchDb(ts.store); // the test's own reads, without faults
    const token = await db.issueToken('k');
    await db.upsertConnector({ id: 'c-1', kind: 'k', meta: {}, events: [], tasks: [] }, now());
    await db.addTriggers(
      parseTriggers('name: t\nwhen: { kind: k, event: tick }\nthen: { kind: o, task: run }\n', 't.yml'),
    );
    // Declared and filled before the dispatcher consumes, so the messages arrive as one batch.
    const first = await startDispatcher({ db, amqp: AMQP_URL, prefix, log });
    await first.stop();
    await publishRaw(n.dispatcher, [
      events(token, 'good-1'),
      Buffer.from(
        JSON.stringify({
          type: 'results',
          token,
          connectorId: 'c-1',
          results: [{ executionId: 'x', startedAt: 'bad', finishedAt: now(), outputs: {} }],
        }),
      ),
      events(token, `${MARK}-1`),
      events(token, 'nul\u0000-id'),
      events(token, 'good-2'),
    ]);
    const dispatcher = await startDispatcher({ db, amqp: AMQP_URL, prefix, log });
    cleanups.push(() => dispatcher.stop());
    const dead = await waitFor(
      async () => {
        const d = await drainQueue(n.dead);
        return d.length ? d : undefined;
      },
      { what: 'dead letters' },
    );
    const more = await waitFor(
      async () => {
        const d = [...dead, ...(await drainQueue(n.dead))];
        return d.length >= 3 ? d : undefined;
      },
      { what: 'three dead letters' },
    );
    const reasons = more.map((d) => String(d.headers['x-switchboard-error'])).sort();
    t.diagnostic(reasons.join(' | '));
    assert.equal(reasons.length, 3);
    assert.match(
      reasons.find((r) => r.includes('startedAt'))!,
      /results\.0\.startedAt: must be an ISO-8601 time/,
    );
    assert.match(
      reasons.find((r) => r.includes('control'))!,
      /events\.0\.id: must not contain control characters/,
    );
    assert.match(
      reasons.find((r) => r.includes('set aside'))!,
      /processing failed 3 times \(invalid input syntax/,
    );
    assert.ok(fault.refusals() >= 3, `the poison message was tried ${fault.refusals()} times`);
    assert.equal(dispatcher.counters.poisoned, 1);
    await waitFor(async () => (await check.countEvents()) === 2, { what: 'both good events recorded' });
    const execs = await check.listExecutions({ limit: 10 });
    assert.deepEqual(execs.map((x) => x.eventId).sort(), ['good-1', 'good-2']);

    // The store goes away for a moment: the batch waits and is processed, nothing is set aside.
    fault.outage(3);
    await publishRaw(n.dispatcher, [events(token, 'after-outage')]);
    await waitFor(async () => (await check.countEvents()) === 3, {
      timeoutMs: 20_000,
      what: 'the event after the outage',
    });
    assert.equal((await drainQueue(n.dead)).length, 0, 'an outage sets nothing aside');
    assert.equal(dispatcher.counters.poisoned, 1);
  });
}

void test('a 50 MB message and a 2 MB event are refused with their reasons (to the sender when it waits for a reply, and in the dead-letter queue, body cut)', async (t) => {
  if (!(await needService(t, 'rabbitmq'))) return;
  const ts = await testStore(t, 'sqlite');
  if (!ts) return;
  cleanups.push(ts.cleanup);
  const prefix = testPrefix();
  cleanups.push(() => deleteTopology(prefix));
  const n = names(prefix);
  const db = new DispatchDb(ts.store);
  await db.migrate();
  const token = await db.issueToken('k');
  await db.upsertConnector({ id: 'c-1', kind: 'k', meta: {}, events: [], tasks: [] }, now());
  const dispatcher = await startDispatcher({ db, amqp: AMQP_URL, prefix, log });
  cleanups.push(() => dispatcher.stop());
  const rssBefore = process.memoryUsage().rss;

  const conn = await amqp.connect(AMQP_URL);
  cleanups.push(() => conn.close());
  const ch = await conn.createConfirmChannel();
  const replies: { correlationId: string; body: { type: string; message: string } }[] = [];
  await ch.consume(
    'amq.rabbitmq.reply-to',
    (m) => {
      if (m)
        replies.push({
          correlationId: String(m.properties.correlationId),
          body: JSON.parse(m.content.toString()) as { type: string; message: string },
        });
    },
    { noAck: true },
  );
  const huge = Buffer.from(
    JSON.stringify({
      type: 'events',
      token,
      connectorId: 'c-1',
      events: [{ id: 'huge', key: 'tick', data: { blob: 'x'.repeat(50 * 1024 * 1024) }, time: now() }],
    }),
  );
  const correlationId = randomUUID();
  ch.sendToQueue(n.dispatcher, huge, { replyTo: 'amq.rabbitmq.reply-to', correlationId });
  const bigEvent = events(token, 'big');
  const withData = JSON.parse(bigEvent.toString()) as { events: { data: unknown }[] };
  withData.events[0]!.data = { blob: 'y'.repeat(2 * 1024 * 1024) };
  ch.sendToQueue(n.dispatcher, Buffer.from(JSON.stringify(withData)));
  await ch.waitForConfirms();

  const reply = await waitFor(() => replies.find((r) => r.correlationId === correlationId), {
    timeoutMs: 30_000,
    what: 'the refusal at the sender',
  });
  assert.equal(reply.body.type, 'refused');
  assert.match(reply.body.message, /the message is \d+ bytes; the dispatcher takes messages of at most 8388608 bytes/);
  const dead = await waitFor(
    async () => {
      const d = await drainQueue(n.dead);
      return d.length ? d : undefined;
    },
    { what: 'dead letters' },
  );
  const all =
    dead.length >= 2
      ? dead
      : [
          ...dead,
          ...(await waitFor(async () => {
            const d = await drainQueue(n.dead);
            return d.length ? d : undefined;
          })),
        ];
  const cut = all.find((d) => d.headers['x-truncated'])!;
  assert.equal(cut.body.length, 4096, 'the dead letter keeps the first 4 KiB of an oversized body');
  assert.equal(cut.headers['x-original-bytes'], huge.length);
  const big = all.find((d) => !d.headers['x-truncated'])!;
  assert.match(
    String(big.headers['x-switchboard-error']),
    /event big \(tick\) carries 2097\d+ bytes of data; events are limited to 1048576 bytes/,
  );
  assert.equal(await db.countEvents(), 0);
  t.diagnostic(
    `RSS of the process holding the dispatcher: ${Math.round(rssBefore / 1e6)} MB before, ${Math.round(process.memoryUsage().rss / 1e6)} MB after the 50 MB message`,
  );
});

void test('over the hub, an agent cuts batches below the hub line limit: 12 events of 300 KB all arrive', async (t) => {
  const ts = await testStore(t, 'sqlite');
  if (!ts) return;
  cleanups.push(ts.cleanup);
  const hub = await startTestHub();
  cleanups.push(() => hub.stop());
  const address = `cd://127.0.0.1:${hubPort(hub)}`;
  const db = new DispatchDb(ts.store);
  await db.migrate();
  const token = await db.issueToken('counter');
  await db.addTriggers(
    parseTriggers('name: t\nwhen: { kind: counter, event: tick }\nthen: { kind: o, task: run }\n', 't.yml'),
  );
  // The dispatcher registers the reserved name `dispatcher`: the hub's admin token proves it may.
  const dispatcher = await startDispatcher({ db, hub: address, hubToken: hub.adminToken, log });
  cleanups.push(() => dispatcher.stop());
  const agent = await startAgent({
    command: [process.execPath, '--import', 'tsx', join(import.meta.dirname, 'test', 'fixtures', 'counter.ts')],
    kind: 'counter',
    id: 'counter-big',
    token,
    dispatcher: address,
    log,
  });
  cleanups.push(() => agent.stop());
  agent.connector.sendTask({ id: 'go', key: 'emit', inputs: { n: 12, everyMs: 0, pad: 300_000 } });
  await waitFor(() => agent.counters.confirmed === 12, { timeoutMs: 30_000, what: '12 large events confirmed' });
  assert.equal(await db.countEvents(), 12);
});
