// Attacks on the dispatcher from a local process or a connector with a token of its own: holding a
// dead agent's hub service name (computable from its connector id) gets no tasks; a token of one kind
// completes no execution assigned to another connector; floods of junk write a few log lines, not
// one per message (hub and RabbitMQ).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import amqp from 'amqplib';
import { pino } from 'pino';
import { connect, type SwitchboardClient } from '../client/index.js';
import type { JsonValue } from '../core/message.js';
import { needService, tempDir, waitFor } from '../core/test/support.js';
import { hubPort, startTestHub } from '../hub/test/support.js';
import { Dispatcher } from './dispatcher/dispatcher.js';
import { openDispatchDb } from './open.js';
import type { AgentMessage, WireTask } from './protocol/wire.js';
import { startDispatcher } from './run.js';
import { AMQP_URL, deleteTopology, testPrefix } from './test/rabbit.js';
import { AmqpDispatcherTransport } from './transport/amqp-dispatcher.js';
import { agentService, DISPATCHER_SERVICE } from './transport/hub.js';
import { parseTriggers } from './trigger/parse.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const f of cleanups.reverse()) await f().catch(() => undefined);
});

/** A logger whose warn lines (and above) the test counts. */
function capturingLog() {
  const lines: string[] = [];
  const log = pino(
    { level: 'warn', base: undefined },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    }),
  );
  return { log, lines };
}

async function hubSetup() {
  const home = await tempDir('sb-dispatch-sec-');
  cleanups.push(home.cleanup);
  const { db, close } = await openDispatchDb({ home: home.path });
  cleanups.push(close);
  const hub = await startTestHub();
  cleanups.push(() => hub.stop());
  const address = `cd://127.0.0.1:${hubPort(hub)}`;
  const { log, lines } = capturingLog();
  const dispatcher = await startDispatcher({ db, hub: address, hubToken: hub.adminToken, log });
  cleanups.push(() => dispatcher.stop());
  /** A plain hub client: any local process can be one. */
  const client = async (service: string): Promise<SwitchboardClient> => {
    const c = await connect(address, { format: 'json', waitOnFirstConnect: true });
    cleanups.push(async () => c.dispose());
    await c.register(service, { commands: ['DISPATCH_TASKS', 'DISPATCH_INVALIDATE'] });
    return c;
  };
  const ask = async (c: SwitchboardClient, message: AgentMessage): Promise<Record<string, JsonValue>> => {
    const reply = await c.request(
      { command: 'DISPATCH', to: DISPATCHER_SERVICE, params: { message: message as unknown as JsonValue } },
      { timeoutMs: 15_000 },
    );
    return reply.params.reply as Record<string, JsonValue>;
  };
  /** An agent by hand: its service name, its tasks, its registration with its token. */
  const agent = async (id: string, kind: string, token: string) => {
    const c = await client(agentService(id));
    const tasks: WireTask[] = [];
    c.on('DISPATCH_TASKS', (msg) => {
      tasks.push(...(msg.params.tasks as unknown as WireTask[]));
    });
    const r = await ask(c, { type: 'register', token, connector: { id, kind, meta: {}, events: [], tasks: [] } });
    assert.equal(r.type, 'registered', JSON.stringify(r));
    return { c, tasks };
  };
  return { db, dispatcher, client, ask, agent, lines };
}

const event = (id: string, token: string): AgentMessage => ({
  type: 'events',
  token,
  connectorId: 'a-1',
  events: [{ id, key: 'go', data: { n: 1 }, time: new Date().toISOString() }],
});

/** Connector a-1 (kind a) whose `go` events send tasks to connector b-1 (kind b); both agents by hand. */
async function relaySetup() {
  const setup = await hubSetup();
  const { db, agent } = setup;
  const tokenA = await db.issueToken('a');
  const tokenB = await db.issueToken('b');
  await db.addTriggers(
    parseTriggers(
      'name: relay\nwhen: { connector: a-1, event: go }\nthen: { connector: b-1, task: work, inputs: { n: { $ref: data.n } } }\n',
      't.yml',
    ),
  );
  const a = await agent('a-1', 'a', tokenA);
  const b = await agent('b-1', 'b', tokenB);
  return { ...setup, tokenA, tokenB, a, b };
}

void test("hub: a results message with another kind's token completes nothing", async () => {
  const { db, ask, a, b, tokenA, tokenB } = await relaySetup();
  // 1. A's token, A's id, B's execution: refused with a sentence; B's execution stays out.
  assert.equal((await ask(a.c, event('e1', tokenA))).type, 'accepted');
  await waitFor(() => b.tasks.length === 1, { what: "b-1's task" });
  const executionId = b.tasks[0]!.executionId;
  const forged = await ask(a.c, {
    type: 'results',
    token: tokenA,
    connectorId: 'a-1',
    results: [{ executionId, outputs: { forged: true }, finishedAt: new Date().toISOString() }],
  });
  assert.equal(forged.type, 'refused', JSON.stringify(forged));
  assert.equal(forged.code, 'PERMISSION_DENIED');
  assert.match(String(forged.message), /not assigned to it or to its kind/);
  assert.equal((await db.getExecution(executionId))!.status, 'dispatched');
  // B's own result counts.
  const own = await ask(b.c, {
    type: 'results',
    token: tokenB,
    connectorId: 'b-1',
    results: [{ executionId, outputs: { by: 'b' }, finishedAt: new Date().toISOString() }],
  });
  assert.equal(own.type, 'accepted', JSON.stringify(own));
  const done = await db.getExecution(executionId);
  assert.equal(done!.status, 'done');
  assert.deepEqual(done!.outputs, { by: 'b' });
});

void test("hub: a dead agent's service name, computable from its id, gets no tasks when another process takes it", async () => {
  const { db, ask, a, b, tokenA, tokenB, agent, client } = await relaySetup();
  // B dies; a local process takes its computable service name: the tasks for b-1 fail with the reason instead.
  b.c.dispose();
  const thief = await waitFor(() => client(agentService('b-1')).catch(() => undefined), {
    what: "b-1's name to be free",
  });
  const stolen: unknown[] = [];
  thief.on('DISPATCH_TASKS', (msg) => {
    stolen.push(msg.params.tasks);
  });
  assert.equal((await ask(a.c, event('e2', tokenA))).type, 'accepted');
  const failed = await waitFor(
    async () => {
      if (stolen.length) return 'stolen';
      const x = (await db.listExecutions({ trigger: 'relay' })).find((e) => e.eventId === 'e2');
      return x && x.status !== 'dispatched' ? x : undefined;
    },
    { timeoutMs: 15_000, what: 'the task for the dead agent to fail or be stolen' },
  );
  assert.notEqual(failed, 'stolen', 'the task went to whoever took the name');
  assert.equal(stolen.length, 0);
  assert.ok(typeof failed !== 'string');
  assert.equal(failed.status, 'failed');
  assert.match(failed.error ?? '', /connector b-1's agent is not on the hub/);

  // The name is free again and a new agent registers with its token: its tasks reach it.
  thief.dispose();
  const b2 = await waitFor(() => agent('b-1', 'b', tokenB).catch(() => undefined), { what: 'a new b-1' });
  assert.equal((await ask(a.c, event('e3', tokenA))).type, 'accepted');
  await waitFor(() => b2.tasks.length === 1, { what: "the new b-1's task" });
  assert.equal(stolen.length, 0);
});

void test('hub: 2,000 junk DISPATCH messages and 2,000 with a wrong token write a few log lines, each answered', async () => {
  const { client, ask, lines } = await hubSetup();
  const flooder = await client('flooder');
  const before = lines.length;
  const replies = await Promise.all([
    ...Array.from({ length: 2000 }, () => ask(flooder, { type: 'junk' } as unknown as AgentMessage)),
    ...Array.from({ length: 2000 }, (_, i) => ask(flooder, event(`x${i}`, 'sbt_wrong'))),
  ]);
  assert.equal(replies.filter((r) => r.type === 'refused').length, 4000, 'every one refused to its sender');
  const written = lines.length - before;
  assert.ok(
    written <= 10,
    `${written} log lines for 4,000 bad messages: ${lines.slice(before, before + 3).join('\n')}`,
  );
});

void test('amqp: 2,000 junk messages are dead-lettered with a few log lines', async (t) => {
  if (!(await needService(t, 'rabbitmq'))) return;
  const home = await tempDir('sb-dispatch-sec-');
  cleanups.push(home.cleanup);
  const { db, close } = await openDispatchDb({ home: home.path });
  cleanups.push(close);
  const prefix = testPrefix();
  cleanups.push(() => deleteTopology(prefix));
  const { log, lines } = capturingLog();
  const transport = new AmqpDispatcherTransport({ url: AMQP_URL, prefix, log });
  const dispatcher = new Dispatcher({ db, transport, log });
  await dispatcher.start();
  cleanups.push(() => dispatcher.stop());
  const conn = await amqp.connect(AMQP_URL);
  try {
    const ch = await conn.createConfirmChannel();
    for (let i = 0; i < 2000; i++) ch.publish(`${prefix}.inbox`, 'events', Buffer.from('{"type":"junk"}'));
    await ch.waitForConfirms();
  } finally {
    await conn.close();
  }
  await waitFor(() => transport.counters.deadLettered === 2000, { timeoutMs: 60_000, what: '2,000 dead letters' });
  assert.ok(lines.length <= 10, `${lines.length} log lines for 2,000 junk messages`);
});
