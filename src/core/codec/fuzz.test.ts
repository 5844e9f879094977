import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeLine } from './index.js';
import { decodeText, encodeText, scanText } from './text.js';
import { encodeJson } from './json.js';
import { InvalidMessageError } from '../errors.js';
import { jsonMessage, textMessage, trickyString } from './arbitraries.js';

/** Either a message or an InvalidMessageError: anything else thrown fails the property. */
function decodesOrRefuses(line: string): void {
  try {
    decodeLine(line);
  } catch (err) {
    if (!(err instanceof InvalidMessageError))
      throw new Error(`decodeLine(${JSON.stringify(line)}) threw ${String(err)}`);
    assert.ok(err.message.length > 10);
  }
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: trickyString }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), text: fc.string({ maxLength: 3 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(line: string, ms: Mutation[]): string {
  let out = line;
  for (const m of ms) {
    const at = out.length === 0 ? 0 : m.at % (out.length + 1);
    if (m.kind === 'insert') out = out.slice(0, at) + m.text + out.slice(at);
    else if (m.kind === 'delete') out = out.slice(0, at) + out.slice(at + m.length);
    else out = out.slice(0, at) + m.text + out.slice(at + m.text.length);
  }
  return out;
}

void test('fuzz: random strings never crash the decoder', () => {
  // Any UTF-16 code unit, lone surrogates included (fast-check's 'binary' unit is slow to set up).
  const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
  fc.assert(fc.property(fc.string({ unit: anyUnit, maxLength: 200 }), decodesOrRefuses), { numRuns: 1500 });
  fc.assert(fc.property(trickyString, decodesOrRefuses), { numRuns: 1500 });
});

void test('fuzz: mutated valid text lines never crash the decoder', () => {
  fc.assert(
    fc.property(textMessage, fc.array(mutation, { minLength: 1, maxLength: 4 }), (m, ms) =>
      decodesOrRefuses(mutate(encodeText(m), ms)),
    ),
    { numRuns: 1500 },
  );
});

void test('fuzz: mutated valid JSON lines never crash the decoder', () => {
  fc.assert(
    fc.property(jsonMessage, fc.array(mutation, { minLength: 1, maxLength: 4 }), (m, ms) =>
      decodesOrRefuses(mutate(encodeJson(m), ms)),
    ),
    { numRuns: 1000 },
  );
});

void test('fuzz: JSON of any shape never crashes the decoder', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 3 }), (v) =>
      decodesOrRefuses(`{"command":"X","parameters":${JSON.stringify(v)}}`),
    ),
    { numRuns: 700 },
  );
  fc.assert(
    fc.property(fc.object({ maxDepth: 2 }), (v) => decodesOrRefuses(JSON.stringify(v))),
    { numRuns: 700 },
  );
});

/** scanText (the hub's no-copy check) accepts exactly the lines decodeText accepts, with the same head. */
function scanAgrees(line: string): void {
  let decoded;
  try {
    decoded = decodeText(line);
  } catch {
    decoded = undefined;
  }
  const head = scanText(line);
  if (decoded === undefined) {
    assert.equal(head, undefined, `scanText accepted ${JSON.stringify(line)}`);
    return;
  }
  assert.ok(head, `scanText refused ${JSON.stringify(line)}`);
  assert.deepEqual(
    {
      server: head.server,
      service: head.service,
      command: head.command,
      fromServer: head.fromServer,
      fromService: head.fromService,
    },
    {
      server: decoded.to.server,
      service: decoded.to.service,
      command: decoded.command,
      fromServer: decoded.sentFrom.server,
      fromService: decoded.sentFrom.service,
    },
  );
  assert.equal(head.special, 'cache' in decoded.params || 'transmission_report' in decoded.params);
}

void test('fuzz: scanText refuses and accepts the same text lines as decodeText', () => {
  fc.assert(
    fc.property(textMessage, fc.array(mutation, { minLength: 0, maxLength: 4 }), (m, ms) =>
      scanAgrees(mutate(encodeText(m), ms)),
    ),
    { numRuns: 2000 },
  );
  fc.assert(fc.property(trickyString, scanAgrees), { numRuns: 1000 });
  for (const line of [
    'svc/RUN cache=no',
    'svc/RUN a="x;y";transmission_report=all',
    'svc/RUN a="open',
    'svc/RUN a="x"b=1',
    'svc/RUN a\\=1',
    '<s:c svc/RUN x=\\n',
  ])
    scanAgrees(line);
});
