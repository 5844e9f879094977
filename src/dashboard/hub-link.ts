/**
 * The dashboard's view of its hub. Counting is hub-side and cheap: messages by command and outcome
 * from the sniff tap's tally (a map lookup per message), messages per service from the channel
 * frame counters the hub keeps anyway. The traffic stream itself (a `SNIFF format=json`
 * connection: every message encoded, copied and decoded again) runs only while a live client
 * watches. Mesh changes and message rates are pushed to watchers as live frames; the mesh's
 * status is asked of the mesh itself (an object, through HubContext.remote()).
 */
import { EventEmitter } from 'node:events';
import { z } from 'zod';
import { MessageConnection } from '../core/message-connection.js';
import { createMessage } from '../core/message.js';
import { readSniffed, type MeshStatus, type Sniffed } from '../core/protocol/index.js';
import type { HubContext } from '../hub/context.js';
import { listServices, type ServiceInfo } from '../hub/service-list.js';
import type { MessageTally } from '../hub/sniff-tap.js';

export type { Sniffed };

/** From the service's side: `received` = messages the hub wrote to it, `sent` = messages it sent the hub. */
export interface MessageCounts {
  received: number;
  sent: number;
}

export interface ClusterView {
  server: string;
  addresses: { kind: string; url: string }[];
  /** Services up on this hub. */
  services: string[];
  /** `cluster-status --json`, or null without a mesh. */
  mesh: MeshStatus | null;
}

/** What a live client may send: `{"type":"subscribe","traffic":false}` stops its traffic stream (default on). */
const ClientFrame = z.object({ type: z.literal('subscribe'), traffic: z.boolean() }).strict();

/** One live client (see `HubLink.watch`). */
export interface Watch {
  /** False once the client said it does not want traffic. */
  readonly wantsTraffic: boolean;
  /** A text frame from the client: a subscription change, or an error frame back when it is not one. */
  onClientFrame(text: string): void;
  stop(): void;
}

/** A frame for /api/live watchers (besides `services` and `sniffed`, which the server sends). */
export type LiveFrame =
  | {
      type: 'rates';
      at: number;
      seconds: number;
      rates: Record<string, { in: number; out: number }>;
      counts: Record<string, MessageCounts>;
    }
  | { type: 'cluster'; cluster: ClusterView }
  | { type: 'services'; server: string; services: ServiceInfo[] }
  | { type: 'error'; error: { code: 'INVALID_ARGUMENT' | 'PERMISSION_DENIED'; message: string } };

/** How often watchers get message rates. */
export const RATES_EVERY_MS = 2000;
/** Mesh changes come in bursts (a link up floods LINK_STATE): one cluster frame per burst. */
const CLUSTER_DEBOUNCE_MS = 100;

export class HubLink extends EventEmitter<{ sniffed: [Sniffed] }> {
  readonly tally: MessageTally;
  private tap: MessageConnection | undefined;
  /** Frames of instances that left, per service, so counts survive reconnects. */
  private readonly retired = new Map<string, MessageCounts>();
  private readonly watchers = new Map<(frame: string) => void, { traffic: boolean }>();
  private ratesTimer: NodeJS.Timeout | undefined;
  private lastCounts: { at: number; counts: Map<string, MessageCounts> } | undefined;
  private clusterTimer: NodeJS.Timeout | undefined;
  private readonly offs: (() => void)[] = [];
  private closed = false;

  constructor(readonly hub: HubContext) {
    super();
    this.tally = hub.countMessages();
    this.offs.push(
      hub.services.onChange((change) => {
        if (change.type !== 'down') return;
        const stats = change.instance.connection.channel.stats;
        const r = this.retired.get(change.service.name) ?? { received: 0, sent: 0 };
        r.received += stats.framesOut;
        r.sent += stats.framesIn;
        this.retired.set(change.service.name, r);
      }),
    );
    const offMesh = hub.remote()?.onChange?.(() => this.meshChanged());
    if (offMesh) this.offs.push(offMesh);
  }

  /** Messages to and from each local service (by name) since its instances connected, kept across reconnects. */
  get counts(): Map<string, MessageCounts> {
    const out = new Map<string, MessageCounts>();
    for (const s of this.hub.services.all()) {
      const c = { ...(this.retired.get(s.name) ?? { received: 0, sent: 0 }) };
      for (const inst of s.instances) {
        c.received += inst.connection.channel.stats.framesOut;
        c.sent += inst.connection.channel.stats.framesIn;
      }
      out.set(s.name, c);
    }
    // Names the registry forgot (it bounds them) are let go here too.
    for (const name of this.retired.keys()) if (!out.has(name)) this.retired.delete(name);
    return out;
  }

  /** Queued outbound bytes of every open connection (for the queue-depth metrics). */
  queueDepths(): { service: string | undefined; bytes: number }[] {
    return this.hub.counters().queues;
  }

  /**
   * A live client: gets `rates` frames every RATES_EVERY_MS and a `cluster` frame on every mesh
   * change (and one at once when the hub has a mesh). While any client wants traffic (the default),
   * the hub's traffic is sniffed for the server to pass on.
   */
  watch(send: (frame: string) => void, options: { traffic: boolean } = { traffic: true }): Watch {
    // A client that may not see traffic (no SNIFF) never gets it, whatever it subscribes to.
    const allowed = options.traffic;
    const state = { traffic: allowed };
    this.watchers.set(send, state);
    if (this.watchers.size === 1) this.startWatching();
    this.updateSniffing();
    if (this.hub.remote()) send(JSON.stringify({ type: 'cluster', cluster: this.clusterView() } satisfies LiveFrame));
    return {
      get wantsTraffic() {
        return state.traffic;
      },
      onClientFrame: (text) => {
        let parsed: z.ZodSafeParseResult<z.infer<typeof ClientFrame>>;
        try {
          parsed = ClientFrame.safeParse(JSON.parse(text));
        } catch {
          parsed = ClientFrame.safeParse(undefined);
        }
        if (!parsed.success) {
          send(
            JSON.stringify({
              type: 'error',
              error: {
                code: 'INVALID_ARGUMENT',
                message: 'a live client may send {"type":"subscribe","traffic":true|false}',
              },
            } satisfies LiveFrame),
          );
          return;
        }
        if (parsed.data.traffic && !allowed) {
          send(
            JSON.stringify({
              type: 'error',
              error: { code: 'PERMISSION_DENIED', message: 'this identity may not see the traffic (it needs SNIFF)' },
            } satisfies LiveFrame),
          );
          return;
        }
        state.traffic = parsed.data.traffic;
        this.updateSniffing();
      },
      stop: () => {
        if (!this.watchers.delete(send)) return;
        if (this.watchers.size === 0) this.stopWatching();
        else this.updateSniffing();
      },
    };
  }

  private broadcast(frame: LiveFrame): void {
    const text = JSON.stringify(frame);
    for (const send of this.watchers.keys()) send(text);
  }

  private startWatching(): void {
    if (this.closed) return;
    this.lastCounts = { at: Date.now(), counts: this.counts };
    this.ratesTimer = setInterval(() => this.sendRates(), RATES_EVERY_MS);
    this.ratesTimer.unref();
  }

  /** The JSON sniffer costs the hub most of its throughput: on only while a client wants traffic. */
  private updateSniffing(): void {
    const wanted = !this.closed && [...this.watchers.values()].some((w) => w.traffic);
    if (wanted && !this.tap) {
      this.tap = new MessageConnection(this.hub.connectInProcess('dashboard-sniff'), { format: 'text' }).listen({
        message: ({ message }) => {
          if (message.command === 'SNIFFED') this.emit('sniffed', readSniffed(message));
        },
      });
      this.tap.send(createMessage('SNIFF', { format: 'json' }));
    } else if (!wanted && this.tap) {
      this.tap.close();
      this.tap = undefined;
    }
  }

  private stopWatching(): void {
    this.tap?.close();
    this.tap = undefined;
    if (this.ratesTimer) clearInterval(this.ratesTimer);
    this.ratesTimer = undefined;
    this.lastCounts = undefined;
  }

  private sendRates(): void {
    const now = Date.now();
    const counts = this.counts;
    const before = this.lastCounts;
    this.lastCounts = { at: now, counts };
    if (!before) return;
    const seconds = Math.max((now - before.at) / 1000, 0.001);
    const rates: Record<string, { in: number; out: number }> = {};
    for (const [name, c] of counts) {
      const b = before.counts.get(name) ?? { received: 0, sent: 0 };
      // A service's `in` is what it received; counters only grow, but an instance leaving between samples is clamped.
      rates[name] = { in: Math.max(0, c.received - b.received) / seconds, out: Math.max(0, c.sent - b.sent) / seconds };
    }
    this.broadcast({ type: 'rates', at: now, seconds, rates, counts: Object.fromEntries(counts) });
  }

  private meshChanged(): void {
    if (this.watchers.size === 0 || this.clusterTimer) return;
    this.clusterTimer = setTimeout(() => {
      this.clusterTimer = undefined;
      // Services on other hubs came or went too: the same frame the server sends on local changes.
      this.broadcast({
        type: 'services',
        server: this.hub.serverName,
        services: listServices(this.hub.serverName, this.hub.services, this.hub.remote()),
      });
      this.broadcast({ type: 'cluster', cluster: this.clusterView() });
    }, CLUSTER_DEBOUNCE_MS);
  }

  /** This hub, and the mesh's view of the cluster when the hub runs one (the shape of GET /api/cluster). */
  clusterView(): ClusterView {
    const hub = this.hub;
    const mesh = hub.remote()?.status() ?? null;
    const local = listServices(hub.serverName, hub.services, undefined)
      .filter((s) => s.status === 'up')
      .map((s) => s.name);
    return {
      server: hub.serverName,
      addresses: hub.addresses.map((a) => ({ kind: a.kind, url: a.url })),
      services: local,
      mesh,
    };
  }

  close(): void {
    this.closed = true;
    this.stopWatching();
    this.watchers.clear();
    if (this.clusterTimer) clearTimeout(this.clusterTimer);
    for (const off of this.offs.splice(0)) off();
  }
}
