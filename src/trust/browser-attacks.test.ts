/**
 * Issue 12's attacks from a browser and from another user of the machine, on a real
 * `switchboard start` (hub, sync, dispatcher, dashboard; plus the WebSocket listener):
 * - a page served on another origin (headless Chromium) tries to stop the hub over TCP
 *   (`fetch` no-cors POST 'STOP\n') and over the WebSocket listener, and to call the dashboard's
 *   API (list connectors; install one whose install_command would run as the hub's user);
 * - user `nobody` (`runuser -u nobody`) runs the CLI and a plain Node script against the same
 *   hub: STOP, becoming sync#2, SNIFF, the owner's Unix socket, the owner's hub.token, the
 *   dashboard's write API. Skipped with the reason when this process is not root (outside CI).
 * Each gets its refusal and the hub keeps running with nothing installed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, needChromium, tempDir, waitFor } from '../core/test/support.js';
import { startWithDashboard, type Running } from '../dashboard/test/harness.js';

let running: Running;
let context: BrowserContext | undefined;
let cleanupProfile: (() => Promise<void>) | undefined;
let cleanupHome: (() => Promise<void>) | undefined;
let evil: Server;
let evilOrigin: string;
/** What an install_command of the attacker's connector would create: it must never exist. */
const marker = join(mkdtempSync(join(tmpdir(), 'sb-pwned-')), 'pwned');

function address(kind: string): string {
  return running.hub.addresses.find((a) => a.kind === kind)!.url;
}

const hubPort = (): number => Number(new URL(address('local').replace('cd:', 'http:')).port);

const evilManifest = JSON.stringify({
  name: 'evil',
  source: 'Local',
  uri: '/etc/hostname',
  command: 'true',
  install_command: `touch ${marker}`,
});

/** The attacker's page: everything a page of another site can try, results in `window.attack`. */
function attackPage(): string {
  const targets = {
    hub: `http://127.0.0.1:${hubPort()}/`,
    ws: address('ws'),
    dashboard: running.url,
    manifest: evilManifest,
  };
  return `<!doctype html><title>innocent page</title><script>
const t = ${JSON.stringify(targets)};
window.attack = (async () => {
  const r = {};
  try {
    await fetch(t.hub, { method: 'POST', mode: 'no-cors', body: 'STOP\\nsync/SYNC accounts=crm\\n' });
    r.tcp = 'answered';
  } catch (e) { r.tcp = 'failed: ' + e.message; }
  r.ws = await new Promise((resolve) => {
    const ws = new WebSocket(t.ws);
    ws.onopen = () => { ws.send('STOP'); ws.send('REGISTER service=spy;version=1'); resolve('open'); };
    ws.onerror = () => resolve('refused');
    setTimeout(() => resolve('timeout'), 5000);
  });
  try {
    const res = await fetch(t.dashboard + '/api/connectors');
    r.list = res.status;
  } catch (e) { r.list = 'failed: ' + e.message; }
  try {
    const res = await fetch(t.dashboard + '/api/connectors', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ manifest: t.manifest }) });
    r.install = res.status;
  } catch (e) { r.install = 'failed: ' + e.message; }
  try {
    // A "simple" request needs no preflight: it reaches the server even though the page cannot read the answer.
    await fetch(t.dashboard + '/api/connectors', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ manifest: t.manifest }) });
    r.simple = 'sent';
  } catch (e) { r.simple = 'failed: ' + e.message; }
  return r;
})();
</script>`;
}

before(async () => {
  const home = await tempDir('sb-browser-attacks-');
  running = await startWithDashboard({
    flags: { wsListen: 'ws://127.0.0.1:0/', unixListen: `cd://${join(home.path, 'hub.sock')}` },
  });
  cleanupHome = home.cleanup;
  // Another origin: a different loopback address is a different site to the browser.
  evil = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(attackPage());
  });
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.2', resolve));
  evilOrigin = `http://127.0.0.2:${(evil.address() as AddressInfo).port}`;
  if (!existsSync(CHROMIUM)) return;
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
  evil?.close();
  await running?.stop();
  await cleanupHome?.();
  rmSync(join(marker, '..'), { recursive: true, force: true });
  delete process.env.SWITCHBOARD_HTTP;
});

async function connectors(): Promise<string[]> {
  const res = await fetch(`${running.url}/api/connectors`, { headers: running.headers });
  const body = (await res.json()) as { connectors?: { name: string }[] } | { name: string }[];
  const list = Array.isArray(body) ? body : (body.connectors ?? []);
  return list.map((c) => c.name);
}

void test('a page on another origin cannot stop the hub (TCP, WebSocket) nor call the dashboard API', async (t) => {
  if (!needChromium(t)) return;
  const before = Object.fromEntries(running.hub.refusals.totals());
  const page = await context!.newPage();
  await page.goto(`${evilOrigin}/`);
  const r = (await page.evaluate('window.attack')) as Record<string, string | number>;
  t.diagnostic(`what the page got: ${JSON.stringify(r)}`);
  await page.close();
  assert.match(String(r.tcp), /^failed/, 'the hub closed the HTTP request unanswered');
  assert.equal(r.ws, 'refused', 'the WebSocket handshake of another site is refused');
  assert.match(String(r.list), /^failed/, 'no CORS answer: the page reads nothing');
  assert.match(String(r.install), /^failed/);
  const after = Object.fromEntries(running.hub.refusals.totals());
  assert.ok((after.http ?? 0) > (before.http ?? 0), 'the cross-protocol attempt is counted');
  assert.ok((after.origin ?? 0) >= (before.origin ?? 0) + 2, 'the WebSocket and dashboard refusals are counted');
  assert.equal(running.hub.state, 'running');
  assert.ok(!(await connectors()).includes('evil'), 'nothing was installed');
  assert.equal(existsSync(marker), false);
});

/** Runs `args` as user nobody (asynchronously: the hub under attack runs in this process). */
function asNobody(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('runuser', [
      '-u',
      'nobody',
      '--',
      'env',
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      ...args,
    ]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

void test('a second local user (nobody) cannot stop, impersonate, sniff or write, by CLI or by hand', async (t) => {
  if (process.getuid?.() !== 0) {
    if (process.env.CI === 'true') throw new Error('CI=true: this test runs as root to switch to user nobody');
    t.skip('not root: cannot run a client as user nobody (runuser)');
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'sb-nobody-'));
  chmodSync(work, 0o755);
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const script = join(work, 'attack.mjs');
  writeFileSync(
    script,
    `import net from 'node:net';
import { readFileSync } from 'node:fs';
const [port, sock, tokenFile, dashboard, manifest] = process.argv.slice(2);
const out = {};
out.tcp = await new Promise((resolve) => {
  const s = net.connect(Number(port), '127.0.0.1');
  let got = '';
  s.on('data', (d) => { got += d; if (got.split('\\n').filter((l) => l.includes('INVALID')).length >= 3) { s.destroy(); resolve(got); } });
  s.on('connect', () => s.write('STOP\\nREGISTER service=sync;version=1;instance=true\\nSNIFF\\n'));
  s.on('error', (e) => resolve('error ' + e.code));
  setTimeout(() => { s.destroy(); resolve(got); }, 10000);
});
out.unix = await new Promise((resolve) => {
  const s = net.connect(sock);
  s.on('connect', () => { s.destroy(); resolve('connected'); });
  s.on('error', (e) => resolve(e.code));
});
try { readFileSync(tokenFile); out.token = 'read'; } catch (e) { out.token = e.code; }
const res = await fetch(dashboard + '/api/connectors', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ manifest }) });
out.dashboard = res.status;
console.log(JSON.stringify(out));
`,
  );
  chmodSync(script, 0o644);
  const sock = address('unix').replace('cd://', '');
  const byHand = await asNobody(
    [process.execPath, script, String(hubPort()), sock, join(running.home, 'hub.token'), running.url, evilManifest],
    { HOME: work },
  );
  assert.equal(byHand.status, 0, byHand.stderr);
  const out = JSON.parse(byHand.stdout) as Record<string, string | number>;
  t.diagnostic(JSON.stringify(out));
  assert.match(String(out.tcp), /INVALID command=STOP;message=.*may not use STOP/);
  assert.match(String(out.tcp), /INVALID command=REGISTER;message=.*service name \\"sync\\" is reserved/);
  assert.match(String(out.tcp), /INVALID command=SNIFF;message=.*may not use SNIFF/);
  assert.equal(out.unix, 'EACCES', "the owner's Unix socket is closed to other users");
  assert.equal(out.token, 'EACCES', "the owner's hub.token is closed to other users");
  assert.equal(out.dashboard, 401, 'the dashboard wants a token, even on loopback');

  // The CLI, as nobody: it finds no token of this hub, so STOP is refused with the sentence.
  const bin = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));
  const cli = await asNobody(
    [process.execPath, bin, 'send', '--address', address('local'), '--wait', '--timeout', '20000', 'STOP'],
    { HOME: work, SWITCHBOARD_FROM_SOURCE: '1', SWITCHBOARD_LOG_LEVEL: 'error' },
  );
  t.diagnostic(cli.stderr.trim());
  assert.notEqual(cli.status, 0);
  assert.match(cli.stderr, /may not use STOP: roles\.local\.commands does not name it/);

  await waitFor(() => running.hub.state === 'running', { what: 'the hub still running' });
  assert.equal(running.hub.services.get('sync')?.instances.length, 1, 'sync has only its own instance');
  assert.ok(!(await connectors()).includes('evil'));
  assert.equal(existsSync(marker), false);
});
