import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonSizeExceeds, methodPath, parseMessage } from './protocol.js';
import { LineReader } from './connectors/line-reader.js';
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
  assert.ok(err.ok && err.message.action === 'response' && err.message.error === 'as object');
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
    if (!r.ok) assert.match(r.reason, reason);
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

void test('LineReader splits lines across chunks and skips over-long lines without losing the next', () => {
  const lines: string[] = [];
  const over: number[] = [];
  const r = new LineReader(10, (l) => lines.push(l), (n) => over.push(n));
  r.push('ab');
  r.push('c\r\nxyz\n\n');
  r.push('0123456789ABCDEF');
  r.push('GHI\nok\n');
  r.push('0123456789AB\nlast');
  r.push('\n');
  assert.deepEqual(lines, ['abc', 'xyz', 'ok', 'last']);
  assert.deepEqual(over, [19, 12]);
});

void test('browser bundles stay small (no zod locales, no Node modules)', async () => {
  const bundles = await bundleForBrowser(BROWSER_BUNDLES, { minify: true });
  for (const [name, code] of bundles) {
    assert.ok(code.length < 200 * 1024, `${name} is ${Math.round(code.length / 1024)} KiB`);
    assert.doesNotMatch(code, /from\s*"node:/, `${name} imports a Node module`);
  }
});
