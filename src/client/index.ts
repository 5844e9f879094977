/**
 * `import { connect } from 'switchboard'`: the client library.
 *
 *   const hub = await connect();                       // SWITCHBOARD_ADDRESS or cd://127.0.0.1:4040
 *   await hub.register('clock', { commands: ['TIME'] });
 *   hub.on('TIME', () => ({ command: 'NOW', params: { epoch: Date.now() } }));
 *   const reply = await hub.message('TIME').to('clock').request({ timeoutMs: 1000 });
 *   hub.getPeers('service', 'app');                    // discovery, attached on first use
 */
import { PeersClient } from '../discovery/peers-client.js';
import { resolveAddress, resolveOptions, type ClientOptions } from './options.js';

/** A connected client; discovery (`getPeers`, `monitorPeers`, `service(name)`, ...) is attached on first use. */
export async function connect(url?: string, options: ClientOptions = {}): Promise<PeersClient> {
  const client = new PeersClient(resolveAddress(url), resolveOptions(options));
  return client.start();
}

export { SwitchboardClient, type ClientExtension } from './client.js';
export { MessageBuilder, cacheParam, type BroadcastScope, type CachePolicy } from './builder.js';
export { COMMUNICATOR_BACKOFF_MS } from './backoff.js';
export { CORRELATION_PARAM } from './correlation.js';
export { DEFAULT_ADDRESS, type ClientOptions } from './options.js';
export type { DropPolicy } from './outbound-queue.js';
export { parseServiceList, type ServiceEntry, type ServiceInstance } from './service-list.js';
export type { Disposable } from './disposable.js';
export type {
  ClientStats,
  ConnectionState,
  Destination,
  Handler,
  HandlerContext,
  OutgoingMessage,
  Params,
  RegisterOptions,
  Registration,
  ReplyInit,
  RequestOptions,
  ServiceStatus,
} from './types.js';
export type { Message, Endpoint, JsonValue } from '../core/message.js';
export { SwitchboardError, TimeoutError, ConnectionError, InvalidArgumentError } from '../core/errors.js';
// Discovery (issue #4): the calls on the client above, and the same API as a separate object.
export { PeersClient } from '../discovery/peers-client.js';
export {
  Discovery,
  attachDiscovery,
  Target,
  PeerRequestError,
  KINDS,
  OVERRIDE_ENV,
  type DiscoveryOptions,
  type PeerRequestOptions,
  type PeerResponse,
  type PolicyInput,
  type RequestPolicy,
  type Peer,
  type PeerKind,
  type PeerMap,
} from '../discovery/index.js';
