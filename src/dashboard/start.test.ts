/** `switchboard start` checks --http and the dashboard token before it starts anything (no hub, no home directory). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../core/test/support.js';
import { checkDashboardFlags, dashboardConfig } from './config.js';

const BIN = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));

/** Runs `start` with a home that does not exist yet: the hub creates it first thing, so it must stay absent. */
async function refused(args: string[]): Promise<{ code: number | null; stderr: string; homeCreated: boolean }> {
  const dir = await tempDir('switchboard-start-check-');
  const home = join(dir.path, 'home');
  try {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
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
    return { code, stderr, homeCreated: existsSync(home) };
  } finally {
    await dir.cleanup();
  }
}

void test('start fails before starting anything on a malformed --http, a token on the command line, or a bad token file', async () => {
  const malformed = await refused(['--http', 'localhost:80:80']);
  assert.equal(malformed.code, 1);
  assert.match(malformed.stderr, /--http "localhost:80:80": expected HOST:PORT/);
  assert.equal(malformed.homeCreated, false, 'nothing started');

  const onCommandLine = await refused(['--http', '0.0.0.0:4080', '--http-token', 'a-token-0123456789']);
  assert.equal(onCommandLine.code, 1);
  assert.match(onCommandLine.stderr, /--http-token would show the secret to every user/);
  assert.equal(onCommandLine.homeCreated, false);

  const dir = await tempDir();
  try {
    const file = join(dir.path, 'token');
    writeFileSync(file, 'two words\n', { mode: 0o600 });
    const spaced = await refused(['--http', '0.0.0.0:4080', '--http-token-file', file]);
    assert.equal(spaced.code, 1);
    assert.match(
      spaced.stderr,
      /the dashboard token \(--http-token-file\) must be 16 to 512 printable ASCII characters without spaces/,
    );
    assert.doesNotMatch(spaced.stderr, /two words/);
    assert.equal(spaced.homeCreated, false);
  } finally {
    await dir.cleanup();
  }
});

void test('start fails before starting anything when an explicit --http port is taken', async () => {
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  const port = (busy.address() as { port: number }).port;
  try {
    const taken = await refused(['--http', `127.0.0.1:${port}`]);
    assert.equal(taken.code, 1);
    assert.match(
      taken.stderr,
      new RegExp(`the dashboard could not listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE.*--http off`),
    );
    assert.equal(taken.homeCreated, false);
  } finally {
    busy.close();
  }
});

void test('checkDashboardFlags: the probe leaves the port free; the default address and port 0 are not probed; an address of another machine is refused', async () => {
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  const port = (busy.address() as { port: number }).port;
  try {
    // Not explicit (default address): a busy default port only turns the dashboard off later.
    assert.deepEqual(await checkDashboardFlags({}), dashboardConfig({}));
    assert.equal((await checkDashboardFlags({ SWITCHBOARD_HTTP: '127.0.0.1:0' }))?.port, 0);
    await assert.rejects(checkDashboardFlags({ SWITCHBOARD_HTTP: `127.0.0.1:${port}` }), /EADDRINUSE/);
  } finally {
    await new Promise<void>((r) => busy.close(() => r()));
  }
  const again = await checkDashboardFlags({ SWITCHBOARD_HTTP: `127.0.0.1:${port}` });
  assert.equal(again?.port, port);
  const reuse = createServer();
  await new Promise<void>((resolve, reject) => {
    reuse.once('error', reject);
    reuse.listen(port, '127.0.0.1', resolve);
  });
  reuse.close();
  // 192.0.2.0/24 is TEST-NET-1: never an address of this machine.
  await assert.rejects(
    checkDashboardFlags({ SWITCHBOARD_HTTP: '192.0.2.1:4080', SWITCHBOARD_HTTP_TOKEN: 'tok-0123456789abcdef' }),
    /no such address on this machine/,
  );
  assert.equal(await checkDashboardFlags({ SWITCHBOARD_HTTP: 'off' }), undefined);
});
