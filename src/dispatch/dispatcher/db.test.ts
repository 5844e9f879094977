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
      // Rows without a deadline of their own (as before tries were kept) time out from their dispatch.
      assert.deepEqual(await db.overdueAttempts(Date.parse(now), now), [], 'not older than now');
      const overdue = await db.overdueAttempts(Date.parse(now), new Date(Date.parse(now) + 1).toISOString());
      assert.deepEqual(
        overdue.map((o) => o.executionId),
        ['x-3'],
        'only the one still waiting',
      );
      assert.deepEqual(await db.failAttempts(overdue.map((o) => ({ ...o, error: 'no result' }))), {
        retrying: 0,
        failed: 1,
      });
      const x3 = (await db.listExecutions()).find((x) => x.id === 'x-3')!;
      assert.equal(x3.error, 'no result');
      assert.equal(x3.status, 'failed');
      assert.deepEqual(
        x3.attempts.map((a) => [a.attempt, a.error]),
        [[1, 'no result']],
      );
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

for (const backend of BACKENDS) {
  void test(`tries on ${backend}: retry after the back-off, late results ignored, emit, replay`, async (t) => {
    const ts = await testStore(t, backend);
    if (!ts) return;
    try {
      const db = new DispatchDb(ts.store);
      await db.migrate();
      const t0 = Date.parse('2030-01-01T00:00:00.000Z');
      const at = (ms: number) => new Date(t0 + ms).toISOString();
      const ev = { id: 'e1', connectorId: 'c1', kind: 'w', key: 'e', data: {}, time: at(0) };
      await db.recordEvents(
        [ev],
        () => [
          {
            id: 'x1',
            eventId: 'e1',
            trigger: 'retry',
            target: 'kind:o',
            task: 't',
            inputs: {},
            dispatchedAt: at(0),
            attempt: 1,
            maxAttempts: 3,
            backoff: { delayMs: 1000, factor: 2, maxDelayMs: 60_000 },
            timeoutMs: 5000,
            dueMs: t0 + 5000,
            emit: 'done',
          },
        ],
        'me:1',
      );
      // Try 1 fails: try 2 is due after 1 s (up to 10% more).
      await db.completeExecutions([{ executionId: 'x1', error: 'boom 1', finishedAt: at(10) }], t0 + 10);
      let [x] = await db.listExecutions();
      assert.equal(x!.status, 'retrying');
      assert.ok(Date.parse(x!.dueAt!) >= t0 + 1010 && Date.parse(x!.dueAt!) <= t0 + 1110, x!.dueAt!);
      assert.deepEqual(await db.claimDueAttempts(t0 + 900, 30_000, 'me:1'), [], 'not due yet');
      const [due] = await db.claimDueAttempts(t0 + 1200, 30_000, 'other:2');
      assert.equal(due!.attempt, 2);
      assert.deepEqual(await db.claimDueAttempts(t0 + 1200, 30_000, 'me:1'), [], 'taken once');
      [x] = await db.listExecutions();
      assert.equal(x!.status, 'dispatched');
      assert.equal(x!.dispatcher, 'other:2');
      assert.equal(x!.dueAt, at(1200 + 5000), "the trigger's timeout from the try's start");

      // A late result of try 1 changes nothing; try 2 times out; try 3 succeeds and emits.
      assert.deepEqual(
        await db.completeExecutions([{ executionId: 'x1', outputs: { late: true }, finishedAt: at(1300) }]),
        [],
      );
      assert.equal((await db.listExecutions())[0]!.status, 'dispatched');
      const overdue = await db.overdueAttempts(t0 + 6300, at(0));
      assert.deepEqual(
        overdue.map((o) => [o.executionId, o.attempt, o.timeoutMs]),
        [['x1', 2, 5000]],
      );
      await db.failAttempts(
        overdue.map((o) => ({ ...o, error: 'no result within 5s' })),
        t0 + 6300,
      );
      const [third] = await db.claimDueAttempts(t0 + 60_000, 30_000, 'me:1');
      assert.equal(third!.attempt, 3);
      const emits = await db.completeExecutions([
        { executionId: 'x1#3', outputs: { n: 3 }, startedAt: at(60_010), finishedAt: at(60_020) },
      ]);
      assert.deepEqual(emits, [{ executionId: 'x1', emit: 'done', target: 'kind:o', outputs: { n: 3 }, hops: 0 }]);
      assert.deepEqual(
        await db.completeExecutions([{ executionId: 'x1#3', outputs: { n: 4 }, finishedAt: at(60_030) }]),
        [],
        'once',
      );
      assert.deepEqual(await db.emitSources(['x1']), emits, 'asked again after a redelivery');
      [x] = await db.listExecutions();
      assert.equal(x!.status, 'done');
      assert.equal(x!.attempt, 3);
      assert.equal(x!.durationMs, 10);
      assert.deepEqual(
        x!.attempts.map((a) => [a.attempt, a.error]),
        [
          [1, 'boom 1'],
          [2, 'no result within 5s'],
        ],
      );

      // Replay: only failed ones; each gets the trigger's tries again, due now.
      const replay = await db.replayExecutions(['x1', 'nope'], () => 2, t0 + 70_000);
      assert.deepEqual(replay.replayed, []);
      assert.match(replay.refused[0]!.reason, /execution x1 is not failed: it is done/);
      assert.match(replay.refused[1]!.reason, /no execution nope/);
      await db.recordEvents([{ ...ev, id: 'e2' }], () => [
        {
          id: 'x2',
          eventId: 'e2',
          trigger: 'once',
          target: 'kind:o',
          task: 't',
          inputs: {},
          dispatchedAt: at(0),
          dueMs: t0,
        },
      ]);
      await db.completeExecutions([{ executionId: 'x2', error: 'broken', finishedAt: at(1) }]);
      assert.equal((await db.getExecution('x2'))!.status, 'failed', 'one try: failed at once');
      const r = await db.replayExecutions(['x2'], (name) => (name === 'once' ? 2 : 0), t0 + 70_000);
      assert.deepEqual(
        r.replayed.map((e) => [e.id, e.status, e.maxAttempts, e.dueAt]),
        [['x2', 'retrying', 3, at(70_000)]],
      );
      const [again] = await db.claimDueAttempts(t0 + 70_000, 30_000, 'me:1');
      assert.deepEqual([again!.id, again!.attempt], ['x2', 2]);
    } finally {
      await ts.cleanup();
    }
  });
}
