/**
 * Runs the built connector as the agent does (a child process, JSON lines on stdin/stdout) and
 * checks what it declares, emits and answers. `npm test` builds first.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const main = join(dirname(fileURLToPath(import.meta.url)), 'main.js');

test('declares itself, ticks, and answers tasks by id', async () => {
  const child = spawn(process.execPath, [main], { env: { ...process.env, TICK_SECONDS: '0.05' } });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => JSON.parse(String((await lines.next()).value)) as Record<string, unknown>;
  try {
    assert.deepEqual(await next(), { type: 'hello', events: ['tick'], tasks: ['greet'] });
    const tick = await next();
    assert.equal(tick.type, 'event');
    assert.equal(tick.key, 'tick');
    assert.equal((tick.data as { n: number }).n, 1);

    child.stdin.write(`${JSON.stringify({ type: 'task', id: 't1', key: 'greet', inputs: { name: 'Ada' } })}\n`);
    child.stdin.write(`${JSON.stringify({ type: 'task', id: 't2', key: 'greet', inputs: {} })}\n`);
    const results = new Map<unknown, Record<string, unknown>>();
    while (results.size < 2) {
      const line = await next();
      if (line.type === 'result') results.set(line.id, line);
    }
    assert.deepEqual(results.get('t1'), { type: 'result', id: 't1', outputs: { greeting: 'Hello, Ada!' } });
    assert.match(String(results.get('t2')?.error), /greet needs a "name"/);
  } finally {
    child.kill('SIGTERM');
  }
});
