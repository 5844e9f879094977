/**
 * The CLI as a pipeline stage: a reader that has gone away (`switchboard data list | head`) ends
 * the command quietly, with no stack trace.
 */
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir } from '../core/test/support.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'switchboard.js');

// The pipe's read end is closed before the CLI starts (Python's os.pipe), so its first write fails
// with EPIPE every time, not only when a reader happens to leave early.
const CLOSED_PIPE = `
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
p = subprocess.run(sys.argv[1:], stdout=w, stderr=subprocess.PIPE)
sys.stdout.write("%d\\n%s" % (p.returncode, p.stderr.decode()))
`;

void test('a listing written into a closed pipe ends quietly with status 0', async (t) => {
  const home = await tempDir('switchboard-cli-');
  t.after(home.cleanup);
  for (const args of [['--help'], ['connector', 'list', '--json'], ['connector', 'list']]) {
    const run = spawnSync('python3', ['-c', CLOSED_PIPE, process.execPath, BIN, ...args], {
      encoding: 'utf8',
      env: { ...process.env, SWITCHBOARD_HOME: home.path },
    });
    assert.equal(run.status, 0, run.stderr);
    const [code, ...stderr] = run.stdout.split('\n');
    assert.equal(stderr.join('\n'), '', `switchboard ${args.join(' ')} wrote to stderr`);
    assert.equal(code, '0', `switchboard ${args.join(' ')}`);
  }
});

void test('a URL with a password on the command line is warned about once, naming the variable to use; never echoed', async (t) => {
  const home = await tempDir('switchboard-cli-');
  t.after(home.cleanup);
  const env = {
    ...process.env,
    SWITCHBOARD_FROM_SOURCE: '1', // a stale dist/ must not answer for the sources
    SWITCHBOARD_HOME: home.path,
    SWITCHBOARD_HTTP: '',
    SWITCHBOARD_HTTP_TOKEN: '',
    SWITCHBOARD_AMQP_URL: '',
    SWITCHBOARD_DATABASE_URL: '',
  };
  const run = (args: string[], extraEnv: Record<string, string> = {}) =>
    spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...env, ...extraEnv }, timeout: 60_000 });
  const cases: [string[], string][] = [
    // Each fails right after the warning (a bad --http, nothing listening on port 1).
    [['start', '--amqp', 'amqp://guest:S3CRETPW@127.0.0.1:1', '--http', 'localhost:80:80'], 'SWITCHBOARD_AMQP_URL'],
    [
      [
        'connector',
        'token',
        '--kind',
        'webhook',
        '--broker-user',
        '--amqp',
        'amqp://admin:S3CRETPW@127.0.0.1:1',
        '--management',
        'http://127.0.0.1:1',
      ],
      'SWITCHBOARD_AMQP_URL',
    ],
    [['account', 'list', '--database', 'postgres://u:S3CRETPW@127.0.0.1:1/x'], 'SWITCHBOARD_DATABASE_URL'],
    [['trigger', 'list', '--database', 'postgres://u:S3CRETPW@127.0.0.1:1/x'], 'SWITCHBOARD_DATABASE_URL'],
  ];
  for (const [args, variable] of cases) {
    const r = run(args);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('switchboard: warning:'));
    assert.equal(warnings.length, 1, `switchboard ${args.join(' ')}: ${r.stderr}`);
    assert.match(warnings[0]!, new RegExp(`the password in --(amqp|database) is visible.*set ${variable} instead`));
    assert.doesNotMatch(r.stdout + r.stderr, /S3CRETPW/);
  }
  // From the environment the URL is nobody else's business: no warning.
  const fromEnv = run(['start', '--http', 'localhost:80:80'], {
    SWITCHBOARD_AMQP_URL: 'amqp://guest:S3CRETPW@127.0.0.1:1',
  });
  assert.equal(fromEnv.status, 1);
  assert.doesNotMatch(fromEnv.stderr, /warning|S3CRETPW/);
});
