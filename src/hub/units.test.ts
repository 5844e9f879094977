/** The hub's pure parts: the message cache, the registry catalog, sniff filters, config. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMessage } from '../core/message.js';
import { SwitchboardError } from '../core/errors.js';
import { tempDir } from '../core/test/support.js';
import { MessageCache } from './message-cache.js';
import { parseConfText } from './config-file.js';
import { loadConfig } from './config.js';
import { RegisterRefused, ServiceCatalog, parseInstanceParam } from './service-catalog.js';
import { matches } from './sniff-tap.js';
import type { HubConnection } from './connection.js';

void test('message cache: ttl expiry, per-instance messages, bounds drop the oldest', () => {
  const cache = new MessageCache({ perService: 2, total: 3, perServiceBytes: 1 << 20, totalBytes: 1 << 20 });
  const m = (n: number) => createMessage('CMD', { n: String(n) }, { service: 'svc' });
  const ns = (xs: { msg: { params: Record<string, unknown> } }[]) => xs.map((x) => x.msg.params.n);
  cache.add('svc', undefined, m(1), 10, undefined, 0);
  cache.add('svc', '7', m(2), 60, undefined, 0);
  assert.deepEqual(ns(cache.take('svc', '1', 5_000)), ['1']);
  assert.equal(cache.pending('svc'), 1, 'the message for svc#7 waits for that instance');
  assert.deepEqual(ns(cache.take('svc', '7', 5_000)), ['2']);
  cache.add('svc', undefined, m(3), 10, undefined, 0);
  assert.deepEqual(cache.take('svc', '1', 20_000), [], 'expired after its ttl');
  for (let i = 0; i < 3; i++) cache.add('svc', undefined, m(10 + i), 60, undefined, 0);
  assert.deepEqual(ns(cache.take('svc', '1', 1)), ['11', '12'], 'per-service bound drops the oldest');
  cache.add('a', undefined, m(1), 60, undefined, 0);
  cache.add('b', undefined, m(2), 60, undefined, 1);
  cache.add('c', undefined, m(3), 60, undefined, 2);
  cache.add('d', undefined, m(4), 60, undefined, 3);
  assert.equal(cache.size, 3);
  assert.equal(cache.pending('a'), 0, 'the global bound evicts the oldest message');
  cache.close();
});

void test('message cache: byte budgets per service and in all evict the oldest, each drop reported with its reason', () => {
  const dropped: { n: unknown; from: string | undefined; why: string }[] = [];
  const cache = new MessageCache<string>(
    { perService: 100, total: 100, perServiceBytes: 3000, totalBytes: 5000 },
    (c, why) => dropped.push({ n: c.msg.params.n, from: c.from, why }),
  );
  const m = (n: number) => createMessage('CMD', { n: String(n), blob: 'x'.repeat(900) }, { service: 'svc' });
  for (let i = 0; i < 4; i++) assert.equal(cache.add('a', undefined, m(i), 60, 'alice', 0), undefined);
  assert.ok(cache.pendingBytes('a') <= 3000);
  assert.deepEqual(
    dropped.map((d) => [d.n, d.from]),
    [['0', 'alice']],
    'the oldest of a went to make room, its sender named',
  );
  assert.match(dropped[0]!.why, /budget of 3000 bytes \(max_service_cache_bytes\)/);
  for (let i = 10; i < 13; i++) cache.add('b', undefined, m(i), 60, 'bob', 1);
  assert.ok(cache.bytes <= 5000, `${cache.bytes} bytes held`);
  assert.deepEqual(
    dropped.slice(1).map((d) => d.n),
    ['1'],
    'the total budget takes the oldest of all first (a before b)',
  );
  assert.match(dropped[1]!.why, /max_cache_bytes/);
  assert.match(
    cache.add('a', undefined, createMessage('BIG', { blob: 'y'.repeat(4000) }), 60, 'alice', 2) ?? '',
    /larger than the cache keeps/,
  );
  // Taken for a delivery that did not happen: back in front, in order.
  const taken = cache.take('b', '1', 3);
  assert.equal(cache.pending('b'), 0);
  cache.add('b', undefined, m(20), 60, 'bob', 4);
  cache.putBack('b', taken, 5);
  assert.deepEqual(
    cache.take('b', '1', 6).map((c) => c.msg.params.n),
    ['11', '12', '20'],
    'in order; the budget of b took its oldest again',
  );
  assert.equal(dropped.at(-1)!.n, '10');
  // Expired messages are reported by the sweep.
  cache.add('c', undefined, m(30), 10, 'carol', 0);
  cache.sweep(11_000);
  assert.match(dropped.at(-1)!.why, /within its cache ttl of 10 seconds/);
  assert.equal(dropped.at(-1)!.n, '30');
  assert.equal(cache.size, 2, "a's two messages live on");
  cache.close();
});

void test('registry: broadcasts find live instances by the commands their connection takes, as lists change', () => {
  const cat = new ServiceCatalog('hub1');
  const conn = (...commands: string[]) =>
    ({ channel: { remoteAddress: 'peer' }, commands: new Set(commands) }) as unknown as HubConnection;
  const ids = (command: string) => [...cat.understanding(command)].map((i) => i.id);
  const a = cat.register(conn('STATUS', 'PING'), {
    service: 'a',
    instance: undefined,
    endpoints: undefined,
    params: {},
  });
  const b = cat.register(conn('PING'), { service: 'b', instance: undefined, endpoints: undefined, params: {} });
  assert.deepEqual(ids('STATUS'), ['a#1']);
  assert.deepEqual(ids('PING'), ['a#1', 'b#1']);
  assert.deepEqual(ids('NOPE'), []);
  (b.connection as unknown as { commands: Set<string> }).commands = new Set(['STATUS']); // what COMMANDS does
  cat.reindex(b);
  assert.deepEqual(ids('STATUS'), ['a#1', 'b#1']);
  assert.deepEqual(ids('PING'), ['a#1']);
  cat.unregister(a);
  assert.deepEqual(ids('STATUS'), ['b#1']);
  assert.deepEqual(ids('PING'), []);
});

void test('registry: instance ids, round-robin, refusal of an unmarked second registration, stamping', () => {
  const cat = new ServiceCatalog('hub1');
  const conn = (n: number) =>
    ({ channel: { remoteAddress: `peer${n}` }, commands: new Set<string>() }) as unknown as HubConnection;
  const a = cat.register(conn(1), { service: 'calc', instance: undefined, endpoints: undefined, params: {} });
  assert.equal(a.id, 'calc#1');
  assert.deepEqual(
    a.stamp(),
    { server: 'hub1', service: 'calc' },
    'a lone unmarked instance is stamped with the plain name',
  );
  assert.throws(
    () => cat.register(conn(2), { service: 'calc', instance: undefined, endpoints: undefined, params: {} }),
    (e) => e instanceof RegisterRefused && /already registered .*instance=true/.test(e.message),
  );
  const b = cat.register(conn(3), { service: 'calc', instance: true, endpoints: undefined, params: {} });
  const c = cat.register(conn(4), { service: 'calc', instance: 'w_9', endpoints: undefined, params: {} });
  assert.equal(b.id, 'calc#2');
  assert.equal(c.id, 'calc#w_9');
  assert.throws(
    () => cat.register(conn(5), { service: 'calc', instance: 'w_9', endpoints: undefined, params: {} }),
    RegisterRefused,
  );
  assert.deepEqual(
    a.stamp(),
    { server: 'hub1', service: 'calc#1' },
    'with several instances the stamp names the instance',
  );
  const entry = cat.get('calc')!;
  assert.deepEqual(
    [entry.pick(), entry.pick(), entry.pick(), entry.pick()].map((i) => i!.instance),
    ['1', '2', 'w_9', '1'],
  );
  cat.unregister(b);
  cat.unregister(c);
  assert.deepEqual(a.stamp(), { server: 'hub1', service: 'calc' });
  cat.unregister(a);
  assert.equal(entry.up, false);
  assert.ok(cat.isKnown('calc'));
  const small = new ServiceCatalog('h', ['kept'], 2);
  for (const [i, name] of ['a', 'b', 'c'].entries())
    small.unregister(
      small.register(conn(10 + i), { service: name, instance: undefined, endpoints: undefined, params: {} }, i),
      100 + i,
    );
  assert.deepEqual(
    [...small.all()].map((s) => s.name).sort(),
    ['c', 'kept'],
    'the longest-down names are forgotten; configured ones stay',
  );
  assert.equal(parseInstanceParam('true'), true);
  assert.equal(parseInstanceParam(undefined), undefined);
  assert.throws(() => parseInstanceParam('bad id!'), RegisterRefused);
});

void test('sniff filters match sender or destination, with or without #instance', () => {
  const msg = createMessage('NOTE', {}, { service: 'echo#2' }, { server: 'h', service: 'caller' });
  assert.ok(matches({ service: 'echo', command: undefined }, msg));
  assert.ok(matches({ service: 'caller', command: 'NOTE' }, msg));
  assert.ok(!matches({ service: 'ech', command: undefined }, msg));
  assert.ok(!matches({ service: undefined, command: 'OTHER' }, msg));
});

void test('config: defaults, file < env < flags, conf and JSON files, errors name the key and source', async () => {
  const dir = await tempDir();
  try {
    const c = loadConfig({ env: { HOME: dir.path } });
    assert.equal(c.localListen, 'cd://127.0.0.1:4040');
    assert.equal(c.signal, 'cdu://127.0.0.1:4041');
    assert.equal(c.maxConnections, 100);
    assert.equal(c.dataPath, `${dir.path}/.switchboard`);
    const conf = join(dir.path, 'hub.conf');
    writeFileSync(
      conf,
      '# communicatord.conf\nserver_name=alpha\nmax_connections = 50\nsignal_secret="s;x"\nneighbors=10.0.0.1:4042, 10.0.0.2\n',
    );
    assert.deepEqual(parseConfText('a=1\n\n[x]\nb = "two"', 'f'), { a: '1', b: 'two' });
    const fromFile = loadConfig({
      env: { SWITCHBOARD_MAX_CONNECTIONS: '60' },
      flags: { config: conf, serverName: 'beta' },
    });
    assert.equal(fromFile.serverName, 'beta', 'flags beat the file');
    assert.equal(fromFile.maxConnections, 60, 'the environment beats the file');
    assert.equal(fromFile.signalSecret, 's;x');
    assert.deepEqual(fromFile.neighbors, ['10.0.0.1:4042', '10.0.0.2']);
    const json = join(dir.path, 'hub.json');
    writeFileSync(json, JSON.stringify({ 'local-listen': 'cd://127.0.0.1:0', signal: 'off' }));
    const j = loadConfig({ env: {}, flags: { config: json } });
    assert.equal(j.localListen, 'cd://127.0.0.1:0');
    assert.equal(j.signal, null);
    const bad = (flags: Record<string, unknown>, re: RegExp) =>
      assert.throws(
        () => loadConfig({ env: {}, flags }),
        (e) => e instanceof SwitchboardError && e.code === 'INVALID_CONFIG' && re.test(e.message),
      );
    bad({ maxConnections: '3' }, /^max_connections must be at least 5: got "3" \(from --max-connections\)/);
    bad({ localListen: 'cd://10.1.2.3:4040' }, /local_listen must be a loopback address/);
    bad({ localListen: 'http://x' }, /local_listen .*unknown scheme/);
    bad({ secureListen: 'cds://127.0.0.1:0' }, /needs certificate and private_key/);
    assert.equal(loadConfig({ env: {}, flags: { serverName: 'Web-1.example.com' } }).serverName, 'web_1');
    bad({ serverName: '9lives' }, /server_name must be letters/);
    bad({ config: join(dir.path, 'missing.conf') }, /cannot read the configuration file/);
    writeFileSync(conf, 'nonsense line\n');
    bad({ config: conf }, /hub.conf:1: expected "key=value"/);
    writeFileSync(conf, 'colour=blue\n');
    bad({ config: conf }, /unknown key "colour"/);
    const dirOfServices = join(dir.path, 'services');
    mkdirSync(dirOfServices);
    writeFileSync(join(dirOfServices, 'lockd.service'), '');
    writeFileSync(join(dirOfServices, 'notes.txt'), '');
    assert.deepEqual(loadConfig({ env: {}, flags: { services: `mail,${dirOfServices}` } }).services, ['mail', 'lockd']);
    bad({ services: 'a-b' }, /services must be service names/);
    assert.throws(
      () => loadConfig({ env: { SWITCHBOARD_MAX_CONNECTIONS: 'lots' } }),
      /max_connections must be a number.*SWITCHBOARD_MAX_CONNECTIONS/,
    );
  } finally {
    await dir.cleanup();
  }
});
