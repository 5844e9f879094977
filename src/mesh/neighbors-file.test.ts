import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { tempDir } from '../core/test/support.js';
import { loadNeighbors, neighborsPath, parseNeighborsText, saveNeighbors } from './neighbors-file.js';

void test('neighbors persist in neighbors.txt and reload; missing file is empty', async () => {
  const dir = await tempDir();
  try {
    assert.deepEqual(await loadNeighbors(dir.path), []);
    await saveNeighbors(dir.path, ['127.0.0.3:4042', '127.0.0.2:4042', '127.0.0.3:4042']);
    assert.deepEqual(await loadNeighbors(dir.path), ['127.0.0.2:4042', '127.0.0.3:4042']);
    assert.match(await readFile(neighborsPath(dir.path), 'utf8'), /^# /);
    assert.equal((await stat(neighborsPath(dir.path))).mode & 0o077, 0, 'private: may hold credentials');
  } finally {
    await dir.cleanup();
  }
});

void test('comments and blank lines are ignored', () => {
  assert.deepEqual(parseNeighborsText('# x\n 10.0.0.1:4042 # a\n\n10.0.0.1:4042\r\ncds://u:p@10.0.0.2\n'), [
    '10.0.0.1:4042',
    'cds://u:p@10.0.0.2',
  ]);
});
