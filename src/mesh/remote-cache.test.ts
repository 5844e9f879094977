import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMessage } from '../core/message.js';
import { ManualClock } from './clock.js';
import { RemoteCache } from './remote-cache.js';

void test('messages wait per hub in order, expire by their own ttl, and are handed back once', () => {
  const clock = new ManualClock();
  const cache = new RemoteCache(clock, 3);
  assert.ok(cache.add('C', createMessage('A1'), 30));
  assert.ok(cache.add('C', createMessage('A2'), 10));
  assert.ok(cache.add('C', createMessage('A3'), 60));
  assert.ok(!cache.add('C', createMessage('A4'), 60), 'the queue for C is full');
  assert.ok(cache.add('D', createMessage('B1'), 10));
  assert.deepEqual(cache.hubs().sort(), ['C', 'D']);
  clock.advance(20_000);
  assert.deepEqual(
    cache.take('C').map((m) => m.command),
    ['A1', 'A3'],
  );
  assert.deepEqual(cache.take('C'), []);
  assert.deepEqual(cache.take('D'), [], 'expired');
  assert.equal(cache.size, 0);
});

void test("a hub's queue is bounded in bytes too: past it a new message is refused; expired ones make room", () => {
  const clock = new ManualClock();
  const cache = new RemoteCache(clock, 100, 5000);
  const big = (n: number) => createMessage('BIG', { n: String(n), blob: 'x'.repeat(2000) });
  assert.ok(cache.add('C', big(1), 10));
  assert.ok(cache.add('C', big(2), 60));
  assert.ok(!cache.add('C', big(3), 60), 'a third 2 KB message does not fit in 5,000 bytes');
  assert.ok(cache.pendingBytes('C') <= 5000);
  clock.advance(11_000);
  assert.ok(cache.add('C', big(4), 60), 'the expired first one made room');
  assert.deepEqual(
    cache.take('C').map((m) => m.params.n),
    ['2', '4'],
  );
  assert.equal(cache.pendingBytes('C'), 0);
});
