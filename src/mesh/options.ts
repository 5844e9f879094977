/**
 * The mesh's options on `switchboard hub`: added to the hub's command by `addMeshOptions`, turned
 * into a MeshConfig (neighbors.txt merged in) by `meshConfigFromOptions`. No mesh option given
 * means a single hub.
 */
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { InvalidArgumentError } from '../core/errors.js';
import { loadNeighbors } from './neighbors-file.js';
import { parseTimings } from './timings.js';
import type { MeshConfig } from './mesh.js';

export function addMeshOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--remote-listen <url>', 'hub-to-hub links, plain: cd://<private or loopback ip>:port (default port 4042)'))
    .addOption(new Option('--secure-listen <url>', 'hub-to-hub links over TLS: cds://user:password@ip:port (default port 4043); peers must present these credentials'))
    .addOption(new Option('--certificate <file>', 'PEM certificate for --secure-listen and for dialing cds: neighbors'))
    .addOption(new Option('--private-key <file>', 'PEM private key matching --certificate'))
    .addOption(new Option('--ca <file>', 'PEM CA: verify peers\' certificates both ways (mutual TLS)'))
    .addOption(new Option('--neighbors <list>', 'other hubs, comma-separated ip:port or cd:// / cds://user:pass@ip:port URLs (also saved in neighbors.txt)'))
    .addOption(new Option('--max-connections <n>', 'most hub links accepted (5..10000)').default('100'))
    .addOption(new Option('--mesh-timings <spec>', 'mesh delays: "fast" for test clusters, or name=ms,... (reconnectMs, gossipInitialMs, authBlockMs, ...)').env('SWITCHBOARD_MESH_TIMINGS'));
}

const MeshOptionsSchema = z.object({
  remoteListen: z.string().optional(),
  secureListen: z.string().optional(),
  certificate: z.string().optional(),
  privateKey: z.string().optional(),
  ca: z.string().optional(),
  neighbors: z.string().optional(),
  maxConnections: z.coerce.number().int().min(5, 'at least 5').max(10_000, 'at most 10000').default(100),
  meshTimings: z.string().optional(),
});

/** Undefined when neither --remote-listen nor --secure-listen is given (no mesh). */
export async function meshConfigFromOptions(raw: Record<string, unknown>, dataPath: string): Promise<MeshConfig | undefined> {
  const r = MeshOptionsSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new InvalidArgumentError(`--${String(issue?.path[0] ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${issue?.message ?? 'invalid'}`);
  }
  const o = r.data;
  if (!o.remoteListen && !o.secureListen) {
    if (o.neighbors) throw new InvalidArgumentError('--neighbors needs --remote-listen or --secure-listen: this hub must listen for its neighbors');
    return undefined;
  }
  const fromCli = (o.neighbors ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const saved = await loadNeighbors(dataPath);
  return {
    dataPath,
    ...(o.remoteListen ? { remoteListen: o.remoteListen } : {}),
    ...(o.secureListen ? { secureListen: o.secureListen } : {}),
    tls: { ...(o.certificate ? { certificate: o.certificate } : {}), ...(o.privateKey ? { privateKey: o.privateKey } : {}), ...(o.ca ? { ca: o.ca } : {}) },
    neighbors: [...new Set([...fromCli, ...saved])],
    maxConnections: o.maxConnections,
    timings: parseTimings(o.meshTimings),
  };
}
