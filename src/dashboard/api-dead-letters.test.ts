/**
 * The dashboard's dead letters over a real `switchboard start --amqp` hub and RabbitMQ: a message
 * the dispatcher refused is listed (event ids and keys, reason, when, size; never its body or the
 * token in it), bad input is answered with a sentence and the right status, a request that waited
 * for a reply is kept with why, and after the fix a replayed letter reaches the dispatcher and runs
 * its trigger. An identity that may not send to the dispatcher is refused the routes.
 */
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import amqp from 'amqplib';
import { needService, waitFor } from '../core/test/support.js';
import type { DispatchDb } from '../dispatch/dispatcher/db.js';
import { openDispatchDb } from '../dispatch/open.js';
import { AMQP_URL, deleteTopology, testPrefix } from '../dispatch/test/rabbit.js';
import { names } from '../dispatch/transport/topology.js';
import { parseTriggers } from '../dispatch/trigger/parse.js';
import { tokenDigest } from '../trust/policy.js';
import { startWithDashboard, type Running } from './test/harness.js';

type Json = Record<string, unknown>;
interface Letter {
  id: string;
  reason: string;
  at: string | null;
  route: string | null;
  type: string | null;
  bytes: number;
  truncated: boolean;
  connectorId: string | null;
  items: number | null;
  events: { id: string; key: string }[];
  kind: string | null;
  replays: number;
}
interface View {
  queue: string | null;
  why?: string;
  total: number;
  letters: Letter[];
}

const VIEWER_TOKEN = 'viewer-token-0123456789abcdef';
let running: Running | undefined;
let db: DispatchDb;
let closeDb: (() => Promise<void>) | undefined;
let prefix: string;
let setup: Promise<void> | undefined;

after(async () => {
  await closeDb?.();
  await running?.stop();
  if (prefix) await deleteTopology(prefix).catch(() => undefined);
  delete process.env.SWITCHBOARD_HTTP;
});

/** The hub, its store and the dispatcher's queues, started by the first test; false without RabbitMQ. */
async function ready(t: TestContext): Promise<boolean> {
  if (!(await needService(t, 'rabbitmq'))) return false;
  setup ??= (async () => {
    prefix = testPrefix();
    running = await startWithDashboard({
      amqp: AMQP_URL,
      prefix,
      flags: {
        // May list services, nothing else: not the dispatcher's routes.
        identities: { viewer: { role: 'none', commands: ['LIST_SERVICES'], token_sha256: tokenDigest(VIEWER_TOKEN) } },
      },
    });
    ({ db, close: closeDb } = await openDispatchDb({ home: running.home }));
    await db.addTriggers(
      parseTriggers(
        `name: ghost
when: { connector: ghost-1, event: said }
then: { connector: recorder-1, task: record, inputs: { label: ghost } }
`,
        'ghost.yml',
      ),
    );
    // The dispatcher starts in the background: its queues exist once it runs.
    await waitFor(async () => (await call('GET', '/api/dead-letters')).status === 200, {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'the dispatcher on RabbitMQ',
    });
  })();
  await setup;
  return true;
}

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = running!.headers,
): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${running!.url}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

const message = (r: { body: Json }) => (r.body.error as { message: string }).message;
const view = async () => (await call('GET', '/api/dead-letters')).body as unknown as View;

async function publish(routingKey: string, body: unknown, type: string): Promise<void> {
  const conn = await amqp.connect(AMQP_URL);
  try {
    const ch = await conn.createConfirmChannel();
    ch.publish(names(prefix).inbox, routingKey, Buffer.from(JSON.stringify(body)), { type });
    await ch.waitForConfirms();
  } finally {
    await conn.close();
  }
}

void test('dead letters are listed with their events, reason, time and size, never their bodies; replayed after the fix', async (t) => {
  if (!(await ready(t))) return;
  assert.deepEqual(await view(), { queue: `${prefix}.dead`, total: 0, letters: [] });

  const token = await db.issueToken('speaker');
  // Events of a connector that never registered: refused and set aside.
  await publish(
    'events',
    {
      type: 'events',
      token,
      connectorId: 'ghost-1',
      events: [{ id: 'ghost-ev-1', key: 'said', data: { n: 1 }, time: new Date().toISOString() }],
    },
    'events',
  );
  // A registration with a token the dispatcher never issued, sent without waiting for the reply.
  await publish(
    'control',
    {
      type: 'register',
      token: 'not-a-token-of-this-dispatcher',
      connector: { id: 'intruder-1', kind: 'speaker', meta: {}, events: ['said'], tasks: [] },
    },
    'register',
  );
  const listed = await waitFor(async () => ((await view()).letters.length === 2 ? view() : undefined), {
    timeoutMs: 30_000,
    intervalMs: 200,
    what: 'two dead letters',
  });
  assert.equal(listed.total, 2);
  const events = listed.letters.find((l) => l.connectorId === 'ghost-1')!;
  const register = listed.letters.find((l) => l.connectorId === 'intruder-1')!;
  assert.match(events.reason, /connector ghost-1 is not registered/);
  assert.deepEqual(events.events, [{ id: 'ghost-ev-1', key: 'said' }]);
  assert.equal(events.items, 1);
  assert.equal(events.type, 'events');
  assert.equal(events.route, 'events');
  assert.ok(events.bytes > 100, `bytes ${events.bytes}`);
  assert.ok(Date.now() - Date.parse(events.at!) < 60_000, `at ${events.at}`);
  assert.match(register.reason, /the token is not one this dispatcher issued/);
  assert.equal(register.kind, 'speaker');
  assert.equal(register.route, 'control');
  // The bodies carry the agents' tokens: the page never sees them.
  const text = JSON.stringify(listed);
  assert.equal(text.includes(token), false);
  assert.equal(text.includes('not-a-token-of-this-dispatcher'), false);
  assert.deepEqual(
    (await call('GET', '/api/dead-letters?limit=1')).body.letters,
    listed.letters.slice(0, 1).map((l) => ({ ...l })),
  );

  // A request that waited for a reply stays, with why (409: nothing was replayed).
  const kept = await call('POST', '/api/dead-letters/replay', { ids: [register.id] });
  assert.equal(kept.status, 409, JSON.stringify(kept.body));
  assert.match(
    message(kept),
    new RegExp(`dead letter ${register.id} is kept: it is a register that waited for a reply`),
  );
  const nope = await call('POST', '/api/dead-letters/replay', { ids: ['nope'] });
  assert.equal(nope.status, 404);
  assert.match(message(nope), /no dead letter nope \(replayed already, or never set aside/);
  assert.equal((await view()).total, 2);

  // The fix: the connector registers. The letter goes back and its trigger runs.
  await db.upsertConnector(
    { id: 'ghost-1', kind: 'speaker', meta: {}, events: ['said'], tasks: [] },
    new Date().toISOString(),
  );
  const replayed = await call('POST', '/api/dead-letters/replay', { ids: [events.id, 'nope'] });
  assert.equal(replayed.status, 200, JSON.stringify(replayed.body));
  assert.deepEqual(
    (replayed.body.replayed as Letter[]).map((l) => l.id),
    [events.id],
  );
  assert.deepEqual(replayed.body.refused, []);
  assert.deepEqual(replayed.body.missing, ['nope']);
  const [x] = await waitFor(
    async () => {
      const xs = await db.listExecutions({ trigger: 'ghost' });
      return xs.length ? xs : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: 'the replayed event run by its trigger' },
  );
  assert.equal(x!.eventId, 'ghost-ev-1');
  assert.equal(x!.eventConnector, 'ghost-1');
  const left = await view();
  assert.deepEqual(
    left.letters.map((l) => l.id),
    [register.id],
  );

  // "all" with only a letter that cannot go: 409, and it stays.
  const all = await call('POST', '/api/dead-letters/replay', { all: true });
  assert.equal(all.status, 409);
  assert.equal((all.body.error as { data: { refused: unknown[] } }).data.refused.length, 1);
  assert.equal((await view()).total, 1);
});

void test('bad input is refused with a sentence; an identity that may not send to the dispatcher gets 403', async (t) => {
  if (!(await ready(t))) return;
  const cases: [string, string, unknown, number, RegExp][] = [
    ['GET', '/api/dead-letters?limit=0', undefined, 400, /query: limit: /],
    ['GET', '/api/dead-letters?limit=1001', undefined, 400, /query: limit: /],
    ['GET', '/api/dead-letters?sort=id', undefined, 400, /query: .*sort/],
    [
      'POST',
      '/api/dead-letters/replay',
      {},
      400,
      /give either "ids": \[\.\.\.\] \(from GET \/api\/dead-letters\) or "all": true/,
    ],
    ['POST', '/api/dead-letters/replay', { ids: [] }, 400, /ids: name at least one letter/],
    ['POST', '/api/dead-letters/replay', { ids: ['a'], all: true }, 400, /give either "ids"/],
    ['POST', '/api/dead-letters/replay', { all: false }, 400, /all: /],
    ['POST', '/api/dead-letters/replay', { ids: ['a b'] }, 400, /a dead letter id is printable ASCII without spaces/],
    ['POST', '/api/dead-letters/replay', { ids: ['x'.repeat(101)] }, 400, /ids\.0: /],
    ['POST', '/api/dead-letters/replay', { ids: ['a'], limit: 3 }, 400, /limit/],
    ['POST', '/api/dead-letters/replay', 'ids=a', 400, /the request body is not JSON/],
    ['POST', '/api/dead-letters/replay?all=true', { all: true }, 400, /query: /],
    ['GET', '/api/dead-letters/replay', undefined, 405, /use POST/],
    ['DELETE', '/api/dead-letters', undefined, 405, /only GET is served here/],
  ];
  for (const [method, path, body, status, pattern] of cases) {
    const r = await call(method, path, body);
    assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
    assert.match(message(r), pattern, `${method} ${path} ${JSON.stringify(body)}`);
  }

  const viewer = { authorization: `Bearer ${VIEWER_TOKEN}` };
  assert.equal((await call('GET', '/api/services', undefined, viewer)).status, 200);
  for (const [method, path, body] of [
    ['GET', '/api/dead-letters', undefined],
    ['POST', '/api/dead-letters/replay', { all: true }],
  ] as const) {
    const r = await call(method, path, body, viewer);
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.match(message(r), /may not send to "dispatcher", which \/api\/dead-letters(\/replay)? needs/);
  }
});
