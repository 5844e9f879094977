// The README example runs as written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

void test('src/engine/examples/hello.ts runs and prints what the README says', async () => {
  const file = fileURLToPath(new URL('./examples/hello.ts', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file], {
    timeout: 60_000,
    env: { ...process.env, SWITCHBOARD_LOG_LEVEL: 'warn' },
  });
  assert.match(stdout, /2 \+ 3 = 5/);
  assert.match(stdout, /math saw theme dark/);
  assert.match(stdout, /the host says: hello worker/);
  assert.match(stdout, /methods: \[ 'add', 'slowSquare', 'greetHost' \]/);
  assert.match(stdout, /timed out as asked: \[TIMEOUT\] call "math.slowSquare" from "host" got no answer within 10 ms/);
  assert.match(stdout, /cancelled: \[CANCEL\] call "math.slowSquare" from "host" was cancelled: user cancelled/);
});
