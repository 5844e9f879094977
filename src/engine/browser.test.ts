// The browser build hosting real Remix clients (iframe, web worker) and ours, in headless
// Chromium (Debian's chromium driven by playwright-core), pages served from a loopback server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, needChromium, tempDir } from '../core/test/support.js';
import { bundleForBrowser } from './browser/build.js';
import { demoAssets } from './demo/assets.js';
import { HTML, JS, serveAssets, type StaticServer } from './demo/static-server.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/browser/${name}`, import.meta.url));

let server: StaticServer | undefined;
let context: BrowserContext | undefined;
let cleanupProfile: (() => Promise<void>) | undefined;
const consoleLines: string[] = [];

before(async () => {
  if (!existsSync(CHROMIUM)) return;
  const assets = await demoAssets();
  const remix = await bundleForBrowser({
    '/fixtures/remix-iframe.js': fixture('remix-iframe-plugin.ts'),
    '/fixtures/remix-worker.js': fixture('remix-worker-plugin.ts'),
  });
  for (const [path, body] of remix) assets.set(path, { type: JS, body });
  assets.set('/fixtures/remix-iframe.html', {
    type: HTML,
    body: '<!doctype html><meta charset="utf-8"><body>remix iframe plugin<script src="/fixtures/remix-iframe.js" type="module"></script>',
  });
  assets.set('/fixtures/scenarios.js', { type: JS, body: await readFile(fixture('scenarios.js'), 'utf8') });
  assets.set('/fixtures/evil.html', { type: HTML, body: await readFile(fixture('evil.html'), 'utf8') });
  assets.set('/test.html', {
    type: HTML,
    body: '<!doctype html><meta charset="utf-8"><body><script type="module" src="/fixtures/scenarios.js"></script>',
  });
  server = await serveAssets(assets);
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
  await server?.close();
  await cleanupProfile?.();
});

async function openTestPage(): Promise<Page> {
  const page = await context!.newPage();
  page.on('console', (m) => consoleLines.push(m.text()));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  await page.goto(`http://127.0.0.1:${server!.port}/test.html`);
  await page.waitForFunction('window.scenariosReady === true', undefined, { timeout: 10_000 });
  return page;
}

void test('real Remix clients in Chromium: @remixproject/plugin-iframe in an IframePlugin, @remixproject/plugin in a WebWorkerPlugin', async (t) => {
  if (!needChromium(t)) return;
  const page = await openTestPage();
  try {
    const r = (await page.evaluate('window.scenarios.remixClients()')) as Record<string, unknown>;
    assert.deepEqual(r.frameMethods, ['hello', 'relay']);
    assert.deepEqual(r.workerMethods, ['square', 'relay']);
    assert.equal(r.frameHello, 'hello engine from a Remix iframe client');
    assert.equal(r.frameRelay, 'FROM FRAME!');
    assert.equal(r.workerSquare, 144);
    assert.equal(r.workerRelay, 'FROM WORKER!');
    assert.deepEqual(r.ready, ['iframe']);
    assert.equal(r.notInProfile, 'NOT_FOUND');
    assert.equal(r.frameRemoved, true);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nbrowser console:\n${consoleLines.join('\n')}`);
  } finally {
    await page.close();
  }
});

void test('our browser clients: an iframe plugin and a worker plugin call each other through the engine', async (t) => {
  if (!needChromium(t)) return;
  const page = await openTestPage();
  try {
    const r = (await page.evaluate('window.scenarios.ourClients()')) as Record<string, unknown>;
    assert.equal(r.frameToWorker, 55);
    assert.equal(r.workerToFrame, 'Hello worker, from the iframe plugin');
  } finally {
    await page.close();
  }
});

void test('messages from another origin are dropped: a stranger frame, and the plugin frame after it navigates away', async (t) => {
  if (!needChromium(t)) return;
  const page = await openTestPage();
  try {
    const foreign = `http://localhost:${server!.port}/fixtures/evil.html`;
    const r = (await page.evaluate(`window.scenarios.foreignOrigin(${JSON.stringify(foreign)})`)) as {
      forged: unknown[];
      rejectedBefore: number;
      rejectedAfter: number;
      strangerIgnored: boolean;
    };
    assert.deepEqual(r.forged, [], 'no forged event reached a listener');
    assert.equal(r.strangerIgnored, true);
    assert.ok(r.rejectedAfter > r.rejectedBefore);
  } finally {
    await page.close();
  }
});

void test('the demo page runs: iframe and worker plugins call each other', async (t) => {
  if (!needChromium(t)) return;
  const page = await context!.newPage();
  try {
    await page.goto(`http://127.0.0.1:${server!.port}/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
    const text = await page.textContent('#out');
    assert.match(text ?? '', /frame -> worker: fib\(20\) = 6765/);
    assert.match(text ?? '', /worker -> frame: Hello worker, from the iframe plugin/);
  } finally {
    await page.close();
  }
});
