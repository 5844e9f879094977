import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WriteBehind } from './runner.js';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

void test('writes run in order, at most `window` behind the caller', async () => {
  const w = new WriteBehind(1);
  const order: number[] = [];
  const gates = [deferred(), deferred(), deferred()];
  await w.push(async () => {
    order.push(1);
    await gates[0]!.promise;
  });
  // The second push waits until the first write is done.
  let secondReturned = false;
  const second = w
    .push(async () => {
      order.push(2);
      await gates[1]!.promise;
    })
    .then(() => {
      secondReturned = true;
    });
  await new Promise((r) => setImmediate(r));
  assert.equal(secondReturned, false);
  gates[0]!.resolve();
  await second;
  gates[1]!.resolve();
  gates[2]!.resolve();
  await w.push(async () => {
    order.push(3);
  });
  await w.drain();
  assert.deepEqual(order, [1, 2, 3]);
});

void test('a failed write fails the next push and drain, and skips the writes queued after it', async () => {
  const w = new WriteBehind(1);
  const ran: number[] = [];
  await w.push(async () => {
    ran.push(1);
    throw new Error('disk full');
  });
  await assert.rejects(
    w.push(async () => {
      ran.push(2);
    }),
    /disk full/,
  );
  await assert.rejects(
    w.push(async () => {
      ran.push(3);
    }),
    /disk full/,
  );
  await assert.rejects(w.drain(), /disk full/);
  assert.deepEqual(ran, [1]);
});

void test('window 0: each push returns after its own write', async () => {
  const w = new WriteBehind(0);
  let done = false;
  await w.push(async () => {
    await new Promise((r) => setTimeout(r, 5));
    done = true;
  });
  assert.equal(done, true);
});
