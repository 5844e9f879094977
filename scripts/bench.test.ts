// The bench script's listing over a made-up checkout, and its refusals when run as `npm run bench`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '../src/core/test/support.js';
import { listBenchmarks } from './bench.js';

const run = promisify(execFile);
const script = join(import.meta.dirname, 'bench.ts');

void test('listBenchmarks reads each benchmark and its last result; a broken result file is reported, not thrown', async () => {
  const root = await tempDir('sb-bench-');
  try {
    await mkdir(join(root.path, 'bench', 'results'), { recursive: true });
    for (const n of ['alpha', 'beta', 'gamma']) await writeFile(join(root.path, 'bench', `${n}.bench.ts`), '');
    await writeFile(
      join(root.path, 'bench', 'results', 'alpha.json'),
      JSON.stringify({
        name: 'alpha',
        unit: 'ops/s',
        date: '2026-11-23',
        results: [{ system: 'switchboard', value: 1 }],
        ratios: { a_vs_b: 2 },
      }),
    );
    await writeFile(join(root.path, 'bench', 'results', 'beta.json'), '{ not json');
    const list = listBenchmarks(root.path);
    assert.deepEqual(
      list.map((b) => b.name),
      ['alpha', 'beta', 'gamma'],
    );
    assert.deepEqual(list[0], { name: 'alpha', unit: 'ops/s', date: '2026-11-23', ratios: { a_vs_b: 2 } });
    assert.match(list[1]!.problem ?? '', /bench\/results\/beta\.json cannot be read/);
    assert.deepEqual(list[2], { name: 'gamma' });
    assert.throws(() => listBenchmarks(join(root.path, 'bench')), /no benchmarks here/);
  } finally {
    await root.cleanup();
  }
});

void test('bench: --list --json lists this checkout; an unknown name is refused with the known ones', async () => {
  const listed = JSON.parse((await run(process.execPath, ['--import', 'tsx', script, '--list', '--json'])).stdout) as {
    name: string;
  }[];
  assert.ok(listed.some((b) => b.name === 'hub-throughput'));
  await assert.rejects(
    run(process.execPath, ['--import', 'tsx', script, 'no-such-bench']),
    (err: { code: number; stderr: string }) =>
      err.code === 1 && /no benchmark named "no-such-bench"; have: .*hub-throughput/.test(err.stderr),
  );
});
