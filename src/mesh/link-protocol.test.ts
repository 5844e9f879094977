import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cacheRuleOf } from '../core/protocol/index.js';
import { createMessage } from '../core/message.js';
import {
  ConnectParams,
  isControl,
  linkStateMessage,
  readLinkState,
  readParams,
  readRefuse,
  refuseMessage,
} from './link-protocol.js';
import { sourceIpOf } from './mesh.js';
import { parseNeighbor, redactUrl } from './neighbors.js';

void test('CONNECT parameters: lists from text or arrays; a bad server name is refused with the field named', () => {
  const c = readParams('CONNECT', ConnectParams, {
    version: '1',
    my_address: '10.0.0.2:4042',
    server_name: 'web1',
    neighbors: '10.0.0.1:4042, 10.0.0.3:4042',
    services: ['a', 'b'],
  });
  assert.deepEqual(c.neighbors, ['10.0.0.1:4042', '10.0.0.3:4042']);
  assert.deepEqual(c.services, ['a', 'b']);
  assert.throws(
    () => readParams('CONNECT', ConnectParams, { my_address: 'x', server_name: 'bad name' }),
    /CONNECT from a hub has a bad parameter server_name/,
  );
});

void test('REFUSE reasons round-trip; LINK_STATE round-trips and is validated', () => {
  for (const r of [{ kind: 'conflict', name: 'B' }, { kind: 'shutdown' }, { kind: 'too-many' }] as const)
    assert.deepEqual(readRefuse(refuseMessage(r)), r);
  const state = {
    origin: 'A',
    epoch: 5,
    seq: 2,
    address: '127.0.0.1:4042',
    links: ['B'],
    services: [{ name: 'echo', since: 1 }],
  };
  const msg = linkStateMessage(state);
  assert.ok(isControl(msg));
  assert.deepEqual(readLinkState(msg), state);
  assert.throws(() => readLinkState(createMessage('LINK_STATE', { origin: 'A', epoch: 'x' })), /LINK_STATE/);
  assert.ok(
    !isControl(createMessage('LINK_STATE', {}, { service: 'svc' })),
    'traffic for a service is never a control message',
  );
});

void test("cache rule: the mesh reads the hub's rule; a bad value from a peer falls back to the default", () => {
  assert.deepEqual(cacheRuleOf({}), { noCache: false, reply: false, ttlSeconds: 60 });
  assert.deepEqual(cacheRuleOf({ cache: 'no;reply' }), { noCache: true, reply: true, ttlSeconds: 60 });
  assert.equal(cacheRuleOf({ cache: 'ttl=300' }).ttlSeconds, 300);
  assert.equal(cacheRuleOf({ cache: 'ttl=5' }).ttlSeconds, 60);
  assert.equal(cacheRuleOf({ cache: 'ttl=999999' }).ttlSeconds, 60);
});

void test('source addresses and neighbor URLs', () => {
  assert.equal(sourceIpOf('10.0.0.2:5123'), '10.0.0.2');
  assert.equal(sourceIpOf('[fd00::2]:5123'), 'fd00::2');
  assert.equal(sourceIpOf('[::ffff:10.0.0.2]:5123'), '10.0.0.2');
  assert.deepEqual(parseNeighbor('10.0.0.2'), {
    url: 'cd://10.0.0.2:4042',
    address: { host: '10.0.0.2', port: 4042 },
    secure: false,
  });
  assert.equal(parseNeighbor('cds://10.0.0.2', { username: 'u', password: 'p w' }).url, 'cds://u:p%20w@10.0.0.2:4043');
  assert.equal(redactUrl('cds://u:secret@10.0.0.2:4043'), 'cds://u:***@10.0.0.2:4043');
});
