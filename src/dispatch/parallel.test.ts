// The seed's parallel containers: the connector runs on its own (here: its own process serving the
// protocol on TCP via SWITCHBOARD_CONNECTOR_LISTEN) and the agent connects to it, reconnecting when
// the connector is restarted.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort, needService, waitFor } from '../core/test/support.js';
import { testStore } from '../store/test/test-store.js';
import { DispatchDb } from './dispatcher/db.js';
import { getLogger } from '../core/log.js';
import { exampleCommand } from './examples.js';
import { startAgent, startDispatcher } from './run.js';
import amqp from 'amqplib';
import { AMQP_URL, deleteTopology, drainQueue, testPrefix } from './test/rabbit.js';
import { names } from './transport/topology.js';
import { parseTriggers } from './trigger/parse.js';

const log = getLogger('dispatch-test');
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const f of cleanups.reverse()) await f().catch(() => undefined);
});

function serveCounter(port: number): ChildProcess {
  const child = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), join(import.meta.dirname, 'test', 'fixtures', 'counter.ts')],
    {
      env: { ...process.env, SWITCHBOARD_CONNECTOR_LISTEN: `127.0.0.1:${port}` },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  child.stderr!.resume();
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return child;
}

void test('an agent connects to a connector in its own container (TCP) and reconnects when it restarts (store: PostgreSQL)', async (t) => {
  if (!(await needService(t, 'rabbitmq'))) return;
  // This one keeps its dispatcher's tables in PostgreSQL (a schema of its own).
  const ts = await testStore(t, 'postgres');
  if (!ts) return;
  cleanups.push(ts.cleanup);
  const prefix = testPrefix();
  cleanups.push(() => deleteTopology(prefix));
  const db = new DispatchDb(ts.store);
  await db.migrate();
  const dispatcher = await startDispatcher({
    db,
    amqp: AMQP_URL,
    prefix,
    log,
    allowTokens: ['counter:c-token', 'upper:u-token'],
  });
  cleanups.push(() => dispatcher.stop());
  await db.addTriggers(
    parseTriggers(
      'name: shout\nwhen: { kind: counter, event: tick }\nthen: { kind: upper, task: upper, inputs: { text: { $ref: data.label } } }\n',
      't.yml',
    ),
  );

  const port = await freePort();
  let counterProc = serveCounter(port);
  const upper = await startAgent({
    command: exampleCommand('upper'),
    kind: 'upper',
    id: 'upper-p',
    token: 'u-token',
    amqp: AMQP_URL,
    prefix,
    log,
  });
  cleanups.push(() => upper.stop());
  const agent = await startAgent({
    command: [],
    connect: `cd://127.0.0.1:${port}`,
    kind: 'counter',
    id: 'counter-p',
    token: 'c-token',
    amqp: AMQP_URL,
    prefix,
    log,
  });
  cleanups.push(() => agent.stop());
  await waitFor(() => agent.declared?.events?.includes('tick') && agent.triggers === 1, {
    what: 'the hello over TCP and the trigger',
  });
  const done = async (n: number) =>
    waitFor(
      async () => {
        const xs = await db.listExecutions({ trigger: 'shout', limit: 100 });
        return xs.length === n && xs.every((x) => x.status === 'done') ? xs : undefined;
      },
      { timeoutMs: 30_000, what: `${n} finished executions` },
    );
  await waitFor(() => agent.connector.sendTask({ id: 'go1', key: 'emit', inputs: { n: 10, everyMs: 1 } }), {
    what: 'the link',
  });
  await done(10);
  assert.ok(
    ((await db.listConnectors()).find((c) => c.id === 'counter-p')!.meta.connectorAddress as string).startsWith(
      'cd://127.0.0.1:',
    ),
  );

  // An event id holding a NUL character (which PostgreSQL would refuse in text, and SQLite store) is refused
  // by the message check on either store, dead-lettered with the reason, and the dispatcher carries on.
  const n = names(prefix);
  const conn = await amqp.connect(AMQP_URL);
  const ch = await conn.createConfirmChannel();
  ch.sendToQueue(
    n.dispatcher,
    Buffer.from(
      JSON.stringify({
        type: 'events',
        token: 'c-token',
        connectorId: 'counter-p',
        events: [{ id: 'nul\u0000-1', key: 'tick', data: { n: 99, label: 'nul' }, time: new Date().toISOString() }],
      }),
    ),
  );
  await ch.waitForConfirms();
  await conn.close();
  const dead = await waitFor(
    async () => {
      const m = await drainQueue(n.dead);
      return m.length ? m : undefined;
    },
    { what: 'the dead letter' },
  );
  assert.match(dead[0]!.body, /nul\\u0000-1/);
  assert.match(String(dead[0]!.headers['x-switchboard-error']), /events\.0\.id: must not contain control characters/);

  // The connector's container restarts: the agent reconnects and carries on.
  counterProc.kill('SIGKILL');
  await waitFor(() => !agent.connector.running, { what: 'the link to drop' });
  counterProc = serveCounter(port);
  await waitFor(() => agent.connector.running && agent.connector.counters.restarts >= 1, {
    timeoutMs: 30_000,
    what: 'the agent to reconnect',
  });
  await waitFor(() => agent.connector.sendTask({ id: 'go2', key: 'emit', inputs: { n: 5, everyMs: 1 } }), {
    what: 'the link again',
  });
  const xs = await done(15);
  assert.equal(new Set(xs.map((x) => x.outputs!.text)).size, 10, 'labels 0..9 from both runs');
});
