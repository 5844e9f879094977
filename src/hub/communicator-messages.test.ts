/**
 * The communicator's hub commands on a hub without a mesh: PUBLIC_IP, CLOCK_STATUS, CLUSTER_STATUS
 * (a cluster of one), and the sentences for the daemon's messages the hub does not take. The clock
 * check runs real executables found on a PATH the test writes (the machine's own tools vary).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../core/test/certs.js';
import { checkClock, readChronyTracking, readTimedatectl } from './clock-status.js';
import type { Hub } from './hub.js';
import { LineClient, hubPort, startTestHub } from './test/support.js';

let hub: Hub;
let secureHub: Hub;
let pki: TestPki;
const clients: LineClient[] = [];
const dirs: string[] = [];

before(async () => {
  pki = makeTestPki();
  hub = await startTestHub();
  secureHub = await startTestHub({
    secureListen: 'cds://127.0.0.1:0',
    certificate: pki.certificate,
    privateKey: pki.privateKey,
  });
});

after(async () => {
  for (const c of clients) c.close();
  await hub.stop('tests done');
  await secureHub.stop('tests done');
  pki.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function client(on: Hub = hub): Promise<LineClient> {
  const c = await LineClient.connect(hubPort(on));
  clients.push(c);
  return c;
}

void test('PUBLIC_IP: SERVER_PUBLIC_IP with both addresses, empty for a listener the hub does not have', async () => {
  const plain = await client();
  plain.send('PUBLIC_IP');
  const none = await plain.next('SERVER_PUBLIC_IP');
  assert.deepEqual(none.params, { public_ip: '', secure_ip: '' });
  assert.equal(none.sentFrom.server, 'testhub');

  const c = await client(secureHub);
  c.send('PUBLIC_IP');
  const reply = await c.next('SERVER_PUBLIC_IP');
  const securePort = new URL(secureHub.addresses.find((a) => a.kind === 'secure')!.url).port;
  assert.equal(
    reply.params.secure_ip,
    `127.0.0.1:${securePort}`,
    'the port actually bound, ip:port as the communicator writes it',
  );
  assert.equal(reply.params.public_ip, '', 'no mesh: no plain hub-link listener');
});

void test('CLUSTER_STATUS without a mesh: a cluster of one, up and complete', async () => {
  const c = await client();
  c.send('CLUSTER_STATUS');
  const up = await c.next(() => true);
  const complete = await c.next(() => true);
  assert.deepEqual(
    [up.command, up.params.neighbors_count, complete.command, complete.params.neighbors_count],
    ['CLUSTER_UP', '1', 'CLUSTER_COMPLETE', '1'],
  );
  c.send('HELP');
  const list = String((await c.next('COMMANDS')).params.list).split(',');
  for (const command of ['CLUSTER_STATUS', 'PUBLIC_IP', 'CLOCK_STATUS']) assert.ok(list.includes(command), command);
});

void test('CLOCK_STATUS: CLOCK_STABLE with clock_resolution or CLOCK_UNSTABLE with clock_error', async () => {
  const c = await client();
  c.send('CLOCK_STATUS');
  const reply = await c.next((m) => m.command.startsWith('CLOCK_'), 10_000);
  if (reply.command === 'CLOCK_STABLE') assert.match(String(reply.params.clock_resolution), /^(verified|no_ntp)$/);
  else {
    assert.equal(reply.command, 'CLOCK_UNSTABLE');
    assert.match(String(reply.params.clock_error), /^(checking|invalid)$/);
  }
  // The same answer for a minute (one check shared by every asker).
  c.send('CLOCK_STATUS');
  assert.deepEqual((await c.next(reply.command)).params, reply.params);
});

void test('communicator messages the hub does not take get a sentence, not UNKNOWN', async () => {
  const c = await client();
  const cases: [string, RegExp][] = [
    ['BLOCK uri=10.0.0.9;period=1h', /BLOCK is not supported by the hub.*ipwall\/BLOCK/],
    ['IPLOCK_GET_STATUS', /IPLOCK_GET_STATUS is not supported/],
    ['IPLOCK_CURRENT_STATUS status=ok', /IPLOCK_CURRENT_STATUS is not supported/],
    ['CONNECT version=1;my_address=10.0.0.9:4042;server_name=x', /CONNECT is a hub-to-hub message/],
    ['GOSSIP my_address=10.0.0.9:4042', /GOSSIP is a hub-to-hub message/],
    ['FORGET ip=10.0.0.9', /FORGET is not supported without a mesh/],
  ];
  // FORGET is the admin's (SECURITY.md): as anyone else it would be refused before it is looked at.
  await c.auth(hub.adminToken);
  for (const [line, sentence] of cases) {
    c.send(line);
    const reply = await c.next(() => true);
    assert.equal(reply.command, 'INVALID', line);
    assert.equal(reply.params.command, line.split(' ')[0]);
    assert.match(String(reply.params.message), sentence);
  }
  // Replies and notices of the communicator are never answered (no ping-pong).
  c.send('CLOCK_STABLE clock_resolution=verified');
  c.send('SERVER_PUBLIC_IP public_ip=;secure_ip=');
  c.send('CLUSTER_UP neighbors_count=1');
  assert.ok(await c.nothing(() => true, 300));
});

function toolDir(tools: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-clock-tools-'));
  dirs.push(dir);
  for (const [name, script] of Object.entries(tools)) {
    writeFileSync(join(dir, name), `#!/bin/sh\n${script}\n`);
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

void test('clock check: the first time tool that can tell decides; one that cannot is skipped; none installed is no_ntp', async () => {
  assert.deepEqual(readTimedatectl('NTP=yes\nNTPSynchronized=yes\n'), { kind: 'synchronised' });
  assert.deepEqual(readTimedatectl('NTP=yes\nNTPSynchronized=no\n'), { kind: 'not-yet' });
  assert.deepEqual(readTimedatectl('NTP=no\nNTPSynchronized=no\n'), { kind: 'off' });
  assert.equal(readChronyTracking('Reference ID    : 0A000001\nLeap status     : Normal\n').kind, 'synchronised');
  assert.equal(readChronyTracking('Leap status     : Not synchronised\n').kind, 'not-yet');

  const at = (tools: Record<string, string>) => checkClock({ PATH: toolDir(tools) });
  assert.deepEqual(await at({}), {
    command: 'CLOCK_STABLE',
    params: { clock_resolution: 'no_ntp' },
    source: 'none installed',
  });
  // timedatectl without systemd as PID 1 (as in a container): it cannot tell, and nothing else can.
  const noSystemd = "echo 'System has not been booted with systemd as init system (PID 1).' >&2; exit 1";
  const failed = await at({ timedatectl: noSystemd });
  assert.equal(failed.command, 'CLOCK_UNSTABLE');
  assert.deepEqual(failed.params, { clock_error: 'invalid' });
  assert.match(failed.why ?? '', /timedatectl: timedatectl exit 1/);
  // chrony answers where timedatectl could not.
  const chrony = await at({ timedatectl: noSystemd, chronyc: "printf 'Leap status     : Normal\\n'" });
  assert.deepEqual(
    [chrony.command, chrony.params, chrony.source],
    ['CLOCK_STABLE', { clock_resolution: 'verified' }, 'chronyc'],
  );
  const waiting = await at({ chronyc: 'echo "506 Cannot talk to daemon"; exit 1', ntpstat: 'exit 1' });
  assert.deepEqual(
    [waiting.command, waiting.params, waiting.source],
    ['CLOCK_UNSTABLE', { clock_error: 'checking' }, 'ntpstat'],
  );
  const off = await at({ timedatectl: "printf 'NTP=no\\nNTPSynchronized=no\\n'" });
  assert.deepEqual(off.params, { clock_resolution: 'no_ntp' });
});

void test("REGISTER's password is never kept with the registration: LIST_SERVICES does not show it", async () => {
  const c = await client();
  // The password is a token that proves an identity (here the admin's); a wrong one refuses the registration.
  c.send('REGISTER service=guarded;version=1;password=hunter2hunter2hunter2;zone=eu');
  assert.match(String((await c.next('INVALID')).params.message), /the password proves no identity of this hub/);
  const token = hub.adminToken!;
  c.send(`REGISTER service=guarded;version=1;password=${token};zone=eu`);
  await c.next('READY');
  c.send('LIST_SERVICES');
  const list = String((await c.next('SERVICES')).params.services);
  assert.match(list, /"zone":"eu"/, 'other parameters are kept');
  assert.ok(!list.includes(token) && !list.includes('password'));
});

void test("REGISTER's token= and secret_code= are not kept either: LIST_SERVICES does not show them", async () => {
  const c = await client();
  c.send('REGISTER service=tokened;version=1;token=sbt_registertokenvalue;secret_code=s3cr3tcode;zone=eu');
  await c.next('READY');
  c.send('LIST_SERVICES');
  const list = String((await c.next('SERVICES')).params.services);
  assert.match(list, /"zone":"eu"/, 'other parameters are kept');
  assert.doesNotMatch(list, /sbt_registertokenvalue|"token"|s3cr3tcode|secret_code/);
});
