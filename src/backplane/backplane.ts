/**
 * The NATS backplane of one hub: the hub's remote side when hubs share a NATS cluster instead of
 * linking to each other (the mesh). Every hub on one namespace sees every other hub directly:
 *
 * - messages for a service on another hub go to `NS.msg.HUB.SERVICE`; a message that asked for
 *   caching (`cache=...`) is sent as a NATS request, and the receiving hub confirms it once its
 *   router took it, so a hub that died meanwhile (no responders, no answer) is noticed and the
 *   message is kept in JetStream instead of being lost;
 * - each hub publishes its service table (`NS.state.HUB`) on every change and a heartbeat
 *   (`NS.alive.HUB`); the others turn table changes into STATUS for their own services, and a hub
 *   not heard for `deadAfterMs` into STATUS down;
 * - broadcasts go to `NS.bcast.COMMAND`;
 * - messages for a known service that no hub has (`cache=ttl=N`) are kept in JetStream
 *   (cache-store.ts) and delivered by the hub where the service registers next.
 *
 * Everything read from NATS is checked (size, UTF-8, the message codec or a zod schema, the
 * subject agreeing with the payload, no message claiming to come from this hub): anyone with the
 * NATS credentials can publish there (see README.md, "Who can publish").
 */
import type { ClusterCommandGuard, ClusterProof } from '../trust/cluster-commands.js';
import { connect } from '@nats-io/transport-node';
import {
  credsAuthenticator,
  Empty,
  type ConnectionOptions,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/nats-core';
import { decodeLine, encodeLine } from '../core/codec/index.js';
import { errorMessage, SwitchboardError } from '../core/errors.js';
import { getLogger, type Logger } from '../core/log.js';
import { createMessage, type JsonValue, type Message } from '../core/message.js';
import {
  baseName,
  cacheRuleOf,
  instanceOf,
  meshStatusParams,
  type CacheRule,
  type MeshStatus,
} from '../core/protocol/index.js';
import type { RemoteHooks, RemoteOutcome, RemoteServiceEntry } from '../hub/remote.js';
import { clusterStatus, statusCommands, type ClusterStatus } from '../mesh/quorum.js';
import { CacheStore, type CacheStats } from './cache-store.js';
import type { BackplaneConfig } from './config.js';
import { ALL_SERVICES, ANY, Subjects } from './subjects.js';
import { Alive, Bye, Control, Hello, HubState, readLine, readPayload, type ServiceState } from './wire.js';

/** What the backplane needs from its hub (the extension adapts the Hub to it). */
export interface BackplanePort {
  readonly serverName: string;
  readonly clusterName: string | null;
  /** Services with at least one live instance here. */
  localServices(): ServiceState[];
  /** Live instance ids of `name` here (empty when none). */
  instancesOf(name: string): string[];
  /** Names this hub knows, up or not (configured, or registered since it started). */
  knownServices(): string[];
  /** A message for this hub: a local instance, or the hub's rules for an absent one. */
  deliverLocal(msg: Message): void;
  /** To every local service that understands `msg.command`. */
  notifyLocal(msg: Message): void;
  requestStop(reason: string): void;
  /** Checks SHUTDOWN and FORGET published by other hubs; absent in unit fakes (every one obeyed). */
  readonly clusterCommands?: ClusterCommandGuard;
}

interface Peer {
  name: string;
  epoch: number;
  seq: number;
  address: string;
  cluster: string | null;
  services: Map<string, ServiceState>;
  known: string[];
  live: boolean;
  /** Epoch ms. */
  lastHeard: number;
  upSince: number;
  syncing: boolean;
}

export interface BackplaneStatus extends MeshStatus {
  transport: 'backplane';
  backplane: {
    namespace: string;
    servers: string[];
    connectedTo: string;
    connected: boolean;
    stream: { name: string; replicas: number; messages: number; bytes: number } | null;
    cache: CacheStats;
    counters: Backplane['counters'];
  };
}

/** State documents can be large (a table of every service); everything else is small. */
const MAX_STATE_BYTES = 8 * 1024 * 1024;
const MAX_SMALL_BYTES = 4096;
/** Names remembered as "known somewhere" (a bound: states of misbehaving hubs must not grow us forever). */
const MAX_KNOWN = 100_000;

const encoder = new TextEncoder();

function isBroadcastService(service: string): boolean {
  return service === '*' || service === '?';
}

function splitService(service: string): { name: string; instance: string | undefined } {
  return { name: baseName(service), instance: instanceOf(service) };
}

function connectionOptions(config: BackplaneConfig, serverName: string): ConnectionOptions {
  const tls = config.servers.some((s) => s.startsWith('tls://'));
  const auth = config.auth;
  return {
    servers: config.servers.map((s) => s.replace(/^tls:\/\//, 'nats://')),
    name: `switchboard-hub-${serverName}`,
    // A hub never needs its own publications back (broadcasts, states).
    noEcho: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: config.timings.reconnectMs,
    timeout: 5000,
    pingInterval: 5000,
    maxPingOut: 3,
    ...(tls ? { tls: config.ca ? { caFile: config.ca } : {} } : {}),
    ...(auth.kind === 'user' ? { user: auth.user, pass: auth.password } : {}),
    ...(auth.kind === 'token' ? { token: auth.token } : {}),
    ...(auth.kind === 'creds' ? { authenticator: credsAuthenticator(auth.creds) } : {}),
  };
}

export class Backplane implements RemoteHooks {
  readonly subjects: Subjects;
  readonly counters = {
    /** Messages sent to other hubs / received for this hub / broadcasts out and in. */
    sent: 0,
    received: 0,
    broadcastsOut: 0,
    broadcastsIn: 0,
    /** Cache-asking messages another hub confirmed / did not (kept in JetStream, or refused). */
    confirmed: 0,
    unconfirmed: 0,
    /** Inputs from NATS that failed a check. */
    invalid: 0,
  };
  private readonly log: Logger;
  private readonly epoch = Date.now();
  private seq = 0;
  private nc: NatsConnection | undefined;
  private cache: CacheStore | undefined;
  private readonly subs: Subscription[] = [];
  private readonly peers = new Map<string, Peer>();
  /** service -> live hubs that have it (rebuilt when a peer changes). */
  private where = new Map<string, string[]>();
  /** Every service name seen on any hub: messages for them are kept while no hub has them. */
  private readonly knownAnywhere = new Set<string>();
  private rr = 0;
  /** service -> instances this hub published last (new ones are drained for). */
  private published = new Map<string, string[]>();
  private lastState: HubState | undefined;
  private stateTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  /** service -> "drain again when done". */
  private readonly draining = new Map<string, boolean>();
  private lastStatus: ClusterStatus | undefined;
  private readonly changeListeners = new Set<() => void>();
  private lastInvalidLog = 0;
  private streamInfo: { messages: number; bytes: number; replicas: number } | undefined;
  private streamAsking = false;
  private ticks = 0;
  private shuttingDown = false;
  private stopped = false;

  constructor(
    private readonly port: BackplanePort,
    private readonly config: BackplaneConfig,
    log?: Logger,
  ) {
    this.log = log ?? getLogger('backplane', { server: port.serverName });
    this.subjects = new Subjects(config.namespace);
  }

  private get self(): string {
    return this.port.serverName;
  }

  /** The NATS server this hub is connected to now. */
  get address(): string {
    return this.nc && !this.nc.isClosed() ? `nats://${this.nc.getServer()}` : '';
  }

  // ---- start and stop ------------------------------------------------------------------------

  async start(): Promise<void> {
    let nc: NatsConnection;
    try {
      nc = await connect(connectionOptions(this.config, this.self));
    } catch (err) {
      throw new SwitchboardError(
        'UNAVAILABLE',
        `cannot reach the NATS backplane at ${this.config.servers.join(', ')}: ${errorMessage(err)}; start nats-server (with -js for the message cache) or fix --backplane and its credentials`,
      );
    }
    this.nc = nc;
    // A live hub of the same name would get half of our messages: refuse to start beside it.
    try {
      await nc.request(this.subjects.sync(this.self), Empty, { timeout: 300 });
      await nc.close();
      throw new SwitchboardError(
        'CONFLICT',
        `another hub named "${this.self}" is live on the backplane (namespace ${this.config.namespace}): give this one another --server-name`,
      );
    } catch (err) {
      if (err instanceof SwitchboardError) throw err;
      // No responders or no answer: the name is ours.
    }
    const s = this.subjects;
    const on = (subject: string, handle: (m: Msg) => void): void => {
      this.subs.push(
        nc.subscribe(subject, {
          callback: (err, m) => {
            if (err) this.log.warn({ subject, err: errorMessage(err) }, 'backplane subscription error');
            else handle(m);
          },
        }),
      );
    };
    on(s.msgFor(this.self), (m) => this.onMessage(m));
    on(s.bcastAll, (m) => this.onBroadcast(m));
    on(s.stateAll, (m) => this.onState(m));
    on(s.aliveAll, (m) => this.onAlive(m));
    on(s.byeAll, (m) => this.onBye(m));
    on(s.hello, (m) => this.onHello(m));
    on(s.sync(this.self), (m) => this.onSync(m));
    on(s.ctlAll, (m) => this.onControl(m));
    on(s.pokeAll, (m) => this.onPoke(m));
    this.cache = new CacheStore(
      nc,
      s,
      {
        replicas: this.config.replicas,
        maxPendingBytes: this.config.maxPendingBytes,
        maxStoredBytes: this.config.maxStoredBytes,
        maxPerService: this.config.maxPerService,
        maxLineLength: this.config.maxLineLength,
        retryMs: this.config.timings.retryMs,
        writer: `${this.self}-${this.epoch}`,
      },
      this.log,
      (pin, service) => this.poke(pin, service),
    );
    void this.cache.ready();
    this.publishState();
    this.publish(s.hello, { hub: this.self, epoch: this.epoch });
    this.heartbeat = setInterval(() => this.tick(), this.config.timings.heartbeatMs);
    this.heartbeat.unref();
    void this.watchConnection(nc);
    this.checkClusterStatus();
    this.log.info({ servers: this.config.servers, namespace: this.config.namespace }, 'backplane connected');
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.stateTimer) clearTimeout(this.stateTimer);
    const nc = this.nc;
    if (!nc || nc.isClosed()) return;
    this.publish(this.subjects.bye(this.self), { hub: this.self, epoch: this.epoch });
    await this.cache?.stop(2000);
    try {
      await nc.drain();
    } catch (err) {
      this.log.debug({ err: errorMessage(err) }, 'NATS connection did not drain');
    }
  }

  private async watchConnection(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (this.stopped) return;
      if (s.type === 'disconnect') this.log.warn({ server: s.server }, 'backplane: NATS server lost; reconnecting');
      else if (s.type === 'reconnect') {
        this.log.info({ server: s.server }, 'backplane: reconnected');
        // Others may have counted us dead meanwhile, and pokes may have been missed.
        this.publishState();
        this.publish(this.subjects.hello, { hub: this.self, epoch: this.epoch });
        for (const { name } of this.port.localServices()) this.scheduleDrain(name);
      }
    }
  }

  // ---- hooks called by the hub ---------------------------------------------------------------

  route(msg: Message): RemoteOutcome {
    const target = msg.to.server;
    if (target === this.self || target === '.') return 'not-remote';
    const rule = this.ruleOf(msg);
    if (target === '' || target === '*' || target === '?') {
      const hub = this.pick(msg.to.service);
      // No hub has it: the hub's rules apply (and `hold` keeps it here in JetStream).
      return hub === undefined ? 'not-remote' : this.send(hub, msg, rule);
    }
    const peer = this.peers.get(target);
    if (peer?.live) return this.send(target, msg, rule);
    if (!peer) return 'not-remote';
    // A hub we knew, down now: kept for it unless told not to.
    return !rule.noCache && this.keep(msg, encodeLine(msg, 'json'), rule.ttlSeconds) ? 'cached' : 'failed';
  }

  broadcast(msg: Message): void {
    if (!isBroadcastService(msg.to.service) || !this.nc) return;
    const server = msg.to.server;
    const line = encodeLine(msg, 'json');
    if (server === '' || server === '*' || server === '?') {
      this.counters.broadcastsOut++;
      this.publishRaw(this.subjects.bcast(msg.command), line);
    } else if (this.peers.get(server)?.live) {
      // `C:*/CMD`: every interested service on hub C only.
      this.counters.broadcastsOut++;
      this.publishRaw(this.subjects.msg(server, msg.to.service), line);
    }
  }

  hold(msg: Message, ttlSeconds: number, knownHere: boolean): boolean {
    const { name } = splitService(msg.to.service);
    if (!this.cache || (!knownHere && !this.knownAnywhere.has(name))) return false;
    return this.keep(msg, encodeLine(msg, 'json'), ttlSeconds);
  }

  handleCommand(msg: Message): boolean {
    switch (msg.command) {
      case 'CLUSTER_STATUS':
        for (const [command, params] of this.clusterStatusReplies()) this.reply(msg, command, params);
        return true;
      case 'MESH_STATUS':
        this.reply(msg, 'MESH_STATUS_REPLY', meshStatusParams(this.status()));
        return true;
      case 'SHUTDOWN':
        this.shutdownCluster(undefined, this.port.clusterCommands?.proofOf(msg.params));
        return true;
      case 'FORGET': {
        const name = typeof msg.params.server_name === 'string' ? msg.params.server_name : '';
        if (name) {
          this.forget(name);
          this.publish(this.subjects.ctl('FORGET'), {
            hub: this.self,
            epoch: this.epoch,
            server_name: name,
            ...this.port.clusterCommands?.proofOf(msg.params),
          });
        }
        return true;
      }
      default:
        return false;
    }
  }

  servicesChanged(): void {
    if (this.stopped || this.stateTimer) return;
    this.stateTimer = setTimeout(() => {
      this.stateTimer = undefined;
      if (!this.stopped) this.publishState();
    }, this.config.timings.stateDelayMs);
  }

  remoteServices(): RemoteServiceEntry[] {
    const out: RemoteServiceEntry[] = [];
    for (const p of this.peers.values())
      if (p.live)
        for (const s of p.services.values()) out.push({ hub: p.name, name: s.name, since: s.since, distance: 1 });
    return out;
  }

  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => {
      this.changeListeners.delete(listener);
    };
  }

  // ---- sending -------------------------------------------------------------------------------

  private ruleOf(msg: Message): CacheRule {
    return cacheRuleOf(msg.params);
  }

  /** Round-robin over the live hubs that have the service (or that exact instance). */
  private pick(service: string): string | undefined {
    const { name, instance } = splitService(service);
    let hubs = this.where.get(name);
    if (!hubs || hubs.length === 0) return undefined;
    if (instance !== undefined)
      hubs = hubs.filter((h) => this.peers.get(h)?.services.get(name)?.instances.includes(instance));
    if (hubs.length === 0) return undefined;
    if (hubs.length === 1) return hubs[0];
    return hubs[this.rr++ % hubs.length];
  }

  private send(hub: string, msg: Message, rule: CacheRule): RemoteOutcome {
    const nc = this.nc;
    if (!nc || nc.isClosed()) return 'failed';
    const line = encodeLine(msg, 'json');
    const data = encoder.encode(line);
    const subject = this.subjects.msg(hub, msg.to.service);
    try {
      if (msg.params.cache === undefined) {
        nc.publish(subject, data);
      } else {
        nc.request(subject, data, { timeout: this.config.timings.confirmMs }).then(
          () => {
            this.counters.confirmed++;
          },
          (err: unknown) => this.unconfirmed(hub, msg, line, rule, err),
        );
      }
    } catch (err) {
      // Over the server's max_payload, or the connection is closing.
      this.log.warn({ to: msg.to, command: msg.command, err: errorMessage(err) }, 'backplane could not send a message');
      return 'failed';
    }
    this.counters.sent++;
    return 'forwarded';
  }

  /** The receiving hub did not confirm (gone, or no answer in time): keep it, or tell the sender. */
  private unconfirmed(hub: string, msg: Message, line: string, rule: CacheRule, err: unknown): void {
    this.counters.unconfirmed++;
    const { name } = splitService(msg.to.service);
    this.log.debug({ hub, to: msg.to, err: errorMessage(err) }, 'message not confirmed by the receiving hub');
    // With no answer in time the other hub may still have taken it: kept anyway (at least once).
    if (!rule.noCache && (this.knownAnywhere.has(name) || this.port.knownServices().includes(name)))
      if (this.keep(msg, line, rule.ttlSeconds)) return;
    if (rule.reply && msg.sentFrom.service !== '') {
      const params: Record<string, JsonValue> = {
        destination_service: msg.to.service,
        unsent_command: msg.command,
        destination_server: hub,
      };
      this.port.deliverLocal(
        createMessage(
          'SERVICE_UNAVAILABLE',
          params,
          { server: this.self, service: msg.sentFrom.service },
          {
            server: this.self,
          },
        ),
      );
    }
  }

  /** Keeps a message in JetStream for its service (pinned to a hub when it named one). */
  private keep(msg: Message, line: string, ttlSeconds: number): boolean {
    if (!this.cache) return false;
    const { name, instance } = splitService(msg.to.service);
    const server = msg.to.server;
    const pin = server === '' || server === '*' || server === '?' ? ANY : server === '.' ? this.self : server;
    const subject = this.subjects.cache(pin, name, instance ?? ANY);
    return this.cache.hold(subject, pin, name, line, Date.now() + ttlSeconds * 1000);
  }

  private poke(pin: string, service: string): void {
    // Our own subscription does not hear us (noEcho): drain here directly.
    if ((pin === ANY || pin === this.self) && this.port.instancesOf(service).length > 0) this.scheduleDrain(service);
    this.publishRaw(this.subjects.poke(pin, service), '');
  }

  private publish(subject: string, value: unknown): void {
    this.publishRaw(subject, JSON.stringify(value));
  }

  private publishRaw(subject: string, text: string): void {
    const nc = this.nc;
    if (!nc || nc.isClosed()) return;
    try {
      nc.publish(subject, text === '' ? Empty : encoder.encode(text));
    } catch (err) {
      this.log.warn({ subject, err: errorMessage(err) }, 'backplane publish failed');
    }
  }

  private reply(msg: Message, command: string, params: Record<string, JsonValue>): void {
    const out = createMessage(command, params, msg.sentFrom, { server: this.self, service: '.' });
    this.port.deliverLocal({ ...out, to: { server: this.self, service: msg.sentFrom.service } });
  }

  // ---- receiving -----------------------------------------------------------------------------

  private invalid(subject: string, why: string): void {
    this.counters.invalid++;
    const now = Date.now();
    if (now - this.lastInvalidLog < 1000) return;
    this.lastInvalidLog = now;
    this.log.warn({ subject, why, invalidSoFar: this.counters.invalid }, 'backplane: input from NATS refused');
  }

  /** A message line from NATS, checked; undefined (logged) when it fails a check. */
  private readMessage(m: Msg): Message | undefined {
    let msg: Message;
    try {
      msg = decodeLine(readLine(m.data, this.config.maxLineLength));
    } catch (err) {
      this.invalid(m.subject, errorMessage(err));
      return undefined;
    }
    const from = msg.sentFrom.server;
    if (from === '' || from === '*' || from === '?' || from === '.' || from === this.self) {
      this.invalid(m.subject, `sender hub "${from}" is not another hub`);
      return undefined;
    }
    return msg;
  }

  private onMessage(m: Msg): void {
    if (this.stopped) return;
    const service = this.subjects.tokens(m.subject)?.[2];
    const msg = this.readMessage(m);
    if (!msg) return;
    const to = msg.to.server;
    if (to !== '' && to !== '*' && to !== '?' && to !== this.self) {
      this.invalid(m.subject, `message for hub "${to}" on this hub's subject`);
      return;
    }
    if (service !== (isBroadcastService(msg.to.service) ? ALL_SERVICES : msg.to.service)) {
      this.invalid(m.subject, `subject names service "${service}", the message "${msg.to.service}"`);
      return;
    }
    this.counters.received++;
    this.port.deliverLocal(msg);
    // Confirmed once the router took it (delivered, or kept under the cache rules).
    if (m.reply) m.respond(Empty);
  }

  private onBroadcast(m: Msg): void {
    if (this.stopped) return;
    const command = this.subjects.tokens(m.subject)?.[1];
    const msg = this.readMessage(m);
    if (!msg) return;
    if (!isBroadcastService(msg.to.service) || msg.command !== command) {
      this.invalid(m.subject, 'not a broadcast of the subject command');
      return;
    }
    this.counters.broadcastsIn++;
    this.port.notifyLocal(msg);
  }

  /** The hub named by the subject's last token, when it is another hub. */
  private otherHub(m: Msg): string | undefined {
    const hub = this.subjects.tokens(m.subject)?.[1];
    return hub === undefined || hub === this.self ? undefined : hub;
  }

  private onState(m: Msg): void {
    if (this.stopped) return;
    const hub = this.subjects.tokens(m.subject)?.[1];
    let state: HubState;
    try {
      state = readPayload(HubState, m.data, MAX_STATE_BYTES);
    } catch (err) {
      this.invalid(m.subject, errorMessage(err));
      return;
    }
    if (state.hub !== hub) {
      this.invalid(m.subject, `state of hub "${state.hub}" on the subject of "${hub}"`);
      return;
    }
    if (hub === this.self) {
      if (state.epoch !== this.epoch)
        this.invalid(m.subject, `another hub calls itself "${hub}" on this backplane: one of them must be renamed`);
      return;
    }
    this.applyState(state);
  }

  private onAlive(m: Msg): void {
    if (this.stopped) return;
    const hub = this.otherHub(m);
    if (hub === undefined) return;
    let a: Alive;
    try {
      a = readPayload(Alive, m.data, MAX_SMALL_BYTES);
    } catch (err) {
      this.invalid(m.subject, errorMessage(err));
      return;
    }
    if (a.hub !== hub) return this.invalid(m.subject, 'heartbeat of another hub');
    const peer = this.peers.get(hub);
    if (!peer || a.epoch > peer.epoch || (a.epoch === peer.epoch && a.seq > peer.seq)) {
      this.requestSync(hub);
      return;
    }
    if (a.epoch < peer.epoch) return;
    peer.lastHeard = Date.now();
    if (!peer.live) this.setLive(peer, peer.services);
  }

  private onBye(m: Msg): void {
    const hub = this.otherHub(m);
    if (hub === undefined || this.stopped) return;
    try {
      const b = readPayload(Bye, m.data, MAX_SMALL_BYTES);
      const peer = this.peers.get(hub);
      if (b.hub === hub && peer?.live && b.epoch === peer.epoch) this.setDown(peer, true);
    } catch (err) {
      this.invalid(m.subject, errorMessage(err));
    }
  }

  private onHello(m: Msg): void {
    if (this.stopped) return;
    try {
      const h = readPayload(Hello, m.data, MAX_SMALL_BYTES);
      if (h.hub !== this.self && this.lastState) this.publish(this.subjects.state(this.self), this.lastState);
    } catch (err) {
      this.invalid(m.subject, errorMessage(err));
    }
  }

  private onSync(m: Msg): void {
    if (!this.stopped && this.lastState && m.reply) m.respond(encoder.encode(JSON.stringify(this.lastState)));
  }

  private onControl(m: Msg): void {
    if (this.stopped) return;
    const command = this.subjects.tokens(m.subject)?.[1];
    let c: { hub: string; epoch: number; server_name?: string | undefined };
    try {
      c = readPayload(Control, m.data, MAX_SMALL_BYTES);
    } catch (err) {
      this.invalid(m.subject, errorMessage(err));
      return;
    }
    if (c.hub === this.self) return;
    // Anyone with the NATS credentials can publish here: only a command an identity allowed to
    // send it started (its proof) is obeyed (src/trust/cluster-commands.ts).
    if (command === 'SHUTDOWN' || command === 'FORGET') {
      const guard = this.port.clusterCommands;
      const detail = command === 'FORGET' ? (c.server_name ?? '') : '';
      if (guard && guard.check(command, detail, { ...c }, `hub ${c.hub} (backplane)`) !== undefined) return;
    }
    if (command === 'SHUTDOWN') {
      this.log.warn({ from: c.hub }, 'cluster SHUTDOWN over the backplane');
      this.shutdownCluster(c.hub);
    } else if (command === 'FORGET' && c.server_name) this.forget(c.server_name);
  }

  private onPoke(m: Msg): void {
    const t = this.subjects.tokens(m.subject);
    const pin = t?.[1];
    const service = t?.[2];
    if (this.stopped || !pin || !service || (pin !== ANY && pin !== this.self)) return;
    if (this.port.instancesOf(service).length > 0) this.scheduleDrain(service);
  }

  private requestSync(hub: string): void {
    const nc = this.nc;
    let peer = this.peers.get(hub);
    if (peer?.syncing || !nc || nc.isClosed()) return;
    if (peer) peer.syncing = true;
    nc.request(this.subjects.sync(hub), Empty, { timeout: this.config.timings.confirmMs }).then(
      (r) => {
        peer = this.peers.get(hub);
        if (peer) peer.syncing = false;
        try {
          const state = readPayload(HubState, r.data, MAX_STATE_BYTES);
          if (state.hub === hub) this.applyState(state);
          else this.invalid(this.subjects.sync(hub), `hub "${state.hub}" answered for "${hub}"`);
        } catch (err) {
          this.invalid(this.subjects.sync(hub), errorMessage(err));
        }
      },
      () => {
        peer = this.peers.get(hub);
        if (peer) peer.syncing = false;
      },
    );
  }

  // ---- the table of hubs ---------------------------------------------------------------------

  private applyState(s: HubState): void {
    let peer = this.peers.get(s.hub);
    if (peer && (s.epoch < peer.epoch || (s.epoch === peer.epoch && s.seq < peer.seq))) return;
    const services = new Map(s.services.map((x) => [x.name, x]));
    for (const name of [...services.keys(), ...s.known]) this.remember(name);
    if (!peer) {
      peer = {
        name: s.hub,
        epoch: s.epoch,
        seq: s.seq,
        address: s.address,
        cluster: s.cluster,
        services: new Map(),
        known: s.known,
        live: false,
        lastHeard: Date.now(),
        upSince: Date.now(),
        syncing: false,
      };
      this.peers.set(s.hub, peer);
    }
    peer.epoch = s.epoch;
    peer.seq = s.seq;
    peer.address = s.address;
    peer.cluster = s.cluster;
    peer.known = s.known;
    peer.lastHeard = Date.now();
    this.setLive(peer, services);
  }

  private remember(name: string): void {
    if (this.knownAnywhere.size < MAX_KNOWN) this.knownAnywhere.add(name);
  }

  /** The peer is live with `services`: STATUS for what changed, NEW_REMOTE_CONNECTION when it just came. */
  private setLive(peer: Peer, services: Map<string, ServiceState>): void {
    const before = peer.live ? peer.services : new Map<string, ServiceState>();
    const came = !peer.live;
    peer.live = true;
    peer.services = services;
    if (came) {
      peer.upSince = Date.now();
      this.log.info({ peer: peer.name, address: peer.address }, 'hub joined the backplane');
      this.notify('NEW_REMOTE_CONNECTION', { server_name: peer.name });
    }
    this.servicesMoved(peer.name, before, services);
  }

  private setDown(peer: Peer, said: boolean): void {
    if (!peer.live) return;
    const before = peer.services;
    peer.live = false;
    this.log.info({ peer: peer.name, said }, said ? 'hub left the backplane' : 'hub not heard: down');
    this.notify('DISCONNECTED', { server_name: peer.name });
    if (!said) this.notify('HANGUP', { server_name: peer.name });
    this.servicesMoved(peer.name, before, new Map());
  }

  private forget(name: string): void {
    const peer = this.peers.get(name);
    if (!peer || peer.live) return;
    this.peers.delete(name);
    this.checkClusterStatus();
    this.changed();
  }

  private servicesMoved(hub: string, before: Map<string, ServiceState>, after: Map<string, ServiceState>): void {
    const now = Math.floor(Date.now() / 1000);
    let moved = false;
    for (const [name, s] of after)
      if (!before.has(name)) {
        moved = true;
        this.notify('STATUS', { service: name, server_name: hub, status: 'up', up_since: String(s.since) });
      }
    for (const name of before.keys())
      if (!after.has(name)) {
        moved = true;
        this.notify('STATUS', { service: name, server_name: hub, status: 'down', down_since: String(now) });
      }
    if (moved || before.size !== after.size) this.reindex();
    // Instance lists change without the service moving; the index only needs names.
    this.checkClusterStatus();
    this.changed();
  }

  private reindex(): void {
    const where = new Map<string, string[]>();
    for (const p of this.peers.values()) {
      if (!p.live) continue;
      for (const name of p.services.keys()) {
        const list = where.get(name);
        if (list) list.push(p.name);
        else where.set(name, [p.name]);
      }
    }
    this.where = where;
  }

  private notify(command: string, params: Record<string, JsonValue>): void {
    this.port.notifyLocal(createMessage(command, params, { service: '*' }, { server: this.self }));
  }

  private changed(): void {
    for (const l of this.changeListeners) {
      try {
        l();
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'a backplane change listener failed');
      }
    }
  }

  // ---- this hub's state ----------------------------------------------------------------------

  private publishState(): void {
    const services = this.port.localServices();
    const up = new Set(services.map((s) => s.name));
    const next = new Map<string, string[]>();
    for (const s of services) {
      next.set(s.name, s.instances);
      this.remember(s.name);
      const before = this.published.get(s.name);
      // A new instance: messages kept for the service (or for that instance) are its now.
      if (!before || s.instances.some((i) => !before.includes(i))) this.scheduleDrain(s.name);
    }
    this.published = next;
    this.lastState = {
      v: 1,
      hub: this.self,
      epoch: this.epoch,
      seq: ++this.seq,
      address: this.address,
      cluster: this.port.clusterName,
      services,
      known: this.port.knownServices().filter((n) => !up.has(n)),
    };
    this.publish(this.subjects.state(this.self), this.lastState);
  }

  private tick(): void {
    if (this.stopped) return;
    // cluster-status shows the stream's figures as of the last few seconds.
    if (++this.ticks % 5 === 1) this.refreshStreamInfo();
    this.publish(this.subjects.alive(this.self), { hub: this.self, epoch: this.epoch, seq: this.seq });
    const now = Date.now();
    for (const p of this.peers.values())
      if (p.live && now - p.lastHeard > this.config.timings.deadAfterMs) this.setDown(p, false);
  }

  // ---- the JetStream cache -------------------------------------------------------------------

  /** Drains kept messages for `name` into its local instances; one walk at a time per service. */
  private scheduleDrain(name: string): void {
    if (this.stopped || !this.cache) return;
    if (this.draining.has(name)) {
      this.draining.set(name, true);
      return;
    }
    this.draining.set(name, false);
    void (async () => {
      try {
        do {
          this.draining.set(name, false);
          await this.drainOnce(name);
        } while (this.draining.get(name) === true && !this.stopped);
      } catch (err) {
        this.log.warn({ service: name, err: errorMessage(err) }, 'could not drain kept messages; retrying');
        setTimeout(() => this.scheduleDrain(name), 1000).unref();
      } finally {
        this.draining.delete(name);
      }
    })();
  }

  private async drainOnce(name: string): Promise<void> {
    const cache = this.cache;
    if (!cache || this.port.instancesOf(name).length === 0) return;
    const n = await cache.drain(
      name,
      (pin, instance) =>
        (pin === ANY || pin === this.self) && (instance === ANY || this.port.instancesOf(name).includes(instance)),
      (line) => {
        if (this.stopped || this.port.instancesOf(name).length === 0) return false;
        let msg: Message;
        try {
          msg = decodeLine(line);
        } catch (err) {
          this.invalid(this.subjects.cacheOf(name), errorMessage(err));
          return true;
        }
        this.port.deliverLocal(msg);
        return true;
      },
    );
    if (n > 0) this.log.info({ service: name, messages: n }, 'delivered messages kept in JetStream');
  }

  // ---- cluster status ------------------------------------------------------------------------

  private currentStatus(): ClusterStatus {
    let live = 1;
    for (const p of this.peers.values()) if (p.live) live++;
    return clusterStatus(this.peers.size + 1, live);
  }

  /** `CLUSTER_UP|DOWN` and `CLUSTER_COMPLETE|INCOMPLETE`, each with `neighbors_count` (as the mesh). */
  clusterStatusReplies(): [string, Record<string, JsonValue>][] {
    const s = this.currentStatus();
    return statusCommands(s).map((command) => [command, { neighbors_count: String(s.total) }]);
  }

  private checkClusterStatus(): void {
    const s = this.currentStatus();
    const before = this.lastStatus;
    this.lastStatus = s;
    if (before && before.up === s.up && before.complete === s.complete && before.total === s.total) return;
    const [upDown, complete] = statusCommands(s);
    if (!before || before.up !== s.up) this.notify(upDown, { neighbors_count: String(s.total) });
    if (!before || before.complete !== s.complete) this.notify(complete, { neighbors_count: String(s.total) });
  }

  private shutdownCluster(from?: string, proof?: ClusterProof): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    if (!from) {
      this.log.warn({ by: proof?.by }, 'cluster SHUTDOWN from a local connection');
      this.publish(this.subjects.ctl('SHUTDOWN'), { hub: this.self, epoch: this.epoch, ...proof });
    }
    this.port.requestStop(from ? `SHUTDOWN of the cluster (from hub ${from})` : 'SHUTDOWN of the cluster');
  }

  /** Asks JetStream about the cache stream in the background; status() shows the last answer. */
  private refreshStreamInfo(): void {
    if (this.streamAsking || !this.cache) return;
    this.streamAsking = true;
    void this.cache
      .info()
      .then((info) => {
        if (info) this.streamInfo = info;
      })
      .finally(() => {
        this.streamAsking = false;
      });
  }

  /**
   * The mesh's status shape (cluster-status and the dashboard read it) plus the backplane's own
   * part. Never waits for NATS: the stream figures are the last JetStream gave (asked again now).
   */
  status(): BackplaneStatus {
    this.refreshStreamInfo();
    const live = [...this.peers.values()].filter((p) => p.live);
    const liveNames = [this.self, ...live.map((p) => p.name)];
    const stream = this.streamInfo ?? null;
    const local = this.lastState?.services.map((s) => s.name) ?? [];
    return {
      server: this.self,
      address: this.address,
      cluster: this.currentStatus(),
      transport: 'backplane',
      // Over NATS every live hub reaches every other one directly.
      links: live.map((p) => ({
        server: p.name,
        address: p.address,
        outgoing: true,
        secure: this.config.servers.some((s) => s.startsWith('tls://')),
        since: p.upSince,
      })),
      neighbors: [],
      hubs: [
        {
          name: this.self,
          reachable: true,
          distance: 0,
          address: this.address,
          services: local,
          links: liveNames.filter((n) => n !== this.self),
        },
        ...[...this.peers.values()].map((p) => ({
          name: p.name,
          reachable: p.live,
          ...(p.live ? { distance: 1, nextHop: p.name } : {}),
          address: p.address,
          services: p.live ? [...p.services.keys()] : [],
          links: p.live ? liveNames.filter((n) => n !== p.name) : [],
        })),
      ].sort((a, b) => a.name.localeCompare(b.name)),
      blocked: [],
      refused: this.port.clusterCommands?.refused() ?? [],
      cachedForRemote: this.cache?.stats.pending ?? 0,
      backplane: {
        namespace: this.config.namespace,
        servers: this.config.servers,
        connectedTo: this.address,
        connected: this.nc !== undefined && !this.nc.isClosed() && this.address !== '',
        stream: stream ? { name: this.subjects.stream, ...stream } : null,
        cache: { ...(this.cache?.stats ?? { stored: 0, delivered: 0, expired: 0, dropped: 0, pending: 0 }) },
        counters: { ...this.counters },
      },
    };
  }
}
