/**
 * The agent beside a connector, doing the seed's steps in order:
 *  1. open the channel to the connector and start it (restarted if it crashes);
 *  2. register with the dispatcher with its meta information (address, kind, declared events/tasks);
 *  3. listen to the connector's events;
 *  4. get the triggers that concern this connector (cached; refreshed when the dispatcher says they changed);
 *  5. filter each event with them; 6. send the valid ones (batched, confirmed, republished after a reconnect);
 *  7. receive actions and pass them to the connector; 8. send the results back;
 *  9. unregister when stopping (also on SIGTERM, wired by the CLI).
 */
import { hostname } from 'node:os';
import { InvalidArgumentError, SwitchboardError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { timeOrderedId } from '../protocol/ids.js';
import type { JsonValue } from '../../core/message.js';
import type { EventLine, HelloLine, ResultLine } from '../protocol/connector.js';
import type { TriggerSnapshot, WireEvent, WireResult, WireTask } from '../protocol/wire.js';
import { TriggerIndex } from '../trigger/matcher.js';
import { ConnectorIdHeld, type AgentInbound, type AgentTransport } from '../transport/types.js';
import { CONNECTOR_NAME, MAX_CONNECTOR_ID_LENGTH } from '../protocol/wire.js';
import { connectorEnv, type EnvRequest } from './connector-env.js';
import type { ConnectorLink } from './connector-link.js';
import { ConnectorProcess } from './connector-process.js';
import { ConnectorSocket } from './connector-socket.js';

/** Events kept while the agent is not registered yet (the dispatcher may still be starting): count and bytes. */
const MAX_EARLY = 10_000;
const MAX_EARLY_BYTES = 16 * 1024 * 1024;
/** Task ids an agent remembers, to run a task sent twice once (ids are at most 200 characters: at most ~4 MB). */
const MAX_RECENT_TASKS = 20_000;
/** What an event or result adds to a message besides its line (id, time, field names). */
const ENVELOPE_BYTES = 120;

export interface AgentOptions {
  transport: AgentTransport;
  /** The connector command the agent runs (stdio), or ... */
  command?: string[];
  /** ... the address of a connector serving the protocol on TCP in its own container (`cd://host:port`). */
  connect?: string;
  kind: string;
  id?: string;
  token: string;
  meta?: Record<string, JsonValue>;
  log: Logger;
  /** How long to wait for the connector's optional hello before registering (ms). */
  helloTimeoutMs?: number;
  maxBatch?: number;
  /** What the connector's environment holds beyond the allow-list (connector-env.ts). */
  env?: Partial<EnvRequest>;
  minRestartMs?: number;
  /** How often the agent checks in with the dispatcher (ms, default 30 s). */
  heartbeatMs?: number;
}

/** Highest slot tried for a default id (`<kind>-<host>-2` ... `-64`). */
const MAX_SLOTS = 64;

/**
 * The default connector id: `<kind>-<hostname>`, or the next free `<kind>-<hostname>-N` (N = 2, 3,
 * ...) when a live agent holds it (the broker or the hub tells), so two agents of one kind on one
 * host never collide and each keeps its id across restarts as long as they start in the same order.
 */
export function defaultIds(kind: string, host = hostname()): string[] {
  const safeHost = host.replace(/[^A-Za-z0-9_.:-]/g, '-');
  const base = `${kind}-${safeHost}`.slice(0, MAX_CONNECTOR_ID_LENGTH - 3);
  return [base, ...Array.from({ length: MAX_SLOTS - 1 }, (_, i) => `${base}-${i + 2}`)];
}

export class Agent {
  private currentId: string;
  private link: ConnectorLink | undefined;
  private hello: HelloLine | undefined;
  private index = new TriggerIndex();
  private version = -1;
  private registered = false;
  /** The newest trigger version an invalidation announced (it may arrive before registration is done). */
  private announced = -1;
  private stopped = false;
  private early: { e: EventLine; bytes: number }[] = [];
  private earlyBytes = 0;
  private events: WireEvent[] = [];
  /** Size of each entry of `events` (its connector line), to cut batches below the transport's limit. */
  private eventBytes: number[] = [];
  private results: WireResult[] = [];
  private resultBytes: number[] = [];
  private flushScheduled = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly taskStarted = new Map<string, string>();
  /** Task ids received lately, oldest first (bounded). */
  private readonly recentTasks = new Set<string>();
  readonly counters = {
    events: 0,
    filteredOut: 0,
    invalid: 0,
    tooLarge: 0,
    sent: 0,
    confirmed: 0,
    tasks: 0,
    duplicateTasks: 0,
    results: 0,
  };

  /** Resolves once registered (tasks that arrive before wait for it, unacknowledged). */
  private ready: Promise<void>;
  private becomeReady: () => void = () => undefined;

  constructor(private readonly opts: AgentOptions) {
    if (opts.id !== undefined && (!CONNECTOR_NAME.test(opts.id) || opts.id.length > MAX_CONNECTOR_ID_LENGTH))
      throw new InvalidArgumentError(
        `connector id "${opts.id}" may hold letters, digits and _ . : - only, start with a letter or digit, and be at most ${MAX_CONNECTOR_ID_LENGTH} characters`,
      );
    if (!CONNECTOR_NAME.test(opts.kind) || opts.kind.length > 64)
      throw new InvalidArgumentError(
        `kind "${opts.kind}" may hold letters, digits and _ . : - only, start with a letter or digit, and be at most 64 characters`,
      );
    if (!opts.connect && !opts.command?.length)
      throw new InvalidArgumentError('the agent needs a connector command or a connector address to connect to');
    this.currentId = opts.id ?? defaultIds(opts.kind)[0]!;
    this.ready = new Promise((resolve) => {
      this.becomeReady = resolve;
    });
  }

  /** The connector id: given, or the default one this agent took (see `defaultIds`). */
  get id(): string {
    return this.currentId;
  }

  /** The link to the connector (there once `start` has run). */
  get connector(): ConnectorLink {
    if (!this.link) throw new SwitchboardError('UNAVAILABLE', 'the agent has not started yet');
    return this.link;
  }

  get triggers(): number {
    return this.index.size;
  }
  /** What the connector declared in its hello, once it said hello. */
  get declared(): HelloLine | undefined {
    return this.hello;
  }
  get triggerVersion(): number {
    return this.version;
  }

  async start(): Promise<void> {
    const { transport, log } = this.opts;
    await transport.start(this.opts.kind, (m) => this.onInbound(m));
    // The connector id first: it is in the connector's environment.
    await this.takeId();
    const clog = log.child({ connector: this.id });
    this.link = this.opts.connect
      ? new ConnectorSocket(this.opts.connect, clog)
      : new ConnectorProcess({
          command: this.opts.command!,
          log: clog,
          env: connectorEnv(process.env, this.opts.env ?? {}, {
            SWITCHBOARD_CONNECTOR_ID: this.id,
            SWITCHBOARD_CONNECTOR_KIND: this.opts.kind,
          }),
          minRestartMs: this.opts.minRestartMs,
        });
    const connector = this.link;
    // 1. the channel to the connector, and the connector
    const helloSeen = new Promise<void>((resolve) => {
      connector.once('hello', () => resolve());
      connector.once('event', () => resolve());
      setTimeout(resolve, this.opts.helloTimeoutMs ?? 1000).unref();
    });
    connector.on('hello', (h) => {
      this.hello = h;
      // A hello after registration (slow start, or a restart): tell the dispatcher what it declares now.
      if (this.registered && !this.stopped)
        void this.register().catch((err: unknown) => log.error({ err: errorMessage(err) }, 're-registration failed'));
    });
    connector.on('event', (e, bytes) => this.onEvent(e, bytes));
    connector.on('result', (r, bytes) => this.onResult(r, bytes));
    connector.start();
    transport.onReconnect(() => {
      void this.register().catch((err: unknown) => log.error({ err: errorMessage(err) }, 're-registration failed'));
    });
    await helloSeen;
    // 2. register (answer carries the triggers that concern us: step 4's cache)
    await this.register();
    this.becomeReady();
    // A heartbeat that doubles as a check of the trigger cache (in case an invalidation was missed).
    this.heartbeat = setInterval(() => {
      void this.refreshTriggers().catch((err: unknown) =>
        log.warn({ err: errorMessage(err) }, 'heartbeat to the dispatcher failed'),
      );
    }, this.opts.heartbeatMs ?? 30_000);
    this.heartbeat.unref();
    const early = this.early;
    this.early = [];
    this.earlyBytes = 0;
    for (const { e, bytes } of early) this.onEvent(e, bytes);
  }

  /**
   * Takes the connector's queue (RabbitMQ) or service name (hub). A given id that a live agent holds
   * is refused with what the registry knows of that agent; a default id moves to the next slot.
   */
  private async takeId(): Promise<void> {
    const candidates = this.opts.id !== undefined ? [this.opts.id] : defaultIds(this.opts.kind);
    for (const id of candidates) {
      try {
        await this.opts.transport.attach(id);
        if (id !== candidates[0])
          this.opts.log.info({ connector: id }, `${candidates[0]} is held by another live agent; this one is ${id}`);
        this.currentId = id;
        return;
      } catch (err) {
        if (!(err instanceof ConnectorIdHeld)) throw err;
        if (this.opts.id === undefined) continue;
        throw new ConnectorIdHeld(
          id,
          `${err.message.replace(/^connector id "[^"]*" is already taken by a live agent: /, '')}${await this.describeHolder(id)}; give this agent another --id, or stop that one`,
        );
      }
    }
    throw new SwitchboardError(
      'CONFLICT',
      `the ${candidates.length} default ids ${candidates[0]} ... ${candidates.at(-1)} are all held by live agents: give this one an --id`,
    );
  }

  /** What the dispatcher's registry says about the holder of `id` (empty when it cannot say). */
  private async describeHolder(id: string): Promise<string> {
    try {
      const reply = await this.opts.transport.request(
        { type: 'holder', token: this.opts.token, connectorId: id },
        5000,
      );
      if (reply.type !== 'holder' || !reply.holder) return '';
      const h = reply.holder;
      return `; the dispatcher's registry: agent${h.pid !== null ? ` pid ${h.pid}` : ''}${h.host !== null ? ` on host ${h.host}` : ''}, registered ${h.registeredAt}, last seen ${h.lastSeen}`;
    } catch {
      return ''; // the broker's (or hub's) word stands on its own
    }
  }

  private meta(): Record<string, JsonValue> {
    return {
      host: hostname(),
      pid: process.pid,
      connectorPid: this.link?.pid ?? null,
      ...(this.opts.connect
        ? { connectorAddress: this.opts.connect }
        : { command: (this.opts.command ?? []).join(' ') }),
      transport: this.opts.transport.kind,
      ...this.hello?.meta,
      ...this.opts.meta,
    };
  }

  private async register(): Promise<void> {
    const sent = this.hello;
    const reply = await this.opts.transport.request(
      {
        type: 'register',
        token: this.opts.token,
        connector: {
          id: this.id,
          kind: this.opts.kind,
          meta: this.meta(),
          events: this.hello?.events ?? [],
          tasks: this.hello?.tasks ?? [],
        },
      },
      15_000,
    );
    if (!reply.ok) {
      this.opts.log.error({ connector: this.id }, `the dispatcher refused this connector: ${reply.message}`);
      throw new SwitchboardError('PERMISSION_DENIED', `the dispatcher refused connector ${this.id}: ${reply.message}`);
    }
    if (reply.type !== 'registered')
      throw new SwitchboardError('INVALID_MESSAGE', `the dispatcher answered a registration with ${reply.type}`);
    this.useSnapshot(reply.snapshot);
    this.registered = true;
    this.opts.log.info(
      { connector: this.id, kind: this.opts.kind, triggers: this.index.size },
      'registered with the dispatcher',
    );
    if (this.announced > this.version) await this.refreshTriggers();
    // The hello came while this registration was on its way (a connector slower to start than the
    // hello timeout): the dispatcher holds what was declared before it, so tell it again.
    if (this.hello !== sent && !this.stopped) await this.register();
  }

  private useSnapshot(s: TriggerSnapshot): void {
    if (s.version < this.version) return;
    this.index = new TriggerIndex(s.triggers);
    this.version = s.version;
  }

  private async refreshTriggers(): Promise<void> {
    const reply = await this.opts.transport.request({ type: 'triggers', token: this.opts.token, connectorId: this.id });
    if (!reply.ok) {
      this.opts.log.warn({ connector: this.id }, `the dispatcher did not send triggers: ${reply.message}`);
      return;
    }
    if (reply.type === 'snapshot' && reply.snapshot.version !== this.version) {
      this.useSnapshot(reply.snapshot);
      this.opts.log.info({ version: this.version, triggers: this.index.size }, 'trigger cache refreshed');
    }
  }

  /** False: leave the message with the broker (this agent is stopping; another one takes it). */
  private async onInbound(m: AgentInbound): Promise<void | false> {
    if (m.type === 'invalidate') {
      this.announced = Math.max(this.announced, m.version);
      // Before registration the dispatcher does not know this connector yet: the registration's
      // answer carries the triggers, and `register` checks what was announced meanwhile.
      if (this.registered && m.version !== this.version) await this.refreshTriggers();
      return;
    }
    // Tasks for this connector may wait in its queue from before: they run once registered.
    if (!this.registered) await this.ready;
    if (this.stopped) return false;
    for (const t of m.tasks) this.runTask(t);
  }

  // 3.-6. events: validate, filter with the cached triggers, send the valid ones in batches.
  private onEvent(e: EventLine, bytes: number): void {
    if (!this.registered) {
      while (this.early.length && (this.early.length >= MAX_EARLY || this.earlyBytes + bytes > MAX_EARLY_BYTES)) {
        if (this.counters.invalid++ === 0)
          this.opts.log.warn(
            { kept: MAX_EARLY, keptBytes: MAX_EARLY_BYTES },
            'more events before registration than the buffer holds; dropping the oldest',
          );
        this.earlyBytes -= this.early.shift()!.bytes;
      }
      this.early.push({ e, bytes });
      this.earlyBytes += bytes;
      return;
    }
    this.counters.events++;
    const declared = this.hello?.events;
    if (declared && declared.length && !declared.includes(e.key)) {
      this.counters.invalid++;
      this.opts.log.warn(
        { key: e.key, declared },
        'connector emitted an event it did not declare in its hello; dropped',
      );
      return;
    }
    if (this.index.match({ connector: this.id, kind: this.opts.kind, key: e.key, data: e.data }).length === 0) {
      this.counters.filteredOut++;
      return;
    }
    const size = bytes + ENVELOPE_BYTES;
    if (size > this.opts.transport.maxMessageBytes) {
      // Refused here, with the reason in this agent's log, rather than by the dispatcher out of sight.
      this.counters.tooLarge++;
      this.opts.log.error(
        { key: e.key, bytes, limit: this.opts.transport.maxMessageBytes },
        `the connector emitted a ${e.key} event of ${bytes} bytes; over ${this.opts.transport.kind === 'hub' ? 'the hub' : 'RabbitMQ'} this agent sends events of at most ${this.opts.transport.maxMessageBytes - ENVELOPE_BYTES} bytes: not sent`,
      );
      return;
    }
    this.events.push({ id: timeOrderedId(), key: e.key, data: e.data, time: new Date().toISOString() });
    this.eventBytes.push(size);
    this.scheduleFlush();
  }

  /**
   * A task id already running or run lately is not run again: a dispatcher that stopped before it
   * acknowledged an event leaves the event's unfinished tasks to another, which sends them again.
   */
  private seenTask(id: string): boolean {
    if (this.taskStarted.has(id) || this.recentTasks.has(id)) return true;
    if (this.recentTasks.size >= MAX_RECENT_TASKS) this.recentTasks.delete(this.recentTasks.values().next().value!);
    this.recentTasks.add(id);
    return false;
  }

  // 7. actions to the connector
  private runTask(t: WireTask): void {
    if (this.seenTask(t.executionId)) {
      this.counters.duplicateTasks++;
      this.opts.log.debug({ execution: t.executionId }, 'a task sent again was not run twice');
      return;
    }
    this.counters.tasks++;
    this.taskStarted.set(t.executionId, new Date().toISOString());
    if (!this.link?.sendTask({ id: t.executionId, key: t.key, inputs: t.inputs })) {
      this.onResult({
        type: 'result',
        id: t.executionId,
        error: 'the connector is not running (it is being restarted)',
      });
    }
  }

  // 8. results back
  private onResult(r: ResultLine, lineBytes?: number): void {
    const startedAt = this.taskStarted.get(r.id);
    this.taskStarted.delete(r.id);
    const base = { executionId: r.id, finishedAt: new Date().toISOString(), ...(startedAt ? { startedAt } : {}) };
    let result: WireResult = 'error' in r ? { ...base, error: r.error } : { ...base, outputs: r.outputs };
    // The connector's line is about the result's size; results made up here are small.
    let size = lineBytes ?? ('error' in r ? r.error.length : 0);
    if (size > this.opts.transport.maxMessageBytes - ENVELOPE_BYTES) {
      size = JSON.stringify(result).length;
      // The dispatcher could not take it: the execution fails with the reason instead of never finishing.
      result = {
        ...base,
        error: `the connector's result was ${size} bytes; results are limited to ${this.opts.transport.maxMessageBytes - ENVELOPE_BYTES} bytes`,
      };
      size = 300;
    }
    this.results.push(result);
    this.resultBytes.push(size + ENVELOPE_BYTES);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** How many of the first entries fit one message: at most `max`, under the transport's byte limit. */
  private fit(sizes: number[], max: number): number {
    const limit = this.opts.transport.maxMessageBytes;
    let total = 0;
    let n = 0;
    while (n < sizes.length && n < max && (n === 0 || total + sizes[n]! <= limit)) total += sizes[n++]!;
    return n;
  }

  private flush(): void {
    const max = this.opts.maxBatch ?? 500;
    while (this.events.length) {
      const n = this.fit(this.eventBytes, max);
      const events = this.events.splice(0, n);
      this.eventBytes.splice(0, n);
      this.counters.sent += events.length;
      this.opts.transport.send({ type: 'events', token: this.opts.token, connectorId: this.id, events }).then(
        () => {
          this.counters.confirmed += events.length;
        },
        (err: unknown) =>
          this.opts.log.error({ err: errorMessage(err), events: events.length }, 'events were not confirmed'),
      );
    }
    while (this.results.length) {
      const n = this.fit(this.resultBytes, max);
      const results = this.results.splice(0, n);
      this.resultBytes.splice(0, n);
      this.counters.results += results.length;
      this.opts.transport
        .send({ type: 'results', token: this.opts.token, connectorId: this.id, results })
        .catch((err: unknown) =>
          this.opts.log.error({ err: errorMessage(err), results: results.length }, 'results were not confirmed'),
        );
    }
  }

  // 9. unregister and stop
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.becomeReady(); // tasks waiting for registration are answered (the connector is gone)
    await this.link?.stop();
    this.flush();
    if (this.registered) {
      await this.opts.transport
        .send({ type: 'unregister', token: this.opts.token, connectorId: this.id })
        .catch((err: unknown) => {
          this.opts.log.warn({ err: errorMessage(err) }, 'could not unregister');
        });
    }
    await this.opts.transport.close();
    this.opts.log.info({ connector: this.id, ...this.counters }, 'agent stopped');
  }
}
