/**
 * Discovery in the client: a cache of the cluster's endpoint advertisements, filled from the hub's
 * discovery agent (DISCOVERY_SYNC) and kept current by its PEERS pushes, so `getPeers` is a map
 * lookup. `SWITCHBOARD_PEERS_OVERRIDE` (JSON) replaces the hub for tests and offline use.
 *
 *   const hub = await connect();
 *   await hub.register('web');                 // registered clients receive the pushes
 *   const peers = await attachDiscovery(hub);
 *   peers.service('app').monitorAll((map) => console.log(map));
 *   const res = await peers.service('app').request({ path: '/health' });
 */
import { errorMessage, SwitchboardError } from '../core/errors.js';
import { getLogger } from '../core/log.js';
import type { Message } from '../core/message.js';
import type { ClientExtension, SwitchboardClient } from '../client/client.js';
import type { ConnectionState } from '../client/types.js';
import { PeerRequester, resolvePolicy, type PeerRequestOptions, type PeerResponse, type PolicyInput } from './http-request.js';
import { PeerTable, type MonitorCallback } from './peer-table.js';
import { OVERRIDE_ENV, Snapshot, SnapshotList, checkKind, parseOverride, type Override, type Peer, type PeerKind, type PeerMap } from './schema.js';
import { Target } from './target.js';

export interface DiscoveryOptions {
  /** Peers from this JSON instead of the hub (default: `SWITCHBOARD_PEERS_OVERRIDE`). */
  override?: string;
  /** Request policy defaults for every target (Berlioz's when absent). */
  policy?: PolicyInput;
  syncTimeoutMs?: number;
}

export class Discovery implements ClientExtension {
  readonly commands = ['PEERS', 'STATUS'];
  private readonly log = getLogger('discovery');
  private readonly table: PeerTable;
  private readonly requester: PeerRequester;
  private readonly policies = new Map<string, PolicyInput>();
  private server: string | undefined;
  private synced = false;

  constructor(private readonly client: SwitchboardClient | undefined, private readonly options: DiscoveryOptions = {}, override?: Override) {
    this.table = new PeerTable(override, (err) => this.log.error({ err: errorMessage(err) }, 'a peer monitor threw'));
    this.requester = new PeerRequester(resolvePolicy(options.policy));
  }

  get overridden(): boolean {
    return this.client === undefined;
  }

  /** Asks the hub for the cluster's current view (done at attach and after each reconnect). */
  async sync(): Promise<void> {
    const client = this.client;
    if (!client) return;
    let reply: Message;
    try {
      reply = await client.request({ command: 'DISCOVERY_SYNC' }, { timeoutMs: this.options.syncTimeoutMs ?? 10_000, match: (m) => m.command === 'DISCOVERY_SNAPSHOT' });
    } catch (err) {
      if (err instanceof SwitchboardError && err.code === 'NOT_FOUND') throw new SwitchboardError('UNAVAILABLE', `the hub at ${client.address} has no discovery agent (DISCOVERY_SYNC is unknown there): run a Switchboard hub of this version`, { cause: err });
      throw err;
    }
    this.server = typeof reply.params.server_name === 'string' ? reply.params.server_name : reply.sentFrom.server;
    const raw = reply.params.snapshots;
    const list = SnapshotList.parse(typeof raw === 'string' ? JSON.parse(raw) : raw);
    if (this.synced) this.table.replaceAll(list);
    else for (const s of list) this.table.apply(s);
    this.synced = true;
  }

  // ---- ClientExtension ------------------------------------------------------------------------

  onMessage(msg: Message): boolean {
    if (msg.command === 'PEERS') {
      try {
        const raw = msg.params.snapshot;
        this.table.apply(Snapshot.parse(typeof raw === 'string' ? JSON.parse(raw) : raw));
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'ignored a PEERS push that does not validate');
      }
      return true;
    }
    if (msg.command === 'STATUS' && msg.params.status === 'down') {
      const server = msg.params.server_name;
      const service = msg.params.service;
      if (typeof server === 'string' && typeof service === 'string' && this.server !== undefined && server !== this.server) this.table.drop(server, service);
    }
    return false;
  }

  onState(state: ConnectionState): void {
    if (state.status === 'ready' && this.synced) this.sync().catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'discovery re-sync failed'));
  }

  // ---- Berlioz's API -------------------------------------------------------------------------

  getPeers(kind: string, name: string, endpoint = 'default'): PeerMap {
    return this.table.get(checkKind(kind), name, endpoint);
  }

  /** `cb` now with the current map, then on every real change; returns the unsubscribe. */
  monitorPeers(kind: string, name: string, endpoint: string, cb: MonitorCallback): () => void {
    return this.table.monitor(checkKind(kind), name, endpoint, cb);
  }

  getRandomPeer(kind: string, name: string, endpoint = 'default'): Peer | undefined {
    const map = this.getPeers(kind, name, endpoint);
    const ids = Object.keys(map);
    return ids.length ? map[ids[Math.floor(Math.random() * ids.length)]!] : undefined;
  }

  /** Per-target policy (e.g. pushed from configuration): merged over the defaults. */
  setPolicy(kind: string, name: string, endpoint: string, policy: PolicyInput): void {
    resolvePolicy(this.options.policy, policy);
    this.policies.set(`${checkKind(kind)}/${name}/${endpoint}`, policy);
  }

  requestPeers(kind: string, name: string, endpoint: string, options: PeerRequestOptions = {}): Promise<PeerResponse> {
    const k = checkKind(kind);
    const target = this.policies.get(`${k}/${name}/${endpoint}`);
    const merged = target || options.policy ? { ...options, policy: { ...target, ...options.policy } } : options;
    return this.requester.request(`${k} "${name}" endpoint "${endpoint}"`, () => this.table.get(k, name, endpoint), merged);
  }

  breakerState(identity: string): 'closed' | 'open' | 'half-open' {
    return this.requester.breakerState(identity);
  }

  // ---- fluent targets ------------------------------------------------------------------------

  service(name: string, endpoint = 'default'): Target {
    return new Target(this, 'service', name, endpoint);
  }

  cluster(name: string, endpoint = 'default'): Target {
    return new Target(this, 'cluster', name, endpoint);
  }

  database(name: string): Target {
    return new Target(this, 'database', name, 'default');
  }

  queue(name: string): Target {
    return new Target(this, 'queue', name, 'default');
  }

  dispose(): void {
    this.synced = false;
  }
}

/** Discovery on `client` (or on the override when `SWITCHBOARD_PEERS_OVERRIDE` / `options.override` is set). */
export async function attachDiscovery(client: SwitchboardClient | undefined, options: DiscoveryOptions = {}): Promise<Discovery> {
  const overrideText = options.override ?? process.env[OVERRIDE_ENV];
  if (overrideText !== undefined && overrideText !== '') return new Discovery(undefined, options, parseOverride(overrideText));
  if (!client) throw new SwitchboardError('INVALID_ARGUMENT', `discovery needs a hub client, or peers in ${OVERRIDE_ENV}`);
  const d = new Discovery(client, options);
  client.use(d);
  await d.sync();
  return d;
}

export type { PeerKind };
