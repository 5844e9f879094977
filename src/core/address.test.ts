import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LOCAL, DEFAULT_SIGNAL, formatAddress, parseAddress } from './address.js';
import { InvalidArgumentError } from './errors.js';

void test('address: the communicator schemes and their default ports', () => {
  assert.deepEqual(parseAddress(DEFAULT_LOCAL), {
    url: DEFAULT_LOCAL,
    scheme: 'cd',
    transport: 'tcp',
    host: '127.0.0.1',
    port: 4040,
    path: '',
  });
  assert.deepEqual(parseAddress(DEFAULT_SIGNAL), {
    url: DEFAULT_SIGNAL,
    scheme: 'cdu',
    transport: 'udp',
    host: '127.0.0.1',
    port: 4041,
    path: '',
  });
  assert.equal(parseAddress('cd://10.0.0.1').port, 4040);
  assert.equal(parseAddress('cds://10.0.0.1').port, 4043);
  assert.equal(parseAddress('cdu://10.0.0.1').port, 4041);
  assert.equal(parseAddress('cd://127.0.0.1:0').port, 0);
});

void test('address: Unix socket, TLS with credentials, IPv6, WebSocket', () => {
  assert.deepEqual(parseAddress('cd:///run/switch%20board.sock'), {
    url: 'cd:///run/switch%20board.sock',
    scheme: 'cd',
    transport: 'unix',
    host: '',
    port: 0,
    path: '/run/switch board.sock',
  });
  const tls = parseAddress('cds://alice:p%40ss@192.168.1.5:4443');
  assert.equal(tls.transport, 'tls');
  assert.equal(tls.username, 'alice');
  assert.equal(tls.password, 'p@ss');
  assert.equal(parseAddress('cd://[::1]:5000').host, '::1');
  const ws = parseAddress('ws://localhost:8080/hub?x=1');
  assert.deepEqual([ws.transport, ws.host, ws.port, ws.path], ['ws', 'localhost', 8080, '/hub?x=1']);
  assert.equal(parseAddress('wss://example.com').port, 443);
  assert.equal(parseAddress('ws://example.com').path, '/');
});

void test('address: formatAddress round-trips', () => {
  for (const url of [
    'cd://127.0.0.1:4040',
    'cd:///tmp/a%20b.sock',
    'cds://alice:p%40ss@10.0.0.1:4043',
    'cdu://[::1]:4041',
    'ws://h:8080/hub',
    'wss://h:443/',
  ]) {
    assert.equal(formatAddress(parseAddress(url)), url);
  }
  assert.equal(formatAddress(parseAddress('cd://host')), 'cd://host:4040');
});

const refused: Array<[string, RegExp]> = [
  ['127.0.0.1:4040', /expected a URL/],
  ['http://host:80', /unknown scheme "http:"/],
  ['cds:///run/x.sock', /Unix socket cannot be secure/],
  ['cdu:///run/x.sock', /needs a host/],
  ['cd://', /needs a path/],
  ['cd://host:99999', /not a valid URL|out of range/],
  ['cd://host:4040/path', /takes no path/],
  ['cd://::1:4040', /not a valid URL/],
];
for (const [url, why] of refused) {
  void test(`address refused: ${url}`, () => {
    assert.throws(
      () => parseAddress(url),
      (err: unknown) => err instanceof InvalidArgumentError && why.test(err.message),
    );
  });
}

void test("address: the communicator's bare forms get a scheme; URLs are kept", async () => {
  const { withScheme } = await import('./address.js');
  assert.equal(withScheme('127.0.0.1:4040', 'cd'), 'cd://127.0.0.1:4040');
  assert.equal(withScheme(' 127.0.0.1:4041 ', 'cdu'), 'cdu://127.0.0.1:4041');
  assert.equal(withScheme('[::1]:4040', 'cd'), 'cd://[::1]:4040');
  assert.equal(withScheme('/run/communicator/communicatord.sock', 'cd'), 'cd:///run/communicator/communicatord.sock');
  assert.equal(withScheme('login:pw@10.0.0.5:4043', 'cds'), 'cds://login:pw@10.0.0.5:4043');
  assert.equal(withScheme('cds://10.0.0.5', 'cd'), 'cds://10.0.0.5');
  assert.equal(parseAddress(withScheme('10.0.0.5', 'cd')).port, 4040);
});
