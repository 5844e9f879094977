import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeText, encodeJson, encodeText } from './codec/index.js';
import { textMessage } from './codec/arbitraries.js';
import type { InvalidMessageError } from './errors.js';
import { createMessage, type Message } from './message.js';
import { MessageConnection, Outgoing, guessCommand, restamp, type Received } from './message-connection.js';
import { PassThrough } from 'node:stream';
import { memoryChannelPair, streamChannel } from './transports/index.js';

/** A message connection on one end of an in-memory pair, the raw channel on the other. */
function pair(options: ConstructorParameters<typeof MessageConnection>[1] = {}) {
  const [mine, theirs] = memoryChannelPair();
  const conn = new MessageConnection(mine, options);
  const got: Received[] = [];
  const invalid: { raw: string; err: InvalidMessageError; reply: Message | undefined }[] = [];
  const refused: { received: Received; reason: string }[] = [];
  const peer: string[] = [];
  theirs.on('frame', (f) => peer.push(f));
  conn.listen({
    message: (r) => got.push(r),
    invalid: (raw, err, reply) => invalid.push({ raw, err, reply }),
    refused: (received, reason) => refused.push({ received, reason }),
  });
  const settle = () => new Promise((r) => setTimeout(r, 5));
  return { conn, theirs, got, invalid, refused, peer, settle };
}

void test('message layer: decodes each line once, in its own format, and writes in the peer format', async () => {
  const p = pair();
  const json = encodeJson(createMessage('PING', { n: 1 }, { service: 'clock' }));
  p.theirs.send('clock/TIME zone=UTC');
  p.theirs.send(json);
  await p.settle();
  assert.deepEqual(
    p.got.map((r) => [r.format, r.message.command, r.raw]),
    [
      ['text', 'TIME', 'clock/TIME zone=UTC'],
      ['json', 'PING', json],
    ],
  );
  assert.deepEqual(p.got[1]!.message.params, { n: 1 }, 'JSON keeps types');
  assert.equal(p.conn.format, 'text', 'the first line set the format');
  p.conn.send(createMessage('READY', { a: 'b' }));
  p.conn.format = 'json';
  p.conn.send(new Outgoing(createMessage('READY', { a: 'b' })));
  await p.settle();
  assert.deepEqual(p.peer, ['READY a=b', '{"command":"READY","parameters":{"a":"b"}}']);
});

void test('message layer: a bad line is reported, and answered with INVALID when the connection answers', async () => {
  const silent = pair();
  silent.theirs.send('clock/time');
  await silent.settle();
  assert.equal(silent.invalid.length, 1);
  assert.equal(silent.invalid[0]!.err.code, 'INVALID_MESSAGE');
  assert.equal(silent.invalid[0]!.reply, undefined);
  assert.deepEqual(silent.peer, []);

  const answering = pair({ replies: { from: { server: 'hub' }, to: () => ({ server: 'hub', service: 'me' }) } });
  answering.theirs.send('{"command": 5}');
  answering.theirs.send('<a:b svc/CMD x');
  await answering.settle();
  assert.equal(answering.invalid.length, 2);
  assert.equal(answering.conn.format, 'json', 'a bad first line still tells the format');
  const replies = answering.peer.map((l) => JSON.parse(l) as { command: string; parameters: Record<string, string> });
  assert.deepEqual(
    replies.map((r) => [r.command, r.parameters.command]),
    [
      ['INVALID', undefined],
      ['INVALID', 'CMD'],
    ],
  );
  assert.match(replies[1]!.parameters.message!, /must be followed by "="/);
});

void test('message layer: the shortcut sees checked text lines past the first one; what it declines is decoded', async () => {
  const offered: string[] = [];
  const p = pair({
    shortcut: (head, raw) => {
      offered.push(`${head.service}/${head.command}`);
      return raw.includes('take');
    },
  });
  p.theirs.send('first/ONE');
  p.theirs.send('svc/CMD take=1');
  p.theirs.send('svc/CMD leave=1');
  p.theirs.send('svc/CMD bad');
  p.theirs.send(encodeJson(createMessage('JSON', {}, { service: 'svc' })));
  await p.settle();
  assert.deepEqual(offered, ['svc/CMD', 'svc/CMD'], 'not the first line, not a bad line, not JSON');
  assert.deepEqual(
    p.got.map((r) => r.message.command),
    ['ONE', 'CMD', 'JSON'],
  );
  assert.equal(p.invalid.length, 1);
});

void test('message layer: admit refuses on the fast path and the full path alike', async () => {
  const checked: string[] = [];
  const p = pair({
    replies: { from: { server: 'hub' }, to: () => ({}) },
    shortcut: () => true,
    admit: (server, service, command) => {
      checked.push(`${server}:${service}/${command}`);
      return service === 'secret' ? `you may not send to ${service}` : undefined;
    },
  });
  p.theirs.send('open/HELLO'); // first line: the full path
  p.theirs.send('secret/PEEK'); // fast path
  p.theirs.send('x:secret/PEEK a=1'); // fast path
  p.theirs.send(encodeJson(createMessage('PEEK', {}, { service: 'secret' }))); // full path
  await p.settle();
  assert.deepEqual(checked, [':open/HELLO', ':secret/PEEK', 'x:secret/PEEK', ':secret/PEEK']);
  assert.deepEqual(
    p.refused.map((r) => [r.received.format, r.received.message.command, r.reason]),
    [
      ['text', 'PEEK', 'you may not send to secret'],
      ['text', 'PEEK', 'you may not send to secret'],
      ['json', 'PEEK', 'you may not send to secret'],
    ],
  );
  assert.deepEqual(
    p.got.map((r) => r.message.command),
    ['HELLO'],
  );
  assert.equal(p.peer.length, 3);
  for (const line of p.peer) assert.match(line, /^<hub: INVALID command=PEEK;message=you may not send to secret$/);
});

void test('message layer: a line over the limit is answered before the channel closes', async () => {
  const input = new PassThrough();
  const output = new PassThrough();
  const channel = streamChannel(input, output, { transport: 'test', remoteAddress: 'test' }, { maxLineLength: 16 });
  const conn = new MessageConnection(channel, { replies: { from: { server: 'hub' }, to: () => ({}) } });
  const errors: string[] = [];
  let answer = '';
  output.on('data', (chunk: Buffer) => (answer += chunk.toString()));
  const closed = new Promise<void>((resolve) =>
    conn.listen({
      message: () => assert.fail('no message'),
      error: (e, reply) => errors.push(`${e.message} / ${reply?.command}`),
      close: () => resolve(),
    }),
  );
  input.write('x'.repeat(40));
  await closed;
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /more than 16 bytes.* \/ INVALID$/);
  assert.match(answer, /^<hub: INVALID message=".*more than 16 bytes.*; the connection is closed"\n$/);
});

void test('message layer: detach hands the channel to someone else', async () => {
  const p = pair();
  p.theirs.send('a/ONE');
  await p.settle();
  p.conn.detach();
  const other: string[] = [];
  p.conn.channel.on('frame', (f) => other.push(f));
  p.theirs.send('a/TWO');
  await p.settle();
  assert.deepEqual(
    p.got.map((r) => r.message.command),
    ['ONE'],
  );
  assert.deepEqual(other, ['a/TWO']);
});

void test('guessCommand reads the command of a line that does not parse', () => {
  assert.equal(guessCommand('<a:b svc/CMD x'), 'CMD');
  assert.equal(guessCommand('  REGISTER service'), 'REGISTER');
  assert.equal(guessCommand('lower/case'), undefined);
});

void test("restamp: the pass-through text line decodes to the message with the hub's sender block", () => {
  fc.assert(
    fc.property(textMessage, fc.boolean(), fc.constantFrom('', ' ', '\t '), (msg, hadSender, pad) => {
      const source = pad + encodeText(hadSender ? msg : { ...msg, sentFrom: { server: '', service: '' } }) + pad;
      const stamped = { ...decodeText(source), sentFrom: { server: 'hub1', service: 'svc#2' } };
      const line = restamp(stamped.sentFrom, source);
      assert.deepEqual(decodeText(line), stamped);
    }),
    { numRuns: 300 },
  );
  assert.equal(restamp({ server: 'h', service: '' }, '<spoof:er x/CMD b=2;a=1  '), '<h: x/CMD b=2;a=1');
});
