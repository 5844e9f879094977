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
