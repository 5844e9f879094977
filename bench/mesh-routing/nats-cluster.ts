/**
 * A three-server NATS cluster on loopback for the benchmark: Debian's nats-server on random client
 * and route ports, full-mesh routes, each in its own temp dir, killed at the end. The system
 * nats-server on 4222 is never touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, portOpen } from '../../src/core/test/support.js';

export const NATS_SERVER = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

export interface NatsCluster {
  urls: string[];
  stop(): Promise<void>;
}

export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const ports = await Promise.all(
    Array.from({ length: size }, async () => ({ client: await freePort(), route: await freePort() })),
  );
  const dir = mkdtempSync(join(tmpdir(), 'mesh-bench-nats-'));
  const children: ChildProcess[] = ports.map((p, i) => {
    const routes = ports
      .filter((_, j) => j !== i)
      .map((q) => `nats://127.0.0.1:${q.route}`)
      .join(',');
    return spawn(
      NATS_SERVER,
      [
        '-a',
        '127.0.0.1',
        '-p',
        String(p.client),
        '--cluster_name',
        'meshbench',
        '--cluster',
        `nats://127.0.0.1:${p.route}`,
        '--routes',
        routes,
        '--pid',
        join(dir, `n${i}.pid`),
      ],
      { stdio: 'ignore', cwd: dir },
    );
  });
  for (const p of ports) {
    const deadline = Date.now() + 10_000;
    while (!(await portOpen(p.client))) {
      if (Date.now() > deadline) throw new Error(`nats-server did not open ${p.client}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    urls: ports.map((p) => `nats://127.0.0.1:${p.client}`),
    stop: async () => {
      await Promise.all(
        children.map(
          (c) =>
            new Promise((r) => {
              if (c.exitCode !== null) r(null);
              else {
                c.once('exit', r);
                c.kill('SIGKILL');
              }
            }),
        ),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
