import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../core/test/support.js';
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
  // The timer stays for the next deadline, but unref'd.
  const timer = (d as unknown as { timer: NodeJS.Timeout | undefined }).timer;
  assert.equal(timer === undefined || !timer.hasRef(), true, 'an idle timer must not keep the process alive');
  let fired = false;
  const late = d.add(5, () => {
    fired = true;
  });
  assert.equal(
    (d as unknown as { timer: NodeJS.Timeout | undefined }).timer?.hasRef(),
    true,
    'a pending deadline keeps its timer',
  );
  await waitFor(() => fired, { what: 'a short deadline added while the idle timer waits for a long one' });
  late.cancel();
});
