/**
 * The dashboard is another door to the same services, so it asks the same questions the hub
 * asks: a request's token names an identity (the hub's admin token, a configured identity's
 * token, or `--http-token-file`'s, which counts as the admin), and each route needs what the
 * matching hub message would need (the sync pages: sending to `sync`; triggers, executions and
 * dead letters: sending to `dispatcher`; services and the cluster: LIST_SERVICES / MESH_STATUS;
 * the traffic stream: SNIFF).
 */
import type { Grant } from '../trust/policy.js';

export interface Need {
  /** In words, for the refusal: `send to "sync"`, `use SNIFF`. */
  what: string;
  granted(grant: Grant): boolean;
}

const ANY: Need = { what: 'a token', granted: () => true };
const send = (service: string): Need => ({ what: `send to "${service}"`, granted: (g) => g.maySend(service) });
const use = (command: string): Need => ({ what: `use ${command}`, granted: (g) => g.mayUse(command) });

export const NEEDS = {
  hub: use('LIST_SERVICES'),
  cluster: use('MESH_STATUS'),
  sync: send('sync'),
  dispatcher: send('dispatcher'),
  traffic: use('SNIFF'),
} as const;

const BY_SECTION: Record<string, Need> = {
  services: NEEDS.hub,
  cluster: NEEDS.cluster,
  connectors: NEEDS.sync,
  examples: NEEDS.sync,
  accounts: NEEDS.sync,
  sync: NEEDS.sync,
  runs: NEEDS.sync,
  data: NEEDS.sync,
  triggers: NEEDS.dispatcher,
  executions: NEEDS.dispatcher,
  // Listed without their bodies (which carry the agents' tokens); a replayed letter is checked by
  // the dispatcher like any agent message, so replaying is no more than replaying an execution.
  'dead-letters': NEEDS.dispatcher,
};

/** What `/api/<section>/...` needs (`/metrics`, `/api/live` and unknown paths: just a valid token). */
export function needOf(path: string): Need {
  if (!path.startsWith('/api/')) return ANY;
  return BY_SECTION[path.slice(5).split('/')[0] ?? ''] ?? ANY;
}

/** The token a request carries: `Authorization: Bearer T`, or `?token=T` where headers cannot be set (a WebSocket). */
export function requestToken(authorization: string | undefined, url: URL, queryAllowed: boolean): string | undefined {
  if (authorization?.startsWith('Bearer ')) return authorization.slice(7).trim() || undefined;
  return queryAllowed ? (url.searchParams.get('token') ?? undefined) : undefined;
}
