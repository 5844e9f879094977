/** `request` against real HTTP servers on loopback: retries, a different peer per attempt, the breaker, errors, trace context. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '../core/test/support.js';
import { attachDiscovery } from './discovery.js';
import { PeerRequestError } from './http-request.js';

interface Backend {
  server: Server;
  port: number;
  hits: number;
  failing: boolean;
  traces: string[];
}

async function backend(name: string, failing: boolean): Promise<Backend> {
  const b: Backend = { server: createServer(), port: 0, hits: 0, failing, traces: [] };
  b.server.on('request', (req, res) => {
    b.hits++;
    b.traces.push(String(req.headers.traceparent ?? ''));
    res.statusCode = b.failing ? 503 : 200;
    res.end(b.failing ? 'down' : `hello from ${name}`);
  });
  await new Promise<void>((r) => b.server.listen(0, '127.0.0.1', r));
  b.port = (b.server.address() as AddressInfo).port;
  return b;
}

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

void test('retries land on the healthy peer; the circuit opens for the failing one and closes after it recovers', async () => {
  const bad = await backend('bad', true);
  const good = await backend('good', false);
  servers.push(bad.server, good.server);
  const override = JSON.stringify({
    service: {
      app: {
        default: {
          'h/app#bad': { address: '127.0.0.1', port: bad.port },
          'h/app#good': { address: '127.0.0.1', port: good.port },
        },
      },
    },
  });
  const d = await attachDiscovery(undefined, {
    override,
    policy: { balance: 'round-robin', retryInitialDelayMs: 5, breakerFailures: 2, breakerCooldownMs: 1500 },
  });
  const app = d.service('app');

  const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const first = await app.request({ path: '/x', traceparent: parent });
  assert.equal(first.identity, 'h/app#good');
  assert.equal(first.body, 'hello from good');
  assert.equal(first.attempts, 2, 'first attempt on the failing peer, the retry on another');
  assert.equal(bad.hits, 1);
  assert.ok(
    bad.traces[0]!.startsWith('00-4bf92f3577b34da6a3ce929d0e0e4736-') &&
      good.traces[0]!.startsWith('00-4bf92f3577b34da6a3ce929d0e0e4736-'),
    'trace id propagated',
  );
  assert.notEqual(bad.traces[0], good.traces[0], 'a new span per attempt');

  // Until the breaker opens the failing peer still gets its turn; after, it is skipped.
  for (let i = 0; i < 4; i++) assert.equal((await app.request()).identity, 'h/app#good');
  assert.equal(d.breakerState('h/app#bad'), 'open');
  const hitsWhenOpen = bad.hits;
  assert.equal(hitsWhenOpen, 2);
  for (let i = 0; i < 5; i++) assert.equal((await app.request()).attempts, 1);
  assert.equal(bad.hits, hitsWhenOpen, 'no request reaches a peer whose circuit is open');

  bad.failing = false;
  await waitFor(() => d.breakerState('h/app#bad') === 'half-open', {
    timeoutMs: 5000,
    intervalMs: 20,
    what: 'half-open breaker',
  });
  const seen = new Set<string>();
  for (let i = 0; i < 4; i++) seen.add((await app.request()).identity);
  assert.ok(seen.has('h/app#bad'), 'the recovered peer takes requests again');
  assert.equal(d.breakerState('h/app#bad'), 'closed');
});

void test('errors carry the peer and URL; no peer is a clear error', async () => {
  const bad = await backend('bad', true);
  servers.push(bad.server);
  const override = JSON.stringify({
    service: { app: { default: { 'h/app#1': { address: '127.0.0.1', port: bad.port } } } },
  });
  const d = await attachDiscovery(undefined, { override, policy: { retryCount: 1, retryInitialDelayMs: 1 } });
  const err = await d
    .service('app')
    .request({ path: '/p' })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(err instanceof PeerRequestError);
  assert.equal(err.url, `http://127.0.0.1:${bad.port}/p`);
  assert.equal(err.identity, 'h/app#1');
  assert.match(err.message, /answered 503/);
  assert.equal(bad.hits, 2);
  await assert.rejects(
    d.service('nobody').request({ policy: { noPeerRetry: false } }),
    /No peer found for service "nobody" endpoint "default"/,
  );
  await assert.rejects(
    d.service('app').request({ policy: { timeoutMs: -1 } }),
    /invalid request policy: at timeoutMs: Too small/,
  );
});

void test('least-pending sends concurrent requests to the idle peer', async () => {
  const a = await backend('a', false);
  const b = await backend('b', false);
  servers.push(a.server, b.server);
  const override = JSON.stringify({
    service: {
      app: { default: { a: { address: '127.0.0.1', port: a.port }, b: { address: '127.0.0.1', port: b.port } } },
    },
  });
  const d = await attachDiscovery(undefined, { override, policy: { balance: 'least-pending' } });
  const results = await Promise.all(Array.from({ length: 6 }, () => d.service('app').request()));
  const counts = results.reduce<Record<string, number>>((acc, r) => {
    acc[r.identity] = (acc[r.identity] ?? 0) + 1;
    return acc;
  }, {});
  assert.deepEqual(counts, { a: 3, b: 3 });
});
