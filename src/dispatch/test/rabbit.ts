/** Test helpers for RabbitMQ: unique prefixes, closing only our own connections, cleanup. */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { SERVICES } from '../../core/test/support.js';

const run = promisify(execFile);
export const AMQP_URL = process.env.SWITCHBOARD_TEST_AMQP_URL ?? SERVICES.rabbitmq.url;

export function testPrefix(): string {
  return `sbtest-${randomBytes(4).toString('hex')}`;
}

/** Closes the broker connections whose connection_name contains `needle` (only ours). Returns how many. */
export async function closeConnections(needle: string): Promise<number> {
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_connections', 'pid', 'client_properties'], {
    timeout: 30_000,
  });
  let n = 0;
  for (const line of stdout.split('\n')) {
    if (!line.includes(needle)) continue;
    const pid = line.split('\t')[0]!.trim();
    await run(
      'rabbitmqctl',
      ['-q', 'close_connection', pid, 'switchboard test: closing the connection under the agent'],
      { timeout: 30_000 },
    );
    n++;
  }
  return n;
}

/** Deletes every queue and exchange with the prefix (test cleanup). */
export async function deleteTopology(prefix: string): Promise<void> {
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_queues', 'name'], { timeout: 30_000 }).catch(() => ({
    stdout: '',
  }));
  const conn = await amqp.connect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    for (const q of stdout
      .split('\n')
      .map((s) => s.trim())
      .filter((s) => s.startsWith(`${prefix}.`)))
      await ch.deleteQueue(q);
    for (const x of ['dlx', 'broadcast', 'inbox']) await ch.deleteExchange(`${prefix}.${x}`);
    await ch.close();
  } finally {
    await conn.close();
  }
}

/** Reads (and acks) everything in a queue. */
export async function drainQueue(queue: string): Promise<{ body: string; headers: Record<string, unknown> }[]> {
  const conn = await amqp.connect(AMQP_URL);
  const out: { body: string; headers: Record<string, unknown> }[] = [];
  try {
    const ch = await conn.createChannel();
    for (;;) {
      const m = await ch.get(queue, { noAck: true });
      if (!m) break;
      out.push({ body: m.content.toString('utf8'), headers: (m.properties.headers ?? {}) as Record<string, unknown> });
    }
    await ch.close();
  } finally {
    await conn.close();
  }
  return out;
}
