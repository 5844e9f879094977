/**
 * One benchmark process: `worker.ts sink <system> ...args` or `worker.ts source <system> ...args`.
 * Driven by the orchestrator over IPC (see protocol.ts).
 */
import { makeSink, makeSource, type Sink, type Source } from './adapters.js';
import { LatencyRecorder } from './stats.js';
import { PAYLOAD, type FromWorker, type SystemName, type ToWorker } from './protocol.js';

const [role, system, ...args] = process.argv.slice(2) as [string, SystemName, ...string[]];

function reply(msg: FromWorker): void {
  process.send?.(msg);
}

async function oneWay(source: Source, durationMs: number): Promise<number> {
  const end = performance.now() + durationMs;
  let sent = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 500; i++) source.send(PAYLOAD);
    sent += 500;
    await source.pace(sent);
  }
  return sent;
}

async function requestReply(source: Source, durationMs: number, inflight: number): Promise<FromWorker> {
  const lat = new LatencyRecorder();
  const start = performance.now();
  const end = start + durationMs;
  const loop = async () => {
    while (performance.now() < end) {
      const t0 = process.hrtime.bigint();
      await source.request(PAYLOAD);
      lat.add(Number(process.hrtime.bigint() - t0) / 1000);
    }
  };
  await Promise.all(Array.from({ length: inflight }, loop));
  const { p50, p99 } = lat.summary();
  return { type: 'rr-done', count: lat.count, elapsedMs: performance.now() - start, p50us: p50, p99us: p99 };
}

async function main(): Promise<void> {
  let sink: Sink | undefined;
  let source: Source | undefined;
  if (role === 'sink') sink = await makeSink(system, args);
  else source = await makeSource(system, args);
  process.on('message', (raw: ToWorker) => {
    void (async () => {
      try {
        switch (raw.type) {
          case 'reset':
            if (sink) Object.assign(sink.counters, { count: 0, firstNs: 0, lastNs: 0 });
            reply({ type: 'count', count: 0, firstNs: 0, lastNs: 0 });
            break;
          case 'count': {
            const c = sink!.counters;
            reply({ type: 'count', count: c.count, firstNs: c.firstNs, lastNs: c.lastNs });
            break;
          }
          case 'oneway':
            reply({ type: 'oneway-done', sent: await oneWay(source!, raw.durationMs) });
            break;
          case 'rr':
            reply(await requestReply(source!, raw.durationMs, raw.inflight));
            break;
          case 'stop':
            await (sink ?? source)!.close();
            process.exit(0);
        }
      } catch (err) {
        reply({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      }
    })();
  });
  reply({ type: 'ready', ...(sink?.address ? { address: sink.address } : {}) });
}

main().catch((err: unknown) => {
  reply({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
});
