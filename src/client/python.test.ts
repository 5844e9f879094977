/**
 * The Python client (src/client/python) in `npm test`: runs its unittest suite with python3
 * against real hubs (the suite starts `bin/switchboard.js hub` processes), and gives it lines the
 * TypeScript codec wrote so both codecs are held to the same bytes. Without python3 the test is
 * skipped with a reason, or fails with CI=true.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeText, encodeJson, encodeText } from '../core/codec/index.js';
import type { Message } from '../core/message.js';
import { tempDir } from '../core/test/support.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const BIN = join(here, '..', '..', 'bin', 'switchboard.js');
const PYTHON = process.env.PYTHON ?? 'python3';

function msg(command: string, params: Message['params'] = {}, to = ['', ''], from = ['', '']): Message {
  return {
    command,
    params,
    to: { server: to[0]!, service: to[1]! },
    sentFrom: { server: from[0]!, service: from[1]! },
  };
}

/** Lines that exercise every rule of the text form: blocks, sorting, quoting, escapes, types. */
const FIXTURES: Message[] = [
  msg('HELP'),
  msg('LOCK', { key: 'abc', timeout: '5' }, ['srv2', 'cluckd'], ['srv1', 'cluck']),
  msg('TIME', { zone: 'UTC' }, ['', 'clock']),
  msg('X', {}, ['a', 'b#2'], ['', 'c']),
  msg('SET', {
    cache: 'no;reply',
    q: '"x',
    text: 'line 1\nline "2"\\',
    cr: 'a\rb',
    pad: 'ends in a space ',
    tab: 'x\t',
  }),
  msg('T', { n: 1, neg: -2, f: 2.5, yes: true, no: false, none: null, list: [1, 'a', null], obj: { k: { j: [] } } }),
  msg('U', { unicode: 'é ✓ 日本', empty: '', eq: 'a=b', semi: ';' }, ['*', '*']),
  msg('B', {}, ['', '?'], ['hub_1', '']),
];

void test('the Python client passes its unittest suite against a real hub', async (t) => {
  const probe = spawnSync(PYTHON, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    const reason = `${PYTHON} is not installed (Debian: apt-get install python3)`;
    if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: the Python client's tests must run)`);
    t.skip(reason);
    return;
  }
  const dir = await tempDir('switchboard-python-');
  t.after(dir.cleanup);
  const fixtures = join(dir.path, 'codec.json');
  await writeFile(
    fixtures,
    JSON.stringify(
      FIXTURES.map((m) => ({
        message: m,
        text: encodeText(m),
        json: encodeJson(m),
        textParams: decodeText(encodeText(m)).params,
      })),
    ),
  );
  const child = spawn(
    PYTHON,
    ['-m', 'unittest', 'discover', '-v', '-s', join(here, 'python', 'tests'), '-t', join(here, 'python', 'tests')],
    {
      env: {
        ...process.env,
        SWITCHBOARD_CLI: JSON.stringify([process.execPath, BIN]),
        SWITCHBOARD_CODEC_FIXTURES: fixtures,
        PYTHONDONTWRITEBYTECODE: '1', // no __pycache__ in the source tree
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, `python3 -m unittest failed:\n${output}`);
  const ran = /Ran (\d+) tests?/.exec(output);
  assert.ok(ran && Number(ran[1]) >= 20, `expected the whole suite to run:\n${output}`);
  assert.doesNotMatch(output, /skipped/, `no Python test may be skipped here:\n${output}`);
});
