// `connector token --kind K --broker-user`: a RabbitMQ user (made through the management API)
// whose agents work for kind K and can do nothing else on the broker.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { needService, portOpen, tempDir, waitFor } from '../core/test/support.js';
import { getLogger } from '../core/log.js';
import { openDispatchDb } from './open.js';
import { startAgent, startDispatcher } from './run.js';
import { AMQP_URL, deleteTopology, testPrefix } from './test/rabbit.js';
import { names } from './transport/topology.js';
import type { DispatcherTransport } from './transport/types.js';

const run = promisify(execFile);
const bin = join(import.meta.dirname, '..', '..', 'bin', 'switchboard.js');
const log = getLogger('dispatch-test');
const MANAGEMENT = 'http://127.0.0.1:15672';
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const f of cleanups.reverse()) await f().catch(() => undefined);
});

const admin = `Basic ${Buffer.from('guest:guest').toString('base64')}`;

/** Tries an operation as the limited user on a channel of its own; returns the broker's refusal, if any. */
async function refusal(conn: amqp.ChannelModel, op: (ch: amqp.ConfirmChannel) => Promise<unknown>): Promise<string> {
  const ch = await conn.createConfirmChannel();
  let closedWith = '';
  ch.on('error', (err: Error) => {
    closedWith = err.message;
  });
  try {
    await op(ch);
    await ch.waitForConfirms();
    await ch.close();
    return '';
  } catch (err) {
    return closedWith || (err as Error).message;
  }
}

void test('a broker user per kind: its agent registers and runs tasks; other queues, the dispatcher queue and the default exchange are refused', async (t) => {
  if (!(await needService(t, 'rabbitmq'))) return;
  if (!(await portOpen(15672))) {
    if (process.env.CI === 'true')
      throw new Error(
        "RabbitMQ's management API is not on 127.0.0.1:15672 (CI=true: .ci/run enables rabbitmq_management)",
      );
    t.skip("RabbitMQ's management API is not on 127.0.0.1:15672 (rabbitmq-plugins enable rabbitmq_management)");
    return;
  }
  const home = await tempDir('sb-broker-user-');
  cleanups.push(home.cleanup);
  const prefix = testPrefix();
  cleanups.push(() => deleteTopology(prefix));
  const { stdout, stderr } = await run(
    process.execPath,
    [bin, 'connector', 'token', '--kind', 'dump', '--broker-user', '--prefix', prefix, '--home', home.path],
    {
      env: {
        ...process.env,
        SWITCHBOARD_FROM_SOURCE: '1',
        SWITCHBOARD_DATABASE_URL: '',
        SWITCHBOARD_AMQP_URL: AMQP_URL,
      },
    },
  );
  const lines = Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]),
  );
  const url = new URL(lines.SWITCHBOARD_AMQP_URL!);
  const user = decodeURIComponent(url.username);
  cleanups.push(async () => {
    await fetch(`${MANAGEMENT}/api/users/${encodeURIComponent(user)}`, {
      method: 'DELETE',
      headers: { authorization: admin },
    });
  });
  assert.match(stderr, new RegExp(`RabbitMQ user ${user} may use the queues of kind dump only`));
  assert.match(lines.SWITCHBOARD_AGENT_TOKEN!, /^sbt_/);
  const perms = (await (
    await fetch(`${MANAGEMENT}/api/users/${encodeURIComponent(user)}/permissions`, {
      headers: { authorization: admin },
    })
  ).json()) as { vhost: string; configure: string; write: string; read: string }[];
  t.diagnostic(`permissions of ${user}: ${JSON.stringify(perms)}`);
  assert.equal(perms.length, 1);

  // The dispatcher on the shared (administrator) credential; the agent on the limited one.
  const { db, close } = await openDispatchDb({ home: home.path });
  cleanups.push(close);
  const dispatcher = await startDispatcher({ db, amqp: AMQP_URL, prefix, log });
  cleanups.push(() => dispatcher.stop());
  const agent = await startAgent({
    command: [process.execPath, '--import', 'tsx', join(import.meta.dirname, 'test', 'fixtures', 'env-dump.ts')],
    kind: 'dump',
    id: 'dump-1',
    token: lines.SWITCHBOARD_AGENT_TOKEN!,
    amqp: url.toString(),
    prefix,
    log,
  });
  cleanups.push(() => agent.stop());
  assert.equal((await db.listConnectors())[0]!.id, 'dump-1');
  // A task for it arrives through its own queue (the dispatcher publishes; the limited user reads).
  const transport = (dispatcher as unknown as { opts: { transport: DispatcherTransport } }).opts.transport;
  await transport.sendTasks({ connector: 'dump-1', kind: 'dump' }, [{ executionId: 'x-1', key: 'env', inputs: {} }]);
  await waitFor(() => agent.counters.tasks === 1, { what: 'the task at the agent' });

  // Everything else is refused by the broker.
  const n = names(prefix);
  const conn = await amqp.connect(url.toString());
  cleanups.push(() => conn.close());
  conn.on('error', () => undefined);
  const otherKind = await refusal(conn, (ch) => ch.assertQueue(n.kind('other'), { durable: true, expires: 60_000 }));
  assert.match(otherKind, /403|ACCESS.REFUSED/);
  assert.match(await refusal(conn, (ch) => ch.consume(n.dispatcher, () => undefined)), /403|ACCESS.REFUSED/);
  assert.match(await refusal(conn, (ch) => ch.consume(n.dead, () => undefined)), /403|ACCESS.REFUSED/);
  assert.match(
    await refusal(conn, (ch) => ch.consume(n.agent('other', 'x'), () => undefined)),
    /403|ACCESS.REFUSED|404/,
  );
  assert.match(
    await refusal(conn, async (ch) => ch.publish('', n.dispatcher, Buffer.from('{}'))),
    /403|ACCESS.REFUSED|default exchange/,
  );
  // What it may do: publish to the inbox.
  assert.equal(await refusal(conn, async (ch) => ch.publish(n.inbox, 'events', Buffer.from('{}'))), '');

  // An agent of another kind on this user is told why it cannot start.
  await assert.rejects(
    startAgent({
      command: [process.execPath, '--import', 'tsx', join(import.meta.dirname, 'test', 'fixtures', 'env-dump.ts')],
      kind: 'other',
      id: 'other-1',
      token: 'x',
      amqp: url.toString(),
      prefix,
      log,
    }),
    /this RabbitMQ user may not use the queues of kind other/,
  );
});
