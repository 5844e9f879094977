/**
 * The home directory holds the store (API keys, execution data, token hashes) and the admin
 * token: `switchboard start` makes it private, and says so when an existing one is not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir, waitFor } from '../core/test/support.js';
import { ensurePrivateDir } from './home.js';

const BIN = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));
const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

void test('ensurePrivateDir creates 0700 and names an existing directory that others can read or write', async (t) => {
  const dir = await tempDir('switchboard-home-');
  t.after(dir.cleanup);
  const fresh = join(dir.path, 'a', 'home');
  assert.equal(ensurePrivateDir(fresh), undefined);
  assert.equal(mode(fresh), '700');
  chmodSync(fresh, 0o755);
  assert.match(ensurePrivateDir(fresh) ?? '', /can be read by other users \(mode 755\).*chmod 700/);
  chmodSync(fresh, 0o777);
  assert.match(ensurePrivateDir(fresh) ?? '', /can be written by other users \(mode 777\)/);
  assert.equal(mode(fresh), '777', 'a mode the user chose is left alone');
});

/** Runs `start` in `home` until it is up; returns its stderr and stops it. */
async function startIn(home: string, inspect: () => void): Promise<string> {
  const child = spawn(
    process.execPath,
    [BIN, 'start', '--local-listen', 'cd://127.0.0.1:0', '--unix-listen', 'off', '--signal', 'off', '--http', 'off'],
    {
      env: { ...process.env, SWITCHBOARD_FROM_SOURCE: '1', SWITCHBOARD_HOME: home, SWITCHBOARD_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    await waitFor(() => stdout.includes('stop with Ctrl-C') || child.exitCode !== null, {
      timeoutMs: 60_000,
      what: 'start to be up',
    });
    assert.equal(child.exitCode, null, stderr);
    inspect();
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  return stderr;
}

void test('switchboard start keeps its home private: directory 0700, store and token 0600; warns of a readable home', async (t) => {
  const dir = await tempDir('switchboard-start-modes-');
  t.after(dir.cleanup);
  const fresh = join(dir.path, 'fresh');
  const shared = join(dir.path, 'shared');
  mkdirSync(shared, { mode: 0o755 });
  chmodSync(shared, 0o755);
  const [, sharedStderr] = await Promise.all([
    startIn(fresh, () => {
      assert.equal(mode(fresh), '700');
      for (const file of ['switchboard.db', 'switchboard.db-wal', 'switchboard.db-shm', 'hub.token'])
        assert.equal(mode(join(fresh, file)), '600', file);
    }),
    startIn(shared, () => undefined),
  ]);
  assert.match(sharedStderr, /the data directory is not private/);
  assert.match(sharedStderr, /can be read by other users \(mode 755\)/);
});
