import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeText, encodeText } from './text.js';
import { createMessage, MESSAGE_VERSION, type Message } from '../message.js';
import { InvalidMessageError } from '../errors.js';

/** [line as written by the encoder, message] — decode(line) = message and encode(message) = line. */
const canonical: Array<[string, Message, string]> = [
  ['HELP', createMessage('HELP'), 'command only'],
  [
    '<srv1:cluck srv2:cluckd/LOCK key=abc;timeout=5',
    createMessage(
      'LOCK',
      { key: 'abc', timeout: '5' },
      { server: 'srv2', service: 'cluckd' },
      { server: 'srv1', service: 'cluck' },
    ),
    'the reference example',
  ],
  ['cluckd/LOCK', createMessage('LOCK', {}, { service: 'cluckd' }), 'service without server'],
  ['<srv1: STOP', createMessage('STOP', {}, {}, { server: 'srv1' }), 'sender block with only a server'],
  ['<:cluck STOP', createMessage('STOP', {}, {}, { service: 'cluck' }), 'sender block with only a service'],
  [
    'REGISTER service=lock;version=1',
    createMessage('REGISTER', { version: String(MESSAGE_VERSION), service: 'lock' }),
    'parameters sorted by name',
  ],
  ['*/STATUS', createMessage('STATUS', {}, { service: '*' }), 'broadcast service *'],
  ['?/STATUS', createMessage('STATUS', {}, { service: '?' }), 'broadcast service ?'],
  ['./STATUS', createMessage('STATUS', {}, { service: '.' }), 'broadcast service .'],
  ['.:cluckd/LOCK', createMessage('LOCK', {}, { server: '.', service: 'cluckd' }), 'server . (this hub)'],
  ['*:cluckd/LOCK', createMessage('LOCK', {}, { server: '*', service: 'cluckd' }), 'server * (any hub)'],
  ['?:cluckd/LOCK', createMessage('LOCK', {}, { server: '?', service: 'cluckd' }), 'server ? (remote hubs)'],
  ['<*:? X', createMessage('X', {}, {}, { server: '*', service: '?' }), 'broadcast names in the sender block'],
  ['lock#2/LOCK', createMessage('LOCK', {}, { service: 'lock#2' }), 'service instance suffix'],
  ['CMD a=1;b=', createMessage('CMD', { a: '1', b: '' }), 'empty value'],
  [
    'CMD msg=hello big world;x=1',
    createMessage('CMD', { msg: 'hello big world', x: '1' }),
    'spaces inside a value need no quoting',
  ],
  ['CMD path=C:\\\\dir\\\\', createMessage('CMD', { path: 'C:\\dir\\' }), 'backslash doubled'],
  ['CMD text=line1\\nline2\\r', createMessage('CMD', { text: 'line1\nline2\r' }), 'LF and CR escaped'],
  ['CMD cache="no;reply"', createMessage('CMD', { cache: 'no;reply' }), 'value with ; is quoted'],
  [
    'CMD q="\\"hi\\" there"',
    createMessage('CMD', { q: '"hi" there' }),
    'value starting with " is quoted, inner " escaped',
  ],
  ['CMD q=say "hi"', createMessage('CMD', { q: 'say "hi"' }), 'inner " not at the start stays as is'],
  ['CMD q="a;\\"b\\\\"', createMessage('CMD', { q: 'a;"b\\' }), 'quoted value ending in a backslash'],
  ['CMD q="x "', createMessage('CMD', { q: 'x ' }), 'value ending in a space is quoted so trimming keeps it'],
  [
    'CMD _x=1;a9=2;aB=3',
    createMessage('CMD', { aB: '3', _x: '1', a9: '2' }),
    'names with _ and digits, sorted by code unit',
  ],
  ['CMD u=héllo ✓ 𝄞', createMessage('CMD', { u: 'héllo ✓ 𝄞' }), 'unicode values pass through'],
  ['_PRIVATE_1', createMessage('_PRIVATE_1'), 'command with _ and digits'],
];

for (const [line, msg, rule] of canonical) {
  void test(`text vector: ${rule}`, () => {
    assert.deepEqual(decodeText(line), msg);
    assert.equal(encodeText(msg), line);
  });
}

/** Lines the decoder accepts that the encoder writes differently. */
const accepted: Array<[string, Message, string]> = [
  ['  HELP \r\n', createMessage('HELP'), 'input trimmed (telnet sends CRLF)'],
  ['\tCMD a=1;b=2;', createMessage('CMD', { a: '1', b: '2' }), 'trailing ; accepted'],
  ['CMD b=2;a=1', createMessage('CMD', { a: '1', b: '2' }), 'unsorted parameters accepted'],
  ['CMD a=1;a=2', createMessage('CMD', { a: '2' }), 'a repeated parameter: the last wins'],
  ['CMD a="plain"', createMessage('CMD', { a: 'plain' }), 'quotes on a plain value'],
  ['CMD a=x\\ty', createMessage('CMD', { a: 'x\\ty' }), 'unknown escape kept as is'],
  ['CMD a="x\\ny";b=2', createMessage('CMD', { a: 'x\ny', b: '2' }), 'escapes inside quotes'],
  ['<: CMD', createMessage('CMD'), 'empty sender block'],
  [
    'CMD __proto__=x',
    {
      ...createMessage('CMD'),
      params: Object.defineProperty({}, '__proto__', {
        value: 'x',
        enumerable: true,
        writable: true,
        configurable: true,
      }),
    },
    '__proto__ is an ordinary parameter',
  ],
];

for (const [line, msg, rule] of accepted) {
  void test(`text decode: ${rule}`, () => {
    const got = decodeText(line);
    assert.deepEqual(got, msg);
    assert.deepEqual(decodeText(encodeText(got)), got);
  });
}

void test('text encode: server only written with a service', () => {
  assert.equal(encodeText(createMessage('STOP', {}, { server: 'srv2' })), 'STOP');
});

void test('text encode: non-string parameters written as text', () => {
  assert.equal(
    encodeText(createMessage('CMD', { n: 5, t: true, z: null, o: { a: [1] } })),
    'CMD n=5;o={"a":[1]};t=true;z=',
  );
});

const rejected: Array<[string, RegExp]> = [
  ['', /empty/],
  ['   \r\n', /empty/],
  ['<srv:svc', /sender block/],
  ['<srv CMD', /colon before the first space/],
  ['<sr-v:svc CMD', /sender server "sr-v"/],
  ['help', /command "help"/],
  ['1CMD', /command "1CMD"/],
  ['svc/', /a command is required/],
  ['/CMD', /service name is required/],
  [':svc/CMD', /server name cannot be empty/],
  ['srv:CMD', /only allowed together with a service/],
  ['a:b:c/CMD', /service "b:c"/],
  ['svc/srv:CMD', /command "srv:CMD"/],
  ['a/b/CMD', /command "b\/CMD"/],
  ['my-svc/CMD', /service "my-svc"/],
  ['CMD a', /must be followed by "="/],
  ['CMD =1', /parameter "" is not valid/],
  ['CMD 9a=1', /parameter "9a"/],
  ['CMD a-b=1', /parameter "a-b"/],
  ['CMD  a=1', /parameter " a"/],
  ['CMD a="open', /must end with a quote/],
  ['CMD a="x"y', /expected ";"/],
  ['svc#/CMD', /service "svc#"/],
];

for (const [line, why] of rejected) {
  void test(`text reject: ${JSON.stringify(line)}`, () => {
    assert.throws(
      () => decodeText(line),
      (err: unknown) => err instanceof InvalidMessageError && err.code === 'INVALID_MESSAGE' && why.test(err.message),
    );
  });
}

void test('text encode: invalid names are refused, not written', () => {
  assert.throws(() => encodeText(createMessage('lower')), InvalidMessageError);
  assert.throws(() => encodeText(createMessage('CMD', { 'bad name': 'x' })), InvalidMessageError);
  assert.throws(() => encodeText(createMessage('CMD', {}, { service: 'a/b' })), InvalidMessageError);
  assert.throws(() => encodeText(createMessage('CMD', {}, {}, { server: 'a b' })), InvalidMessageError);
});

void test('text decode: a long pathological line stays linear', () => {
  // 200k tiny parameters and one backslash at the very end: a per-value rescan would take minutes.
  const line = `CMD ${'a=;'.repeat(200_000)}z=\\\\`;
  const msg = decodeText(line);
  assert.equal(msg.params.z, '\\');
});

void test('names remembered from earlier lines never let a different or invalid name through', () => {
  // Same length, first and last character: the same cache slot.
  assert.deepEqual(decodeText('svc/RUN abc=1').params, { abc: '1' });
  assert.deepEqual(decodeText('svc/RUN aXc=2').params, { aXc: '2' });
  assert.throws(() => decodeText('svc/RUN a-c=3'), /parameter "a-c" is not valid/);
  assert.deepEqual(decodeText('svc/RUN abc=4').params, { abc: '4' });
  assert.equal(decodeText('s1c/RUN').to.service, 's1c');
  assert.throws(() => decodeText('s c/RUN'), InvalidMessageError);
  assert.throws(() => decodeText('s.c/RUN'), /service "s.c" is not valid/);
  // The encoder's check goes through the same tables: a valid name does not vouch for a lookalike.
  assert.equal(encodeText(createMessage('RUN', { abc: 1 }, { service: 'svc' })), 'svc/RUN abc=1');
  assert.throws(() => encodeText(createMessage('RUN', { 'a-c': 1 }, { service: 'svc' })), InvalidMessageError);
  assert.throws(() => encodeText(createMessage('RuN', {}, { service: 'svc' })), InvalidMessageError);
  assert.throws(() => encodeText(createMessage('RUN', {}, { service: 's-c' })), InvalidMessageError);
});
