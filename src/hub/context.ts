/**
 * What plugs into a running hub, and the one narrow view of the hub it gets. The hub knows no
 * capability: a composition root (src/start) makes the extensions from configuration values (the
 * mesh or the backplane, discovery, and under `switchboard start` the built-in services: sync,
 * dispatch, dashboard) and hands them to `runHub`, which starts them in order after the
 * listeners and stops them in reverse order before closing.
 *
 * Every extension receives a `HubContext`, never the Hub itself: the hub's name and addresses,
 * a read-only view of its services and their changes, commands it may add, a way to send into the
 * hub (deliverLocal, notifyLocal), an in-process connection (a real in-memory channel the hub
 * treats like a local connection: REGISTER, COMMANDS, messages, STATUS; so `switchboard send` and
 * `sniff` work on in-process services like on any other), its counters and its remote side.
 */
import type { Channel } from '../core/channel.js';
import type { JsonValue, Message } from '../core/message.js';
import type { Logger } from '../core/log.js';
import type { TrustPolicy } from '../trust/policy.js';
import type { RefusalLog } from '../trust/refusals.js';
import type { EndpointsCheck } from './commands.js';
import type { ConnectionKind } from './connection.js';
import type { ServicesView } from './service-catalog.js';
import type { HubPort, RemoteHooks } from './remote.js';
import type { MessageTally } from './sniff-tap.js';

export interface HubAddress {
  kind: ConnectionKind;
  url: string;
}

/** Answers the connection that sent a command to the hub (tapped as `sent`, like the hub's own replies). */
export type CommandReply = (command: string, params?: Record<string, JsonValue>) => void;

/** A command an extension adds to the hub itself (a message with no service); `msg.sentFrom` is stamped. */
export type ExtensionCommand = (msg: Message, reply: CommandReply) => void;

/** The hub's counters, read when asked (the dashboard's /metrics). */
export interface HubCounters {
  /** Open connections (stream and UDP peers, in-process ones included). */
  connections: number;
  /** Connections refused at max_connections, datagrams refused, lines that did not decode. */
  faults: Readonly<Record<string, number>>;
  /** Refusals by reason (src/trust). */
  refusals: ReadonlyMap<string, number>;
  /** Queued outbound bytes of every open connection, with the service it registered (if any). */
  queues: { service: string | undefined; bytes: number }[];
}

export interface HubContext extends HubPort {
  readonly log: Logger;
  /** Epoch ms the hub was made (discovery's generation). */
  readonly startedAt: number;
  /** Where the hub listens, with the ports actually bound. */
  readonly addresses: readonly HubAddress[];
  /** Local services, read only, and their changes. */
  readonly services: ServicesView;
  /** Who may do what: the dashboard checks HTTP tokens against the same identities. */
  readonly trust: TrustPolicy;
  readonly refusals: RefusalLog;
  /** The admin token from `token_file` (the dashboard's URL carries it). */
  readonly adminToken: string | undefined;
  /**
   * Proves the hub's own services (they may register reserved names such as `sync`) when a
   * built-in service reaches the hub over a listener: the client's `token`. Lives in memory only.
   */
  readonly serviceToken: string;
  /** Adds a command to the hub itself; built-in ones cannot be replaced. Returns the remover. */
  addCommand(command: string, handler: ExtensionCommand): () => void;
  /** A connection for an in-process service: the returned channel is the service's end. */
  connectInProcess(name?: string): Channel;
  counters(): HubCounters;
  /** Counts every message by command and outcome from now on (a map lookup per message). */
  countMessages(): MessageTally;
  /**
   * Sets the check of REGISTER's `endpoints=` (discovery's advertisement schema; one per hub) and
   * returns its remover. Without one the hub keeps any JSON value as given and refuses other text.
   */
  checkEndpoints(check: EndpointsCheck): () => void;
  /** Plugs in the remote side (the mesh or the backplane); one per hub. */
  attachRemote(remote: RemoteHooks): void;
  /** The remote side, when attached: services elsewhere, its status object, its changes. */
  remote(): RemoteHooks | undefined;
}

export interface ExtensionHandle {
  /** Addresses worth printing at start-up (`dashboard http://127.0.0.1:4080`). */
  readonly addresses?: readonly { name: string; url: string }[];
  stop(): Promise<void>;
}

export interface HubExtension {
  readonly name: string;
  /** Returns undefined when its configuration leaves it off (e.g. no remote_listen). */
  start(hub: HubContext): Promise<ExtensionHandle | undefined>;
}
