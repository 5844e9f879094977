/** With --http-token the API, /metrics and /api/live ask for the token; the CLI refuses a public address without one. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { tempDir } from '../core/test/support.js';
import { startWithDashboard, type Running } from './test/harness.js';

const BIN = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));
let running: Running;

before(async () => {
  running = await startWithDashboard({ token: 's3cret' });
});
after(async () => {
  await running?.stop();
  delete process.env.SWITCHBOARD_HTTP;
  delete process.env.SWITCHBOARD_HTTP_TOKEN;
});

void test('the API and /metrics need the Bearer token; the UI itself loads so it can ask for it', async () => {
  const denied = await fetch(`${running.url}/api/services`);
  assert.equal(denied.status, 401);
  assert.match(((await denied.json()) as { error: { message: string } }).error.message, /Bearer/);
  assert.equal((await fetch(`${running.url}/metrics`)).status, 401);
  assert.equal(
    (await fetch(`${running.url}/api/services`, { headers: { authorization: 'Bearer wrong' } })).status,
    401,
  );
  assert.equal(
    (await fetch(`${running.url}/api/services`, { headers: { authorization: 'Bearer s3cret' } })).status,
    200,
  );
  assert.equal((await fetch(`${running.url}/metrics`, { headers: { authorization: 'Bearer s3cret' } })).status, 200);
  assert.equal((await fetch(`${running.url}/`)).status, 200);
});

void test('/api/live takes the token as ?token= (browsers cannot set headers on a WebSocket)', async () => {
  const base = `${running.url.replace('http', 'ws')}/api/live`;
  const refused = new WebSocket(base);
  await new Promise<void>((resolve) => {
    refused.on('error', () => resolve());
    refused.on('unexpected-response', () => resolve());
  });
  const ok = new WebSocket(`${base}?token=s3cret`);
  const first = await new Promise<string>((resolve, reject) => {
    ok.once('message', (d: Buffer) => resolve(d.toString()));
    ok.once('error', reject);
  });
  assert.equal((JSON.parse(first) as { type: string }).type, 'services');
  ok.close();
});

function runStart(args: string[], home: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'start', '--local-listen', 'cd://127.0.0.1:0', '--unix-listen', 'off', '--signal', 'off', ...args],
      {
        env: {
          ...process.env,
          SWITCHBOARD_FROM_SOURCE: '1',
          SWITCHBOARD_HOME: home,
          SWITCHBOARD_LOG_LEVEL: 'error',
          SWITCHBOARD_HTTP: '',
          SWITCHBOARD_HTTP_TOKEN: '',
        },
        timeout: 60_000,
      },
      (err, _stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }),
    );
  });
}

void test('switchboard start refuses a non-loopback --http without --http-token, and a busy --http port, with a sentence', async () => {
  const home = await tempDir();
  try {
    const open = await runStart(['--http', '0.0.0.0:0'], home.path);
    assert.equal(open.code, 1);
    assert.match(open.stderr, /--http 0\.0\.0\.0:0 listens beyond this machine: give --http-token/);
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    const taken = await runStart(['--http', `127.0.0.1:${port}`], home.path);
    busy.close();
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /the dashboard could not listen on 127\.0\.0\.1:\d+: .*EADDRINUSE.*--http off/);
  } finally {
    await home.cleanup();
  }
});
