/**
 * The hub transport (the embedded default when no RabbitMQ URL is given): the dispatcher is the
 * hub service `dispatcher`; each agent registers as `dispatch_agent_<id>`. Agent messages travel as
 * DISPATCH (requests get DISPATCH_REPLY), tasks as DISPATCH_TASKS, trigger changes as a
 * DISPATCH_INVALIDATE broadcast. The hub keeps messages for an absent service a while (cache ttl),
 * but it does not confirm like a broker, so events and results are requests here: the dispatcher
 * answers `accepted` once they are stored, and the agent sends a batch again (with back-off) until
 * it is; the dispatcher drops event ids it has seen, so a batch sent twice counts once.
 *
 * An agent's service name can be computed from its connector id, so holding the name proves
 * nothing: the dispatcher sends a connector's tasks only along a route it learned from a message
 * carrying a valid token for that connector (a registration, a trigger request, events, results),
 * and forgets the route when the hub says the service went down (or the dispatcher's own link to
 * the hub dropped). Until the agent speaks again with its token, its tasks fail with the reason
 * (`TargetUnreachable`), never reach whoever registers the name meanwhile. Tasks are not left in
 * the hub's cache either: a cached task would go to the next holder of the name.
 */
import { createHash } from 'node:crypto';
import { connect, type SwitchboardClient } from '../../client/index.js';
import { SwitchboardError, errorMessage, toWire } from '../../core/errors.js';
import { LogThrottle } from '../../core/log-throttle.js';
import { fail } from '../../core/result.js';
import type { Logger } from '../../core/log.js';
import type { JsonValue, Message } from '../../core/message.js';
import type { ConnectorRecord } from '../dispatcher/types.js';
import {
  agentMessage,
  parseDispatcherMessage,
  type AgentMessage,
  type DispatcherMessage,
  type DispatcherReply,
  type WireTask,
} from '../protocol/wire.js';
import {
  ConnectorIdHeld,
  TargetUnreachable,
  type AgentInbound,
  type AgentTransport,
  type DispatcherHandler,
  type DispatcherTransport,
  type Inbound,
  type TaskTarget,
} from './types.js';

export const DISPATCHER_SERVICE = 'dispatcher';
const CACHE_TTL = 'ttl=60';
/** How long an agent waits for `accepted` before sending a batch again, and its back-off between tries. */
const ACK_TIMEOUT_MS = 10_000;
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5_000;
/** Between tries of a request while the hub says the dispatcher has not joined yet. */
const ABSENT_RETRY_MIN_MS = 50;
const ABSENT_RETRY_MAX_MS = 1_000;
/** Refusals worth trying again (the store or the dispatcher is having a moment); the rest are final. */
const RETRYABLE_REFUSALS = new Set<string>(['INTERNAL', 'UNAVAILABLE', 'TIMEOUT']);

/** A hub service name for a connector id (service names are [A-Za-z_][A-Za-z0-9_]*). */
export function agentService(connectorId: string): string {
  const safe = connectorId.replace(/[^A-Za-z0-9_]/g, '_');
  const tag = createHash('sha1').update(connectorId).digest('hex').slice(0, 6);
  return `dispatch_agent_${safe}_${tag}`;
}

/** A refusal in the core's error wire form (code and message). */
function refusal(err: unknown): DispatcherMessage {
  const { code, message } = toWire(err);
  return { type: 'refused', ok: false, code, message };
}

export class HubDispatcherTransport implements DispatcherTransport {
  readonly kind = 'hub';
  private client: SwitchboardClient | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private rr = 0;
  /** Connector id -> its service name, learned from token-checked messages (see the top of the file). */
  private readonly routes = new Map<string, string>();
  /** Service name (lower case) -> how many downs this transport has seen, to ignore what a down overtook. */
  private readonly downs = new Map<string, number>();
  private readonly faultLog: LogThrottle;

  constructor(
    private readonly opts: {
      address?: string;
      /** Proves the dispatcher's identity (it registers the reserved name `dispatcher`); default: the client's. */
      token?: string;
      log: Logger;
      connectors: () => Promise<ConnectorRecord[]>;
      client?: SwitchboardClient;
    },
  ) {
    this.faultLog = new LogThrottle(opts.log, 10_000);
  }

  /** The hub says a service went down: an agent's route goes with it. */
  private serviceDown(service: string): void {
    const key = service.toLowerCase();
    if (!key.startsWith('dispatch_agent_')) return;
    this.downs.set(key, (this.downs.get(key) ?? 0) + 1);
    for (const [id, name] of this.routes)
      if (name.toLowerCase() === key) {
        this.routes.delete(id);
        this.opts.log.info(
          { connector: id },
          `connector ${id}'s agent left the hub; its tasks wait until it registers again`,
        );
      }
  }

  /** Known routes to connectors whose agent proved itself with its token. */
  get routedConnectors(): string[] {
    return [...this.routes.keys()];
  }

  async start(handler: DispatcherHandler): Promise<void> {
    const client =
      this.opts.client ??
      (await connect(this.opts.address, {
        format: 'json',
        waitOnFirstConnect: true,
        ...(this.opts.token !== undefined ? { token: this.opts.token } : {}),
      }));
    this.client = client;
    client.onStatus((s) => {
      if (s.status === 'down') this.serviceDown(s.service);
    });
    let connected = false;
    client.onState((s) => {
      if (s.status !== 'ready') return;
      // A new link (a restarted hub): whoever holds an agent's name there has not proved anything yet.
      if (connected) this.routes.clear();
      connected = true;
    });
    client.on('DISPATCH', (msg) => {
      const r = agentMessage.safeParse(msg.params.message);
      if (!r.success) {
        this.faultLog.warn(
          'invalid DISPATCH',
          { from: msg.sentFrom },
          `dropped a DISPATCH message that is not a valid agent message: ${r.error.issues[0]?.message ?? ''}`,
        );
        return {
          command: 'DISPATCH_REPLY',
          params: {
            reply: { type: 'refused', ok: false, code: 'INVALID_MESSAGE', message: 'not a valid agent message' },
          },
        };
      }
      let reply: DispatcherMessage | undefined;
      const inbound: Inbound = {
        message: r.data,
        // An agent sends a batch again only when it had no answer: a seen event id here may be one
        // whose tasks were never sent (the dispatcher stopped in between).
        ...(r.data.type === 'events' ? { redelivered: true } : {}),
        ...(r.data.type === 'register' || r.data.type === 'triggers' || r.data.type === 'holder'
          ? {
              reply: async (x: DispatcherReply) => {
                reply = x;
              },
            }
          : {}),
      };
      const acknowledged = r.data.type === 'events' || r.data.type === 'results';
      const m = r.data;
      const connectorId = m.type === 'register' ? m.connector.id : m.connectorId;
      const route = agentService(connectorId);
      const downsBefore = this.downs.get(route.toLowerCase()) ?? 0;
      // One message at a time, in arrival order, like the RabbitMQ consumer.
      const done = this.chain.then(() => handler.handle([inbound]));
      this.chain = done.catch(() => undefined);
      return done.then(
        async ({ outcomes, settled }) => {
          await settled;
          const failure = outcomes[0];
          if (failure)
            this.faultLog.warn(
              `failed ${r.data.type}`,
              { type: r.data.type },
              `could not process a message: ${failure.message}`,
            );
          this.learnRoute(m.type, connectorId, route, downsBefore, failure === undefined, reply);
          if (acknowledged) reply = failure ? refusal(failure) : { type: 'accepted', ok: true };
          return reply ? { command: 'DISPATCH_REPLY', params: { reply: reply as unknown as JsonValue } } : undefined;
        },
        (err: unknown) => {
          this.opts.log.error({ err: errorMessage(err) }, 'dispatcher failed on a hub message');
          return acknowledged
            ? { command: 'DISPATCH_REPLY', params: { reply: refusal(err) as unknown as JsonValue } }
            : undefined;
        },
      );
    });
    await client.register(DISPATCHER_SERVICE, { commands: ['DISPATCH'] });
  }

  /**
   * A message with a valid token for this connector went through: its agent is behind the route (unless
   * the hub said the service went down meanwhile). An unregistration ends the route.
   */
  private learnRoute(
    type: AgentMessage['type'],
    connectorId: string,
    route: string,
    downsBefore: number,
    processed: boolean,
    reply: DispatcherMessage | undefined,
  ): void {
    if (type === 'unregister') {
      if (processed) this.routes.delete(connectorId);
      return;
    }
    const proven =
      type === 'register'
        ? reply?.type === 'registered'
        : type === 'triggers'
          ? reply?.type === 'snapshot'
          : type !== 'holder' && processed;
    if (!proven || (this.downs.get(route.toLowerCase()) ?? 0) !== downsBefore) return;
    if (!this.routes.has(connectorId)) this.opts.log.debug({ connector: connectorId }, 'route to an agent learned');
    this.routes.set(connectorId, route);
  }

  async sendTasks(to: TaskTarget, tasks: WireTask[]): Promise<void> {
    let id: string;
    if ('connector' in to) {
      id = to.connector;
      if (!this.routes.has(id))
        throw new TargetUnreachable(
          `connector ${id}'s agent is not on the hub (it left, or has not spoken to this dispatcher since it started); the task is not sent to whoever holds its name`,
        );
    } else {
      // A kind: spread tasks over its online connectors whose agent proved itself.
      const online = (await this.opts.connectors()).filter(
        (c) => c.kind === to.kind && c.status === 'online' && this.routes.has(c.id),
      );
      if (!online.length) throw new TargetUnreachable(`no connector of kind ${to.kind} is online`);
      id = online[this.rr++ % online.length]!.id;
    }
    // No cache: a task the hub kept for an absent agent would go to the next holder of its name.
    const ok = this.client!.send({
      command: 'DISPATCH_TASKS',
      to: this.routes.get(id)!,
      params: { tasks: tasks as unknown as JsonValue },
    });
    if (!ok)
      throw new SwitchboardError('UNAVAILABLE', 'the hub connection dropped the tasks (outbound queue full)', {
        retryable: true,
      });
  }

  async broadcastInvalidate(version: number): Promise<void> {
    this.client!.broadcast('DISPATCH_INVALIDATE', { version });
  }

  async close(): Promise<void> {
    if (!this.opts.client) this.client?.dispose();
  }
}

export class HubAgentTransport implements AgentTransport {
  readonly kind = 'hub';
  /** Below the hub's default line limit (1 MiB), with room for the message's envelope. */
  readonly maxMessageBytes = 768 * 1024;
  private client: SwitchboardClient | undefined;
  private readonly listeners: (() => void)[] = [];
  private closed = false;
  readonly stats = { published: 0, confirmed: 0, republished: 0, pending: 0, reconnects: 0 };

  constructor(private readonly opts: { address?: string; log: Logger }) {}

  async start(_kind: string, onMessage: (m: AgentInbound) => Promise<void | false>): Promise<void> {
    const client = await connect(this.opts.address, { format: 'json', waitOnFirstConnect: true });
    this.client = client;
    client.on('DISPATCH_TASKS', (msg) => {
      const m = parseDispatcherMessage({ type: 'tasks', tasks: msg.params.tasks });
      if (!m.ok || m.value.type !== 'tasks') {
        this.opts.log.warn(`ignored an invalid DISPATCH_TASKS: ${m.ok ? m.value.type : m.error}`);
        return;
      }
      void onMessage(m.value);
    });
    client.on('DISPATCH_INVALIDATE', (msg) => {
      const m = parseDispatcherMessage({ type: 'invalidate', version: msg.params.version });
      if (!m.ok || m.value.type !== 'invalidate') {
        this.opts.log.warn(`ignored an invalid DISPATCH_INVALIDATE: ${m.ok ? m.value.type : m.error}`);
        return;
      }
      void onMessage(m.value);
    });
    let first = true;
    client.onState((s) => {
      if (s.status !== 'ready') return;
      if (first) {
        first = false;
        return;
      }
      this.stats.reconnects++;
      for (const l of this.listeners) l();
    });
  }

  /** Registers the connector's service name: the hub holds one registration per name, and says who holds it. */
  async attach(connectorId: string): Promise<void> {
    try {
      await this.client!.register(agentService(connectorId), { commands: ['DISPATCH_TASKS', 'DISPATCH_INVALIDATE'] });
    } catch (err) {
      if (err instanceof SwitchboardError && err.code === 'REFUSED' && /already registered/.test(err.message))
        throw new ConnectorIdHeld(
          connectorId,
          `the hub ${err.message.replace(/^the hub refused REGISTER: /, 'says: ').replace(/; add instance=true.*$/, '')}`,
        );
      throw err;
    }
  }

  async request(
    msg: Extract<AgentMessage, { type: 'register' | 'triggers' | 'holder' }>,
    timeoutMs = 10_000,
  ): Promise<DispatcherReply> {
    const reply = await this.askDispatcher(msg, timeoutMs);
    if (reply.command !== 'DISPATCH_REPLY')
      throw new SwitchboardError(
        'UNAVAILABLE',
        `the dispatcher is not on the hub (got ${reply.command}); start it with \`switchboard start\` or \`switchboard dispatcher\``,
      );
    const parsed = parseDispatcherMessage(reply.params.reply);
    if (!parsed.ok || !('ok' in parsed.value) || parsed.value.type === 'accepted')
      throw new SwitchboardError(
        'INVALID_MESSAGE',
        `the dispatcher's reply is not valid: ${parsed.ok ? parsed.value.type : parsed.error}`,
      );
    return parsed.value;
  }

  /**
   * A hub that has never seen the dispatcher keeps nothing for it, and an agent may start first (the
   * dispatcher of `switchboard start` joins a moment after the hub says it runs): `cache=reply` makes
   * the hub say so at once, and the request goes again until it arrives or `timeoutMs` has passed.
   * What is asked this way (register, triggers, holder) changes nothing when repeated.
   */
  private async askDispatcher(msg: AgentMessage, timeoutMs: number): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (let wait = ABSENT_RETRY_MIN_MS; ; wait = Math.min(wait * 2, ABSENT_RETRY_MAX_MS)) {
      try {
        return await this.client!.request(
          {
            command: 'DISPATCH',
            to: DISPATCHER_SERVICE,
            params: { message: msg as unknown as JsonValue, cache: 'reply' },
          },
          { timeoutMs: Math.max(1, deadline - Date.now()) },
        );
      } catch (err) {
        if (!(err instanceof SwitchboardError && err.code === 'UNAVAILABLE' && err.retryable)) throw err;
        if (this.closed || Date.now() + wait >= deadline)
          throw new SwitchboardError(
            'UNAVAILABLE',
            `no answer from the dispatcher within ${timeoutMs} ms (${err.message}); start it with \`switchboard start\` or \`switchboard dispatcher\``,
            { retryable: true },
          );
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  async send(msg: AgentMessage): Promise<void> {
    this.stats.published++;
    if (msg.type === 'events' || msg.type === 'results') {
      await this.sendUntilAccepted(msg);
      return;
    }
    if (
      !this.client!.send({
        command: 'DISPATCH',
        to: DISPATCHER_SERVICE,
        params: { message: msg as unknown as JsonValue, cache: CACHE_TTL },
      })
    ) {
      throw new SwitchboardError('UNAVAILABLE', 'the hub connection dropped the message (outbound queue full)', {
        retryable: true,
      });
    }
    this.stats.confirmed++;
  }

  /** A request per try: through hub restarts and dispatcher restarts, until `accepted` or a final refusal. */
  private async sendUntilAccepted(msg: AgentMessage): Promise<void> {
    this.stats.pending++;
    let wait = RETRY_MIN_MS;
    try {
      for (;;) {
        let problem: string;
        try {
          const reply = await this.client!.request(
            {
              command: 'DISPATCH',
              to: DISPATCHER_SERVICE,
              params: { message: msg as unknown as JsonValue, cache: CACHE_TTL },
            },
            { timeoutMs: ACK_TIMEOUT_MS },
          );
          const result =
            reply.command === 'DISPATCH_REPLY'
              ? parseDispatcherMessage(reply.params.reply)
              : fail(`the hub answered ${reply.command} (is the dispatcher running?)`);
          const parsed = result.ok ? result.value : undefined;
          if (parsed?.type === 'accepted') {
            this.stats.confirmed++;
            return;
          }
          if (parsed?.type === 'refused' && !RETRYABLE_REFUSALS.has(parsed.code)) {
            throw new SwitchboardError(
              'REFUSED',
              `the dispatcher refused ${msg.type}: ${parsed.code}: ${parsed.message}`,
            );
          }
          problem = !result.ok
            ? result.error
            : parsed?.type === 'refused'
              ? `${parsed.code}: ${parsed.message}`
              : `unexpected reply ${parsed?.type}`;
        } catch (err) {
          if (err instanceof SwitchboardError && err.code === 'REFUSED') throw err;
          problem = errorMessage(err);
        }
        if (this.closed)
          throw new SwitchboardError(
            'CONNECTION_CLOSED',
            `the agent stopped before the dispatcher accepted its ${msg.type} (${problem})`,
          );
        this.stats.republished++;
        this.opts.log.warn(
          { type: msg.type, retryInMs: wait, problem },
          'the dispatcher has not accepted a batch yet; sending it again',
        );
        await new Promise((r) => setTimeout(r, wait));
        wait = Math.min(wait * 2, RETRY_MAX_MS);
      }
    } finally {
      this.stats.pending--;
    }
  }

  onReconnect(listener: () => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.client?.dispose();
  }
}
