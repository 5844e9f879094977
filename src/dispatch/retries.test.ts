// Actions that fail are tried again (attempts, back-off, a time limit per try), results chain into
// events for other triggers (stopped at MAX_CHAIN_HOPS with a sentence), failed executions are
// replayed with `switchboard trigger replay`, and dead letters go back to the dispatcher with
// `trigger replay --dead` once the cause is fixed. Real RabbitMQ, real agents and connectors.
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { getLogger } from '../core/log.js';
import { needService, tempDir, waitFor } from '../core/test/support.js';
import { testStore } from '../store/test/test-store.js';
import type { Agent } from './agent/agent.js';
import { DispatchDb } from './dispatcher/db.js';
import type { Dispatcher } from './dispatcher/dispatcher.js';
import type { ExecutionRecord } from './dispatcher/types.js';
import { startAgent, startDispatcher } from './run.js';
import { AMQP_URL, deleteTopology, testPrefix } from './test/rabbit.js';
import { names } from './transport/topology.js';
import { parseTriggers } from './trigger/parse.js';
import { MAX_CHAIN_HOPS } from './trigger/schema.js';

const log = getLogger('dispatch-test');
const run = promisify(execFile);
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

const TRIGGERS = `
- name: retry
  when: { connector: speaker-1, event: said }
  filters: [ { path: case, op: eq, value: retry } ]
  then: { connector: recorder-1, task: record, inputs: { label: retry, fail: 2 }, attempts: 3, backoff: 100ms }
- name: slow
  when: { connector: speaker-1, event: said }
  filters: [ { path: case, op: eq, value: slow } ]
  then: { connector: recorder-1, task: record, inputs: { label: slow, sleepMs: 2000 }, attempts: 2, backoff: 100ms, timeout: 600ms }
- name: first
  when: { connector: speaker-1, event: said }
  filters: [ { path: case, op: eq, value: chain } ]
  then: { connector: recorder-1, task: record, inputs: { label: chain-1 }, emit: recorded }
- name: second
  when: { connector: recorder-1, event: recorded }
  then: { connector: recorder-1, task: record, inputs: { label: { $ref: event.id }, from: { $ref: data.label } } }
- name: loop-start
  when: { connector: speaker-1, event: said }
  filters: [ { path: case, op: eq, value: loop } ]
  then: { connector: recorder-1, task: record, inputs: { label: { $ref: event.id } }, emit: looped }
- name: loop
  when: { connector: recorder-1, event: looped }
  then: { connector: recorder-1, task: record, inputs: { label: { $ref: event.id } }, emit: looped }
- name: once
  when: { connector: speaker-1, event: said }
  filters: [ { path: case, op: eq, value: replay } ]
  then: { connector: recorder-1, task: record, inputs: { label: replay, fail: 1 } }
- name: ghost
  when: { connector: ghost-1, event: said }
  then: { connector: recorder-1, task: record, inputs: { label: ghost } }
`;

let db: DispatchDb;
let dispatcher: Dispatcher;
let speaker: Agent;
let prefix: string;
let database: string;
let recordFile: string;
let setup: Promise<void> | undefined;

/** The dispatcher and agents the tests share, started by the first; false when RabbitMQ is not there. */
async function ready(t: TestContext): Promise<boolean> {
  if (!(await needService(t, 'rabbitmq'))) return false;
  setup ??= start(t);
  await setup;
  return true;
}

async function start(t: TestContext): Promise<void> {
  const ts = await testStore(t, 'sqlite');
  cleanups.push(ts!.cleanup);
  database = ts!.url;
  prefix = testPrefix();
  cleanups.push(() => deleteTopology(prefix));
  db = new DispatchDb(ts!.store);
  await db.migrate();
  await db.issueToken('speaker', 's-token');
  await db.issueToken('recorder', 'r-token');
  await db.addTriggers(parseTriggers(TRIGGERS, 't.yml'));
  const dir = await tempDir('sb-retries-');
  cleanups.push(dir.cleanup);
  recordFile = join(dir.path, 'runs.txt');
  dispatcher = await startDispatcher({ db, amqp: AMQP_URL, prefix, log, tickMs: 100 });
  cleanups.push(() => dispatcher.stop());
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
  speaker = await startAgent({
    command: fixture('speaker'),
    kind: 'speaker',
    id: 'speaker-1',
    token: 's-token',
    amqp: AMQP_URL,
    prefix,
    log,
  });
  cleanups.push(() => speaker.stop());
}

async function say(data: Record<string, string>): Promise<void> {
  await waitFor(() => speaker.connector.sendTask({ id: `say-${data.case}`, key: 'say', inputs: { data } }), {
    what: 'the speaker to take the task',
  });
}

async function settled(trigger: string, n = 1): Promise<ExecutionRecord[]> {
  return waitFor(
    async () => {
      const xs = await db.listExecutions({ trigger });
      return xs.length === n && xs.every((x) => x.status === 'done' || x.status === 'failed') ? xs : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 50, what: `${n} finished execution(s) of ${trigger}` },
  );
}

async function runsOf(label: string): Promise<number> {
  const text = await readFile(recordFile, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l === label).length;
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [bin, ...args], {
      env: { ...process.env, SWITCHBOARD_FROM_SOURCE: '1', SWITCHBOARD_AMQP_URL: AMQP_URL },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

void test('a failing action is tried again after its back-off until it succeeds', async (t) => {
  if (!(await ready(t))) return;
  await say({ case: 'retry' });
  const [x] = await settled('retry');
  assert.equal(x!.status, 'done');
  assert.equal(x!.attempt, 3);
  assert.deepEqual(x!.outputs, { label: 'retry', run: 3 });
  assert.deepEqual(
    x!.attempts.map((a) => [a.attempt, a.error]),
    [
      [1, 'run 1 of retry fails on purpose'],
      [2, 'run 2 of retry fails on purpose'],
    ],
  );
  assert.equal(await runsOf('retry'), 3);
});

void test('a try without a result in its time limit fails, and its late result changes nothing', async (t) => {
  if (!(await ready(t))) return;
  await say({ case: 'slow' });
  const [x] = await settled('slow');
  assert.equal(x!.status, 'failed');
  assert.equal(x!.attempt, 2);
  assert.match(x!.error!, /^no result within 600ms/);
  assert.equal(x!.attempts.length, 2);
  // Both tries ran; their results (2 s later) arrive after the tries timed out and are ignored.
  await waitFor(async () => (await runsOf('slow')) === 2, { what: 'both tries to run' });
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal((await db.getExecution(x!.id))!.status, 'failed');
});

void test('a result emitted as an event runs the next trigger (a chain), one hop further', async (t) => {
  if (!(await ready(t))) return;
  await say({ case: 'chain' });
  const [first] = await settled('first');
  const [second] = await settled('second');
  assert.equal(first!.status, 'done');
  assert.equal(second!.status, 'done');
  assert.equal(second!.eventId, `emit:${first!.id}`);
  assert.equal(second!.eventKey, 'recorded');
  assert.equal(second!.eventHops, 1);
  assert.equal(second!.eventCausedBy, first!.id);
  assert.deepEqual(second!.inputs, { label: `emit:${first!.id}`, from: 'chain-1' });
});

void test(`a loop of triggers stops at ${MAX_CHAIN_HOPS} hops with a sentence`, async (t) => {
  if (!(await ready(t))) return;
  await say({ case: 'loop' });
  await settled('loop-start');
  const xs = await settled('loop', MAX_CHAIN_HOPS);
  const refused = xs.filter((x) => x.status === 'failed');
  assert.equal(refused.length, 1);
  assert.equal(refused[0]!.eventHops, MAX_CHAIN_HOPS);
  assert.match(
    refused[0]!.error!,
    new RegExp(
      `is ${MAX_CHAIN_HOPS} hops down a chain of triggers.*chains stop at ${MAX_CHAIN_HOPS} hops.*emit: looped`,
    ),
  );
  assert.equal(xs.filter((x) => x.status === 'done').length, MAX_CHAIN_HOPS - 1);
  // Nothing more comes after the refusal.
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await db.listExecutions({ trigger: 'loop' })).length, MAX_CHAIN_HOPS);
});

void test('switchboard trigger replay runs a failed execution again; a done one is refused', async (t) => {
  if (!(await ready(t))) return;
  await say({ case: 'replay' });
  const [x] = await settled('once');
  assert.equal(x!.status, 'failed');
  assert.equal(x!.error, 'run 1 of replay fails on purpose');

  const dry = await cli('trigger', 'replay', '--trigger', 'once', '--dry-run', '--database', database);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, new RegExp(`would replay ${x!.id}`));
  assert.equal((await db.getExecution(x!.id))!.status, 'failed', 'a dry run changes nothing');

  const r = await cli('trigger', 'replay', x!.id, '--json', '--database', database);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { replayed: ExecutionRecord[]; refused: unknown[] };
  assert.deepEqual(
    out.replayed.map((e) => [e.id, e.status]),
    [[x!.id, 'retrying']],
  );
  const done = await waitFor(
    async () => {
      const e = await db.getExecution(x!.id);
      return e?.status === 'done' ? e : undefined;
    },
    { timeoutMs: 30_000, what: 'the replayed execution to finish' },
  );
  assert.equal(done.attempt, 2);
  assert.deepEqual(done.outputs, { label: 'replay', run: 2 });

  const again = await cli('trigger', 'replay', x!.id, '--database', database);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /is not failed: it is done; only failed executions are replayed/);
  const none = await cli('trigger', 'replay', '--database', database);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /name the executions to replay .* or --all/);
});

void test('a dead-lettered event is replayed after the fix (trigger dead, trigger replay --dead)', async (t) => {
  if (!(await ready(t))) return;
  const n = names(prefix);
  // An agent that sends before its connector is registered: refused and set aside.
  const conn = await amqp.connect(AMQP_URL);
  const ch = await conn.createConfirmChannel();
  ch.publish(
    n.inbox,
    'events',
    Buffer.from(
      JSON.stringify({
        type: 'events',
        token: 's-token',
        connectorId: 'ghost-1',
        events: [{ id: 'ghost-ev-1', key: 'said', data: {}, time: new Date().toISOString() }],
      }),
    ),
    { type: 'events' },
  );
  await ch.waitForConfirms();
  await conn.close();
  const listed = await waitFor(
    async () => {
      const r = await cli('trigger', 'dead', '--json', '--prefix', prefix);
      const body = JSON.parse(r.stdout || '{"letters":[]}') as {
        total: number;
        letters: { id: string; reason: string; connectorId: string }[];
      };
      return body.letters.length ? body : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 500, what: 'the dead letter' },
  );
  assert.equal(listed.total, 1);
  assert.equal(listed.letters[0]!.connectorId, 'ghost-1');
  assert.match(listed.letters[0]!.reason, /connector ghost-1 is not registered/);
  assert.equal((await cli('trigger', 'dead', '--prefix', prefix)).stdout.includes(listed.letters[0]!.id), true);

  // The fix: the connector registers. Then the letter goes back and runs its trigger.
  await db.upsertConnector(
    { id: 'ghost-1', kind: 'speaker', meta: {}, events: ['said'], tasks: [] },
    new Date().toISOString(),
  );
  const r = await cli('trigger', 'replay', '--dead', listed.letters[0]!.id, '--prefix', prefix);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`replayed dead letter ${listed.letters[0]!.id} \\(events from ghost-1\\)`));
  const [x] = await settled('ghost');
  assert.equal(x!.status, 'done');
  assert.equal(x!.eventId, 'ghost-ev-1');
  assert.match((await cli('trigger', 'dead', '--prefix', prefix)).stdout, /no dead letters/);
  const missing = await cli('trigger', 'replay', '--dead', 'nope', '--prefix', prefix);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no dead letter nope/);
});
