/**
 * Benchmark `event-pipeline`: events/s end to end — a connector emits events -> its agent filters
 * them with the cached triggers -> RabbitMQ -> the dispatcher (dedup, index match, execution log in
 * SQLite) -> RabbitMQ -> a second agent -> the second connector runs the task (and its result goes
 * back into the log) — with 1, 100 and 10,000 triggers (exactly one matches each event), next to
 * the limit: raw amqplib publish-with-confirms -> consume through the same broker, same payload.
 * Writes bench/results/event-pipeline.json. Needs RabbitMQ on 127.0.0.1:5672.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { getLogger } from '../src/core/log.js';
import { openDispatchDb } from '../src/dispatch/open.js';
import { startAgent, startDispatcher } from '../src/dispatch/run.js';
import type { TriggerSpec } from '../src/dispatch/trigger/schema.js';
import { deleteTopology } from '../src/dispatch/test/rabbit.js';

process.env.SWITCHBOARD_LOG_LEVEL ??= 'warn';
const URL = process.env.SWITCHBOARD_BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const N = Number(process.env.EVENTS ?? 20_000);
const RUNS = Number(process.env.RUNS ?? 3);
const PAYLOAD = JSON.stringify({ shard: 0, n: 0, payload: 'x'.repeat(64) });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const log = getLogger('bench');

async function raw(): Promise<number> {
  const q = `sbbench-raw-${randomBytes(4).toString('hex')}`;
  const pubConn = await amqp.connect(URL);
  const subConn = await amqp.connect(URL);
  const pub = await pubConn.createConfirmChannel();
  const sub = await subConn.createChannel();
  await pub.assertQueue(q, { durable: true });
  await sub.prefetch(1000);
  let got = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => { resolveDone = r; });
  await sub.consume(q, (m) => { if (!m) return; sub.ack(m); if (++got === N) resolveDone(); }, { noAck: false });
  const body = Buffer.from(PAYLOAD);
  const t0 = performance.now();
  // Publish with confirms, a window of outstanding confirms like a real publisher keeps.
  let inflight = 0;
  let wake: (() => void) | undefined;
  for (let i = 0; i < N; i++) {
    while (inflight >= 1000) await new Promise<void>((r) => { wake = r; });
    inflight++;
    pub.publish('', q, body, { persistent: true }, () => { inflight--; const w = wake; wake = undefined; w?.(); });
  }
  await pub.waitForConfirms();
  await done;
  const rate = N / ((performance.now() - t0) / 1000);
  await pub.deleteQueue(q);
  await pubConn.close();
  await subConn.close();
  return rate;
}

function triggers(count: number): TriggerSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `t${i}`,
    when: { kind: 'emitter', event: 'tick' },
    filters: [{ path: 'shard', op: 'eq' as const, value: i }],
    then: { kind: 'sink', task: 'take', inputs: { n: { $ref: 'data.n' } } },
  }));
}

async function pipeline(triggerCount: number): Promise<{ rate: number; executions: number }> {
  const home = await mkdtemp(join(tmpdir(), 'sb-bench-'));
  const prefix = `sbbench-${randomBytes(4).toString('hex')}`;
  const { db, close } = await openDispatchDb({ home });
  await db.addTriggers(triggers(triggerCount));
  const token = 'bench-token';
  const dispatcher = await startDispatcher({ db, amqp: URL, prefix, log, allowTokens: [`emitter:${token}-e`, `sink:${token}-s`] });
  const tsx = [process.execPath, '--import', 'tsx'];
  const sink = await startAgent({ command: [...tsx, 'bench/event-pipeline/sink.ts'], kind: 'sink', id: 'sink-1', token: `${token}-s`, amqp: URL, prefix, log });
  const emitter = await startAgent({ command: [...tsx, 'bench/event-pipeline/emitter.ts'], kind: 'emitter', id: 'emitter-1', token: `${token}-e`, amqp: URL, prefix, log });
  try {
    const t0 = performance.now();
    emitter.connector.sendTask({ id: `go-${prefix}`, key: 'emit', inputs: { n: N } });
    const deadline = Date.now() + 120_000;
    const marks: Record<string, number> = {};
    while (sink.counters.tasks < N) {
      if (Date.now() > deadline) throw new Error(`only ${sink.counters.tasks} of ${N} tasks arrived`);
      await new Promise((r) => setTimeout(r, 5));
      const now = performance.now() - t0;
      if (marks.emitted === undefined && emitter.counters.events >= N) marks.emitted = now;
      if (marks.confirmed === undefined && emitter.counters.confirmed >= N) marks.confirmed = now;
      if (marks.dispatched === undefined && dispatcher.counters.executions >= N) marks.dispatched = now;
    }
    const rate = N / ((performance.now() - t0) / 1000);
    if (process.env.VERBOSE) console.log(triggerCount, 'triggers: ms at which all events were', Object.fromEntries(Object.entries(marks).map(([k, v]) => [k, Math.round(v)])), 'done', Math.round(performance.now() - t0));
    const { total } = await db.countExecutions();
    return { rate, executions: total };
  } finally {
    await emitter.stop();
    await sink.stop();
    await dispatcher.stop();
    await close();
    await deleteTopology(prefix).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  }
}

const results: { system: string; value: number; runs: number[]; triggers?: number; note?: string }[] = [];
const rawRuns: number[] = [];
const pipeRuns = new Map<number, number[]>();
const CONFIGS = (process.env.TRIGGERS ?? '1,100,10000').split(',').map(Number);
// Warm-up (JIT, broker queues, SQLite page cache), not measured.
await raw();
await pipeline(1);
for (let r = 0; r < RUNS; r++) {
  // Interleave so drift on a shared machine hits every system alike.
  if (!process.env.SKIP_RAW) rawRuns.push(await raw());
  for (const t of CONFIGS) {
    const { rate, executions } = await pipeline(t);
    if (executions !== N) throw new Error(`expected ${N} executions with ${t} triggers, the log has ${executions}`);
    pipeRuns.set(t, [...(pipeRuns.get(t) ?? []), rate]);
  }
  console.log(`run ${r + 1}/${RUNS}: raw ${Math.round(rawRuns.at(-1)!)}/s, ${[...pipeRuns].map(([t, xs]) => `${t} triggers ${Math.round(xs.at(-1)!)}/s`).join(', ')}`);
}
results.push({ system: 'raw amqplib publish (confirms) -> consume', value: Math.round(median(rawRuns)), runs: rawRuns.map(Math.round) });
for (const [t, xs] of pipeRuns) results.push({ system: `switchboard pipeline, ${t} trigger(s)`, triggers: t, value: Math.round(median(xs)), runs: xs.map(Math.round) });
const rawV = median(rawRuns);
const v = (t: number) => median(pipeRuns.get(t)!);
const ratios = {
  'pipeline_1_vs_raw': +(v(1) / rawV).toFixed(2),
  'pipeline_100_vs_raw': +(v(100) / rawV).toFixed(2),
  'pipeline_10000_vs_raw': +(v(10_000) / rawV).toFixed(2),
  'pipeline_10000_vs_100': +(v(10_000) / v(100)).toFixed(2),
};
const out = { name: 'event-pipeline', unit: 'events/s', events: N, runs: RUNS, results, ratios, note: 'median of runs; pipeline = connector -> agent -> RabbitMQ -> dispatcher (SQLite log) -> RabbitMQ -> agent -> connector; agents batch events and tasks into AMQP messages, raw publishes one message per event' };
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/event-pipeline.json', `${JSON.stringify(out, null, 2)}\n`);
console.table(results.map((r) => ({ system: r.system, 'events/s': r.value })));
console.log(ratios);
