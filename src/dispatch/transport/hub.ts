/**
 * The hub transport (the embedded default when no RabbitMQ URL is given): the dispatcher is the
 * hub service `dispatcher`; each agent registers as `dispatch_agent_<id>`. Agent messages travel as
 * DISPATCH (requests get DISPATCH_REPLY), tasks as DISPATCH_TASKS, trigger changes as a
 * DISPATCH_INVALIDATE broadcast. The hub keeps messages for an absent service a while (cache ttl),
 * but it does not confirm like a broker, so events and results are requests here: the dispatcher
 * answers `accepted` once they are stored, and the agent sends a batch again (with back-off) until
 * it is; the dispatcher drops event ids it has seen, so a batch sent twice counts once.
 */
import { createHash } from 'node:crypto';
import { connect, type SwitchboardClient } from '../../client/index.js';
import { SwitchboardError, errorMessage, toWire } from '../../core/errors.js';
import { fail } from '../../core/result.js';
import type { Logger } from '../../core/log.js';
import type { JsonValue } from '../../core/message.js';
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

  constructor(
    private readonly opts: {
      address?: string;
      /** Proves the dispatcher's identity (it registers the reserved name `dispatcher`); default: the client's. */
      token?: string;
      log: Logger;
      connectors: () => Promise<ConnectorRecord[]>;
      client?: SwitchboardClient;
    },
  ) {}

  async start(handler: DispatcherHandler): Promise<void> {
    const client =
      this.opts.client ??
      (await connect(this.opts.address, {
        format: 'json',
        waitOnFirstConnect: true,
        ...(this.opts.token !== undefined ? { token: this.opts.token } : {}),
      }));
    this.client = client;
    client.on('DISPATCH', (msg) => {
      const r = agentMessage.safeParse(msg.params.message);
      if (!r.success) {
        this.opts.log.warn(
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
      // One message at a time, in arrival order, like the RabbitMQ consumer.
      const done = this.chain.then(() => handler.handle([inbound]));
      this.chain = done.catch(() => undefined);
      return done.then(
        async ({ outcomes, settled }) => {
          await settled;
          const failure = outcomes[0];
          if (failure) this.opts.log.warn({ type: r.data.type }, `could not process a message: ${failure.message}`);
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

  async sendTasks(to: TaskTarget, tasks: WireTask[]): Promise<void> {
    let id: string;
    if ('connector' in to) id = to.connector;
    else {
      // A kind: spread tasks over its online connectors.
      const online = (await this.opts.connectors()).filter((c) => c.kind === to.kind && c.status === 'online');
      if (!online.length) throw new SwitchboardError('UNAVAILABLE', `no connector of kind ${to.kind} is online`);
      id = online[this.rr++ % online.length]!.id;
    }
    const ok = this.client!.send({
      command: 'DISPATCH_TASKS',
      to: agentService(id),
      params: { tasks: tasks as unknown as JsonValue, cache: CACHE_TTL },
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
    const reply = await this.client!.request(
      { command: 'DISPATCH', to: DISPATCHER_SERVICE, params: { message: msg as unknown as JsonValue } },
      { timeoutMs },
    );
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
