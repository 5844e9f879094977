import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchItems, isBatch, jsonSizeExceeds, MAX_BATCH, methodPath, parseMessage } from './protocol.js';
import { BROWSER_BUNDLES, bundleForBrowser } from './browser/build.js';

void test('parseMessage accepts the Remix message shapes (objects, JSON text, bytes)', () => {
  const ok = [
    { action: 'request', key: 'handshake', id: -1 },
    { id: 3, action: 'request', key: 'add', payload: [1, 2], requestInfo: { from: 'a', path: 'b.c' }, name: 'b' },
    { action: 'response', id: 3, name: 'b', key: 'add', payload: 3 },
    { action: 'response', id: 4, name: 'b', key: 'add', error: 'boom', errorCode: 'PLUGIN_ERROR' },
    { action: 'response', id: 5, error: { message: 'as object' } },
    { action: 'emit', key: 'tick', payload: [1] },
    { action: 'notification', name: 'x', key: 'tick', payload: [] },
    { action: 'on', name: 'x', key: 'tick', id: 0 },
    { action: 'listen', name: 'x', key: 'tick' },
    { action: 'cancel', name: 'x', key: 'y' },
    { action: 'cancel', id: 9 },
  ];
  for (const m of ok) assert.equal(parseMessage(m).ok, true, JSON.stringify(m));
  assert.equal(parseMessage(JSON.stringify(ok[1])).ok, true);
  assert.equal(parseMessage(new TextEncoder().encode(JSON.stringify(ok[2]))).ok, true);
  const err = parseMessage({ action: 'response', id: 5, error: { message: 'as object' } });
  assert.ok(err.ok && err.value.action === 'response' && err.value.error === 'as object');
});

void test('parseMessage refuses malformed and oversized messages with a reason a person can act on', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ action: 'explode' }, /unknown action "explode"/],
    [{ action: 'request' }, /"key"/],
    [{ action: 'response', id: '1' }, /"id"/],
    [{ action: 'on', name: '', key: 'k' }, /"name"/],
    [{ action: 'emit', key: 'k', payload: 'not a list' }, /"payload"/],
    [[1, 2], /expected an object, got an array/],
    [null, /expected an object, got null/],
    ['not json', /not valid JSON/],
    [{ action: 'emit', key: 'k', payload: ['x'.repeat(200)] }, /over the 100-byte limit/],
    ['{"action":"emit","key":"k","payload":["' + 'x'.repeat(200) + '"]}', /over the 100-byte limit/],
  ];
  for (const [m, reason] of cases) {
    const r = parseMessage(m, { maxMessageBytes: 100 });
    assert.equal(r.ok, false, JSON.stringify(m));
    if (!r.ok) assert.match(r.error, reason);
  }
});

void test('jsonSizeExceeds stops early and roughly matches JSON length', () => {
  const v = { a: 'x'.repeat(50), b: [1, 2, { c: 'yy' }] };
  assert.equal(jsonSizeExceeds(v, JSON.stringify(v).length + 20), false);
  assert.equal(jsonSizeExceeds(v, 40), true);
  const huge = Array.from({ length: 1_000_000 }, () => 'z');
  assert.equal(jsonSizeExceeds(huge, 1000), true);
  let deep: unknown = 1;
  for (let i = 0; i < 100; i++) deep = [deep];
  assert.equal(jsonSizeExceeds(deep, 1_000_000), true, 'absurd nesting counts as too large');
});

void test('methodPath follows Remix (root plugin stripped)', () => {
  assert.equal(methodPath('m'), 'm');
  assert.equal(methodPath('m', 'plugin'), 'm');
  assert.equal(methodPath('m', 'plugin.sub'), 'sub.m');
});

void test('browser bundles stay small (no zod locales, no Node modules)', async () => {
  const bundles = await bundleForBrowser(BROWSER_BUNDLES, { minify: true });
  for (const [name, code] of bundles) {
    assert.ok(code.length < 200 * 1024, `${name} is ${Math.round(code.length / 1024)} KiB`);
    assert.doesNotMatch(code, /from\s*"node:/, `${name} imports a Node module`);
  }
});

void test('calls and responses take a hand-written check: it refuses exactly what the schema refuses', () => {
  const request = {
    id: 1,
    action: 'request',
    key: 'add',
    payload: [1],
    requestInfo: { from: 'a', timeoutMs: 10 },
    name: 'b',
  };
  const response = { id: 1, action: 'response', key: 'add', payload: 3, name: 'b' };
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ ...request, id: 1.5 }, /"id"/],
    [{ ...request, id: 2 ** 60 }, /"id"/],
    [{ ...request, id: '1' }, /"id"/],
    [{ ...request, key: '' }, /"key" is too short/],
    [{ ...request, key: 'k'.repeat(257) }, /"key" is too long/],
    [{ ...request, name: 7 }, /"name"/],
    [{ ...request, payload: { 0: 1 } }, /"payload"/],
    [{ ...request, requestInfo: { timeoutMs: 5 } }, /"requestInfo.from"/],
    [{ ...request, requestInfo: { from: 'a', timeoutMs: -1 } }, /"requestInfo.timeoutMs"/],
    [{ ...request, requestInfo: { from: 'a', timeoutMs: Infinity } }, /"requestInfo.timeoutMs"/],
    [{ ...request, requestInfo: { from: 'a', path: 'p'.repeat(1025) } }, /"requestInfo.path"/],
    [{ ...request, requestInfo: [] }, /"requestInfo"/],
    [{ ...request, batch: 'yes' }, /"batch"/],
    [{ ...response, id: undefined }, /"id"/],
    [{ ...response, error: 42 }, /"error"/],
    [{ ...response, errorCode: 'E'.repeat(65) }, /"errorCode" is too long/],
    [{ ...response, key: 'k'.repeat(257) }, /"key" is too long/],
  ];
  for (const [m, reason] of bad) {
    const r = parseMessage(m);
    assert.equal(r.ok, false, JSON.stringify(m));
    if (!r.ok) assert.match(r.error, reason);
  }
  for (const m of [
    request,
    response,
    { ...request, requestInfo: null },
    { ...response, error: 'boom', errorCode: 'TIMEOUT' },
    { ...request, batch: true },
  ]) {
    assert.equal(parseMessage(m).ok, true, JSON.stringify(m));
  }
});

void test('batch messages: a list of at most MAX_BATCH messages', () => {
  assert.equal(isBatch({ action: 'batch', payload: [] }), true);
  assert.equal(isBatch({ action: 'emit' }), false);
  assert.deepEqual(batchItems({ payload: [1, 2] }), { ok: true, value: [1, 2] });
  const refused = (payload: unknown) => {
    const r = batchItems({ payload });
    return r.ok ? '' : r.error;
  };
  assert.match(refused('x'), /should be a list/);
  assert.match(refused(new Array(MAX_BATCH + 1).fill(0)), /over the limit of 1024/);
  // Outside a connection that agreed to batches, a batch is just an unknown action.
  const r = parseMessage({ action: 'batch', payload: [] });
  assert.ok(!r.ok && /unknown action "batch"/.test(r.error));
});
