/**
 * Meshes of N hubs in a ring (each linked to its two neighbors, hubs on 127.0.0.1..N): the bytes
 * all hubs write for one change (a service registers on one hub: its LINK_STATE floods every
 * link), and the time from killing one hub until every other hub's services heard that its
 * service is down (the routes were recomputed everywhere).
 *
 * Bytes are read from /proc/<pid>/io (wchar: every write of every hub), minus what the bench's own
 * connections received in the same window (the STATUS each hub tells its watcher, READY, ...), so
 * what is left is hub-to-hub traffic. Keep-alives and the periodic re-flood are off for the run.
 */
import { startCluster, waitConverged, type HubProcess } from '../../src/mesh/test/cluster.js';
import { LineConn } from './lines.js';
import { load, median, sleep, writtenBytes } from './proc.js';

export interface MeshPoint {
  hubs: number;
  links: number;
  /** Bytes all hubs wrote to each other for one service registering on one hub (median). */
  bytesPerChange: number;
  /** The same divided by the links: each link carries the new state about once in each direction at most. */
  bytesPerLink: number;
  /** Kill one hub -> every other hub's watcher heard STATUS down (median, ms). */
  rerouteMs: number;
  rerouteRuns: number[];
  load: number;
}

const portOf = (url: string) => Number(new URL(url.replace(/^cd:/, 'http:')).port);

export async function meshPoint(size: number, changes: number, kills: number): Promise<MeshPoint> {
  // Lower case: a hub reports server names lower-cased (as communicatord does), and the checks compare them.
  const names = Array.from({ length: size }, (_, i) => `h${i}`);
  const hubs = await startCluster(
    names.map((n, i) => ({
      name: n,
      ip: `127.0.0.${i + 1}`,
      neighbors: [names[(i + size - 1) % size]!, names[(i + 1) % size]!],
    })),
    { timings: 'fast,keepAliveMs=0,refreshMs=0' },
  );
  const list = names.map((n) => hubs.get(n)!);
  const watchers: LineConn[] = [];
  const probes: LineConn[] = [];
  try {
    for (const [i, h] of list.entries()) {
      const w = await LineConn.open(portOf(h.localUrl));
      await w.register(`w${i}`, ['STATUS']);
      watchers.push(w);
    }
    await waitConverged(
      hubs.values(),
      (s) => names.every((_, i) => s.hubs.some((h) => h.services.includes(`w${i}`))),
      120_000,
    );
    await sleep(500);

    const pids = () => list.map((h) => h.pid ?? 0).filter((p) => p > 0);
    const received = () => [...watchers, ...probes].reduce((sum, c) => sum + c.bytes, 0);
    const written = () => pids().reduce((sum, p) => sum + writtenBytes(p), 0);
    const perChange: number[] = [];
    for (let k = 0; k < changes; k++) {
      const service = `probe${k}`;
      const heard = watchers.slice(1).map((w) => w.until(`"service":"${service}"`));
      const w0 = written();
      const r0 = received();
      const p = await LineConn.open(portOf(list[0]!.localUrl));
      probes.push(p);
      await p.register(service);
      await Promise.all(heard);
      // The flood may still be crossing the last links after the last hub heard it.
      await sleep(300);
      perChange.push(written() - w0 - (received() - r0));
    }

    const reroute: number[] = [];
    for (let k = 0; k < kills; k++) {
      const vi = 1 + ((k * 5) % (size - 1));
      const victim = list[vi]!;
      const others = watchers.filter((_, i) => i !== vi);
      const down = others.map((w) => w.until(`"service":"w${vi}","server_name":"h${vi}","status":"down"`, 30_000));
      const t0 = performance.now();
      await victim.kill();
      await Promise.all(down);
      reroute.push(performance.now() - t0);
      // Back, and converged again before the next kill (not timed).
      await victim.start();
      const w = await LineConn.open(portOf(victim.localUrl));
      await w.register(`w${vi}`, ['STATUS']);
      watchers[vi]!.close();
      watchers[vi] = w;
      await waitConverged(
        hubs.values(),
        (s) => names.every((_, i) => s.hubs.some((h) => h.services.includes(`w${i}`))),
        120_000,
      );
    }
    const bytes = median(perChange);
    return {
      hubs: size,
      links: size,
      bytesPerChange: Math.round(bytes),
      bytesPerLink: Math.round(bytes / size),
      rerouteMs: Math.round(median(reroute)),
      rerouteRuns: reroute.map((x) => Math.round(x)),
      load: load(),
    };
  } finally {
    for (const c of [...watchers, ...probes]) c.close();
    await Promise.all([...hubs.values()].map((h: HubProcess) => h.dispose()));
  }
}
