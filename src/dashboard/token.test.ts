/**
 * The dashboard always wants a token, even on loopback: the hub's admin token (the one the printed
 * URL carries), an extra one from SWITCHBOARD_HTTP_TOKEN / --http-token-file, or a configured
 * identity's; never from the command line.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { tempDir } from '../core/test/support.js';
import { startWithDashboard, type Running } from './test/harness.js';

const BIN = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));
const EXTRA = 'an-extra-dashboard-token';
let running: Running;

before(async () => {
  running = await startWithDashboard({ token: EXTRA });
});
after(async () => {
  await running?.stop();
  delete process.env.SWITCHBOARD_HTTP;
  delete process.env.SWITCHBOARD_HTTP_TOKEN;
});

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

void test('the API and /metrics need a token that names an identity; the UI itself loads so it can ask for it', async () => {
  const denied = await fetch(`${running.url}/api/services`);
  assert.equal(denied.status, 401);
  assert.match(((await denied.json()) as { error: { message: string } }).error.message, /hub\.token/);
  assert.equal((await fetch(`${running.url}/metrics`)).status, 401);
  assert.equal((await fetch(`${running.url}/api/services`, bearer('wrong-token-0123456789'))).status, 401);
  // ?token= is for the WebSocket only: an API call must send the header.
  assert.equal((await fetch(`${running.url}/api/services?token=${running.token}`)).status, 401);
  assert.equal((await fetch(`${running.url}/api/services`, bearer(running.token))).status, 200);
  assert.equal((await fetch(`${running.url}/api/services`, bearer(EXTRA))).status, 200);
  assert.equal((await fetch(`${running.url}/metrics`, bearer(running.token))).status, 200);
  assert.equal((await fetch(`${running.url}/`)).status, 200);
  // The printed address carries the hub's admin token, the one in $SWITCHBOARD_HOME/hub.token.
  assert.equal(new URL(running.signInUrl).searchParams.get('token'), running.hub.adminToken);
  const metrics = await (await fetch(`${running.url}/metrics`, bearer(running.token))).text();
  assert.match(metrics, /switchboard_refusals_total\{reason="dashboard"\} [3-9]/);
});

void test('/api/live takes the token as ?token= (browsers cannot set headers on a WebSocket)', async () => {
  const base = `${running.url.replace('http', 'ws')}/api/live`;
  const refused = new WebSocket(base);
  await new Promise<void>((resolve) => {
    refused.on('error', () => resolve());
    refused.on('unexpected-response', () => resolve());
  });
  const ok = new WebSocket(`${base}?token=${running.token}`);
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

void test('switchboard start refuses a token or a secret on the command line, and a busy --http port, with a sentence', async () => {
  const home = await tempDir();
  try {
    const token = await runStart(['--http-token', 'a-token-on-the-command-line'], home.path);
    assert.equal(token.code, 1);
    assert.match(
      token.stderr,
      /--http-token would show the secret to every user of this machine \(ps, \/proc\).*--http-token-file FILE, or set SWITCHBOARD_HTTP_TOKEN/,
    );
    const secret = await runStart(['--signal-secret', 'a-secret-on-the-command-line'], home.path);
    assert.equal(secret.code, 1);
    assert.match(
      secret.stderr,
      /--signal-secret would show the secret.*--signal-secret-file FILE, or set SWITCHBOARD_SIGNAL_SECRET/,
    );
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
