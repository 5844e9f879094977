/** The `peers` verb's work, loaded only when it runs. */
import { connect, type SwitchboardClient } from '../client/index.js';
import { attachDiscovery } from './discovery.js';
import { KINDS, OVERRIDE_ENV, checkKind, type PeerMap } from './schema.js';

export interface PeersCliOptions {
  address?: string;
  json?: boolean;
  watch?: boolean;
}

export async function runPeers(kind: string, name: string, endpoint: string, opts: PeersCliOptions): Promise<void> {
  checkKind(kind);
  const override = process.env[OVERRIDE_ENV];
  let client: SwitchboardClient | undefined;
  if (!override) {
    client = await connect(opts.address, { reconnect: opts.watch === true });
    // Registered so that the hub pushes changes to this connection.
    if (opts.watch) await client.register('peers_cli', { instance: true });
  }
  try {
    const d = await attachDiscovery(client);
    if (!opts.watch) {
      print(d.getPeers(kind, name, endpoint), opts.json === true);
      return;
    }
    d.monitorPeers(kind, name, endpoint, (map) => print(map, opts.json === true, true));
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  } finally {
    client?.dispose();
  }
}

function print(map: PeerMap, json: boolean, watching = false): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(map, null, watching ? undefined : 2)}\n`);
    return;
  }
  const ids = Object.keys(map).sort();
  if (watching) process.stdout.write(`-- ${new Date().toISOString()}: ${ids.length} peer(s)\n`);
  if (ids.length === 0 && !watching) {
    process.stdout.write(`no peers (kinds: ${KINDS.join(', ')})\n`);
    return;
  }
  for (const id of ids) {
    const p = map[id]!;
    const where = p.port ? `${p.protocol}://${p.address}:${p.port}` : JSON.stringify(p);
    process.stdout.write(`${id}\t${where}\n`);
  }
}
