import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import amqp from 'amqplib';
import { needService, waitFor } from '../../core/test/support.js';
import { getLogger } from '../../core/log.js';
import { AmqpAgentTransport } from './amqp-agent.js';
import { AmqpDispatcherTransport } from './amqp-dispatcher.js';
import { names } from './topology.js';
import type { AgentInbound } from './types.js';
import { AMQP_URL, closeConnections, deleteTopology, drainQueue, testPrefix } from '../test/rabbit.js';

const log = getLogger('dispatch-test');
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

void test('agent <-> dispatcher over RabbitMQ: request/reply, tasks, reconnect without losing a confirmed message, DLQ', async (t) => {
  if (!(await needService(t, 'rabbitmq'))) return;
  const prefix = testPrefix();
  cleanups.push(() => deleteTopology(prefix));
  const seen = new Map<string, number>();
  const dispatcher = new AmqpDispatcherTransport({ url: AMQP_URL, prefix, log });
  cleanups.push(() => dispatcher.close());
  await dispatcher.start({
    handle: async (batch) => ({
      settled: Promise.resolve(),
      outcomes: batch.map((b) => {
        const m = b.message;
        if (m.type === 'register') {
          void b.reply?.({ type: 'registered', ok: true, snapshot: { version: 1, triggers: [] } });
          return undefined;
        }
        if (m.type === 'events') {
          if (m.events.some((e) => e.key === 'poison')) return new Error('poison event');
          for (const e of m.events) seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
        }
        return undefined;
      }),
    }),
  });

  const inbound: AgentInbound[] = [];
  const agent = new AmqpAgentTransport({ url: AMQP_URL, prefix, log });
  cleanups.push(() => agent.close());
  await agent.start('k', async (m) => {
    inbound.push(m);
  });
  await agent.attach('c1');
  const reply = await agent.request({
    type: 'register',
    token: 't',
    connector: { id: 'c1', kind: 'k', meta: {}, events: [], tasks: [] },
  });
  assert.equal(reply.type, 'registered');

  await dispatcher.sendTasks({ connector: 'c1', kind: 'k' }, [{ executionId: 'x1', key: 'do', inputs: { a: 1 } }]);
  await dispatcher.sendTasks({ kind: 'k' }, [{ executionId: 'x2', key: 'do', inputs: {} }]);
  await waitFor(() => inbound.length >= 2, { what: 'tasks at the agent' });

  // Events flow while the agent's connection is closed under it, twice.
  const confirmed = new Set<string>();
  let stop = false;
  let n = 0;
  const pump = (async () => {
    while (!stop) {
      const batch = Array.from({ length: 5 }, () => ({
        id: `e${n++}`,
        key: 'k',
        data: { n },
        time: new Date().toISOString(),
      }));
      void agent.send({ type: 'events', token: 't', connectorId: 'c1', events: batch }).then(
        () => batch.forEach((e) => confirmed.add(e.id)),
        () => undefined,
      );
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  await waitFor(() => confirmed.size > 200, { what: 'confirmed events' });
  assert.ok((await closeConnections(`switchboard-agent ${prefix} k `)) >= 1, 'closed our agent connection');
  await waitFor(() => agent.stats.reconnects >= 1 && confirmed.size > 600, {
    timeoutMs: 20_000,
    what: 'reconnect and more confirmed events',
  });
  await closeConnections(`switchboard-agent ${prefix} k `);
  await waitFor(() => agent.stats.reconnects >= 2 && confirmed.size > 1000, {
    timeoutMs: 20_000,
    what: 'second reconnect',
  });
  stop = true;
  await pump;
  await waitFor(() => agent.stats.pending === 0, { timeoutMs: 20_000, what: 'all published confirmed' });
  await waitFor(() => [...confirmed].every((id) => seen.has(id)), {
    timeoutMs: 20_000,
    what: 'every confirmed event at the dispatcher',
  });
  for (const id of confirmed) assert.ok(seen.has(id), `confirmed ${id} was delivered`);
  t.diagnostic(
    `confirmed ${confirmed.size}, delivered unique ${seen.size}, republished ${agent.stats.republished}, reconnects ${agent.stats.reconnects}`,
  );

  // Dead letters: not JSON, not a valid message, and one the handler fails on.
  const n2 = names(prefix);
  const conn = await amqp.connect(AMQP_URL);
  const ch = await conn.createConfirmChannel();
  ch.sendToQueue(n2.dispatcher, Buffer.from('not json{'));
  ch.sendToQueue(n2.dispatcher, Buffer.from(JSON.stringify({ type: 'events', token: 't' })));
  await ch.waitForConfirms();
  await conn.close();
  await agent.send({
    type: 'events',
    token: 't',
    connectorId: 'c1',
    events: [{ id: 'p1', key: 'poison', data: {}, time: 'now' }],
  });
  await waitFor(() => dispatcher.counters.deadLettered >= 3, { what: 'three dead letters' });
  const dead = await waitFor(async () => {
    const d = await drainQueue(n2.dead);
    return d.length ? d : undefined;
  });
  const reasons = dead.map((d) => String(d.headers['x-switchboard-error']));
  assert.ok(
    reasons.some((r) => r.includes('not JSON')),
    reasons.join(' | '),
  );
  assert.ok(
    reasons.some((r) => r.includes('not a valid agent message')),
    reasons.join(' | '),
  );
});
