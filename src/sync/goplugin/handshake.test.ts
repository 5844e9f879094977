import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatHandshake, parseHandshake } from './handshake.js';
import { PluginHandshakeError } from './errors.js';
import { OutputTail, parsePluginLine } from './plugin-log.js';

const expect = { appVersions: [1] };

void test('parses the lines go-plugin v1 plugins print', () => {
  assert.deepEqual(parseHandshake('1|1|unix|/tmp/plugin123|grpc|\n', expect), {
    core: 1,
    app: 1,
    network: 'unix',
    address: '/tmp/plugin123',
    protocol: 'grpc',
    multiplex: false,
  });
  assert.deepEqual(parseHandshake('1|1|tcp|127.0.0.1:10001|grpc', expect), {
    core: 1,
    app: 1,
    network: 'tcp',
    address: '127.0.0.1:10001',
    protocol: 'grpc',
    multiplex: false,
  });
  const der = Buffer.alloc(300, 7);
  const withCert = parseHandshake(`1|1|unix|/tmp/p|grpc|${der.toString('base64').replace(/=+$/, '')}|true`, expect);
  assert.deepEqual(withCert.serverCertDer, der);
  assert.equal(withCert.multiplex, true);
  // go-plugin's rule: 50 chars or fewer in field 6 is not a certificate.
  assert.equal(parseHandshake('1|1|unix|/tmp/p|grpc|short-extra-data', expect).serverCertDer, undefined);
});

void test('format and parse round-trip, certificate without base64 padding', () => {
  const der = Buffer.from(Array.from({ length: 301 }, (_, i) => i % 256));
  const line = formatHandshake({ app: 1, network: 'unix', address: '/tmp/x/plugin.sock', serverCertDer: der });
  assert.ok(!line.endsWith('='));
  assert.deepEqual(parseHandshake(line, expect).serverCertDer, der);
  assert.equal(formatHandshake({ app: 1, network: 'tcp', address: '127.0.0.1:1' }), '1|1|tcp|127.0.0.1:1|grpc|');
});

void test('bad lines give a sentence that says what is wrong', () => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['Hello, I am a connector', /not a go-plugin handshake: "Hello, I am a connector".*stderr/],
    ['x|1|unix|/tmp/p|grpc|', /core protocol version "x" is not a number/],
    ['2|1|unix|/tmp/p|grpc|', /core protocol 2, this host speaks 1/],
    ['1|3|unix|/tmp/p|grpc|', /app protocol version 3; this host speaks 1/],
    ['1|1|pipe|/tmp/p|grpc|', /network "pipe"/],
    ['1|1|tcp|nowhere|grpc|', /not host:port/],
    ['1|1|unix||grpc|', /empty address/],
    ['1|1|unix|/tmp/p', /"netrpc" protocol/],
    ['1|1|unix|/tmp/p|netrpc|', /"netrpc" protocol/],
    [`1|1|unix|/tmp/p|grpc|${'!'.repeat(60)}`, /not base64/],
  ];
  for (const [line, message] of cases) {
    assert.throws(
      () => parseHandshake(line, expect),
      (err: unknown) =>
        err instanceof PluginHandshakeError && err.code === 'PLUGIN_HANDSHAKE' && message.test(err.message),
      line,
    );
  }
  const long = 'z'.repeat(5000);
  assert.throws(() => parseHandshake(long, expect), /\(5000 chars\)/);
});

void test('hclog JSON lines become entries with their level and fields; other lines stay text', () => {
  const e = parsePluginLine(
    '{"@level":"warn","@message":"slow page","@timestamp":"2024-01-01T00:00:00Z","@module":"c1","page":3}',
    'stderr',
  );
  assert.deepEqual(e, { level: 'warn', message: 'slow page', fields: { page: 3 }, stream: 'stderr', module: 'c1' });
  assert.equal(parsePluginLine('{"@level":"LOUD","@message":"x"}', 'stderr').level, 'info');
  assert.deepEqual(parsePluginLine('{not json', 'stdout'), {
    level: 'info',
    message: '{not json',
    fields: {},
    stream: 'stdout',
  });
  assert.deepEqual(parsePluginLine('{"a":1}', 'stderr').message, '{"a":1}');
});

void test('the stderr tail keeps the last lines within its bounds', () => {
  const tail = new OutputTail(3, 100);
  for (let i = 0; i < 10; i++) tail.push(`line ${i}`);
  assert.equal(tail.toString(), 'line 7\nline 8\nline 9');
  tail.push('y'.repeat(500));
  assert.ok(tail.toString().length <= 100);
  assert.ok(tail.toString().endsWith('...'));
});
