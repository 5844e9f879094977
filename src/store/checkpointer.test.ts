import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckpointResult } from './checkpointer.js';
import { SqliteStore } from './sqlite.js';

const MB = 1024 * 1024;
const ROW = 'x'.repeat(900);

function tempFile(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-checkpointer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'test.db');
}

const walBytes = (file: string): number => (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);

/** Writes `count` rows in transactions of 100 (each about 100 KB of pages). */
async function write(store: SqliteStore, from: number, count: number, afterEach?: () => void): Promise<void> {
  for (let i = from; i < from + count; i += 100)
    await store.transaction(async (tx) => {
      for (let k = i; k < Math.min(i + 100, from + count); k++)
        await tx.exec('INSERT INTO rows (id, body) VALUES (?, ?)', [k, ROW]);
      afterEach?.();
    });
}

void test('a process that only writes a little never starts a checkpointer', async (t) => {
  const store = new SqliteStore(tempFile(t));
  t.after(() => store.close());
  await store.script('CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  await write(store, 0, 200);
  assert.equal(store.checkpointer, undefined);
  const [auto] = await store.query<{ wal_autocheckpoint: number }>('PRAGMA wal_autocheckpoint');
  assert.equal(auto?.wal_autocheckpoint, 1000, "SQLite's own auto-checkpoint stays on");
});

void test('a writing process hands checkpoints to a worker, which checkpoints all of the WAL once writes pause', async (t) => {
  const file = tempFile(t);
  const store = new SqliteStore(file, { checkpointer: { idleMs: 50, softBytes: MB, hardBytes: 64 * MB } });
  await store.script('CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  await write(store, 0, 3000);
  const checkpointer = store.checkpointer;
  assert.ok(checkpointer, 'about 3 MB of WAL starts the checkpointer');
  // Everything written so far, then nothing more: the worker's idle checkpoint backfills it all.
  const whole = new Promise<CheckpointResult>((resolve) => {
    const stop = checkpointer.onCheckpoint((r) => {
      if (!r.busy && r.log > 0 && r.log === r.checkpointed) {
        stop();
        resolve(r);
      }
    });
  });
  await write(store, 3000, 100);
  const r = await whole;
  assert.ok(r.log > 0);
  const [auto] = await store.query<{ wal_autocheckpoint: number }>('PRAGMA wal_autocheckpoint');
  assert.equal(auto?.wal_autocheckpoint, (64 * MB) / 4096, "the writer's auto-checkpoint is only the bound now");
  await store.close();
  // The worker's connection closed first: the writer's close was the last and removed the WAL.
  assert.equal(existsSync(`${file}-wal`), false);
  const reopened = new SqliteStore(file, { checkpointer: false });
  const [n] = await reopened.query<{ n: number }>('SELECT COUNT(*) AS n FROM rows');
  assert.equal(n?.n, 3100);
  await reopened.close();
});

void test('under writes that never pause the WAL stays near its bound', async (t) => {
  const file = tempFile(t);
  const hardBytes = 4 * MB;
  const store = new SqliteStore(file, { checkpointer: { idleMs: 1000, softBytes: MB, hardBytes } });
  t.after(() => store.close());
  await store.script('CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  let largest = 0;
  // About 30 MB of rows, one transaction after another: no pause for an idle checkpoint.
  await write(store, 0, 30_000, () => {
    largest = Math.max(largest, walBytes(file));
  });
  assert.ok(store.checkpointer);
  // The writer checkpoints itself at the bound; a transaction (~0.1 MB) may land past it, and one
  // more bound's worth while the worker's checkpoint holds the WAL from being reset.
  assert.ok(largest <= 2 * hardBytes + MB, `the WAL reached ${(largest / MB).toFixed(1)} MB`);
});
