// Event and execution ids: valid v7 UUIDs that sort by time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { timeOrderedId } from './ids.js';

void test('timeOrderedId is a version 7 UUID carrying the time, unique, ordered across milliseconds', () => {
  const id = timeOrderedId(0x18f0a1b2c3d);
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(id.slice(0, 13), '018f0a1b-2c3d');
  const ids = new Set(Array.from({ length: 10_000 }, () => timeOrderedId(1000)));
  assert.equal(ids.size, 10_000);
  assert.ok(timeOrderedId(1000) < timeOrderedId(1001));
  assert.ok(timeOrderedId(0xfff) < timeOrderedId(0x1000));
});
