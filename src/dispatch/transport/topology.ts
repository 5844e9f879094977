/**
 * Names and declarations on RabbitMQ, shared by agents and the dispatcher (both declare the same
 * things with the same arguments, so either may start first).
 *   <prefix>.dispatcher   durable queue the dispatcher consumes (agents publish here); dead-letters to
 *   <prefix>.dlx          direct exchange ->  <prefix>.dead  durable queue of messages that could not be processed
 *   <prefix>.broadcast    fanout exchange (trigger invalidations) bound to every agent queue
 *   <prefix>.agent.<id>   one durable queue per connector: replies, tasks for that connector, broadcasts
 *   <prefix>.kind.<kind>  tasks for any connector of a kind (competing consumers)
 */
import type { Channel } from 'amqplib';

export const DEFAULT_PREFIX = 'switchboard';
const DAY_MS = 24 * 3600 * 1000;

export interface Names {
  dispatcher: string;
  dlx: string;
  dead: string;
  broadcast: string;
  agent(connectorId: string): string;
  kind(kind: string): string;
}

export function names(prefix = DEFAULT_PREFIX): Names {
  return {
    dispatcher: `${prefix}.dispatcher`,
    dlx: `${prefix}.dlx`,
    dead: `${prefix}.dead`,
    broadcast: `${prefix}.broadcast`,
    agent: (id) => `${prefix}.agent.${id}`,
    kind: (kind) => `${prefix}.kind.${kind}`,
  };
}

export async function declareCore(ch: Channel, n: Names): Promise<void> {
  await ch.assertExchange(n.dlx, 'direct', { durable: true });
  await ch.assertQueue(n.dead, { durable: true });
  await ch.bindQueue(n.dead, n.dlx, n.dead);
  await ch.assertQueue(n.dispatcher, { durable: true, deadLetterExchange: n.dlx, deadLetterRoutingKey: n.dead });
  await ch.assertExchange(n.broadcast, 'fanout', { durable: true });
}

/** A connector's own queue; it expires a day after its agent was last seen consuming. */
export async function declareAgentQueue(ch: Channel, n: Names, connectorId: string): Promise<string> {
  const q = n.agent(connectorId);
  await ch.assertQueue(q, { durable: true, expires: DAY_MS });
  await ch.bindQueue(q, n.broadcast, '');
  return q;
}

export async function declareKindQueue(ch: Channel, n: Names, kind: string): Promise<string> {
  const q = n.kind(kind);
  await ch.assertQueue(q, { durable: true, expires: 7 * DAY_MS });
  return q;
}
