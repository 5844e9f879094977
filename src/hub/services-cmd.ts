/** `switchboard services`: who is registered with a hub (LIST_SERVICES), as a table or JSON. */
import { z } from 'zod';
import { parseAddress } from '../core/address.js';
import { InvalidMessageError } from '../core/errors.js';
import { hubAddress, hubRequest } from './ask-hub.js';

const instanceSchema = z.object({
  instance: z.string(),
  id: z.string(),
  since: z.number(),
  commands: z.array(z.string()),
  transport: z.string(),
  kind: z.string(),
  remote_address: z.string(),
  endpoints: z.unknown().optional(),
  params: z.record(z.string(), z.unknown()),
  dropped: z.number(),
  queued_bytes: z.number(),
});

const serviceSchema = z.object({
  name: z.string(),
  server: z.string(),
  status: z.enum(['up', 'down']),
  since: z.number(),
  instances: z.array(instanceSchema),
});

export type ListedService = z.infer<typeof serviceSchema>;

export function resolveHubAddress(address: string | undefined): string {
  const url = hubAddress(address);
  parseAddress(url);
  return url;
}

export async function fetchServices(address: string, timeoutMs = 5000): Promise<ListedService[]> {
  const reply = await hubRequest(address, 'LIST_SERVICES', {}, 'SERVICES', timeoutMs);
  let raw: unknown = reply.params.services;
  if (typeof raw === 'string') raw = JSON.parse(raw);
  const parsed = z.array(serviceSchema).safeParse(raw);
  if (!parsed.success)
    throw new InvalidMessageError(
      `the hub's SERVICES reply is not a service list: ${parsed.error.issues[0]?.message ?? 'bad shape'}`,
    );
  return parsed.data;
}

function when(epochSeconds: number): string {
  if (!epochSeconds) return '-';
  return new Date(epochSeconds * 1000).toISOString().replace('T', ' ').slice(0, 19);
}

export function servicesTable(services: ListedService[]): string {
  if (services.length === 0) return 'no services registered\n';
  const rows: string[][] = [['SERVICE', 'HUB', 'STATUS', 'INSTANCE', 'SINCE (UTC)', 'VIA', 'COMMANDS']];
  for (const s of services) {
    if (s.instances.length === 0) rows.push([s.name, s.server, s.status, '-', when(s.since), '-', '-']);
    for (const i of s.instances)
      rows.push([
        s.name,
        s.server,
        s.status,
        i.id,
        when(i.since),
        `${i.kind} ${i.remote_address}`,
        i.commands.join(',') || '-',
      ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return `${rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')).join('\n')}\n`;
}

export async function runServices(options: { address?: string; json?: boolean; timeout?: string }): Promise<void> {
  const address = resolveHubAddress(options.address);
  const timeoutMs = options.timeout === undefined ? 5000 : Number(options.timeout);
  const services = await fetchServices(address, Number.isFinite(timeoutMs) && timeoutMs > 0 ? timeoutMs : 5000);
  process.stdout.write(options.json ? `${JSON.stringify(services, null, 2)}\n` : servicesTable(services));
}
