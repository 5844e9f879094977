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

const BIN = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));
let hub: TestHub;
let echo: SwitchboardClient;
const got: Message[] = [];
const children: ChildProcess[] = [];

function cli(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: {
        ...process.env,
        SWITCHBOARD_FROM_SOURCE: '1',
        SWITCHBOARD_LOG_LEVEL: 'warn',
        SWITCHBOARD_ADDRESS: hub.url,
      },
    });
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
  const child = spawn(process.execPath, [BIN, 'sniff', '--service', 'echo', '--json'], {
    env: { ...process.env, SWITCHBOARD_FROM_SOURCE: '1', SWITCHBOARD_LOG_LEVEL: 'warn', SWITCHBOARD_ADDRESS: hub.url },
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
