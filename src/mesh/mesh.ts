/**
 * The mesh of one hub: links to other hubs, the cluster graph they flood, and the decisions that
 * follow (forward toward a hub by next hop, flood broadcasts once, cache for an unreachable hub,
 * cluster status by quorum). Links are in `links.ts`, routing arithmetic in `graph.ts`; this class
 * only wires events to decisions.
 */
import { clusterDetail } from '../trust/cluster-commands.js';
import type { Channel } from '../core/channel.js';
import { createMessage, type JsonValue, type Message } from '../core/message.js';
import { errorMessage } from '../core/errors.js';
import { getLogger, type Logger } from '../core/log.js';
import { saveNeighbors } from './neighbors-file.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { ClusterGraph, isEmptyChange, type RouteChange } from './graph.js';
import { BroadcastTracker, MAX_BROADCAST_HOPS, readBroadcast, stripBroadcast, writeBroadcast } from './broadcast.js';
import { clusterStatus, statusCommands, type ClusterStatus } from './quorum.js';
import { RemoteCache } from './remote-cache.js';
import { isControl, linkStateMessage, readLinkState, controlMessage } from './link-protocol.js';
import {
  cacheRuleOf,
  meshStatusParams,
  parseListenedHubs,
  parseReportLevel,
  type MeshStatus,
} from '../core/protocol/index.js';
import { sampleLoad } from '../core/system-load.js';
import { LOADAVG_COMMANDS, MeshLoadAvg } from './loadavg.js';
import { Links, type LinksConfig } from './links.js';
import type { BlockedAddress } from './auth-guard.js';
import type { RemoteLink } from './remote-link.js';
import type { HubPort, RemoteHooks, RemoteOutcome, RemoteServiceEntry } from '../hub/remote.js';
import type { MeshTimings } from './timings.js';
import { redactUrl } from './neighbors.js';

export interface MeshConfig extends Omit<LinksConfig, 'serverName'> {
  dataPath: string;
  timings: MeshTimings;
  /** This machine's load per processor, for LOADAVG (default: the 1-minute load average). */
  sampleLoad?: () => number;
}

export type { MeshStatus };

const BROADCAST_SERVICES = new Set(['*', '?']);

/** 3_600_000 -> `1h`, 90_000 -> `90s` (a BLOCK period in the units firewall services read). */
export function formatPeriod(ms: number): string {
  const s = Math.max(1, Math.round(ms / 1000));
  if (s % 86_400 === 0) return `${s / 86_400}d`;
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

/** `10.0.0.2:5123`, `[fd00::2]:5123`, `[::ffff:10.0.0.2]:5123` -> the IP. */
export function sourceIpOf(remoteAddress: string): string {
  const v6 = /^\[([^\]]+)\]/.exec(remoteAddress);
  const ip = v6 ? (v6[1] ?? '') : remoteAddress.replace(/:\d+$/, '');
  return ip.replace(/^::ffff:/, '');
}

export class Mesh implements RemoteHooks {
  readonly graph: ClusterGraph;
  private readonly log: Logger;
  private readonly links: Links;
  private readonly broadcasts: BroadcastTracker;
  private readonly cache: RemoteCache;
  /** The load-average exchange with other hubs (loadavg.ts). */
  readonly loadavg: MeshLoadAvg;
  /** service -> the hub it was last seen on, so a message for a service that is down goes there to be cached. */
  private readonly lastSeen = new Map<string, string>();
  private lastStatus: ClusterStatus | undefined;
  private shuttingDown = false;
  private stopped = false;
  private saving: Promise<void> = Promise.resolve();
  private refresh: TimerHandle | undefined;
  /** Told when links or the cluster graph change (the dashboard pushes the new picture). */
  private readonly changeListeners = new Set<() => void>();

  constructor(
    private readonly hub: HubPort,
    private readonly config: MeshConfig,
    private readonly clock: Clock = systemClock,
  ) {
    this.log = getLogger('mesh', { server: hub.serverName });
    this.graph = new ClusterGraph(hub.serverName, clock.now());
    this.broadcasts = new BroadcastTracker(hub.serverName, clock, config.timings.broadcastTimeoutMs);
    this.cache = new RemoteCache(clock);
    this.links = new Links({ ...config, serverName: hub.serverName }, clock, this.log, {
      linkUp: (link) => this.onLinkUp(link),
      linkDown: (link, disconnected, reason) => this.onLinkDown(link, disconnected, reason),
      unreachable: (who, reason) =>
        this.hub.notifyLocal(
          createMessage('UNREACHABLE', { who, reason }, { service: '*' }, { server: this.hub.serverName }),
        ),
      neighborsChanged: () => this.persistNeighbors(),
      localServices: () => this.hub.localServices().map((s) => s.name),
      heardOf: () =>
        this.graph
          .all()
          .map((s) => s.address)
          .filter(Boolean),
      shuttingDown: () => this.shuttingDown,
      epoch: () => this.graph.epoch,
      reachableAt: (name) =>
        this.graph.distance(name) === undefined ? undefined : this.graph.all().find((s) => s.origin === name)?.address,
      blocked: (block) => this.announceBlock(block),
    });
    this.loadavg = new MeshLoadAvg({
      serverName: hub.serverName,
      clock,
      log: this.log,
      sample: config.sampleLoad ?? sampleLoad,
      myAddress: () => this.links.myAddress,
      reachable: () =>
        this.graph
          .reachable()
          .filter((name) => name !== hub.serverName)
          .map((name) => {
            const s = this.graph.stateOf(name);
            return { name, address: s?.address ?? '', epoch: s?.epoch ?? 0 };
          }),
      sendToHub: (target, msg) => this.forward(target, msg) === 'forwarded',
      notifyLocal: (msg) => this.hub.notifyLocal(msg),
    });
  }

  /** Starts listeners and neighbors; returns the address peers use to reach this hub. */
  async start(): Promise<string> {
    const address = await this.links.start();
    this.publishLocalState();
    this.checkClusterStatus();
    this.scheduleRefresh();
    return address;
  }

  private scheduleRefresh(): void {
    if (this.config.timings.refreshMs <= 0) return;
    this.refresh = this.clock.setTimer(this.config.timings.refreshMs, () => {
      if (this.stopped) return;
      this.publishLocalState();
      this.scheduleRefresh();
    });
  }

  get address(): string {
    return this.links.myAddress;
  }

  /** The hub-link listeners' URLs (credentials left out). */
  listenUrls(): string[] {
    return this.links.listenUrls();
  }

  // ---- hooks called by the hub -------------------------------------------------------------

  /** From the hub: the hub sends the reports and SERVICE_UNAVAILABLE for `cached` / `failed`. */
  route(msg: Message): RemoteOutcome {
    return this.resolveAndForward(msg);
  }

  broadcast(msg: Message): void {
    if (!BROADCAST_SERVICES.has(msg.to.service) || this.links.count === 0) return;
    const server = msg.to.server;
    if (server !== '' && server !== '*' && server !== '?' && server !== '.' && server !== this.hub.serverName) {
      // `C:*/CMD`: every interested service on hub C only, so it travels like a unicast to C.
      this.resolveAndForward(msg);
      return;
    }
    const origin = this.broadcasts.originate();
    // `?` reaches this hub's neighbors only: they receive it at the hop limit and do not pass it on.
    const info = msg.to.service === '?' ? { ...origin, hops: MAX_BROADCAST_HOPS - 1 } : origin;
    this.floodBroadcast(msg, info, undefined);
  }

  handleCommand(msg: Message): boolean {
    switch (msg.command) {
      case 'CLUSTER_STATUS':
        for (const [command, params] of this.clusterStatusReplies()) this.reply(msg, command, params);
        return true;
      case 'MESH_STATUS':
        this.reply(msg, 'MESH_STATUS_REPLY', meshStatusParams(this.status()));
        return true;
      case 'FORGET': {
        const ip = typeof msg.params.ip === 'string' ? msg.params.ip : '';
        if (ip) this.forget(ip, undefined, this.proofOf(msg));
        return true;
      }
      case 'SHUTDOWN':
        this.shutdownCluster(undefined, this.proofOf(msg));
        return true;
      case 'LISTEN_LOADAVG': {
        const hubs = parseListenedHubs(msg.params.ips);
        if (!hubs.ok) this.log.warn({ from: msg.sentFrom, why: hubs.error }, 'LISTEN_LOADAVG ignored');
        else if (!this.loadavg.listen(hubs.value))
          this.log.warn({ from: msg.sentFrom }, 'LISTEN_LOADAVG: this hub listens to as many hubs as it may');
        return true;
      }
      default:
        return false;
    }
  }

  /** `CLUSTER_UP|DOWN` and `CLUSTER_COMPLETE|INCOMPLETE`, each with `neighbors_count`. */
  clusterStatusReplies(): [string, Record<string, JsonValue>][] {
    const s = this.currentStatus();
    return statusCommands(s).map((command) => [command, { neighbors_count: String(s.total) }]);
  }

  /** A hub link that arrived on the hub's own TLS listener (see LinksConfig.secureListenShared). */
  acceptLink(channel: Channel, first: Message): void {
    if (!this.stopped) this.links.acceptLink(channel, first, sourceIpOf(channel.remoteAddress));
    else channel.close();
  }

  servicesChanged(): void {
    if (!this.stopped) this.publishLocalState();
  }

  /** Calls `listener` after a link comes or goes or the cluster graph changes; returns the remover. */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => {
      this.changeListeners.delete(listener);
    };
  }

  private changed(): void {
    for (const l of this.changeListeners) {
      try {
        l();
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'a mesh change listener failed');
      }
    }
  }

  remoteServices(): RemoteServiceEntry[] {
    return this.graph.remoteServices().map(({ hub, service }) => ({
      hub,
      name: service.name,
      since: service.since,
      distance: this.graph.distance(hub) ?? 0,
    }));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.refresh?.cancel();
    this.loadavg.stop();
    await this.links.stop();
    await this.saving;
  }

  // ---- state -------------------------------------------------------------------------------

  status(): MeshStatus {
    const reach = new Set(this.graph.reachable());
    return {
      server: this.hub.serverName,
      address: this.links.myAddress,
      cluster: this.currentStatus(),
      links: this.links.all().map((l) => ({
        server: l.info.server,
        address: l.info.address,
        outgoing: l.info.outgoing,
        secure: l.info.secure,
        since: l.since,
      })),
      neighbors: this.links.neighbors.all().map((n) => ({
        address: n.key,
        url: redactUrl(n.url),
        role: n.role,
        state: n.state,
        ...(n.server ? { server: n.server } : {}),
        ...(n.lastError ? { lastError: n.lastError } : {}),
        ...(n.retry.due ? { nextAttempt: n.retry.due } : {}),
      })),
      hubs: this.graph
        .all()
        .map((s) => ({
          name: s.origin,
          reachable: reach.has(s.origin),
          address: s.address,
          services: s.services.map((x) => x.name),
          links: [...s.links],
          ...(this.graph.distance(s.origin) !== undefined ? { distance: this.graph.distance(s.origin) } : {}),
          ...(this.graph.nextHop(s.origin) ? { nextHop: this.graph.nextHop(s.origin) } : {}),
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      blocked: this.links.blocked(),
      refused: this.hub.clusterCommands?.refused() ?? [],
      cachedForRemote: this.cache.size,
    };
  }

  private currentStatus(): ClusterStatus {
    return clusterStatus(this.graph.known().length, this.graph.reachable().length);
  }

  // ---- links -------------------------------------------------------------------------------

  private onLinkUp(link: RemoteLink): void {
    link.on('message', (m, frame) => this.onLinkMessage(link, m, frame));
    // A restarted neighbor: the state of its previous life (old links, old services) must not make
    // it look reachable before its fresh state arrives (right behind the handshake).
    const stale = this.graph.stateOf(link.info.server);
    if (stale && link.info.epoch > stale.epoch) this.afterChange(this.graph.forget(link.info.server));
    // The newcomer gets everything we know; our own state (with the new link) goes to everyone.
    for (const s of this.graph.all()) if (s.origin !== this.hub.serverName) link.send(linkStateMessage(s));
    this.publishLocalState();
    this.hub.notifyLocal(
      createMessage(
        'NEW_REMOTE_CONNECTION',
        { server_name: link.info.server },
        { service: '*' },
        { server: this.hub.serverName },
      ),
    );
    this.changed();
  }

  private onLinkDown(link: RemoteLink, disconnected: boolean, reason: string): void {
    this.log.info({ peer: link.info.server, disconnected, reason }, 'hub link closed');
    if (this.stopped) return;
    this.hub.notifyLocal(
      createMessage(
        'DISCONNECTED',
        { server_name: link.info.server },
        { service: '*' },
        { server: this.hub.serverName },
      ),
    );
    if (!disconnected)
      this.hub.notifyLocal(
        createMessage('HANGUP', { server_name: link.info.server }, { service: '*' }, { server: this.hub.serverName }),
      );
    this.publishLocalState();
    this.changed();
  }

  private onLinkMessage(link: RemoteLink, msg: Message, frame: string): void {
    if (this.stopped) return;
    if (isControl(msg)) {
      this.onControl(link, msg);
      return;
    }
    if (BROADCAST_SERVICES.has(msg.to.service) && msg.params.broadcast_msgid !== undefined) {
      this.onRemoteBroadcast(link, msg);
      return;
    }
    const self = this.hub.serverName;
    if (msg.to.server === self && msg.to.service === '' && LOADAVG_COMMANDS.has(msg.command)) {
      this.loadavg.onMessage(msg);
      return;
    }
    if (msg.to.server === self || msg.to.server === '.') {
      this.hub.deliverLocal(msg);
      return;
    }
    this.routeTransit(msg, frame, link);
  }

  /** A message passing through this hub: onward, or here, or the cache rules (reported by us). */
  private routeTransit(msg: Message, frame: string, from: RemoteLink): void {
    const outcome = this.resolveAndForward(msg, frame, from);
    if (outcome === 'not-remote')
      this.hub.deliverLocal({ ...msg, to: { server: this.hub.serverName, service: msg.to.service } });
    else if (outcome === 'cached') this.report(msg, 'cached');
    else if (outcome === 'failed') {
      if (cacheRuleOf(msg.params).reply)
        this.reply(
          msg,
          'SERVICE_UNAVAILABLE',
          { destination_service: msg.to.service, destination_server: msg.to.server, unsent_command: msg.command },
          true,
        );
      this.report(msg, 'failed');
    }
  }

  private onControl(link: RemoteLink, msg: Message): void {
    switch (msg.command) {
      case 'LINK_STATE': {
        let state;
        try {
          state = readLinkState(msg);
        } catch (err) {
          this.log.warn({ peer: link.info.server, err: errorMessage(err) }, 'bad LINK_STATE ignored');
          return;
        }
        const { accepted, change } = this.graph.apply(state);
        if (!accepted) return;
        for (const other of this.links.all()) if (other !== link) other.send(msg);
        this.afterChange(change);
        return;
      }
      case 'DISCONNECT':
        link.peerDisconnected = true;
        return;
      case 'SHUTDOWN':
        if (this.obeys(link, msg)) this.shutdownCluster(link, this.proofOf(msg));
        return;
      case 'FORGET': {
        const ip = typeof msg.params.ip === 'string' ? msg.params.ip : '';
        if (ip && this.obeys(link, msg)) this.forget(ip, link, this.proofOf(msg));
        return;
      }
      default:
        return; // HANGUP, UNREACHABLE, ... from a peer are informational
    }
  }

  // ---- routing -----------------------------------------------------------------------------

  /** Picks the destination hub (by name, or the nearest hub with the service) and forwards. */
  private resolveAndForward(msg: Message, frame?: string, from?: RemoteLink): RemoteOutcome {
    let target = msg.to.server;
    if (target === this.hub.serverName || target === '.') return 'not-remote';
    if (target === '' || target === '*' || target === '?') {
      const found = this.graph.hubsWithService(msg.to.service)[0] ?? this.lastSeen.get(msg.to.service);
      if (!found) return 'not-remote';
      target = found;
      // Pinned, so hubs on the way do not pick differently while the graph changes.
      msg = { ...msg, to: { server: found, service: msg.to.service } };
      frame = undefined;
    }
    return this.forward(target, msg, frame, from);
  }

  /**
   * `frame`: the line as received, sent on unchanged when given. Never back on the link it came
   * from: that only happens while two hubs disagree about the graph, and the message then waits
   * (cache rules) for the routes to change instead of bouncing.
   */
  private forward(target: string, msg: Message, frame?: string, from?: RemoteLink): RemoteOutcome {
    const hop = this.graph.nextHop(target);
    const link = hop === undefined ? undefined : this.links.get(hop);
    if (link && link !== from && (frame === undefined ? link.send(msg) : link.sendRaw(frame))) return 'forwarded';
    // The route is gone: keep it for when the hub is reachable again, unless told not to.
    const rule = cacheRuleOf(msg.params);
    return !rule.noCache && this.cache.add(target, msg, rule.ttlSeconds) ? 'cached' : 'failed';
  }

  private report(msg: Message, status: 'cached' | 'failed'): void {
    const level = parseReportLevel(msg.params.transmission_report);
    if (level === 'none' || (status === 'cached' && level === 'failure')) return;
    this.reply(msg, 'TRANSMISSION_REPORT', { command: msg.command, status, destination_service: msg.to.service }, true);
  }

  /** Sends a hub reply to the sender of `msg`, wherever it is; `nocache` keeps reports from piling up. */
  private reply(msg: Message, command: string, params: Record<string, JsonValue>, nocache = false): void {
    const out = createMessage(command, nocache ? { ...params, cache: 'no' } : params, msg.sentFrom, {
      server: this.hub.serverName,
      service: '.',
    });
    if (msg.sentFrom.server === '' || msg.sentFrom.server === this.hub.serverName)
      this.hub.deliverLocal({ ...out, to: { server: this.hub.serverName, service: msg.sentFrom.service } });
    else if (this.resolveAndForward(out) === 'not-remote') this.log.debug({ to: msg.sentFrom }, 'reply has no route');
  }

  private floodBroadcast(
    msg: Message,
    info: ReturnType<BroadcastTracker['originate']>,
    from: RemoteLink | undefined,
  ): void {
    const { targets, info: next } = this.broadcasts.forward(
      info,
      this.links
        .all()
        .map((l) => l.info.server)
        .filter((s) => s !== from?.info.server),
    );
    const out = { ...msg, params: writeBroadcast(stripBroadcast(msg.params), next) };
    for (const t of targets) this.links.get(t)?.send(out);
  }

  private onRemoteBroadcast(link: RemoteLink, msg: Message): void {
    const info = readBroadcast(msg.params);
    if (!info || !this.broadcasts.accept(info)) return;
    this.hub.notifyLocal({ ...msg, params: stripBroadcast(msg.params) });
    this.floodBroadcast(msg, info, link);
  }

  // ---- graph changes -----------------------------------------------------------------------

  private publishLocalState(): void {
    const { state, change } = this.graph.setLocal(
      this.links.all().map((l) => l.info.server),
      this.hub.localServices().map((s) => ({ name: s.name, since: s.since })),
      this.links.myAddress,
    );
    const msg = linkStateMessage(state);
    for (const l of this.links.all()) l.send(msg);
    this.afterChange(change);
  }

  private afterChange(change: RouteChange): void {
    this.loadavg.refresh();
    if (isEmptyChange(change)) {
      this.checkClusterStatus();
      return;
    }
    if (change.routesChanged)
      this.log.debug({ routes: Object.fromEntries(this.graph.routeTable()) }, 'routes recomputed');
    const now = Math.floor(this.clock.now() / 1000);
    for (const { hub, service } of change.servicesUp) {
      this.lastSeen.set(service.name, hub);
      this.hub.notifyLocal(
        createMessage(
          'STATUS',
          { service: service.name, server_name: hub, status: 'up', up_since: String(service.since) },
          { service: '*' },
          { server: this.hub.serverName },
        ),
      );
    }
    for (const { hub, service } of change.servicesDown) {
      this.lastSeen.set(service, hub);
      this.hub.notifyLocal(
        createMessage(
          'STATUS',
          { service, server_name: hub, status: 'down', down_since: String(now) },
          { service: '*' },
          { server: this.hub.serverName },
        ),
      );
    }
    if (change.routesChanged)
      for (const hub of this.cache.hubs())
        if (this.graph.nextHop(hub) !== undefined) for (const m of this.cache.take(hub)) this.forward(hub, m);
    this.checkClusterStatus();
    this.changed();
  }

  private checkClusterStatus(): void {
    const s = this.currentStatus();
    const before = this.lastStatus;
    this.lastStatus = s;
    if (before && before.up === s.up && before.complete === s.complete && before.total === s.total) return;
    const [upDown, complete] = statusCommands(s);
    if (!before || before.up !== s.up)
      this.hub.notifyLocal(
        createMessage(upDown, { neighbors_count: String(s.total) }, { service: '*' }, { server: this.hub.serverName }),
      );
    if (!before || before.complete !== s.complete)
      this.hub.notifyLocal(
        createMessage(
          complete,
          { neighbors_count: String(s.total) },
          { service: '*' },
          { server: this.hub.serverName },
        ),
      );
  }

  // ---- cluster-wide commands ---------------------------------------------------------------

  /**
   * Whether a SHUTDOWN or FORGET from `link` is obeyed: from an authenticated (TLS) link, or with
   * a proof that an identity of this hub allowed to use it started it (src/trust/cluster-commands.ts).
   */
  private obeys(link: RemoteLink, msg: Message): boolean {
    const guard = this.hub.clusterCommands;
    if (link.info.secure || !guard) return true;
    const peer = `hub ${link.info.server} (${link.info.address}, plain link)`;
    return guard.check(msg.command, clusterDetail(msg), msg.params, peer) === undefined;
  }

  /** The proof a cluster command carries, passed on unchanged to the next hubs. */
  private proofOf(msg: Message): Record<string, JsonValue> {
    const proof = this.hub.clusterCommands?.proofOf(msg.params);
    return proof ? { ...proof } : {};
  }

  private forget(ip: string, from: RemoteLink | undefined, proof: Record<string, JsonValue> = {}): void {
    const removed = this.links.forget(ip);
    for (const s of this.graph.all())
      if (s.address && (s.address === ip || s.address.startsWith(`${ip}:`)) && s.origin !== this.hub.serverName)
        this.afterChange(this.graph.forget(s.origin));
    if (!removed && from) return; // already forgotten here: the flood stops
    for (const l of this.links.all()) if (l !== from) l.send(controlMessage('FORGET', { ip, ...proof }));
  }

  /**
   * The communicator's BLOCK for an address that failed its hub login too often, to every service
   * of the cluster that lists BLOCK (a firewall such as ipwall): this hub's, and through the mesh
   * every other hub's. The mesh's own block (no reply, for authBlockMs) stands either way.
   */
  private announceBlock(block: BlockedAddress): void {
    const msg = createMessage(
      'BLOCK',
      {
        uri: block.address,
        period: formatPeriod(this.config.timings.authBlockMs),
        profile: 'system-login-attempts',
        reason: `${block.failures} hub link logins with wrong credentials`,
      },
      { service: '*' },
      { server: this.hub.serverName },
    );
    this.hub.notifyLocal(msg);
    this.broadcast(msg);
  }

  private shutdownCluster(from: RemoteLink | undefined, proof: Record<string, JsonValue> = {}): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.log.warn({ from: from?.info.server ?? 'local', by: proof.by }, 'cluster SHUTDOWN');
    for (const l of this.links.all()) if (l !== from) l.send(controlMessage('SHUTDOWN', proof));
    this.hub.requestStop('SHUTDOWN of the cluster');
  }

  /** Saves are chained (never two writers at once) and awaited by stop(). */
  private persistNeighbors(): void {
    if (this.stopped) return;
    const lines = this.links.neighbors.persistable();
    this.saving = this.saving
      .then(() => saveNeighbors(this.config.dataPath, lines))
      .catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'could not save neighbors.txt'));
  }
}
