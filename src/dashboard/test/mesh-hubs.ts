/**
 * In-process hubs with a mesh for the dashboard's tests and benchmark: `start` (dashboard on a
 * random port) or plain `hub`, each with its own temp home, a hub-link listener on a loopback
 * address and optional neighbors. Set SWITCHBOARD_MESH_TIMINGS=fast before starting them.
 */
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { freePort, tempDir, waitFor } from '../../core/test/support.js';
import { loadConfig } from '../../hub/config.js';
import type { Hub } from '../../hub/hub.js';
import { runSwitchboard } from '../../start/compose.js';
import { dashboardUrls } from './harness.js';

export interface MeshHub {
  hub: Hub;
  name: string;
  home: string;
  /** `ip:port` of its hub-link listener. */
  remote: string;
  /** The dashboard URL (scope `start` only), without the token. */
  url: string | undefined;
  /** The printed dashboard URL with its token (scope `start` only). */
  signInUrl: string | undefined;
  /** `{ authorization: 'Bearer <admin token>' }` for the dashboard's API. */
  headers: Record<string, string>;
  stop(): Promise<void>;
}

export async function startMeshHub(opts: {
  name: string;
  ip: string;
  scope: 'start' | 'hub';
  neighbors?: string[];
  maxConnections?: number;
  /** The admin token's file (default one in its own home); hubs given one file share their admin. */
  tokenFile?: string;
  /** The NATS backplane instead of a mesh: servers and namespace. */
  backplane?: { servers: string; namespace: string };
}): Promise<MeshHub> {
  const home = await tempDir(`switchboard-dash-${opts.name}-`);
  const port = await freePort(opts.ip);
  if (opts.scope === 'start') process.env.SWITCHBOARD_HTTP = '127.0.0.1:0';
  const config = loadConfig({
    env: {},
    flags: {
      serverName: opts.name,
      localListen: 'cd://127.0.0.1:0',
      signal: 'off',
      dataPath: home.path,
      tokenFile: opts.tokenFile ?? join(home.path, 'hub.token'),
      ...(opts.backplane
        ? { backplane: opts.backplane.servers, backplaneNamespace: opts.backplane.namespace }
        : { remoteListen: `cd://${opts.ip}:${port}` }),
      ...(opts.neighbors?.length ? { neighbors: opts.neighbors.join(',') } : {}),
      ...(opts.maxConnections ? { maxConnections: String(opts.maxConnections) } : {}),
    },
  });
  const sink = new PassThrough();
  let text = '';
  sink.on('data', (d: Buffer) => {
    text += d.toString();
  });
  let resolveHub!: (hub: Hub) => void;
  const started = new Promise<Hub>((r) => {
    resolveHub = r;
  });
  const done = runSwitchboard(config, { scope: opts.scope, json: true, out: sink, onStarted: resolveHub });
  const hub = await Promise.race([
    started,
    done.then((reason) => {
      throw new Error(`hub ${opts.name} stopped at once: ${reason}`);
    }),
  ]);
  const line = await waitFor(() => text.split('\n').find((l) => l.startsWith('{')), { what: 'the address line' });
  const addresses = (JSON.parse(line) as { addresses: { name: string; url: string }[] }).addresses;
  const printed = addresses.find((a) => a.name === 'dashboard')?.url;
  const urls = printed ? dashboardUrls(printed) : undefined;
  return {
    hub,
    name: opts.name,
    home: home.path,
    remote: `${opts.ip}:${port}`,
    url: urls?.url,
    signInUrl: urls?.signInUrl,
    headers: { authorization: `Bearer ${hub.adminToken ?? ''}` },
    async stop() {
      hub.requestStop('test over');
      await done;
      await home.cleanup();
    },
  };
}
