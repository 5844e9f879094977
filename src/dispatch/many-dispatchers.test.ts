// Several dispatchers on one RabbitMQ and one PostgreSQL store: each takes part of the events, and
// killing one mid-stream (SIGKILL) loses no event and runs no task twice. What keeps it exactly
// once is the database (events by id, executions unique per event and trigger), not memory.
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getLogger } from '../core/log.js';
import { needService, tempDir, waitFor } from '../core/test/support.js';
import { testStore } from '../store/test/test-store.js';
import { DispatchDb } from './dispatcher/db.js';
import { startAgent, startDispatcher } from './run.js';
import { AMQP_URL, deleteTopology, testPrefix } from './test/rabbit.js';
import { parseTriggers } from './trigger/parse.js';

const log = getLogger('dispatch-test');
const bin = join(import.meta.dirname, '..', '..', 'bin', 'switchboard.js');
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const f of cleanups.reverse()) await f().catch(() => undefined);
});

const fixture = (name: string) => [
  process.execPath,
  '--import',
  import.meta.resolve('tsx'),
  join(import.meta.dirname, 'test', 'fixtures', `${name}.ts`),
];

/** `switchboard dispatcher` as a process of its own; resolves once it says it runs. */
async function spawnDispatcher(database: string, prefix: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [bin, 'dispatcher', '--database', database, '--prefix', prefix], {
    env: {
      ...process.env,
      SWITCHBOARD_FROM_SOURCE: '1',
      SWITCHBOARD_AMQP_URL: AMQP_URL,
      SWITCHBOARD_CONNECTOR_TOKENS: 'counter:c-token,recorder:r-token',
      SWITCHBOARD_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (stderr.includes('dispatcher running')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the dispatcher exited (${code}): ${stderr}`)));
  });
  child.stderr!.resume();
  return child;
}

const TRIGGER = `
name: record-tick
when: { kind: counter, event: tick }
then: { connector: recorder-1, task: record, inputs: { label: { $ref: data.label } } }
`;

async function setUp(t: TestContext) {
  if (!(await needService(t, 'rabbitmq'))) return undefined;
  const ts = await testStore(t, 'postgres');
  if (!ts) return undefined;
  cleanups.push(ts.cleanup);
  const prefix = testPrefix();
  cleanups.push(() => deleteTopology(prefix));
  const db = new DispatchDb(ts.store);
  await db.migrate();
  await db.issueToken('counter', 'c-token');
  await db.issueToken('recorder', 'r-token');
  await db.addTriggers(parseTriggers(TRIGGER, 't.yml'));
  const dir = await tempDir('sb-many-dispatchers-');
  cleanups.push(dir.cleanup);
  const recordFile = join(dir.path, 'runs.txt');
  return { ts, db, prefix, recordFile };
}

async function startRecorder(prefix: string, recordFile: string) {
  const recorder = await startAgent({
    command: fixture('recorder'),
    kind: 'recorder',
    id: 'recorder-1',
    token: 'r-token',
    amqp: AMQP_URL,
    prefix,
    env: { set: { RECORD_FILE: recordFile } },
    log,
  });
  cleanups.push(() => recorder.stop());
  return recorder;
}

/** Labels the recorder ran, with how many times each. */
async function runsOf(recordFile: string): Promise<Map<string, number>> {
  const text = await readFile(recordFile, 'utf8').catch(() => '');
  const runs = new Map<string, number>();
  for (const l of text.split('\n')) if (l) runs.set(l, (runs.get(l) ?? 0) + 1);
  return runs;
}

void test('two dispatchers share the events; one killed mid-stream loses none and runs none twice', async (t) => {
  const s = await setUp(t);
  if (!s) return;
  const { ts, db, prefix, recordFile } = s;
  const first = await spawnDispatcher(ts.url, prefix);
  const second = await spawnDispatcher(ts.url, prefix);
  const recorder = await startRecorder(prefix, recordFile);
  const counter = await startAgent({
    command: fixture('counter'),
    kind: 'counter',
    id: 'counter-1',
    token: 'c-token',
    amqp: AMQP_URL,
    prefix,
    log,
  });
  cleanups.push(() => counter.stop());
  await waitFor(() => counter.triggers === 1 && counter.declared?.events?.includes('tick'), {
    timeoutMs: 30_000,
    what: 'the counter to register and get the trigger',
  });

  const N = 3000;
  const byDispatcher = async () => {
    const xs = await db.listExecutions({ limit: N * 2 });
    const counts = new Map<string, number>();
    for (const x of xs) counts.set(x.dispatcher ?? '?', (counts.get(x.dispatcher ?? '?') ?? 0) + 1);
    return { xs, counts };
  };
  await waitFor(() => counter.connector.sendTask({ id: 'go', key: 'emit', inputs: { n: N, everyMs: 2 } }), {
    what: 'the counter to take the task',
  });
  // Both take part before one is killed (RabbitMQ hands the queue's messages to both consumers).
  const before = await waitFor(
    async () => {
      const { xs, counts } = await byDispatcher();
      return counts.size === 2 && [...counts.values()].every((n) => n >= 20) && xs.length >= 300 ? counts : undefined;
    },
    { timeoutMs: 60_000, what: 'both dispatchers to record executions' },
  );
  first.kill('SIGKILL');
  const stillEmitting = (await db.countEvents()) < N;
  const xs = await waitFor(
    async () => {
      const { xs } = await byDispatcher();
      return xs.length === N && xs.every((x) => x.status === 'done') ? xs : undefined;
    },
    { timeoutMs: 180_000, intervalMs: 250, what: `${N} finished executions` },
  );
  assert.ok(stillEmitting, 'the dispatcher was killed while events were still coming');
  assert.equal(await db.countEvents(), N, 'every event recorded once');
  assert.equal(new Set(xs.map((x) => x.eventId)).size, N, 'one execution per event');
  const labels = new Set(xs.map((x) => x.outputs!.label));
  assert.equal(labels.size, N, 'every label once in the outputs');
  const runs = await runsOf(recordFile);
  assert.equal(runs.size, N, 'the recorder ran every label');
  const twice = [...runs].filter(([, n]) => n > 1);
  assert.deepEqual(twice, [], 'no task ran twice');
  assert.equal([...before.keys()].length, 2);
  t.diagnostic(
    `executions by dispatcher before the kill: ${JSON.stringify(Object.fromEntries(before))}; tasks the recorder's agent dropped as sent twice: ${recorder.counters.duplicateTasks}`,
  );
  second.kill('SIGTERM');
});

void test('a redelivered event whose tasks were never sent gets them sent, and the agent runs a task sent twice once', async (t) => {
  const s = await setUp(t);
  if (!s) return;
  const { db, prefix, recordFile } = s;
  const dispatcher = await startDispatcher({ db, amqp: AMQP_URL, prefix, log });
  cleanups.push(() => dispatcher.stop());
  const recorder = await startRecorder(prefix, recordFile);
  await db.upsertConnector(
    { id: 'counter-1', kind: 'counter', meta: {}, events: ['tick'], tasks: [] },
    new Date().toISOString(),
  );

  // A dispatcher that died between recording an event and sending its task: the event and its
  // execution are in the store, the task went nowhere.
  const event = { id: 'ev-1', key: 'tick', data: { label: 'only-once' }, time: new Date().toISOString() };
  await db.recordEvents(
    [{ ...event, connectorId: 'counter-1', kind: 'counter' }],
    (fresh) =>
      fresh.map((e) => ({
        id: 'x-1',
        eventId: e.id,
        trigger: 'record-tick',
        target: 'connector:recorder-1',
        task: 'record',
        inputs: { label: 'only-once' },
        dispatchedAt: new Date().toISOString(),
      })),
    'a-dead-dispatcher:1',
  );
  const message = { type: 'events' as const, token: 'c-token', connectorId: 'counter-1', events: [event] };

  // Not marked redelivered (an agent's republished copy while the first dispatcher lives): nothing is sent.
  await (
    await dispatcher.handle([{ message }])
  ).settled;
  assert.equal(dispatcher.counters.resent, 0);
  // Redelivered by RabbitMQ (twice, as after two dispatchers stopped): the task goes out each time,
  // the agent runs it once.
  await (
    await dispatcher.handle([{ message, redelivered: true }])
  ).settled;
  await (
    await dispatcher.handle([{ message, redelivered: true }])
  ).settled;
  assert.equal(dispatcher.counters.resent, 2);
  const [x] = await waitFor(
    async () => {
      const xs = await db.listExecutions({ eventId: 'ev-1' });
      return xs[0]?.status === 'done' ? xs : undefined;
    },
    { timeoutMs: 30_000, what: 'the execution to finish' },
  );
  assert.equal(x!.dispatcher, 'a-dead-dispatcher:1');
  assert.deepEqual(x!.outputs, { label: 'only-once', run: 1 });
  await waitFor(() => recorder.counters.duplicateTasks === 1, { what: 'the second copy to be dropped' });
  assert.deepEqual([...(await runsOf(recordFile))], [['only-once', 1]]);
  assert.equal(await db.countEvents(), 1);
});
