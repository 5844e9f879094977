/**
 * What `connect()` from the package root returns: the hub client plus Berlioz's discovery calls.
 * Discovery is attached on first use only (a client that never asks for peers carries nothing),
 * so the core client class knows nothing of it.
 *
 *   const hub = await connect();
 *   await hub.register('web');                  // pushes reach registered connections
 *   await hub.peersReady();                     // the hub's view is in (optional)
 *   hub.getPeers('service', 'app');             // from the local cache
 *   await hub.service('app').request({ path: '/health' });
 */
import { SwitchboardClient } from '../client/client.js';
import type { PolicyInput } from './schema.js';
import { createDiscovery, type Discovery, type DiscoveryOptions } from './discovery.js';
import type { MonitorCallback } from './peer-table.js';
import type { Peer, PeerMap } from './schema.js';
import type { Target } from './target.js';

export class PeersClient extends SwitchboardClient {
  private attached: Discovery | undefined;
  private discoveryOptions: DiscoveryOptions = {};

  /**
   * Options for discovery (client-wide request policy, override, sync timeout): call before the
   * first discovery call, which attaches it.
   */
  configureDiscovery(options: DiscoveryOptions): this {
    this.discoveryOptions = { ...options };
    return this;
  }

  /** The discovery client on this connection (attached now if it was not yet; the first sync runs in the background). */
  get discovery(): Discovery {
    if (!this.attached) {
      const d = createDiscovery(this, this.discoveryOptions);
      d.startSync();
      this.attached = d;
    }
    return this.attached;
  }

  /** Resolves once the hub's view of the cluster is in (rejects when the hub has no discovery agent). */
  async peersReady(): Promise<Discovery> {
    const d = this.discovery;
    await d.ready();
    return d;
  }

  getPeers(kind: string, name: string, endpoint = 'default'): PeerMap {
    return this.discovery.getPeers(kind, name, endpoint);
  }

  /** `cb` at once with the current map (empty until the first sync is in), then on every real change. */
  monitorPeers(kind: string, name: string, endpoint: string, cb: MonitorCallback): () => void {
    return this.discovery.monitorPeers(kind, name, endpoint, cb);
  }

  getRandomPeer(kind: string, name: string, endpoint = 'default'): Peer | undefined {
    return this.discovery.getRandomPeer(kind, name, endpoint);
  }

  /** The peer on the least-loaded hub (see Discovery.getLeastLoadedPeer). */
  getLeastLoadedPeer(kind: string, name: string, endpoint = 'default'): Peer | undefined {
    return this.discovery.getLeastLoadedPeer(kind, name, endpoint);
  }

  setPeerPolicy(kind: string, name: string, endpoint: string, policy: PolicyInput): void {
    this.discovery.setPolicy(kind, name, endpoint, policy);
  }

  service(name: string, endpoint = 'default'): Target {
    return this.discovery.service(name, endpoint);
  }

  cluster(name: string, endpoint = 'default'): Target {
    return this.discovery.cluster(name, endpoint);
  }

  database(name: string): Target {
    return this.discovery.database(name);
  }

  // queue(name) is `hub.discovery.queue(name)`: the client class already has a (private) `queue`.
}
