/**
 * End to end in headless Chromium over a real `switchboard start` hub, driven only through the UI:
 * install the directory example connector, create an account, run a sync and watch its progress,
 * find the rows on the Data page, edit a note and see it survive the next sync, edit options with
 * the connector's check, see a failing run, remove. Screenshots go to test-results/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CHROMIUM, needChromium, tempDir } from '../core/test/support.js';
import { openSync, type SyncApi } from '../sync/open.js';
import { openBrowser, startWithDashboard, type BrowserPage, type Running } from './test/harness.js';

const FILES = 120;
const T = { timeout: 30_000 };

let running: Running | undefined;
let browser: BrowserPage | undefined;
let sync: SyncApi | undefined;
let cleanupTree: (() => Promise<void>) | undefined;
let root = '';

before(async () => {
  if (!existsSync(CHROMIUM)) return;
  running = await startWithDashboard();
  sync = await openSync({ home: running.home });
  const tree = await tempDir('switchboard-e2e-tree-');
  cleanupTree = tree.cleanup;
  root = join(tree.path, 'files');
  await mkdir(root);
  for (let i = 0; i < FILES; i++) await writeFile(join(root, `f${String(i).padStart(3, '0')}.txt`), `file ${i}\n`);
  browser = await openBrowser(running.signInUrl);
});

after(async () => {
  await browser?.close();
  await sync?.close();
  await running?.stop();
  await cleanupTree?.();
  delete process.env.SWITCHBOARD_HTTP;
});

const go = (hash: string) => browser!.go(hash);
const shot = (name: string) => browser!.shot(name);
const pageErrors = () => browser!.pageErrors;

async function recordPhases(account: string): Promise<void> {
  // A string, not a function: tsx would wrap a function's inner names in a helper the page lacks.
  await browser!.page.evaluate(`(() => {
    window.seen = [];
    new MutationObserver(() => {
      for (const tr of document.querySelectorAll('section[data-role="live"] tr[data-account=${JSON.stringify(account)}]')) {
        window.seen.push(tr.dataset.job + ':' + tr.dataset.phase + ':' + (tr.querySelector('[data-role="objects"]')?.textContent ?? ''));
      }
    }).observe(document.body, { subtree: true, childList: true });
  })()`);
}

/** Runs `account` from the Sync page; returns the states its live row went through ("phase:objects"). */
async function runSync(account: string): Promise<string[]> {
  await go('sync');
  await browser!.page.getByRole('checkbox', { name: `sync ${account}` }).check(T);
  await recordPhases(account);
  const [response] = await Promise.all([
    browser!.page.waitForResponse((r) => r.url().endsWith('/api/sync') && r.request().method() === 'POST'),
    browser!.page.getByRole('button', { name: 'Run selected' }).click(),
  ]);
  const job = ((await response.json()) as { job: { id: number } }).job.id;
  const row = browser!.page.locator(
    `section[data-role="live"] tr[data-job="${job}"][data-account="${account}"][data-phase="finished"]`,
  );
  await row.waitFor(T);
  assert.match(await row.innerText(), new RegExp(`ok\\s+${FILES}\\s+${FILES / 10}`));
  const states = (await browser!.page.evaluate('window.seen')) as string[];
  return states
    .filter((s) => s.startsWith(`${job}:`))
    .map((s) => s.slice(`${job}:`.length))
    .filter((s, i, all) => s !== all[i - 1]);
}

void test('install the directory example, create an account, run a sync from the UI: progress, then rows on the Data page', async (t) => {
  if (!needChromium(t)) return;
  await go('connectors');
  await browser!.page.getByText('no connectors installed yet').waitFor(T);
  await browser!.page.getByRole('combobox', { name: 'example' }).selectOption('directory');
  await browser!.page.getByRole('textbox', { name: 'install as name' }).fill('disk');
  await browser!.page.getByRole('button', { name: 'Install' }).click();
  await browser!.page.locator('tr[data-connector="disk"]').waitFor(T);
  await browser!.page.getByText('installed disk').waitFor(T);
  await browser!.page.locator('tr[data-connector="disk"]').getByRole('button', { name: 'Update' }).click();
  await browser!.page.locator('tr.status pre', { hasText: 'updated disk' }).waitFor(T);
  await shot('connectors');

  await go('accounts');
  const form = browser!.page.locator('section[data-form="create"]');
  await form.getByRole('textbox', { name: 'account name' }).fill('tree');
  // Not JSON yet: the form says so while typing.
  await form.getByRole('textbox', { name: 'options' }).fill(`{ "root": ${JSON.stringify(root)}, pageSize: 10 }`);
  await form.locator('[data-role="json-state"].invalid').waitFor(T);
  // JSON, but the connector's Check refuses it: shown under the options.
  await form
    .getByRole('textbox', { name: 'options' })
    .fill(`{ "root": ${JSON.stringify(join(root, 'missing'))}, "pageSize": 10 }`);
  await form.getByRole('button', { name: 'Create' }).click();
  await form.locator('[data-role="options-error"]', { hasText: 'is not a readable directory' }).waitFor(T);
  await form.getByRole('textbox', { name: 'options' }).fill(`{ "root": ${JSON.stringify(root)}, "pageSize": 10 }`);
  await form.getByRole('button', { name: 'Create' }).click();
  await browser!.page.locator('tr[data-account="disk/tree"]').waitFor(T);
  await form.getByText('the connector accepted the options').waitFor(T);
  await shot('accounts');

  const phases = await runSync('disk/tree');
  assert.ok(
    phases.some((p) => p.startsWith('started:')),
    `the run showed as started: ${phases.join(' ')}`,
  );
  const counts = phases.filter((p) => p.startsWith('page:')).map((p) => Number(p.split(':')[1]));
  assert.ok(
    counts.length >= 1 && counts.every((n) => n > 0 && n <= FILES),
    `page progress was shown: ${phases.join(' ')}`,
  );
  assert.equal(phases.at(-1), `finished:${FILES}`);
  await browser!.page.locator('section[data-role="history"] tr[data-run]', { hasText: 'ok' }).first().waitFor(T);
  await shot('sync');

  await go('data');
  await browser!.page.getByRole('combobox', { name: 'account' }).selectOption('disk/tree');
  await browser!.page.getByText(`page 1 of 3 · ${FILES} objects`).waitFor(T);
  assert.equal(await browser!.page.locator('main tbody tr').count(), 50);
  assert.equal(pageErrors().length, 0, pageErrors().join('\n'));
});

void test('a note edited on the Data page survives the next sync', async (t) => {
  if (!needChromium(t)) return;
  await go('data');
  await browser!.page.getByRole('searchbox', { name: 'search' }).fill('f042');
  await browser!.page.getByText('page 1 of 1 · 1 objects').waitFor(T);
  const note = browser!.page.getByRole('textbox', { name: 'note for f042.txt' });
  await note.fill('keep me');
  await note.press('Enter');
  await browser!.page.getByText('saved').waitFor(T);
  const before = (await sync!.listData({ search: 'f042' })).items[0]!;
  assert.equal(before.notes, 'keep me');

  // A Data page left open meanwhile says a sync finished (it does not reload under a note being typed).
  const other = await browser!.context.newPage();
  await other.goto(`${running!.url}/#data`);
  await other.getByText(`page 1 of 3 · ${FILES} objects`).waitFor(T);
  assert.equal(await other.locator('[data-role="fresh"]').isVisible(), false);
  await runSync('disk/tree');
  await other.locator('[data-role="fresh"]').waitFor(T);
  await other.locator('[data-role="fresh"]').getByRole('button', { name: 'Refresh' }).click();
  await other.locator('[data-role="fresh"]').waitFor({ state: 'hidden', ...T });
  await other.close();
  const afterRun = (await sync!.listData({ search: 'f042' })).items[0]!;
  assert.ok(afterRun.lastSyncedAt > before.lastSyncedAt, 'the second sync wrote the object again');
  assert.equal((await sync!.listRuns({ account: 'tree' })).filter((r) => r.success).length, 2);

  await go('data');
  await browser!.page.getByRole('searchbox', { name: 'search' }).fill('keep me');
  await browser!.page.getByText('page 1 of 1 · 1 objects').waitFor(T);
  assert.equal(await browser!.page.getByRole('textbox', { name: 'note for f042.txt' }).inputValue(), 'keep me');
  await shot('data-note');
  assert.equal(pageErrors().length, 0, pageErrors().join('\n'));
});

void test('the saved state of an account shows on the Accounts page and is forgotten by a second click', async (t) => {
  if (!needChromium(t)) return;
  // What a checkpointing connector leaves (the directory example keeps no state).
  await sync!.store.exec('UPDATE accounts SET state = ?, state_updated_at = ? WHERE name = ?', [
    '{"cursor":"f042.txt"}',
    new Date().toISOString(),
    'tree',
  ]);
  await go('accounts');
  const row = browser!.page.locator('tr[data-account="disk/tree"]');
  await row.locator('[data-role="state"]', { hasText: '{"cursor":"f042.txt"}' }).waitFor(T);
  await shot('accounts-state');
  await row.getByRole('button', { name: 'Reset state' }).click();
  await row.getByRole('button', { name: 'Really forget it (a full sync next)?' }).click();
  await row.locator('[data-role="state"]', { hasText: 'none: the next sync is a full one' }).waitFor(T);
  assert.equal((await sync!.resolveAccount('tree')).state, null);
  assert.equal(pageErrors().length, 0, pageErrors().join('\n'));
});

void test('account options are edited with the same checks inline; a connector with accounts is removed only with them, by a second click', async (t) => {
  if (!needChromium(t)) return;
  await go('accounts');
  await browser!.page.locator('tr[data-account="disk/tree"]').getByRole('button', { name: 'Edit' }).click();
  const form = browser!.page.locator('section[data-form="edit"]');
  const options = form.getByRole('textbox', { name: 'options' });
  assert.deepEqual(JSON.parse(await options.inputValue()), { root, pageSize: 10 });
  await options.fill(JSON.stringify({ root, pageSize: 0 }));
  await form.getByRole('button', { name: 'Save' }).click();
  await form.locator('[data-role="options-error"]', { hasText: 'refused these options' }).waitFor(T);
  await shot('accounts-edit-error');
  await options.fill(JSON.stringify({ root, pageSize: 20 }));
  await form.getByRole('button', { name: 'Save' }).click();
  await form.getByText('the connector accepted the options').waitFor(T);
  await browser!.page.locator('tr[data-account="disk/tree"]', { hasText: '"pageSize":20' }).waitFor(T);

  // Saved without the check, a root that is gone makes the next run fail: the error shows live and in the history.
  await options.fill(JSON.stringify({ root: join(root, 'gone') }));
  await form.getByRole('checkbox', { name: 'check the options with the connector' }).uncheck();
  await form.getByRole('button', { name: 'Save' }).click();
  await form.getByText('saved (options not checked)').waitFor(T);
  await go('sync');
  await browser!.page.getByRole('checkbox', { name: 'sync disk/tree' }).check(T);
  await browser!.page.getByRole('button', { name: 'Run selected' }).click();
  await browser!.page
    .locator('section[data-role="live"] tr[data-account="disk/tree"][data-phase="finished"]', {
      hasText: 'not a readable directory',
    })
    .first()
    .waitFor(T);
  await browser!.page
    .locator('section[data-role="history"] tr.failed', { hasText: 'not a readable directory' })
    .waitFor(T);
  await shot('sync-failed');

  await go('connectors');
  const row = browser!.page.locator('tr[data-connector="disk"]');
  await row.getByRole('button', { name: 'Remove' }).click();
  await row.getByRole('button', { name: 'Really remove?' }).click();
  const status = browser!.page.locator('tr.status', { hasText: 'still has 1 account' });
  await status.waitFor(T);
  await status.getByRole('button', { name: 'Remove with its accounts and data' }).click();
  await status.getByRole('button', { name: 'Really remove them all?' }).click();
  await browser!.page.getByText('no connectors installed yet').waitFor(T);
  assert.deepEqual(await sync!.listAccounts(), []);
  assert.equal((await sync!.listData({})).total, 0);
  assert.equal(pageErrors().length, 0, pageErrors().join('\n'));
});
