/**
 * End to end in headless Chromium over a real `switchboard start` hub: a malformed trigger's
 * problems shown inline with their lines; triggers made in the UI firing on a real agent and listed
 * on the Executions page; the Dead letters page without a broker. Screenshots go to test-results/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { getLogger } from '../core/log.js';
import { CHROMIUM, needChromium, waitFor } from '../core/test/support.js';
import type { Agent } from '../dispatch/agent/agent.js';
import type { DispatchDb } from '../dispatch/dispatcher/db.js';
import { openDispatchDb } from '../dispatch/open.js';
import { startAgent } from '../dispatch/run.js';
import { openBrowser, startWithDashboard, type BrowserPage, type Running } from './test/harness.js';

const T = { timeout: 30_000 };

let running: Running | undefined;
let browser: BrowserPage | undefined;
let db: DispatchDb;
let agent: Agent | undefined;
let nobody: Agent | undefined;
let closeDb: (() => Promise<void>) | undefined;

before(async () => {
  if (!existsSync(CHROMIUM)) return;
  running = await startWithDashboard({ amqp: null });
  ({ db, close: closeDb } = await openDispatchDb({ home: running.home }));
  browser = await openBrowser(running.signInUrl);
});

after(async () => {
  await browser?.close();
  await agent?.stop();
  await nobody?.stop();
  await closeDb?.();
  await running?.stop();
  delete process.env.SWITCHBOARD_HTTP;
});

const go = (hash: string) => browser!.go(hash);
const shot = (name: string) => browser!.shot(name);
const pageErrors = () => browser!.pageErrors;

const MALFORMED = `name: broken
when: { kind: webhook }
filters:
  - { path: body.amount, op: bigger, value: 1 }
then: { kind: http-request, task: request }
`;

void test('a malformed trigger shows its problems inline, with lines; a good one is saved, disabled and enabled', async (t) => {
  if (!needChromium(t)) return;
  await go('triggers');
  await browser!.page.getByText('no triggers yet').waitFor(T);
  await browser!.page.getByRole('button', { name: 'New trigger' }).click();
  const editor = browser!.page.getByRole('textbox', { name: 'trigger text' });
  await editor.fill(MALFORMED);
  await browser!.page.getByRole('button', { name: 'Create' }).click();
  const problems = browser!.page.locator('[data-role="problems"] li');
  await problems.first().waitFor(T);
  const op = browser!.page.locator('[data-role="problems"] li[data-line="4"]');
  assert.match(await op.innerText(), /line 4 filters\[0\]\.op: op must be one of eq, ne/);
  assert.match(await browser!.page.locator('[data-role="problems"] li[data-line="2"]').innerText(), /when\.event/);
  await browser!.page.getByText('nothing was saved').waitFor(T);
  await shot('triggers-error');
  // Clicking a problem selects its line in the editor.
  await op.getByRole('link').click();
  assert.equal(
    await editor.evaluate((el: HTMLTextAreaElement) => el.value.slice(el.selectionStart, el.selectionEnd)),
    '  - { path: body.amount, op: bigger, value: 1 }',
  );
  assert.deepEqual(await db.listTriggers(), []);

  await editor.fill(
    MALFORMED.replace('{ kind: webhook }', '{ kind: webhook, event: request }')
      .replace('op: bigger', 'op: gte')
      .replace('name: broken', 'name: big-order'),
  );
  await browser!.page.getByRole('button', { name: 'Create' }).click();
  await browser!.page.getByText('added big-order').waitFor(T);
  const enabled = browser!.page.getByRole('checkbox', { name: 'big-order enabled' });
  assert.equal(await enabled.isChecked(), true);
  assert.equal(
    await browser!.page.locator('tr[data-trigger="big-order"] [data-role="enabled"]').textContent(),
    ' enabled',
  );
  await enabled.uncheck();
  await browser!.page.locator('tr[data-trigger="big-order"] [data-role="enabled"]', { hasText: 'disabled' }).waitFor(T);
  assert.deepEqual(
    (await db.listTriggers()).map((x) => [x.name, x.enabled]),
    [['big-order', false]],
  );
  await browser!.page.locator('[data-form]').getByRole('button', { name: 'Close' }).click();
  await shot('triggers');
  assert.equal(pageErrors().length, 0, pageErrors().join('\n'));
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
  await browser!.page.locator('main td', { hasText: 'none yet' }).waitFor(T);
  await go('triggers');
  await browser!.page.getByRole('button', { name: 'New trigger' }).click();
  await browser!.page.getByRole('textbox', { name: 'trigger text' }).fill(FIRING);
  await browser!.page.getByRole('button', { name: 'Create' }).click();
  await browser!.page.getByText('added echo, ghost').waitFor(T);

  const token = await db.issueToken('counter');
  const fixture = join(import.meta.dirname, '..', 'dispatch', 'test', 'fixtures', 'counter.ts');
  const local = running!.hub.addresses.find((a) => a.kind === 'local')!.url;
  agent = await startAgent({
    command: [process.execPath, '--import', 'tsx', fixture],
    kind: 'counter',
    id: 'counter-e2e',
    token,
    dispatcher: local,
    log: getLogger('e2e'),
  });
  const started = agent;
  await waitFor(() => started.triggers === 2, { what: 'the agent holding both triggers', timeoutMs: 30_000 });
  started.connector.sendTask({ id: 'go', key: 'emit', inputs: { n: 3, everyMs: 1 } });
  await waitFor(
    async () =>
      (await db.countExecutions()).total === 3 && (await db.countExecutions()).byStatus.dispatched === undefined,
    { what: 'three executions settled', timeoutMs: 30_000 },
  );

  await go('executions');
  await browser!.page.locator('tr[data-execution]').nth(2).waitFor(T);
  assert.equal(await browser!.page.locator('tr[data-execution]', { hasText: 'done' }).count(), 2);
  await browser!.page.getByRole('combobox', { name: 'status' }).selectOption('failed');
  await browser!.page.locator('tr[data-execution]', { hasText: 'ghost' }).waitFor(T);
  await waitFor(async () => (await browser!.page.locator('tr[data-execution]').count()) === 1, {
    what: 'only the failed one',
  });
  await browser!.page.locator('tr[data-execution]').click();
  assert.match(await browser!.page.locator('pre.detail').innerText(), /"error": ".+"/);
  await browser!.page.getByRole('combobox', { name: 'status' }).selectOption('');
  await browser!.page.getByRole('combobox', { name: 'trigger' }).selectOption('echo');
  await waitFor(async () => (await browser!.page.locator('tr[data-execution]').count()) === 2, {
    what: 'the two of echo',
  });
  await browser!.page.getByRole('combobox', { name: 'trigger' }).selectOption('');
  await browser!.page.locator('tr[data-execution]').nth(2).waitFor(T);
  await browser!.page.locator('tr[data-execution]', { hasText: 'ghost' }).click();
  await shot('executions');
  assert.equal(pageErrors().length, 0, pageErrors().join('\n'));
});

void test('a failed execution is replayed from the Executions page once its cause is fixed', async (t) => {
  if (!needChromium(t)) return;
  if (!agent) return t.skip('needs the executions of the test before');
  const [ghost] = await db.listExecutions({ trigger: 'ghost' });
  assert.equal(ghost!.status, 'failed');
  assert.match(ghost!.error!, /connector nobody is not registered/);
  // Only failed rows have the button.
  await go('executions');
  await browser!.page.locator('tr[data-execution]').nth(2).waitFor(T);
  assert.equal(await browser!.page.getByRole('button', { name: /^replay / }).count(), 1);

  // The fix: the connector the trigger names comes up.
  const local = running!.hub.addresses.find((a) => a.kind === 'local')!.url;
  nobody = await startAgent({
    command: [
      process.execPath,
      '--import',
      'tsx',
      join(import.meta.dirname, '..', 'dispatch', 'test', 'fixtures', 'counter.ts'),
    ],
    kind: 'counter',
    id: 'nobody',
    token: await db.issueToken('counter'),
    dispatcher: local,
    log: getLogger('e2e'),
  });
  await browser!.page.getByRole('button', { name: `replay ${ghost!.id}` }).click();
  const row = browser!.page.locator(`tr[data-execution="${ghost!.id}"]`);
  await row.locator('[data-role="try"]', { hasText: '2/2' }).waitFor(T);
  await row.locator('.badge', { hasText: 'done' }).waitFor(T);
  const replayed = await db.getExecution(ghost!.id);
  assert.equal(replayed!.status, 'done');
  assert.deepEqual(
    replayed!.attempts.map((a) => [a.attempt, a.error]),
    [[1, 'connector nobody is not registered']],
  );
  assert.equal(await browser!.page.getByRole('button', { name: /^replay / }).count(), 0);
  await shot('executions-replayed');
  assert.equal(pageErrors().length, 0, pageErrors().join('\n'));
});

void test('without an AMQP URL the Dead letters page says so, and how to give one', async (t) => {
  if (!needChromium(t)) return;
  await go('dead-letters');
  const sentence = browser!.page.locator('[data-role="no-broker"]');
  await sentence.waitFor(T);
  assert.match(
    await sentence.innerText(),
    /dead letters live on RabbitMQ, and this dashboard has no AMQP URL: .*start switchboard with --amqp URL or SWITCHBOARD_AMQP_URL set/,
  );
  assert.equal(await browser!.page.locator('main table').isVisible(), false);
  assert.equal(await browser!.page.getByRole('button', { name: 'Replay all' }).isVisible(), false);
  assert.equal(pageErrors().length, 0, pageErrors().join('\n'));
});
