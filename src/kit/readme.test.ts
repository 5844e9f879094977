/**
 * The project README's "Writing a connector" section, as written: every code block in it is a
 * command block (```` ```sh run ````), and all of them run in one shell session in an empty folder:
 * a TypeScript connector made, tested, installed and synced; an event connector made and tested.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fenceInfos, runBlocks, runShell, section } from './test/readme.js';
import { workspace } from './test/template.js';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));

void test('the README section "Writing a connector" runs as written', async (t) => {
  const text = section(await readFile(README, 'utf8'), '### Writing a connector');
  assert.deepEqual(
    fenceInfos(text).filter((info) => info !== 'sh run'),
    [],
    'every code block of the section is a command block that this test runs',
  );
  const blocks = runBlocks(text);
  assert.ok(blocks.length >= 2);
  const { work, env } = await workspace(t, 'switchboard-readme-');
  const checks = 'switchboard data list --connector people --json > rows.json';
  const result = await runShell([...blocks, checks].join('\n'), { cwd: work, env });
  assert.equal(result.code, 0, `the section's commands failed:\n${result.output}`);
  const rows = JSON.parse(await readFile(join(work, 'rows.json'), 'utf8')) as { total: number };
  assert.equal(rows.total, 12, result.output);
  assert.match(result.output, /Ran 1 test/, 'the event connector ran its own test');
});
