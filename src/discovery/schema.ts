/**
 * What discovery reads from outside the process, validated with zod: the endpoint advertisement a
 * service gives on REGISTER (`endpoints=[...]`), the per-hub snapshots the agents exchange, and
 * the override JSON (`SWITCHBOARD_PEERS_OVERRIDE`). Bad input becomes an InvalidArgumentError
 * with a sentence saying what to fix.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../core/errors.js';
import {
  Advertisement,
  PEER_KINDS,
  PEER_NAME,
  PolicyTable,
  describeZod,
  type PeerKind,
} from '../core/discovery-schema.js';

// The advertisement and policy schemas are the hub's too (it refuses a bad REGISTER): they live in core.
export {
  Advertisement,
  EndpointAd,
  ResourceAd,
  isResource,
  parseAdvertisement,
  PolicyTable,
  type PeerKind,
} from '../core/discovery-schema.js';

export const KINDS = PEER_KINDS;

/** One hub's view of one service: what its agent broadcasts as PEERS and answers to PEERS_SYNC. */
export const Snapshot = z.object({
  server: z.string().min(1),
  service: z.string().min(1),
  /** The hub's start time: a restarted hub's counter begins again. */
  gen: z.number(),
  seq: z.number().int().nonnegative(),
  /** The hub's `cluster_name`, when it has one: kind `service` finds only its own cluster's instances. */
  cluster: z.string().regex(PEER_NAME).optional(),
  /** Exposed name -> this service's endpoint name, from the hub's `discovery.expose` (kind `cluster`). */
  exposes: z.record(z.string(), z.string()).optional(),
  instances: z.array(z.object({ instance: z.string(), host: z.string(), endpoints: Advertisement })),
});
export type Snapshot = z.infer<typeof Snapshot>;

export const SnapshotList = z.array(Snapshot);

/** What the hub's agent answers to DISCOVERY_SYNC (parameters of DISCOVERY_SNAPSHOT). */
export const SyncReply = z.object({
  server_name: z.string().optional(),
  cluster: z.string().optional(),
  snapshots: SnapshotList,
  policies: PolicyTable.default({}),
});

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
  address: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  protocol: z.string().default('http'),
  networkProtocol: z.enum(['tcp', 'udp']).default('tcp'),
});
/** `{ "service": { "app": { "default": { "<identity>": { address, port, ... } } } } }` */
export const Override = z.partialRecord(
  z.enum(KINDS),
  z.record(z.string(), z.record(z.string(), z.record(z.string(), PeerEntry))),
);
export type Override = z.infer<typeof Override>;

export const OVERRIDE_ENV = 'SWITCHBOARD_PEERS_OVERRIDE';

export function parseOverride(text: string): Override {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(
      `${OVERRIDE_ENV} does not parse as JSON (${(err as Error).message}): give {"service":{"<name>":{"default":{"<id>":{"address":"127.0.0.1","port":8080}}}}}`,
    );
  }
  const parsed = Override.safeParse(data);
  if (!parsed.success)
    throw new InvalidArgumentError(
      `${OVERRIDE_ENV} is not a valid peer override: ${describeZod(parsed.error)}; shape {"service":{"<name>":{"<endpoint>":{"<id>":{"address":"...","port":N}}}}}, kinds ${KINDS.join(', ')}`,
    );
  return parsed.data;
}

export function checkKind(kind: string): PeerKind {
  if ((KINDS as readonly string[]).includes(kind)) return kind as PeerKind;
  throw new InvalidArgumentError(`unknown peer kind "${kind}": use one of ${KINDS.join(', ')}`);
}
