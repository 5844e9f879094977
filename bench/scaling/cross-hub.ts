/**
 * A request crossing hubs, three ways, on one machine in one run: two meshed hubs (requester on
 * A, responder on B, one hub link), two hubs on a NATS backplane (one nats-server started here,
 * both hubs on it), and NATS alone (requester and responder clients on that same server, no hub).
 * Round trips/s with 1 and 64 in flight, p50/p99, medians of RUNS interleaved runs.
 */
import { freePort } from '../../src/core/test/support.js';
import { startCluster, waitConverged } from '../../src/mesh/test/cluster.js';
import { NatsCluster } from '../../src/backplane/test/nats-cluster.js';
import { BackplaneHub } from '../../src/backplane/test/backplane-hub.js';
import { waitFor } from '../../src/core/test/support.js';
import {
  natsRequester,
  natsResponder,
  switchboardRequester,
  switchboardResponder,
  type Requester,
  type RRResult,
} from '../mesh-routing/rr.js';
import { load, median } from './proc.js';

export interface CrossRow {
  system: 'mesh' | 'backplane' | 'nats';
  inflight: number;
  rate: number;
  p50us: number;
  p99us: number;
  load: number;
}

export async function crossHub(durationMs: number, runs: number): Promise<CrossRow[]> {
  const closers: (() => unknown)[] = [];
  try {
    // The mesh: A - B.
    const mesh = await startCluster([
      { name: 'a', ip: '127.0.0.1', neighbors: ['b'] },
      { name: 'b', ip: '127.0.0.2', neighbors: ['a'] },
    ]);
    closers.push(() => Promise.all([...mesh.values()].map((h) => h.dispose())));
    closers.push(await switchboardResponder(mesh.get('b')!.localUrl, 'echo'));
    await waitConverged(mesh.values(), (s) => s.hubs.some((h) => h.services.includes('echo')), 60_000);
    const meshReq = await switchboardRequester(mesh.get('a')!.localUrl, 'echo');
    closers.push(() => meshReq.close());

    // One nats-server (JetStream on, as a backplane needs), two hubs on it.
    const nats = await NatsCluster.start(1);
    closers.push(() => nats.dispose());
    const a = new BackplaneHub('a', await freePort(), () => [nats.url(0)], `bench${process.pid}`);
    const b = new BackplaneHub('b', await freePort(), () => [nats.url(0)], `bench${process.pid}`);
    closers.push(() => Promise.all([a.dispose(), b.dispose()]));
    await a.start();
    await b.start();
    closers.push(await switchboardResponder(b.localUrl, 'echo'));
    await waitFor(async () => (await a.status())?.hubs.some((h) => h.name === 'b' && h.services.includes('echo')), {
      timeoutMs: 60_000,
      what: 'the backplane hubs to see echo',
    });
    const bpReq = await switchboardRequester(a.localUrl, 'echo');
    closers.push(() => bpReq.close());

    // NATS alone on the same server.
    const closeNats = await natsResponder(nats.url(0), 'echo.remote');
    closers.push(closeNats);
    const natsReq = await natsRequester(nats.url(0), 'echo.remote');
    closers.push(() => natsReq.closeAsync());

    const systems: [CrossRow['system'], Requester][] = [
      ['mesh', meshReq],
      ['backplane', bpReq],
      ['nats', natsReq],
    ];
    // Warm-up (not kept): interest and routes in place, code paths compiled.
    for (const [, r] of systems) await r.run(8, 300);
    const rows: CrossRow[] = [];
    for (const inflight of [1, 64]) {
      const got = new Map<string, RRResult[]>();
      for (let i = 0; i < runs; i++)
        for (const [name, r] of systems) {
          const res = await r.run(inflight, durationMs);
          got.set(name, [...(got.get(name) ?? []), res]);
        }
      for (const [name] of systems) {
        const list = got.get(name)!;
        rows.push({
          system: name,
          inflight,
          rate: Math.round(median(list.map((x) => x.rate))),
          p50us: Math.round(median(list.map((x) => x.p50us))),
          p99us: Math.round(median(list.map((x) => x.p99us))),
          load: load(),
        });
      }
    }
    return rows;
  } finally {
    for (const c of closers.reverse()) await c();
  }
}
