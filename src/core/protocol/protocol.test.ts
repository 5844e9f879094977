import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMessage } from '../message.js';
import {
  baseName,
  cacheRuleOf,
  instanceOf,
  isBroadcast,
  isServiceOrInstance,
  isThisHub,
  meshStatusParams,
  parseCacheRule,
  parseReportLevel,
  readMeshStatus,
  readSniffed,
  sameService,
  sniffedParams,
  type MeshStatus,
} from './index.js';

void test('addresses: broadcasts, this hub, instances', () => {
  for (const s of ['*', '?', '.']) assert.ok(isBroadcast(s), s);
  for (const s of ['', 'clock', '**', 'a.b']) assert.ok(!isBroadcast(s), s);
  for (const s of ['', '*', '.', 'here']) assert.ok(isThisHub(s, 'here'), s);
  for (const s of ['?', 'there']) assert.ok(!isThisHub(s, 'here'), s);
  assert.equal(baseName('clock#2'), 'clock');
  assert.equal(baseName('clock'), 'clock');
  assert.equal(instanceOf('clock#2'), '2');
  assert.equal(instanceOf('clock'), undefined);
  assert.ok(isServiceOrInstance('clock', 'clock'));
  assert.ok(isServiceOrInstance('clock', 'clock#3'));
  assert.ok(!isServiceOrInstance('clock', 'clockwork'));
  assert.ok(!isServiceOrInstance('clock', 'cloc'));
  assert.ok(sameService('clock#1', 'clock#2'));
  assert.ok(!sameService('clock#1', 'alarm#1'));
});

void test('cache rules: no, reply, ttl bounds, and sentences for bad values', () => {
  assert.deepEqual(parseCacheRule(undefined), { ok: true, value: { noCache: false, reply: false, ttlSeconds: 60 } });
  assert.deepEqual(parseCacheRule('no;reply'), { ok: true, value: { noCache: true, reply: true, ttlSeconds: 60 } });
  assert.deepEqual(parseCacheRule('ttl=300;'), { ok: true, value: { noCache: false, reply: false, ttlSeconds: 300 } });
  const error = (v: string) => {
    const r = parseCacheRule(v);
    return r.ok ? assert.fail(`${v} was accepted`) : r.error;
  };
  assert.match(error('ttl=5'), /from 10 to 86400/);
  assert.match(error('ttl=abc'), /whole number/);
  assert.match(error('maybe'), /accepts "no", "reply"/);
  assert.deepEqual(cacheRuleOf({ cache: 'maybe' }), { noCache: false, reply: false, ttlSeconds: 60 });
  assert.equal(parseReportLevel('failure'), 'failure');
  assert.equal(parseReportLevel('failed'), 'failure');
  assert.equal(parseReportLevel('all'), 'all');
  assert.equal(parseReportLevel('yes'), 'all');
  assert.equal(parseReportLevel(undefined), 'none');
  assert.equal(parseReportLevel(''), 'none');
});

void test('SNIFFED: written and read back in both forms', () => {
  const event = { outcome: 'delivered', at: 1234, message: 'clock/TIME', deliveredTo: ['clock#1', 'clock#2'] };
  for (const typed of [false, true]) {
    const params = sniffedParams(event, typed);
    assert.deepEqual(params.delivered_to, typed ? ['clock#1', 'clock#2'] : 'clock#1,clock#2');
    assert.deepEqual(readSniffed(createMessage('SNIFFED', params)), event);
  }
  const odd = readSniffed(createMessage('SNIFFED', { outcome: 'failed', at: 'soon', reason: 'gone' }));
  assert.equal(odd.outcome, 'failed');
  assert.ok(Number.isFinite(odd.at));
  assert.equal(odd.reason, 'gone');
  assert.equal(odd.deliveredTo, undefined);
});

void test('MESH_STATUS_REPLY: written and read back; a bad status is a sentence', () => {
  const status: MeshStatus = {
    server: 'a',
    address: '10.0.0.1:4042',
    cluster: { up: true, complete: true, total: 1, live: 1, quorum: 1 },
    links: [],
    neighbors: [],
    hubs: [{ name: 'a', reachable: true, address: '10.0.0.1:4042', services: ['clock'], links: [] }],
    blocked: [],
    cachedForRemote: 0,
  };
  assert.deepEqual(readMeshStatus(createMessage('MESH_STATUS_REPLY', meshStatusParams(status))), {
    ok: true,
    value: status,
  });
  assert.deepEqual(readMeshStatus(createMessage('MESH_STATUS_REPLY', { status: { ...status } })), {
    ok: true,
    value: status,
  });
  const bad = readMeshStatus(createMessage('MESH_STATUS_REPLY', { status: '{"server":1}' }));
  assert.ok(!bad.ok && /bad status/.test(bad.error));
  const notJson = readMeshStatus(createMessage('MESH_STATUS_REPLY', { status: '{' }));
  assert.ok(!notJson.ok && /not JSON/.test(notJson.error));
});
