/** Mutual TLS on the hub's own TLS listener (`--secure-listen` with `--client-ca`). */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Channel } from '../core/channel.js';
import { decodeLine } from '../core/codec/index.js';
import { connect as connectClient } from '../client/index.js';
import { connect } from '../core/transports/index.js';
import type { ConnectOptions } from '../core/transports/options.js';
import { makeTestPki, type TestPki } from '../core/test/certs.js';
import { loadConfig } from './config.js';
import type { Hub } from './hub.js';
import { startTestHub } from './test/support.js';

let hub: Hub;
let pki: TestPki;
let foreign: TestPki;

before(async () => {
  pki = makeTestPki();
  foreign = makeTestPki();
  hub = await startTestHub({
    secureListen: 'cds://127.0.0.1:0',
    certificate: pki.certificate,
    privateKey: pki.privateKey,
    clientCa: pki.ca,
  });
});

after(async () => {
  await hub.stop('tests done');
  pki.cleanup();
  foreign.cleanup();
});

function secureUrl(): string {
  return hub.addresses.find((a) => a.kind === 'secure')!.url;
}

/** Connects and registers; resolves with READY, or with why it could not. */
async function tryRegister(options: ConnectOptions): Promise<string> {
  let ch: Channel;
  try {
    ch = await connect(secureUrl(), options);
  } catch (err) {
    return `refused: ${(err as Error).message}`;
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      ch.close();
      resolve('no answer');
    }, 5000);
    ch.on('frame', (f) => {
      if (decodeLine(f).command !== 'READY') return; // the hub's HELP greeting comes first
      clearTimeout(timer);
      resolve('READY');
      ch.close();
    });
    ch.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
    ch.send('REGISTER service=mtls_probe');
  });
}

void test('a client with a certificate the client CA signed registers', async () => {
  assert.equal(await tryRegister({ ca: pki.ca, certificate: pki.certificate, privateKey: pki.privateKey }), 'READY');
});

void test('a client without a certificate, or with one from another CA, is cut off before it can say anything', async () => {
  assert.notEqual(await tryRegister({ ca: pki.ca }), 'READY');
  assert.notEqual(
    await tryRegister({ ca: pki.ca, certificate: foreign.certificate, privateKey: foreign.privateKey }),
    'READY',
  );
  const stats = hub.addresses.find((a) => a.kind === 'secure');
  assert.ok(stats, 'the TLS listener is still up');
  assert.equal(
    await tryRegister({ ca: pki.ca, certificate: pki.certificate, privateKey: pki.privateKey }),
    'READY',
    'and still serves good clients',
  );
});

void test('the client library passes its certificate through `channel`', async () => {
  const client = await connectClient(secureUrl(), {
    reconnect: false,
    channel: { ca: pki.ca, certificate: pki.certificate, privateKey: pki.privateKey },
  });
  try {
    await client.register('mtls_client');
    const reply = await client.listServices();
    assert.ok(reply.some((s) => s.name === 'mtls_client'));
  } finally {
    client.dispose();
  }
});

void test('client_ca without secure_listen is a configuration error that says what to add', () => {
  assert.throws(
    () => loadConfig({ env: {}, flags: { clientCa: pki.ca, localListen: 'cd://127.0.0.1:0' } }),
    /client_ca .* applies to the TLS listener: add --secure-listen/,
  );
});
