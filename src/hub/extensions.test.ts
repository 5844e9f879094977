/** runHub's extensions: an in-process service is reachable by name, extensions add hub commands, and they stop with the hub in reverse order. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { decodeLine, encodeText } from '../core/codec/index.js';
import { createMessage } from '../core/message.js';
import { tempDir, waitFor } from '../core/test/support.js';
import { loadConfig } from './config.js';
import type { HubExtension } from './context.js';
import type { Hub } from './hub.js';
import { runHub } from './run.js';
import { LineClient, hubPort } from './test/support.js';

const stopped: string[] = [];

const clock: HubExtension = {
  name: 'clock',
  async start(hub) {
    const ch = hub.connectInProcess('clock');
    ch.on('frame', (frame) => {
      const m = decodeLine(frame);
      if (m.command === 'HELP') ch.send('COMMANDS list=TIME');
      if (m.command === 'TIME')
        ch.send(encodeText(createMessage('TIME_IS', { zone: String(m.params.zone ?? 'UTC') }, m.sentFrom)));
    });
    ch.send('REGISTER service=clock;version=1');
    return {
      addresses: [{ name: 'clock', url: 'in-process' }],
      stop: async () => {
        stopped.push('clock');
        ch.close();
      },
    };
  },
};

const everywhere: HubExtension = {
  name: 'everywhere',
  async start(hub) {
    const remove = hub.addCommand('WHO_AM_I', (msg, reply) => reply('YOU_ARE', { service: msg.sentFrom.service }));
    assert.throws(() => hub.addCommand('REGISTER', () => undefined), /already handles REGISTER/);
    return {
      stop: async () => {
        remove();
        stopped.push('everywhere');
      },
    };
  },
};

const home = await tempDir();

after(async () => {
  await home.cleanup();
});

async function running(extensions: HubExtension[]): Promise<{ hub: Hub; done: Promise<string>; out: () => string }> {
  const config = loadConfig({
    env: {},
    flags: {
      serverName: 'ext',
      localListen: 'cd://127.0.0.1:0',
      signal: 'off',
      dataPath: home.path,
      tokenFile: `${home.path}/hub.token`,
    },
  });
  const sink = new PassThrough();
  let text = '';
  sink.on('data', (d: Buffer) => {
    text += d.toString();
  });
  let resolveHub!: (hub: Hub) => void;
  const started = new Promise<Hub>((r) => {
    resolveHub = r;
  });
  const done = runHub(config, { extensions, out: sink, onStarted: resolveHub });
  return { hub: await started, done, out: () => text };
}

void test('an in-process service answers by name, an added command answers its asker; both stop with the hub', async () => {
  const { hub, done, out } = await running([clock, everywhere]);
  assert.match(out(), /clock\s+in-process/);
  await waitFor(() => hub.services.get('clock')?.up, { what: 'the built-in clock to register' });
  const c = await LineClient.register(hubPort(hub), 'asker');
  c.send('clock/TIME zone=CET');
  const reply = await c.next('TIME_IS');
  assert.equal(reply.params.zone, 'CET');
  assert.deepEqual(reply.sentFrom, { server: 'ext', service: 'clock' });
  c.send('WHO_AM_I');
  assert.deepEqual((await c.next('YOU_ARE')).params, { service: 'asker' });
  c.send('HELP');
  assert.match(String((await c.next('COMMANDS')).params.list), /WHO_AM_I/);
  c.send('LIST_SERVICES');
  const list = JSON.parse(String((await c.next('SERVICES')).params.services)) as {
    name: string;
    instances: { kind: string; commands: string[] }[];
  }[];
  const inst = list.find((s) => s.name === 'clock')?.instances[0];
  assert.equal(inst?.kind, 'memory');
  assert.deepEqual(inst?.commands, ['TIME']);
  c.send(`AUTH token=${hub.adminToken}`);
  c.send('STOP');
  await c.next('DISCONNECTING');
  assert.match(await done, /STOP from/);
  assert.deepEqual(stopped.splice(0), ['everywhere', 'clock'], 'extensions stop in reverse order');
  c.close();
});

void test('an extension that fails to start stops the hub and the extensions already started', async () => {
  const failing: HubExtension = {
    name: 'failing',
    start: () => Promise.reject(new Error('no luck')),
  };
  const config = loadConfig({
    env: {},
    flags: { serverName: 'ext', localListen: 'cd://127.0.0.1:0', signal: 'off', dataPath: home.path },
  });
  await assert.rejects(runHub(config, { extensions: [everywhere, failing], out: new PassThrough() }), /no luck/);
  assert.deepEqual(stopped.splice(0), ['everywhere']);
});
