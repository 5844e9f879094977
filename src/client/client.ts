/**
 * The Switchboard client: one permanent connection to a hub, a registered service name, and the
 * message verbs (send, broadcast, request, on). The pieces live next door: the dial loop
 * (connection.ts), request correlation (correlation.ts), the disconnected queue
 * (outbound-queue.ts), the answers every service owes the hub (system-commands.ts).
 */
import type { Channel } from '../core/channel.js';
import {
  ConnectionError,
  InvalidArgumentError,
  SwitchboardError,
  errorMessage,
  type InvalidMessageError,
} from '../core/errors.js';
import { encodeMessage } from '../core/message-connection.js';
import { LogThrottle } from '../core/log-throttle.js';
import { getLogger, type Logger } from '../core/log.js';
import { COMMAND_NAME, type Message } from '../core/message.js';
import { isServiceOrInstance, sameService } from '../core/protocol/index.js';
import { clientToken, type ClientToken } from '../trust/client-token.js';
import { MessageBuilder, type BroadcastScope } from './builder.js';
import { Connection } from './connection.js';
import { CORRELATION_PARAM, Correlator } from './correlation.js';
import { HandlerTable } from './handlers.js';
import { parseServiceList, type ServiceEntry } from './service-list.js';
import { toEndpoint } from './destination.js';
import { Listeners, disposable, type Disposable } from './disposable.js';
import type { ResolvedOptions } from './options.js';
import { OutboundQueue } from './outbound-queue.js';
import {
  BUILTIN_COMMANDS,
  NEVER_ANSWERED,
  aliveReply,
  commandsReply,
  parseStatus,
  stringParam,
  unknownReply,
} from './system-commands.js';
import type {
  ClientStats,
  ConnectionState,
  Handler,
  OutgoingMessage,
  Params,
  RegisterOptions,
  Registration,
  ReplyInit,
  RequestOptions,
  ServiceStatus,
} from './types.js';

/**
 * A plug-in to the client (discovery's registry cache is one): it sees every inbound message first
 * and may consume it, adds commands to the COMMANDS list, and follows the connection state.
 */
export interface ClientExtension {
  readonly commands?: readonly string[];
  /** Return true when the message was for the extension alone. */
  onMessage?(msg: Message): boolean | void;
  onState?(state: ConnectionState): void;
  dispose?(): void;
}

interface PendingRegister {
  resolve(r: Registration): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class SwitchboardClient {
  private readonly log: Logger;
  /** What peers can repeat at will (bad requests, bad lines): one line per cause per 10 s, with a count. */
  private readonly faultLog: LogThrottle;
  private readonly connection: Connection;
  private readonly correlator = new Correlator();
  private readonly queue: OutboundQueue;
  private readonly handlers = new HandlerTable();
  private readonly extensions = new Set<ClientExtension>();
  /** The COMMANDS list the hub last heard (with REGISTER or COMMANDS), sorted and joined. */
  private announcedCommands: string | undefined;
  private readonly stateListeners = new Listeners<ConnectionState>();
  private readonly statusListeners = new Listeners<ServiceStatus>();
  private readonly messageListeners = new Listeners<Message>();
  private readonly stopListeners = new Listeners<Message>();
  private registration: (RegisterOptions & { service: string }) | undefined;
  private current: Registration | undefined;
  private pendingRegister: PendingRegister | undefined;
  private gateOpen = false;
  private currentState: ConnectionState;
  private counters = { sent: 0, received: 0, dropped: 0, invalid: 0, reconnects: 0 };
  private everConnected = false;
  /** Where the token sent on the current connection came from (a refusal of the file's token is no news). */
  private tokenSource: ClientToken['source'] | undefined;

  constructor(
    readonly address: string,
    private readonly options: ResolvedOptions,
  ) {
    this.log = getLogger('client', { address });
    this.faultLog = new LogThrottle(this.log, 10_000);
    this.queue = new OutboundQueue(options.queueCapacity, options.dropPolicy, options.queueMaxBytes);
    this.currentState = { status: 'connecting', address, attempt: 0 };
    this.connection = new Connection(
      address,
      { reconnect: options.reconnect, backoffMs: options.backoffMs, channel: options.channel, format: options.format },
      {
        connecting: (attempt) => this.setState({ status: 'connecting', address, attempt }),
        open: (channel) => this.onOpen(channel),
        message: (received) => this.onMessageIn(received.message),
        invalid: (raw, error) => this.onInvalid(raw, error),
        down: (reason, retryInMs, attempt) => this.onDown(reason, retryInMs, attempt),
      },
    );
  }

  /** First dial; with `waitOnFirstConnect`, resolves on the first success of the reconnect loop. */
  async start(): Promise<this> {
    try {
      await this.connection.dial();
    } catch (err) {
      if (!(this.options.waitOnFirstConnect && this.options.reconnect)) {
        this.dispose();
        throw err;
      }
      await new Promise<void>((resolve, reject) => {
        const sub = this.stateListeners.add((s) => {
          if (s.status === 'connected' || s.status === 'ready') {
            sub.dispose();
            resolve();
          }
          if (s.status === 'closed') {
            sub.dispose();
            reject(new ConnectionError('CONNECTION_CLOSED', 'the client was disposed before it connected'));
          }
        });
      });
    }
    return this;
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  get stats(): ClientStats {
    return {
      ...this.counters,
      dropped: this.counters.dropped + this.queue.dropped,
      queued: this.queue.length,
      pendingRequests: this.correlator.size,
    };
  }

  /** Bytes written to the connection but not yet flushed: a sender that outpaces the hub can wait on this. */
  get bufferedBytes(): number {
    return this.connection.open?.stats.bufferedBytes ?? 0;
  }

  /** The registration the hub confirmed (READY), if any. */
  get registered(): Registration | undefined {
    return this.current;
  }

  // ---- registration -------------------------------------------------------------------------

  /** Registers this connection as `service`; resolves when the hub says READY. Kept across reconnects. */
  register(service: string, options: RegisterOptions = {}): Promise<Registration> {
    if (this.currentState.status === 'closed')
      return Promise.reject(new ConnectionError('CONNECTION_CLOSED', 'the client was disposed'));
    toEndpoint({ service });
    if (service === '' || /[*?#]/.test(service) || service === '.')
      throw new InvalidArgumentError(
        `cannot register as "${service}": a service name is letters, digits and _, not starting with a digit (instances: register(name, { instance: true }))`,
      );
    for (const c of options.commands ?? []) checkCommand(c);
    this.registration = { ...options, service };
    if (this.pendingRegister) {
      clearTimeout(this.pendingRegister.timer);
      this.pendingRegister.reject(new SwitchboardError('CANCELLED', 'replaced by a newer register() call'));
    }
    const promise = new Promise<Registration>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingRegister = undefined;
        reject(
          new SwitchboardError(
            'TIMEOUT',
            `the hub did not answer REGISTER service=${service} with READY within ${this.options.requestTimeoutMs} ms`,
            { retryable: true },
          ),
        );
      }, this.options.requestTimeoutMs);
      this.pendingRegister = { resolve, reject, timer };
    });
    if (this.connection.open) this.sendRegister();
    return promise;
  }

  /** Leaves the hub's registry; the connection stays for sending. */
  unregister(): void {
    const reg = this.registration;
    if (!reg) return;
    this.registration = undefined;
    this.current = undefined;
    this.writeNow({ command: 'UNREGISTER', params: { service: reg.service } });
    if (this.connection.open)
      this.setState({ status: 'connected', address: this.address, transport: this.connection.open.transport });
  }

  // ---- sending --------------------------------------------------------------------------------

  /** Sends (or queues while disconnected) one message; false when it was dropped. */
  send(msg: OutgoingMessage): boolean {
    return this.write(this.toMessage(msg));
  }

  /** Sends `command` to every service that listed it in COMMANDS (`*` all hubs, `?` LAN, `.` this hub). */
  broadcast(command: string, params: Params = {}, scope: BroadcastScope = '*'): boolean {
    return this.send({ command, params, to: { service: scope } });
  }

  /** Sends and waits for the reply carrying the same correlation id (or matching `options.match`). */
  request(msg: OutgoingMessage, options: RequestOptions = {}): Promise<Message> {
    let message: Message;
    try {
      message = this.toMessage(msg, true);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.currentState.status === 'closed')
      return Promise.reject(new ConnectionError('CONNECTION_CLOSED', 'the client was disposed'));
    if (!this.registration && message.to.service !== '') {
      // The hub routes a reply by the sender's service name; an unregistered connection has none.
      return Promise.reject(
        new SwitchboardError(
          'INVALID_ARGUMENT',
          `cannot request ${message.to.service}/${message.command} before register(): replies are routed to a service name, so call hub.register('<name>') first`,
        ),
      );
    }
    const id = this.correlator.nextId();
    message.params[CORRELATION_PARAM] = id;
    const reply = this.correlator.track(
      id,
      { command: message.command, service: message.to.service },
      {
        timeoutMs: options.timeoutMs ?? this.options.requestTimeoutMs,
        signal: options.signal,
        match: options.match,
      },
    );
    if (!this.write(message)) {
      this.correlator.reject(
        id,
        new SwitchboardError(
          'UNAVAILABLE',
          `${message.command} was dropped: the outbound queue is full (the hub is not reading fast enough or is unreachable)`,
          { retryable: true },
        ),
      );
    }
    return reply;
  }

  /** Who is registered with the hub (LIST_SERVICES): services, their instances, commands, since when. */
  async listServices(options: Pick<RequestOptions, 'timeoutMs' | 'signal'> = {}): Promise<ServiceEntry[]> {
    const reply = await this.request(
      { command: 'LIST_SERVICES' },
      { ...options, match: (m) => m.command === 'SERVICES' && m.sentFrom.service === '' },
    );
    return parseServiceList(reply);
  }

  /** `hub.message('CMD').to('svc').param('k', 'v').send()` */
  message(command: string): MessageBuilder {
    checkCommand(command);
    return new MessageBuilder(this, command);
  }

  // ---- receiving ------------------------------------------------------------------------------

  /** Handles `command`; a returned ReplyInit is sent back to the sender. Updates COMMANDS when registered. */
  on(command: string, handler: Handler): Disposable {
    checkCommand(command);
    if (this.handlers.add(command, handler)) this.announceCommands();
    return disposable(() => {
      if (this.handlers.remove(command, handler)) this.announceCommands();
    });
  }

  /** STATUS of every service as it changes (the client lists STATUS in COMMANDS while someone listens). */
  onStatus(listener: (status: ServiceStatus) => void): Disposable {
    const sub = this.statusListeners.add(listener);
    if (this.statusListeners.size === 1) this.announceCommands();
    return disposable(() => {
      sub.dispose();
      if (this.statusListeners.size === 0) this.announceCommands();
    });
  }

  onState(listener: (state: ConnectionState) => void): Disposable {
    return this.stateListeners.add(listener);
  }

  /** Every inbound message, before anything else handles it. */
  onMessage(listener: (msg: Message) => void): Disposable {
    return this.messageListeners.add(listener);
  }

  /** STOP from the hub or a tool. Without a listener the client disposes itself (the communicator's rule). */
  onStop(listener: (msg: Message) => void): Disposable {
    return this.stopListeners.add(listener);
  }

  use(extension: ClientExtension): Disposable {
    this.extensions.add(extension);
    if (extension.commands?.length) this.announceCommands();
    return disposable(() => {
      this.extensions.delete(extension);
      extension.dispose?.();
    });
  }

  /** Unregisters, flushes, closes; pending requests reject with CONNECTION_CLOSED. Idempotent. */
  dispose(): void {
    if (this.currentState.status === 'closed') return;
    if (this.current) this.writeNow({ command: 'UNREGISTER', params: { service: this.current.service } });
    this.registration = undefined;
    this.current = undefined;
    this.gateOpen = false;
    this.connection.close();
    const err = new ConnectionError('CONNECTION_CLOSED', 'the client was disposed');
    this.correlator.rejectAll(err);
    if (this.pendingRegister) {
      clearTimeout(this.pendingRegister.timer);
      this.pendingRegister.reject(err);
      this.pendingRegister = undefined;
    }
    this.setState({ status: 'closed', address: this.address });
    for (const ext of this.extensions) ext.dispose?.();
    this.extensions.clear();
    this.stateListeners.clear();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---- internals ------------------------------------------------------------------------------

  /**
   * The wire message for what a caller gave. Names are checked by the codec when the line is
   * encoded (an InvalidMessageError naming the bad part); `copy` protects the caller's params
   * object when the client adds to it (the correlation id).
   */
  private toMessage(msg: OutgoingMessage, copy = false): Message {
    const params = msg.params === undefined ? {} : copy ? { ...msg.params } : msg.params;
    return { sentFrom: NO_SENDER, to: toEndpoint(msg.to), command: msg.command, params };
  }

  private write(msg: Message): boolean {
    if (this.gateOpen) {
      if (this.connection.send(msg)) {
        this.counters.sent++;
        return true;
      }
      this.counters.dropped++;
      return false;
    }
    // Encoded now: a bad name throws at send(), not later when the queue drains.
    return this.queue.push(encodeMessage(msg, this.options.format));
  }

  /** Protocol messages (REGISTER, COMMANDS, replies to the hub) skip the queue. */
  private writeNow(msg: OutgoingMessage | Message): void {
    const m = 'sentFrom' in msg ? msg : this.toMessage(msg);
    if (this.connection.send(m)) this.counters.sent++;
  }

  /**
   * Answers `to` (to its sender, echoing its correlation id): for replies sent later than the
   * handler's return. `immediate` skips the queue (answers to the hub's HELP/ALIVE during registration).
   */
  reply(to: Message, reply: ReplyInit, immediate = false): boolean {
    const params: Params = reply.params === undefined ? {} : { ...reply.params };
    const id = to.params[CORRELATION_PARAM];
    if (id !== undefined) params[CORRELATION_PARAM] = id;
    const msg: Message = { sentFrom: NO_SENDER, to: to.sentFrom, command: reply.command, params };
    checkCommand(reply.command);
    if (immediate) {
      this.writeNow(msg);
      return true;
    }
    return this.write(msg);
  }

  private commandList(): string[] {
    const all = new Set(BUILTIN_COMMANDS);
    if (this.statusListeners.size) all.add('STATUS');
    for (const c of this.registration?.commands ?? []) all.add(c);
    for (const c of this.handlers.commands()) all.add(c);
    for (const ext of this.extensions) for (const c of ext.commands ?? []) all.add(c);
    return [...all];
  }

  private announceCommands(): void {
    if (!this.current) return; // REGISTER carries the list; onReady catches up on what came since
    const list = this.commandList();
    this.announcedCommands = [...list].sort().join(',');
    this.writeNow(commandsReply(list));
  }

  private sendRegister(): void {
    const reg = this.registration;
    if (!reg) return;
    const params: Params = { service: reg.service, version: 1 };
    if (reg.instance !== undefined) params.instance = reg.instance === true ? 'true' : reg.instance;
    if (reg.endpoints !== undefined)
      params.endpoints = this.options.format === 'json' ? reg.endpoints : JSON.stringify(reg.endpoints);
    params.commands = this.commandList().sort().join(',');
    this.announcedCommands = params.commands;
    this.gateOpen = false;
    this.writeNow({ command: 'REGISTER', params });
  }

  private onOpen(channel: Channel): void {
    if (this.everConnected) this.counters.reconnects++;
    this.everConnected = true;
    this.setState({ status: 'connected', address: this.address, transport: channel.transport });
    // Before anything else on this connection: the hub reads its lines in order.
    const auth = clientToken(this.address, this.options.token);
    this.tokenSource = auth?.source;
    if (auth) this.writeNow({ command: 'AUTH', params: { token: auth.token } });
    if (this.registration) this.sendRegister();
    else this.openGate();
  }

  private openGate(): void {
    this.gateOpen = true;
    for (const frame of this.queue.drain()) {
      if (this.connection.write(frame)) this.counters.sent++;
      else this.counters.dropped++;
    }
  }

  private onDown(reason: Error, retryInMs: number | undefined, attempt: number): void {
    this.gateOpen = false;
    this.current = undefined;
    if (this.currentState.status === 'closed') return;
    this.log.debug({ err: reason.message, retryInMs }, 'hub connection down');
    if (retryInMs === undefined) this.correlator.rejectAll(reason); // no reconnect: nothing pending can be answered
    this.setState({ status: 'disconnected', address: this.address, reason, retryInMs, attempt });
    if (retryInMs === undefined) this.dispose();
  }

  private setState(state: ConnectionState): void {
    this.currentState = state;
    this.stateListeners.emit(state, (err) => this.log.error({ err }, 'a state listener threw'));
    for (const ext of this.extensions) ext.onState?.(state);
  }

  private onInvalid(raw: string, error: InvalidMessageError): void {
    this.counters.invalid++;
    this.faultLog.warn(
      'invalid-line',
      { err: error.message, line: raw.slice(0, 200) },
      'ignored a line from the hub that does not parse',
    );
  }

  private onMessageIn(msg: Message): void {
    this.counters.received++;
    if (this.messageListeners.size)
      this.messageListeners.emit(msg, (err) => this.log.error({ err }, 'a message listener threw'));
    for (const ext of this.extensions) if (ext.onMessage?.(msg) === true) return;
    if (msg.params[CORRELATION_PARAM] !== undefined) {
      if (!this.isOwnRequest(msg) && this.correlator.resolve(msg)) return;
    } else if (
      this.correlator.size &&
      msg.command !== 'HELP' &&
      msg.command !== 'READY' &&
      msg.command !== 'AUTHENTICATED' &&
      this.correlator.resolve(msg)
    ) {
      // A reply without the id (the hub's own replies, a peer that does not echo it), claimed by a request's `match`.
      return;
    }
    if (this.handleSystem(msg)) return;
    if (this.handlers.run(msg, this)) return;
    if (!NEVER_ANSWERED.has(msg.command) && msg.sentFrom.service !== '' && !this.isLateReply(msg))
      this.reply(msg, unknownReply(msg));
  }

  /** A request this client sent to its own service arrives carrying an id it is waiting on. */
  private isOwnRequest(msg: Message): boolean {
    const own = this.current?.service;
    if (own === undefined || !this.handlers.has(msg.command)) return false;
    // `name` or `name#instance` (no split: this runs for every reply with an id).
    return isServiceOrInstance(own, msg.to.service);
  }

  private isLateReply(msg: Message): boolean {
    const id = msg.params[CORRELATION_PARAM];
    return typeof id === 'string' && this.correlator.owns(id);
  }

  /** Hub protocol and the commands every service answers. True when the message was consumed. */
  private handleSystem(msg: Message): boolean {
    switch (msg.command) {
      case 'HELP':
        this.reply(msg, commandsReply(this.commandList()), true);
        return true;
      case 'ALIVE':
        this.reply(msg, aliveReply(msg), true);
        return true;
      case 'READY':
        this.onReady(msg);
        return true;
      case 'STATUS': {
        const status = parseStatus(msg);
        if (status) this.statusListeners.emit(status, (err) => this.log.error({ err }, 'a status listener threw'));
        return !this.handlers.has('STATUS');
      }
      case 'STOP':
        if (this.handlers.has('STOP')) return false;
        if (this.stopListeners.size)
          this.stopListeners.emit(msg, (err) => this.log.error({ err }, 'a stop listener threw'));
        else this.dispose();
        return true;
      case 'SERVICE_UNAVAILABLE': {
        const service = stringParam(msg, 'destination_service') ?? '';
        const command = stringParam(msg, 'unsent_command') ?? '';
        this.correlator.rejectWhere(
          (p) => p.command === command && sameService(p.service, service),
          new SwitchboardError(
            'UNAVAILABLE',
            `service "${service}" is not registered with the hub, so ${command} was not delivered`,
            { retryable: true },
          ),
        );
        return !this.handlers.has(msg.command);
      }
      case 'UNKNOWN': {
        const command = stringParam(msg, 'command') ?? '';
        this.correlator.rejectWhere(
          (p) => p.command === command && (p.service === '' || sameService(p.service, msg.sentFrom.service)),
          new SwitchboardError('NOT_FOUND', `${msg.sentFrom.service || 'the hub'} does not understand ${command}`),
        );
        return !this.handlers.has(msg.command);
      }
      case 'AUTHENTICATED':
        if (msg.sentFrom.service !== '') return false;
        this.log.debug({ identity: stringParam(msg, 'identity'), role: stringParam(msg, 'role') }, 'authenticated');
        return true;
      case 'INVALID': {
        const text = stringParam(msg, 'message') ?? 'invalid message';
        if (stringParam(msg, 'command') === 'AUTH' && msg.sentFrom.service === '') {
          // A token file left by another hub is no news; a token someone gave is.
          if (this.tokenSource === 'file') this.log.debug({ message: text }, 'the hub did not accept hub.token');
          else this.log.warn({ message: text }, 'the hub did not accept this client token');
          return true;
        }
        if (this.pendingRegister && stringParam(msg, 'command') === 'REGISTER') {
          this.failRegister(new SwitchboardError('REFUSED', `the hub refused REGISTER: ${text}`));
          return true;
        }
        const about = stringParam(msg, 'command');
        if (
          about &&
          this.correlator.rejectWhere(
            (p) => p.command === about,
            new SwitchboardError('INVALID_MESSAGE', `the hub refused ${about}: ${text}`),
          )
        )
          return true;
        this.faultLog.warn(
          `hub-invalid:${about ?? ''}`,
          { command: about, message: text },
          'the hub reported an invalid message',
        );
        return !this.handlers.has(msg.command);
      }
      case 'QUITTING':
      case 'DISCONNECTING':
        this.log.info({ command: msg.command }, 'the hub is going away; will reconnect');
        return !this.handlers.has(msg.command);
      default:
        return false;
    }
  }

  private onReady(msg: Message): void {
    const reg = this.registration;
    if (!reg) return;
    this.current = {
      service: reg.service,
      instance: stringParam(msg, 'instance'),
      hubAddress: stringParam(msg, 'my_address'),
    };
    // Handlers or extensions (discovery's PEERS) added while REGISTER was on its way were not in it:
    // tell the hub before anyone hears `ready` and asks for what those commands bring.
    if (this.commandList().sort().join(',') !== this.announcedCommands) this.announceCommands();
    this.setState({ status: 'ready', address: this.address, registration: this.current });
    this.openGate();
    const pending = this.pendingRegister;
    if (pending) {
      clearTimeout(pending.timer);
      this.pendingRegister = undefined;
      pending.resolve(this.current);
    }
  }

  private failRegister(err: Error): void {
    const pending = this.pendingRegister;
    this.registration = undefined;
    this.openGate();
    if (pending) {
      clearTimeout(pending.timer);
      this.pendingRegister = undefined;
      pending.reject(err);
    }
  }

  /** @internal A handler threw: logged here; the table answers a request with ERROR. */
  handlerFailed(msg: Message, err: unknown): void {
    // A request with bad parameters is the sender's fault (it gets ERROR with the reason): a warning;
    // anything else is this service's. Either way once per cause per interval, however many come.
    const code = err instanceof SwitchboardError ? err.code : 'INTERNAL';
    const refused = code === 'INVALID_ARGUMENT' || code === 'INVALID_MESSAGE';
    this.faultLog.write(
      refused ? 'warn' : 'error',
      `handler:${msg.command}:${code}`,
      { err: errorMessage(err), command: msg.command, code },
      refused ? 'refused a request with invalid parameters' : 'a handler threw',
    );
  }
}

/** The hub stamps the sender; clients leave it empty. */
const NO_SENDER = Object.freeze({ server: '', service: '' });

function checkCommand(command: string): void {
  if (!COMMAND_NAME.test(command))
    throw new InvalidArgumentError(
      `invalid command "${command}": commands are upper case letters, digits and _, not starting with a digit`,
    );
}
