/** The pure parts of send/sniff: typed-message parsing, flag validation, SNIFFED rendering. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMessage } from '../core/message.js';
import { readFileSync } from 'node:fs';
import { parseTypedMessage, separatorHints } from './message-line.js';
import { parseSendOptions, parseSniffOptions } from './options.js';
import { formatSniffed, readSniffed } from './sniff.js';

void test('typed messages: text and JSON lines; mistakes get a hint', () => {
  assert.deepEqual(parseTypedMessage('clock/TIME zone=UTC;n=1'), {
    command: 'TIME',
    to: { server: '', service: 'clock' },
    params: { zone: 'UTC', n: '1' },
  });
  assert.deepEqual(parseTypedMessage('{"service":"clock","command":"TIME","parameters":{"n":1}}').params, { n: 1 });
  assert.throws(() => parseTypedMessage('   '), /the message is empty/);
  assert.throws(() => parseTypedMessage('clock/time'), /service\/COMMAND name=value/);
  assert.throws(() => parseTypedMessage('{"service":'), /a JSON message is an object/);
});

void test("a space where a ';' was meant: one parameter, and a note that says so", () => {
  const line = 'sync/LIST_DATA search=invoice page_size=10';
  const msg = parseTypedMessage(line);
  assert.deepEqual(msg.params, { search: 'invoice page_size=10' }, 'the text form reads one parameter');
  assert.deepEqual(separatorHints(line, msg), [
    'parameter search is "invoice page_size=10": parameters are separated by ";", not spaces; did you mean search=invoice;page_size=10?',
  ]);
  const fixed = 'sync/LIST_DATA search=invoice;page_size=10';
  assert.deepEqual(parseTypedMessage(fixed).params, { search: 'invoice', page_size: '10' });
  assert.deepEqual(separatorHints(fixed, parseTypedMessage(fixed)), []);
  assert.deepEqual(
    separatorHints('x/Y text=hi there', parseTypedMessage('x/Y text=hi there')),
    [],
    'spaces alone are fine',
  );
  const json = '{"service":"x","command":"Y","parameters":{"q":"a b=c"}}';
  assert.deepEqual(separatorHints(json, parseTypedMessage(json)), [], 'JSON parameters are explicit');
});

void test("the README's `switchboard send '...'` examples read as they mean (no forgotten ';')", () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const examples = [...readme.matchAll(/switchboard send [^`\n]*?'([^'\n]+)'/g)].map((m) => m[1]!);
  assert.ok(
    examples.some((e) => e.startsWith('sync/LIST_DATA')),
    'the sync example is among them',
  );
  for (const line of examples) assert.deepEqual(separatorHints(line, parseTypedMessage(line)), [], line);
});

void test('flags: timeout, service and command names, addresses', () => {
  assert.throws(
    () => parseSendOptions({ timeout: '5000', secret: 's3cret', address: 'cd://127.0.0.1:4999' }),
    /--secret is the signal_secret of UDP signals \(cdu:\/\/\); cd:\/\/127\.0\.0\.1:4999 is a stream connection/,
  );
  assert.equal(
    parseSendOptions({ timeout: '5000', address: 'cd://127.0.0.1:4999' }, { SWITCHBOARD_SIGNAL_SECRET: 'x' }).secret,
    undefined,
    'the environment secret goes with UDP signals only',
  );
  assert.equal(parseSendOptions({ timeout: '5000', address: '127.0.0.1:4999' }).address, 'cd://127.0.0.1:4999');
  assert.equal(parseSendOptions({ timeout: '250', address: 'cd://127.0.0.1:4999' }).timeoutMs, 250);
  assert.throws(() => parseSendOptions({ timeout: '0' }), /--timeout must be between 1 and 3600000 ms/);
  assert.throws(() => parseSendOptions({ timeout: '5000', as: '9lives' }), /--as a service name/);
  assert.throws(() => parseSendOptions({ timeout: '5000', address: 'http://x' }), /http/);
  assert.throws(
    () => parseSendOptions({ timeout: '5000', wait: true, address: 'cdu://127.0.0.1:4041' }),
    /--wait needs a stream connection/,
  );
  assert.deepEqual(
    parseSniffOptions({ service: 'clock', command: 'TIME', json: true, address: 'cd://127.0.0.1:4040' }),
    { address: 'cd://127.0.0.1:4040', service: 'clock', command: 'TIME', json: true },
  );
  assert.throws(() => parseSniffOptions({ command: 'time' }), /--command a command is upper case/);
});

void test('SNIFFED notices read in both formats and print on one line', () => {
  const text = readSniffed(
    createMessage('SNIFFED', {
      at: '1700000000123',
      outcome: 'delivered',
      delivered_to: 'clock#1,clock#2',
      message: '<vm:caller clock/TIME zone=UTC',
    }),
  );
  assert.deepEqual(text, {
    at: 1700000000123,
    outcome: 'delivered',
    delivered_to: ['clock#1', 'clock#2'],
    message: '<vm:caller clock/TIME zone=UTC',
  });
  assert.equal(formatSniffed(text), '22:13:20.123 delivered <vm:caller clock/TIME zone=UTC  -> clock#1,clock#2');
  const json = readSniffed(
    createMessage('SNIFFED', {
      at: 1700000000123,
      outcome: 'failed',
      reason: 'no such service',
      message: {
        'sent-from-server': 'vm',
        'sent-from-service': 'caller',
        service: 'nobody',
        command: 'PING',
        parameters: { n: 1 },
      },
    }),
  );
  assert.equal(json.reason, 'no such service');
  assert.equal(formatSniffed(json), '22:13:20.123 failed    <vm:caller nobody/PING n=1  (no such service)');
});
