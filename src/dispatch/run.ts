/**
 * Putting the pieces together: a dispatcher on RabbitMQ or the hub, an agent on either. Used by the
 * CLI, the hub's built-in service, the tests and the benchmark.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { getLogger, type Logger } from '../core/log.js';
import type { JsonValue } from '../core/message.js';
import { Agent } from './agent/agent.js';
import type { EnvRequest } from './agent/connector-env.js';
import type { DispatchDb } from './dispatcher/db.js';
import { Dispatcher } from './dispatcher/dispatcher.js';
import type { SyncActions } from './dispatcher/sync-action.js';
import { AmqpAgentTransport } from './transport/amqp-agent.js';
import { AmqpDispatcherTransport } from './transport/amqp-dispatcher.js';
import { HubAgentTransport, HubDispatcherTransport } from './transport/hub.js';
import type { AgentTransport, DispatcherTransport } from './transport/types.js';

export interface DispatcherRunOptions {
  db: DispatchDb;
  /** RabbitMQ URL; without it the dispatcher registers on the hub at `hub`. */
  amqp?: string;
  hub?: string;
  /** The token the dispatcher proves itself with on the hub (the hub's service token when built in). */
  hubToken?: string;
  prefix?: string;
  log?: Logger;
  /** `KIND:TOKEN` pairs accepted in addition to issued tokens (stored hashed at start). */
  allowTokens?: string[];
  /** An execution without a result after this long is marked failed (default 10 minutes). */
  taskTimeoutMs?: number;
  /** How often to look for trigger changes made by other processes (ms, default 500). */
  pollMs?: number;
  /** History kept (ms, default 7 days; 0 keeps everything). */
  retainMs?: number;
  /** How often due tries are sent and overdue ones failed (ms, default 1 s). */
  tickMs?: number;
  /** What starts syncs for `then: { sync: ACCOUNT }` (storeSyncActions on the same store). */
  sync?: SyncActions;
}

export async function startDispatcher(opts: DispatcherRunOptions): Promise<Dispatcher> {
  const log = opts.log ?? getLogger('dispatcher');
  for (const [n, pair] of (opts.allowTokens ?? []).entries()) {
    const i = pair.indexOf(':');
    if (i <= 0 || i === pair.length - 1)
      throw new InvalidArgumentError(
        `each allowed token is KIND:TOKEN; entry ${n + 1} is not (its text is not shown: it may be a secret)`,
      );
    await opts.db.issueToken(pair.slice(0, i), pair.slice(i + 1));
  }
  const transport: DispatcherTransport = opts.amqp
    ? new AmqpDispatcherTransport({ url: opts.amqp, prefix: opts.prefix, log })
    : new HubDispatcherTransport({
        address: opts.hub,
        token: opts.hubToken,
        log,
        connectors: () => opts.db.listConnectors(),
      });
  const dispatcher = new Dispatcher({
    db: opts.db,
    transport,
    log,
    taskTimeoutMs: opts.taskTimeoutMs,
    pollMs: opts.pollMs,
    retainMs: opts.retainMs,
    tickMs: opts.tickMs,
    sync: opts.sync,
  });
  await dispatcher.start();
  return dispatcher;
}

export interface AgentRunOptions {
  /** The connector command (the agent runs it), or `connect`: the address of a connector serving the protocol on TCP. */
  command: string[];
  connect?: string;
  kind: string;
  id?: string;
  token: string;
  amqp?: string;
  /** Hub address the dispatcher is registered on (when no AMQP URL). */
  dispatcher?: string;
  prefix?: string;
  meta?: Record<string, JsonValue>;
  /** The connector's environment beyond the allow-list: names passed through, values set (connector-env.ts). */
  env?: Partial<EnvRequest>;
  log?: Logger;
  minRestartMs?: number;
  helloTimeoutMs?: number;
}

export async function startAgent(opts: AgentRunOptions): Promise<Agent> {
  const log = opts.log ?? getLogger('agent', { kind: opts.kind });
  if (opts.command.length === 0 && !opts.connect)
    throw new InvalidArgumentError(
      'give the connector command after --, e.g. switchboard agent --kind timer -- node timer.js (or --connect cd://host:port)',
    );
  const transport: AgentTransport = opts.amqp
    ? new AmqpAgentTransport({ url: opts.amqp, prefix: opts.prefix, log, id: opts.id })
    : new HubAgentTransport({ address: opts.dispatcher, log });
  const agent = new Agent({
    transport,
    command: opts.command,
    connect: opts.connect,
    kind: opts.kind,
    id: opts.id,
    token: opts.token,
    meta: opts.meta,
    env: opts.env,
    log,
    minRestartMs: opts.minRestartMs,
    helloTimeoutMs: opts.helloTimeoutMs,
  });
  try {
    await agent.start();
  } catch (err) {
    await agent.stop().catch(() => undefined);
    throw err;
  }
  return agent;
}
