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
import { PeerRequester, type PeerRequestOptions, type PeerResponse } from './http-request.js';
import { HubLoads, pickLeastLoaded, type HubLoad } from './loads.js';
import { MAX_LISTENED_HUBS } from '../core/protocol/index.js';
import { PeerTable, type MonitorCallback } from './peer-table.js';
import {
  OVERRIDE_ENV,
  Snapshot,
  SyncReply,
  checkKind,
  describeZod,
  parseOverride,
  resolvePolicy,
  type Override,
  type Peer,
  type PeerKind,
  type PeerMap,
  type PolicyInput,
  type PolicyTable,
  type RequestPolicy,
} from './schema.js';
import { Target } from './target.js';

export interface DiscoveryOptions {
  /** Peers from this JSON instead of the hub (default: `SWITCHBOARD_PEERS_OVERRIDE`). */
  override?: string;
  /** Request policy for every target of this client (over the hub's `default`, under its per-target policies). */
  policy?: PolicyInput;
  syncTimeoutMs?: number;
}

export class Discovery implements ClientExtension {
  readonly commands = ['PEERS', 'STATUS', 'LOADAVG', 'DROPPED'];
  private readonly log = getLogger('discovery');
  private readonly table: PeerTable;
  /** Hub loads (LOADAVG) for least-loaded picks, followed once one is asked for. */
  private readonly loads = new HubLoads();
  private readonly requester = new PeerRequester((identity) => this.loads.ofPeer(identity));
  /** Other hubs this client asked its hub to listen to (LISTEN_LOADAVG); undefined until loads are wanted. */
  private loadWatch: Set<string> | undefined;
  /** Per-target policies set in code (`setPolicy`). */
  private readonly policies = new Map<string, PolicyInput>();
  /** Policies from the hub's configuration (`discovery.policies`), delivered with each sync. */
  private hubPolicies: PolicyTable = {};
  private server: string | undefined;
  private hubCluster: string | undefined;
  private synced = false;
  /** The sync a DROPPED started, while it runs: more DROPPED meanwhile start no other. */
  private resync: Promise<void> | undefined;
  /**
   * One map per sync in flight: the last push or drop heard for each (hub, service) since it asked,
   * laid over its answer (which may have been computed before them). At most one entry per
   * (hub, service) key, like the table itself.
   */
  private readonly heardDuringSync = new Set<Map<string, HeardChange>>();
  /** Settles with the first sync (a lazily attached discovery answers before it). */
  private first: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: SwitchboardClient | undefined,
    private readonly options: DiscoveryOptions = {},
    override?: Override,
  ) {
    resolvePolicy(options.policy);
    this.table = new PeerTable(override, (err) => this.log.error({ err: errorMessage(err) }, 'a peer monitor threw'));
  }

  get overridden(): boolean {
    return this.client === undefined;
  }

  /** The hub's cluster name (from the last sync), if it has one. */
  get clusterName(): string | undefined {
    return this.hubCluster;
  }

  /** Resolves once the hub's view has arrived (at once for an override or an attached discovery). */
  ready(): Promise<void> {
    return this.first;
  }

  /** Starts the first sync without waiting for it (for discovery attached on first use). */
  startSync(): void {
    this.first = this.sync();
    this.first.catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'discovery sync failed'));
  }

  /** Asks the hub for the cluster's current view (done at attach and after each reconnect). */
  async sync(): Promise<void> {
    const client = this.client;
    if (!client) return;
    const heard = new Map<string, HeardChange>();
    this.heardDuringSync.add(heard);
    try {
      await this.syncOnce(client, heard);
    } finally {
      this.heardDuringSync.delete(heard);
    }
  }

  private async syncOnce(client: SwitchboardClient, heard: Map<string, HeardChange>): Promise<void> {
    let reply: Message;
    try {
      reply = await client.request(
        { command: 'DISCOVERY_SYNC' },
        { timeoutMs: this.options.syncTimeoutMs ?? 10_000, match: (m) => m.command === 'DISCOVERY_SNAPSHOT' },
      );
    } catch (err) {
      if (err instanceof SwitchboardError && err.code === 'NOT_FOUND')
        throw new SwitchboardError(
          'UNAVAILABLE',
          `the hub at ${client.address} has no discovery agent (DISCOVERY_SYNC is unknown there): run a Switchboard hub of this version`,
          { cause: err },
        );
      throw err;
    }
    const p = reply.params;
    let parsed: ReturnType<typeof SyncReply.safeParse>;
    try {
      parsed = SyncReply.safeParse({ ...p, snapshots: jsonParam(p.snapshots), policies: jsonParam(p.policies) });
    } catch (err) {
      throw new SwitchboardError(
        'INVALID_MESSAGE',
        `the hub's DISCOVERY_SNAPSHOT does not parse: ${errorMessage(err)}`,
      );
    }
    if (!parsed.success)
      throw new SwitchboardError(
        'INVALID_MESSAGE',
        `the hub's DISCOVERY_SNAPSHOT is not valid: ${describeZod(parsed.error)}`,
      );
    const r = parsed.data;
    this.server = r.server_name ?? reply.sentFrom.server;
    this.hubCluster = r.cluster;
    this.hubPolicies = r.policies;
    this.table.setLocalCluster(r.cluster);
    if (this.synced) this.table.replaceAll(r.snapshots);
    else for (const s of r.snapshots) this.table.apply(s);
    // Pushes and drops that came while the hub answered may be newer than the answer: apply them again.
    for (const change of heard.values()) {
      if (change.snapshot) this.table.apply(change.snapshot);
      else if (change.server !== this.server) this.table.drop(change.server, change.service);
    }
    this.synced = true;
    this.listenToLoads();
  }

  // ---- ClientExtension ------------------------------------------------------------------------

  onMessage(msg: Message): boolean {
    if (msg.command === 'PEERS') {
      try {
        const raw = msg.params.snapshot;
        const snapshot = Snapshot.parse(typeof raw === 'string' ? JSON.parse(raw) : raw);
        this.table.apply(snapshot);
        this.heard({ server: snapshot.server, service: snapshot.service, snapshot });
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'ignored a PEERS push that does not validate');
      }
      this.listenToLoads();
      return true;
    }
    if (msg.command === 'DROPPED') {
      // The hub dropped messages for this client while its queue was full: a PEERS push may be
      // among them, so the view is asked for again (the application may want to know too).
      // One at a time: any local process can send this client DROPPED, and each sync fetches the whole view.
      if (this.synced && this.client && !this.resync) {
        this.log.warn({ count: msg.params.count }, 'the hub dropped messages for this client: syncing peers again');
        this.resync = this.sync()
          .catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'discovery sync failed'))
          .finally(() => {
            this.resync = undefined;
          });
      }
      return false;
    }
    if (msg.command === 'LOADAVG') {
      if (!this.loads.record(msg))
        this.log.debug({ from: msg.sentFrom.server }, 'ignored a LOADAVG that does not validate');
      return false; // the application may follow loads too
    }
    if (msg.command === 'STATUS' && msg.params.status === 'down') {
      const server = msg.params.server_name;
      const service = msg.params.service;
      if (typeof server === 'string' && typeof service === 'string') {
        if (this.server !== undefined && server !== this.server) this.table.drop(server, service);
        this.heard({ server, service });
      }
    }
    return false;
  }

  private heard(change: HeardChange): void {
    if (this.heardDuringSync.size === 0) return;
    const key = `${change.server}\u0000${change.service}`;
    for (const heard of this.heardDuringSync) heard.set(key, change);
  }

  onState(state: ConnectionState): void {
    // After a reconnect (or the register() that makes pushes reach us), ask again: changes in between were not pushed here.
    if (state.status === 'ready' && this.client) {
      // A new connection: the hub no longer sends this one its load; ask again once the view is in.
      if (this.loadWatch) {
        this.loadWatch.clear();
        this.client.send({ command: 'REGISTER_FOR_LOADAVG' });
      }
      this.first
        .then(() => this.sync())
        .catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'discovery re-sync failed'));
    }
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

  /**
   * The peer on the hub with the lowest load (LOADAVG: 1-minute load per processor), ties at
   * random; peers whose hub has not reported come after those that have, and with no load known
   * yet it is a random peer. The first call starts following the hubs' loads (this hub's by
   * REGISTER_FOR_LOADAVG, the others' by LISTEN_LOADAVG; they need a mesh and a registered client).
   */
  getLeastLoadedPeer(kind: string, name: string, endpoint = 'default'): Peer | undefined {
    this.watchLoads();
    const map = this.getPeers(kind, name, endpoint);
    const id = pickLeastLoaded(Object.keys(map), (identity) => this.loads.ofPeer(identity));
    return id === undefined ? undefined : map[id];
  }

  /** A hub's last reported load, if it reported one. */
  hubLoad(hub: string): HubLoad | undefined {
    return this.loads.of(hub);
  }

  /** Starts following hub loads (least-loaded picks); idempotent. */
  watchLoads(): void {
    if (!this.client || this.loadWatch) return;
    this.loadWatch = new Set();
    this.client.send({ command: 'REGISTER_FOR_LOADAVG' });
    this.listenToLoads();
  }

  /** LISTEN_LOADAVG for the hubs with peers here that this client has not asked for yet. */
  private listenToLoads(): void {
    const client = this.client;
    const listened = this.loadWatch;
    if (!client || !listened) return;
    const fresh: string[] = [];
    for (const s of this.table.list()) {
      if (s.server === this.server || listened.has(s.server) || fresh.includes(s.server)) continue;
      if (listened.size + fresh.length >= MAX_LISTENED_HUBS) break;
      fresh.push(s.server);
    }
    if (fresh.length === 0) return;
    for (const hub of fresh) listened.add(hub);
    client.send({ command: 'LISTEN_LOADAVG', params: { ips: fresh.join(',') } });
  }

  /**
   * This target's policy in code: over the hub's per-target policies, under a request's own.
   * Validated now (a bad field throws INVALID_ARGUMENT).
   */
  setPolicy(kind: string, name: string, endpoint: string, policy: PolicyInput): void {
    resolvePolicy(policy);
    this.policies.set(`${checkKind(kind)}/${name}/${endpoint}`, policy);
  }

  /**
   * The policy a request to this target runs with. Layers, later wins (more specific wins; at the
   * same level code wins over the hub): Berlioz's defaults < hub `default` < `options.policy`
   * < hub `<kind>/<name>` < hub `<kind>/<name>/<endpoint>` < `setPolicy` < the request's `policy`.
   */
  policyFor(kind: string, name: string, endpoint = 'default', request?: PolicyInput): RequestPolicy {
    const k = checkKind(kind);
    const h = this.hubPolicies;
    return resolvePolicy(
      h.default,
      this.options.policy,
      h[`${k}/${name}`],
      h[`${k}/${name}/${endpoint}`],
      this.policies.get(`${k}/${name}/${endpoint}`),
      request,
    );
  }

  async requestPeers(
    kind: string,
    name: string,
    endpoint: string,
    options: PeerRequestOptions = {},
  ): Promise<PeerResponse> {
    const k = checkKind(kind);
    await this.first;
    const policy = this.policyFor(k, name, endpoint, options.policy);
    if (policy.balance === 'least-loaded') this.watchLoads();
    return this.requester.request(
      `${k}/${name}/${endpoint}`,
      `${k} "${name}" endpoint "${endpoint}"`,
      () => this.table.get(k, name, endpoint),
      policy,
      options,
    );
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

/** A PEERS push (`snapshot`) or a hub's service gone (STATUS down) heard by the client. */
interface HeardChange {
  server: string;
  service: string;
  snapshot?: Snapshot;
}

/** Discovery on `client` (or on the override when `SWITCHBOARD_PEERS_OVERRIDE` / `options.override` is set). */
export async function attachDiscovery(
  client: SwitchboardClient | undefined,
  options: DiscoveryOptions = {},
): Promise<Discovery> {
  const d = createDiscovery(client, options);
  if (!d.overridden) await d.sync();
  return d;
}

/** Discovery on `client` without waiting for the hub's view (`ready()` says when it is in). */
export function createDiscovery(client: SwitchboardClient | undefined, options: DiscoveryOptions = {}): Discovery {
  const overrideText = options.override ?? process.env[OVERRIDE_ENV];
  if (overrideText !== undefined && overrideText !== '')
    return new Discovery(undefined, options, parseOverride(overrideText));
  if (!client)
    throw new SwitchboardError('INVALID_ARGUMENT', `discovery needs a hub client, or peers in ${OVERRIDE_ENV}`);
  const d = new Discovery(client, options);
  client.use(d);
  return d;
}

/** A parameter holding JSON: text in the text form, the value itself in the JSON form. */
function jsonParam(v: unknown): unknown {
  return typeof v === 'string' ? JSON.parse(v) : v;
}

export type { PeerKind };
