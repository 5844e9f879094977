/** Stopping: STOP and SHUTDOWN (without a mesh) end the hub; services get DISCONNECTING and their connections close. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineClient, hubPort, sendDatagram, startTestHub } from './test/support.js';

void test('STOP: every connection gets DISCONNECTING, connections close, the hub is stopped; a second stop is a no-op', async () => {
  const hub = await startTestHub();
  const a = await LineClient.register(hubPort(hub), 'life_a');
  const anon = await LineClient.connect(hubPort(hub));
  a.send('UNREGISTER service=someone_else');
  assert.match(String((await a.next('INVALID')).params.message), /registered as life_a#1, not someone_else/);
  const from = `${anon.socket.localAddress}:${anon.socket.localPort}`;
  // STOP is the admin's (SECURITY.md): the admin token proves it.
  await anon.auth(hub.adminToken);
  anon.send('STOP');
  await a.next('DISCONNECTING');
  await anon.next('DISCONNECTING');
  await Promise.all([a.closed, anon.closed]);
  assert.equal(await hub.stopped, `STOP from ${from} (local)`);
  assert.equal(hub.state, 'stopped');
  await hub.stop('again');
});

void test('SHUTDOWN without a mesh stops this hub; STOP over UDP works too', async () => {
  const hub = await startTestHub();
  const c = await LineClient.register(hubPort(hub), 'life_b');
  c.send(`AUTH token=${hub.adminToken}`);
  c.send('SHUTDOWN');
  await c.next('DISCONNECTING');
  assert.match(await hub.stopped, /^SHUTDOWN from/);

  const other = await startTestHub({ signalSecret: 'k' });
  await sendDatagram(hubPort(other, 'signal'), 'STOP secret_code=k', 50);
  assert.match(await other.stopped, /^STOP from .*\(signal\)$/);
});
