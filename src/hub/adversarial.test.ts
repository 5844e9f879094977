/**
 * The standing adversarial suite (issue 13): each scenario replays an abuse that once cost the hub
 * memory, messages or a bystander's time, asserts the bound that holds now and prints its figure
 * (`# adversarial ...` lines). The whole file stays well under a minute; `npm run fuzz` is the
 * long run of the last scenario.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect as netConnect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { waitFor } from '../core/test/support.js';
import { loadConfig } from './config.js';
import { Hub } from './hub.js';
import { Bystander, figure, fuzzHub, heldMb, neverReadingWebSocket, rssMb } from './test/abuse.js';
import { LineClient, hubPort } from './test/support.js';

const hubs: Hub[] = [];
const sockets: Socket[] = [];
const clients: LineClient[] = [];

after(async () => {
  for (const s of sockets) s.destroy();
  for (const c of clients) c.close();
  await Promise.all(hubs.map((h) => h.stop('tests done')));
});

/** A hub on free ports; `lines` collects its log lines (JSON) when given. */
async function startHub(flags: Record<string, unknown> = {}, lines?: string[]): Promise<{ hub: Hub; port: number }> {
  const config = loadConfig({
    env: {},
    flags: {
      serverName: 'abused',
      localListen: 'cd://127.0.0.1:0',
      signal: 'cdu://127.0.0.1:0',
      dataPath: mkdtempSync(join(tmpdir(), 'sb-adversarial-')),
      ...flags,
    },
  });
  const log = lines
    ? pino(
        { level: 'info', base: undefined },
        new Writable({
          write(chunk: Buffer, _enc, done) {
            lines.push(...chunk.toString().split('\n').filter(Boolean));
            done();
          },
        }),
      )
    : pino({ level: 'silent' });
  const hub = await new Hub(config, { log }).start();
  hubs.push(hub);
  return { hub, port: hubPort(hub) };
}

/** Writes `text` to the hub from a child process that reads all it gets for `ms`; resolves with the bytes it read. */
async function attackFromProcess(port: number, text: string, ms: number): Promise<number> {
  const script = `
    const s = require('node:net').connect(${port}, '127.0.0.1', () => s.write(${JSON.stringify(text)}));
    let n = 0;
    s.on('data', (d) => { n += d.length; });
    s.on('error', () => {});
    setTimeout(() => { process.stdout.write(String(n)); process.exit(0); }, ${ms});`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => child.once('exit', r));
  return Number(out);
}

/** Fills the registry with `count` names that registered and left, 100 per in-process connection. */
async function rememberNames(hub: Hub, prefix: string, count: number): Promise<void> {
  for (let c = 0; c * 100 < count; c++) {
    const ch = hub.connectInProcess(`filler-${c}`);
    for (let i = 0; i < 100 && c * 100 + i < count; i++) {
      ch.send(`REGISTER service=${prefix}_${c}_${i};version=1`);
      ch.send('UNREGISTER');
    }
    await new Promise((r) => setImmediate(r));
    ch.close();
  }
}

/** The dashboard's server over `hub` (as `switchboard start` runs it), on a free port, its log lines in `lines`. */
async function startDashboard(hub: Hub, lines: string[] = []) {
  const { HubLink } = await import('../dashboard/hub-link.js');
  const { startDashboardServer } = await import('../dashboard/server.js');
  const { openDashboardData } = await import('../dashboard/data.js');
  const { Registry } = await import('prom-client');
  const data = await openDashboardData(mkdtempSync(join(tmpdir(), 'sb-adversarial-dash-')));
  const link = new HubLink(hub);
  const token = 'sbd_adversarial_live_token_0123456789';
  hub.trust.addAdminToken(token);
  const server = await startDashboardServer({
    config: { host: '127.0.0.1', port: 0, explicit: true, token },
    link,
    data,
    metrics: new Registry(),
    log: pino(
      { level: 'info', base: undefined },
      new Writable({ write: (c: Buffer, _e, d) => (lines.push(c.toString()), d()) }),
    ),
    signInToken: token,
  });
  return {
    server,
    token,
    async close() {
      await server.close();
      link.close();
      await data.close();
    },
  };
}

async function client(port: number, service?: string, extra = ''): Promise<LineClient> {
  const c = service ? await LineClient.register(port, service, extra) : await LineClient.connect(port);
  clients.push(c);
  return c;
}

void test('cache: 1 MB messages with ttl=3600 to services that left stay within the cache budget; senders hear of evictions', async () => {
  const { hub, port } = await startHub({ maxCacheBytes: 24 << 20, maxServiceCacheBytes: 8 << 20 });
  const before = heldMb();
  for (let i = 0; i < 4; i++) (await client(port, `gone_${i}`)).close();
  await waitFor(() => hub.services.get('gone_3')?.up === false, { what: 'the services to leave' });
  // One connection that never registered is enough.
  const sender = await client(port);
  const blob = 'm'.repeat(1_000_000);
  const total = 120;
  for (let i = 0; i < total; i++)
    sender.send(`gone_${i % 4}/DATA n=${i};cache="ttl=3600";transmission_report=failure;blob=${blob}`);
  sender.send('HELP');
  await sender.next('COMMANDS', 30_000);
  const held = heldMb() - before;
  const cachedMb = hub.cache.bytes / 1e6;
  const reports = sender.received.filter((m) => m.command === 'TRANSMISSION_REPORT');
  figure('cache-bytes', {
    sentMb: total,
    cachedMb,
    heldMb: held,
    rssMb: rssMb(),
    evictionReports: reports.length,
  });
  assert.ok(hub.cache.bytes <= 24 << 20, `the cache holds ${cachedMb} MB, over its 24 MiB budget`);
  for (let i = 0; i < 4; i++)
    assert.ok(hub.cache.pendingBytes(`gone_${i}`) <= 8 << 20, `gone_${i} holds more than its 8 MiB`);
  assert.ok(held < 24 + 40, `the hub holds ${held} MB more than before (budget 24 MiB)`);
  // Every message that did not stay got a report with the reason; the ones that stayed did not.
  assert.equal(reports.length, total - hub.cache.size);
  assert.match(String(reports[0]!.params.reason), /evicted|budget/);
  assert.equal(reports[0]!.params.status, 'failed');
});

void test('cache flush: 1,000 cached 20 KB messages reach a returning service that reads slowly, none dropped', async () => {
  const { hub, port } = await startHub({ maxQueuedBytes: 8 << 20 });
  (await client(port, 'returning')).close();
  await waitFor(() => hub.services.get('returning')?.up === false, { what: 'returning to leave' });
  const sender = await client(port);
  const blob = 'k'.repeat(20_000);
  for (let i = 0; i < 1000; i++) sender.send(`returning/DATA n=${i};blob=${blob}`);
  sender.send('HELP');
  await sender.next('COMMANDS', 30_000);
  assert.equal(hub.cache.pending('returning'), 1000);
  // The service comes back and reads what its socket holds every 2 ms (at most 64 KB a time: slower than the hub writes).
  const back = await LineClient.connect(port);
  clients.push(back);
  const reader = back.socket;
  reader.pause();
  const started = Date.now();
  const slowRead = setInterval(() => {
    for (let got = 0; got < 1 << 20;) {
      const chunk = reader.read() as Buffer | null;
      if (chunk === null) break;
      got += chunk.length; // read() hands the chunk to the 'data' listeners too
    }
  }, 2);
  try {
    back.send('REGISTER service=returning;version=1');
    await back.next('READY');
    // Sent while the cached ones are still going out: they come after them.
    for (let i = 1000; i < 1005; i++) sender.send(`returning/DATA n=${i}`);
    await waitFor(() => back.received.filter((m) => m.command === 'DATA').length === 1005, {
      what: '1,005 messages',
      timeoutMs: 30_000,
    });
  } finally {
    clearInterval(slowRead);
  }
  const ns = back.received.filter((m) => m.command === 'DATA').map((m) => Number(m.params.n));
  figure('cache-flush', { delivered: ns.length, dropped: hub.router.counters.dropped, ms: Date.now() - started });
  assert.deepEqual(ns, [...Array(1005).keys()], 'in order, none missing, the new ones after the cached ones');
  assert.equal(hub.router.counters.dropped, 0);
});

void test('fairness: 3,000 pipelined LIST_SERVICES over 10,000 remembered names do not stall a bystander', async () => {
  const { hub, port } = await startHub();
  // 10,000 names that registered and left, from in-process connections (max_names_per_connection each).
  await rememberNames(hub, 'name', 10_000);
  await waitFor(() => [...hub.services.all()].length >= 10_000, {
    what: `10,000 names (got ${[...hub.services.all()].length})`,
  });
  const bystander = await Bystander.start(port, 'bystander');
  clients.push(bystander.client);
  // The attacker reads every answer as fast as it can, from its own process (as it would).
  const replyBytes = await attackFromProcess(port, 'LIST_SERVICES\n'.repeat(3000), 1500);
  const seen = await bystander.stop();
  figure('list-services-flood', {
    bystanderMaxMs: seen.maxMs,
    bystanderP50Ms: seen.p50Ms,
    pings: seen.count,
    attackerReadMb: replyBytes / 1e6,
  });
  assert.ok(seen.maxMs < 1000, `a bystander waited ${seen.maxMs} ms`);
});

void test('registry: one connection cannot grow the registry past max_names_per_connection', async () => {
  const { hub, port } = await startHub({ maxNamesPerConnection: 20 });
  const c = await client(port);
  for (let i = 0; i < 25; i++) c.send(`REGISTER service=churn_${i};version=1\nUNREGISTER`);
  const refused = await c.next((m) => m.command === 'INVALID' && /names/.test(String(m.params.message)));
  figure('registry-growth', { namesKept: [...hub.services.all()].length, limit: 20 });
  assert.match(
    String(refused.params.message),
    /already added 20 new service names to the hub \(max_names_per_connection\)/,
  );
  assert.equal(hub.services.get('churn_20'), undefined);
  // A name it registered before is not new: it may come back to it.
  c.send('REGISTER service=churn_3;version=1');
  await c.next('READY');
});

void test('idle connections: silent sockets that fill max_connections are closed after first_message_timeout', async () => {
  const { hub, port } = await startHub({ maxConnections: 5, firstMessageTimeout: 400 });
  const silent: Socket[] = [];
  const told: string[] = [];
  for (let i = 0; i < 5; i++) {
    const s = netConnect(port, '127.0.0.1');
    sockets.push(s);
    silent.push(s);
    s.setEncoding('utf8');
    s.on('data', (d: string) => told.push(d));
    s.on('error', () => undefined);
  }
  await waitFor(() => hub.connectionCount >= 5, { what: 'five connections' });
  const started = Date.now();
  const registered = await waitFor(
    async () => {
      const c = await LineClient.connect(port);
      c.send('REGISTER service=late;version=1');
      const got = await c.next((m) => m.command === 'READY' || m.command === 'INVALID');
      if (got.command === 'READY') return c;
      c.close();
      return undefined;
    },
    { what: 'a REGISTER to find a free slot', timeoutMs: 5000, intervalMs: 100 },
  );
  clients.push(registered);
  figure('idle-connections', { msUntilSlot: Date.now() - started, timeoutMs: 400 });
  assert.ok(
    told.some((t) => /first_message_timeout/.test(t)),
    `the silent ones were told why: ${told.join('|')}`,
  );
});

void test('idle connections: at max_connections, one that sent a line and went quiet gives its slot to a newcomer; services and sniffers keep theirs', async () => {
  const { hub, port } = await startHub({ maxConnections: 5 });
  const services = [await LineClient.register(port, 'keeper_1'), await LineClient.register(port, 'keeper_2')];
  const sniffer = await LineClient.connect(port);
  const token = 'sbd_adversarial_sniffer_token_0123456789';
  hub.trust.addAdminToken(token);
  await sniffer.auth(token);
  sniffer.send('SNIFF');
  await sniffer.next('SNIFFING');
  const quiet: LineClient[] = [];
  for (let i = 0; i < 2; i++) {
    const q = await LineClient.connect(port);
    q.send('HELP');
    await q.next(() => true);
    quiet.push(q);
  }
  clients.push(...services, sniffer, ...quiet);
  assert.equal(hub.connectionCount, 5);
  /** Retries until a REGISTER gets READY (a slot is free once a quiet one has been quiet for 1 s). */
  const newcomer = (name: string) =>
    waitFor(
      async () => {
        const c = await LineClient.connect(port);
        c.send(`REGISTER service=${name};version=1`);
        const got = await c.next((m) => m.command === 'READY' || m.command === 'INVALID');
        if (got.command === 'READY') return c;
        c.close();
        return undefined;
      },
      { what: `a slot for ${name}`, timeoutMs: 5000, intervalMs: 100 },
    );
  const told = (c: LineClient) =>
    c.received.some((m) => m.command === 'INVALID' && /max_connections/.test(String(m.params.message)));
  const first = await newcomer('newcomer_1');
  clients.push(first);
  await waitFor(() => quiet.filter(told).length === 1, { what: 'one quiet connection told why' });
  const second = await newcomer('newcomer_2');
  clients.push(second);
  await Promise.all(quiet.map((q) => q.closed));
  assert.ok(quiet.every(told), 'both quiet ones were told why, then closed');
  assert.ok(![...services, sniffer].some(told), 'services and the sniffer kept their slots');
  assert.equal(hub.faults.evictedConnections, 2);
  // All five slots now hold services or a sniffer: the next newcomer is refused, and told so.
  const refused = await LineClient.connect(port);
  clients.push(refused);
  const answer = await refused.next('INVALID');
  assert.match(String(answer.params.message), /max_connections \(5\): connection refused/);
});

void test('/api/live: a client that never reads is dropped with a reason; the hub does not hold its frames', async () => {
  const { hub } = await startHub();
  const logLines: string[] = [];
  const { server, token, close } = await startDashboard(hub, logLines);
  try {
    await rememberNames(hub, 'known', 3000);
    const ws = await neverReadingWebSocket(`${server.url.replace('http', 'ws')}/api/live?token=${token}`);
    sockets.push(ws);
    const dropLine = () => logLines.find((l) => /live client did not read/.test(l));
    let droppedAt = 0;
    const before = heldMb();
    const started = Date.now();
    // Registry churn: names that register and leave, each change a services frame (3,000 names) to every live client.
    const filler = hub.connectInProcess('churn');
    let cycles = 0;
    while (Date.now() - started < 4000 && (droppedAt === 0 || Date.now() - droppedAt < 300)) {
      for (let i = 0; i < 40; i++, cycles++) {
        filler.send(`REGISTER service=live_${cycles % 50};version=1`);
        filler.send('UNREGISTER');
      }
      await new Promise((r) => setTimeout(r, 10));
      if (droppedAt === 0 && dropLine()) droppedAt = Date.now();
    }
    const held = heldMb() - before;
    figure('live-non-reader', { cycles, heldMb: held, droppedAfterMs: droppedAt ? droppedAt - started : -1 });
    assert.ok(droppedAt !== 0, 'the non-reading live client was dropped');
    assert.match(dropLine()!, /bytes waiting \(limit 1048576\); dropped/);
    assert.ok(held < 8, `the dashboard holds ${held} MB for a client that does not read`);
    // What the client finds when it reads at last: what was queued, then the end.
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.resume();
    await closed;
  } finally {
    await close();
  }
});

void test('HTTP: garbage to every dashboard route (paths, queries, bodies, methods) gets a 4xx with a sentence, never a 5xx', async () => {
  const { hub } = await startHub();
  const { server, token, close } = await startDashboard(hub);
  const routes = [
    'services',
    'cluster',
    'connectors/:p',
    'connectors/:p/update',
    'examples',
    'accounts/:p',
    'accounts/:p/schedule',
    'accounts/:p/reset-state',
    'sync/:p',
    'runs',
    'data',
    'data/:p/note',
    'triggers/:p',
    'triggers/:p/enabled',
    'executions',
    'executions/:p/replay',
    'dead-letters',
    'dead-letters/replay',
    'no/such/route',
  ];
  const segments = ['x', '%ZZ', '..%2F..%2Fetc', 'a'.repeat(3000), '%E2%82'];
  const bodies = [
    '',
    '{',
    'null',
    '[]',
    '{"name":5,"connector":[],"options":{"a":{"b":1}},"schedule":7,"enabled":"yes","notes":{}}',
    'z'.repeat(1_100_000),
  ];
  const queries = [
    '?page=-1&page_size=99999999',
    '?page=abc&order=;drop&asc=maybe',
    `?search=${'s'.repeat(5000)}&status=%ZZ`,
  ];
  const bad: string[] = [];
  let requests = 0;
  const ask = async (method: string, path: string, body?: string) => {
    requests++;
    const res = await fetch(`${server.url}/api/${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body }),
    });
    const text = await res.text();
    if (res.status >= 500 || (res.status < 400 && method !== 'GET'))
      bad.push(`${res.status} ${method} /api/${path.slice(0, 50)} ${(body ?? '').slice(0, 30)}: ${text.slice(0, 150)}`);
    else if (res.status >= 400 && !/"message":"[^"]{10,}/.test(text))
      bad.push(`${res.status} without a sentence: ${method} /api/${path.slice(0, 50)}`);
  };
  for (const route of routes)
    for (const segment of route.includes(':') ? segments : ['']) {
      const path = route.replace(':p', segment);
      for (const q of queries) await ask('GET', path + q);
      for (const method of ['POST', 'PUT', 'PATCH']) for (const body of bodies) await ask(method, path, body);
      await ask('DELETE', path);
    }
  await close();
  figure('http-garbage', { requests, fiveHundreds: bad.filter((b) => b.startsWith('5')).length });
  assert.deepEqual(bad, []);
});

void test('log floods: refused datagrams and bad notices log one line per cause per interval, with a count', async () => {
  const lines: string[] = [];
  const { hub, port } = await startHub({ signalSecret: 'sesame' }, lines);
  const udp = hubPort(hub, 'signal');
  // From one socket: wrong secrets, commands UDP does not take, oversized datagrams.
  const socket = createSocket('udp4');
  for (let i = 0; i < 1500; i++) {
    const kind = i % 3;
    const text =
      kind === 0
        ? 'x/PING secret_code=wrong'
        : kind === 1
          ? 'REGISTER service=u;secret_code=sesame'
          : `x/PING secret_code=sesame;d=${'y'.repeat(1100)}`;
    await new Promise((r) => socket.send(text, udp, '127.0.0.1', r));
    // Paced a little, so the kernel's socket buffer does not drop most of the burst before the hub reads it.
    if (i % 25 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  socket.close();
  const noisy = await client(port);
  for (let i = 0; i < 1000; i++) noisy.send(`INVALID message=complaint_${i}`);
  noisy.send('HELP');
  await noisy.next('COMMANDS');
  // Datagrams the kernel dropped (the burst outran the socket buffer) never reached the hub: wait until the count settles.
  let seen = -1;
  await waitFor(
    () => {
      const now = hub.faults.refusedSignals;
      const settled = now === seen && now > 0;
      seen = now;
      return settled;
    },
    { what: 'the datagrams to be refused', intervalMs: 200 },
  );
  const refusedLines = lines.filter((l) => /signal|datagram|UDP|reported a problem/.test(l));
  figure('log-flood', {
    datagrams: 1500,
    notices: 1000,
    refused: hub.faults.refusedSignals,
    logLines: refusedLines.length,
  });
  assert.ok(
    refusedLines.length <= 12,
    `${refusedLines.length} log lines for 2,500 refusals:\n${refusedLines.slice(0, 5).join('\n')}`,
  );
});

const NOTE_TOKEN = 'sbt_adversarial_note_token_0123456789';

void test('log floods: 500 malformed NOTE requests to the sync service: each refused with the reason, one log line', async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./test/sync-child.ts', import.meta.url))],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SWITCHBOARD_LOG_LEVEL: 'info', SWITCHBOARD_LOG_JSON: '1', SYNC_CHILD_TOKEN: NOTE_TOKEN },
    },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      child.once('exit', (code) => reject(new Error(`the sync child exited with ${code}: ${stderr}`)));
    });
    const c = await client(port);
    c.send(`AUTH token=${NOTE_TOKEN}`);
    c.send('REGISTER service=noter;version=1');
    await c.next('READY');
    // Requests (a correlation id): the service answers each with ERROR and the reason.
    for (let i = 0; i < 500; i++) c.send(`sync/NOTE notes=${i};correlation_id=n${i}`);
    await waitFor(() => c.received.filter((m) => m.command === 'ERROR').length === 500, {
      what: '500 refusals',
      timeoutMs: 20_000,
    });
    assert.match(String(c.received.find((m) => m.command === 'ERROR')!.params.message), /NOTE: id/);
    // Let the log catch up (pino writes asynchronously), then count.
    await new Promise((r) => setTimeout(r, 300));
    const lines = stderr.split('\n').filter((l) => /invalid parameters|handler threw/.test(l));
    figure('log-flood-note', { refused: 500, logLines: lines.length });
    assert.ok(lines.length <= 2, `${lines.length} log lines for 500 bad NOTEs`);
  } finally {
    child.kill();
  }
});

void test('fuzz: abusive clients for a few seconds; the bystander loses nothing and the hub stays within bounds', async () => {
  const { hub, port } = await startHub({ maxConnections: 100, firstMessageTimeout: 1000 });
  const before = heldMb();
  // `npm run fuzz` runs this for FUZZ_SECONDS (300); FUZZ_SEED replays a run that failed.
  const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
  const report = await fuzzHub(port, Number(process.env.FUZZ_SECONDS ?? 4), seed);
  const held = heldMb() - before;
  figure('fuzz', { ...report, heldMb: held, hubRunning: hub.state });
  assert.equal(hub.state, 'running');
  assert.ok(held < 100, `the hub holds ${held} MB more after the fuzz run`);
});
