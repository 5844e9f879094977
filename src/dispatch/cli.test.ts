// The trigger and token verbs through the real CLI (bin/switchboard.js), on a temporary home.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '../core/test/support.js';

const run = promisify(execFile);
const bin = join(import.meta.dirname, '..', '..', 'bin', 'switchboard.js');
let home: { path: string; cleanup: () => Promise<void> };

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return raw(...args, '--home', home.path);
}

/** A verb without --home (agent). */
async function raw(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [bin, ...args], {
      env: { ...process.env, SWITCHBOARD_FROM_SOURCE: '1', SWITCHBOARD_DATABASE_URL: '' },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

before(async () => {
  home = await tempDir('sb-dispatch-cli-');
});
after(async () => {
  await home.cleanup();
});

void test('trigger add|list|disable|enable|remove and connector token', async () => {
  const good = join(home.path, 'good.yml');
  await writeFile(
    good,
    'name: ping\nwhen: { kind: timer, event: tick }\nthen:\n  kind: http-request\n  task: request\n  inputs: { url: "http://127.0.0.1:9/", n: { $ref: data.n } }\n',
  );
  const bad = join(home.path, 'bad.yml');
  await writeFile(
    bad,
    'name: pong\nwhen: { kind: timer, event: tick }\nfilters:\n  - { path: n, op: bigger, value: 3 }\nthen: { kind: x, task: y }\n',
  );

  const b = await cli('trigger', 'add', bad);
  assert.equal(b.code, 1);
  assert.match(b.stderr, /bad\.yml:4: filters\[0\]\.op: op must be one of/);

  assert.equal((await cli('trigger', 'add', good)).stdout, 'added trigger ping\n');
  const dup = await cli('trigger', 'add', good);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /CONFLICT: a trigger named "ping" exists already/);
  assert.equal((await cli('trigger', 'add', good, '--replace')).stdout, 'replaced trigger ping\n');

  assert.equal((await cli('trigger', 'disable', 'ping')).code, 0);
  let list = JSON.parse((await cli('trigger', 'list', '--json')).stdout) as { name: string; enabled: boolean }[];
  assert.deepEqual(
    list.map((t) => [t.name, t.enabled]),
    [['ping', false]],
  );
  await cli('trigger', 'enable', 'ping');
  assert.match(
    (await cli('trigger', 'list')).stdout,
    /ping\s+yes\s+kind:timer\s+tick\s+0\s+kind:http-request\s+request/,
  );
  assert.equal((await cli('trigger', 'remove', 'ping')).code, 0);
  const missing = await cli('trigger', 'remove', 'ping');
  assert.match(missing.stderr, /NOT_FOUND: no trigger named "ping"/);
  list = JSON.parse((await cli('trigger', 'list', '--json')).stdout) as { name: string; enabled: boolean }[];
  assert.deepEqual(list, []);

  const tok = JSON.parse((await cli('connector', 'token', '--kind', 'timer', '--json')).stdout) as {
    kind: string;
    token: string;
  };
  assert.equal(tok.kind, 'timer');
  assert.match(tok.token, /^sbt_[A-Za-z0-9_-]{40,}$/);
  assert.match((await cli('trigger', 'log')).stdout, /no executions yet/);

  // Limits: a file over 1 MiB is refused before it is read, an alias bomb with a sentence.
  const huge = join(home.path, 'huge.yml');
  await writeFile(huge, `name: x\n# ${'y'.repeat(10 * 1024 * 1024)}\n`);
  const h = await cli('trigger', 'add', huge);
  assert.equal(h.code, 1);
  assert.match(h.stderr, /huge\.yml is 10485\d+ bytes; trigger files are limited to 1048576 bytes \(1 MiB\): split it/);
  const bomb = join(home.path, 'bomb.yml');
  await writeFile(
    bomb,
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
      .concat('bcdefghi'.split('').map((x, i) => `${x}: &${x} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`))
      .join('\n'),
  );
  const bm = await cli('trigger', 'add', bomb);
  assert.equal(bm.code, 1);
  assert.match(bm.stderr, /bomb\.yml:1: the document expands more than 100 aliases/);
  assert.doesNotMatch(bm.stderr, /at .*\.ts:\d+/, 'a sentence, not a stack trace');

  // Secrets never on the command line: refused with what to do instead.
  const flag = await raw('agent', '--kind', 'timer', '--token', 'sbt_visible', '--example', 'timer');
  assert.equal(flag.code, 1);
  assert.match(
    flag.stderr,
    /--token would show the secret to every user of this machine.*--token-file FILE, or set SWITCHBOARD_AGENT_TOKEN/,
  );
  assert.doesNotMatch(flag.stderr, /sbt_visible/);
  const allow = await cli('dispatcher', '--allow-token', 'timer:secret');
  assert.equal(allow.code, 1);
  assert.match(
    allow.stderr,
    /--allow-token would show the secret.*--allow-tokens-file FILE, or set SWITCHBOARD_CONNECTOR_TOKENS/,
  );
  const noFile = await raw('agent', '--kind', 'timer', '--token-file', join(home.path, 'nope'), '--example', 'timer');
  assert.equal(noFile.code, 1);
  assert.match(noFile.stderr, /--token-file: cannot read .*nope: ENOENT/);
  const badKind = await cli('connector', 'token', '--kind', 'a/b');
  assert.equal(badKind.code, 1);
  assert.match(badKind.stderr, /kind "a\/b" may hold letters, digits and _ \. : - only/);

  const retain = await cli('dispatcher', '--retain-days', 'a week');
  assert.equal(retain.code, 1);
  assert.match(
    retain.stderr,
    /INVALID_ARGUMENT: --retain-days takes a number of days \(0 keeps everything\), got "a week"/,
  );
});
