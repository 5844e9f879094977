import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { plainProgress, ttyProgress } from './progress.js';
import type { SyncProgress } from './runner.js';
import type { Account, SyncRun } from './types.js';

const account: Account = {
  id: 1,
  connector: 'files',
  name: 'docs',
  options: '{}',
  createdAt: '',
  state: null,
  stateUpdatedAt: null,
  schedule: null,
  nextRunAt: null,
  timeoutMs: null,
};
const run: SyncRun = {
  id: 7,
  accountId: 1,
  accountName: 'docs',
  connector: 'files',
  startedAt: '',
  finishedAt: '',
  success: true,
  objects: 2000,
  pages: 2,
  error: null,
  metadata: '',
  status: 'succeeded',
  checkpoints: 0,
  state: null,
  startedBy: 'manual',
};
const at = (
  phase: SyncProgress['phase'],
  pages: number,
  objects: number,
  extra: Partial<SyncProgress> = {},
): SyncProgress => ({ account, runId: 7, phase, pages, objects, elapsedMs: 2000, ...extra });

void test('plain progress: start, throttled page lines, a finish line with the rate', () => {
  const lines: string[] = [];
  const view = plainProgress((l) => lines.push(l));
  view.update(at('started', 0, 0));
  view.update(at('page', 1, 1000));
  view.update(at('page', 2, 2000)); // within a second of the previous line: dropped
  view.update(at('finished', 2, 2000, { run }));
  assert.deepEqual(lines, [
    'files/docs: started run 7',
    'files/docs: 1,000 objects, 1 pages, 500 objects/s',
    'files/docs: ok, run 7: 2,000 objects in 2 pages, 2.0 s (1,000 objects/s)',
  ]);
  const failed: string[] = [];
  plainProgress((l) => failed.push(l)).update(
    at('finished', 1, 10, { run: { ...run, success: false, objects: 10, pages: 1, error: 'PLUGIN_EXITED: gone' } }),
  );
  assert.deepEqual(failed, ['files/docs: FAILED, run 7 after 10 objects in 1 pages, 2.0 s: PLUGIN_EXITED: gone']);
});

void test('TTY progress: a bar filled against the last run, objects, pages and rate, redrawn in place', () => {
  let out = '';
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _e, cb) {
        out += chunk.toString();
        cb();
      },
    }),
    { columns: 120 },
  ) as unknown as NodeJS.WriteStream;
  const view = ttyProgress(stream, () => 4000);
  view.update(at('started', 0, 0));
  view.update(at('page', 2, 2000));
  view.close(); // draws the current state
  const shown = () => out.replaceAll('\x1b', '<ESC>');
  assert.match(shown(), /^<ESC>\[2K\[ {24}\] files\/docs {2}0 objects {2}0 pages {2}0 objects\/s\n/);
  assert.match(
    shown(),
    /<ESC>\[1A<ESC>\[2K\[={12} {12}\] files\/docs {2}2,000 objects {2}2 pages {2}1,000 objects\/s\n$/,
  );
  out = '';
  const done = ttyProgress(stream, () => undefined);
  done.update(at('finished', 2, 2000, { run }));
  done.close();
  assert.match(out, /\[={24}\] files\/docs {2}2,000 objects {2}2 pages {2}done/);
});
