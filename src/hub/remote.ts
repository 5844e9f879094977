/**
 * The seam between one hub and its remote side: the mesh (src/mesh) or the NATS backplane
 * (src/backplane). The hub offers `HubPort` (part of HubContext, what every extension gets); the
 * remote side implements `RemoteHooks`, which the hub calls when a message leaves its own
 * services. Neither side knows the other's internals, and this file is the only place the
 * contract is written.
 */
import type { ClusterCommandGuard } from '../trust/cluster-commands.js';
import type { Channel } from '../core/channel.js';
import type { Message } from '../core/message.js';
import type { MeshStatus } from '../core/protocol/index.js';

/** What the remote side decided about a message no local service took. */
export type RemoteOutcome = 'forwarded' | 'cached' | 'failed' | 'not-remote';

/** A service on another hub of the cluster. */
export interface RemoteServiceEntry {
  hub: string;
  name: string;
  /** Epoch seconds. */
  since: number;
  /** Hubs between here and there (1 = a neighbor). */
  distance: number;
}

export interface RemoteHooks {
  /**
   * Unicast to a service that is not on this hub (or to another hub by name). `not-remote` means
   * no hub of the cluster has or had it: the hub applies its own rules.
   */
  route(msg: Message): RemoteOutcome;
  /** A `*` or `?` broadcast from a local service, after the hub delivered it locally. */
  broadcast(msg: Message): void;
  /**
   * A command addressed to the hub itself that the hub does not handle (CLUSTER_STATUS, FORGET,
   * SHUTDOWN, ...). Replies go to the sender through `deliverLocal` (so the sender must be
   * registered). False when the remote side does not know the command either.
   */
  handleCommand(msg: Message): boolean;
  /** The hub's service table changed (register, unregister). */
  servicesChanged(): void;
  /** Services on other hubs of the cluster. */
  remoteServices(): RemoteServiceEntry[];
  /** Links, neighbors and the cluster graph as one object (MESH_STATUS, the dashboard's Network page). */
  status(): MeshStatus;
  /**
   * Keeps a message for a service that is not connected (the `cache=` rules allow it) somewhere it
   * outlives this hub (the backplane's JetStream). `knownHere`: this hub knows the service. False:
   * not taken, the hub applies its own rules (its in-memory cache for a known service).
   */
  hold?(msg: Message, ttlSeconds: number, knownHere: boolean): boolean;
  /** Hub STOP: tell neighbors DISCONNECT and close every link. */
  stop(): Promise<void>;
  /** The remote side's own listeners (`cd://ip:port`, `cds://ip:port`), for PUBLIC_IP. */
  listenUrls?(): string[];
  /** A connection on the hub's own TLS listener whose first line is CONNECT or GOSSIP: a hub link the mesh takes over. */
  acceptLink?(channel: Channel, first: Message): void;
  /** Calls `listener` when links or the cluster graph change (the dashboard's live Network page); returns the remover. */
  onChange?(listener: () => void): () => void;
}

export interface LocalServiceSummary {
  name: string;
  /** Epoch seconds the service registered. */
  since: number;
}

/** What the remote side needs of the hub (HubContext offers it to every extension). */
export interface HubPort {
  readonly serverName: string;
  /** Services registered on this hub now. */
  localServices(): LocalServiceSummary[];
  /**
   * A message from the cluster addressed to this hub: deliver to the local service, or apply the
   * hub's cache rules (cache for a known-but-absent service, SERVICE_UNAVAILABLE,
   * TRANSMISSION_REPORT). Broadcast services (`*`, `?`) go to every local service that
   * understands the command.
   */
  deliverLocal(msg: Message): void;
  /** Tells every local service that understands `msg.command` (hub notifications: STATUS, CLUSTER_UP, ...). */
  notifyLocal(msg: Message): void;
  /** Stops this hub (a SHUTDOWN came from the cluster). */
  requestStop(reason: string): void;
  /**
   * Checks SHUTDOWN and FORGET that arrive from other hubs (src/trust/cluster-commands.ts);
   * absent in unit fakes, where every one is obeyed.
   */
  readonly clusterCommands?: ClusterCommandGuard;
}
