/**
 * In headless Chromium over a real `switchboard start --amqp` hub and RabbitMQ: the Dead letters
 * page lists what the dispatcher set aside, a letter is replayed with its button once its cause is
 * fixed (its event then runs its trigger and shows on the Executions page), and "Replay all", after
 * its second click, keeps a letter that cannot go with why. Screenshots go to test-results/.
 */
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import amqp from 'amqplib';
import { needChromium, needService, waitFor } from '../core/test/support.js';
import type { DispatchDb } from '../dispatch/dispatcher/db.js';
import { openDispatchDb } from '../dispatch/open.js';
import { AMQP_URL, deleteTopology, testPrefix } from '../dispatch/test/rabbit.js';
import { names } from '../dispatch/transport/topology.js';
import { parseTriggers } from '../dispatch/trigger/parse.js';
import { openBrowser, startWithDashboard, type BrowserPage, type Running } from './test/harness.js';

const T = { timeout: 30_000 };

let running: Running | undefined;
let browser: BrowserPage | undefined;
let db: DispatchDb;
let closeDb: (() => Promise<void>) | undefined;
let prefix: string | undefined;

after(async () => {
  await browser?.close();
  await closeDb?.();
  await running?.stop();
  if (prefix) await deleteTopology(prefix).catch(() => undefined);
  delete process.env.SWITCHBOARD_HTTP;
});

async function publish(routingKey: string, body: unknown, type: string): Promise<void> {
  const conn = await amqp.connect(AMQP_URL);
  try {
    const ch = await conn.createConfirmChannel();
    ch.publish(names(prefix).inbox, routingKey, Buffer.from(JSON.stringify(body)), { type });
    await ch.waitForConfirms();
  } finally {
    await conn.close();
  }
}

async function letters(): Promise<{ id: string; connectorId: string | null }[]> {
  const res = await fetch(`${running!.url}/api/dead-letters`, { headers: running!.headers });
  if (res.status !== 200) return [];
  return ((await res.json()) as { letters: { id: string; connectorId: string | null }[] }).letters;
}

async function needs(t: TestContext): Promise<boolean> {
  return needChromium(t) && (await needService(t, 'rabbitmq'));
}

void test('a dead letter is replayed with its button after the fix; Replay all keeps one that cannot go, with why', async (t) => {
  if (!(await needs(t))) return;
  prefix = testPrefix();
  running = await startWithDashboard({ amqp: AMQP_URL, prefix });
  ({ db, close: closeDb } = await openDispatchDb({ home: running.home }));
  await db.addTriggers(
    parseTriggers(
      `name: ghost
when: { connector: ghost-1, event: said }
then: { connector: recorder-1, task: record }
`,
      'ghost.yml',
    ),
  );
  // The dispatcher starts in the background; its queues exist once it runs.
  await waitFor(
    async () => (await fetch(`${running!.url}/api/dead-letters`, { headers: running!.headers })).status === 200,
    { timeoutMs: 30_000, intervalMs: 200, what: 'the dispatcher on RabbitMQ' },
  );
  const token = await db.issueToken('speaker');
  await publish(
    'events',
    {
      type: 'events',
      token,
      connectorId: 'ghost-1',
      events: [
        { id: 'ghost-ev-1', key: 'said', data: {}, time: new Date().toISOString() },
        { id: 'ghost-ev-2', key: 'said', data: {}, time: new Date().toISOString() },
      ],
    },
    'events',
  );
  await publish(
    'control',
    {
      type: 'register',
      token: 'not-a-token-of-this-dispatcher',
      connector: { id: 'intruder-1', kind: 'speaker', meta: {}, events: [], tasks: [] },
    },
    'register',
  );
  const both = await waitFor(async () => ((await letters()).length === 2 ? letters() : undefined), {
    timeoutMs: 30_000,
    intervalMs: 200,
    what: 'two dead letters',
  });
  const ghost = both.find((l) => l.connectorId === 'ghost-1')!;
  const intruder = both.find((l) => l.connectorId === 'intruder-1')!;

  browser = await openBrowser(running.signInUrl);
  const page = browser.page;
  await browser.go('dead-letters');
  const ghostRow = page.locator(`tr[data-letter="${ghost.id}"]`);
  await ghostRow.waitFor(T);
  assert.match(await ghostRow.innerText(), /connector ghost-1 is not registered/);
  assert.deepEqual(await ghostRow.locator('[data-role="event"]').allInnerTexts(), [
    'said ghost-ev-1',
    'said ghost-ev-2',
  ]);
  const intruderRow = page.locator(`tr[data-letter="${intruder.id}"]`);
  assert.match(await intruderRow.innerText(), /speaker/);
  assert.match(await intruderRow.innerText(), /the token is not one this dispatcher issued/);
  assert.match(await page.locator('[data-role="count"]').innerText(), new RegExp(`2 of 2 in ${prefix}\\.dead`));
  await browser.shot('dead-letters');

  // The fix: the connector registers. Its letter goes back with one click and its events run the trigger.
  await db.upsertConnector(
    { id: 'ghost-1', kind: 'speaker', meta: {}, events: ['said'], tasks: [] },
    new Date().toISOString(),
  );
  await page.getByRole('button', { name: `replay ${ghost.id}` }).click();
  await page.locator('[data-outcome="replayed"]', { hasText: `replayed ${ghost.id} (events from ghost-1)` }).waitFor(T);
  await ghostRow.waitFor({ state: 'detached', ...T });
  await waitFor(async () => (await db.listExecutions({ trigger: 'ghost' })).length === 2, {
    timeoutMs: 30_000,
    what: 'the two replayed events run by their trigger',
  });

  // Replay all asks for a second click; the registration that waited for a reply stays, with why.
  const all = page.getByRole('button', { name: 'Replay all' });
  await all.click();
  const really = page.getByRole('button', { name: 'Really replay every letter?' });
  await really.waitFor(T);
  assert.equal((await letters()).length, 1, 'the first click replays nothing');
  await really.click();
  await page
    .locator('[data-outcome="kept"]', { hasText: `${intruder.id} kept: it is a register that waited for a reply` })
    .waitFor(T);
  await intruderRow.locator('[data-role="kept"]', { hasText: 'kept: it is a register' }).waitFor(T);
  assert.deepEqual(
    (await letters()).map((l) => l.id),
    [intruder.id],
  );
  await browser.shot('dead-letters-replayed');

  // The replayed events are on the Executions page.
  await browser.go('executions');
  await page.locator('tr[data-execution]', { hasText: 'ghost' }).nth(1).waitFor(T);
  assert.equal(browser.pageErrors.length, 0, browser.pageErrors.join('\n'));
});
