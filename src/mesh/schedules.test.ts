import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from './clock.js';
import { GossipBackoff, reconnectDelay, RetryTimer } from './backoff.js';
import { DEFAULT_TIMINGS, FAST_TIMINGS, parseTimings } from './timings.js';
import { AuthGuard } from './auth-guard.js';
import { clusterStatus, statusCommands } from './quorum.js';

void test('reconnect: 1 min after a lost link, 5 min after DISCONNECT, at once initially', () => {
  assert.equal(reconnectDelay(DEFAULT_TIMINGS, 'initial'), 0);
  assert.equal(reconnectDelay(DEFAULT_TIMINGS, 'lost'), 60_000);
  assert.equal(reconnectDelay(DEFAULT_TIMINGS, 'failed'), 60_000);
  assert.equal(reconnectDelay(DEFAULT_TIMINGS, 'disconnect'), 300_000);
});

void test('gossip back-off: 5 s doubling to 1 h, reset on link', () => {
  const g = new GossipBackoff(DEFAULT_TIMINGS);
  const seen = Array.from({ length: 12 }, () => g.next());
  assert.deepEqual(seen.slice(0, 4), [5_000, 10_000, 20_000, 40_000]);
  assert.equal(seen.at(-1), 3_600_000);
  g.reset();
  assert.equal(g.next(), 5_000);
});

void test('retry timer fires once at its due time and is replaced by a new schedule', () => {
  const clock = new ManualClock();
  const t = new RetryTimer(clock);
  let fired = 0;
  t.schedule(1000, () => fired++);
  t.schedule(5000, () => (fired += 10));
  clock.advance(1000);
  assert.equal(fired, 0);
  assert.equal(t.due, clock.now() + 4000);
  clock.advance(4000);
  assert.equal(fired, 10);
  assert.equal(t.due, undefined);
});

void test('timings parse: fast preset and overrides; unknown names are refused with the list', () => {
  assert.equal(parseTimings('fast').reconnectMs, FAST_TIMINGS.reconnectMs);
  const t = parseTimings('fast,authBlockMs=5000');
  assert.equal(t.authBlockMs, 5000);
  assert.equal(t.gossipInitialMs, FAST_TIMINGS.gossipInitialMs);
  assert.throws(() => parseTimings('speed=1'), /reconnectMs/);
});

void test('auth guard: 3 failures within 15 min block for 1 h; spread-out failures do not', () => {
  const clock = new ManualClock();
  const g = new AuthGuard(clock, DEFAULT_TIMINGS);
  assert.equal(g.recordFailure('10.0.0.9'), undefined);
  clock.advance(16 * 60_000);
  assert.equal(g.recordFailure('10.0.0.9'), undefined);
  assert.equal(g.recordFailure('10.0.0.9'), undefined);
  assert.ok(!g.isBlocked('10.0.0.9'));
  const block = g.recordFailure('10.0.0.9');
  assert.ok(block);
  assert.ok(g.isBlocked('10.0.0.9'));
  assert.ok(!g.isBlocked('10.0.0.8'));
  assert.equal(g.list().length, 1);
  clock.advance(3_600_000);
  assert.ok(!g.isBlocked('10.0.0.9'));
  assert.equal(g.list().length, 0);
});

void test('quorum: total = max(1, known), quorum = total/2+1', () => {
  assert.deepEqual(clusterStatus(0, 1), { up: true, complete: true, total: 1, live: 1, quorum: 1 });
  assert.deepEqual(statusCommands(clusterStatus(4, 2)), ['CLUSTER_DOWN', 'CLUSTER_INCOMPLETE']);
  assert.deepEqual(statusCommands(clusterStatus(4, 3)), ['CLUSTER_UP', 'CLUSTER_INCOMPLETE']);
  assert.deepEqual(statusCommands(clusterStatus(5, 3)), ['CLUSTER_UP', 'CLUSTER_INCOMPLETE']);
  assert.deepEqual(statusCommands(clusterStatus(4, 4)), ['CLUSTER_UP', 'CLUSTER_COMPLETE']);
});
