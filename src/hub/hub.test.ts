/** The hub's commands and routing over real TCP connections to an in-process hub. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../core/test/support.js';
import type { Hub } from './hub.js';
import { LineClient, hubPort, startTestHub } from './test/support.js';

let hub: Hub;
let port: number;
const clients: LineClient[] = [];

async function reg(service: string, extra = ''): Promise<LineClient> {
  const c = await LineClient.register(port, service, extra);
  clients.push(c);
  return c;
}

async function raw(): Promise<LineClient> {
  const c = await LineClient.connect(port);
  clients.push(c);
  return c;
}

before(async () => {
  hub = await startTestHub({ services: 'preknown' });
  port = hubPort(hub);
});

after(async () => {
  for (const c of clients) c.close();
  await hub.stop('tests done');
});

void test('REGISTER answers HELP then READY; STATUS reaches services that listen for it; UNREGISTER says down', async () => {
  const watcher = await reg('watcher', ';commands=STATUS');
  const c = await raw();
  c.send('REGISTER service=clock;version=1');
  const help = await c.next(() => true);
  assert.equal(help.command, 'HELP', 'HELP comes first');
  const ready = await c.next(() => true);
  assert.equal(ready.command, 'READY');
  assert.equal(ready.params.instance, '1');
  assert.equal(ready.params.service, 'clock');
  assert.equal(ready.params.my_address, `127.0.0.1:${port}`);
  assert.equal(ready.sentFrom.server, 'testhub');
  const up = await watcher.next((m) => m.command === 'STATUS' && m.params.service === 'clock');
  assert.equal(up.params.status, 'up');
  assert.equal(up.params.server_name, 'testhub');
  assert.match(String(up.params.up_since), /^\d+$/);
  c.send('REGISTER service=clock;version=1');
  assert.match(String((await c.next('INVALID')).params.message), /already registered as clock#1/);
  c.send('UNREGISTER service=clock');
  const down = await watcher.next((m) => m.command === 'STATUS' && m.params.service === 'clock');
  assert.equal(down.params.status, 'down');
  assert.ok(down.params.down_since);
  c.send('SERVICE_STATUS service=clock');
  assert.equal((await c.next('STATUS')).params.status, 'down');
  c.send('REGISTER service=bad-name');
  assert.match(String((await c.next('INVALID')).params.message), /cannot be registered/);
  c.send('REGISTER service=x;version=2');
  assert.match(String((await c.next('INVALID')).params.message), /version 2 is not supported/);
});

void test('the hub stamps the sender: no spoofing, replies find their way back', async () => {
  const echo = await reg('stamp_echo');
  const caller = await reg('stamp_caller');
  caller.send('<evil:mallory stamp_echo/PING n=1');
  const got = await echo.next('PING');
  assert.deepEqual(got.sentFrom, { server: 'testhub', service: 'stamp_caller' });
  echo.send(`${got.sentFrom.server}:${got.sentFrom.service}/PONG n=1`);
  const pong = await caller.next('PONG');
  assert.deepEqual(pong.sentFrom, { server: 'testhub', service: 'stamp_echo' });
  const anon = await raw();
  anon.send('<x:y stamp_echo/PING n=2');
  const fromAnon = await echo.next('PING');
  assert.deepEqual(
    fromAnon.sentFrom,
    { server: 'testhub', service: '' },
    'an unregistered connection is stamped with no service',
  );
});

void test('hub commands: HELP, ALIVE, SERVICE_STATUS, LIST_SERVICES (text and JSON), UNKNOWN', async () => {
  const c = await reg(
    'cmds',
    ';commands=ALIVE,HELP;endpoints=[{"name":"default","protocol":"http","port":8080}];zone=eu',
  );
  c.send('HELP');
  assert.match(String((await c.next('COMMANDS')).params.list), /REGISTER.*SERVICE_STATUS/);
  c.send('ALIVE serial=42;timestamp=100');
  const abs = await c.next('ABSOLUTELY');
  assert.equal(abs.params.serial, '42');
  assert.equal(abs.params.timestamp, '100');
  assert.match(String(abs.params.reply_timestamp), /^\d+\.\d{6}$/);
  c.send('SERVICE_STATUS service=cmds');
  const st = await c.next('STATUS');
  assert.equal(st.params.status, 'up');
  assert.equal(st.params.instances, '1');
  c.send('SERVICE_STATUS service=never_seen');
  assert.equal((await c.next('STATUS')).params.status, 'down');
  c.send('LIST_SERVICES');
  const list = JSON.parse(String((await c.next('SERVICES')).params.services)) as {
    name: string;
    instances: { id: string; commands: string[]; params: Record<string, unknown>; endpoints?: unknown }[];
  }[];
  const me = list.find((s) => s.name === 'cmds')!;
  assert.equal(me.instances[0]!.id, 'cmds#1');
  assert.deepEqual(me.instances[0]!.commands, ['ALIVE', 'HELP']);
  assert.deepEqual(me.instances[0]!.params, { zone: 'eu' }, 'unknown REGISTER parameters are kept');
  assert.deepEqual(me.instances[0]!.endpoints, [{ name: 'default', protocol: 'http', port: 8080 }]);
  assert.ok(
    list.some((s) => s.name === 'preknown'),
    'configured services are listed (down)',
  );
  const j = await raw();
  j.send('{"command":"LIST_SERVICES"}');
  const typed = await j.next('SERVICES');
  assert.ok(Array.isArray(typed.params.services), 'the JSON form carries the list as an array');
  assert.ok(j.raw.at(-1)!.startsWith('{'), 'a JSON connection is answered in JSON');
  c.send('FROBNICATE x=1');
  assert.equal((await c.next('UNKNOWN')).params.command, 'FROBNICATE');
  c.send('STATUS service=x;status=up');
  assert.ok(await c.nothing('UNKNOWN', 150), 'notices to the hub are never answered');
  const watcher = await reg('ep_watcher', ';commands=STATUS');
  const ep = await raw();
  ep.send('{"command":"REGISTER","parameters":{"service":"ep_svc","endpoints":[{"name":"default","port":9}]}}');
  const st2 = await watcher.next((m) => m.command === 'STATUS' && m.params.service === 'ep_svc');
  assert.deepEqual(
    JSON.parse(String(st2.params.endpoints)),
    [{ name: 'default', port: 9 }],
    'STATUS carries the advertisement',
  );
  const bad = await raw();
  bad.send('REGISTER service=ep;endpoints=notjson');
  assert.match(String((await bad.next('INVALID')).params.message), /endpoints is not JSON: give an array/);
  // This hub runs no discovery (it sets the advertisement check): any JSON is kept as given.
  const opaque = await raw();
  opaque.send('REGISTER service=ep_opaque;endpoints={"port":"any"}');
  await opaque.next('READY');
});

void test('instances: an unmarked second registration is refused; round-robin; name#instance; replies reach the right instance', async () => {
  const w1 = await reg('worker', ';commands=JOB');
  const refused = await raw();
  refused.send('REGISTER service=worker;version=1');
  const inv = await refused.next('INVALID');
  assert.equal(inv.params.command, 'REGISTER');
  assert.match(
    String(inv.params.message),
    /service "worker" is already registered \(instance 1 from .*\); add instance=true/,
  );
  const w2 = await reg('worker', ';instance=true;commands=JOB');
  assert.equal(w2.received.find((m) => m.command === 'READY')!.params.instance, '2');
  const w3 = await reg('worker', ';instance=blue;commands=JOB');
  const dup = await raw();
  dup.send('REGISTER service=worker;instance=blue');
  assert.match(String((await dup.next('INVALID')).params.message), /worker#blue" is already registered/);
  const boss = await reg('boss');
  for (let i = 0; i < 6; i++) boss.send(`worker/JOB n=${i}`);
  const got = await Promise.all(
    [w1, w2, w3].map(async (w) => [(await w.next('JOB')).params.n, (await w.next('JOB')).params.n]),
  );
  assert.deepEqual(got.flat().map(Number).sort(), [0, 1, 2, 3, 4, 5], 'six jobs, two per instance');
  boss.send('worker#blue/JOB n=exact');
  assert.equal((await w3.next('JOB')).params.n, 'exact');
  w2.send('boss/RESULT from=w2');
  const res = await boss.next('RESULT');
  assert.equal(res.sentFrom.service, 'worker#2', 'with several instances the sender names its instance');
  boss.send(`${res.sentFrom.service}/THANKS`);
  await w2.next('THANKS');
  assert.ok(await w1.nothing('THANKS', 100));
});

void test('broadcasts reach local services whose COMMANDS include the command, not the sender', async () => {
  const a = await reg('bc_a', ';commands=RELOAD');
  const b = await reg('bc_b');
  b.send('COMMANDS list=RELOAD,OTHER');
  const deaf = await reg('bc_deaf');
  const sender = await reg('bc_sender', ';commands=RELOAD');
  b.send('ALIVE serial=b'); // lines on one connection are handled in order: after ABSOLUTELY, COMMANDS is in
  await b.next('ABSOLUTELY');
  sender.send('*/RELOAD what=all');
  sender.send('./RELOAD what=local');
  assert.equal((await a.next('RELOAD')).params.what, 'all');
  assert.equal((await b.next('RELOAD')).params.what, 'all');
  assert.equal((await a.next('RELOAD')).params.what, 'local');
  assert.equal((await b.next('RELOAD')).params.what, 'local');
  assert.ok(await deaf.nothing('RELOAD', 100));
  assert.ok(!sender.received.some((m) => m.command === 'RELOAD'));
  // A new COMMANDS list counts from the next broadcast on: b no longer takes RELOAD, deaf does now.
  b.send('COMMANDS list=OTHER');
  deaf.send('COMMANDS list=RELOAD');
  for (const c of [b, deaf]) {
    c.send('ALIVE serial=again');
    await c.next('ABSOLUTELY');
  }
  sender.send('*/RELOAD what=again');
  assert.equal((await a.next('RELOAD')).params.what, 'again');
  assert.equal((await deaf.next('RELOAD')).params.what, 'again');
  assert.ok(await b.nothing('RELOAD', 100));
});

void test('cache rules: cached for a known service and delivered on REGISTER; no;reply answers SERVICE_UNAVAILABLE; reports', async () => {
  const s = await reg('flaky');
  s.close();
  const sender = await reg('cache_sender');
  // The registry forgets flaky when its close reaches the hub.
  await waitFor(() => hub.services.get('flaky')?.up === false, { what: 'the hub to see flaky leave' });
  sender.send('flaky/WORK n=1;cache=ttl=30;transmission_report=all');
  const rep = await sender.next('TRANSMISSION_REPORT');
  assert.equal(rep.params.status, 'cached');
  assert.equal(rep.params.command, 'WORK');
  sender.send('flaky/WORK n=2');
  sender.send('flaky/WORK n=3;cache="no;reply"');
  const un = await sender.next('SERVICE_UNAVAILABLE');
  assert.equal(un.params.destination_service, 'flaky');
  assert.equal(un.params.destination_server, 'testhub', 'a local failure names this hub (PROTOCOL.md)');
  assert.equal(un.params.unsent_command, 'WORK');
  sender.send('.:flaky/WORK n=4;cache="no;reply"');
  assert.equal((await sender.next('SERVICE_UNAVAILABLE')).params.destination_server, 'testhub');
  sender.send('nobody_here/WORK transmission_report=failure');
  const failed = await sender.next('TRANSMISSION_REPORT');
  assert.equal(failed.params.status, 'failed');
  assert.match(String(failed.params.reason), /not registered/);
  sender.send('flaky/WORK cache=ttl=1');
  assert.match(String((await sender.next('INVALID')).params.message), /ttl must be a whole number of seconds from 10/);
  sender.send('preknown/WORK n=pre');
  const back = await reg('flaky');
  assert.equal((await back.next('WORK')).params.n, '1');
  assert.equal((await back.next('WORK')).params.n, '2');
  assert.ok(await back.nothing('WORK', 100), 'no;reply was not cached; each cached message comes once');
  const pre = await reg('preknown');
  assert.equal((await pre.next('WORK')).params.n, 'pre', 'a configured service is known before it registers');
});

void test('JSON connections: typed parameters both ways, text and JSON services talk', async () => {
  const j = await raw();
  j.send('{"command":"REGISTER","parameters":{"service":"jsvc","version":1}}');
  await j.next('READY');
  assert.ok(j.raw.every((l) => l.startsWith('{')));
  const t = await reg('tsvc');
  t.send('jsvc/DATA n=5');
  const d = await j.next('DATA');
  assert.equal(d.params.n, '5');
  j.send('{"service":"tsvc","command":"TYPED","parameters":{"n":5,"ok":true,"list":[1,2]}}');
  const typed = await t.next('TYPED');
  assert.equal(typed.params.n, '5', 'the text form carries strings');
  assert.equal(typed.params.list, '[1,2]');
  assert.deepEqual(typed.sentFrom, { server: 'testhub', service: 'jsvc' });
});

void test('sniff: a local connection sees routed messages with their outcome, filtered; UNSNIFF stops it', async () => {
  const sn = await raw();
  await sn.auth(hub.adminToken);
  sn.send('SNIFF service=sn_dst');
  const ack = await sn.next('SNIFFING');
  assert.equal(ack.params.service, 'sn_dst');
  const dst = await reg('sn_dst');
  const src = await reg('sn_src');
  src.send('sn_dst/NOTE text=tap');
  src.send('sn_src/OTHER');
  const seen = await sn.next((m) => m.command === 'SNIFFED' && String(m.params.message).includes('NOTE'));
  assert.equal(seen.params.outcome, 'delivered');
  assert.equal(seen.params.delivered_to, 'sn_dst#1');
  assert.equal(seen.params.message, '<testhub:sn_src sn_dst/NOTE text=tap');
  await dst.next('NOTE');
  src.send('sn_dst#9/NOTE text=lost');
  assert.equal(
    (await sn.next((m) => m.command === 'SNIFFED' && String(m.params.message).includes('lost'))).params.outcome,
    'cached',
  );
  assert.ok(!sn.received.some((m) => String(m.params.message ?? '').includes('OTHER')), 'filtered out');
  const js = await raw();
  // A JSON first line: the hub answers in the format of a connection's first line.
  js.send(JSON.stringify({ command: 'AUTH', parameters: { token: hub.adminToken } }));
  js.send('{"command":"SNIFF","parameters":{"command":"NOTE"}}');
  await js.next('SNIFFING');
  src.send('sn_dst/NOTE text=json');
  const j = await js.next('SNIFFED');
  assert.deepEqual(j.params.message, {
    'sent-from-server': 'testhub',
    'sent-from-service': 'sn_src',
    service: 'sn_dst',
    command: 'NOTE',
    parameters: { text: 'json' },
  });
  assert.deepEqual(j.params.delivered_to, ['sn_dst#1']);
  // A credential in a body reaches the service as sent and the sniffer as ***.
  src.send('sn_dst/NOTE text="key sbt_qrstuvwxyz012345 here"');
  const masked = await js.next((m) => m.command === 'SNIFFED' && JSON.stringify(m.params).includes('here'));
  assert.doesNotMatch(JSON.stringify(masked.params), /sbt_[a-z]/);
  assert.match(JSON.stringify(masked.params), /key sbt_\*\*\* here/);
  assert.equal(
    (await dst.next((m) => String(m.params.text ?? '').includes('here'))).params.text,
    'key sbt_qrstuvwxyz012345 here',
  );
  js.send('UNSNIFF');
  js.send('ALIVE serial=js');
  await js.next('ABSOLUTELY');
  src.send('sn_dst/NOTE text=after');
  await dst.next((m) => m.params.text === 'after');
  assert.ok(await js.nothing('SNIFFED', 100));
});

void test('text lines for local services: passed on as written behind the sender block, bad ones refused, JSON readers get JSON, round-robin unchanged', async () => {
  const sender = await reg('fp_sender');
  const text = await reg('fp_worker', ';instance=true');
  const json = await reg('fp_worker', ';instance=true;format=json');
  sender.send('<spoof:me fp_worker/JOB b=2;a="x;y";c=\\n');
  sender.send('fp_worker/JOB n=2');
  sender.send('fp_worker/JOB bad-name=1');
  sender.send('fp_worker/JOB n=3');
  const invalid = await sender.next('INVALID');
  assert.match(String(invalid.params.message), /parameter "bad-name" is not valid/);
  const first = await text.next('JOB');
  assert.deepEqual(first.params, { a: 'x;y', b: '2', c: '\n' });
  assert.deepEqual(
    first.sentFrom,
    { server: 'testhub', service: 'fp_sender' },
    'the hub stamps the sender, whatever the line claimed',
  );
  assert.equal(text.raw.at(-1), '<testhub:fp_sender fp_worker/JOB b=2;a="x;y";c=\\n');
  const second = await json.next('JOB');
  assert.deepEqual(second.params, { n: '2' });
  assert.ok(json.raw.at(-1)!.startsWith('{'), 'an instance that asked for JSON gets JSON');
  assert.deepEqual(
    (await text.next('JOB')).params,
    { n: '3' },
    "the bad line reached nobody; the third good one is the text instance's turn again",
  );
  assert.equal(text.received.filter((m) => m.command === 'JOB').length, 2);
});
