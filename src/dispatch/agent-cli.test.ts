// `switchboard dispatcher` and `switchboard agent` as real processes on RabbitMQ: a connector that
// writes garbage and crashes is restarted and keeps working, with clear log lines; an event the
// dispatcher cannot process lands in the dead-letter queue; SIGTERM unregisters.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import amqp from 'amqplib';
import { needService, tempDir, waitFor } from '../core/test/support.js';
import { openDispatchDb } from './open.js';
import { AMQP_URL, deleteTopology, drainQueue, testPrefix } from './test/rabbit.js';
import { names } from './transport/topology.js';
import { parseTriggers } from './trigger/parse.js';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'switchboard.js');
const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const f of cleanups.reverse()) await f().catch(() => undefined);
});

function sb(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [bin, ...args], {
    env: {
      ...process.env,
      SWITCHBOARD_FROM_SOURCE: '1',
      SWITCHBOARD_LOG_LEVEL: 'info',
      SWITCHBOARD_LOG_JSON: '1',
      SWITCHBOARD_DATABASE_URL: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
  });
  child.stdout!.resume();
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, stderr: () => err, exited };
}

void test('dispatcher and agent processes: crash restart, garbage lines, dead letters, SIGTERM unregisters', async (t) => {
  if (!(await needService(t, 'rabbitmq'))) return;
  const home = await tempDir('sb-agent-cli-');
  cleanups.push(home.cleanup);
  const prefix = testPrefix();
  cleanups.push(() => deleteTopology(prefix));
  const { db, close } = await openDispatchDb({ home: home.path });
  cleanups.push(close);
  const token = await db.issueToken('flaky');
  await db.addTriggers(
    parseTriggers(
      'name: answer-boot\nwhen: { connector: flaky-1, event: boot }\nthen: { connector: flaky-1, task: ping, inputs: { echo: { $ref: data.pid } } }\n',
      't.yml',
    ),
  );

  const d = sb(['dispatcher', '--amqp', AMQP_URL, '--prefix', prefix, '--home', home.path]);
  await waitFor(() => d.stderr().includes('dispatcher running'), {
    timeoutMs: 30_000,
    what: 'the dispatcher to start',
  });

  const fixture = join(import.meta.dirname, 'test', 'fixtures', 'flaky.ts');
  const a = sb(
    [
      'agent',
      '--amqp',
      AMQP_URL,
      '--prefix',
      prefix,
      '--kind',
      'flaky',
      '--id',
      'flaky-1',
      '--env',
      'FLAKY_MARKER',
      '--',
      process.execPath,
      '--import',
      'tsx',
      fixture,
    ],
    { SWITCHBOARD_AGENT_TOKEN: token, FLAKY_MARKER: join(home.path, 'crashed') },
  );
  const [x] = await waitFor(
    async () => {
      const xs = await db.listExecutions({ trigger: 'answer-boot' });
      return xs[0]?.status === 'done' ? xs : undefined;
    },
    { timeoutMs: 60_000, what: 'the restarted connector to answer' },
  ).catch((err: unknown) => {
    t.diagnostic(`agent log:\n${a.stderr()}\ndispatcher log:\n${d.stderr()}`);
    throw err;
  });
  assert.equal(x!.outputs!.pong, true);
  assert.equal(x!.outputs!.echo, (x!.eventData as { pid: number }).pid, 'the input reference carried the event field');
  const logs = a.stderr();
  assert.match(logs, /ignored a connector stdout line: not JSON/);
  assert.match(logs, /ignored a connector stdout line: unknown type \\"bogus\\"/);
  assert.match(logs, /ignored a connector stdout line: bad event line: key/);
  assert.match(logs, /connector exited; restarting/);
  assert.match(logs, /flaky: crashing on purpose/, "the connector's stderr is its log");
  assert.equal((await db.listConnectors())[0]!.status, 'online');

  // An event the dispatcher cannot process (never declared by the connector) is dead-lettered.
  const n = names(prefix);
  const conn = await amqp.connect(AMQP_URL);
  const ch = await conn.createConfirmChannel();
  ch.sendToQueue(
    n.dispatcher,
    Buffer.from(
      JSON.stringify({
        type: 'events',
        token,
        connectorId: 'flaky-1',
        events: [{ id: 'bad-1', key: 'undeclared', data: {}, time: new Date().toISOString() }],
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
    { what: 'a dead letter' },
  );
  assert.match(String(dead[0]!.headers['x-switchboard-error']), /never declared event "undeclared"/);
  assert.match(dead[0]!.body, /bad-1/);
  await waitFor(() => d.stderr().includes('dead-lettering a message'), {
    what: 'the dispatcher to log the dead letter',
  });

  // SIGTERM: the agent unregisters, stops its connector, exits 0.
  a.child.kill('SIGTERM');
  assert.equal(await a.exited, 0);
  await waitFor(async () => (await db.listConnectors())[0]!.status === 'offline', {
    what: 'the connector to be unregistered',
  });
  d.child.kill('SIGTERM');
  assert.equal(await d.exited, 0);
});
