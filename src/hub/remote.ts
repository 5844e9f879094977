/**
 * Where other hubs plug in. The mesh (src/mesh) implements `RemoteHooks`; the hub calls it for
 * what its own services cannot take. The shapes match src/mesh/hub-port.ts (`MeshHooks`,
 * `HubPort`) structurally, so either side can be read without the other.
 */
import type { Channel } from '../core/channel.js';
import type { Message } from '../core/message.js';

/** What the remote side decided about a message no local service took. */
export type RemoteOutcome = 'forwarded' | 'cached' | 'failed' | 'not-remote';

export interface RemoteServiceEntry {
  hub: string;
  name: string;
  /** Epoch seconds. */
  since: number;
  distance: number;
}

export interface RemoteHooks {
  /** A unicast no local instance took; `not-remote` = no other hub has or had it. */
  route(msg: Message): RemoteOutcome;
  /** A `*` or `?` broadcast from a local connection, after local delivery. */
  broadcast(msg: Message): void;
  /** A command to the hub the hub does not handle itself; false when unknown here too. */
  handleCommand(msg: Message): boolean;
  /** Local services changed (register/unregister). */
  servicesChanged(): void;
  remoteServices(): RemoteServiceEntry[];
  /**
   * Keeps a message for a service that is not connected (the `cache=` rules allow it) somewhere it
   * outlives this hub (the backplane's JetStream). `knownHere`: this hub knows the service. False:
   * not taken, the hub applies its own rules (its in-memory cache for a known service).
   */
  hold?(msg: Message, ttlSeconds: number, knownHere: boolean): boolean;
  /** STOP: say DISCONNECT to neighbors and close links. */
  stop(): Promise<void>;
  /** The remote side's own listeners (`cd://ip:port`, `cds://ip:port`), for PUBLIC_IP. */
  listenUrls?(): string[];
  /** A connection on the hub's TLS listener whose first line is CONNECT or GOSSIP: a hub link the mesh takes over. */
  acceptLink?(channel: Channel, first: Message): void;
  /** Calls `listener` when links or the cluster graph change (the dashboard's live Network page); returns the remover. */
  onChange?(listener: () => void): () => void;
}

export interface LocalServiceSummary {
  name: string;
  /** Epoch seconds. */
  since: number;
}

/** What the hub offers to the remote side (the mesh's `HubPort`). */
export interface HubPortLike {
  readonly serverName: string;
  localServices(): LocalServiceSummary[];
  deliverLocal(msg: Message): void;
  notifyLocal(msg: Message): void;
  requestStop(reason: string): void;
}
