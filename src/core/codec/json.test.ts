import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeJson, encodeJson, envelope, isWellFormed } from './json.js';
import { decodeLine, encodeLine, lineFormat } from './index.js';
import { createMessage } from '../message.js';
import { InvalidMessageError } from '../errors.js';

void test('json: the reference keys, typed values', () => {
  const line =
    '{"sent-from-server":"srv1","sent-from-service":"cluck","server":"srv2","service":"cluckd","command":"LOCK","parameters":{"key":"abc","timeout":5,"ok":true,"none":null,"list":[1,"a"],"obj":{"x":{"y":1.5}}}}';
  const msg = decodeJson(line);
  assert.deepEqual(
    msg,
    createMessage(
      'LOCK',
      { key: 'abc', timeout: 5, ok: true, none: null, list: [1, 'a'], obj: { x: { y: 1.5 } } },
      { server: 'srv2', service: 'cluckd' },
      { server: 'srv1', service: 'cluck' },
    ),
  );
  assert.equal(encodeJson(msg), line);
});

void test('json: missing fields are empty, unknown keys ignored, empty fields left out', () => {
  const msg = decodeJson('{"command":"HELP","extra":{"a":1},"priority":3}');
  assert.deepEqual(msg, createMessage('HELP'));
  assert.equal(encodeJson(msg), '{"command":"HELP","parameters":{}}');
});

void test('json: parameters may be null or absent', () => {
  assert.deepEqual(decodeJson('{"command":"X","parameters":null}').params, {});
});

void test('json: __proto__ stays an own parameter', () => {
  const msg = decodeJson('{"command":"X","parameters":{"__proto__":{"polluted":true}}}');
  assert.deepEqual(Object.keys(msg.params), ['__proto__']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(decodeJson(encodeJson(msg)), msg);
});

const rejected: Array<[string, RegExp]> = [
  ['{', /must be a JSON message/],
  ['{"command":1}', /"command"/],
  ['{"server":"a"}', /"command"/],
  ['{"command":"lower"}', /command "lower"/],
  ['{"command":"X","service":"a b"}', /service "a b"/],
  ['{"command":"X","server":"a:b"}', /server "a:b"/],
  ['{"command":"X","sent-from-service":7}', /sent-from-service/],
  ['{"command":"X","parameters":[1]}', /must be an object/],
  ['{"command":"X","parameters":"a=1"}', /must be an object/],
  ['{"command":"X","parameters":{"a-b":1}}', /parameter "a-b"/],
];
for (const [line, why] of rejected) {
  void test(`json reject: ${line}`, () => {
    assert.throws(
      () => decodeJson(line),
      (err: unknown) => err instanceof InvalidMessageError && why.test(err.message),
    );
  });
}

void test('decodeLine picks JSON for a line starting with {, text otherwise', () => {
  assert.equal(lineFormat('  {"command":"X"}'), 'json');
  assert.equal(lineFormat('X a={}'), 'text');
  assert.deepEqual(decodeLine(' {"command":"X","parameters":{"n":1}}'), createMessage('X', { n: 1 }));
  assert.deepEqual(decodeLine('X n=1'), createMessage('X', { n: '1' }));
  const msg = createMessage('X', { n: 1 }, { service: 'svc' });
  assert.equal(encodeLine(msg), 'svc/X n=1');
  assert.equal(encodeLine(msg, 'json'), '{"service":"svc","command":"X","parameters":{"n":1}}');
  assert.throws(() => decodeLine(''), InvalidMessageError);
});

void test('json: parameters nested past the depth limit are refused (they could not be re-encoded)', () => {
  const deep = (n: number): string => `${'['.repeat(n)}${']'.repeat(n)}`;
  assert.deepEqual(decodeJson(`{"command":"X","parameters":{"a":${deep(64)}}}`).params.a !== undefined, true);
  assert.throws(() => decodeJson(`{"command":"X","parameters":{"a":${deep(65)}}}`), /deeper than 64/);
  assert.throws(() => decodeJson(`{"command":"X","parameters":{"a":${deep(200_000)}}}`), InvalidMessageError);
});

void test('encoders turn an unencodable value into InvalidMessageError', () => {
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  const msg = createMessage('X', { c: circular as never });
  assert.throws(() => encodeJson(msg), InvalidMessageError);
  assert.throws(() => encodeLine(msg, 'text'), InvalidMessageError);
});

void test('json: the hand-written envelope check agrees with the zod schema', () => {
  const field = fc.oneof(fc.constant(undefined), fc.string(), fc.jsonValue({ maxDepth: 1 }));
  const shape = fc.record(
    {
      command: field,
      server: field,
      service: field,
      'sent-from-server': field,
      'sent-from-service': field,
      parameters: field,
      other: field,
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(fc.oneof(shape, fc.jsonValue({ maxDepth: 2 })), (raw) => {
      assert.equal(isWellFormed(raw), envelope.safeParse(raw).success);
    }),
    { numRuns: 1000 },
  );
});
