/**
 * End to end in headless Chromium over a real `switchboard start` hub, driven only through the UI:
 * install the directory example connector, create an account, run a sync and watch its progress,
 * find the rows on the Data page, edit a note and see it survive the next sync, and get a
 * malformed trigger's problems inline. Screenshots of each page go to test-results/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { getLogger } from '../core/log.js';
import { CHROMIUM, CHROMIUM_ARGS, needChromium, tempDir, waitFor } from '../core/testing.js';
import type { Agent } from '../dispatch/agent/agent.js';
import { openDispatchDb } from '../dispatch/open.js';
import { startAgent } from '../dispatch/run.js';
import { openSync, type SyncApi } from '../sync/open.js';
import { startWithDashboard, type Running } from './test/harness.js';

const SHOTS = 'test-results';
const FILES = 120;
const T = { timeout: 30_000 };

let running: Running | undefined;
let context: BrowserContext | undefined;
let page: Page;
let sync: SyncApi | undefined;
/** Run in reverse in `after`, before the hub stops (agents first). */
const cleanups: (() => Promise<void>)[] = [];
const pageErrors: string[] = [];
let root = '';

before(async () => {
  if (!existsSync(CHROMIUM)) return;
  mkdirSync(SHOTS, { recursive: true });
  running = await startWithDashboard();
  sync = await openSync({ home: running.home });
  const tree = await tempDir('switchboard-e2e-tree-');
  cleanups.push(tree.cleanup);
  root = join(tree.path, 'files');
  await mkdir(root);
  for (let i = 0; i < FILES; i++) await writeFile(join(root, `f${String(i).padStart(3, '0')}.txt`), `file ${i}\n`);
  const profile = await tempDir('switchboard-chromium-');
  cleanups.push(profile.cleanup);
  context = await chromium.launchPersistentContext(profile.path, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

after(async () => {
  await context?.close();
  await sync?.close();
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await running?.stop();
  delete process.env.SWITCHBOARD_HTTP;
});

async function go(hash: string): Promise<void> {
  await page.goto(`${running!.url}/#${hash}`);
  await page.locator(`main[data-page="${hash}"] h2`).waitFor(T);
}

const shot = (name: string) => page.screenshot({ path: `${SHOTS}/dashboard-${name}.png`, fullPage: true });

/** Records every state the Sync page's live row of `account` goes through (a render can be brief). */
async function recordPhases(account: string): Promise<void> {
  // A string, not a function: tsx would wrap a function's inner names in a helper the page lacks.
  await page.evaluate(`(() => {
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
  await page.getByRole('checkbox', { name: `sync ${account}` }).check(T);
  await recordPhases(account);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/sync') && r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Run selected' }).click(),
  ]);
  const job = ((await response.json()) as { job: { id: number } }).job.id;
  const row = page.locator(`section[data-role="live"] tr[data-job="${job}"][data-account="${account}"][data-phase="finished"]`);
  await row.waitFor(T);
  assert.match(await row.innerText(), new RegExp(`ok\\s+${FILES}\\s+${FILES / 10}`));
  const states = (await page.evaluate('window.seen')) as string[];
  return states.filter((s) => s.startsWith(`${job}:`)).map((s) => s.slice(`${job}:`.length)).filter((s, i, all) => s !== all[i - 1]);
}

void test('install the directory example, create an account, run a sync from the UI: progress, then rows on the Data page', async (t) => {
  if (!needChromium(t)) return;
  await go('connectors');
  await page.getByText('no connectors installed yet').waitFor(T);
  await page.getByRole('combobox', { name: 'example' }).selectOption('directory');
  await page.getByRole('textbox', { name: 'install as name' }).fill('disk');
  await page.getByRole('button', { name: 'Install' }).click();
  await page.locator('tr[data-connector="disk"]').waitFor(T);
  await page.getByText('installed disk').waitFor(T);
  await page.locator('tr[data-connector="disk"]').getByRole('button', { name: 'Update' }).click();
  await page.locator('tr.status pre', { hasText: 'updated disk' }).waitFor(T);
  await shot('connectors');

  await go('accounts');
  const form = page.locator('section[data-form="create"]');
  await form.getByRole('textbox', { name: 'account name' }).fill('tree');
  // Not JSON yet: the form says so while typing.
  await form.getByRole('textbox', { name: 'options' }).fill(`{ "root": ${JSON.stringify(root)}, pageSize: 10 }`);
  await form.locator('[data-role="json-state"].invalid').waitFor(T);
  // JSON, but the connector's Check refuses it: shown under the options.
  await form.getByRole('textbox', { name: 'options' }).fill(`{ "root": ${JSON.stringify(join(root, 'missing'))}, "pageSize": 10 }`);
  await form.getByRole('button', { name: 'Create' }).click();
  await form.locator('[data-role="options-error"]', { hasText: 'is not a readable directory' }).waitFor(T);
  await form.getByRole('textbox', { name: 'options' }).fill(`{ "root": ${JSON.stringify(root)}, "pageSize": 10 }`);
  await form.getByRole('button', { name: 'Create' }).click();
  await page.locator('tr[data-account="disk/tree"]').waitFor(T);
  await form.getByText('the connector accepted the options').waitFor(T);
  await shot('accounts');

  const phases = await runSync('disk/tree');
  assert.ok(phases.some((p) => p.startsWith('started:')), `the run showed as started: ${phases.join(' ')}`);
  const counts = phases.filter((p) => p.startsWith('page:')).map((p) => Number(p.split(':')[1]));
  assert.ok(counts.length >= 1 && counts.every((n) => n > 0 && n <= FILES), `page progress was shown: ${phases.join(' ')}`);
  assert.equal(phases.at(-1), `finished:${FILES}`);
  await page.locator('section[data-role="history"] tr[data-run]', { hasText: 'ok' }).first().waitFor(T);
  await shot('sync');

  await go('data');
  await page.getByRole('combobox', { name: 'account' }).selectOption('disk/tree');
  await page.getByText(`page 1 of 3 · ${FILES} objects`).waitFor(T);
  assert.equal(await page.locator('main tbody tr').count(), 50);
  assert.equal(pageErrors.length, 0, pageErrors.join('\n'));
});

void test('a note edited on the Data page survives the next sync', async (t) => {
  if (!needChromium(t)) return;
  await go('data');
  await page.getByRole('searchbox', { name: 'search' }).fill('f042');
  await page.getByText('page 1 of 1 · 1 objects').waitFor(T);
  const note = page.getByRole('textbox', { name: 'note for f042.txt' });
  await note.fill('keep me');
  await note.press('Enter');
  await page.getByText('saved').waitFor(T);
  const before = (await sync!.listData({ search: 'f042' })).items[0]!;
  assert.equal(before.notes, 'keep me');

  // A Data page left open meanwhile says a sync finished (it does not reload under a note being typed).
  const other = await context!.newPage();
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
  await page.getByRole('searchbox', { name: 'search' }).fill('keep me');
  await page.getByText('page 1 of 1 · 1 objects').waitFor(T);
  assert.equal(await page.getByRole('textbox', { name: 'note for f042.txt' }).inputValue(), 'keep me');
  await shot('data-note');
  assert.equal(pageErrors.length, 0, pageErrors.join('\n'));
});

const MALFORMED = `name: broken
when: { kind: webhook }
filters:
  - { path: body.amount, op: bigger, value: 1 }
then: { kind: http-request, task: request }
`;

void test('a malformed trigger shows its problems inline, with lines; a good one is saved, disabled and enabled', async (t) => {
  if (!needChromium(t)) return;
  await go('triggers');
  await page.getByText('no triggers yet').waitFor(T);
  await page.getByRole('button', { name: 'New trigger' }).click();
  const editor = page.getByRole('textbox', { name: 'trigger text' });
  await editor.fill(MALFORMED);
  await page.getByRole('button', { name: 'Create' }).click();
  const problems = page.locator('[data-role="problems"] li');
  await problems.first().waitFor(T);
  const op = page.locator('[data-role="problems"] li[data-line="4"]');
  assert.match(await op.innerText(), /line 4 filters\[0\]\.op: op must be one of eq, ne/);
  assert.match(await page.locator('[data-role="problems"] li[data-line="2"]').innerText(), /when\.event/);
  await page.getByText('nothing was saved').waitFor(T);
  await shot('triggers-error');
  // Clicking a problem selects its line in the editor.
  await op.getByRole('link').click();
  assert.equal(await editor.evaluate((el: HTMLTextAreaElement) => el.value.slice(el.selectionStart, el.selectionEnd)), '  - { path: body.amount, op: bigger, value: 1 }');
  assert.equal(await sync!.store.query('SELECT name FROM dispatch_triggers').then((r) => r.length), 0);

  await editor.fill(MALFORMED.replace('{ kind: webhook }', '{ kind: webhook, event: request }').replace('op: bigger', 'op: gte').replace('name: broken', 'name: big-order'));
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByText('added big-order').waitFor(T);
  const enabled = page.getByRole('checkbox', { name: 'big-order enabled' });
  assert.equal(await enabled.isChecked(), true);
  assert.equal(await page.locator('tr[data-trigger="big-order"] [data-role="enabled"]').textContent(), ' enabled');
  await enabled.uncheck();
  await page.locator('tr[data-trigger="big-order"] [data-role="enabled"]', { hasText: 'disabled' }).waitFor(T);
  const rows = await sync!.store.query<{ enabled: number }>('SELECT enabled FROM dispatch_triggers WHERE name = ?', ['big-order']);
  assert.equal(Number(rows[0]!.enabled), 0);
  await page.locator('[data-form]').getByRole('button', { name: 'Close' }).click();
  await shot('triggers');
  assert.equal(pageErrors.length, 0, pageErrors.join('\n'));
});

const FIRING = `- name: echo
  when: { kind: counter, event: tick }
  filters: [{ path: n, op: lt, value: 2 }]
  then: { connector: counter-e2e, task: emit, inputs: { n: 0 } }
- name: ghost
  when: { kind: counter, event: tick }
  filters: [{ path: n, op: eq, value: 0 }]
  then: { connector: nobody, task: emit }
`;

void test('triggers created in the UI fire on a real agent; the Executions page lists what ran, filtered by status', async (t) => {
  if (!needChromium(t)) return;
  await go('executions');
  await page.locator('main td', { hasText: 'none yet' }).waitFor(T);
  await go('triggers');
  await page.getByRole('button', { name: 'New trigger' }).click();
  await page.getByRole('textbox', { name: 'trigger text' }).fill(FIRING);
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByText('added echo, ghost').waitFor(T);

  const { db, close } = await openDispatchDb({ home: running!.home });
  cleanups.push(close);
  const token = await db.issueToken('counter');
  const fixture = join(import.meta.dirname, '..', 'dispatch', 'test', 'fixtures', 'counter.ts');
  const local = running!.hub.addresses.find((a) => a.kind === 'local')!.url;
  const agent: Agent = await startAgent({ command: [process.execPath, '--import', 'tsx', fixture], kind: 'counter', id: 'counter-e2e', token, dispatcher: local, log: getLogger('e2e') });
  cleanups.push(() => agent.stop());
  await waitFor(() => agent.triggers === 2, { what: 'the agent holding both triggers', timeoutMs: 30_000 });
  agent.connector.sendTask({ id: 'go', key: 'emit', inputs: { n: 3, everyMs: 1 } });
  await waitFor(async () => (await db.countExecutions()).total === 3 && (await db.countExecutions()).byStatus.dispatched === undefined, { what: 'three executions settled', timeoutMs: 30_000 });

  await go('executions');
  await page.locator('tr[data-execution]').nth(2).waitFor(T);
  assert.equal(await page.locator('tr[data-execution]', { hasText: 'done' }).count(), 2);
  await page.getByRole('combobox', { name: 'status' }).selectOption('failed');
  await page.locator('tr[data-execution]', { hasText: 'ghost' }).waitFor(T);
  await waitFor(async () => (await page.locator('tr[data-execution]').count()) === 1, { what: 'only the failed one' });
  await page.locator('tr[data-execution]').click();
  assert.match(await page.locator('pre.detail').innerText(), /"error": ".+"/);
  await page.getByRole('combobox', { name: 'status' }).selectOption('');
  await page.getByRole('combobox', { name: 'trigger' }).selectOption('echo');
  await waitFor(async () => (await page.locator('tr[data-execution]').count()) === 2, { what: 'the two of echo' });
  await page.getByRole('combobox', { name: 'trigger' }).selectOption('');
  await page.locator('tr[data-execution]').nth(2).waitFor(T);
  await page.locator('tr[data-execution]', { hasText: 'ghost' }).click();
  await shot('executions');
  assert.equal(pageErrors.length, 0, pageErrors.join('\n'));
});

void test('account options are edited with the same checks inline; a connector with accounts is removed only with them, by a second click', async (t) => {
  if (!needChromium(t)) return;
  await go('accounts');
  await page.locator('tr[data-account="disk/tree"]').getByRole('button', { name: 'Edit' }).click();
  const form = page.locator('section[data-form="edit"]');
  const options = form.getByRole('textbox', { name: 'options' });
  assert.deepEqual(JSON.parse(await options.inputValue()), { root, pageSize: 10 });
  await options.fill(JSON.stringify({ root, pageSize: 0 }));
  await form.getByRole('button', { name: 'Save' }).click();
  await form.locator('[data-role="options-error"]', { hasText: 'refused these options' }).waitFor(T);
  await shot('accounts-edit-error');
  await options.fill(JSON.stringify({ root, pageSize: 20 }));
  await form.getByRole('button', { name: 'Save' }).click();
  await form.getByText('the connector accepted the options').waitFor(T);
  await page.locator('tr[data-account="disk/tree"]', { hasText: '"pageSize":20' }).waitFor(T);

  await go('connectors');
  const row = page.locator('tr[data-connector="disk"]');
  await row.getByRole('button', { name: 'Remove' }).click();
  await row.getByRole('button', { name: 'Really remove?' }).click();
  const status = page.locator('tr.status', { hasText: 'still has 1 account' });
  await status.waitFor(T);
  await status.getByRole('button', { name: 'Remove with its accounts and data' }).click();
  await status.getByRole('button', { name: 'Really remove them all?' }).click();
  await page.getByText('no connectors installed yet').waitFor(T);
  assert.deepEqual(await sync!.listAccounts(), []);
  assert.equal((await sync!.listData({})).total, 0);
  assert.equal(pageErrors.length, 0, pageErrors.join('\n'));
});
