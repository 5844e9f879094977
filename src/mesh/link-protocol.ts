/**
 * The hub-to-hub commands as data: builders and zod-checked readers for CONNECT, ACCEPT, REFUSE,
 * GOSSIP and LINK_STATE (our link-state flood: a hub's live links and service table). Pure.
 *
 * Control messages on a link have no destination service; anything with a service is traffic to
 * route (unicast or broadcast).
 */
import { z } from 'zod';
import { createMessage, type JsonValue, type Message } from '../core/message.js';
import { InvalidMessageError } from '../core/errors.js';
import type { LinkState } from './graph.js';

export const PROTOCOL_VERSION = 1;

export const CONTROL_COMMANDS = new Set([
  'CONNECT',
  'ACCEPT',
  'REFUSE',
  'GOSSIP',
  'RECEIVED',
  'DISCONNECT',
  'HANGUP',
  'UNREACHABLE',
  'FORGET',
  'SHUTDOWN',
  'LINK_STATE',
  'ALIVE',
  'ABSOLUTELY',
]);

export function isControl(msg: Message): boolean {
  return msg.to.service === '' && CONTROL_COMMANDS.has(msg.command);
}

const text = z.union([z.string(), z.number()]).transform(String);
const list = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v) =>
    Array.isArray(v)
      ? v
      : (v ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
  );
const name = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9_.-]+$/, 'server names are letters, digits, _ . -');

export const ConnectParams = z.object({
  version: text.optional(),
  my_address: z.string().min(1),
  server_name: name,
  neighbors: list,
  services: list,
  heard_of: list,
  username: z.string().optional(),
  password: z.string().optional(),
  epoch: text.optional(),
});
export type ConnectParams = z.output<typeof ConnectParams>;

export const AcceptParams = z.object({
  server_name: name,
  /** The hub's boot epoch (ms): a neighbor drops an older state it still holds for it. */
  epoch: text.optional(),
  my_address: z.string().min(1),
  services: list,
  heard_of: list,
  neighbors: list,
});
export type AcceptParams = z.output<typeof AcceptParams>;

/**
 * The communicator lets a GOSSIP carry my_address or heard_of; this mesh answers a GOSSIP by
 * dialing its my_address, so it needs that one. heard_of is read and not needed: the cluster's
 * hubs reach every hub through the link-state flood.
 */
export const GossipParams = z.object({
  my_address: z.string().min(1),
  heard_of: list,
  username: z.string().optional(),
  password: z.string().optional(),
});

const ServiceEntrySchema = z.object({ name: z.string().min(1), since: z.number() });
export const LinkStateParams = z.object({
  origin: name,
  epoch: z.number(),
  seq: z.number().int().nonnegative(),
  address: z.string(),
  links: z.array(z.string()),
  services: z.array(ServiceEntrySchema),
});

/** Parses `params` with `schema`, throwing an InvalidMessageError that names the command and field. */
export function readParams<S extends z.ZodType>(
  command: string,
  schema: S,
  params: Record<string, JsonValue>,
): z.output<S> {
  const r = schema.safeParse(params);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new InvalidMessageError(
      `${command} from a hub has a bad parameter ${issue?.path.join('.') || ''}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return r.data as z.output<S>;
}

export function controlMessage(command: string, params: Record<string, JsonValue> = {}): Message {
  return createMessage(command, params);
}

export function linkStateMessage(s: LinkState): Message {
  return controlMessage('LINK_STATE', {
    origin: s.origin,
    epoch: s.epoch,
    seq: s.seq,
    address: s.address,
    links: s.links,
    services: s.services.map((x) => ({ name: x.name, since: x.since })),
  });
}

export function readLinkState(msg: Message): LinkState {
  return readParams('LINK_STATE', LinkStateParams, msg.params);
}

export type RefuseReason = { kind: 'conflict'; name: string } | { kind: 'shutdown' } | { kind: 'too-many' };

export function refuseMessage(r: RefuseReason): Message {
  if (r.kind === 'conflict') return controlMessage('REFUSE', { conflict: r.name });
  if (r.kind === 'shutdown') return controlMessage('REFUSE', { shutdown: 'true' });
  return controlMessage('REFUSE');
}

export function readRefuse(msg: Message): RefuseReason {
  const c = msg.params.conflict;
  if (typeof c === 'string' && c) return { kind: 'conflict', name: c };
  if (msg.params.shutdown !== undefined) return { kind: 'shutdown' };
  return { kind: 'too-many' };
}

/** The `cache=` parameter: `no`, `reply`, `ttl=<s>` (10..86400, default 60), `;`-separated. */
export interface CacheRule {
  cache: boolean;
  reply: boolean;
  ttlSeconds: number;
}

export function readCacheRule(params: Record<string, JsonValue>): CacheRule {
  const raw = typeof params.cache === 'string' ? params.cache : '';
  const parts = raw
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean);
  let ttl = 60;
  for (const p of parts) {
    const m = /^ttl=(\d+)$/.exec(p);
    if (m) ttl = Math.min(86_400, Math.max(10, Number(m[1])));
  }
  return { cache: !parts.includes('no'), reply: parts.includes('reply'), ttlSeconds: ttl };
}
