/**
 * Benchmark `event-pipeline`: events/s end to end — a connector emits events -> its agent filters
 * them with the cached triggers -> RabbitMQ -> the dispatcher (dedup, index match, execution log in
 * SQLite) -> RabbitMQ -> a second agent -> the second connector runs the task (and its result goes
 * back into the log) — with 1, 100 and 10,000 triggers (exactly one matches each event), next to
 * the limit: raw amqplib publish-with-confirms -> consume through the same broker, same payload.
 * Writes bench/results/event-pipeline.json. Needs RabbitMQ on 127.0.0.1:5672.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
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
const N = Number(process.env.EVENTS ?? 12_000);
const RUNS = Number(process.env.RUNS ?? 3);
const PAYLOAD = JSON.stringify({ shard: 0, n: 0, payload: 'x'.repeat(64) });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// CPU time (ms) of a process from /proc (utime + stime, clock ticks of 10 ms): steadier than
// throughput when other work shares the machine.
function procCpuMs(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(parts[11]) + Number(parts[12])) * 10;
  } catch {
    return 0;
  }
}
function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
const brokerPid = (() => {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('beam.smp')) return Number(d);
    } catch {
      /* gone */
    }
  }
  return undefined;
})();
const log = getLogger('bench');

async function raw(): Promise<{ rate: number; cpuUsPerEvent: number }> {
  const q = `sbbench-raw-${randomBytes(4).toString('hex')}`;
  const pubConn = await amqp.connect(URL);
  const subConn = await amqp.connect(URL);
  const pub = await pubConn.createConfirmChannel();
  const sub = await subConn.createChannel();
  await pub.assertQueue(q, { durable: true });
  await sub.prefetch(1000);
  let got = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  await sub.consume(
    q,
    (m) => {
      if (!m) return;
      sub.ack(m);
      if (++got === N) resolveDone();
    },
    { noAck: false },
  );
  const body = Buffer.from(PAYLOAD);
  const c0 = selfCpuMs() + procCpuMs(brokerPid);
  const t0 = performance.now();
  // Publish with confirms, a window of outstanding confirms like a real publisher keeps.
  let inflight = 0;
  let wake: (() => void) | undefined;
  for (let i = 0; i < N; i++) {
    while (inflight >= 1000)
      await new Promise<void>((r) => {
        wake = r;
      });
    inflight++;
    pub.publish('', q, body, { persistent: true }, () => {
      inflight--;
      const w = wake;
      wake = undefined;
      w?.();
    });
  }
  await pub.waitForConfirms();
  await done;
  const rate = N / ((performance.now() - t0) / 1000);
  const cpuUsPerEvent = ((selfCpuMs() + procCpuMs(brokerPid) - c0) * 1000) / N;
  await pub.deleteQueue(q);
  await pubConn.close();
  await subConn.close();
  return { rate, cpuUsPerEvent };
}

function triggers(count: number): TriggerSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `t${i}`,
    when: { kind: 'emitter', event: 'tick' },
    filters: [{ path: 'shard', op: 'eq' as const, value: i }],
    then: { kind: 'sink', task: 'take', inputs: { n: { $ref: 'data.n' } } },
  }));
}

async function pipeline(triggerCount: number): Promise<{ rate: number; cpuUsPerEvent: number; executions: number }> {
  const home = await mkdtemp(join(tmpdir(), 'sb-bench-'));
  const prefix = `sbbench-${randomBytes(4).toString('hex')}`;
  const { db, close } = await openDispatchDb({ home });
  await db.addTriggers(triggers(triggerCount));
  const token = 'bench-token';
  const dispatcher = await startDispatcher({
    db,
    amqp: URL,
    prefix,
    log,
    allowTokens: [`emitter:${token}-e`, `sink:${token}-s`],
  });
  const tsx = [process.execPath, '--import', 'tsx'];
  const sink = await startAgent({
    command: [...tsx, 'bench/event-pipeline/sink.ts'],
    kind: 'sink',
    id: 'sink-1',
    token: `${token}-s`,
    amqp: URL,
    prefix,
    log,
  });
  const emitter = await startAgent({
    command: [...tsx, 'bench/event-pipeline/emitter.ts'],
    kind: 'emitter',
    id: 'emitter-1',
    token: `${token}-e`,
    amqp: URL,
    prefix,
    log,
  });
  try {
    const parts = () => ({
      agentsAndDispatcher: selfCpuMs(),
      broker: procCpuMs(brokerPid),
      connectors: procCpuMs(emitter.connector.pid) + procCpuMs(sink.connector.pid),
    });
    const cpu = () => Object.values(parts()).reduce((a, b) => a + b, 0);
    const p0 = parts();
    const c0 = cpu();
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
    const cpuUsPerEvent = ((cpu() - c0) * 1000) / N;
    // Where the CPU went (us per event): this process holds the dispatcher and both agents.
    const p1 = parts();
    if (process.env.VERBOSE)
      console.log(
        triggerCount,
        'triggers: CPU us per event',
        Object.fromEntries(
          Object.entries(p1).map(([k, v]) => [k, +(((v - p0[k as keyof typeof p0]) * 1000) / N).toFixed(1)]),
        ),
      );
    if (process.env.VERBOSE)
      console.log(
        triggerCount,
        'triggers: ms at which all events were',
        Object.fromEntries(Object.entries(marks).map(([k, v]) => [k, Math.round(v)])),
        'done',
        Math.round(performance.now() - t0),
      );
    const { total } = await db.countExecutions();
    return { rate, cpuUsPerEvent, executions: total };
  } finally {
    await emitter.stop();
    await sink.stop();
    await dispatcher.stop();
    await close();
    await deleteTopology(prefix).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  }
}

const results: { system: string; value: number; runs: number[]; cpuUsPerEvent: number; triggers?: number }[] = [];
const rawRuns: { rate: number; cpuUsPerEvent: number }[] = [];
const pipeRuns = new Map<number, { rate: number; cpuUsPerEvent: number }[]>();
const CONFIGS = (process.env.TRIGGERS ?? '1,100,10000').split(',').map(Number);
const load0 = loadavg()[0]!;
// Warm-up (JIT, broker queues, SQLite page cache), not measured.
await raw();
await pipeline(1);
for (let r = 0; r < RUNS; r++) {
  // Interleave so drift on a shared machine hits every system alike.
  if (!process.env.SKIP_RAW) rawRuns.push(await raw());
  for (const t of CONFIGS) {
    const { rate, cpuUsPerEvent, executions } = await pipeline(t);
    if (executions !== N) throw new Error(`expected ${N} executions with ${t} triggers, the log has ${executions}`);
    pipeRuns.set(t, [...(pipeRuns.get(t) ?? []), { rate, cpuUsPerEvent }]);
  }
  console.log(
    `run ${r + 1}/${RUNS}: raw ${Math.round(rawRuns.at(-1)?.rate ?? 0)}/s, ${[...pipeRuns].map(([t, xs]) => `${t} triggers ${Math.round(xs.at(-1)!.rate)}/s`).join(', ')}`,
  );
}
const med = (xs: { rate: number; cpuUsPerEvent: number }[]) => ({
  rate: median(xs.map((x) => x.rate)),
  cpu: median(xs.map((x) => x.cpuUsPerEvent)),
});
const rawM = med(rawRuns);
results.push({
  system: 'raw amqplib publish (confirms) -> consume',
  value: Math.round(rawM.rate),
  runs: rawRuns.map((x) => Math.round(x.rate)),
  cpuUsPerEvent: +rawM.cpu.toFixed(1),
});
for (const [t, xs] of pipeRuns) {
  const m = med(xs);
  results.push({
    system: `switchboard pipeline, ${t} trigger(s)`,
    triggers: t,
    value: Math.round(m.rate),
    runs: xs.map((x) => Math.round(x.rate)),
    cpuUsPerEvent: +m.cpu.toFixed(1),
  });
}
const v = (t: number) => (pipeRuns.has(t) ? med(pipeRuns.get(t)!) : { rate: NaN, cpu: NaN }); // TRIGGERS= may leave some out
const ratios = {
  pipeline_1_vs_raw: +(v(1).rate / rawM.rate).toFixed(2),
  pipeline_100_vs_raw: +(v(100).rate / rawM.rate).toFixed(2),
  pipeline_10000_vs_raw: +(v(10_000).rate / rawM.rate).toFixed(2),
  pipeline_10000_vs_100: +(v(10_000).rate / v(100).rate).toFixed(2),
  cpu_per_event_100_vs_raw: +(v(100).cpu / rawM.cpu).toFixed(2),
  cpu_per_event_10000_vs_100: +(v(10_000).cpu / v(100).cpu).toFixed(2),
};
const load = { before: +load0.toFixed(1), after: +loadavg()[0]!.toFixed(1) };
const out = {
  name: 'event-pipeline',
  unit: 'events/s',
  events: N,
  runs: RUNS,
  date: new Date().toISOString().slice(0, 10),
  node: process.version,
  loadavg1: load,
  results,
  ratios,
  note: 'median of runs; pipeline = connector -> agent -> RabbitMQ -> dispatcher (SQLite log) -> RabbitMQ -> agent -> connector, timed from the start signal to the last task at the second agent; agents batch events and tasks into AMQP messages, raw publishes one message per event; CPU = all processes of the system incl. the broker',
};
console.table(results.map((r) => ({ system: r.system, 'events/s': r.value, 'cpu us/event': r.cpuUsPerEvent })));
console.log(ratios);
// NO_WRITE=1: a look without touching the results (exploratory runs on a busy machine).
if (process.env.NO_WRITE === '1') {
  console.log('NO_WRITE=1: results not written');
  process.exit(0);
}
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/event-pipeline.json', `${JSON.stringify(out, null, 2)}\n`);

// The table in bench/README.md, between this benchmark's markers.
const k = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(1)}k` : String(Math.round(x)));
const table = [
  `Measured ${out.date}, Node ${process.version}, ${N} events per run, medians of ${RUNS} runs; load average ${load.before} -> ${load.after} (2 cores shared with other work: compare ratios, not absolute figures).`,
  '',
  '| system | events/s | runs | CPU us per event (all processes incl. broker) |',
  '|---|---|---|---|',
  ...results.map((r) => `| ${r.system} | ${k(r.value)} | ${r.runs.map(k).join(', ')} | ${r.cpuUsPerEvent} |`),
  '',
  `Ratios: 1 trigger ${ratios.pipeline_1_vs_raw}x raw, 100 triggers ${ratios.pipeline_100_vs_raw}x raw, 10,000 triggers ${ratios.pipeline_10000_vs_raw}x raw; 10,000 vs 100 triggers ${ratios.pipeline_10000_vs_100}x (CPU per event ${ratios.cpu_per_event_10000_vs_100}x).`,
].join('\n');
const readme = readFileSync('bench/README.md', 'utf8');
const begin = '<!-- event-pipeline:begin -->';
const end = '<!-- event-pipeline:end -->';
if (readme.includes(begin) && readme.includes(end)) {
  writeFileSync(
    'bench/README.md',
    `${readme.slice(0, readme.indexOf(begin) + begin.length)}\n${table}\n${readme.slice(readme.indexOf(end))}`,
  );
}
