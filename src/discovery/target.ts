/** The fluent form: `discovery.service('app').random()`, `.leastLoaded()`, `.monitorFirst(cb)`, `.request({...})`. */
import { isDeepStrictEqual } from 'node:util';
import type { PeerRequestOptions, PeerResponse } from './http-request.js';
import type { Peer, PeerKind, PeerMap } from './schema.js';

/** Where a target reads its peers (the client's Discovery). */
export interface PeerSource {
  getPeers(kind: string, name: string, endpoint: string): PeerMap;
  getRandomPeer(kind: string, name: string, endpoint: string): Peer | undefined;
  getLeastLoadedPeer(kind: string, name: string, endpoint: string): Peer | undefined;
  monitorPeers(kind: string, name: string, endpoint: string, cb: (peers: PeerMap) => void): () => void;
  requestPeers(kind: string, name: string, endpoint: string, options: PeerRequestOptions): Promise<PeerResponse>;
}

export class Target {
  constructor(
    private readonly d: PeerSource,
    readonly kind: PeerKind,
    readonly name: string,
    readonly endpoint: string,
  ) {}

  all(): PeerMap {
    return this.d.getPeers(this.kind, this.name, this.endpoint);
  }

  /** The peer with the smallest identity (stable while it lives). */
  first(): Peer | undefined {
    return firstOf(this.all())?.[1];
  }

  random(): Peer | undefined {
    return this.d.getRandomPeer(this.kind, this.name, this.endpoint);
  }

  /** The peer on the hub with the lowest load (LOADAVG); random until loads are known. */
  leastLoaded(): Peer | undefined {
    return this.d.getLeastLoadedPeer(this.kind, this.name, this.endpoint);
  }

  monitorAll(cb: (peers: PeerMap) => void): () => void {
    return this.d.monitorPeers(this.kind, this.name, this.endpoint, cb);
  }

  /** `cb(peer | undefined)` now, then whenever the first peer changes. */
  monitorFirst(cb: (peer: Peer | undefined) => void): () => void {
    let last: [string, Peer] | undefined | null = null;
    return this.d.monitorPeers(this.kind, this.name, this.endpoint, (map) => {
      const next = firstOf(map);
      if (last !== null && isDeepStrictEqual(next, last)) return;
      last = next;
      cb(next?.[1]);
    });
  }

  request(options: PeerRequestOptions = {}): Promise<PeerResponse> {
    return this.d.requestPeers(this.kind, this.name, this.endpoint, options);
  }
}

function firstOf(map: PeerMap): [string, Peer] | undefined {
  const id = Object.keys(map).sort()[0];
  return id === undefined ? undefined : [id, map[id]!];
}
