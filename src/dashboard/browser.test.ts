/**
 * End to end in headless Chromium (Debian's chromium driven by playwright-core): the dashboard of a
 * real `switchboard start` hub. Screenshots go to test-results/dashboard-*.png.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { connect, type SwitchboardClient } from '../client/index.js';
import { CHROMIUM, needChromium, waitFor } from '../core/test/support.js';
import type { SyncApi } from '../sync/open.js';
import { launchBrowser, seedData, startWithDashboard, type Browser, type Running } from './test/harness.js';

const SHOTS = 'test-results';

let running: Running | undefined;
let sync: SyncApi | undefined;
let browser: Browser | undefined;
const clients: SwitchboardClient[] = [];

before(async () => {
  if (!existsSync(CHROMIUM)) return;
  running = await startWithDashboard();
  sync = await seedData(running.home, 120);
  browser = await launchBrowser(() => running!.signInUrl);
});

after(async () => {
  for (const c of clients) c.dispose();
  await browser?.close();
  await sync?.close();
  await running?.stop();
  delete process.env.SWITCHBOARD_HTTP;
});

const open = (hash: string): Promise<Page> => browser!.open(hash);

void test('a service registering appears on the Network page, live', async (t) => {
  if (!needChromium(t)) return;
  const page = await open('network');
  await page.locator('li.service[data-service="sync"]').waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('li.service[data-service="weather"]').count(), 0);
  const local = running!.hub.addresses.find((a) => a.kind === 'local')!;
  const client = await connect(local.url);
  clients.push(client);
  await client.register('weather');
  const weather = page.locator('li.service[data-service="weather"][data-status="up"]');
  await weather.waitFor({ timeout: 10_000 });
  assert.match(await weather.innerText(), /weather\s+1 instance/);
  await page.screenshot({ path: `${SHOTS}/dashboard-network.png`, fullPage: true });
  await page.close();
  assert.deepEqual(browser!.pageErrors, []);
});

void test('the Data page pages by 50, searches, and saves a note', async (t) => {
  if (!needChromium(t)) return;
  const page = await open('data');
  await page.getByText('page 1 of 3 · 121 objects').waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('tbody tr').count(), 50);
  await page.getByRole('searchbox', { name: 'search' }).fill('doc 42');
  await page.getByText('page 1 of 1 · 1 objects').waitFor({ timeout: 10_000 });
  const note = page.getByRole('textbox', { name: 'note for d42' });
  await note.fill('ask Ana');
  await note.press('Enter');
  await page.getByText('saved').waitFor({ timeout: 10_000 });
  const stored = await sync!.listData({ search: 'ask Ana' });
  assert.deepEqual(
    stored.items.map((o) => o.remoteId),
    ['d42'],
  );
  await page.screenshot({ path: `${SHOTS}/dashboard-data.png`, fullPage: true });
  await page.close();
});

void test('the Traffic page shows sniffed messages; Services lists commands', async (t) => {
  if (!needChromium(t)) return;
  const page = await open('traffic');
  // The page sniffs from when its live socket has subscribed, not from when it has rendered.
  await waitFor(() => running!.hub.tap.sniffing, { what: 'the Traffic page to have the hub sniff' });
  const local = running!.hub.addresses.find((a) => a.kind === 'local')!;
  const target = await connect(local.url);
  clients.push(target);
  target.on('PING', () => ({ command: 'PONG', params: {} }));
  await target.register('echo');
  const caller = await connect(local.url);
  clients.push(caller);
  await caller.register('caller');
  await caller.request({ to: { service: 'echo' }, command: 'PING', params: {} });
  await page.locator('tr.sniffed', { hasText: 'PING' }).first().waitFor({ timeout: 10_000 });
  await page.screenshot({ path: `${SHOTS}/dashboard-traffic.png`, fullPage: true });
  await page.goto(`${running!.url}/#services`);
  await page.locator('tr[data-service="echo"]', { hasText: 'PING' }).waitFor({ timeout: 10_000 });
  await waitFor(() => !running!.hub.tap.sniffing, { what: 'the hub to stop sniffing once no page shows traffic' });
  await page.screenshot({ path: `${SHOTS}/dashboard-services.png`, fullPage: true });
  await page.close();
  assert.deepEqual(browser!.pageErrors, []);
});

void test('every page renders without errors; the old #runs address opens the Sync page', async (t) => {
  if (!needChromium(t)) return;
  const page = await open('network');
  for (const name of ['connectors', 'accounts', 'sync', 'triggers', 'executions']) {
    await page.goto(`${running!.url}/#${name}`);
    await page.locator(`main[data-page="${name}"] h2`).waitFor({ timeout: 10_000 });
    await page.locator(`nav a.current[data-page="${name}"]`).waitFor({ timeout: 10_000 });
  }
  // Seeded here: connectors files and mail, their accounts docs and inbox.
  await page.goto(`${running!.url}/#accounts`);
  await page.locator('tr[data-account="files/docs"]').waitFor({ timeout: 10_000 });
  await page.goto(`${running!.url}/#runs`);
  await page.locator('main[data-page="sync"] td', { hasText: 'no runs yet' }).waitFor({ timeout: 10_000 });
  await page.close();
  assert.deepEqual(browser!.pageErrors, []);
});
