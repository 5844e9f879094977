/**
 * dashboard: page loads and API latency of the dashboard of a loaded `switchboard start` hub.
 * - A real `start` hub in-process (dashboard, sync, dispatcher, mesh) and a second hub meshed with
 *   it; 10,000 data rows (the store's upsert), 200 sync runs, 50 triggers, 1,000 executions;
 *   500 registered services (in-process connections: 480 on the first hub, 20 on the second),
 *   each with 5 commands and an endpoint; PINGs to them at about 200 messages/s throughout.
 * - Headless Chromium (playwright-core, /usr/bin/chromium) loads every page of the nav LOADS
 *   times (from about:blank: a full load) and times navigation -> a page-specific "rendered"
 *   selector (the last of the 500 services, the 50 rows of a data page, ...).
 * - Baseline (there is no peer for a dashboard): the same page's final DOM saved as a static
 *   HTML file (scripts removed, same stylesheet) served by a plain node:http server in the same
 *   process, timed to the same selector: what the page would cost if it were static.
 * - API latency (fetch from Node, sequential): /api/data pages, search, order; /api/services; /api/cluster.
 * Budget: no page over 1 s on loopback.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { encodeText } from '../src/core/codec/index.js';
import { tempDir } from '../src/core/test/support.js';
import type { Channel } from '../src/core/channel.js';
import { createMessage } from '../src/core/message.js';
import { CHROMIUM, CHROMIUM_ARGS, waitFor } from '../src/core/test/support.js';
import { decodeLine } from '../src/core/codec/index.js';
import { loadConfig } from '../src/hub/config.js';
import { Hub } from '../src/hub/hub.js';
import { openSync } from '../src/sync/open.js';
import { insertConnector } from '../src/sync/connectors-db.js';
import { upsertPage } from '../src/sync/data.js';
import { finishRun, startRun } from '../src/sync/runs.js';
import { openDispatchDb } from '../src/dispatch/open.js';
import { parseTriggers } from '../src/dispatch/trigger/parse.js';
import { startMeshHub, type MeshHub } from '../src/dashboard/test/mesh-hubs.js';
import { writeBenchFile } from './write.js';

const ROWS = Number(process.env.ROWS ?? 10_000);
const SERVICES = Number(process.env.SERVICES ?? 500);
const REMOTE_SERVICES = Math.min(20, SERVICES);
const LOADS = Number(process.env.LOADS ?? 15);
const API_CALLS = Number(process.env.API_CALLS ?? 100);
const BUDGET_MS = 1000;
const UI_DIR = fileURLToPath(new URL('../src/dashboard/ui/', import.meta.url));

/** What "rendered" means per page (the last of many rows, where there are many). */
const SELECTORS: Record<string, string> = {
  // Every service of both hubs listed: the last one of the second hub.
  network: `section.hub[data-hub="bench_b"] li.service[data-service="far_${String(REMOTE_SERVICES - 1).padStart(3, '0')}"]`,
  // Pages of 100 rows: the 100th row of the first page.
  services: 'tbody tr[data-service]:nth-child(100)',
  traffic: 'tr.sniffed',
  connectors: 'tr[data-connector="mail"]',
  accounts: 'tr[data-account="mail/inbox"]',
  sync: 'tr[data-run]',
  runs: 'tr[data-run]',
  data: 'tbody tr[data-id]:nth-child(50)',
  triggers: 'tr[data-trigger="t_49"]',
  executions: 'tr[data-execution]',
};
/** A page added later without a selector here: any table row or list item in the page. */
const FALLBACK = '#page tbody tr, #page li';

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}
const r1 = (x: number) => Math.round(x * 10) / 10;
const stats = (xs: number[]) => ({
  n: xs.length,
  p50: r1(pct(xs, 50)),
  p95: r1(pct(xs, 95)),
  max: r1(Math.max(...xs)),
});

async function seed(home: string): Promise<void> {
  const sync = await openSync({ home });
  try {
    await insertConnector(sync.store, {
      name: 'files',
      description: 'bench',
      source: 'Local',
      uri: '/x',
      install_command: '',
      update_command: '',
      command: 'true',
    });
    await insertConnector(sync.store, {
      name: 'mail',
      description: 'bench',
      source: 'Local',
      uri: '/x',
      install_command: '',
      update_command: '',
      command: 'true',
    });
    const docs = await sync.addAccount({ connector: 'files', name: 'docs', options: '{}' });
    const mail = await sync.addAccount({ connector: 'mail', name: 'inbox', options: '{}' });
    for (let i = 0; i < ROWS; i += 1000) {
      await upsertPage(
        sync.store,
        docs,
        Array.from({ length: Math.min(1000, ROWS - i) }, (_, k) => ({
          remoteId: `d${i + k}`,
          resourceName: `document ${i + k} about ${['invoices', 'travel', 'contracts', 'photos'][(i + k) % 4]}`,
          uri: `file:///docs/d${i + k}.pdf`,
        })),
      );
    }
    await upsertPage(sync.store, mail, [{ remoteId: 'm1', resourceName: 'hello mail' }]);
    for (let i = 0; i < 200; i++) {
      const account = i % 2 ? docs : mail;
      const run = await startRun(sync.store, account);
      await finishRun(
        sync.store,
        run,
        i % 10 === 0 ? { success: false, error: 'connector exited with status 1' } : { success: true },
      );
    }
  } finally {
    await sync.close();
  }
  const { db, close } = await openDispatchDb({ home });
  try {
    await db.addTriggers(
      parseTriggers(
        Array.from(
          { length: 50 },
          (_, i) =>
            `- name: t_${i}\n  when: { kind: timer, event: tick }\n  then: { kind: upper, task: upper, inputs: { text: hello } }\n`,
        ).join(''),
        'bench.yml',
      ),
    );
    const now = new Date().toISOString();
    const events = Array.from({ length: 1000 }, (_, i) => ({
      id: `ev${i}`,
      connectorId: 'timer-1',
      kind: 'timer',
      key: 'tick',
      data: { n: i },
      time: now,
    }));
    await db.recordEvents(events, (fresh) =>
      fresh.map((e, i) => ({
        id: `x${i}`,
        eventId: e.id,
        trigger: `t_${i % 50}`,
        target: 'kind:upper',
        task: 'upper',
        inputs: { text: 'hello' },
        dispatchedAt: now,
      })),
    );
  } finally {
    await close();
  }
}

/** `count` services on `hub` as in-process connections (REGISTER with an endpoint, then COMMANDS). */
async function register(hub: Hub, prefix: string, from: number, count: number): Promise<Channel[]> {
  const channels: Channel[] = [];
  for (let i = from; i < from + count; i++) {
    const name = `${prefix}${String(i).padStart(3, '0')}`;
    const ch = hub.connectInProcess(name);
    ch.send(
      encodeText(
        createMessage('REGISTER', { service: name, endpoints: JSON.stringify([{ port: 7000 + i, protocol: 'http' }]) }),
      ),
    );
    ch.send(encodeText(createMessage('COMMANDS', { list: 'PING,STATUS,GET,PUT,QUERY' })));
    channels.push(ch);
  }
  await waitFor(
    () => (hub.services.get(`${prefix}${String(from + count - 1).padStart(3, '0')}`)?.up ? true : undefined),
    { what: `${prefix} services registered` },
  );
  return channels;
}

/** A static copy of what the page rendered, served next to the stylesheet. */
function staticServer(pages: Map<string, string>): Promise<{ server: Server; url: string }> {
  const css = readFileSync(`${UI_DIR}style.css`);
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/style.css') {
      res.writeHead(200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'no-cache' });
      res.end(css);
      return;
    }
    const body = pages.get(path.slice(1));
    if (body === undefined) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' });
    res.end(body);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    ),
  );
}

async function timeLoad(page: Page, url: string, selector: string): Promise<number> {
  await page.goto('about:blank');
  const t0 = performance.now();
  await page.goto(url, { waitUntil: 'commit' });
  await page.locator(selector).first().waitFor({ state: 'attached', timeout: 30_000 });
  return performance.now() - t0;
}

/** The hub's admin token: every API call carries it, as the UI's do. */
let apiHeaders: Record<string, string> = {};

async function apiLatency(base: string, paths: () => string): Promise<ReturnType<typeof stats> & { bytes: number }> {
  const xs: number[] = [];
  let bytes = 0;
  for (let i = 0; i < API_CALLS + 5; i++) {
    const t0 = performance.now();
    const res = await fetch(`${base}${paths()}`, { headers: apiHeaders });
    const body = await res.arrayBuffer();
    if (!res.ok) throw new Error(`${paths()}: HTTP ${res.status}`);
    if (i >= 5) {
      xs.push(performance.now() - t0);
      bytes = body.byteLength;
    }
  }
  return { ...stats(xs), bytes };
}

/**
 * What the dashboard's counting costs the hub: one-way messages/s through an in-process hub
 * (memory channels, no sockets) with the tap off, with the tally the dashboard now uses, and with
 * a JSON sniffer decoding every SNIFFED line (how the dashboard counted before). Three hubs,
 * rounds interleaved after a warm-up round; medians.
 */
async function tapCost(): Promise<Record<string, number>> {
  const N = Number(process.env.TAP_MESSAGES ?? 200_000);
  const dir = await tempDir('switchboard-bench-tap-');
  const modes = ['off', 'tally', 'tally+json-sniffer'] as const;
  const rigs = await Promise.all(
    modes.map(async (mode) => {
      const hub = new Hub(
        loadConfig({
          env: {},
          flags: {
            serverName: `tap_${mode.replace(/\W/g, '_')}`,
            localListen: 'cd://127.0.0.1:0',
            signal: 'off',
            dataPath: dir.path,
          },
        }),
      );
      await hub.start();
      if (mode !== 'off') hub.tap.countMessages();
      let received = 0;
      const sink = hub.connectInProcess('sink');
      sink.on('frame', () => {
        received++;
      });
      sink.send(encodeText(createMessage('REGISTER', { service: 'sink' })));
      const source = hub.connectInProcess('source');
      source.send(encodeText(createMessage('REGISTER', { service: 'source' })));
      if (mode === 'tally+json-sniffer') {
        const sniffer = hub.connectInProcess('sniffer');
        sniffer.on('frame', (f) => {
          decodeLine(f);
        });
        sniffer.send(encodeText(createMessage('SNIFF', { format: 'json' })));
      }
      await waitFor(() => hub.services.get('sink')?.up && hub.services.get('source')?.up, {
        what: 'tap rig registered',
      });
      await new Promise((r) => setTimeout(r, 50));
      return { mode, hub, source, received: () => received };
    }),
  );
  const line = encodeText(createMessage('DATA', { payload: 'x'.repeat(100) }, { service: 'sink' }));
  const rates: Record<string, number[]> = Object.fromEntries(modes.map((m) => [m, []]));
  const rounds = Number(process.env.TAP_ROUNDS ?? 3);
  for (let round = 0; round <= rounds; round++) {
    for (const rig of rigs) {
      const start = rig.received();
      const t0 = performance.now();
      for (let sent = 0; sent < N;) {
        for (let j = 0; j < 500; j++, sent++) rig.source.send(line);
        // Stay within the queues: wait until the sink caught up to 2000 behind.
        while (rig.received() - start < sent - 2000) await new Promise((r) => setImmediate(r));
      }
      while (rig.received() - start < N) await new Promise((r) => setImmediate(r));
      if (round > 0) rates[rig.mode]!.push(N / ((performance.now() - t0) / 1000)); // round 0 warms the code up
    }
  }
  for (const rig of rigs) await rig.hub.stop('bench over');
  await dir.cleanup();
  return Object.fromEntries(modes.map((m) => [m, Math.round(pct(rates[m]!, 50))]));
}

async function main(): Promise<void> {
  process.env.SWITCHBOARD_MESH_TIMINGS = 'fast';
  const loadStart = loadavg();
  console.log(`load average at start: ${loadStart.map((x) => x.toFixed(2)).join(' ')}`);
  let b: MeshHub | undefined;
  let a: MeshHub | undefined;
  try {
    let t = performance.now();
    const started = await startMeshHub({ name: 'bench', ip: '127.0.0.1', scope: 'start' });
    a = started;
    const dashboard = started.url!;
    apiHeaders = started.headers;
    await seed(a.home);
    console.log(
      `seeded ${ROWS} rows, 200 runs, 50 triggers, 1000 executions in ${Math.round(performance.now() - t)} ms`,
    );
    b = await startMeshHub({ name: 'bench_b', ip: '127.0.0.2', scope: 'hub', neighbors: [a.remote] });
    t = performance.now();
    const channels = [
      ...(await register(a.hub, 'svc_', 0, SERVICES - REMOTE_SERVICES)),
      ...(await register(b.hub, 'far_', 0, REMOTE_SERVICES)),
    ];
    await waitFor(
      () =>
        a!.hub
          .remote()!
          .remoteServices()
          .filter((s) => s.name.startsWith('far_')).length === REMOTE_SERVICES
          ? true
          : undefined,
      { timeoutMs: 30_000, what: 'the remote services seen through the mesh' },
    );
    console.log(`${SERVICES} services registered in ${Math.round(performance.now() - t)} ms`);

    // Background traffic: about 200 PINGs/s round-robin over the local services.
    const pinger = a.hub.connectInProcess('bench_pinger');
    pinger.send(encodeText(createMessage('REGISTER', { service: 'bench_pinger' })));
    let k = 0;
    const traffic = setInterval(() => {
      for (let j = 0; j < 4; j++)
        pinger.send(
          encodeText(
            createMessage(
              'PING',
              { n: k },
              { service: `svc_${String(k++ % (SERVICES - REMOTE_SERVICES)).padStart(3, '0')}` },
            ),
          ),
        );
    }, 20);

    const context = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(started.signInUrl!); // the UI keeps the token for the page loads below
    const pages = await page
      .locator('nav a[data-page]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-page') ?? '').filter(Boolean));
    console.log(`pages: ${pages.join(', ')}`);

    const results: Record<string, unknown>[] = [];
    const statics = new Map<string, string>();
    const measured: { page: string; selector: string; times: number[]; htmlBytes: number; domNodes: number }[] = [];
    for (const name of pages) {
      const selector = SELECTORS[name] ?? FALLBACK;
      const times: number[] = [];
      for (let i = 0; i < LOADS + 2; i++) {
        const ms = await timeLoad(page, `${dashboard}/#${name}`, selector);
        if (i >= 2) times.push(ms); // two warm-up loads (module cache, JIT)
      }
      // The rendered DOM, frozen: scripts removed so the baseline does no work but parse and paint.
      const html = await page.evaluate(() => {
        const doc = document.documentElement.cloneNode(true) as HTMLElement;
        for (const s of doc.querySelectorAll('script')) s.remove();
        return `<!doctype html>\n${doc.outerHTML}`;
      });
      const domNodes = await page.evaluate(() => document.getElementsByTagName('*').length);
      statics.set(name, html);
      measured.push({ page: name, selector, times, htmlBytes: Buffer.byteLength(html), domNodes });
      console.log(
        `${name.padEnd(11)} p50 ${pct(times, 50).toFixed(0)} ms  p95 ${pct(times, 95).toFixed(0)} ms  (${domNodes} elements)`,
      );
    }

    const { server, url: staticUrl } = await staticServer(statics);
    const ratios: Record<string, number> = {};
    for (const m of measured) {
      const base: number[] = [];
      for (let i = 0; i < LOADS + 2; i++) {
        const ms = await timeLoad(page, `${staticUrl}/${m.page}`, m.selector);
        if (i >= 2) base.push(ms);
      }
      const s = stats(m.times);
      const bs = stats(base);
      results.push({
        system: 'switchboard dashboard',
        page: m.page,
        selector: m.selector,
        ...s,
        value: s.p95,
        overBudget: s.p95 > BUDGET_MS,
        domElements: m.domNodes,
      });
      results.push({
        system: 'baseline: static copy of the rendered page',
        page: m.page,
        selector: m.selector,
        ...bs,
        value: bs.p95,
        htmlBytes: m.htmlBytes,
      });
      ratios[`${m.page}_p50_vs_static`] = r1(s.p50 / bs.p50);
      console.log(
        `${m.page.padEnd(11)} static baseline p50 ${bs.p50} ms p95 ${bs.p95} ms (${Math.round(m.htmlBytes / 1024)} KiB)`,
      );
    }
    server.close();
    await context.close();

    const pagesOfData = Math.ceil((ROWS + 1) / 50);
    const api = {
      'GET /api/data?page=N (random page of 50)': await apiLatency(
        dashboard,
        () => `/api/data?page=${1 + Math.floor(Math.random() * pagesOfData)}`,
      ),
      'GET /api/data?search=... (full-text over the rows)': await apiLatency(
        dashboard,
        () => `/api/data?search=${encodeURIComponent(`document ${Math.floor(Math.random() * ROWS)}`)}`,
      ),
      'GET /api/data?order=name&page=N': await apiLatency(
        dashboard,
        () => `/api/data?order=name&asc=true&page=${1 + Math.floor(Math.random() * pagesOfData)}`,
      ),
      'GET /api/data?account=files/docs&page=N': await apiLatency(
        dashboard,
        () => `/api/data?account=files/docs&page=${1 + Math.floor(Math.random() * pagesOfData)}`,
      ),
      'GET /api/services (500 services)': await apiLatency(dashboard, () => '/api/services'),
      'GET /api/cluster': await apiLatency(dashboard, () => '/api/cluster'),
      'GET /metrics': await apiLatency(dashboard, () => '/metrics'),
    };
    for (const [what, s] of Object.entries(api))
      console.log(`${what.padEnd(52)} p50 ${s.p50} ms  p95 ${s.p95} ms  (${Math.round(s.bytes / 1024)} KiB)`);
    clearInterval(traffic);
    for (const ch of channels) ch.close();
    pinger.close();
    const tap = await tapCost();
    console.log(
      `hub messages/s in-process: tap off ${tap.off}, with the tally ${tap.tally}, with a JSON sniffer ${tap['tally+json-sniffer']}`,
    );

    const loadEnd = loadavg();
    const over = results.filter((r) => r.overBudget === true).map((r) => r.page as string);
    const out = {
      name: 'dashboard',
      unit: 'ms: navigation to a page-specific rendered selector in headless Chromium (p50/p95 of LOADS full loads); API latency in ms',
      date: new Date().toISOString(),
      node: process.version,
      chromium: CHROMIUM,
      loadAverageAtStart: loadStart.map((x) => r1(x)),
      loadAverageAtEnd: loadEnd.map((x) => r1(x)),
      setup: {
        rows: ROWS,
        services: SERVICES,
        servicesOnSecondHub: REMOTE_SERVICES,
        hubs: 2,
        syncRuns: 200,
        triggers: 50,
        executions: 1000,
        backgroundTrafficPerSecond: 200,
        loadsPerPage: LOADS,
        warmupLoads: 2,
      },
      baseline:
        "no peer exists for a dashboard: each page's final DOM saved as static HTML (scripts removed, same stylesheet) and served by a plain node:http server in the same process, timed to the same selector the same way",
      budgetMs: BUDGET_MS,
      overBudget: over,
      results,
      api,
      ratios,
      hubCostOfCounting: {
        what: 'one-way messages/s through an in-process hub (memory channels, 100-byte parameter; medians of 3 interleaved rounds after a warm-up round): tap off, with the hub-side tally the dashboard uses, and with a JSON sniffer decoding every event (how the dashboard counted before)',
        messagesPerSecond: tap,
        tallyVsOff: r1((tap.tally! / tap.off!) * 100) / 100,
        sniffingVsOff: r1((tap['tally+json-sniffer']! / tap.off!) * 100) / 100,
      },
      pageErrors: errors,
    };
    writeBenchFile('bench/results/dashboard.json', `${JSON.stringify(out, null, 2)}\n`);
    updateReadme(out);
    console.log(over.length ? `OVER BUDGET: ${over.join(', ')}` : `every page under ${BUDGET_MS} ms (p95)`);
    if (errors.length) console.log(`page errors: ${errors.join(' | ')}`);
  } finally {
    await b?.stop();
    await a?.stop();
  }
}

interface Written {
  date: string;
  loadAverageAtStart: number[];
  loadAverageAtEnd: number[];
  setup: { loadsPerPage: number };
  results: Record<string, unknown>[];
  api: Record<string, ReturnType<typeof stats> & { bytes: number }>;
  hubCostOfCounting: { messagesPerSecond: Record<string, number> };
}

const kib = (bytes: number) =>
  bytes < 10_240 ? `${(bytes / 1024).toFixed(1)} KiB` : `${Math.round(bytes / 1024)} KiB`;
const ms = (x: unknown) => String(Math.round(Number(x)));

/** The table between the dashboard markers of bench/README.md, from the results file's content. */
function updateReadme(out: Written): void {
  const path = 'bench/README.md';
  const readme = readFileSync(path, 'utf8');
  const begin = '<!-- dashboard:begin -->';
  const end = '<!-- dashboard:end -->';
  if (!readme.includes(begin)) return;
  const { results, api } = out;
  const tap = out.hubCostOfCounting.messagesPerSecond;
  const rows = results
    .filter((r) => r.system === 'switchboard dashboard')
    .map((r) => {
      const base = results.find((x) => x.page === r.page && x.system !== 'switchboard dashboard')!;
      return `| ${String(r.page)} | ${ms(r.p50)} / ${ms(r.p95)} | ${ms(base.p50)} / ${ms(base.p95)} | ${kib(Number(base.htmlBytes))}, ${String(r.domElements)} elements | ${r.overBudget ? '**over**' : 'under'} |`;
    });
  const apiRows = Object.entries(api).map(([what, s]) => `| ${what} | ${s.p50} / ${s.p95} | ${kib(s.bytes)} |`);
  const k = (x: number | undefined) => `${Math.round((x ?? 0) / 1000)}k`;
  const text = [
    begin,
    `Measured ${out.date.slice(0, 10)}, Node ${process.version}, ${out.setup.loadsPerPage} loads per page after 2 warm-up loads; load average ${out.loadAverageAtStart[0]} at the start and ${out.loadAverageAtEnd[0]} at the end (2 cores shared with other work: every figure, the static baseline's too, moves with it; compare a page with its static copy).`,
    '',
    '| page | dashboard p50 / p95 ms | static copy p50 / p95 ms | rendered page | 1 s budget (p95) |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    '| API call (sequential) | p50 / p95 ms | response |',
    '|---|---|---|',
    ...apiRows,
    '',
    `What counting costs the hub (in-process hub, one-way messages/s, medians): tap off ${k(tap.off)}, with the hub-side tally the dashboard uses ${k(tap.tally)} (${Math.abs((tap.tally ?? 0) / (tap.off ?? 1) - 1) < 0.2 ? 'the same within the noise of a shared machine' : `${((tap.tally ?? 0) / (tap.off ?? 1)).toFixed(2)}x`}), with a JSON sniffer as well (how the dashboard counted before; now only while a live client is connected) ${k(tap['tally+json-sniffer'])}.`,
    end,
  ].join('\n');
  writeBenchFile(path, readme.replace(new RegExp(`${begin}[\\s\\S]*?${end}`), text));
}

if (process.env.ONLY_TAP) console.log(await tapCost());
else if (process.env.README_ONLY)
  updateReadme(JSON.parse(readFileSync('bench/results/dashboard.json', 'utf8')) as Written); // the table again from the last results
else await main();
