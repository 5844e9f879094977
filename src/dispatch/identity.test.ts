// Who an agent is: two live agents never share a connector id (the broker's exclusive consumer on
// RabbitMQ, the registry on the hub), the second is refused at once with who holds it; default ids
// take the next free slot; a refusal reaches exactly the agent that was refused; the connector's
// environment is an allow-list, never the agent's secrets.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { needService, tempDir, waitFor } from '../core/test/support.js';
import { getLogger } from '../core/log.js';
import type { JsonValue } from '../core/message.js';
import { hubPort, startTestHub } from '../hub/test/support.js';
import type { Agent } from './agent/agent.js';
import { defaultIds } from './agent/agent.js';
import { openDispatchDb } from './open.js';
import { startAgent, startDispatcher, type AgentRunOptions } from './run.js';
import { AMQP_URL, deleteTopology, testPrefix } from './test/rabbit.js';

const log = getLogger('dispatch-test');
const fixture = (name: string) => [
  process.execPath,
  '--import',
  'tsx',
  join(import.meta.dirname, 'test', 'fixtures', name),
];
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const f of cleanups.reverse()) await f().catch(() => undefined);
});

async function setup(transport: 'amqp' | 'hub') {
  const home = await tempDir('sb-dispatch-id-');
  cleanups.push(home.cleanup);
  const { db, close } = await openDispatchDb({ home: home.path });
  cleanups.push(close);
  const prefix = testPrefix();
  let where: Partial<AgentRunOptions>;
  // The dispatcher registers the reserved name `dispatcher`: the hub's admin token proves it may.
  let hubToken: string | undefined;
  if (transport === 'amqp') {
    cleanups.push(() => deleteTopology(prefix));
    where = { amqp: AMQP_URL, prefix };
  } else {
    const hub = await startTestHub();
    cleanups.push(() => hub.stop());
    where = { dispatcher: `cd://127.0.0.1:${hubPort(hub)}` };
    hubToken = hub.adminToken;
  }
  const dispatcher = await startDispatcher({
    db,
    ...(where.amqp ? { amqp: AMQP_URL, prefix } : { hub: where.dispatcher, hubToken }),
    log,
  });
  cleanups.push(() => dispatcher.stop());
  const token = await db.issueToken('dump');
  const agent = async (opts: Partial<AgentRunOptions>): Promise<Agent> => {
    const a = await startAgent({ command: fixture('env-dump.ts'), kind: 'dump', token, ...where, log, ...opts });
    cleanups.push(() => a.stop());
    return a;
  };
  return { db, agent, dispatcher };
}

for (const transport of ['amqp', 'hub'] as const) {
  void test(`${transport}: a second live agent with a connector id already connected is refused at once, naming the holder; the first keeps its place`, async (t) => {
    if (transport === 'amqp' && !(await needService(t, 'rabbitmq'))) return;
    const { agent, db } = await setup(transport);
    const first = await agent({ id: 'dump-1' });
    const started = performance.now();
    const err = await agent({ id: 'dump-1' }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    const ms = Math.round(performance.now() - started);
    assert.ok(err, 'the second agent was refused');
    t.diagnostic(`refused after ${ms} ms: ${err.message}`);
    assert.match(err.message, /connector id "dump-1" is already taken by a live agent/);
    if (transport === 'amqp')
      assert.match(
        err.message,
        new RegExp(
          `RabbitMQ refused a second consumer .*; the dispatcher's registry: agent pid ${process.pid} on host ${hostname()}`,
        ),
      );
    else
      assert.match(
        err.message,
        /the hub says: service "dispatch_agent_dump_1_[0-9a-f]+" is already registered \(instance 1 from 127\.0\.0\.1:\d+\)/,
      );
    assert.match(err.message, /give this agent another --id, or stop that one/);
    // The holder was not disturbed: it is still registered and still answers tasks.
    const [c] = await db.listConnectors();
    assert.equal(c!.status, 'online');
    assert.equal(first.connector.running, true);
  });

  void test(`${transport}: two agents of one kind on one host without --id take <kind>-<host> and <kind>-<host>-2`, async (t) => {
    if (transport === 'amqp' && !(await needService(t, 'rabbitmq'))) return;
    const { agent, db } = await setup(transport);
    const [base, second] = defaultIds('dump');
    const a = await agent({});
    const b = await agent({});
    assert.equal(a.id, base);
    assert.equal(b.id, second);
    assert.equal(base, `dump-${hostname().replace(/[^A-Za-z0-9_.:-]/g, '-')}`);
    assert.deepEqual(
      (await db.listConnectors()).map((c) => [c.id, c.status]),
      [
        [base, 'online'],
        [second, 'online'],
      ],
    );
    // After the first stops, a new agent takes the free base id again.
    await a.stop();
    const c = await agent({});
    assert.equal(c.id, base);
  });

  void test(`${transport}: a refusal reaches exactly the agent that was refused`, async (t) => {
    if (transport === 'amqp' && !(await needService(t, 'rabbitmq'))) return;
    const { agent, dispatcher } = await setup(transport);
    const good = await agent({ id: 'dump-good' });
    const refusedBefore = dispatcher.counters.refused;
    await assert.rejects(
      agent({ id: 'dump-bad', token: 'sbt_not-issued', helloTimeoutMs: 200 }),
      /the dispatcher refused connector dump-bad: the token is not one this dispatcher issued/,
    );
    assert.equal(dispatcher.counters.refused, refusedBefore + 1);
    assert.equal(good.connector.running, true);
  });
}

void test("a connector's environment holds the allow-list and what the agent asked for, never the agent's secrets", async (t) => {
  if (!(await needService(t, 'rabbitmq'))) return;
  const { agent } = await setup('amqp');
  const secrets = {
    SWITCHBOARD_HTTP_TOKEN: 'http-secret',
    SWITCHBOARD_AMQP_URL: 'amqp://user:pw@host',
    SWITCHBOARD_AGENT_TOKEN: 'sbt_secret',
    DATABASE_PASSWORD: 'pw',
    ASKED_FOR: 'yes',
  };
  Object.assign(process.env, secrets);
  t.after(() => {
    for (const k of Object.keys(secrets)) delete process.env[k];
  });
  const a = await agent({ id: 'dump-env', env: { pass: ['ASKED_FOR'], set: { SET_HERE: 'v' } } });
  const answer = new Promise<Record<string, JsonValue>>((resolve) =>
    a.connector.on('result', (r) => {
      if (r.id === 'env-1' && 'outputs' in r) resolve(r.outputs);
    }),
  );
  await waitFor(
    () =>
      a.connector.sendTask({
        id: 'env-1',
        key: 'env',
        inputs: { values: ['ASKED_FOR', 'SET_HERE', 'SWITCHBOARD_CONNECTOR_ID', 'PATH'] },
      }),
    { what: 'the connector' },
  );
  const out = await answer;
  const names = out.names as string[];
  t.diagnostic(`the connector's environment: ${names.join(' ')}`);
  for (const k of ['SWITCHBOARD_HTTP_TOKEN', 'SWITCHBOARD_AMQP_URL', 'SWITCHBOARD_AGENT_TOKEN', 'DATABASE_PASSWORD'])
    assert.ok(!names.includes(k), `${k} reached the connector`);
  assert.deepEqual(out.values, {
    ASKED_FOR: 'yes',
    SET_HERE: 'v',
    SWITCHBOARD_CONNECTOR_ID: 'dump-env',
    PATH: process.env.PATH!,
  });
});
