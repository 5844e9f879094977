/** The `cluster-status` verb: asks the hub for MESH_STATUS and prints it. */
import { z } from 'zod';
import { createMessage } from '../core/message.js';
import { InvalidArgumentError, InvalidMessageError, SwitchboardError } from '../core/errors.js';
import { askHub, hubAddress } from '../hub/ask-hub.js';
import { readMeshStatus, type MeshStatus } from '../core/protocol/index.js';

const Opts = z.object({
  address: z.string().optional(),
  json: z.boolean().optional(),
  timeout: z.coerce.number().int().positive(),
});

export async function fetchMeshStatus(address: string, timeoutMs = 5000): Promise<MeshStatus | undefined> {
  const replies = await askHub(
    address,
    createMessage('MESH_STATUS'),
    (r) => r.some((m) => m.command === 'MESH_STATUS_REPLY' || m.command === 'UNKNOWN'),
    timeoutMs,
  );
  const reply = replies.find((m) => m.command === 'MESH_STATUS_REPLY');
  if (!reply) return undefined;
  const status = readMeshStatus(reply);
  if (!status.ok) throw new InvalidMessageError(`the hub at ${address} answered MESH_STATUS badly: ${status.error}`);
  return status.value;
}

/** The part of the backplane's status (src/backplane) this printer shows; read structurally, not imported. */
interface BackplaneSummary {
  namespace: string;
  connectedTo: string;
  stream: { name: string; replicas: number; messages: number } | null;
  cache: { pending: number };
}

export function formatMeshStatus(s: MeshStatus): string {
  const c = s.cluster;
  const lines = [
    `hub ${s.server} at ${s.address}: ${c.up ? 'CLUSTER_UP' : 'CLUSTER_DOWN'}, ${c.complete ? 'CLUSTER_COMPLETE' : 'CLUSTER_INCOMPLETE'} (${c.live} of ${c.total} hubs reachable, quorum ${c.quorum})`,
    '',
    'hub'.padEnd(14) + 'reachable'.padEnd(11) + 'hops'.padEnd(6) + 'via'.padEnd(14) + 'address'.padEnd(24) + 'services',
  ];
  for (const h of s.hubs) {
    const via = h.name === s.server ? '-' : (h.nextHop ?? '-');
    lines.push(
      h.name.padEnd(14) +
        (h.name === s.server ? 'self' : h.reachable ? 'yes' : 'NO').padEnd(11) +
        String(h.distance ?? '-').padEnd(6) +
        via.padEnd(14) +
        h.address.padEnd(24) +
        (h.services.join(', ') || '-'),
    );
  }
  const backplane = (s as MeshStatus & { backplane?: BackplaneSummary }).backplane;
  if (backplane) {
    const st = backplane.stream;
    lines.push(
      '',
      `backplane: namespace ${backplane.namespace} on ${backplane.connectedTo || 'no NATS server (reconnecting)'}; every live hub is one hop away`,
      st
        ? `message cache: JetStream stream ${st.name} (${st.replicas} replica${st.replicas === 1 ? '' : 's'}), ${st.messages} message${st.messages === 1 ? '' : 's'} kept; ${backplane.cache.pending} waiting to be written`
        : 'message cache: JetStream has not answered yet',
    );
    return lines.join('\n');
  }
  lines.push(
    '',
    `links: ${s.links.map((l) => `${l.server} (${l.address}, ${l.outgoing ? 'out' : 'in'}${l.secure ? ', tls' : ''})`).join(', ') || 'none'}`,
  );
  const waiting = s.neighbors.filter((n) => n.state !== 'linked');
  if (waiting.length)
    lines.push(
      `neighbors not linked: ${waiting.map((n) => `${n.address} (${n.state}${n.lastError ? `: ${n.lastError}` : ''})`).join('; ')}`,
    );
  if (s.blocked.length)
    lines.push(
      `blocked: ${s.blocked.map((b) => `${b.address} until ${new Date(b.until).toISOString()} (${b.failures} failed logins)`).join('; ')}`,
    );
  if (s.refused?.length)
    lines.push(
      `refused: ${s.refused.map((r) => `${r.command} from ${r.peer} (${r.count}x, last ${new Date(r.at).toISOString()}: ${r.why})`).join('; ')}`,
    );
  if (s.cachedForRemote) lines.push(`messages waiting for unreachable hubs: ${s.cachedForRemote}`);
  return lines.join('\n');
}

export async function runClusterStatus(raw: Record<string, unknown>): Promise<void> {
  const r = Opts.safeParse(raw);
  if (!r.success) throw new InvalidArgumentError(`--timeout must be a positive number of milliseconds`);
  const address = hubAddress(r.data.address);
  const status = await fetchMeshStatus(address, r.data.timeout);
  if (!status)
    throw new SwitchboardError(
      'UNAVAILABLE',
      `the hub at ${address} runs without a mesh or backplane (start it with --remote-listen, --secure-listen or --backplane to join a cluster)`,
    );
  process.stdout.write(r.data.json ? `${JSON.stringify(status, null, 2)}\n` : `${formatMeshStatus(status)}\n`);
}
