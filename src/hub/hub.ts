/**
 * The hub daemon, composed of small parts: listeners (listeners.ts), a registry of services
 * (service-catalog.ts), a router (router.ts) with its cache (message-cache.ts), the hub's own commands
 * (commands.ts), the sniff tap (sniff-tap.ts) and, when attached, the remote side (the mesh, via
 * remote.ts). This class only accepts connections (each behind the core's message layer, which
 * decodes its lines, answers bad ones with INVALID and offers text lines to the fast path),
 * stamps the sender of each message and hands it to the right part.
 */
import { decodeText, encodeText, type TextHead } from '../core/codec/index.js';
import type { Channel } from '../core/channel.js';
import { errorMessage, SwitchboardError, type InvalidMessageError } from '../core/errors.js';
import { getLogger, type Logger } from '../core/log.js';
import { LogThrottle } from '../core/log-throttle.js';
import { createMessage, type JsonValue, type Message } from '../core/message.js';
import { MessageConnection, Outgoing, restamp, type Received } from '../core/message-connection.js';
import { isBroadcast, isThisHub } from '../core/protocol/index.js';
import { memoryChannelPair } from '../core/transports/index.js';
import { DEFAULT_CACHE_LIMITS, MessageCache } from './message-cache.js';
import {
  HUB_COMMANDS,
  HubCommands,
  NOTICES,
  UDP_REFUSED,
  type CommandContext,
  type EndpointsCheck,
  type HubCommandHandler,
} from './commands.js';
import { redactPassword, type HubConfig } from './config.js';
import { HubConnection, type ConnectionKind } from './connection.js';
import { HubGate, looksLikeHttp, withoutSecrets } from './gate.js';
import { bindListeners, type BoundListener } from './listeners.js';
import { ServiceCatalog, type InstanceEntry } from './service-catalog.js';
import type { CommandReply, ExtensionCommand, HubAddress, HubContext, HubCounters } from './context.js';
import type { LocalServiceSummary, RemoteHooks } from './remote.js';
import { Router } from './router.js';
import { statusParams } from './service-list.js';
import { SniffTap, type MessageTally } from './sniff-tap.js';
import { RESERVED_SERVICES, TrustPolicy } from '../trust/policy.js';
import { originProblem } from '../trust/origin.js';
import { ClusterCommandGuard } from '../trust/cluster-commands.js';
import { RefusalLog } from '../trust/refusals.js';
import { ensureTokenFile } from '../trust/token-file.js';

export type HubState = 'new' | 'running' | 'stopping' | 'stopped';

export type { HubAddress } from './context.js';

/** Repeating faults are logged once per this many ms per cause, with a count (a flood must not flood the log). */
const FAULT_LOG_MS = 10_000;
/** How long a connection without a service must have been quiet before a newcomer at max_connections may take its slot. */
const MIN_QUIET_TO_EVICT_MS = 1000;

export class Hub implements HubContext, CommandContext {
  readonly serverName: string;
  readonly services: ServiceCatalog<HubConnection>;
  readonly cache: MessageCache<HubConnection>;
  readonly tap: SniffTap;
  readonly router: Router;
  readonly log: Logger;
  readonly startedAt = Date.now();
  readonly stopped: Promise<string>;
  /** Who may do what (identities, roles, the admin token); see src/trust. */
  readonly trust: TrustPolicy;
  /** Refusals counted by reason and logged once (throttled). */
  readonly refusals: RefusalLog;
  /** Each connection's identity and the per-line check (gate.ts). */
  readonly gate: HubGate;
  /** Signs and checks SHUTDOWN and FORGET crossing the cluster (src/trust/cluster-commands.ts). */
  readonly clusterCommands: ClusterCommandGuard;
  /**
   * Proves the hub's own services (they may register reserved names such as `sync`) when a
   * built-in service reaches the hub over a listener: pass it as the client's `token`. Memory only.
   */
  readonly serviceToken: string;
  /** The admin token from `token_file`, once started (the dashboard prints it in its URL). */
  adminToken: string | undefined;
  private readonly commands: HubCommands;
  private readonly connections = new Set<HubConnection>();
  private readonly extraCommands = new Map<string, HubCommandHandler>();
  private streamCount = 0;
  private bound: BoundListener[] = [];
  private remoteHooks: RemoteHooks | undefined;
  private checkOfEndpoints: EndpointsCheck | undefined;
  private currentState: HubState = 'new';
  private stopping: Promise<void> | undefined;
  private resolveStopped!: (reason: string) => void;
  /** Faults an outsider can repeat at will (refused connections and datagrams, churn): one line per cause per interval. */
  private readonly faultLog: LogThrottle;
  /** Connections refused at max_connections; datagrams refused (secret, size, UDP rules). */
  readonly faults = {
    refusedConnections: 0,
    refusedSignals: 0,
    invalidLines: 0,
    silentConnections: 0,
    evictedConnections: 0,
  };

  constructor(
    readonly config: HubConfig,
    options: { log?: Logger } = {},
  ) {
    this.serverName = config.serverName;
    this.log = options.log ?? getLogger('hub', { server: config.serverName });
    this.services = new ServiceCatalog<HubConnection>(config.serverName, config.services);
    this.tap = new SniffTap(config.serverName);
    this.trust = new TrustPolicy(config.trust, new Set(RESERVED_SERVICES));
    this.refusals = new RefusalLog(this.log);
    this.faultLog = new LogThrottle(this.log, FAULT_LOG_MS);
    this.cache = new MessageCache(
      { ...DEFAULT_CACHE_LIMITS, perServiceBytes: config.maxServiceCacheBytes, totalBytes: config.maxCacheBytes },
      (dropped, why) => this.router.cacheDropped(dropped, why),
    );
    this.gate = new HubGate(this.trust, this.refusals, NOTICES, () => this.adminToken);
    this.clusterCommands = new ClusterCommandGuard(this.trust, this.refusals);
    this.serviceToken = this.trust.issueServiceToken();
    this.router = new Router({
      serverName: this.serverName,
      services: this.services,
      cache: this.cache,
      tap: this.tap,
      log: this.log,
      remote: () => this.remoteHooks,
    });
    this.commands = new HubCommands(this);
    // The tap hands its sink each message with the tokens in its body (DISPATCH carries agents' sbt_) masked.
    if (config.debugAllMessages)
      this.tap.watchAll((outcome, msg, deliveredTo, reason) =>
        this.log.info(
          {
            outcome,
            message: encodeText(msg),
            ...(deliveredTo?.length ? { deliveredTo } : {}),
            ...(reason ? { reason } : {}),
          },
          'message (debug_all_messages)',
        ),
      );
    this.stopped = new Promise((resolve) => {
      this.resolveStopped = resolve;
    });
  }

  get state(): HubState {
    return this.currentState;
  }

  /** Where the hub listens, with the ports actually bound (passwords in URLs shown as `***`). */
  get addresses(): HubAddress[] {
    return this.bound.map((b) => ({ kind: b.kind, url: redactPassword(b.listener.address) }));
  }

  /** Number of open connections (stream and UDP peers). */
  get connectionCount(): number {
    return this.connections.size;
  }

  counters(): HubCounters {
    const queues: HubCounters['queues'] = [];
    for (const conn of this.connections)
      queues.push({ service: conn.registration?.name, bytes: conn.channel.stats.bufferedBytes });
    return { connections: this.connections.size, faults: { ...this.faults }, refusals: this.refusals.totals(), queues };
  }

  countMessages(): MessageTally {
    return this.tap.countMessages();
  }

  async start(): Promise<this> {
    if (this.currentState !== 'new')
      throw new SwitchboardError('CONFLICT', `the hub is ${this.currentState}; a hub starts once`);
    this.currentState = 'running';
    try {
      if (this.config.tokenFile) {
        const admin = ensureTokenFile(this.config.tokenFile);
        if (admin.replaced)
          this.log.warn(
            { file: admin.path, why: admin.replaced },
            'the admin token file was not private: wrote a new token',
          );
        this.adminToken = admin.token;
        this.trust.addAdminToken(admin.token);
      }
      this.bound = await bindListeners(this.config, (ch, kind, myAddress) => this.accept(ch, kind, myAddress), {
        checkHandshake: ({ origin, host, remoteAddress }) => {
          const problem = originProblem(origin, host, { allowed: this.config.wsOrigins, literalHostOnly: true });
          if (problem !== undefined)
            this.refusals.record(
              'origin',
              { remote: remoteAddress, rule: 'ws_origins', what: 'ws' },
              `WebSocket listener: ${problem} (ws_origins names the pages that may connect)`,
            );
          return problem;
        },
      });
    } catch (err) {
      this.currentState = 'stopped';
      this.resolveStopped(`failed to start: ${errorMessage(err)}`);
      throw err;
    }
    this.log.info({ addresses: this.addresses.map((a) => a.url) }, 'hub listening');
    return this;
  }

  /** Plugs in the remote side (the mesh). */
  attachRemote(hooks: RemoteHooks): void {
    this.remoteHooks = hooks;
  }

  remote(): RemoteHooks | undefined {
    return this.remoteHooks;
  }

  /**
   * Adds a command to the hub itself (a message with no service), for extensions such as
   * discovery. Built-in commands cannot be replaced. Returns a function that removes it.
   */
  addCommand(command: string, handler: ExtensionCommand): () => void {
    if (HUB_COMMANDS.includes(command) || NOTICES.has(command) || this.extraCommands.has(command)) {
      throw new SwitchboardError('CONFLICT', `the hub already handles ${command}`);
    }
    this.extraCommands.set(command, (conn, msg) => {
      const reply: CommandReply = (answer, params) => this.tell(conn, answer, params);
      handler(msg, reply);
    });
    return () => {
      this.extraCommands.delete(command);
    };
  }

  /** Sets the check of REGISTER's `endpoints=` (one per hub: discovery's); returns its remover. */
  checkEndpoints(check: EndpointsCheck): () => void {
    if (this.checkOfEndpoints) throw new SwitchboardError('CONFLICT', 'the hub already has an endpoints check');
    this.checkOfEndpoints = check;
    return () => {
      if (this.checkOfEndpoints === check) this.checkOfEndpoints = undefined;
    };
  }

  endpointsCheck(): EndpointsCheck | undefined {
    return this.checkOfEndpoints;
  }

  extraCommand(command: string): HubCommandHandler | undefined {
    return this.extraCommands.get(command);
  }

  extraCommandNames(): string[] {
    return [...this.extraCommands.keys()];
  }

  /** A connection for an in-process service: the returned channel is the service's end. */
  connectInProcess(name = 'in-process'): Channel {
    const [hubSide, serviceSide] = memoryChannelPair({
      maxQueuedBytes: this.config.maxQueuedBytes,
      maxLineLength: this.config.maxLineLength,
      names: [`${name}-hub`, name],
    });
    this.accept(hubSide, 'memory', this.bound.find((b) => b.kind !== 'signal')?.myAddress ?? '');
    return serviceSide;
  }

  /** Takes a new channel from a listener (or an in-process pair). */
  accept(channel: Channel, kind: ConnectionKind, myAddress: string): void {
    if (this.currentState !== 'running') {
      channel.close();
      return;
    }
    const stream = kind !== 'signal';
    if (stream && kind !== 'memory' && this.streamCount >= this.config.maxConnections && !this.makeRoom()) {
      this.faults.refusedConnections++;
      const message = `the hub is at max_connections (${this.config.maxConnections}): connection refused`;
      new MessageConnection(channel, { format: 'text' }).send(
        createMessage('INVALID', { message }, {}, { server: this.serverName }),
      );
      channel.close();
      this.faultLog.warn(
        'max-connections',
        { remote: channel.remoteAddress, max: this.config.maxConnections },
        'too many connections: refused',
      );
      return;
    }
    const conn: HubConnection = new HubConnection(
      channel,
      kind,
      myAddress,
      this.serverName,
      {
        slowConsumerTimeoutMs: this.config.slowConsumerTimeoutMs,
        highWaterBytes: Math.floor(this.config.maxQueuedBytes / 4),
        maxQueuedBytes: this.config.maxQueuedBytes,
        firstMessageTimeoutMs: this.config.firstMessageTimeoutMs,
      },
      this.log,
      this.gate.grantAt(channel, kind),
      stream ? (head, raw) => this.forwardText(conn, head, raw) : undefined,
      // Datagrams are checked after their secret_code (acceptSignal).
      stream ? (_server, service, command) => this.gate.admit(conn, service, command) : undefined,
    );
    this.connections.add(conn);
    if (stream && kind !== 'memory') this.streamCount++;
    conn.onSilent = (seconds) => {
      this.faults.silentConnections++;
      this.faultLog.info(
        'silent',
        { remote: channel.remoteAddress, via: kind, seconds },
        'closed a connection that sent no valid message in time (first_message_timeout)',
      );
    };
    // What the hub answers a connection counts against its own queue like any other traffic: past
    // the high watermark, the asker is not read until it has read the answers (holdBack on itself).
    conn.messages.listen({
      message: (received) => {
        conn.heard();
        this.onMessage(conn, received);
        conn.holdBack(conn);
      },
      invalid: (raw, err, reply) => {
        this.onInvalid(conn, raw, err, reply);
        conn.holdBack(conn);
      },
      refused: (received, reason, reply) => {
        this.onRefused(conn, received, reply);
        conn.holdBack(conn);
      },
      error: (err, reply) => this.onChannelError(conn, err, reply),
      close: () => this.onClose(conn),
      drain: () => conn.drained(),
    });
    this.log.debug({ connection: channel.id, kind, remote: channel.remoteAddress }, 'connection accepted');
  }

  /**
   * At max_connections, a newcomer takes the slot of the connection that uses it least: one that
   * registered no service, is not sniffing, and has sent nothing for the longest time (at least
   * MIN_QUIET_TO_EVICT_MS). first_message_timeout only covers a connection's first line; this keeps
   * one valid line followed by silence from holding a slot while others wait. False: nobody to evict.
   */
  private makeRoom(): boolean {
    const now = Date.now();
    let idlest: HubConnection | undefined;
    for (const c of this.connections) {
      if (!c.isStream || c.kind === 'memory' || c.registration || c.sniff || c.channel.state !== 'open') continue;
      const at = c.channel.stats.lastInAt;
      if (now - at >= MIN_QUIET_TO_EVICT_MS && (!idlest || at < idlest.channel.stats.lastInAt)) idlest = c;
    }
    if (!idlest) return false;
    const seconds = Math.round((now - idlest.channel.stats.lastInAt) / 1000);
    this.faults.evictedConnections++;
    this.faultLog.info(
      'evicted',
      { remote: idlest.channel.remoteAddress, via: idlest.kind, quietSeconds: seconds },
      'at max_connections: closed an idle connection without a service to let a new one in',
    );
    idlest.evict(
      `the hub is at max_connections (${this.config.maxConnections}) and a new connection needed a slot: this one registered no service and sent nothing for ${seconds} s, so it was closed; REGISTER service=NAME;version=1 to keep a connection`,
    );
    return true;
  }

  /** A line that did not decode: the message layer answered INVALID (stream connections). */
  private onInvalid(conn: HubConnection, raw: string, err: InvalidMessageError, reply: Message | undefined): void {
    if (conn.isStream && looksLikeHttp(raw)) return this.crossProtocol(conn, raw);
    conn.firstLine = false;
    this.faults.invalidLines++;
    if (reply && this.tap.active) this.tap.publish('sent', reply);
    this.log.debug({ connection: conn.id, err: err.message }, 'invalid line');
    if (this.tap.active) this.tap.publishInvalid(raw, err.message);
  }

  /** A line the gate refused (its sentence went back as INVALID). */
  private onRefused(conn: HubConnection, { message: msg, raw }: Received, reply: Message | undefined): void {
    if (conn.firstLine && conn.isStream && looksLikeHttp(raw)) return this.crossProtocol(conn, raw);
    conn.firstLine = false;
    if (this.tap.active) {
      msg.sentFrom = conn.sender();
      this.tap.publish('refused', withoutSecrets(msg), undefined, String(reply?.params.message ?? 'refused'));
      if (reply) this.tap.publish('sent', reply);
    }
  }

  /** An HTTP request on a stream listener: logged once as a cross-protocol attempt, the connection closed unanswered. */
  private crossProtocol(conn: HubConnection, raw: string): void {
    this.gate.crossProtocol(conn, raw);
    conn.messages.detach();
    conn.close();
    this.onClose(conn);
  }

  private onMessage(conn: HubConnection, { message: msg, format, raw }: Received): void {
    if (conn.firstLine) {
      if (conn.isStream && looksLikeHttp(raw)) return this.crossProtocol(conn, raw);
      conn.firstLine = false;
      if (conn.kind === 'secure' && this.handOverLink(conn, msg)) return;
    }
    if (this.currentState === 'stopping' && msg.command !== 'UNREGISTER') {
      this.tell(conn, 'QUITTING', {});
      conn.close();
      return;
    }
    if (conn.kind === 'signal' && !this.acceptSignal(conn, msg)) return;
    msg.sentFrom = conn.sender();
    try {
      if (msg.to.service === '') {
        const server = msg.to.server;
        if (isThisHub(server, this.serverName) || !this.remoteHooks) {
          if (this.tap.active) this.tap.publish('hub', withoutSecrets(msg));
          this.commands.handle(conn, msg);
          return;
        }
      }
      // Text from a stream is passed on as it came, behind the hub's sender block (UDP lines lose secret_code).
      this.router.route(msg, conn, conn.kind !== 'signal' && format === 'text' ? raw : undefined);
    } catch (err) {
      this.log.error(
        {
          connection: conn.id,
          command: msg.command,
          err: errorMessage(err),
          stack: err instanceof Error ? err.stack : undefined,
        },
        'internal error while handling a message',
      );
      if (conn.isStream)
        this.tell(conn, 'INVALID', {
          command: msg.command,
          message: `internal error in the hub: ${errorMessage(err)}`,
        });
    }
  }

  /**
   * The fast path (the message layer's shortcut, stream connections past their first line): a
   * valid text line for a live local instance that reads text, with nothing that needs the message
   * itself (a sniffer, a cache rule, a transmission report, the hub stopping). The layer checked
   * the whole line (scanText applies the decoder's rules; a bad line takes the full path and gets
   * INVALID); the instance gets the line behind the hub's sender block, as the full path would
   * send it. False when the full path must handle it.
   */
  private forwardText(conn: HubConnection, head: Readonly<TextHead>, raw: string): boolean {
    // A sniffer needs the message; the dashboard's tally alone does not (deliverLine counts for it).
    if (head.special || this.currentState !== 'running' || this.tap.sniffing) return false;
    const service = head.service;
    if (service.length === 0 || isBroadcast(service) || !isThisHub(head.server, this.serverName)) return false;
    const inst = this.router.pick(service);
    if (inst === undefined) return false;
    if ((inst.connection.format ?? 'text') === 'text') {
      this.router.deliverLine(inst, restamp(conn.sender(), raw), head.command, conn);
      return true;
    }
    // Picked already (round-robin moved on): the same delivery the full path would make, to this instance.
    const msg = decodeText(raw);
    msg.sentFrom = conn.sender();
    this.router.deliverTo(inst, msg, raw, conn);
    return true;
  }

  /** A hub link on the TLS listener (first line CONNECT or GOSSIP): the mesh takes the channel over. */
  private handOverLink(conn: HubConnection, msg: Message): boolean {
    const remote = this.remoteHooks;
    if (!remote?.acceptLink || msg.to.service !== '' || (msg.command !== 'CONNECT' && msg.command !== 'GOSSIP'))
      return false;
    // The channel leaves the hub's books: its later frames and its close are the mesh's.
    conn.detach();
    this.connections.delete(conn);
    this.streamCount--;
    remote.acceptLink(conn.channel, msg);
    return true;
  }

  /** UDP rules: the secret, and the commands a datagram may not carry. */
  private acceptSignal(conn: HubConnection, msg: Message): boolean {
    const secret = this.config.signalSecret;
    if (secret !== null) {
      const given = msg.params.secret_code;
      if (given !== secret) {
        this.faults.refusedSignals++;
        this.faultLog.warn(
          given === undefined ? 'signal-no-secret' : 'signal-wrong-secret',
          {
            remote: conn.channel.remoteAddress,
            command: msg.command,
            why: given === undefined ? 'no secret_code' : 'wrong secret_code',
          },
          'signal dropped: secret_code does not match signal_secret',
        );
        if (this.tap.active) this.tap.publish('refused', msg, undefined, 'wrong or missing secret_code');
        return false;
      }
    }
    if (msg.params.secret_code !== undefined) delete msg.params.secret_code;
    // The secret proves the signal role; without a secret configured, the sender's address decides.
    conn.grant = secret !== null ? this.trust.anonymous('signal') : this.gate.byAddress(conn.channel.remoteAddress);
    const refusal = this.gate.check(conn.grant, msg.to.service, msg.command);
    if (refusal !== undefined) {
      this.faults.refusedSignals++;
      const message =
        refusal.reason === 'commands' && (msg.command === 'STOP' || msg.command === 'SHUTDOWN')
          ? `${msg.command} over UDP needs the hub's signal_secret (secret_code=...); ${refusal.message}`
          : refusal.message;
      this.gate.record(conn, { ...refusal, message }, msg.command);
      if (this.tap.active) this.tap.publish('refused', msg, undefined, message);
      return false;
    }
    if (UDP_REFUSED.has(msg.command)) {
      this.faults.refusedSignals++;
      const message = `${msg.command} is not accepted over UDP: send it on a stream connection (cd://)`;
      this.faultLog.warn(
        `udp-refused:${msg.command}`,
        { remote: conn.channel.remoteAddress, command: msg.command },
        'command refused over UDP',
      );
      this.tell(conn, 'INVALID', { command: msg.command, message });
      if (this.tap.active) this.tap.publish('refused', msg, undefined, message);
      return false;
    }
    return true;
  }

  private onChannelError(conn: HubConnection, err: Error, reply: Message | undefined): void {
    const code = err instanceof SwitchboardError ? err.code : (err as { code?: string }).code;
    if (code === 'LINE_TOO_LONG') {
      this.faults.invalidLines++;
      this.faultLog.warn(
        'line-too-long',
        { connection: conn.id, remote: conn.channel.remoteAddress, service: conn.registration?.id, err: err.message },
        'line too long: closing the connection',
      );
      // The message layer answered INVALID; the channel closes after it.
      if (reply && this.tap.active) this.tap.publish('sent', reply);
    } else if (code === 'DATAGRAM_TOO_LARGE') {
      this.faults.refusedSignals++;
      this.faultLog.warn(
        'datagram-too-large',
        { remote: conn.channel.remoteAddress, err: err.message },
        'oversized datagram dropped',
      );
    } else {
      this.log.debug({ connection: conn.id, err: err.message }, 'connection error');
    }
  }

  private onClose(conn: HubConnection): void {
    if (!this.connections.delete(conn)) return;
    conn.releaseSenders();
    if (conn.isStream && conn.kind !== 'memory') this.streamCount--;
    if (conn.sniff) this.tap.remove(conn);
    if (conn.registration) this.unregister(conn, 'connection closed');
    this.log.debug({ connection: conn.id }, 'connection closed');
  }

  // ---- CommandContext ------------------------------------------------------------------------

  tell(conn: HubConnection, command: string, params: Record<string, JsonValue> = {}): void {
    const msg = createMessage(command, params, conn.sender(), { server: this.serverName });
    if (this.tap.active && command !== 'SNIFFING') this.tap.publish('sent', msg);
    conn.write(new Outgoing(msg));
  }

  registered(conn: HubConnection, inst: InstanceEntry<HubConnection>): void {
    // Per name: a client that registers and leaves in a loop gets one line per interval, with the count.
    this.faultLog.info(
      `registered:${inst.name}`,
      { service: inst.id, via: conn.kind, remote: conn.channel.remoteAddress },
      'service registered',
    );
    this.tell(conn, 'HELP');
    this.tell(conn, 'READY', {
      my_address: conn.localAddress,
      server_name: this.serverName,
      service: inst.name,
      instance: inst.instance,
    });
    this.notifyStatus(inst);
    this.remoteHooks?.servicesChanged();
    this.router.flushCache(inst);
  }

  unregister(conn: HubConnection, why: string): void {
    const inst = conn.registration;
    if (!inst) return;
    conn.registration = undefined;
    conn.stopBacklog();
    if (!this.services.unregister(inst)) return;
    this.faultLog.info(`unregistered:${inst.name}`, { service: inst.id, why }, 'service unregistered');
    this.notifyStatus(inst);
    this.remoteHooks?.servicesChanged();
  }

  private notifyStatus(inst: InstanceEntry<HubConnection>): void {
    const msg = createMessage(
      'STATUS',
      statusParams(this.serverName, inst.service, inst),
      { service: '*' },
      { server: this.serverName },
    );
    this.router.broadcastLocal(msg, undefined);
  }

  requestStop(reason: string): void {
    this.stop(reason).catch((err: unknown) => this.log.error({ err: errorMessage(err) }, 'error while stopping'));
  }

  // ---- HubPort (for the mesh) ----------------------------------------------------------------

  localServices(): LocalServiceSummary[] {
    const out: LocalServiceSummary[] = [];
    for (const s of this.services.all()) if (s.up) out.push({ name: s.name, since: Math.floor(s.upSince / 1000) });
    return out;
  }

  deliverLocal(msg: Message): void {
    if (!this.gate.admitsRemote(msg)) return;
    this.router.routeFromRemote(msg);
  }

  notifyLocal(msg: Message): void {
    this.router.broadcastLocal(msg, undefined);
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  /** Stops: DISCONNECTING to every connection, the remote side says goodbye, listeners close. Idempotent. */
  stop(reason = 'stopped'): Promise<void> {
    if (this.stopping) return this.stopping;
    if (this.currentState === 'new') {
      this.currentState = 'stopped';
      this.resolveStopped(reason);
      return (this.stopping = Promise.resolve());
    }
    this.currentState = 'stopping';
    this.stopping = (async () => {
      this.log.info({ reason }, 'hub stopping');
      const bye = new Outgoing(createMessage('DISCONNECTING', {}, {}, { server: this.serverName }));
      for (const conn of this.connections) if (conn.isStream) conn.write(bye);
      try {
        await this.remoteHooks?.stop();
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'the remote side did not stop cleanly');
      }
      for (const conn of [...this.connections]) if (conn.kind === 'memory') conn.close();
      await Promise.all(this.bound.map((b) => b.listener.close()));
      this.cache.close();
      this.currentState = 'stopped';
      this.log.info({ reason }, 'hub stopped');
      this.resolveStopped(reason);
    })();
    return this.stopping;
  }
}
