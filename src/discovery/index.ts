/** Discovery: peers from the hub registry, monitors, and resilient HTTP requests. */
export { Discovery, attachDiscovery, createDiscovery, type DiscoveryOptions } from './discovery.js';
export { PeersClient } from './peers-client.js';
export { Target } from './target.js';
export {
  PeerRequestError,
  RequestPolicy,
  resolvePolicy,
  type PeerRequestOptions,
  type PeerResponse,
  type PolicyInput,
} from './http-request.js';
export {
  KINDS,
  OVERRIDE_ENV,
  parseAdvertisement,
  parseOverride,
  PolicyTable,
  type Advertisement,
  type Peer,
  type PeerKind,
  type PeerMap,
} from './schema.js';
export { childTraceparent, withTraceparent } from './trace.js';
