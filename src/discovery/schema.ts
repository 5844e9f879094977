/**
 * What discovery reads from outside the process, validated with zod: the endpoint advertisement a
 * service gives on REGISTER (`endpoints=[...]`), the per-hub snapshots the agents exchange, and
 * the override JSON (`SWITCHBOARD_PEERS_OVERRIDE`). Bad input becomes an InvalidArgumentError
 * with a sentence saying what to fix.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../core/errors.js';

export const KINDS = ['service', 'cluster', 'database', 'queue'] as const;
export type PeerKind = (typeof KINDS)[number];

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** One network endpoint of an instance. Extra fields travel along to the peer entry. */
export const EndpointAd = z.looseObject({
  name: z.string().regex(NAME, 'an endpoint name is letters, digits, _ . - (e.g. "default")').default('default'),
  protocol: z.string().min(1).default('http'),
  networkProtocol: z.enum(['tcp', 'udp']).default('tcp'),
  /** Missing = the address the instance connected to the hub from. */
  address: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535),
  /** Set on an endpoint a cluster exposes to others: found as kind `cluster` under this name. */
  cluster: z.string().regex(NAME).optional(),
});
export type EndpointAd = z.infer<typeof EndpointAd>;

/** A database or queue the instance uses, with whatever info its consumers need. */
export const ResourceAd = z.object({
  kind: z.enum(['database', 'queue']),
  name: z.string().regex(NAME, 'a resource name is letters, digits, _ . -'),
  info: z.record(z.string(), z.unknown()).default({}),
});
export type ResourceAd = z.infer<typeof ResourceAd>;

export const AdItem = z.union([ResourceAd, EndpointAd]);
export const Advertisement = z.array(AdItem);
export type Advertisement = z.infer<typeof Advertisement>;

export function isResource(item: EndpointAd | ResourceAd): item is ResourceAd {
  return 'kind' in item && (item.kind === 'database' || item.kind === 'queue') && 'info' in item;
}

const EXAMPLE = '[{"name":"default","protocol":"http","address":"127.0.0.1","port":8080}]';

/** The advertisement from a REGISTER `endpoints` value (JSON text or already parsed). */
export function parseAdvertisement(value: unknown, what = 'endpoints'): Advertisement {
  let data = value;
  if (typeof value === 'string') {
    try { data = JSON.parse(value); } catch { throw new InvalidArgumentError(`${what} is not JSON: give an array such as ${EXAMPLE}`); }
  }
  const parsed = Advertisement.safeParse(data);
  if (!parsed.success) throw new InvalidArgumentError(`${what} is not a valid endpoint advertisement: ${describe(parsed.error)}; expected an array such as ${EXAMPLE}`);
  return parsed.data;
}

/** One hub's view of one service: what its agent broadcasts as PEERS and answers to PEERS_SYNC. */
export const Snapshot = z.object({
  server: z.string().min(1),
  service: z.string().min(1),
  /** The hub's start time: a restarted hub's counter begins again. */
  gen: z.number(),
  seq: z.number().int().nonnegative(),
  instances: z.array(z.object({ instance: z.string(), host: z.string(), endpoints: Advertisement })),
});
export type Snapshot = z.infer<typeof Snapshot>;

export const SnapshotList = z.array(Snapshot);

/** A peer as callers see it (Berlioz's shape plus where it lives). */
export interface Peer {
  address: string;
  port: number;
  protocol: string;
  networkProtocol: 'tcp' | 'udp';
  [extra: string]: unknown;
}
export type PeerMap = Record<string, Peer>;
/** A database/queue: identity -> its info. */
export type ResourceMap = Record<string, Record<string, unknown>>;

const PeerEntry = z.looseObject({
  address: z.string().min(1), port: z.number().int().min(1).max(65535),
  protocol: z.string().default('http'), networkProtocol: z.enum(['tcp', 'udp']).default('tcp'),
});
/** `{ "service": { "app": { "default": { "<identity>": { address, port, ... } } } } }` */
export const Override = z.partialRecord(z.enum(KINDS), z.record(z.string(), z.record(z.string(), z.record(z.string(), PeerEntry))));
export type Override = z.infer<typeof Override>;

export const OVERRIDE_ENV = 'SWITCHBOARD_PEERS_OVERRIDE';

export function parseOverride(text: string): Override {
  let data: unknown;
  try { data = JSON.parse(text); } catch (err) {
    throw new InvalidArgumentError(`${OVERRIDE_ENV} does not parse as JSON (${(err as Error).message}): give {"service":{"<name>":{"default":{"<id>":{"address":"127.0.0.1","port":8080}}}}}`);
  }
  const parsed = Override.safeParse(data);
  if (!parsed.success) throw new InvalidArgumentError(`${OVERRIDE_ENV} is not a valid peer override: ${describe(parsed.error)}; shape {"service":{"<name>":{"<endpoint>":{"<id>":{"address":"...","port":N}}}}}, kinds ${KINDS.join(', ')}`);
  return parsed.data;
}

export function checkKind(kind: string): PeerKind {
  if ((KINDS as readonly string[]).includes(kind)) return kind as PeerKind;
  throw new InvalidArgumentError(`unknown peer kind "${kind}": use one of ${KINDS.join(', ')}`);
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'bad value';
  return `${issue.path.length ? `at ${issue.path.join('.')}: ` : ''}${issue.message}`;
}
