import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeText, encodeText } from './text.js';
import { decodeJson, encodeJson } from './json.js';
import { decodeLine, encodeLine } from './index.js';
import { jsonMessage, textMessage } from './arbitraries.js';

void test('text: decode(encode(m)) = m for string parameters', () => {
  fc.assert(
    fc.property(textMessage, (m) => {
      assert.deepEqual(decodeText(encodeText(m)), m);
    }),
    { numRuns: 1000 },
  );
});

void test('text: encoding is canonical (encode(decode(line)) = line for encoder output)', () => {
  fc.assert(
    fc.property(textMessage, (m) => {
      const line = encodeText(m);
      assert.equal(encodeText(decodeText(line)), line);
    }),
    { numRuns: 1000 },
  );
});

void test('text: an encoded line is one line (no LF or CR inside)', () => {
  fc.assert(
    fc.property(textMessage, (m) => {
      assert.ok(!/[\n\r]/.test(encodeText(m)));
    }),
    { numRuns: 1000 },
  );
});

void test('json: decode(encode(m)) = m with typed parameters', () => {
  fc.assert(
    fc.property(jsonMessage, (m) => {
      assert.deepEqual(decodeJson(encodeJson(m)), m);
    }),
    { numRuns: 1000 },
  );
});

void test('decodeLine(encodeLine(m, format)) = m for both formats', () => {
  fc.assert(
    fc.property(textMessage, fc.constantFrom('text' as const, 'json' as const), (m, format) => {
      assert.deepEqual(decodeLine(encodeLine(m, format)), m);
    }),
    { numRuns: 1000 },
  );
});
