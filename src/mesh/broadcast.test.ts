import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from './clock.js';
import { BroadcastTracker, readBroadcast, stripBroadcast, writeBroadcast, MAX_BROADCAST_HOPS } from './broadcast.js';

void test('msgid is <server>-<seq>; a hub handles a msgid once and ignores its own echo', () => {
  const clock = new ManualClock();
  const a = new BroadcastTracker('A', clock, 10_000);
  const b = new BroadcastTracker('B', clock, 10_000);
  const info = a.originate();
  assert.equal(info.msgid, 'A-1');
  assert.equal(a.originate().msgid, 'A-2');
  assert.ok(!a.accept(info), 'echo');
  assert.ok(b.accept(info));
  assert.ok(!b.accept(info), 'duplicate');
});

void test('expired broadcasts are dropped', () => {
  const clock = new ManualClock();
  const a = new BroadcastTracker('A', clock, 10_000);
  const b = new BroadcastTracker('B', clock, 10_000);
  const info = a.originate();
  clock.advance(12_000);
  assert.ok(!b.accept(info));
});

void test('forward skips informed neighbors and stops at the hop limit', () => {
  const clock = new ManualClock();
  const a = new BroadcastTracker('A', clock, 10_000);
  const first = a.forward(a.originate(), ['B', 'C', 'D']);
  assert.deepEqual(first.targets, ['B', 'C', 'D']);
  assert.deepEqual(first.info.informed.sort(), ['A', 'B', 'C', 'D']);
  const b = new BroadcastTracker('B', clock, 10_000);
  assert.deepEqual(b.forward(first.info, ['A', 'C', 'E']).targets, ['E']);
  assert.deepEqual(b.forward({ ...first.info, hops: MAX_BROADCAST_HOPS }, ['E']).targets, []);
});

void test('parameters round-trip and are stripped before local delivery', () => {
  const info = { msgid: 'A-7', hops: 2, originator: 'A', timeout: 123, informed: ['A', 'B'] };
  const params = writeBroadcast({ x: '1' }, info);
  assert.deepEqual(readBroadcast(params), info);
  assert.deepEqual(stripBroadcast(params), { x: '1' });
  assert.equal(readBroadcast({ x: '1' }), undefined);
});
