// The hand-written services and codecs against protobufjs's reading of the .proto files: the same
// services and methods, and every message read back the same both ways (defaults, enums, unknown
// fields), so a Go go-plugin peer and c1-core see no difference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MethodDefinition } from '@grpc/grpc-js';
import { referenceMethods, referenceServices } from '../test/proto-reference.js';
import { methods, services } from './index.js';
import { ProtoDecodeError, message } from './wire.js';

type Method = MethodDefinition<object, object>;
const ours = Object.values(methods) as unknown as Method[];

function reference(m: Method): Method {
  const ref = referenceMethods.get(m.path);
  assert.ok(ref, `${m.path} is in the .proto files`);
  return ref;
}

void test('the services and methods are those of the .proto files, streaming the same way', () => {
  assert.deepEqual(ours.map((m) => m.path).sort(), [...referenceMethods.keys()].sort());
  for (const m of ours) {
    const ref = reference(m);
    assert.equal(m.requestStream, ref.requestStream, `${m.path} requestStream`);
    assert.equal(m.responseStream, ref.responseStream, `${m.path} responseStream`);
  }
  const servicePaths = Object.values(services).map((s) =>
    Object.values(s as Record<string, Method>)
      .map((m) => m.path)
      .sort(),
  );
  assert.deepEqual(servicePaths.sort(), [...referenceServices.values()].map((paths) => [...paths].sort()).sort());
});

/** Messages with values in every field (and some without), for each method: [requests, responses]. */
const samples: Record<keyof typeof methods, [object[], object[]]> = {
  sync: [
    [
      { options: '{"pages":3}', callbackHandlerServer: 1, state: '{"cursor":"ünï ✓ 𝄞"}' },
      { options: 'o'.repeat(70_000), callbackHandlerServer: 2 ** 32 - 1, state: '' },
    ],
    [{ metadata: '{"sent":10}' }, { metadata: '' }],
  ],
  upsert: [
    [
      { response: [{ remoteId: 'a', resourceName: 'n', uri: 'u', metadata: '{}' }] },
      { response: [{ remoteId: 'b', resourceName: '', uri: '', metadata: '' }] },
    ],
    [{}],
  ],
  clean: [[{}], [{}]],
  checkpoint: [[{ state: '{"version":2}' }, { state: '' }], [{}]],
  startStream: [
    [
      { serviceId: 1, network: 'unix', address: '/tmp/plugin-broker-x/1.sock', knock: null },
      { serviceId: 7, network: 'tcp', address: '127.0.0.1:10001', knock: { knock: true, ack: false, error: 'e' } },
      { serviceId: 0, network: '', address: '', knock: { knock: false, ack: false, error: '' } },
    ],
    [{ serviceId: 2, network: 'unix', address: '/tmp/p/2.sock', knock: null }],
  ],
  shutdown: [[{}], [{}]],
  streamStdio: [
    [{}],
    [
      { channel: 'STDERR', data: Buffer.from('a warning\n') },
      { channel: 'STDOUT', data: Buffer.alloc(0) },
      { channel: 'INVALID', data: Buffer.from([0, 255]) },
    ],
  ],
  healthCheck: [
    [{ service: 'plugin' }, { service: '' }],
    [{ status: 'SERVING' }, { status: 'UNKNOWN' }, { status: 'SERVICE_UNKNOWN' }],
  ],
  check: [
    [{ options: '{}' }],
    [
      { ok: true, message: '' },
      { ok: false, message: 'no token' },
    ],
  ],
};

void test('every message: what one side writes, the other reads the same', () => {
  for (const [name, [requests, responses]] of Object.entries(samples)) {
    const m = methods[name as keyof typeof methods] as unknown as Method;
    const ref = reference(m);
    const sides = [
      ['request', requests, m.requestSerialize, m.requestDeserialize, ref.requestSerialize, ref.requestDeserialize],
      [
        'response',
        responses,
        m.responseSerialize,
        m.responseDeserialize,
        ref.responseSerialize,
        ref.responseDeserialize,
      ],
    ] as const;
    for (const [side, values, encode, decode, refEncode, refDecode] of sides) {
      for (const value of values) {
        const what = `${m.path} ${side} ${JSON.stringify(value).slice(0, 80)}`;
        const expected = refDecode(refEncode(value));
        assert.deepEqual(refDecode(encode(value)), expected, `protobufjs reads ours: ${what}`);
        assert.deepEqual(decode(refEncode(value)), expected, `we read protobufjs's: ${what}`);
        assert.deepEqual(decode(encode(value)), expected, `we read ours: ${what}`);
      }
      // No bytes at all: every field at its default (null for a message, the first name for an enum).
      assert.deepEqual(decode(Buffer.alloc(0)), refDecode(Buffer.alloc(0)), `${m.path} ${side} defaults`);
    }
  }
});

void test('unknown fields are skipped and unknown enum values stay numbers, as protobufjs reads them', () => {
  const health = reference(methods.healthCheck as unknown as Method);
  // status = 7 (no such name), then field 9 varint, field 10 fixed32, field 11 string, field 12 fixed64.
  const bytes = Buffer.from([
    0x08, 0x07, 0x48, 0x96, 0x01, 0x55, 1, 2, 3, 4, 0x5a, 0x01, 0x78, 0x61, 1, 2, 3, 4, 5, 6, 7, 8,
  ]);
  assert.deepEqual(methods.healthCheck.responseDeserialize(bytes), health.responseDeserialize(bytes));
  assert.equal(methods.healthCheck.responseDeserialize(bytes).status, 7);
});

void test('what is not a message is refused with a reason', () => {
  const decode = (bytes: number[]) => methods.sync.requestDeserialize(Buffer.from(bytes));
  assert.throws(() => decode([0x0a, 0x05, 0x61]), ProtoDecodeError);
  assert.throws(() => decode([0x0a, 0x05, 0x61]), /runs past the end/);
  assert.throws(() => decode([0x08, 0x01]), /field options has wire type 0, not 2/);
  assert.throws(() => decode([0x10]), /truncated varint/);
  assert.throws(() => decode([0x0b]), /wire type 3/);
  assert.throws(() => decode([0x10, ...Array<number>(10).fill(0xff)]), /longer than 10 bytes/);
});

void test('encoding leaves default values out (as Go does) and keeps a set nested message', () => {
  const m = message<{ a: string; b: number; c: boolean; d?: { x: string } | null }>([
    { no: 1, name: 'a', kind: 'string' },
    { no: 2, name: 'b', kind: 'uint32' },
    { no: 3, name: 'c', kind: 'bool' },
    { no: 4, name: 'd', kind: 'message', codec: message<{ x: string }>([{ no: 1, name: 'x', kind: 'string' }]) },
  ]);
  assert.deepEqual(m.encode({ a: '', b: 0, c: false, d: null }), Buffer.alloc(0));
  assert.deepEqual(
    m.encode({ a: 'é', b: 300, c: true, d: { x: '' } }),
    Buffer.from([0x0a, 2, 0xc3, 0xa9, 0x10, 0xac, 0x02, 0x18, 1, 0x22, 0]),
  );
});
