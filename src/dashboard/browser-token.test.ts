/**
 * The dashboard's token in headless Chromium: the address `start` prints carries it (the page keeps
 * it and takes it out of the address bar); without it a sign-in dialog asks, refuses a wrong one,
 * then the pages and the live socket work.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type BrowserContext } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, needChromium, tempDir } from '../core/test/support.js';
import { startWithDashboard, type Running } from './test/harness.js';

const T = { timeout: 15_000 };
let running: Running | undefined;
let context: BrowserContext | undefined;
let cleanupProfile: (() => Promise<void>) | undefined;

before(async () => {
  if (!existsSync(CHROMIUM)) return;
  mkdirSync('test-results', { recursive: true });
  running = await startWithDashboard();
  const profile = await tempDir('switchboard-chromium-');
  cleanupProfile = profile.cleanup;
  context = await chromium.launchPersistentContext(profile.path, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
});

after(async () => {
  await context?.close();
  await cleanupProfile?.();
  await running?.stop();
  delete process.env.SWITCHBOARD_HTTP;
  delete process.env.SWITCHBOARD_HTTP_TOKEN;
});

void test('the printed address signs the browser in; the token leaves the address bar and stays for the next visit', async (t) => {
  if (!needChromium(t)) return;
  const page = await context!.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${running!.signInUrl}#accounts`);
  await page.getByText('no accounts yet').waitFor(T);
  await page.locator('#live-state', { hasText: /^live$/ }).waitFor(T);
  assert.equal(await page.locator('dialog').count(), 0);
  assert.equal(page.url(), `${running!.url}/#accounts`, 'the token is gone from the address');
  assert.doesNotMatch(await page.evaluate(() => JSON.stringify(history.state) + document.location.href), /token/);
  await page.goto(`${running!.url}/#accounts`);
  await page.getByText('no accounts yet').waitFor(T);
  assert.equal(await page.locator('dialog').count(), 0);
  assert.equal(await page.evaluate(() => localStorage.getItem('switchboard-token')), running!.token);
  await page.evaluate(() => localStorage.clear());
  await page.close();
  assert.deepEqual(errors, []);
});

void test('without the token a sign-in dialog asks; a wrong one is refused and asked again', async (t) => {
  if (!needChromium(t)) return;
  const page = await context!.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${running!.url}/#accounts`);
  const token = page.getByRole('textbox', { name: 'dashboard token' });
  await token.waitFor(T);
  await page.screenshot({ path: 'test-results/dashboard-sign-in.png' });
  await token.fill('wrong');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('That token was refused').waitFor(T);
  await page.getByRole('textbox', { name: 'dashboard token' }).fill(running!.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('no accounts yet').waitFor(T);
  await page.locator('#live-state', { hasText: /^live$/ }).waitFor(T);
  assert.equal(await page.locator('dialog').count(), 0);
  // Kept for the next visit.
  await page.reload();
  await page.getByText('no accounts yet').waitFor(T);
  assert.equal(await page.locator('dialog').count(), 0);
  assert.deepEqual(errors, []);
});
