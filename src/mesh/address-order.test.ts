import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertPlainListenHost,
  compareHubAddresses,
  isPrivateOrLoopback,
  linkRole,
  parseHubAddress,
  formatHubAddress,
} from './address-order.js';

void test('parses addresses with and without port, v4 and v6, and URLs', () => {
  assert.deepEqual(parseHubAddress('10.0.0.2'), { host: '10.0.0.2', port: 4042 });
  assert.deepEqual(parseHubAddress('127.0.0.3:5000'), { host: '127.0.0.3', port: 5000 });
  assert.deepEqual(parseHubAddress('[fd00::1]:7'), { host: 'fd00::1', port: 7 });
  assert.deepEqual(parseHubAddress('cds://u:p@10.1.1.1:4043'), { host: '10.1.1.1', port: 4043 });
  assert.equal(formatHubAddress({ host: 'fd00::1', port: 7 }), '[fd00::1]:7');
  assert.throws(() => parseHubAddress('example.com:4042'), /not a hub address/);
  assert.throws(() => parseHubAddress('10.0.0.1:70000'), /bad port/);
});

void test('larger address connects, smaller only gossips; IP before port', () => {
  const a = parseHubAddress('127.0.0.1:9000');
  const b = parseHubAddress('127.0.0.2:1000');
  assert.equal(linkRole(b, a), 'connect');
  assert.equal(linkRole(a, b), 'gossip');
  assert.ok(
    compareHubAddresses(parseHubAddress('10.0.0.10:1'), parseHubAddress('10.0.0.9:2')) > 0,
    'numeric, not textual',
  );
  assert.ok(compareHubAddresses(parseHubAddress('10.0.0.1:2'), parseHubAddress('10.0.0.1:1')) > 0);
  assert.throws(() => linkRole(a, a), /own address/);
});

void test('plain listening is limited to private and loopback addresses', () => {
  for (const ok of ['127.0.0.2', '10.1.2.3', '172.16.0.1', '192.168.1.1', '::1', 'fd12::3', 'fe80::1'])
    assert.ok(isPrivateOrLoopback(ok), ok);
  for (const bad of ['8.8.8.8', '172.32.0.1', '2001:db8::1']) assert.ok(!isPrivateOrLoopback(bad), bad);
  assert.throws(() => assertPlainListenHost('0.0.0.0'), /refused/);
  assert.throws(() => assertPlainListenHost('1.2.3.4'), /public/);
  assertPlainListenHost('127.0.0.3');
});
