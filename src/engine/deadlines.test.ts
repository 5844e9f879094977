import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../core/testing.js';
import { Deadlines } from './deadlines.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

void test('deadlines fire in order with one timer, out-of-order ones on their own, cancelled ones never', async () => {
  const d = new Deadlines();
  const fired: string[] = [];
  d.add(30, () => fired.push('a'));
  const b = d.add(30, () => fired.push('b'));
  d.add(60, () => fired.push('c'));
  d.add(10, () => fired.push('early')); // earlier than the tail: its own timer
  b.cancel();
  await waitFor(() => fired.length === 3, { what: 'three deadlines' });
  await sleep(20);
  assert.deepEqual(fired, ['early', 'a', 'c']);
});

void test('cancelling every deadline releases the timer (nothing keeps the process alive)', async () => {
  const d = new Deadlines();
  const handles = Array.from({ length: 100 }, () => d.add(60_000, () => assert.fail('must not fire')));
  for (const h of handles) h.cancel();
  assert.equal((d as unknown as { timer: unknown }).timer, undefined);
  const late = d.add(5, () => undefined);
  await sleep(20);
  late.cancel();
});
