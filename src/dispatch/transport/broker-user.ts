/**
 * A RabbitMQ user for the agents of one kind, made through the management HTTP API (the
 * `rabbitmq_management` plugin, port 15672): a random password, no tags (no management access),
 * and on the vhost only `brokerPermissions` (its kind's queues, the inbox, the broadcast). An agent
 * holding it cannot read other connectors' tasks, the dispatcher's queue (where every agent's
 * messages and tokens pass) or the dead letters, nor publish anywhere but the inbox.
 */
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, SwitchboardError, errorMessage } from '../../core/errors.js';
import { brokerPermissions, DEFAULT_PREFIX } from './topology.js';

export interface BrokerUserOptions {
  /** The AMQP URL of a user allowed to manage users (an administrator); its host and vhost are used. */
  amqp: string;
  /** The management API; default http://<AMQP host>:15672 with the AMQP URL's credentials. */
  management?: string;
  prefix?: string;
  kind: string;
}

export interface BrokerUser {
  user: string;
  password: string;
  vhost: string;
  /** The AMQP URL the agents of this kind use (it carries the password: keep it in a file or the environment). */
  url: string;
  permissions: { configure: string; write: string; read: string };
}

function managementBase(amqpUrl: URL, given?: string): { base: URL; auth: string } {
  const base = new URL(given ?? `http://${amqpUrl.hostname}:15672/`);
  const user = decodeURIComponent(base.username || amqpUrl.username || 'guest');
  const pass = decodeURIComponent(base.password || amqpUrl.password || 'guest');
  base.username = '';
  base.password = '';
  return { base, auth: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` };
}

export async function createBrokerUser(opts: BrokerUserOptions): Promise<BrokerUser> {
  let amqpUrl: URL;
  try {
    amqpUrl = new URL(opts.amqp);
  } catch {
    throw new InvalidArgumentError('--amqp must be an AMQP URL such as amqp://admin:pw@127.0.0.1:5672');
  }
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  const vhost = amqpUrl.pathname.length > 1 ? decodeURIComponent(amqpUrl.pathname.slice(1)) : '/';
  const { base, auth } = managementBase(amqpUrl, opts.management);
  const user = `${prefix}-agent-${opts.kind}-${randomBytes(3).toString('hex')}`;
  const password = randomBytes(24).toString('base64url');
  const permissions = brokerPermissions(prefix, opts.kind);
  const call = async (method: string, path: string, body: unknown) => {
    let res: Response;
    try {
      res = await fetch(new URL(`api/${path}`, base), {
        method,
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw new SwitchboardError(
        'UNAVAILABLE',
        `cannot reach RabbitMQ's management API at ${base.origin} (${errorMessage(err)}): enable it with \`rabbitmq-plugins enable rabbitmq_management\`, or give --management URL`,
      );
    }
    if (res.status === 401 || res.status === 403)
      throw new SwitchboardError(
        'PERMISSION_DENIED',
        `RabbitMQ's management API refused ${method} ${path} (HTTP ${res.status}): the user of --amqp must be an administrator to create users`,
      );
    if (!res.ok) {
      const text = (await res.text()).slice(0, 300);
      throw new SwitchboardError(
        'UNAVAILABLE',
        `RabbitMQ's management API answered ${method} ${path} with HTTP ${res.status}: ${text}`,
      );
    }
  };
  await call('PUT', `users/${encodeURIComponent(user)}`, { password, tags: '' });
  try {
    await call('PUT', `permissions/${encodeURIComponent(vhost)}/${encodeURIComponent(user)}`, permissions);
  } catch (err) {
    // A user without permissions is useless: take it back.
    await fetch(new URL(`api/users/${encodeURIComponent(user)}`, base), {
      method: 'DELETE',
      headers: { authorization: auth },
    }).catch(() => undefined);
    throw err;
  }
  const url = new URL(amqpUrl.toString());
  url.username = encodeURIComponent(user);
  url.password = encodeURIComponent(password);
  return { user, password, vhost, url: url.toString(), permissions };
}
