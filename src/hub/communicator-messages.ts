/**
 * The communicator daemon's message set as this hub answers it: the sentences for the messages it
 * does not take from a service connection, PUBLIC_IP's reply, and the hub's fallbacks. The full
 * table (every message of the daemon's definitions, implemented or refused) is CONFORMANCE below;
 * communicator-conformance.test.ts checks it against the vendored definitions
 * (fixtures/communicator/messages.json) and against a running hub.
 */
import type { JsonValue } from '../core/message.js';

/** Commands the hub answers itself when no extension or remote side took them (listed by HELP). */
export const FALLBACK_COMMANDS = ['CLUSTER_STATUS'];

type Refusal = (hasRemote: boolean) => string;

const HUB_LINK =
  (command: string): Refusal =>
  () =>
    `${command} is a hub-to-hub message: hubs exchange it on their mesh links (remote_listen, or the first line on secure_listen), never on a service connection`;

/**
 * Communicator messages sent to the hub that it does not take, each with the sentence the sender
 * gets in `INVALID`. The argument says whether a remote side (mesh, backplane) is attached.
 */
export const COMMUNICATOR_REFUSALS: ReadonlyMap<string, (hasRemote: boolean) => string> = new Map<string, Refusal>([
  ['ACCEPT', HUB_LINK('ACCEPT')],
  ['CONNECT', HUB_LINK('CONNECT')],
  ['DISCONNECT', HUB_LINK('DISCONNECT')],
  ['GOSSIP', HUB_LINK('GOSSIP')],
  ['RECEIVED', HUB_LINK('RECEIVED')],
  ['REFUSE', HUB_LINK('REFUSE')],
  [
    'FORGET',
    (hasRemote: boolean) =>
      hasRemote
        ? "FORGET is not supported by this hub's remote side: it keeps no list of hubs to forget"
        : 'FORGET is not supported without a mesh: this hub has no other hubs to forget (start it with remote_listen and neighbors)',
  ],
  [
    'LOADAVG',
    () =>
      'LOADAVG is taken from other hubs only (over the mesh); to read loads send REGISTER_FOR_LOADAVG (this hub) or LISTEN_LOADAVG ips=... (other hubs) and list LOADAVG in COMMANDS',
  ],
  [
    'BLOCK',
    () =>
      'BLOCK is not supported by the hub: it blocks no addresses itself; BLOCK is for a firewall service (ipwall), so address it to that service (ipwall/BLOCK uri=...). The mesh sends BLOCK to every service that lists it when an address fails its hub login three times',
  ],
  [
    'IPLOCK_GET_STATUS',
    () =>
      'IPLOCK_GET_STATUS is not supported by the hub: it has no firewall of its own; address it to the firewall service (ipwall/IPLOCK_GET_STATUS)',
  ],
  [
    'IPLOCK_CURRENT_STATUS',
    () =>
      "IPLOCK_CURRENT_STATUS is not supported by the hub: it is the firewall service's answer to IPLOCK_GET_STATUS, which the hub never asks",
  ],
]);

/** `cds://user:***@10.0.0.5:4043` -> `10.0.0.5:4043` (the communicator's form); undefined when it does not parse. */
function hostPort(url: string): string | undefined {
  try {
    const host = new URL(url).host;
    return host === '' ? undefined : host;
  } catch {
    return undefined;
  }
}

/**
 * SERVER_PUBLIC_IP: `public_ip` is the plain hub-link listener (the mesh's `cd://` remote_listen),
 * `secure_ip` the TLS listener (the hub's secure_listen, else the mesh's `cds://` one), each as
 * `ip:port` with the ports actually bound. Both are always present (the definition requires them);
 * an empty value says this hub has no such listener.
 */
export function publicAddressParams(
  hubListeners: readonly { readonly kind: string; readonly url: string }[],
  meshListeners: readonly string[],
): Record<string, JsonValue> {
  const plain = meshListeners.find((u) => u.startsWith('cd://'));
  const secure =
    hubListeners.find((a) => a.kind === 'secure')?.url ?? meshListeners.find((u) => u.startsWith('cds://'));
  return {
    public_ip: (plain && hostPort(plain)) ?? '',
    secure_ip: (secure && hostPort(secure)) ?? '',
  };
}

// ---- the conformance table -------------------------------------------------------------------

/**
 * How this hub honours one message of the communicator's definitions.
 * - `status`: `implemented` (the hub or its mesh takes and/or sends it with its parameters) or
 *   `refused` (never taken: a service that sends it gets INVALID with a sentence).
 * - `fromService`: what a service connection gets when it sends the message to the hub: `handled`,
 *   `notice` (taken, never answered: replies and notices, so nobody ping-pongs), `refused`
 *   (INVALID with the sentence of COMMUNICATOR_REFUSALS).
 * - `sent`: whether the hub sends it, to its services, to other hubs, or both.
 * - `optional`: every optional parameter of the definition, with where it is read or why it needs
 *   no reading.
 */
export interface MessageConformance {
  readonly status: 'implemented' | 'refused';
  readonly fromService: 'handled' | 'notice' | 'refused';
  readonly sent?: 'services' | 'hubs' | 'services and hubs';
  readonly optional: Readonly<Record<string, string>>;
  /** One line for the docs (PROTOCOL.md's table is made from these). */
  readonly how: string;
}

const NOTICE = 'a notice: taken, never answered';
const FROM_LINK_STATE = 'read; the cluster picture comes from the link-state flood (LINK_STATE)';

export const CONFORMANCE: Readonly<Record<string, MessageConformance>> = {
  ACCEPT: {
    status: 'implemented',
    fromService: 'refused',
    sent: 'hubs',
    optional: { services: FROM_LINK_STATE, heard_of: FROM_LINK_STATE, neighbors: FROM_LINK_STATE },
    how: 'the mesh answers a CONNECT it takes (src/mesh/links.ts)',
  },
  BLOCK: {
    status: 'implemented',
    fromService: 'refused',
    sent: 'services and hubs',
    optional: { period: 'sent: the mesh block time', profile: 'sent: system-login-attempts', reason: 'sent' },
    how: 'the mesh sends it to every service listing BLOCK when an address fails its hub login three times; the hub blocks nothing on request',
  },
  CLOCK_STABLE: {
    status: 'implemented',
    fromService: 'notice',
    sent: 'services',
    optional: { clock_resolution: 'sent: verified or no_ntp' },
    how: 'answers CLOCK_STATUS (clock-status.ts)',
  },
  CLOCK_STATUS: {
    status: 'implemented',
    fromService: 'handled',
    optional: {},
    how: 'CLOCK_STABLE or CLOCK_UNSTABLE from timedatectl, chronyc or ntpstat',
  },
  CLOCK_UNSTABLE: {
    status: 'implemented',
    fromService: 'notice',
    sent: 'services',
    optional: {},
    how: 'answers CLOCK_STATUS: checking (not synchronised yet) or invalid (no tool could tell)',
  },
  CLUSTER_COMPLETE: {
    status: 'implemented',
    fromService: 'notice',
    sent: 'services',
    optional: {},
    how: 'the mesh, on a change and to CLUSTER_STATUS; a hub without a mesh is a complete cluster of one',
  },
  CLUSTER_DOWN: {
    status: 'implemented',
    fromService: 'notice',
    sent: 'services',
    optional: {},
    how: 'the mesh, when fewer than a quorum of the known hubs are reachable',
  },
  CLUSTER_INCOMPLETE: {
    status: 'implemented',
    fromService: 'notice',
    sent: 'services',
    optional: {},
    how: 'the mesh, while a known hub is unreachable',
  },
  CLUSTER_STATUS: {
    status: 'implemented',
    fromService: 'handled',
    optional: {},
    how: 'the mesh or backplane answers; without one, CLUSTER_UP and CLUSTER_COMPLETE with neighbors_count=1',
  },
  CLUSTER_UP: {
    status: 'implemented',
    fromService: 'notice',
    sent: 'services',
    optional: {},
    how: 'the mesh, when a quorum of the known hubs is reachable; a hub without a mesh is up',
  },
  CONNECT: {
    status: 'implemented',
    fromService: 'refused',
    sent: 'hubs',
    optional: {
      username: 'checked on TLS links (cds://user:pass@)',
      password: 'checked on TLS links; three failures block the address',
      services: FROM_LINK_STATE,
      heard_of: FROM_LINK_STATE,
      neighbors: FROM_LINK_STATE,
    },
    how: 'the mesh dials neighbors with a smaller address with it',
  },
  DISCONNECT: {
    status: 'implemented',
    fromService: 'refused',
    sent: 'hubs',
    optional: {},
    how: 'the mesh says it to its links when the hub stops; taken from a link, its close is not a HANGUP',
  },
  DISCONNECTED: {
    status: 'implemented',
    fromService: 'notice',
    sent: 'services',
    optional: {},
    how: 'the mesh, when a link to a hub closes',
  },
  DISCONNECTING: {
    status: 'implemented',
    fromService: 'notice',
    sent: 'services',
    optional: {},
    how: 'to every connection when the hub stops',
  },
  FORGET: {
    status: 'implemented',
    fromService: 'handled',
    sent: 'hubs',
    optional: {},
    how: 'the mesh drops the hub at that address and passes FORGET on; without a mesh INVALID says there is nothing to forget',
  },
  GOSSIP: {
    status: 'implemented',
    fromService: 'refused',
    sent: 'hubs',
    optional: {
      my_address: 'read: the hub dials it (a GOSSIP without it is dropped and logged)',
      heard_of: FROM_LINK_STATE,
    },
    how: 'the mesh tells a neighbor with a larger address to dial it',
  },
  HANGUP: {
    status: 'implemented',
    fromService: 'notice',
    sent: 'services',
    optional: {},
    how: 'the mesh, when a link closes without DISCONNECT',
  },
  IPLOCK_CURRENT_STATUS: {
    status: 'refused',
    fromService: 'refused',
    optional: { cache: 'refused with the message' },
    how: "the firewall service's answer; the hub has no firewall and never asks",
  },
  IPLOCK_GET_STATUS: {
    status: 'refused',
    fromService: 'refused',
    optional: { cache: 'refused with the message' },
    how: 'for the firewall service (ipwall/IPLOCK_GET_STATUS); the hub has none',
  },
  LISTEN_LOADAVG: {
    status: 'implemented',
    fromService: 'handled',
    optional: {},
    how: 'the mesh asks the named hubs for LOADAVG and hands their readings to services listing LOADAVG',
  },
  LIST_SERVICES: {
    status: 'implemented',
    fromService: 'handled',
    optional: {},
    how: 'SERVICES with every service of the cluster',
  },
  LOADAVG: {
    status: 'implemented',
    fromService: 'refused',
    sent: 'services and hubs',
    optional: {},
    how: 'to REGISTER_FOR_LOADAVG connections and hubs, on a change of 0.1; taken from hubs only',
  },
  NEW_REMOTE_CONNECTION: {
    status: 'implemented',
    fromService: 'notice',
    sent: 'services',
    optional: {},
    how: 'the mesh, when a link to a hub opens',
  },
  PUBLIC_IP: {
    status: 'implemented',
    fromService: 'handled',
    optional: {},
    how: 'SERVER_PUBLIC_IP with the hub-link listeners',
  },
  RECEIVED: {
    status: 'implemented',
    fromService: 'refused',
    sent: 'hubs',
    optional: {},
    how: 'the mesh acknowledges a GOSSIP with it',
  },
  REFUSE: {
    status: 'implemented',
    fromService: 'refused',
    sent: 'hubs',
    optional: {
      conflict: 'sent and read: a hub of that name is already in the cluster',
      shutdown: 'sent and read: the refusing hub is stopping',
    },
    how: 'the mesh refuses a CONNECT (name taken, stopping, too many links)',
  },
  REGISTER: {
    status: 'implemented',
    fromService: 'handled',
    optional: { password: "the identity's token, checked by the trust policy (src/trust)" },
    how: 'HELP then READY; see REGISTER above',
  },
  REGISTER_FOR_LOADAVG: {
    status: 'implemented',
    fromService: 'handled',
    sent: 'hubs',
    optional: {},
    how: "this hub's LOADAVG to the connection (or hub) that asked",
  },
  SERVER_PUBLIC_IP: {
    status: 'implemented',
    fromService: 'notice',
    sent: 'services',
    optional: {},
    how: 'answers PUBLIC_IP (an empty value for a listener the hub lacks)',
  },
  SERVICE_STATUS: {
    status: 'implemented',
    fromService: 'handled',
    optional: {},
    how: 'STATUS for the service',
  },
  SHUTDOWN: {
    status: 'implemented',
    fromService: 'handled',
    sent: 'hubs',
    optional: {},
    how: 'stops every hub of the mesh (this one alone without a mesh)',
  },
  STATUS: {
    status: 'implemented',
    fromService: 'notice',
    sent: 'services',
    optional: {
      cache: NOTICE,
      server: `${NOTICE}; the hub sends server_name (as the communicator does)`,
      up_since: 'sent while up',
      down_since: 'sent while down',
    },
    how: 'on each instance change and to SERVICE_STATUS',
  },
  TRANSMISSION_REPORT: {
    status: 'implemented',
    fromService: 'notice',
    sent: 'services',
    optional: {},
    how: 'to a sender that asked with transmission_report=failure or all',
  },
  UNREACHABLE: {
    status: 'implemented',
    fromService: 'notice',
    sent: 'services',
    optional: {},
    how: 'the mesh, once, when a neighbor cannot be reached',
  },
  UNREGISTER: {
    status: 'implemented',
    fromService: 'handled',
    optional: {},
    how: 'leaves the registry; the connection stays',
  },
  UNREGISTER_FROM_LOADAVG: {
    status: 'implemented',
    fromService: 'handled',
    optional: {},
    how: 'no more LOADAVG to that connection (or hub)',
  },
};

/** The markdown table of CONFORMANCE (PROTOCOL.md carries it; a test keeps the two equal). */
export function conformanceMarkdown(): string {
  const rows = Object.entries(CONFORMANCE).map(
    ([name, c]) =>
      `| \`${name}\` | ${c.status} | ${c.fromService} | ${c.sent ?? '-'} | ${c.how.replace(/\|/g, '\\|')} |`,
  );
  return ['| message | status | sent to the hub | the hub sends it to | how |', '|---|---|---|---|---|', ...rows].join(
    '\n',
  );
}
