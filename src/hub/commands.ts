/**
 * The hub's own commands (messages with an empty destination service): REGISTER, UNREGISTER,
 * COMMANDS, HELP, SERVICE_STATUS, ALIVE, LIST_SERVICES, STOP, SHUTDOWN, SNIFF, UNSNIFF, and the
 * communicator's PUBLIC_IP and CLOCK_STATUS. Notices sent to the hub are never answered (no
 * ping-pong); anything else goes to an extension or the remote side (mesh); what is left gets the
 * hub's own fallback (CLUSTER_STATUS: a cluster of one), a sentence for a communicator message
 * this hub does not take (communicator-messages.ts), or UNKNOWN. See PROTOCOL.md.
 */
import { isCommandName } from '../core/codec/index.js';
import { errorMessage } from '../core/errors.js';
import type { WireFormat } from '../core/codec/index.js';
import { createMessage, type JsonValue, type Message } from '../core/message.js';
import { Outgoing } from '../core/message-connection.js';
import { fail, ok, type Result } from '../core/result.js';
import { parseListenedHubs } from '../core/protocol/index.js';
import type { Logger } from '../core/log.js';
import { LogThrottle } from '../core/log-throttle.js';
import { ClockCheck } from './clock-status.js';
import { COMMUNICATOR_REFUSALS, FALLBACK_COMMANDS, publicAddressParams } from './communicator-messages.js';
import { LocalLoadAvg } from './loadavg.js';
import { SERVICE_NAME, type HubConfig } from './config.js';
import type { HubConnection } from './connection.js';
import { MAX_AUTH_FAILURES, type HubGate } from './gate.js';
import type { Refusal } from '../trust/policy.js';
import { clusterDetail, type ClusterCommandGuard } from '../trust/cluster-commands.js';
import { RegisterRefused, parseInstanceParam, type InstanceEntry, type ServiceCatalog } from './service-catalog.js';
import type { RemoteHooks } from './remote.js';
import type { Router } from './router.js';
import { listServices, serviceStatusParams } from './service-list.js';
import type { SniffTap } from './sniff-tap.js';

/** What the command handlers need from the hub. */
export interface CommandContext {
  readonly serverName: string;
  readonly config: Pick<HubConfig, 'maxNamesPerConnection'>;
  readonly services: ServiceCatalog<HubConnection>;
  readonly router: Router;
  readonly tap: SniffTap;
  readonly log: Logger;
  /** Where the hub listens (ports actually bound): PUBLIC_IP's secure_ip. */
  readonly addresses: readonly { readonly kind: string; readonly url: string }[];
  /** Identities: AUTH, REGISTER's password= and who may register what. */
  readonly gate: HubGate;
  /** Signs SHUTDOWN and FORGET for the other hubs of the cluster. */
  readonly clusterCommands: ClusterCommandGuard;
  remote(): RemoteHooks | undefined;
  /** Hub commands added by extensions (discovery, built-in services). */
  extraCommand(command: string): HubCommandHandler | undefined;
  extraCommandNames(): string[];
  /** The check of REGISTER's `endpoints=` an extension set (discovery), if any. */
  endpointsCheck(): EndpointsCheck | undefined;
  /** A message from the hub to one connection (tapped as `sent`). */
  tell(conn: HubConnection, command: string, params?: Record<string, JsonValue>): void;
  registered(conn: HubConnection, inst: InstanceEntry<HubConnection>): void;
  unregister(conn: HubConnection, why: string): void;
  requestStop(reason: string): void;
}

/** Checks REGISTER's `endpoints=` value (JSON text or a value): ok, or the sentence for the refusal. */
export type EndpointsCheck = (value: JsonValue) => Result<unknown>;

/** A hub command an extension adds: it answers with `hub.tell(conn, ...)`. */
export type HubCommandHandler = (conn: HubConnection, msg: Message) => void;

/** Commands the hub answers itself (its COMMANDS list for HELP). */
export const HUB_COMMANDS = [
  'ALIVE',
  'AUTH',
  'CLOCK_STATUS',
  'COMMANDS',
  'HELP',
  'LISTEN_LOADAVG',
  'LIST_SERVICES',
  'PUBLIC_IP',
  'REGISTER',
  'REGISTER_FOR_LOADAVG',
  'SERVICE_STATUS',
  'SHUTDOWN',
  'SNIFF',
  'STOP',
  'UNREGISTER',
  'UNREGISTER_FROM_LOADAVG',
  'UNSNIFF',
];

/** Replies and notices: a hub that answered them could ping-pong with a service forever. */
export const NOTICES = new Set([
  'ABSOLUTELY',
  'AUTHENTICATED',
  'DISCONNECTING',
  'ERROR',
  'INVALID',
  'QUITTING',
  'READY',
  'SERVICE_UNAVAILABLE',
  'SNIFFED',
  'SNIFFING',
  'SERVICES',
  'STATUS',
  'TRANSMISSION_REPORT',
  'UNKNOWN',
  'HANGUP',
  'UNREACHABLE',
  'DISCONNECTED',
  'NEW_REMOTE_CONNECTION',
  // The communicator's replies and cluster notices (the hub sends them; it never answers them).
  'CLOCK_STABLE',
  'CLOCK_UNSTABLE',
  'CLUSTER_UP',
  'CLUSTER_DOWN',
  'CLUSTER_COMPLETE',
  'CLUSTER_INCOMPLETE',
  'SERVER_PUBLIC_IP',
]);

/** Refused over UDP (the communicator's list, plus the tap and the service list, whose replies outgrow a datagram). */
export const UDP_REFUSED = new Set([
  'ACCEPT',
  'CLUSTER_STATUS',
  'COMMANDS',
  'CONNECT',
  'DISCONNECT',
  'GOSSIP',
  'REFUSE',
  'REGISTER',
  'UNREGISTER',
  'SNIFF',
  'UNSNIFF',
  'LIST_SERVICES',
  // Readings go back on the connection that asked: a datagram has none.
  'REGISTER_FOR_LOADAVG',
  'UNREGISTER_FROM_LOADAVG',
  // A token never travels in a datagram.
  'AUTH',
]);

/** REGISTER parameters the hub interprets; the rest are kept in the registry entry. */
// Credentials are never kept: LIST_SERVICES shows the rest to anyone who asks. `password` (the
// communicator's REGISTER credential, an identity's token for src/trust), `token` and `secret_code`
// are the parameters the sniff tap masks (gate.ts SECRET_PARAMS).
const REGISTER_KEYS = new Set([
  'service',
  'version',
  'instance',
  'endpoints',
  'commands',
  'format',
  'password',
  'token',
  'secret_code',
]);

function str(v: JsonValue | undefined): string | undefined {
  if (v === undefined || v === null) return undefined;
  return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** `format=` on REGISTER/SNIFF: absent (undefined), a wire format, or the sentence for a bad value. */
function parseFormat(v: JsonValue | undefined): Result<WireFormat | undefined> {
  if (v === undefined) return ok(undefined);
  if (v === 'text' || v === 'json') return ok(v);
  return fail(`format must be "text" or "json" (got ${JSON.stringify(v)})`);
}

function parseCommandList(v: JsonValue | undefined): Result<Set<string>> {
  const list = Array.isArray(v) ? v.map((x) => String(x)) : (str(v) ?? '').split(',');
  const out = new Set<string>();
  for (const raw of list) {
    const c = raw.trim();
    if (c === '') continue;
    if (!isCommandName(c))
      return fail(`list must be commands separated by "," (upper case A-Z, 0-9, _); ${JSON.stringify(c)} is not one`);
    out.add(c);
  }
  return ok(out);
}

/**
 * `endpoints=` on REGISTER: absent, the value (as given, JSON-parsed), or the sentence for a bad one.
 * `check` is the one an extension set (discovery's advertisement schema); without one any JSON is kept.
 */
function parseEndpoints(v: JsonValue | undefined, check: EndpointsCheck | undefined): Result<JsonValue | undefined> {
  if (v === undefined) return ok(undefined);
  if (check) {
    const checked = check(v);
    if (!checked.ok) return checked;
  }
  if (typeof v !== 'string') return ok(v);
  try {
    return ok(JSON.parse(v) as JsonValue);
  } catch {
    return fail('endpoints is not JSON: give an array such as [{"name":"default","port":8080}]');
  }
}

/** How long a SERVICES answer is reused for the same connection while no service came or went. */
const SERVICES_REUSE_MS = 1000;

export class HubCommands {
  private readonly clock: ClockCheck;
  /** Local connections that sent REGISTER_FOR_LOADAVG. */
  readonly loadavg: LocalLoadAvg;
  /** Notices and refusals a client can repeat at will: one line per cause per 10 s, with a count. */
  private readonly faultLog: LogThrottle;
  /** Counts registry changes: a SERVICES answer made before the last change is not reused. */
  private registryVersion = 0;
  /**
   * The last SERVICES answer as sent. Encoding one for 10,000 names costs ~25 ms: a connection
   * that pipelines LIST_SERVICES gets this line again (counters up to a second old) instead.
   */
  private lastServices: { conn: HubConnection; version: number; at: number; line: string } | undefined;

  constructor(
    private readonly c: CommandContext,
    options: { clockEnv?: NodeJS.ProcessEnv; sampleLoad?: () => number } = {},
  ) {
    this.clock = new ClockCheck(options.clockEnv);
    this.faultLog = new LogThrottle(c.log, 10_000);
    c.services.onChange(() => {
      this.registryVersion++;
      this.lastServices = undefined;
    });
    this.loadavg = new LocalLoadAvg({
      tell: (conn, command, params) => c.tell(conn, command, params),
      ...(options.sampleLoad ? { sample: options.sampleLoad } : {}),
    });
  }

  /** Handles a command to the hub from `conn` (already stamped). */
  handle(conn: HubConnection, msg: Message): void {
    const c = this.c;
    switch (msg.command) {
      case 'AUTH':
        return this.auth(conn, msg);
      case 'REGISTER':
        return this.register(conn, msg);
      case 'UNREGISTER':
        return this.unregister(conn, msg);
      case 'COMMANDS':
        return this.commands(conn, msg);
      case 'HELP':
        return c.tell(conn, 'COMMANDS', {
          list: [...new Set([...HUB_COMMANDS, ...FALLBACK_COMMANDS, ...c.extraCommandNames()])].sort().join(','),
        });
      case 'PUBLIC_IP':
        return c.tell(conn, 'SERVER_PUBLIC_IP', publicAddressParams(c.addresses, c.remote()?.listenUrls?.() ?? []));
      case 'CLOCK_STATUS':
        return this.clockStatus(conn);
      case 'REGISTER_FOR_LOADAVG':
        return this.loadavg.add(conn);
      case 'UNREGISTER_FROM_LOADAVG':
        return this.loadavg.remove(conn);
      case 'LISTEN_LOADAVG':
        return this.listenLoadAvg(conn, msg);
      case 'ALIVE': {
        const params: Record<string, JsonValue> = { reply_timestamp: (Date.now() / 1000).toFixed(6) };
        if (msg.params.serial !== undefined) params.serial = msg.params.serial;
        if (msg.params.timestamp !== undefined) params.timestamp = msg.params.timestamp;
        return c.tell(conn, 'ABSOLUTELY', params);
      }
      case 'SERVICE_STATUS': {
        const name = str(msg.params.service);
        if (!name) return this.invalid(conn, msg, 'SERVICE_STATUS needs service=NAME');
        return c.tell(conn, 'STATUS', serviceStatusParams(c.serverName, c.services, c.remote(), name));
      }
      case 'LIST_SERVICES':
        return this.listServices(conn);
      // Who may STOP, SHUTDOWN and SNIFF is the gate's decision (the connection's grant), made before this.
      case 'STOP':
        c.log.info(
          { from: conn.channel.remoteAddress, via: conn.kind, identity: conn.grant.identity },
          'STOP received',
        );
        return c.requestStop(`STOP from ${conn.channel.remoteAddress} (${conn.kind})`);
      case 'SHUTDOWN':
        c.log.info(
          { from: conn.channel.remoteAddress, via: conn.kind, identity: conn.grant.identity },
          'SHUTDOWN received',
        );
        if (c.remote()?.handleCommand(this.signed(conn, msg))) return;
        return c.requestStop(`SHUTDOWN from ${conn.channel.remoteAddress} (${conn.kind})`);
      case 'SNIFF':
        return this.sniff(conn, msg);
      case 'UNSNIFF':
        c.tap.remove(conn);
        return;
      default:
        return this.other(conn, msg);
    }
  }

  /** Notices (never answered), extension commands, the mesh's commands, or UNKNOWN. */
  private other(conn: HubConnection, msg: Message): void {
    const c = this.c;
    if (NOTICES.has(msg.command)) {
      if (msg.command === 'UNKNOWN' || msg.command === 'INVALID')
        this.faultLog.info(
          `reported:${msg.command}`,
          { from: msg.sentFrom.service || conn.channel.remoteAddress, command: msg.command, params: msg.params },
          'a connection reported a problem to the hub',
        );
      return;
    }
    const extra = c.extraCommand(msg.command);
    if (extra) return extra(conn, msg);
    if (c.remote()?.handleCommand(msg.command === 'FORGET' ? this.signed(conn, msg) : msg)) return;
    if (msg.command === 'CLUSTER_STATUS') {
      // No mesh (or one that left it to the hub): a cluster of one, up and complete, as the communicator counts it.
      c.tell(conn, 'CLUSTER_UP', { neighbors_count: '1' });
      c.tell(conn, 'CLUSTER_COMPLETE', { neighbors_count: '1' });
      return;
    }
    const refusal = COMMUNICATOR_REFUSALS.get(msg.command);
    if (refusal) return this.invalid(conn, msg, refusal(c.remote() !== undefined));
    c.tell(conn, 'UNKNOWN', { command: msg.command });
  }

  /** Other hubs' LOADAVG: the mesh asks them (src/mesh/loadavg.ts); readings go to services that list LOADAVG. */
  private listenLoadAvg(conn: HubConnection, msg: Message): void {
    const hubs = parseListenedHubs(msg.params.ips);
    if (!hubs.ok) return this.invalid(conn, msg, hubs.error);
    const remote = this.c.remote();
    if (remote?.handleCommand(msg)) return;
    this.invalid(
      conn,
      msg,
      remote
        ? "LISTEN_LOADAVG is not supported by this hub's remote side: only a mesh (remote_listen) exchanges LOADAVG between hubs"
        : 'LISTEN_LOADAVG needs a mesh: this hub has no other hubs to listen to (start it with remote_listen and neighbors); its own load comes with REGISTER_FOR_LOADAVG',
    );
  }

  /** CLOCK_STABLE or CLOCK_UNSTABLE from the system's time tools (clock-status.ts), when they have answered. */
  private clockStatus(conn: HubConnection): void {
    this.clock.status().then(
      (s) => {
        if (s.why) this.c.log.debug({ why: s.why }, 'no time tool could tell whether the clock is synchronised');
        if (conn.open) this.c.tell(conn, s.command, { ...s.params });
      },
      (err: unknown) => {
        // checkClock settles with a status for every tool failure; this is the hub's own fault.
        this.c.log.warn({ err: errorMessage(err) }, 'the clock check failed');
        if (conn.open) this.c.tell(conn, 'CLOCK_UNSTABLE', { clock_error: 'invalid' });
      },
    );
  }

  private listServices(conn: HubConnection): void {
    const c = this.c;
    const now = Date.now();
    const last = this.lastServices;
    // A sniffer sees every answer as a message: then each one is made anew.
    if (
      last?.conn === conn &&
      last.version === this.registryVersion &&
      now - last.at < SERVICES_REUSE_MS &&
      !c.tap.active
    ) {
      conn.writeLine(last.line);
      return;
    }
    const list = listServices(c.serverName, c.services, c.remote());
    const params: Record<string, JsonValue> = {
      server_name: c.serverName,
      count: list.length,
      services: conn.format === 'json' ? (list as unknown as JsonValue) : JSON.stringify(list),
    };
    const reply = createMessage('SERVICES', params, conn.sender(), { server: c.serverName });
    if (c.tap.active) c.tap.publish('sent', reply);
    const line = conn.messages.encode(new Outgoing(reply));
    conn.writeLine(line);
    this.lastServices = { conn, version: this.registryVersion, at: now, line };
  }

  /**
   * A cluster-wide command (SHUTDOWN, FORGET) with the proof of who sent it, so the other hubs can
   * check it (src/trust/cluster-commands.ts). The gate has already checked the sender may use it.
   */
  private signed(conn: HubConnection, msg: Message): Message {
    const detail = clusterDetail(msg);
    const proof = this.c.clusterCommands.sign(msg.command, detail, this.c.gate.signerOf(conn));
    return proof ? { ...msg, params: { ...msg.params, ...proof } } : msg;
  }

  invalid(conn: HubConnection, msg: Message, message: string): void {
    this.c.tell(conn, 'INVALID', { command: msg.command, message });
  }

  /** A refusal by the identity rules: answered, counted and logged once; too many failed AUTHs close the connection. */
  private refuse(conn: HubConnection, msg: Message, refusal: Refusal): void {
    this.c.gate.record(conn, refusal, msg.command);
    this.invalid(conn, msg, refusal.message);
    if (refusal.reason === 'auth' && conn.authFailures >= MAX_AUTH_FAILURES) conn.close();
  }

  /** `AUTH token=T`: the connection speaks for T's identity from now on (AUTHENTICATED says which). */
  private auth(conn: HubConnection, msg: Message): void {
    const refusal = this.c.gate.authenticate(conn, str(msg.params.token), 'AUTH');
    if (refusal) return this.refuse(conn, msg, refusal);
    this.c.tell(conn, 'AUTHENTICATED', { identity: conn.grant.identity, role: conn.grant.role });
  }

  private register(conn: HubConnection, msg: Message): void {
    const p = msg.params;
    const name = str(p.service);
    if (!name) return this.invalid(conn, msg, 'REGISTER needs service=NAME (e.g. REGISTER service=clock;version=1)');
    if (!SERVICE_NAME.test(name))
      return this.invalid(
        conn,
        msg,
        `service ${JSON.stringify(name.slice(0, 64))} cannot be registered: a service name is letters, digits and _, not starting with a digit (no "#", "*", "?", "." or "-")`,
      );
    const version = str(p.version);
    if (version !== undefined && version !== '1')
      return this.invalid(conn, msg, `version ${version} is not supported: this hub speaks message version 1`);
    if (conn.registration) {
      return this.invalid(
        conn,
        msg,
        `this connection is already registered as ${conn.registration.id}; send UNREGISTER service=${conn.registration.name} first or open another connection`,
      );
    }
    // The communicator's REGISTER takes an optional password: here, a token proving an identity.
    if (p.password !== undefined) {
      const refusal = this.c.gate.authenticate(conn, str(p.password), 'REGISTER');
      if (refusal) return this.refuse(conn, msg, refusal);
    }
    let instance: string | true | undefined;
    try {
      instance = parseInstanceParam(p.instance);
    } catch (err) {
      if (err instanceof RegisterRefused) return this.invalid(conn, msg, err.message);
      throw err;
    }
    const grant = conn.grant;
    if (!grant.all) {
      // instance= joins a service only under the identity of the instances already there.
      const refusal =
        grant.registerProblem(name) ??
        (instance === undefined
          ? undefined
          : grant.instanceProblem(name, this.c.services.get(name)?.instances[0]?.connection.grant.identity));
      if (refusal) return this.refuse(conn, msg, refusal);
    }
    const format = parseFormat(p.format);
    if (!format.ok) return this.invalid(conn, msg, format.error);
    const commands = p.commands === undefined ? undefined : parseCommandList(p.commands);
    if (commands && !commands.ok) return this.invalid(conn, msg, `commands ${commands.error.slice(5)}`);
    const endpointsParsed = parseEndpoints(p.endpoints, this.c.endpointsCheck());
    if (!endpointsParsed.ok)
      return this.invalid(
        conn,
        msg,
        `${endpointsParsed.error}; the connection is not registered, send REGISTER again with a fixed endpoints parameter`,
      );
    const endpoints = endpointsParsed.value;
    const extra: Record<string, JsonValue> = {};
    for (const key of Object.keys(p)) if (!REGISTER_KEYS.has(key)) extra[key] = p[key]!;
    // Every name ever registered is remembered (messages to it are cached): one connection may add only so many.
    const isNew = !this.c.services.isKnown(name);
    const maxNew = this.c.config.maxNamesPerConnection;
    if (isNew && conn.namesAdded >= maxNew)
      return this.invalid(
        conn,
        msg,
        `service "${name}" is not registered: this connection already added ${maxNew} new service names to the hub (max_names_per_connection); register a name it used before, or open another connection`,
      );
    let inst: InstanceEntry<HubConnection>;
    try {
      inst = this.c.services.register(conn, {
        service: name,
        instance,
        endpoints,
        params: extra,
      });
    } catch (err) {
      if (err instanceof RegisterRefused) {
        this.faultLog.info(
          `register-refused:${name}`,
          { service: name, from: conn.channel.remoteAddress, why: err.message },
          'registration refused',
        );
        return this.invalid(conn, msg, err.message);
      }
      throw err;
    }
    if (isNew) conn.namesAdded++;
    if (format.value) conn.format = format.value;
    if (commands) {
      conn.commands = commands.value;
      this.c.services.reindex(inst);
    }
    conn.registration = inst;
    this.c.registered(conn, inst);
  }

  private unregister(conn: HubConnection, msg: Message): void {
    const reg = conn.registration;
    const name = str(msg.params.service);
    if (!reg) return this.invalid(conn, msg, 'this connection is not registered');
    if (name !== undefined && name !== reg.name && name !== reg.id)
      return this.invalid(conn, msg, `this connection is registered as ${reg.id}, not ${name}`);
    this.c.unregister(conn, 'UNREGISTER');
  }

  private commands(conn: HubConnection, msg: Message): void {
    const list = parseCommandList(msg.params.list);
    if (!list.ok) return this.invalid(conn, msg, list.error);
    conn.commands = list.value;
    if (conn.registration) this.c.services.reindex(conn.registration);
  }

  private sniff(conn: HubConnection, msg: Message): void {
    const service = str(msg.params.service) || undefined;
    const command = str(msg.params.command) || undefined;
    if (command !== undefined && !isCommandName(command))
      return this.invalid(
        conn,
        msg,
        `command filter ${JSON.stringify(command)} is not a command (upper case A-Z, 0-9, _)`,
      );
    if (service !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*(#[A-Za-z0-9_]+)?$/.test(service))
      return this.invalid(conn, msg, `service filter ${JSON.stringify(service)} is not a service name`);
    const format = parseFormat(msg.params.format);
    if (!format.ok) return this.invalid(conn, msg, format.error);
    if (format.value) conn.format = format.value;
    this.c.tap.add(conn, { service, command });
    const reply: Record<string, JsonValue> = { format: conn.format ?? 'text' };
    if (service) reply.service = service;
    if (command) reply.command = command;
    this.c.tell(conn, 'SNIFFING', reply);
    this.c.log.info({ from: conn.channel.remoteAddress, service, command }, 'sniffer attached');
  }
}
