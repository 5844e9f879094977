/** A real `switchboard start` hub in-process on a temp SWITCHBOARD_HOME, with its dashboard on a random port. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, tempDir, waitFor } from '../../core/test/support.js';
import { loadConfig } from '../../hub/config.js';
import type { Hub } from '../../hub/hub.js';
import { runSwitchboard } from '../../start/compose.js';
import { openSync, type SyncApi } from '../../sync/open.js';
import { insertConnector } from '../../sync/connectors-db.js';
import { upsertPage } from '../../sync/data.js';

export interface Running {
  hub: Hub;
  /** The dashboard's base URL, without the token. */
  url: string;
  /** The URL `start` printed, carrying the token (what a person opens). */
  signInUrl: string;
  /** The hub's admin token (the one the printed URL carries). */
  token: string;
  /** `{ authorization: 'Bearer <token>' }` for API calls. */
  headers: Record<string, string>;
  home: string;
  stop(): Promise<void>;
}

/** The printed dashboard address split into the base URL and the token it carries. */
export function dashboardUrls(printed: string): { url: string; signInUrl: string; token: string } {
  const u = new URL(printed);
  const token = u.searchParams.get('token');
  if (!token) throw new Error(`the printed dashboard address carries no token: ${printed}`);
  return { url: u.origin, signInUrl: printed, token };
}

export interface StartOptions {
  http?: string;
  token?: string;
  /** The dispatcher on RabbitMQ (`start --amqp`), its dead letters on the dashboard; null: none, whatever the environment says. */
  amqp?: string | null;
  /** SWITCHBOARD_AMQP_PREFIX (a test's own, so tests share no queues). */
  prefix?: string;
  /** More hub configuration (e.g. `identities`, `roles`), as flags or a configuration file would give it. */
  flags?: Record<string, unknown>;
}

export async function startWithDashboard(env: StartOptions = {}): Promise<Running> {
  const home = await tempDir('switchboard-dashboard-');
  process.env.SWITCHBOARD_HTTP = env.http ?? '127.0.0.1:0';
  if (env.token) process.env.SWITCHBOARD_HTTP_TOKEN = env.token;
  else delete process.env.SWITCHBOARD_HTTP_TOKEN;
  const config = loadConfig({
    env: {},
    flags: {
      serverName: 'dash',
      localListen: 'cd://127.0.0.1:0',
      signal: 'off',
      dataPath: home.path,
      tokenFile: join(home.path, 'hub.token'),
      ...env.flags,
    },
  });
  const hubEnv: Record<string, string | undefined> = { ...process.env };
  if (env.amqp !== undefined) hubEnv.SWITCHBOARD_AMQP_URL = env.amqp ?? undefined;
  if (env.prefix !== undefined) hubEnv.SWITCHBOARD_AMQP_PREFIX = env.prefix;
  const sink = new PassThrough();
  let text = '';
  sink.on('data', (d: Buffer) => {
    text += d.toString();
  });
  let resolveHub!: (hub: Hub) => void;
  const started = new Promise<Hub>((r) => {
    resolveHub = r;
  });
  const done = runSwitchboard(config, {
    scope: 'start',
    json: true,
    out: sink,
    onStarted: resolveHub,
    env: hubEnv,
  });
  const hub = await Promise.race([
    started,
    done.then((reason) => {
      throw new Error(`the hub stopped at once: ${reason}`);
    }),
  ]);
  const line = await waitFor(() => text.split('\n').find((l) => l.startsWith('{')), { what: 'the address line' });
  const addresses = (JSON.parse(line) as { addresses: { name: string; url: string }[] }).addresses;
  const printed = addresses.find((a) => a.name === 'dashboard')?.url;
  if (!printed) throw new Error(`no dashboard address in ${line}`);
  const urls = dashboardUrls(printed);
  return {
    hub,
    ...urls,
    headers: { authorization: `Bearer ${urls.token}` },
    home: home.path,
    async stop() {
      hub.requestStop('test over');
      await done;
      await home.cleanup();
    },
  };
}

const manifest = (name: string) => ({
  name,
  description: '',
  source: 'Local' as const,
  uri: '/x',
  install_command: '',
  update_command: '',
  command: 'true',
});

/** Seeds the sync store of a running home: connectors `files` and `mail`, `count` objects in files/docs. */
export async function seedData(home: string, count: number): Promise<SyncApi> {
  const sync = await openSync({ home });
  await insertConnector(sync.store, manifest('files'));
  await insertConnector(sync.store, manifest('mail'));
  const docs = await sync.addAccount({ connector: 'files', name: 'docs', options: '{}' });
  const mail = await sync.addAccount({ connector: 'mail', name: 'inbox', options: '{}' });
  await upsertPage(
    sync.store,
    docs,
    Array.from({ length: count }, (_, i) => ({ remoteId: `d${i}`, resourceName: `doc ${i}`, uri: `file:///d${i}` })),
  );
  await upsertPage(sync.store, mail, [{ remoteId: 'm1', resourceName: 'hello mail' }]);
  return sync;
}

export interface BrowserPage {
  context: BrowserContext;
  page: Page;
  /** Uncaught errors of the page's scripts. */
  pageErrors: string[];
  /** Opens a dashboard page by its hash and waits for its heading. */
  go(hash: string): Promise<void>;
  /** Saves test-results/dashboard-<name>.png (the whole page). */
  shot(name: string): Promise<void>;
  close(): Promise<void>;
}

export interface Browser {
  /** Uncaught errors of every page's scripts. */
  pageErrors: string[];
  /** A new page on the dashboard at `url`, opened at `hash`. */
  open(hash: string): Promise<Page>;
  close(): Promise<void>;
}

/** `http://h:p/?token=T` + `accounts` -> `http://h:p/?token=T#accounts`: the UI keeps the token and drops it from the address. */
function pageUrl(signInUrl: string, hash: string): string {
  return `${signInUrl.replace(/#.*$/, '')}#${hash}`;
}

/**
 * Headless Chromium (CHROMIUM) on a fresh profile, for tests that open several pages; `signInUrl`
 * (the address `start` printed, with its token; may be given later) opens each page.
 */
export async function launchBrowser(signInUrl: () => string): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  mkdirSync('test-results', { recursive: true });
  const profile = await tempDir('switchboard-chromium-');
  const context = await chromium.launchPersistentContext(profile.path, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const pageErrors: string[] = [];
  return {
    pageErrors,
    async open(hash) {
      const page = await context.newPage();
      page.on('pageerror', (e) => pageErrors.push(e.message));
      await page.goto(pageUrl(signInUrl(), hash));
      return page;
    },
    async close() {
      await context.close();
      await profile.cleanup();
    },
  };
}

/** Headless Chromium (CHROMIUM) on a fresh profile, one page open on the dashboard `start` printed (`signInUrl`, with its token). */
export async function openBrowser(signInUrl: string, timeout = 30_000): Promise<BrowserPage> {
  const { chromium } = await import('playwright-core');
  mkdirSync('test-results', { recursive: true });
  const profile = await tempDir('switchboard-chromium-');
  const context = await chromium.launchPersistentContext(profile.path, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
  });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return {
    context,
    page,
    pageErrors,
    async go(hash) {
      await page.goto(pageUrl(signInUrl, hash));
      await page.locator(`main[data-page="${hash}"] h2`).waitFor({ timeout });
    },
    async shot(name) {
      await page.screenshot({ path: `test-results/dashboard-${name}.png`, fullPage: true });
    },
    async close() {
      await context.close();
      await profile.cleanup();
    },
  };
}
