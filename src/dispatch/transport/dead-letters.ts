/**
 * The dead-letter queue `<prefix>.dead`, read and replayed: what the dispatcher set aside (a
 * message it could not take, with the reason in `x-switchboard-error`) can go back to the
 * dispatcher's queue once the cause is fixed (a connector registered, a token issued, a trigger
 * corrected). Listing looks without taking; replaying takes the chosen letters, publishes each to
 * the inbox as it was (confirmed by the broker) and only then removes it, so a failure midway
 * loses none. Letters not chosen go back where they were.
 */
import amqp, { type Channel, type GetMessage } from 'amqplib';
import { InvalidArgumentError, SwitchboardError } from '../../core/errors.js';
import { names, ROUTE_EVENTS } from './topology.js';

export interface DeadLetter {
  /** `x-dead-letter-id`, or `#N` (its place in the queue) for one set aside before letters had ids. */
  id: string;
  reason: string;
  /** When it was set aside (ISO), when known. */
  at: string | null;
  /** How it reached the dispatcher: `events` or `control` (the inbox's routing keys), or a queue's name. */
  route: string | null;
  type: string | null;
  /** Its body's size as kept; `originalBytes` when it was cut. */
  bytes: number;
  truncated: boolean;
  originalBytes: number | null;
  connectorId: string | null;
  /** How many events or results it carries, when it is an agent's message. */
  items: number | null;
  /** The first events it carries (id and key, each cut at 200 characters), when it carries events. */
  events: { id: string; key: string }[];
  /** The connector kind, when the message says it (a registration). */
  kind: string | null;
  /** Times it was replayed before. */
  replays: number;
}

export interface DeadLetterOptions {
  url: string;
  prefix?: string;
  /** Most letters looked at (default 1000). */
  limit?: number;
}

/** Bytes of letters held unacknowledged at once while replaying (they may be up to 8 MiB each). */
const MAX_HELD_BYTES = 256 * 1024 * 1024;
/** Events described per letter (the rest are counted in `items`). */
export const EVENTS_DESCRIBED = 20;
/** Headers a letter gets when set aside, dropped when it is replayed. */
const DEAD_HEADERS = ['x-switchboard-error', 'x-dead-lettered-at', 'x-original-queue', 'x-dead-letter-id', 'x-death'];

function describe(m: GetMessage, position: number): DeadLetter {
  const h = (m.properties.headers ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : null);
  const cut = (v: unknown) => (typeof v === 'string' ? (v.length > 200 ? `${v.slice(0, 200)}…` : v) : '');
  let connectorId: string | null = null;
  let items: number | null = null;
  let kind: string | null = null;
  const events: { id: string; key: string }[] = [];
  try {
    const body = JSON.parse(m.content.toString('utf8')) as {
      connectorId?: unknown;
      connector?: { id?: unknown; kind?: unknown };
      events?: unknown;
      results?: unknown;
    };
    if (typeof body.connectorId === 'string') connectorId = body.connectorId;
    else if (typeof body.connector?.id === 'string') connectorId = body.connector.id;
    if (typeof body.connector?.kind === 'string') kind = cut(body.connector.kind);
    const list = Array.isArray(body.events) ? body.events : Array.isArray(body.results) ? body.results : undefined;
    if (list) items = list.length;
    if (Array.isArray(body.events))
      for (const e of body.events.slice(0, EVENTS_DESCRIBED) as { id?: unknown; key?: unknown }[])
        events.push({ id: cut(e?.id), key: cut(e?.key) });
  } catch {
    /* not JSON (or cut): described by its headers alone */
  }
  return {
    id: text(h['x-dead-letter-id']) ?? `#${position}`,
    reason: text(h['x-switchboard-error']) ?? '(no reason recorded)',
    at: text(h['x-dead-lettered-at']),
    route: text(h['x-original-queue']),
    type: (m.properties.type as string | undefined) ?? null,
    bytes: m.content.length,
    truncated: h['x-truncated'] === true,
    originalBytes: typeof h['x-original-bytes'] === 'number' ? h['x-original-bytes'] : null,
    connectorId,
    items,
    events,
    kind,
    replays: typeof h['x-replays'] === 'number' ? h['x-replays'] : 0,
  };
}

async function withChannel<T>(url: string, confirm: boolean, fn: (ch: Channel) => Promise<T>): Promise<T> {
  let conn: amqp.ChannelModel;
  try {
    conn = await amqp.connect(url, {
      clientProperties: { connection_name: `switchboard dead letters pid ${process.pid}` },
    });
  } catch (err) {
    throw new SwitchboardError('UNAVAILABLE', `cannot reach RabbitMQ: ${(err as Error).message}`, { cause: err });
  }
  try {
    const ch = confirm ? await conn.createConfirmChannel() : await conn.createChannel();
    ch.on('error', () => undefined);
    const out = await fn(ch);
    // Closing the channel first: acks and nacks sent just before a connection closes can be lost.
    await ch.close();
    return out;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

async function queueDepth(ch: Channel, queue: string): Promise<number> {
  try {
    return (await ch.checkQueue(queue)).messageCount;
  } catch {
    throw new SwitchboardError(
      'NOT_FOUND',
      `there is no queue ${queue} on this broker: no dispatcher with this prefix has run here (see --prefix)`,
    );
  }
}

/** The letters in the queue, oldest first, without taking them; and how many there are. */
export async function listDeadLetters(opts: DeadLetterOptions): Promise<{ total: number; letters: DeadLetter[] }> {
  const n = names(opts.prefix);
  const limit = opts.limit ?? 1000;
  // A connection of its own: checkQueue on a missing queue closes its channel.
  const total = await withChannel(opts.url, false, (ch) => queueDepth(ch, n.dead));
  return withChannel(opts.url, false, async (ch) => {
    const letters: DeadLetter[] = [];
    // Only what a nack needs is kept: looking at many large letters holds one body at a time.
    const held: Pick<GetMessage, 'fields'>[] = [];
    while (letters.length < Math.min(limit, total)) {
      const m = await ch.get(n.dead, { noAck: false });
      if (!m) break;
      held.push({ fields: m.fields });
      letters.push(describe(m, letters.length + 1));
    }
    // Back where they were: nothing is taken by looking.
    for (const m of held) ch.nack(m as GetMessage, false, true);
    return { total, letters };
  });
}

export interface ReplayOutcome {
  replayed: DeadLetter[];
  /** Chosen but not replayed, with why. */
  refused: { letter: DeadLetter; reason: string }[];
  /** Ids asked for that no letter has. */
  missing: string[];
}

/**
 * Replays the letters named by `ids` (or every one with `all`) to the dispatcher's queue. A letter
 * cut when it was set aside, or a request that waited for a reply (its agent has asked again since),
 * stays with the reason.
 */
export async function replayDeadLetters(
  opts: DeadLetterOptions & { ids?: readonly string[]; all?: boolean },
): Promise<ReplayOutcome> {
  const ids = new Set(opts.ids ?? []);
  if (!opts.all && !ids.size)
    throw new InvalidArgumentError(
      'name the dead letters to replay (ids from `switchboard trigger dead`), or --all for every one',
    );
  const n = names(opts.prefix);
  const limit = opts.limit ?? 1000;
  const total = await withChannel(opts.url, false, (ch) => queueDepth(ch, n.dead));
  return withChannel(opts.url, true, async (raw) => {
    const ch = raw as amqp.ConfirmChannel;
    const out: ReplayOutcome = { replayed: [], refused: [], missing: [] };
    const seen = new Set<string>();
    const kept: GetMessage[] = [];
    let held = 0;
    // Each letter is looked at once: the ones left go back to the queue's head only at the end.
    for (let position = 1; position <= total && out.replayed.length + out.refused.length < limit; position++) {
      if (held > MAX_HELD_BYTES) break;
      const m = await ch.get(n.dead, { noAck: false });
      if (!m) break;
      const letter = describe(m, position);
      seen.add(letter.id);
      if (!opts.all && !ids.has(letter.id)) {
        kept.push(m);
        held += m.content.length;
        continue;
      }
      const refusal = letter.truncated
        ? `it was cut to its first ${letter.bytes} bytes when set aside (it had ${letter.originalBytes ?? '?'}): it cannot be replayed; the connector must send it again within the limit`
        : letter.route !== null && letter.route !== ROUTE_EVENTS && letter.route !== n.dispatcher
          ? `it is a ${letter.type ?? 'request'} that waited for a reply (${letter.route}): its agent has asked again since`
          : undefined;
      if (refusal) {
        out.refused.push({ letter, reason: refusal });
        kept.push(m);
        held += m.content.length;
        continue;
      }
      const headers = { ...((m.properties.headers ?? {}) as Record<string, unknown>) };
      for (const k of DEAD_HEADERS) delete headers[k];
      headers['x-replays'] = letter.replays + 1;
      headers['x-replayed-at'] = new Date().toISOString();
      await new Promise<void>((resolve, reject) => {
        ch.publish(
          n.inbox,
          ROUTE_EVENTS,
          m.content,
          {
            persistent: true,
            contentType: m.properties.contentType as string | undefined,
            type: m.properties.type as string | undefined,
            headers,
          },
          (err) =>
            err ? reject(new SwitchboardError('UNAVAILABLE', 'RabbitMQ did not confirm a replayed letter')) : resolve(),
        );
      });
      ch.ack(m);
      out.replayed.push(letter);
    }
    for (const m of kept) ch.nack(m, false, true);
    for (const id of ids) if (!seen.has(id)) out.missing.push(id);
    return out;
  });
}
