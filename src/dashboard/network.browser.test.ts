/**
 * The Network and Services pages in headless Chromium over two meshed in-process hubs: the graph
 * gains a node and a link when another hub joins, its services show under it, and it goes when
 * the hub stops, all without reloading (cluster and services frames from /api/live). The Services
 * page shows message rates. Screenshots: test-results/dashboard-network-mesh.png, -services-rates.png.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { connect, type SwitchboardClient } from '../client/index.js';
import { CHROMIUM, needChromium } from '../core/test/support.js';
import { launchBrowser, type Browser } from './test/harness.js';
import { startMeshHub, type MeshHub } from './test/mesh-hubs.js';

const SHOTS = 'test-results';
let a: MeshHub | undefined;
let b: MeshHub | undefined;
let browser: Browser | undefined;
const clients: SwitchboardClient[] = [];

before(async () => {
  if (!existsSync(CHROMIUM)) return;
  process.env.SWITCHBOARD_MESH_TIMINGS = 'fast';
  a = await startMeshHub({ name: 'net_a', ip: '127.0.0.1', scope: 'start' });
  browser = await launchBrowser(() => a?.signInUrl ?? assert.fail('the hub runs no dashboard'));
});

after(async () => {
  for (const c of clients) c.dispose();
  await browser?.close();
  await b?.stop();
  await a?.stop();
  delete process.env.SWITCHBOARD_HTTP;
});

const open = (hash: string): Promise<Page> => browser!.open(hash);

async function service(hub: MeshHub, name: string): Promise<SwitchboardClient> {
  const client = await connect(hub.hub.addresses.find((x) => x.kind === 'local')!.url, { reconnect: false });
  clients.push(client);
  client.on('PING', () => ({ command: 'PONG', params: {} }));
  await client.register(name);
  return client;
}

void test('the Network graph gains a hub, its link and its services live, and loses the link when it stops', async (t) => {
  if (!needChromium(t)) return;
  const page = await open('network');
  await page.locator('svg.graph g.node.self[data-hub="net_a"]').waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('svg.graph g.node').count(), 1);

  b = await startMeshHub({ name: 'net_b', ip: '127.0.0.2', scope: 'hub', neighbors: [a!.remote] });
  await page.locator('svg.graph g.node[data-hub="net_b"]:not(.unreachable)').waitFor({ timeout: 15_000 });
  // A vertical line has an empty box: Playwright calls it hidden, so wait for it in the DOM.
  await page
    .locator('svg.graph line.link[data-link="net_a-net_b"]:not(.one-sided)')
    .waitFor({ state: 'attached', timeout: 15_000 });
  await service(b, 'far_weather');
  await page
    .locator('section.hub[data-hub="net_b"] li.service[data-service="far_weather"][data-status="up"]')
    .waitFor({ timeout: 15_000 });
  assert.match(
    (await page.locator('svg.graph g.node[data-hub="net_b"] text.count').textContent()) ?? '',
    /[1-9]\d* services? up/,
  );
  await page.screenshot({ path: `${SHOTS}/dashboard-network-mesh.png`, fullPage: true });

  await b.stop();
  b = undefined;
  await page.locator('svg.graph line.link[data-link="net_a-net_b"]').waitFor({ state: 'detached', timeout: 15_000 });
  await page.locator('section.links li.muted', { hasText: 'no links' }).waitFor({ timeout: 15_000 });
  await page.locator('svg.graph g.node.unreachable[data-hub="net_b"]').waitFor({ timeout: 15_000 });
  assert.deepEqual(browser!.pageErrors, []);
  await page.close();
});

void test('the Services page shows message rates and totals per service, updated in place, and filters', async (t) => {
  if (!needChromium(t)) return;
  await service(a!, 'rated_target');
  const caller = await service(a!, 'rated_caller');
  const page = await open('services');
  await page.locator('tr[data-service="rated_target"]', { hasText: 'PING' }).waitFor({ timeout: 10_000 });
  const timer = setInterval(() => {
    void caller.request({ to: { service: 'rated_target' }, command: 'PING', params: {} }).catch(() => undefined);
  }, 25);
  try {
    // Column 8 is msg/s in: a positive rate once two rate samples saw the traffic.
    await page.waitForFunction(
      () => {
        const cell = document.querySelector('tr[data-service="rated_target"] td:nth-child(8)');
        return cell !== null && Number(cell.textContent) > 0;
      },
      undefined,
      { timeout: 15_000 },
    );
  } finally {
    clearInterval(timer);
  }
  const total = await page.locator('tr[data-service="rated_target"] td:nth-child(10)').textContent();
  assert.match(total ?? '', /^\d+ \/ \d+$/);
  await page.screenshot({ path: `${SHOTS}/dashboard-services-rates.png`, fullPage: true });
  await page.getByLabel('filter').fill('rated_t');
  await page.waitForFunction(() => document.querySelectorAll('tbody tr[data-service]').length === 1);
  assert.equal(await page.locator('tbody tr[data-service="rated_target"]').count(), 1);
  assert.deepEqual(browser!.pageErrors, []);
  await page.close();
});
