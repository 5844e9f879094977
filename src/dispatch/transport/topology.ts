/**
 * Names and declarations on RabbitMQ, shared by agents and the dispatcher.
 *   <prefix>.inbox               direct exchange agents publish to (never the default exchange, which
 *                                reaches every queue): routing key `events` -> <prefix>.dispatcher,
 *                                `control` -> <prefix>.control
 *   <prefix>.dispatcher          durable queue of events, results and unregistrations; dead-letters to
 *   <prefix>.dlx                 direct exchange -> <prefix>.dead, the messages that could not be processed
 *   <prefix>.control             requests that wait for a reply (register, triggers, claim, holder), apart
 *                                from the events so a backlog never delays them; they expire after 30 s
 *   <prefix>.broadcast           fanout exchange (trigger invalidations) bound to every agent queue
 *   <prefix>.agent.<kind>/<id>   one durable queue per connector (tasks for it, broadcasts), consumed by
 *                                its agent as the exclusive consumer: the broker refuses a second one
 *   <prefix>.kind.<kind>         tasks for any connector of a kind (competing consumers)
 * Replies travel on RabbitMQ's direct reply-to (`amq.rabbitmq.reply-to`): to the very channel that
 * asked, so a refusal reaches exactly the agent that was refused.
 * The kind in the agent queue's name (kinds hold no `/`) lets a broker user be limited to one kind's
 * queues (`brokerPermissions`).
 */
import type { Channel } from 'amqplib';

export const DEFAULT_PREFIX = 'switchboard';
/** Prefixes name exchanges and queues, and appear in permission patterns. */
export const PREFIX = /^[A-Za-z0-9_-]{1,64}$/;
const DAY_MS = 24 * 3600 * 1000;
export const ROUTE_EVENTS = 'events';
export const ROUTE_CONTROL = 'control';
export const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';
/** A request nobody took within this long is dropped by the broker (its sender has given up). */
const CONTROL_TTL_MS = 30_000;

export interface Names {
  prefix: string;
  inbox: string;
  dispatcher: string;
  control: string;
  dlx: string;
  dead: string;
  broadcast: string;
  agent(kind: string, connectorId: string): string;
  kind(kind: string): string;
}

export function names(prefix = DEFAULT_PREFIX): Names {
  return {
    prefix,
    inbox: `${prefix}.inbox`,
    dispatcher: `${prefix}.dispatcher`,
    control: `${prefix}.control`,
    dlx: `${prefix}.dlx`,
    dead: `${prefix}.dead`,
    broadcast: `${prefix}.broadcast`,
    agent: (kind, id) => `${prefix}.agent.${kind}/${id}`,
    kind: (kind) => `${prefix}.kind.${kind}`,
  };
}

/** Everything the dispatcher owns (either side may declare it with a broker user allowed to). */
export async function declareCore(ch: Channel, n: Names): Promise<void> {
  await ch.assertExchange(n.dlx, 'direct', { durable: true });
  await ch.assertQueue(n.dead, { durable: true });
  await ch.bindQueue(n.dead, n.dlx, n.dead);
  await ch.assertQueue(n.dispatcher, { durable: true, deadLetterExchange: n.dlx, deadLetterRoutingKey: n.dead });
  await ch.assertQueue(n.control, { durable: true, messageTtl: CONTROL_TTL_MS });
  await ch.assertExchange(n.inbox, 'direct', { durable: true });
  await ch.bindQueue(n.dispatcher, n.inbox, ROUTE_EVENTS);
  await ch.bindQueue(n.control, n.inbox, ROUTE_CONTROL);
  await ch.assertExchange(n.broadcast, 'fanout', { durable: true });
}

/** A connector's own queue; it expires a day after its agent was last seen consuming. */
export async function declareAgentQueue(ch: Channel, n: Names, kind: string, connectorId: string): Promise<string> {
  const q = n.agent(kind, connectorId);
  await ch.assertQueue(q, { durable: true, expires: DAY_MS });
  await ch.bindQueue(q, n.broadcast, '');
  return q;
}

export async function declareKindQueue(ch: Channel, n: Names, kind: string): Promise<string> {
  const q = n.kind(kind);
  await ch.assertQueue(q, { durable: true, expires: 7 * DAY_MS });
  return q;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * What a broker user for the agents of one kind may do (RabbitMQ's configure / write / read
 * patterns on the vhost): declare and consume its kind's queues, bind them to the broadcast
 * exchange, publish to the inbox. Nothing else: no other kind's tasks, not the dispatcher's queue
 * (where every agent's messages and tokens pass), not the default exchange.
 */
export function brokerPermissions(prefix: string, kind: string): { configure: string; write: string; read: string } {
  const p = escape(prefix);
  const k = escape(kind);
  const own = `^${p}\\.agent\\.${k}/.+$|^${p}\\.kind\\.${k}$`;
  return {
    configure: own,
    write: `^${p}\\.inbox$|^${p}\\.agent\\.${k}/.+$`,
    read: `${own}|^${p}\\.broadcast$`,
  };
}
