/**
 * The hubs this one knows how to reach, keyed by remote address: how to reach each (URL, with
 * credentials for cds:), who dials by the link rule, its link state and its retry/gossip timers.
 * Learned neighbors (incoming CONNECT, GOSSIP, FORGET) are saved to `neighbors.txt`.
 */
import { formatHubAddress, linkRole, parseHubAddress, type HubAddress, type LinkRole } from './address-order.js';
import { GossipBackoff, RetryTimer } from './backoff.js';
import type { Clock } from './clock.js';
import type { MeshTimings } from './timings.js';

export type NeighborState = 'idle' | 'connecting' | 'linked';

export interface Neighbor {
  /** `ip:port`, the key. */
  key: string;
  address: HubAddress;
  /** How to dial: `cd://ip:port` or `cds://user:pass@ip:port`. */
  url: string;
  secure: boolean;
  role: LinkRole;
  state: NeighborState;
  /** Server name once linked at least once. */
  server?: string;
  lastError?: string;
  /** Local services were told UNREACHABLE since the last link (told once per outage). */
  toldUnreachable: boolean;
  retry: RetryTimer;
  gossip: GossipBackoff;
}

/** `10.0.0.2`, `10.0.0.2:4042`, `cd://10.0.0.2:4042`, `cds://u:p@10.0.0.2:4043` -> url + address. */
export function parseNeighbor(
  spec: string,
  secureCredentials?: { username: string; password: string },
): { url: string; address: HubAddress; secure: boolean } {
  const s = spec.trim();
  const secure = s.startsWith('cds://');
  const address = parseHubAddress(s, secure ? 4043 : 4042);
  let url = `${secure ? 'cds' : 'cd'}://${formatHubAddress(address)}`;
  const creds = /^cds:\/\/([^@/]*)@/.exec(s)?.[1];
  if (secure && creds) url = `cds://${creds}@${formatHubAddress(address)}`;
  else if (secure && secureCredentials)
    url = `cds://${encodeURIComponent(secureCredentials.username)}:${encodeURIComponent(secureCredentials.password)}@${formatHubAddress(address)}`;
  return { url, address, secure };
}

/** The URL without its password, for logs and status. */
export function redactUrl(url: string): string {
  return url.replace(/^(cds:\/\/[^:@/]*):[^@/]*@/, '$1:***@');
}

export class NeighborBook {
  private entries = new Map<string, Neighbor>();

  constructor(
    private readonly mine: HubAddress,
    private readonly clock: Clock,
    private readonly timings: MeshTimings,
  ) {}

  /** Adds (or returns) the neighbor; undefined for this hub's own address. */
  add(spec: string, secureCredentials?: { username: string; password: string }): Neighbor | undefined {
    const { url, address, secure } = parseNeighbor(spec, secureCredentials);
    const key = formatHubAddress(address);
    const have = this.entries.get(key);
    if (have) {
      // A URL with credentials beats a bare address learned from gossip.
      if (url.includes('@') && !have.url.includes('@')) Object.assign(have, { url, secure });
      return have;
    }
    if (key === formatHubAddress(this.mine)) return undefined;
    const n: Neighbor = {
      key,
      address,
      url,
      secure,
      role: linkRole(this.mine, address),
      state: 'idle',
      toldUnreachable: false,
      retry: new RetryTimer(this.clock),
      gossip: new GossipBackoff(this.timings),
    };
    this.entries.set(key, n);
    return n;
  }

  get(key: string): Neighbor | undefined {
    return this.entries.get(key);
  }

  /** Finds by `ip` or `ip:port`. */
  find(ipOrAddress: string): Neighbor[] {
    return [...this.entries.values()].filter((n) => n.key === ipOrAddress || n.address.host === ipOrAddress);
  }

  remove(key: string): boolean {
    const n = this.entries.get(key);
    n?.retry.cancel();
    return this.entries.delete(key);
  }

  all(): Neighbor[] {
    return [...this.entries.values()];
  }

  /** Lines for neighbors.txt. */
  persistable(): string[] {
    return this.all().map((n) => (n.secure ? n.url : n.key));
  }

  stopAll(): void {
    for (const n of this.entries.values()) n.retry.cancel();
  }
}
