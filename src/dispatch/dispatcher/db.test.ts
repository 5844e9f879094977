// The dispatcher's tables on both store backends: triggers with a version, tokens, the registry,
// dedup of events by id, executions and their results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, testStore } from '../../store/test/test-store.js';
import { DispatchDb } from './db.js';
import { hashToken } from './tokens.js';
import type { TriggerSpec } from '../trigger/schema.js';

const spec = (name: string): TriggerSpec => ({
  name,
  when: { kind: 'w', event: 'e' },
  filters: [],
  then: { kind: 'o', task: 't', inputs: { a: { $ref: 'data.x' } } },
});

for (const backend of BACKENDS) {
  void test(`dispatch tables on ${backend}`, async (t) => {
    const ts = await testStore(t, backend);
    if (!ts) return;
    try {
      const db = new DispatchDb(ts.store);
      await db.migrate();
      await db.migrate(); // idempotent
      const v0 = await db.triggerVersion();
      await db.addTriggers([spec('a'), { ...spec('b'), enabled: false }]);
      assert.equal(await db.triggerVersion(), v0 + 1);
      await assert.rejects(db.addTriggers([spec('a')]), /exists already/);
      await db.addTriggers([spec('a')], true);
      await db.setTriggerEnabled('b', true);
      await db.removeTrigger('a');
      await assert.rejects(db.removeTrigger('zz'), /no trigger named "zz"/);
      const list = await db.listTriggers();
      assert.deepEqual(
        list.map((x) => [x.name, x.enabled]),
        [['b', true]],
      );
      assert.deepEqual(list[0]!.spec.then.inputs, { a: { $ref: 'data.x' } });
      assert.equal(await db.triggerVersion(), v0 + 4);

      const token = await db.issueToken('w');
      assert.equal(await db.tokenKind(hashToken(token)), 'w');
      assert.equal(await db.tokenKind(hashToken('nope')), undefined);

      const now = new Date().toISOString();
      await db.upsertConnector({ id: 'c1', kind: 'w', meta: { host: 'h' }, events: ['e'], tasks: [] }, now);
      await db.upsertConnector({ id: 'c1', kind: 'w', meta: { host: 'h2' }, events: ['e'], tasks: ['t'] }, now);
      await db.setConnectorStatus('c1', 'offline', now);
      const [c] = await db.listConnectors();
      assert.equal(c!.meta.host, 'h2');
      assert.equal(c!.status, 'offline');

      const ev = (id: string) => ({ id, connectorId: 'c1', kind: 'w', key: 'e', data: { x: id }, time: now });
      const plan = (fresh: { id: string }[]) =>
        fresh.map((f) => ({
          id: `x-${f.id}`,
          eventId: f.id,
          trigger: 'b',
          target: 'kind:o',
          task: 't',
          inputs: { a: f.id },
          dispatchedAt: now,
        }));
      const first = await db.recordEvents([ev('1'), ev('2')], plan);
      assert.equal(first.fresh.length, 2);
      const again = await db.recordEvents([ev('2'), ev('3'), ev('3')], plan);
      assert.deepEqual(
        again.fresh.map((e) => e.id),
        ['3'],
        'seen ids and repeats are not fresh',
      );
      await db.completeExecutions([
        {
          executionId: 'x-1',
          outputs: { ok: 1 },
          startedAt: now,
          finishedAt: new Date(Date.parse(now) + 5).toISOString(),
        },
        { executionId: 'x-2', error: 'boom', finishedAt: now },
      ]);
      await db.completeExecutions([{ executionId: 'x-1', error: 'late duplicate', finishedAt: now }]); // ignored: already done
      const xs = await db.listExecutions({ limit: 10 });
      const byId = Object.fromEntries(xs.map((x) => [x.id, x]));
      assert.equal(byId['x-1']!.status, 'done');
      assert.deepEqual(byId['x-1']!.outputs, { ok: 1 });
      assert.equal(byId['x-1']!.durationMs, 5);
      assert.deepEqual(byId['x-1']!.eventData, { x: '1' });
      assert.equal(byId['x-2']!.error, 'boom');
      assert.equal(byId['x-3']!.status, 'dispatched');
      assert.deepEqual(
        (await db.unfinishedExecutions(['1', '2', '3', 'none'])).map((x) => [x.id, x.target, x.inputs]),
        [['x-3', 'kind:o', { a: '3' }]],
        'what a redelivered event sends again',
      );
      // The store itself holds an event to one execution per trigger, whichever dispatcher writes.
      await assert.rejects(
        ts.store.exec(
          `INSERT INTO dispatch_executions (id, event_id, trigger_name, target, task, inputs, status, dispatched_at) VALUES ('x-3b', '3', 'b', 'kind:o', 't', '{}', 'dispatched', ?)`,
          [now],
        ),
        /unique|duplicate/i,
      );
      assert.deepEqual((await db.countExecutions()).byStatus, { done: 1, failed: 1, dispatched: 1 });
      assert.equal(await db.expireExecutions(now, 'too old'), 0, 'not older than now');
      assert.equal(
        await db.expireExecutions(new Date(Date.parse(now) + 1).toISOString(), 'no result'),
        1,
        'only the one still waiting',
      );
      assert.equal((await db.listExecutions()).find((x) => x.id === 'x-3')!.error, 'no result');
    } finally {
      await ts.cleanup();
    }
  });
}

for (const backend of BACKENDS) {
  void test(`history pruning on ${backend}: finished executions and their events go, waiting ones stay`, async (t) => {
    const ts = await testStore(t, backend);
    if (!ts) return;
    try {
      const db = new DispatchDb(ts.store);
      await db.migrate();
      const now = new Date().toISOString();
      const ev = (id: string) => ({ id, connectorId: 'c1', kind: 'w', key: 'e', data: { x: id }, time: now });
      const plan = (fresh: { id: string }[]) =>
        fresh
          .filter((f) => f.id !== 'lonely')
          .map((f) => ({
            id: `x-${f.id}`,
            eventId: f.id,
            trigger: 'b',
            target: 'kind:o',
            task: 't',
            inputs: {},
            dispatchedAt: now,
          }));
      await db.recordEvents([ev('done'), ev('waiting'), ev('lonely')], plan);
      await db.completeExecutions([{ executionId: 'x-done', outputs: {}, finishedAt: now }]);

      const past = new Date(Date.parse(now) - 60_000).toISOString();
      assert.deepEqual(await db.pruneHistory(past), { executions: 0, events: 0 }, 'nothing is older than a minute ago');

      const future = new Date(Date.parse(now) + 60_000).toISOString();
      assert.deepEqual(
        await db.pruneHistory(future),
        { executions: 1, events: 2 },
        'the done execution, its event and the event without executions',
      );
      assert.deepEqual(
        (await db.listExecutions()).map((x) => x.id),
        ['x-waiting'],
      );
      assert.equal(await db.countEvents(), 1);
      const again = await db.recordEvents([ev('waiting'), ev('done')], () => []);
      assert.deepEqual(
        again.fresh.map((e) => e.id),
        ['done'],
        'a pruned event id is new again; a kept one is still a duplicate',
      );
    } finally {
      await ts.cleanup();
    }
  });
}
