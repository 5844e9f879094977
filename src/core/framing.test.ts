import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineFramer, readLines } from './framing.js';
import type { LineTooLongError } from './errors.js';

function collect(max = 1024) {
  const lines: string[] = [];
  const errors: LineTooLongError[] = [];
  const framer = new LineFramer({ line: (l) => lines.push(l), error: (e) => errors.push(e) }, max);
  return { framer, lines, errors };
}

const sample = 'HELLO a=é;b=✓\r\nsvc/CMD x=𝄞\n\nLAST z=1\r\n';
const expected = ['HELLO a=é;b=✓', 'svc/CMD x=𝄞', '', 'LAST z=1'];

void test('framing: byte by byte, with multibyte UTF-8 and CRLF split across chunks', () => {
  const { framer, lines, errors } = collect();
  const bytes = Buffer.from(sample);
  for (let i = 0; i < bytes.length; i++) framer.push(bytes.subarray(i, i + 1));
  assert.deepEqual(lines, expected);
  assert.equal(errors.length, 0);
  assert.equal(framer.end(), 0);
});

void test('framing: every split point of two chunks gives the same lines', () => {
  const bytes = Buffer.from(sample);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const { framer, lines } = collect();
    framer.push(bytes.subarray(0, cut));
    framer.push(bytes.subarray(cut));
    assert.deepEqual(lines, expected, `cut at byte ${cut}`);
  }
});

void test('framing: any chunking of any lines gives the lines back (property)', () => {
  const lineArb = fc
    .string({
      unit: fc.oneof(
        fc.constantFrom('a', 'é', '✓', '𝄞', '\r', ' '),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
      ),
      maxLength: 30,
    })
    .filter((s) => !s.includes('\n') && !s.endsWith('\r'));
  fc.assert(
    fc.property(
      fc.array(lineArb, { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      fc.boolean(),
      (input, cuts, crlf) => {
        const bytes = Buffer.from(input.map((l) => l + (crlf ? '\r\n' : '\n')).join(''));
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const { framer, lines } = collect(1_000_000);
        let prev = 0;
        for (const p of [...points, bytes.length]) {
          framer.push(bytes.subarray(prev, p));
          prev = p;
        }
        assert.deepEqual(lines, input);
      },
    ),
    { numRuns: 500 },
  );
});

void test('framing: a line over the limit is an error, then input is ignored', () => {
  const { framer, lines, errors } = collect(10);
  framer.push('ok\n0123456789\n01234567890\nafter\n');
  assert.deepEqual(lines, ['ok', '0123456789']);
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.code, 'LINE_TOO_LONG');
  assert.match(errors[0]!.message, /more than 10 bytes/);
  framer.push('more\n');
  assert.deepEqual(lines, ['ok', '0123456789']);
});

void test('framing: the limit counts bytes, not characters, and CRLF is not counted', () => {
  const a = collect(10);
  a.framer.push(Buffer.from('éééé\r\n')); // 8 bytes
  a.framer.push(Buffer.from('ééééé\n')); // 10 bytes
  a.framer.push(Buffer.from('éééééé\n')); // 12 bytes
  assert.deepEqual(a.lines, ['éééé', 'ééééé']);
  assert.equal(a.errors.length, 1);
});

void test('framing: an unterminated line held open fails as soon as it passes the limit', () => {
  const { framer, lines, errors } = collect(100);
  for (let i = 0; i < 10; i++) framer.push(Buffer.alloc(10, 0x61));
  assert.equal(errors.length, 0);
  framer.push(Buffer.alloc(2, 0x61)); // 102 bytes, no newline
  assert.equal(errors.length, 1);
  assert.deepEqual(lines, []);
});

void test('framing: end() reports a discarded partial line', () => {
  const { framer, lines } = collect();
  framer.push('CMD a=1\nHALF a=');
  assert.equal(framer.end(), 7);
  assert.deepEqual(lines, ['CMD a=1']);
  framer.push('ignored\n');
  assert.deepEqual(lines, ['CMD a=1']);
});

void test('framing: stop() inside a sink callback stops the rest of the chunk', () => {
  const lines: string[] = [];
  const framer: LineFramer = new LineFramer({
    line: (l) => {
      lines.push(l);
      framer.stop();
    },
    error: () => undefined,
  });
  framer.push('a\nb\nc\n');
  assert.deepEqual(lines, ['a']);
});

void test('framing: pause() inside a sink callback holds the rest of the chunk (and later chunks) until resume()', () => {
  const lines: string[] = [];
  let pauseAfter = new Set(['a', 'c']);
  const framer: LineFramer = new LineFramer({
    line: (l) => {
      lines.push(l);
      if (pauseAfter.has(l)) framer.pause();
    },
    error: () => undefined,
  });
  framer.push('a\nb\nc\nd');
  assert.deepEqual(lines, ['a'], 'paused between two lines of one chunk');
  assert.equal(framer.isPaused, true);
  framer.push(Buffer.from('\ne\n'));
  assert.deepEqual(lines, ['a'], 'a chunk that arrives while paused is kept');
  framer.resume();
  assert.deepEqual(lines, ['a', 'b', 'c'], 'resumed, it paused again after c');
  pauseAfter = new Set();
  framer.resume();
  assert.deepEqual(lines, ['a', 'b', 'c', 'd', 'e'], 'the partial line completed by the later chunk');
  framer.push('f');
  framer.pause();
  assert.equal(framer.end(), 1, 'at the end, what was kept counts as discarded');
});

void test('framing: arbitrary bytes (invalid UTF-8 included) never throw; lines never exceed the limit', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), (chunks) => {
      const { framer, lines, errors } = collect(48);
      for (const c of chunks) framer.push(Buffer.from(c));
      framer.end();
      for (const l of lines) assert.ok(Buffer.byteLength(l) <= 48);
      assert.ok(errors.length <= 1);
    }),
    { numRuns: 500 },
  );
});

void test('framing, skip: over-long lines are skipped up to their newline and reported; the next lines arrive', () => {
  const lines: string[] = [];
  const over: number[] = [];
  const framer = new LineFramer(
    { line: (l) => (l.trim() ? lines.push(l) : 0), error: (e) => over.push(e.data?.received as number) },
    { maxLineLength: 10, overLong: 'skip' },
  );
  framer.push('ab');
  framer.push('c\r\nxyz\n\n');
  framer.push('0123456789ABCDEF');
  framer.push('GHI\nok\n');
  framer.push('0123456789AB\nlast');
  framer.push('\n');
  assert.deepEqual(lines, ['abc', 'xyz', 'ok', 'last']);
  assert.deepEqual(over, [19, 12]);
  framer.push('0123456789ABCDEF');
  assert.equal(framer.end(), 0);
  assert.deepEqual(over, [19, 12, 16], 'a line still being skipped at the end is reported');
});

void test('framing, cut: CRLF, split chunks and endless lines delivered in pieces; the last line kept at the end', () => {
  const lines: string[] = [];
  const framer = new LineFramer(
    { line: (l) => lines.push(l), error: () => assert.fail('cut reports no error') },
    { maxLineLength: 8, overLong: 'cut', keepPartial: true },
  );
  framer.push('ab');
  framer.push('c\r\nde');
  framer.push('f\n0123456789');
  framer.end();
  assert.deepEqual(lines, ['abc', 'def', '01234567', '89']);
});

void test('readLines: lines of a stream, the unterminated last one kept when asked', async () => {
  const { Readable } = await import('node:stream');
  const lines: string[] = [];
  await new Promise<void>((resolve) =>
    readLines(Readable.from([Buffer.from('one\ntw'), Buffer.from('o\r\nthree')]), (l) => lines.push(l), {
      keepPartial: true,
      onEnd: resolve,
    }),
  );
  assert.deepEqual(lines, ['one', 'two', 'three']);
});
