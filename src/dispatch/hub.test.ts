// Without RabbitMQ the dispatcher is a built-in service of `switchboard start`, and agents reach it
// through the hub with the client library.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort, needService, tempDir, waitFor } from '../core/test/support.js';
import { AMQP_URL, deleteTopology, testPrefix } from './test/rabbit.js';
import { getLogger } from '../core/log.js';
import type { Agent } from './agent/agent.js';
import { exampleCommand } from './examples.js';
import { openDispatchDb } from './open.js';
import { startAgent } from './run.js';
import { parseTriggers } from './trigger/parse.js';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'switchboard.js');
const log = getLogger('dispatch-test');
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const f of cleanups.reverse()) await f().catch(() => undefined);
});

/** `switchboard start ARGS` as a child process, stopped after the tests; resolves once its output shows `ready`. */
async function startHub(args: string[], env: NodeJS.ProcessEnv, ready: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [bin, 'start', ...args, '--signal', 'off', '--unix-listen', 'off'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    out += c.toString();
  });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
  await waitFor(() => out.includes(ready), {
    timeoutMs: 30_000,
    what: `the hub to list the dispatcher (output: ${out})`,
  });
  return child;
}

void test('switchboard start runs the dispatcher as a hub service; agents work over the hub', async () => {
  const home = await tempDir('sb-dispatch-hub-');
  cleanups.push(home.cleanup);
  const { db, close } = await openDispatchDb({ home: home.path });
  cleanups.push(close);
  const counterToken = await db.issueToken('counter');
  const upperToken = await db.issueToken('upper');
  await db.addTriggers(
    parseTriggers(
      'name: shout\nwhen: { kind: counter, event: tick }\nfilters: [{ path: n, op: lt, value: 5 }]\nthen: { kind: upper, task: upper, inputs: { text: { $ref: data.label } } }\n',
      't.yml',
    ),
  );

  const port = await freePort();
  const address = `cd://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SWITCHBOARD_FROM_SOURCE: '1',
    SWITCHBOARD_HOME: home.path,
    SWITCHBOARD_LOG_LEVEL: 'warn',
    SWITCHBOARD_AMQP_URL: '',
    SWITCHBOARD_DATABASE_URL: '',
  };
  await startHub(['--local-listen', address], env, 'dispatcher');

  const agents: Agent[] = [];
  cleanups.push(async () => {
    for (const a of agents) await a.stop();
  });
  agents.push(
    await startAgent({
      command: exampleCommand('upper'),
      kind: 'upper',
      id: 'upper-1',
      token: upperToken,
      dispatcher: address,
      log,
    }),
  );
  const counter = await startAgent({
    command: [process.execPath, '--import', 'tsx', join(import.meta.dirname, 'test', 'fixtures', 'counter.ts')],
    kind: 'counter',
    id: 'counter-1',
    token: counterToken,
    dispatcher: address,
    log,
  });
  agents.push(counter);
  assert.equal(counter.triggers, 1);
  counter.connector.sendTask({ id: 'go', key: 'emit', inputs: { n: 20, everyMs: 1 } });
  const xs = await waitFor(
    async () => {
      const list = await db.listExecutions({ trigger: 'shout' });
      return list.length === 5 && list.every((x) => x.status === 'done') ? list : undefined;
    },
    { timeoutMs: 30_000, what: 'five finished executions' },
  );
  assert.deepEqual(xs.map((x) => x.outputs!.text).sort(), ['EVENT 0', 'EVENT 1', 'EVENT 2', 'EVENT 3', 'EVENT 4']);
  await waitFor(() => counter.counters.events === 20, { what: 'all events seen by the agent' });
  assert.equal(counter.counters.filteredOut, 15, 'the agent filtered the other 15 with its cached trigger');

  // A refused token over the hub too.
  await assert.rejects(
    startAgent({
      command: exampleCommand('upper'),
      kind: 'upper',
      id: 'bad',
      token: 'nope',
      dispatcher: address,
      log,
      helloTimeoutMs: 100,
    }),
    /refused/,
  );
});

void test('switchboard start --amqp URL puts the built-in dispatcher on RabbitMQ', async (t) => {
  if (!(await needService(t, 'rabbitmq'))) return;
  const home = await tempDir('sb-dispatch-hub-amqp-');
  cleanups.push(home.cleanup);
  const prefix = testPrefix();
  cleanups.push(() => deleteTopology(prefix));
  const { db, close } = await openDispatchDb({ home: home.path });
  cleanups.push(close);
  const token = await db.issueToken('upper');
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SWITCHBOARD_FROM_SOURCE: '1',
    SWITCHBOARD_HOME: home.path,
    SWITCHBOARD_LOG_LEVEL: 'warn',
    SWITCHBOARD_AMQP_PREFIX: prefix,
    SWITCHBOARD_AMQP_URL: '',
    SWITCHBOARD_DATABASE_URL: '',
  };
  await startHub(['--amqp', AMQP_URL, '--local-listen', `cd://127.0.0.1:${port}`], env, '(RabbitMQ)');
  const agent = await startAgent({
    command: exampleCommand('upper'),
    kind: 'upper',
    id: 'upper-amqp',
    token,
    amqp: AMQP_URL,
    prefix,
    log,
  });
  cleanups.push(() => agent.stop());
  assert.equal((await db.listConnectors())[0]!.id, 'upper-amqp');
});

void test('over the hub no accepted event is lost when the hub is killed and restarted mid-stream', async () => {
  const home = await tempDir('sb-dispatch-hub-restart-');
  cleanups.push(home.cleanup);
  const { db, close } = await openDispatchDb({ home: home.path });
  cleanups.push(close);
  const token = await db.issueToken('counter');
  // Any trigger on `tick` makes the agent forward every tick; nobody runs its task (the events are what counts here).
  await db.addTriggers(
    parseTriggers('name: all_ticks\nwhen: { kind: counter, event: tick }\nthen: { kind: nobody, task: t }\n', 't.yml'),
  );

  const port = await freePort();
  const address = `cd://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SWITCHBOARD_FROM_SOURCE: '1',
    SWITCHBOARD_HOME: home.path,
    SWITCHBOARD_LOG_LEVEL: 'warn',
    SWITCHBOARD_AMQP_URL: '',
    SWITCHBOARD_DATABASE_URL: '',
  };
  const args = ['--local-listen', address, '--http', 'off'];
  const crashed = await startHub(args, env, 'dispatcher');

  const counter = await startAgent({
    command: [process.execPath, '--import', 'tsx', join(import.meta.dirname, 'test', 'fixtures', 'counter.ts')],
    kind: 'counter',
    id: 'counter-restart',
    token,
    dispatcher: address,
    log,
  });
  cleanups.push(() => counter.stop());
  const total = 300;
  counter.connector.sendTask({ id: 'go', key: 'emit', inputs: { n: total, everyMs: 10 } });
  await waitFor(async () => (await db.countEvents()) >= 20, { timeoutMs: 30_000, what: 'the first events stored' });

  crashed.kill('SIGKILL');
  await new Promise((r) => crashed.once('exit', r));
  const storedBeforeRestart = await db.countEvents();
  await startHub(args, env, 'dispatcher');

  await waitFor(async () => (await db.countEvents()) === total, {
    timeoutMs: 90_000,
    what: `all ${total} events stored after the restart (stored before it: ${storedBeforeRestart})`,
  });
  assert.ok(storedBeforeRestart < total, 'the hub went down while events were still coming');
  assert.equal(counter.counters.events, total);
  await waitFor(() => counter.counters.confirmed === total, { what: 'every batch accepted in the end' });
});
