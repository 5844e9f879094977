/**
 * The cluster as a graph. Every hub floods a *link state* (its live links and its local service
 * table, versioned by boot epoch + sequence); every hub keeps the newest one per origin and computes
 * shortest paths (fewest hops) over links that both ends report. The route table maps a destination
 * hub to the neighbor to forward through. Pure: no I/O, no timers.
 */

export interface ServiceEntry {
  name: string;
  /** Epoch seconds the service came up on its hub. */
  since: number;
}

export interface LinkState {
  origin: string;
  /** The origin's boot time (ms): a restarted hub's records win over its previous life's. */
  epoch: number;
  seq: number;
  /** The origin's remote address (`ip:port`), for GOSSIP and heard_of. */
  address: string;
  /** Server names of the hubs the origin has a live link with. */
  links: string[];
  services: ServiceEntry[];
}

export interface RouteChange {
  /** Hubs that became reachable / unreachable. */
  up: string[];
  down: string[];
  /** Remote services that appeared / disappeared: `{hub, service}`. */
  servicesUp: { hub: string; service: ServiceEntry }[];
  servicesDown: { hub: string; service: string }[];
  /** True when any next hop changed. */
  routesChanged: boolean;
}

function newer(a: LinkState, b: LinkState): boolean {
  return a.epoch !== b.epoch ? a.epoch > b.epoch : a.seq > b.seq;
}

export class ClusterGraph {
  private states = new Map<string, LinkState>();
  private nextHops = new Map<string, string>();
  private distances = new Map<string, number>();
  private visibleServices = new Map<string, Map<string, ServiceEntry>>();
  private seq = 0;

  constructor(
    readonly self: string,
    readonly epoch: number,
    private address = '',
  ) {}

  /** Replaces this hub's own state; returns it (to flood) and what changed. */
  setLocal(
    links: readonly string[],
    services: readonly ServiceEntry[],
    address = this.address,
  ): { state: LinkState; change: RouteChange } {
    this.address = address;
    const state: LinkState = {
      origin: this.self,
      epoch: this.epoch,
      seq: ++this.seq,
      address,
      links: [...new Set(links)].sort(),
      services: [...services],
    };
    this.states.set(this.self, state);
    return { state, change: this.recompute() };
  }

  get local(): LinkState | undefined {
    return this.states.get(this.self);
  }

  /** Takes a flooded state; `accepted` false when it is not newer than what we have (do not re-flood). */
  apply(state: LinkState): { accepted: boolean; change: RouteChange } {
    if (state.origin === this.self) return { accepted: false, change: emptyChange() };
    const have = this.states.get(state.origin);
    if (have && !newer(state, have)) return { accepted: false, change: emptyChange() };
    this.states.set(state.origin, state);
    return { accepted: true, change: this.recompute() };
  }

  /** Drops a hub from the graph (FORGET). */
  forget(origin: string): RouteChange {
    if (origin === this.self || !this.states.delete(origin)) return emptyChange();
    return this.recompute();
  }

  all(): LinkState[] {
    return [...this.states.values()];
  }

  stateOf(origin: string): LinkState | undefined {
    return this.states.get(origin);
  }

  /** Next hop toward `hub`, or undefined when unreachable (or `hub` is this one). */
  nextHop(hub: string): string | undefined {
    return this.nextHops.get(hub);
  }

  distance(hub: string): number | undefined {
    return hub === this.self ? 0 : this.distances.get(hub);
  }

  routeTable(): Map<string, string> {
    return new Map(this.nextHops);
  }

  /** Hubs reachable now, this one included. */
  reachable(): string[] {
    return [this.self, ...this.nextHops.keys()];
  }

  /** Every hub we have heard a state from (reachable or not), this one included. */
  known(): string[] {
    return [...this.states.keys()];
  }

  /** Reachable remote hubs that host `service`, nearest first (ties by name). */
  hubsWithService(service: string): string[] {
    const out: string[] = [];
    for (const [hub, services] of this.visibleServices) if (services.has(service)) out.push(hub);
    return out.sort((a, b) => (this.distances.get(a) ?? 0) - (this.distances.get(b) ?? 0) || a.localeCompare(b));
  }

  /** Services on reachable remote hubs. */
  remoteServices(): { hub: string; service: ServiceEntry }[] {
    const out: { hub: string; service: ServiceEntry }[] = [];
    for (const [hub, services] of this.visibleServices)
      for (const service of services.values()) out.push({ hub, service });
    return out;
  }

  /** Breadth-first search over two-way links; neighbors explored in name order so every hub agrees. */
  private recompute(): RouteChange {
    const hasLink = (a: string, b: string): boolean =>
      (this.states.get(a)?.links.includes(b) ?? false) && (this.states.get(b)?.links.includes(a) ?? false);
    const hops = new Map<string, string>();
    const dist = new Map<string, number>();
    const queue: string[] = [];
    for (const n of [...(this.states.get(this.self)?.links ?? [])].sort()) {
      if (hasLink(this.self, n)) {
        hops.set(n, n);
        dist.set(n, 1);
        queue.push(n);
      }
    }
    for (let i = 0; i < queue.length; i++) {
      const at = queue[i] as string;
      for (const n of [...(this.states.get(at)?.links ?? [])].sort()) {
        if (n === this.self || hops.has(n) || !hasLink(at, n)) continue;
        hops.set(n, hops.get(at) as string);
        dist.set(n, (dist.get(at) ?? 0) + 1);
        queue.push(n);
      }
    }
    const change = emptyChange();
    for (const hub of this.nextHops.keys()) if (!hops.has(hub)) change.down.push(hub);
    for (const hub of hops.keys()) if (!this.nextHops.has(hub)) change.up.push(hub);
    change.routesChanged = hops.size !== this.nextHops.size || [...hops].some(([k, v]) => this.nextHops.get(k) !== v);
    const services = new Map<string, Map<string, ServiceEntry>>();
    for (const hub of hops.keys())
      services.set(hub, new Map((this.states.get(hub)?.services ?? []).map((s) => [s.name, s])));
    for (const [hub, before] of this.visibleServices) {
      const after = services.get(hub);
      for (const name of before.keys()) if (!after?.has(name)) change.servicesDown.push({ hub, service: name });
    }
    for (const [hub, after] of services) {
      const before = this.visibleServices.get(hub);
      for (const s of after.values()) if (!before?.has(s.name)) change.servicesUp.push({ hub, service: s });
    }
    this.nextHops = hops;
    this.distances = dist;
    this.visibleServices = services;
    return change;
  }
}

export function emptyChange(): RouteChange {
  return { up: [], down: [], servicesUp: [], servicesDown: [], routesChanged: false };
}

export function isEmptyChange(c: RouteChange): boolean {
  return (
    !c.routesChanged &&
    c.up.length === 0 &&
    c.down.length === 0 &&
    c.servicesUp.length === 0 &&
    c.servicesDown.length === 0
  );
}
