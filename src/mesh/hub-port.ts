/**
 * The narrow seam between one hub and the mesh. The hub implements `HubPort` (what the mesh needs
 * from it); the mesh implements `MeshHooks` (what the hub calls when a message leaves its own
 * services). Neither side knows the other's internals.
 */
import type { Channel } from '../core/channel.js';
import type { Message } from '../core/message.js';

export interface LocalServiceInfo {
  name: string;
  /** Epoch seconds the service registered. */
  since: number;
}

export interface HubPort {
  readonly serverName: string;
  /** Services registered on this hub now. */
  localServices(): LocalServiceInfo[];
  /**
   * A message from the mesh addressed to this hub: deliver to the local service, or apply the
   * hub's cache rules (cache for a known-but-absent service, SERVICE_UNAVAILABLE,
   * TRANSMISSION_REPORT). Broadcast services (`*`, `?`) go to every local service that
   * understands the command.
   */
  deliverLocal(msg: Message): void;
  /** Tells every local service that understands `msg.command` (hub notifications: STATUS, CLUSTER_UP, ...). */
  notifyLocal(msg: Message): void;
  /** Stops this hub (a SHUTDOWN came from the cluster). */
  requestStop(reason: string): void;
}

/** What the mesh decided about a message the hub could not deliver to a local service. */
export type RouteOutcome = 'forwarded' | 'cached' | 'failed' | 'not-remote';

export interface RemoteServiceInfo {
  hub: string;
  name: string;
  since: number;
  /** Hubs between here and there (1 = a neighbor). */
  distance: number;
}

export interface MeshHooks {
  /**
   * Unicast to a service that is not on this hub (or to another hub by name). `not-remote` means
   * no hub of the cluster has or had it: the hub applies its own rules.
   */
  route(msg: Message): RouteOutcome;
  /** A `*` or `?` broadcast from a local service, after the hub delivered it locally. */
  broadcast(msg: Message): void;
  /**
   * A command addressed to the hub itself that the hub does not handle (CLUSTER_STATUS, FORGET,
   * SHUTDOWN, MESH_STATUS, ...). Replies go to the sender through `deliverLocal` (so the sender
   * must be registered). False when the mesh does not know the command either.
   */
  handleCommand(msg: Message): boolean;
  /** The hub's service table changed (register, unregister). */
  servicesChanged(): void;
  /** Services on other hubs of the cluster. */
  remoteServices(): RemoteServiceInfo[];
  /** Hub STOP: tell neighbors DISCONNECT and close every link. */
  stop(): Promise<void>;
  /** A connection on the hub's own TLS listener whose first line is CONNECT or GOSSIP. */
  acceptLink(channel: Channel, first: Message): void;
}
