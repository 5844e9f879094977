/** `switchboard send` and `switchboard sniff` as a user runs them: child processes against a real hub. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { waitFor } from '../core/test/support.js';
import type { Message } from '../core/message.js';
import { connect, type SwitchboardClient } from '../client/index.js';
import { TestHub } from '../client/test/hub.js';
import { PassThrough } from 'node:stream';
import { hubAddressFrom, parseAddress } from '../core/address.js';
import { parseSendOptions } from './options.js';
import { runSend } from './send.js';
import { makeTestPki } from '../core/test/certs.js';
import { LineClient, hubPort, startTestHub } from '../hub/test/support.js';

const BIN = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));
let hub: TestHub;
let echo: SwitchboardClient;
const got: Message[] = [];
const children: ChildProcess[] = [];

function cli(
  args: string[],
  stdin?: string,
  env: Record<string, string | undefined> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const vars: NodeJS.ProcessEnv = {
      ...process.env,
      SWITCHBOARD_FROM_SOURCE: '1',
      SWITCHBOARD_LOG_LEVEL: 'warn',
      SWITCHBOARD_ADDRESS: hub.url,
      ...env,
    };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete vars[k];
    const child = spawn(process.execPath, [BIN, ...args], { env: vars });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    if (stdin !== undefined) child.stdin.end(stdin);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

before(async () => {
  hub = await TestHub.start();
  echo = await connect(hub.url, { reconnect: false });
  echo.on('ECHO', (m) => ({ command: 'ECHOED', params: { text: m.params.text ?? '' } }));
  echo.on('NOTE', (m) => {
    got.push(m);
  });
  await echo.register('echo', { commands: ['ECHO', 'NOTE'] });
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  echo.dispose();
  await hub.dispose();
});

void test('send delivers one message; --wait prints the reply (text and --json)', async () => {
  const one = await cli(['send', 'echo/NOTE text=hello;n=1']);
  assert.equal(one.code, 0, one.stderr);
  await waitFor(() => got.some((m) => m.params.text === 'hello'), { what: 'NOTE at echo' });

  const waited = await cli(['send', '--wait', '--timeout', '5000', 'echo/ECHO text=hi there']);
  assert.equal(waited.code, 0, waited.stderr);
  assert.match(waited.stdout, /ECHOED text=hi there/);

  const hubReply = await cli(['send', '--wait', 'SERVICE_STATUS service=echo']);
  assert.equal(hubReply.code, 0, hubReply.stderr);
  assert.match(hubReply.stdout, /STATUS .*service=echo;status=up/, 'a hub reply without correlation_id is printed too');

  const json = await cli(['send', '--wait', '--json', '{"service":"echo","command":"ECHO","parameters":{"text":"j"}}']);
  assert.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout.trim()) as { command: string; parameters: Record<string, unknown> };
  assert.equal(parsed.command, 'ECHOED');
  assert.equal(parsed.parameters.text, 'j');
});

void test('bad input gets a sentence and exit code 1', async () => {
  const bad = await cli(['send', 'echo/lower x=1']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /switchboard: INVALID_ARGUMENT: cannot read the message .*service\/COMMAND/);
  const timeout = await cli(['send', '--timeout', 'soon', 'echo/ECHO']);
  assert.equal(timeout.code, 1);
  assert.match(timeout.stderr, /--timeout must be a whole number of milliseconds/);
  const address = await cli(['sniff', '--address', 'http://127.0.0.1:1']);
  assert.equal(address.code, 1);
  assert.match(address.stderr, /switchboard: [A-Z_]+: .*http/);
  const command = await cli(['sniff', '--command', 'status']);
  assert.equal(command.code, 1);
  assert.match(command.stderr, /--command a command is upper case/);
  const silent = await cli(['send', '--wait', '--timeout', '300', 'echo/NOTE text=no-reply']);
  assert.equal(silent.code, 1);
  assert.match(silent.stderr, /TIMEOUT: no reply from echo to NOTE within 300 ms/);
});

void test('the interactive console sends typed lines and answers /help and /quit', async () => {
  const r = await cli(['send'], '/help\necho/NOTE text=from-console\n/disconnect\necho/NOTE text=lost\n/quit\n');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\/connect \[URL\]/);
  assert.match(r.stdout, /> sent/);
  assert.match(r.stdout, /not connected: use \/connect URL/);
  await waitFor(() => got.some((m) => m.params.text === 'from-console'), { what: 'console NOTE at echo' });
  assert.ok(!got.some((m) => m.params.text === 'lost'));
});

void test('sniff prints every routed message live, filtered, as JSON lines', async () => {
  // The hub's home: sniff finds the admin token (hub.token) there by itself, as it does for the user who started the hub.
  const child = spawn(process.execPath, [BIN, 'sniff', '--service', 'echo', '--json'], {
    env: {
      ...process.env,
      SWITCHBOARD_FROM_SOURCE: '1',
      SWITCHBOARD_LOG_LEVEL: 'warn',
      SWITCHBOARD_ADDRESS: hub.url,
      SWITCHBOARD_HOME: hub.home,
    },
  });
  children.push(child);
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  await waitFor(() => /sniffing/.test(stderr), { what: `sniff to start (stderr: ${stderr})`, timeoutMs: 20_000 });
  const sender = await connect(hub.url, { reconnect: false });
  try {
    await sender.register('sniffed_sender');
    sender.send({ command: 'NOTE', to: 'echo', params: { text: 'tap' } });
    sender.send({ command: 'OTHER', to: 'sniffed_sender' });
    await waitFor(() => lines.some((l) => l.includes('"tap"')), { what: 'the NOTE in the sniff output' });
    type Sniffed = {
      outcome: string;
      at: number;
      delivered_to?: string[];
      message: { command: string; service: string; 'sent-from-service': string; parameters: Record<string, unknown> };
    };
    const seen = lines.map((l) => JSON.parse(l) as Sniffed);
    const note = seen.find((s) => s.message.command === 'NOTE')!;
    assert.equal(note.outcome, 'delivered');
    assert.equal(note.message.service, 'echo');
    assert.equal(note.message['sent-from-service'], 'sniffed_sender');
    assert.equal(note.message.parameters.text, 'tap');
    assert.ok(note.at > 0 && note.delivered_to?.length === 1);
    assert.ok(!seen.some((s) => s.message.command === 'OTHER'), 'the --service filter keeps other traffic out');
  } finally {
    sender.dispose();
    child.kill('SIGTERM');
  }
});

void test("the communicator's habits: --communicator-listen, bare ip:port, -c/--secret, --ca, SWITCHBOARD_CA", async () => {
  // Spawned only where the flags themselves are under test; the rest runs in-process (a CLI
  // start costs seconds on a loaded machine).
  const port = parseAddress(hub.url).port;
  const viaFlag = await cli(['send', '--communicator-listen', `127.0.0.1:${port}`, 'echo/NOTE text=flag'], undefined, {
    SWITCHBOARD_ADDRESS: 'cd://127.0.0.1:1',
  });
  assert.equal(viaFlag.code, 0, viaFlag.stderr);
  await waitFor(() => got.some((m) => m.params.text === 'flag'), { what: 'the NOTE at echo' });
  assert.equal(hubAddressFrom(undefined, { COMMUNICATOR_LISTEN: `127.0.0.1:${port}` }), `cd://127.0.0.1:${port}`);
  assert.equal(
    hubAddressFrom(undefined, { SWITCHBOARD_ADDRESS: 'cd://127.0.0.1:1', COMMUNICATOR_LISTEN: '127.0.0.1:2' }),
    'cd://127.0.0.1:1',
    'SWITCHBOARD_ADDRESS first',
  );

  // A hub with a signal secret and a TLS listener whose certificate a private CA signed.
  const pki = makeTestPki();
  const secured = await startTestHub({
    signalSecret: 's3cret',
    secureListen: 'cds://127.0.0.1:0',
    certificate: pki.certificate,
    privateKey: pki.privateKey,
  });
  const savedCa = process.env.SWITCHBOARD_CA;
  try {
    const box = await LineClient.register(hubPort(secured), 'box');
    const udp = `cdu://127.0.0.1:${hubPort(secured, 'signal')}`;
    const quiet = new PassThrough();
    await runSend('box/PING n=1', parseSendOptions({ timeout: '5000', address: udp }, {}), quiet, quiet);
    assert.equal((await cli(['send', '-a', udp, '-c', 's3cret', 'box/PING n=2'])).code, 0);
    const fromEnv = parseSendOptions({ timeout: '5000', address: udp }, { SWITCHBOARD_SIGNAL_SECRET: 's3cret' });
    await runSend('box/PING n=3', fromEnv, quiet, quiet);
    const pings = [await box.next('PING'), await box.next('PING')];
    assert.deepEqual(pings.map((m) => m.params.n).sort(), ['2', '3'], 'the datagram without the secret is dropped');
    assert.ok(
      pings.every((m) => m.params.secret_code === undefined),
      'the hub strips secret_code',
    );

    const tls = secured.addresses.find((a) => a.kind === 'secure')!.url;
    delete process.env.SWITCHBOARD_CA;
    const ask = (ca?: string) => {
      const out = new PassThrough();
      let text = '';
      out.on('data', (d: Buffer) => (text += d.toString()));
      return runSend(
        'SERVICE_STATUS service=box',
        parseSendOptions({ timeout: '5000', address: tls, wait: true, ...(ca ? { ca } : {}) }, {}),
        out,
        out,
      ).then(() => text);
    };
    await assert.rejects(ask(), 'the system CAs do not know the hub');
    assert.match(await ask(pki.ca), /STATUS .*service=box;status=up/, '--ca');
    process.env.SWITCHBOARD_CA = pki.ca;
    assert.match(await ask(), /STATUS .*service=box;status=up/, 'SWITCHBOARD_CA');
    process.env.SWITCHBOARD_CA = '/nonexistent/ca.pem';
    await assert.rejects(ask(), /SWITCHBOARD_CA: cannot read the CA certificate file/);
    // A CLI verb that is not send: services, with the CA from the environment.
    const withEnv = await cli(['services', '--json', '--address', tls], undefined, { SWITCHBOARD_CA: pki.ca });
    assert.equal(withEnv.code, 0, withEnv.stderr);
    assert.ok((JSON.parse(withEnv.stdout) as { name: string }[]).some((s) => s.name === 'box'));
    box.close();
  } finally {
    if (savedCa === undefined) delete process.env.SWITCHBOARD_CA;
    else process.env.SWITCHBOARD_CA = savedCa;
    await secured.stop();
    pki.cleanup();
  }
});
