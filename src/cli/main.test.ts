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
