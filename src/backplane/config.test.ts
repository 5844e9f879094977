import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../hub/config.js';
import { tempDir } from '../core/test/support.js';
import { backplaneConfigFromHub } from './config.js';
import { parseTimings } from './timings.js';
import { HubState, readPayload } from './wire.js';

const env = { HOME: '/tmp/sb-test-home' };

void test('backplane URLs: a list of nats:// or tls:// servers, off by default', () => {
  assert.deepEqual(loadConfig({ env }).backplane, []);
  const c = loadConfig({ env, flags: { backplane: 'nats://10.0.0.5:4222,tls://nats.example:4222' } });
  assert.deepEqual(c.backplane, ['nats://10.0.0.5:4222', 'tls://nats.example:4222']);
  assert.equal(c.backplaneNamespace, 'switchboard');
  assert.equal(c.backplaneReplicas, 'auto');
  assert.throws(() => loadConfig({ env, flags: { backplane: 'http://h:4222' } }), /NATS server URLs such as nats:\/\//);
  assert.throws(() => loadConfig({ env, flags: { backplaneReplicas: '9' } }), /backplane_replicas/);
  assert.throws(() => loadConfig({ env, flags: { backplaneNamespace: 'a.b' } }), /backplane_namespace must be/);
});

void test('credentials never in the URL, and the refusal does not quote them', () => {
  for (const url of ['nats://alice:s3cret@h:4222', 'nats://t0ken@h:4222']) {
    assert.throws(
      () => loadConfig({ env, flags: { backplane: url } }),
      (err: Error) =>
        /must not carry credentials/.test(err.message) &&
        !err.message.includes('s3cret') &&
        !err.message.includes('t0ken'),
    );
  }
});

void test('the backplane and the mesh are alternatives: a configuration with both is refused with a sentence', () => {
  assert.throws(
    () => loadConfig({ env, flags: { backplane: 'nats://h:4222', remoteListen: 'cd://10.0.0.5:4042' } }),
    /backplane and the hub mesh are alternatives.*remove remote_listen/,
  );
  assert.throws(
    () => loadConfig({ env, flags: { backplane: 'nats://h:4222', neighbors: '10.0.0.6:4042' } }),
    /alternatives.*neighbors/,
  );
  assert.throws(
    () => loadConfig({ env, flags: { backplaneCredentials: '/etc/sb/nats.json' } }),
    /backplane_credentials .* is for the NATS backplane/,
  );
});

void test('credentials from a file (JSON or .creds) or the environment, never both', async () => {
  const dir = await tempDir();
  try {
    const json = join(dir.path, 'nats.json');
    writeFileSync(json, JSON.stringify({ user: 'hub', password: 'pw' }), { mode: 0o600 });
    const hub = loadConfig({ env, flags: { backplane: 'nats://h:4222', backplaneCredentials: json } });
    assert.deepEqual(backplaneConfigFromHub(hub, env)?.auth, { kind: 'user', user: 'hub', password: 'pw' });

    const token = join(dir.path, 'token.json');
    writeFileSync(token, '{"token":"abc"}', { mode: 0o644 });
    chmodSync(token, 0o644);
    const warnings: string[] = [];
    const viaToken = loadConfig({ env, flags: { backplane: 'nats://h:4222', backplaneCredentials: token } });
    assert.deepEqual(backplaneConfigFromHub(viaToken, env, (w) => warnings.push(w))?.auth, {
      kind: 'token',
      token: 'abc',
    });
    assert.match(warnings[0] ?? '', /can be read by other users.*chmod 600/);

    const creds = join(dir.path, 'hub.creds');
    writeFileSync(
      creds,
      '-----BEGIN NATS USER JWT-----\neyJ0eXAi\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\nSUAM\n------END USER NKEY SEED------\n',
      { mode: 0o600 },
    );
    const viaCreds = loadConfig({ env, flags: { backplane: 'nats://h:4222', backplaneCredentials: creds } });
    assert.equal(backplaneConfigFromHub(viaCreds, env)?.auth.kind, 'creds');

    const bad = join(dir.path, 'bad.json');
    writeFileSync(bad, '{"user":"hub","password":"secretpw","extra":1}', { mode: 0o600 });
    const viaBad = loadConfig({ env, flags: { backplane: 'nats://h:4222', backplaneCredentials: bad } });
    assert.throws(
      () => backplaneConfigFromHub(viaBad, env),
      (err: Error) => /must hold \{"user"/.test(err.message) && !err.message.includes('secretpw'),
    );

    const plain = loadConfig({ env, flags: { backplane: 'nats://h:4222' } });
    assert.deepEqual(backplaneConfigFromHub(plain, { ...env, SWITCHBOARD_BACKPLANE_TOKEN: 't' })?.auth, {
      kind: 'token',
      token: 't',
    });
    assert.throws(
      () => backplaneConfigFromHub(plain, { ...env, SWITCHBOARD_BACKPLANE_USER: 'u' }),
      /go together: set both/,
    );
    assert.throws(
      () => backplaneConfigFromHub(hub, { ...env, SWITCHBOARD_BACKPLANE_TOKEN: 't' }),
      /both backplane_credentials .* and SWITCHBOARD_BACKPLANE_\*: keep one/,
    );
    assert.equal(backplaneConfigFromHub(loadConfig({ env }), env), undefined);
  } finally {
    await dir.cleanup();
  }
});

void test('timings: fast, name=ms, and a dead-after shorter than the heartbeat is refused', () => {
  assert.equal(parseTimings('fast').heartbeatMs, 200);
  assert.equal(parseTimings('heartbeatMs=50,deadAfterMs=500').deadAfterMs, 500);
  assert.throws(() => parseTimings('heartbeatMs=500,deadAfterMs=100'), /must be longer than heartbeatMs/);
  assert.throws(() => parseTimings('nope=1'), /not understood/);
});

void test('state documents from NATS are checked before they are believed', () => {
  const ok = { v: 1, hub: 'A', epoch: 1, seq: 2, address: '', cluster: null, services: [], known: [] };
  const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  assert.equal(readPayload(HubState, bytes(ok), 1000).hub, 'A');
  assert.throws(() => readPayload(HubState, bytes({ ...ok, hub: 'a.b' }), 1000), /hub must be letters/);
  assert.throws(
    () => readPayload(HubState, bytes({ ...ok, services: [{ name: 'x', since: 1, instances: ['a b'] }] }), 1000),
    /services\.0\.instances\.0/,
  );
  assert.throws(() => readPayload(HubState, bytes(ok), 10), /over the limit of 10/);
  assert.throws(() => readPayload(HubState, new Uint8Array([0xff, 0xfe]), 1000), /not UTF-8 JSON/);
});
