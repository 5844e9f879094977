/** The client's pure parts: back-off, the disconnected queue, correlation, destinations, cache policy. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMessage } from '../core/message.js';
import { SwitchboardError, TimeoutError } from '../core/errors.js';
import { COMMUNICATOR_BACKOFF_MS, backoffDelay } from './backoff.js';
import { OutboundQueue } from './outbound-queue.js';
import { CORRELATION_PARAM, Correlator } from './correlation.js';
import { toEndpoint } from './destination.js';
import { cacheParam } from './builder.js';
import { parseServiceList } from './service-list.js';

void test('back-off follows the communicator and then stays at 60 s', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => backoffDelay(COMMUNICATOR_BACKOFF_MS, i) / 1000),
    [1, 1, 1, 3, 5, 10, 20, 30, 60],
  );
  assert.equal(backoffDelay(COMMUNICATOR_BACKOFF_MS, 50), 60_000);
  assert.equal(backoffDelay([5, 10], 7), 10);
});

void test('outbound queue drops by policy and counts every loss', () => {
  const oldest = new OutboundQueue(2, 'drop-oldest');
  for (const f of ['a', 'b', 'c']) oldest.push(f);
  assert.deepEqual(oldest.drain(), ['b', 'c']);
  assert.equal(oldest.dropped, 1);
  const newest = new OutboundQueue(2, 'drop-newest');
  assert.equal(newest.push('a'), true);
  newest.push('b');
  assert.equal(newest.push('c'), false);
  assert.deepEqual(newest.drain(), ['a', 'b']);
  assert.equal(newest.dropped, 1);
  assert.equal(newest.length, 0);
});

void test('outbound queue holds at most maxBytes: the oldest go for a newer frame, or the newer one goes', () => {
  const oldest = new OutboundQueue(100, 'drop-oldest', 10);
  for (const f of ['aaaa', 'bbbb', 'cccc']) oldest.push(f);
  assert.equal(oldest.bytes, 8);
  assert.deepEqual(oldest.drain(), ['bbbb', 'cccc']);
  assert.equal(oldest.dropped, 1);
  assert.equal(oldest.bytes, 0);
  // Bytes, not characters: 'é' is two in UTF-8.
  assert.equal(oldest.push('ééééé'), true);
  assert.equal(oldest.push('x'), true, 'the 10-byte frame goes to make room');
  assert.deepEqual(oldest.drain(), ['x']);
  const newest = new OutboundQueue(100, 'drop-newest', 10);
  newest.push('aaaa');
  newest.push('bbbb');
  assert.equal(newest.push('cccc'), false);
  assert.deepEqual(newest.drain(), ['aaaa', 'bbbb']);
  // A frame over the whole budget is dropped, and nothing queued goes for it.
  oldest.push('keep');
  assert.equal(oldest.push('y'.repeat(11)), false);
  assert.deepEqual(oldest.drain(), ['keep']);
  assert.equal(oldest.dropped, 3);
});

void test('correlator resolves by id, times out, aborts, rejects all, and rebuilds remote errors', async () => {
  const c = new Correlator();
  const id = c.nextId();
  const p = c.track(id, { command: 'PING', service: 'svc' }, { timeoutMs: 5000 });
  const reply = createMessage('PONG', { [CORRELATION_PARAM]: id }, {}, { service: 'svc' });
  assert.equal(c.resolve(reply), true);
  assert.equal((await p).command, 'PONG');
  assert.equal(c.resolve(reply), false, 'a second reply to the same id is late');
  assert.equal(c.owns(id), true);

  const t = c.track(c.nextId(), { command: 'SLOW', service: 'svc' }, { timeoutMs: 10 });
  await assert.rejects(t, (err) => err instanceof TimeoutError && /svc\/SLOW/.test(err.message));

  const ac = new AbortController();
  const a = c.track(c.nextId(), { command: 'X', service: 's' }, { timeoutMs: 5000, signal: ac.signal });
  ac.abort();
  await assert.rejects(a, (err) => err instanceof SwitchboardError && err.code === 'CANCELLED');

  const eid = c.nextId();
  const e = c.track(eid, { command: 'DO', service: 's' }, { timeoutMs: 5000 });
  c.resolve(
    createMessage(
      'ERROR',
      { [CORRELATION_PARAM]: eid, code: 'CONFLICT', message: 'already done' },
      {},
      { service: 's' },
    ),
  );
  await assert.rejects(
    e,
    (err) => err instanceof SwitchboardError && err.code === 'CONFLICT' && err.message === 'already done',
  );

  const m = c.track(
    c.nextId(),
    { command: 'ALIVE', service: 's' },
    { timeoutMs: 5000, match: (msg) => msg.command === 'ABSOLUTELY' },
  );
  assert.equal(c.resolve(createMessage('ABSOLUTELY', {})), true, 'a reply without the id matches by predicate');
  await m;

  const r = [
    c.track(c.nextId(), { command: 'A', service: 's' }, { timeoutMs: 5000 }),
    c.track(c.nextId(), { command: 'B', service: 's' }, { timeoutMs: 5000 }),
  ];
  c.rejectAll(new Error('gone'));
  for (const x of r) await assert.rejects(x, /gone/);
  assert.equal(c.size, 0);
});

void test('correlator timeouts: each request expires on its own deadline, whatever was settled or added around it', async () => {
  const c = new Correlator();
  const settled: string[] = [];
  const track = (command: string, timeoutMs: number) => {
    const id = c.nextId();
    const p = c.track(id, { command, service: 's' }, { timeoutMs });
    p.then(
      () => settled.push(`${command} ok`),
      (err: unknown) => settled.push(`${command} ${err instanceof TimeoutError ? 'timeout' : 'other'}`),
    );
    return { id, p };
  };
  // Same length: the head is answered, the one behind it still times out (the shared timer re-arms).
  const first = track('FIRST', 40);
  const second = track('SECOND', 40);
  // A shorter timeout added later expires first; a longer one is still pending when it does.
  const short = track('SHORT', 10);
  const long = track('LONG', 5000);
  c.resolve(createMessage('OK', { [CORRELATION_PARAM]: first.id }));
  await assert.rejects(short.p, TimeoutError);
  assert.deepEqual(settled, ['FIRST ok', 'SHORT timeout']);
  await assert.rejects(second.p, TimeoutError);
  assert.equal(c.size, 1, 'only LONG is left');
  c.resolve(createMessage('OK', { [CORRELATION_PARAM]: long.id }));
  await long.p;
  // An id tracked twice (not what the client does, but the correlator must not spin): both time out.
  const twice = c.nextId();
  const dup = [
    c.track(twice, { command: 'DUP', service: 's' }, { timeoutMs: 10 }),
    c.track(twice, { command: 'DUP', service: 's' }, { timeoutMs: 10 }),
  ];
  for (const d of dup) await assert.rejects(d, TimeoutError);
  // A list that emptied and fills again arms its timer again.
  await assert.rejects(track('AGAIN', 10).p, TimeoutError);
  assert.deepEqual(settled, ['FIRST ok', 'SHORT timeout', 'SECOND timeout', 'LONG ok', 'AGAIN timeout']);
  assert.equal(c.size, 0);
});

void test('destinations parse service, server:service and instances; bad names are refused', () => {
  assert.deepEqual(toEndpoint('clock'), { server: '', service: 'clock' });
  assert.deepEqual(toEndpoint('srv1:clock#2'), { server: 'srv1', service: 'clock#2' });
  assert.deepEqual(toEndpoint({ service: '*' }), { server: '', service: '*' });
  assert.throws(() => toEndpoint('bad name'), /invalid service name/);
  assert.throws(() => toEndpoint('a b:svc'), /invalid server name/);
});

void test('cache policy renders the communicator parameter', () => {
  assert.equal(cacheParam({ ttl: 60 }), 'ttl=60');
  assert.equal(cacheParam('no'), 'no');
  assert.equal(cacheParam({ no: true, reply: true }), 'no;reply');
});

void test('service lists are validated: JSON text or array in, typed entries out', () => {
  const entry = {
    name: 'clock',
    server: 'vm',
    status: 'up',
    since: 1,
    instances: [{ instance: '1', id: 'clock#1', since: 1, commands: ['TIME'], transport: 'tcp' }],
  };
  assert.equal(
    parseServiceList(createMessage('SERVICES', { services: JSON.stringify([entry]) }))[0]!.instances[0]!.id,
    'clock#1',
  );
  assert.equal(parseServiceList(createMessage('SERVICES', { services: [entry] }))[0]!.name, 'clock');
  assert.throws(() => parseServiceList(createMessage('SERVICES', { services: '[{' })), /does not hold JSON/);
  assert.throws(() => parseServiceList(createMessage('SERVICES', { services: [{ name: 'x' }] })), /not a service list/);
});
