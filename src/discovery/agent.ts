/**
 * The discovery agent: one per hub, started with the hub (a hub extension), dormant until
 * discovery is used there (a client asks DISCOVERY_SYNC, or an instance registers with
 * `endpoints`), so hubs that never use discovery carry no extra service.
 *
 * Once awake it registers as service `discovery` on its hub and
 * - broadcasts `PEERS snapshot=<JSON>` to `*` (this hub and, through the mesh, every hub) on each
 *   change of a local service: the full list of that service's instances here, with a counter so
 *   receivers drop stale copies;
 * - answers other agents' `PEERS_SYNC` broadcasts with its local snapshots, and sends one itself
 *   when it wakes, so it holds the whole cluster's view; answers that come after a client synced
 *   are passed on to this hub's clients as PEERS (they reach this agent only);
 * - answers `DISCOVERY_SYNC` (a command to the hub) with that whole view, once it has read what
 *   the hub queued for it before the request (`caughtUp`): clients start from it and follow the
 *   PEERS broadcasts after. A client that understands PEERS before it asks misses nothing: an
 *   update routed before its request is in the answer, one routed after is pushed to it.
 */
import { errorMessage } from '../core/errors.js';
import type { JsonValue } from '../core/message.js';
import { getLogger } from '../core/log.js';
import type { SwitchboardClient } from '../client/index.js';
import type { HubConfig } from '../hub/config.js';
import type { HubContext, HubExtension } from '../hub/context.js';
import type { InstanceRecord } from '../hub/service-catalog.js';
import { PeerTable } from './peer-table.js';
import {
  SnapshotList,
  Snapshot,
  checkAdvertisement,
  discoveryConfigSection,
  parseAdvertisement,
  type DiscoveryConfig,
} from './schema.js';

export const AGENT_SERVICE = 'discovery';
/** How long a waking agent waits for the other agents' snapshots before answering. */
const SYNC_WAIT_MS = 1000;
/** How long a DISCOVERY_SYNC waits for the agent to read what its hub queued for it (a loopback round trip). */
const CATCH_UP_MS = 5000;

export class DiscoveryAgent {
  private readonly log = getLogger('discovery');
  private readonly gen: number;
  private seq = 0;
  private readonly table = new PeerTable();
  private waking: Promise<void> | undefined;
  /** Serial of the last catch-up (ALIVE) sent to the hub. */
  private catchUps = 0;
  /** A DISCOVERY_SYNC was answered: from now on a client may hold a view this agent has to keep current. */
  private answered = false;
  private client: SwitchboardClient | undefined;
  private stopped = false;
  private readonly offChange: () => void;
  private readonly offCommand: () => void;
  private readonly config: DiscoverySettings;

  constructor(
    private readonly hub: HubContext,
    settings: Pick<HubConfig, 'clusterName' | 'discovery'>,
    private readonly url: string,
  ) {
    this.config = {
      clusterName: settings.clusterName,
      discovery: discoveryConfigSection(settings.discovery, settings),
    };
    this.gen = hub.startedAt;
    this.offChange = hub.services.onChange(({ instance }) => this.onLocalChange(instance));
    this.offCommand = hub.addCommand('DISCOVERY_SYNC', (_msg, reply) => {
      this.wake()
        .then(() => this.caughtUp())
        .then(
          () => {
            this.answered = true;
            reply('DISCOVERY_SNAPSHOT', this.syncReply());
          },
          (err: unknown) =>
            reply('INVALID', {
              command: 'DISCOVERY_SYNC',
              message: `discovery is unavailable on this hub: ${errorMessage(err)}`,
            }),
        );
    });
  }

  /**
   * Resolves once this agent has read everything its hub had written to it when called. The hub
   * hands remote PEERS to the agent over a connection like any other, so when a client asks, an
   * update may sit unread there; if the client registered after the hub routed that update, the
   * answer is its only way to learn of it. The hub answers ALIVE on the same connection behind
   * what it queued before, so the answer computed after ABSOLUTELY carries it. A failed catch-up
   * (the agent's connection is down) still answers with the view it has.
   */
  private async caughtUp(): Promise<void> {
    const client = this.client;
    if (!client) return;
    const serial = String(++this.catchUps);
    try {
      await client.request(
        { command: 'ALIVE', params: { serial } },
        {
          timeoutMs: CATCH_UP_MS,
          match: (m) => m.command === 'ABSOLUTELY' && String(m.params.serial) === serial,
        },
      );
    } catch (err) {
      this.log.warn(
        { err: errorMessage(err) },
        'discovery agent did not catch up with its hub; answering with its view',
      );
    }
  }

  /**
   * The answer to DISCOVERY_SYNC: the whole view, this hub's cluster name and the request policies
   * of its configuration (`discovery.policies`), which the client layers under its own.
   */
  private syncReply(): Record<string, JsonValue> {
    const reply: Record<string, JsonValue> = {
      server_name: this.hub.serverName,
      snapshots: JSON.stringify(this.table.list()),
      policies: JSON.stringify(this.config.discovery.policies),
    };
    if (this.config.clusterName) reply.cluster = this.config.clusterName;
    return reply;
  }

  /** Exposed name -> endpoint, for the endpoints of `service` this hub's cluster exposes. */
  private exposesOf(service: string): Record<string, string> | undefined {
    if (!this.config.clusterName) return undefined;
    let out: Record<string, string> | undefined;
    for (const [name, e] of Object.entries(this.config.discovery.expose))
      if (e.service === service) (out ??= {})[name] = e.endpoint;
    return out;
  }

  /** This hub's snapshot of one service (instances that advertise endpoints). */
  localSnapshot(service: string): Snapshot {
    const entry = this.hub.services.get(service);
    const instances: Snapshot['instances'] = [];
    for (const inst of entry?.instances ?? []) {
      if (inst.endpoints === undefined) continue;
      try {
        instances.push({
          instance: inst.instance,
          host: hostOf(inst.connection.channel.remoteAddress),
          endpoints: parseAdvertisement(inst.endpoints, `endpoints of ${inst.id}`),
        });
      } catch (err) {
        this.log.warn(
          { service: inst.id, err: errorMessage(err) },
          'ignored an endpoint advertisement that does not validate',
        );
      }
    }
    const snap: Snapshot = { server: this.hub.serverName, service, gen: this.gen, seq: ++this.seq, instances };
    if (this.config.clusterName) snap.cluster = this.config.clusterName;
    const exposes = this.exposesOf(service);
    if (exposes) snap.exposes = exposes;
    return snap;
  }

  private localSnapshots(): Snapshot[] {
    const out: Snapshot[] = [];
    for (const s of this.hub.services.all()) {
      if (s.name === AGENT_SERVICE) continue;
      const snap = this.localSnapshot(s.name);
      if (snap.instances.length) out.push(snap);
    }
    return out;
  }

  private onLocalChange(inst: InstanceRecord): void {
    if (this.stopped || inst.name === AGENT_SERVICE) return;
    if (!this.client) {
      if (inst.endpoints !== undefined)
        this.wake().catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'discovery agent did not start'));
      return;
    }
    this.publish(this.localSnapshot(inst.name));
  }

  private publish(snap: Snapshot): void {
    this.table.apply(snap);
    this.client?.broadcast('PEERS', { snapshot: JSON.stringify(snap) }, '*');
  }

  private wake(): Promise<void> {
    this.waking ??= this.start();
    return this.waking;
  }

  private async start(): Promise<void> {
    const { connect } = await import('../client/index.js');
    const client = await connect(this.url, { format: 'json', token: this.hub.serviceToken });
    const replied = new Set<string>();
    let onReply: () => void = () => {};
    client.on('PEERS', (msg) => {
      this.take(msg.params.snapshot, false);
    });
    client.on('PEERS_SYNC', () => ({
      command: 'PEERS_SNAPSHOT',
      params: { server_name: this.hub.serverName, snapshots: JSON.stringify(this.localSnapshots()) },
    }));
    client.on('PEERS_SNAPSHOT', (msg) => {
      // An answer to this agent's PEERS_SYNC reaches this agent only: what it changes goes on to
      // this hub's clients, which may have synced before it came (a remote agent slow to answer).
      for (const snap of this.take(msg.params.snapshots, true))
        if (this.answered) client.broadcast('PEERS', { snapshot: JSON.stringify(snap) }, '.');
      replied.add(String(msg.params.server_name ?? msg.sentFrom.server));
      onReply();
    });
    client.onStatus((st) => {
      // A hub the mesh lost takes its services with it.
      if (st.status === 'down' && st.server !== '' && st.server !== this.hub.serverName)
        this.table.drop(st.server, st.service);
    });
    await client.register(AGENT_SERVICE, { commands: ['PEERS', 'PEERS_SYNC', 'PEERS_SNAPSHOT', 'STATUS'] });
    if (this.stopped) {
      client.dispose();
      return;
    }
    this.client = client;
    for (const snap of this.localSnapshots()) this.publish(snap);
    client.broadcast('PEERS_SYNC', {}, '*');
    // Registered again after its link dropped (a slow reader closed, the hub's listener restarted):
    // what the other agents announced meanwhile never reached it, so it asks them again as at waking.
    client.onState((st) => {
      if (st.status !== 'ready' || this.stopped) return;
      for (const snap of this.localSnapshots()) this.publish(snap);
      client.broadcast('PEERS_SYNC', {}, '*');
    });
    const others = (this.hub.remote()?.remoteServices() ?? [])
      .filter((s) => s.name === AGENT_SERVICE)
      .map((s) => s.hub);
    if (others.length === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, SYNC_WAIT_MS);
      onReply = () => {
        if (others.every((h) => replied.has(h))) {
          clearTimeout(timer);
          resolve();
        }
      };
      onReply();
    });
  }

  /** Applies one snapshot (`list` false) or a list of them; returns those that changed the view. */
  private take(value: unknown, list: boolean): Snapshot[] {
    try {
      const data: unknown = typeof value === 'string' ? JSON.parse(value) : value;
      const snaps = list ? SnapshotList.parse(data) : [Snapshot.parse(data)];
      return snaps.filter((s) => this.table.apply(s));
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'ignored a peer snapshot that does not validate');
      return [];
    }
  }

  stop(): void {
    this.stopped = true;
    this.offChange();
    this.offCommand();
    this.client?.dispose();
  }
}

/** `127.0.0.1:5000` / `[::1]:5000` -> the host; anything else (unix, memory) -> loopback. */
export function hostOf(remote: string): string {
  const m = /^\[?([^\]]*?)\]?:\d+$/.exec(remote);
  const host = m?.[1];
  if (!host || host.startsWith('/')) return '127.0.0.1';
  return host.startsWith('::ffff:') ? host.slice(7) : host;
}

/** What the agent takes of the hub's configuration, its `discovery` section parsed. */
interface DiscoverySettings {
  clusterName: string | null;
  discovery: DiscoveryConfig;
}

/**
 * Discovery in a hub: the hub's check of REGISTER's `endpoints=` (the advertisement schema) and the
 * agent that publishes them. Throws INVALID_ARGUMENT naming the field for a bad `discovery` section.
 */
export function discoveryAgent(config: Pick<HubConfig, 'clusterName' | 'discovery'>): HubExtension {
  // Parsed now too, so a bad section stops `switchboard hub` before anything listens.
  const settings: DiscoverySettings = {
    clusterName: config.clusterName,
    discovery: discoveryConfigSection(config.discovery, config),
  };
  return {
    name: 'discovery',
    start: (hub) => {
      const offCheck = hub.checkEndpoints(checkAdvertisement);
      const local = hub.addresses.find((a) => a.kind === 'unix') ?? hub.addresses.find((a) => a.kind === 'local');
      const agent = local ? new DiscoveryAgent(hub, settings, local.url) : undefined;
      return Promise.resolve({
        stop: () => {
          agent?.stop();
          offCheck();
          return Promise.resolve();
        },
      });
    },
  };
}
