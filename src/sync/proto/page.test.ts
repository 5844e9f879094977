// The hand-written Upsert page codec against protobufjs's (proto-loader): same bytes both ways,
// unknown fields skipped, bad bytes refused with a reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceMethods } from '../test/proto-reference.js';
import { decodePage, encodePage, PageDecodeError, type SyncResponse } from './page.js';

const protobufjs = referenceMethods.get('/proto.CallbackHandler/Upsert')!;

const page: SyncResponse = {
  response: [
    { remoteId: 'a-1', resourceName: 'Ünïcødé name ✓ 𝄞', uri: 'files://x/y', metadata: '{"k":"v"}' },
    { remoteId: 'b', resourceName: '', uri: '', metadata: '' },
    { remoteId: 'long', resourceName: 'n'.repeat(300), uri: 'u'.repeat(20_000), metadata: 'm'.repeat(70_000) },
  ],
};

void test('encodePage writes bytes protobufjs reads back as the same page', () => {
  assert.deepEqual(protobufjs.requestDeserialize(encodePage(page)), page);
  assert.deepEqual(protobufjs.requestDeserialize(encodePage({ response: [] })), { response: [] });
});

void test('decodePage reads what protobufjs writes', () => {
  assert.deepEqual(decodePage(protobufjs.requestSerialize(page)), page);
  assert.deepEqual(decodePage(Buffer.alloc(0)), { response: [] });
});

void test('decodePage skips fields it does not know, at both levels', () => {
  const known = encodePage({ response: [{ remoteId: 'x', resourceName: 'n', uri: '', metadata: '' }] });
  // Field 9 varint (tag 0x48) and field 10 fixed32 (0x55) before the page; field 7 string (0x3a) inside an object.
  const inner = Buffer.concat([Buffer.from([0x3a, 0x02, 0x68, 0x69]), known.subarray(2)]);
  const bytes = Buffer.concat([Buffer.from([0x48, 0x96, 0x01, 0x55, 1, 2, 3, 4, 0x0a, inner.length]), inner]);
  assert.deepEqual(decodePage(bytes), { response: [{ remoteId: 'x', resourceName: 'n', uri: '', metadata: '' }] });
});

void test('decodePage refuses truncated or malformed bytes with a reason', () => {
  const good = encodePage(page);
  assert.throws(() => decodePage(good.subarray(0, good.length - 5)), PageDecodeError);
  assert.throws(() => decodePage(Buffer.from([0x0a, 0x05, 0x0a, 0x01])), /runs past the end/);
  assert.throws(() => decodePage(Buffer.from([0x08, 0x01])), /field 1 has wire type 0/);
  assert.throws(() => decodePage(Buffer.from([0x0a, 0x02, 0x08, 0x01])), /DataObject field 1 has wire type 0/);
  assert.throws(() => decodePage(Buffer.from([0x0b])), /wire type 3/);
  assert.throws(() => decodePage(Buffer.from([0x0a, 0xff, 0xff])), /truncated varint/);
});
