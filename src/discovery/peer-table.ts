/**
 * The client's cache of the registry: the latest snapshot per (hub, service), the peer maps
 * derived from them (computed once per change, then served from memory), and monitors that hear
 * of a map only when it really changed (Berlioz's rule: a deep-equal value notifies nobody).
 */
import { isDeepStrictEqual } from 'node:util';
import { isResource, type Override, type Peer, type PeerKind, type PeerMap, type Snapshot } from './schema.js';

export type MonitorCallback = (peers: PeerMap) => void;

interface Monitor {
  kind: PeerKind;
  name: string;
  endpoint: string;
  last: PeerMap;
  callbacks: Set<MonitorCallback>;
}

export class PeerTable {
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly maps = new Map<string, PeerMap>();
  private readonly monitors = new Map<string, Monitor>();
  /** The reader's cluster (its hub's `cluster_name`): kinds service, database and queue stay inside it. */
  private localCluster: string | undefined;

  constructor(
    private readonly override?: Override,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Applies a snapshot unless an equal-or-newer one from the same hub is already here. True when applied. */
  apply(s: Snapshot): boolean {
    const key = `${s.server}\u0000${s.service}`;
    const cur = this.snapshots.get(key);
    if (cur && (cur.gen > s.gen || (cur.gen === s.gen && cur.seq >= s.seq))) return false;
    if (s.instances.length === 0) this.snapshots.delete(key);
    else this.snapshots.set(key, s);
    this.changed();
    return true;
  }

  /** A hub lost a service (the mesh says it is down there): forget that hub's snapshot. */
  drop(server: string, service: string): void {
    if (this.snapshots.delete(`${server}\u0000${service}`)) this.changed();
  }

  /** Forgets every snapshot (before a full re-sync). */
  replaceAll(list: Snapshot[]): void {
    this.snapshots.clear();
    for (const s of list) {
      const key = `${s.server}\u0000${s.service}`;
      const cur = this.snapshots.get(key);
      if (!cur || cur.gen < s.gen || (cur.gen === s.gen && cur.seq < s.seq)) this.snapshots.set(key, s);
    }
    this.changed();
  }

  setLocalCluster(cluster: string | undefined): void {
    if (cluster === this.localCluster) return;
    this.localCluster = cluster;
    this.changed();
  }

  list(): Snapshot[] {
    return [...this.snapshots.values()];
  }

  get(kind: PeerKind, name: string, endpoint: string): PeerMap {
    const key = `${kind}\u0000${name}\u0000${endpoint}`;
    let map = this.maps.get(key);
    if (!map) {
      map = Object.freeze(this.compute(kind, name, endpoint)) as PeerMap;
      this.maps.set(key, map);
    }
    return map;
  }

  monitor(kind: PeerKind, name: string, endpoint: string, cb: MonitorCallback): () => void {
    const key = `${kind}\u0000${name}\u0000${endpoint}`;
    let m = this.monitors.get(key);
    if (!m) {
      m = { kind, name, endpoint, last: this.get(kind, name, endpoint), callbacks: new Set() };
      this.monitors.set(key, m);
    }
    const mon = m;
    const wrapped: MonitorCallback = (p) => cb(p);
    mon.callbacks.add(wrapped);
    this.call(wrapped, mon.last);
    return () => {
      mon.callbacks.delete(wrapped);
      if (mon.callbacks.size === 0) this.monitors.delete(key);
    };
  }

  private changed(): void {
    this.maps.clear();
    for (const m of this.monitors.values()) {
      const next = this.get(m.kind, m.name, m.endpoint);
      if (isDeepStrictEqual(next, m.last)) continue;
      m.last = next;
      for (const cb of [...m.callbacks]) this.call(cb, next);
    }
  }

  private call(cb: MonitorCallback, map: PeerMap): void {
    try {
      cb(map);
    } catch (err) {
      this.onError(err);
    }
  }

  private compute(kind: PeerKind, name: string, endpoint: string): PeerMap {
    if (this.override) return { ...(this.override[kind]?.[name]?.[endpoint] ?? {}) } as PeerMap;
    const out: PeerMap = {};
    // Sorted so that a map's key order does not depend on arrival order.
    const snaps = [...this.snapshots.values()].sort((a, b) => (a.server + a.service < b.server + b.service ? -1 : 1));
    for (const s of snaps) {
      // Kind cluster reads what other clusters expose; every other kind stays inside the reader's cluster.
      if (kind === 'cluster' ? s.cluster !== name || s.exposes === undefined : s.cluster !== this.localCluster)
        continue;
      const wanted = kind === 'cluster' ? s.exposes?.[endpoint] : endpoint;
      if (wanted === undefined) continue;
      for (const inst of s.instances) {
        const identity = `${s.server}/${s.service}#${inst.instance}`;
        for (const item of inst.endpoints) {
          if (isResource(item)) {
            if (item.kind === kind && item.name === name)
              out[identity] = {
                ...item.info,
                kind: item.kind,
                server: s.server,
                service: s.service,
                instance: inst.instance,
              } as unknown as Peer;
            continue;
          }
          const matches =
            kind === 'service'
              ? s.service === name && item.name === wanted
              : kind === 'cluster' && item.name === wanted;
          if (!matches) continue;
          const { name: _n, address, ...rest } = item;
          out[identity] = {
            ...rest,
            address: address ?? inst.host,
            server: s.server,
            service: s.service,
            instance: inst.instance,
            ...(kind === 'cluster' ? { cluster: s.cluster } : {}),
          } as Peer;
        }
      }
    }
    return out;
  }
}
