import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { LogThrottle } from './log-throttle.js';

void test('log throttle: one line per cause per interval, the next one says how many were left out', () => {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'info', base: undefined },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    }),
  );
  const t = new LogThrottle(log, 1000, 2);
  for (let i = 0; i < 50; i++) t.write('warn', 'udp', { n: i }, 'datagram refused', 10_000 + i);
  t.write('warn', 'tcp', {}, 'other cause', 10_000);
  t.write('warn', 'udp', { n: 99 }, 'datagram refused', 11_500);
  assert.deepEqual(
    lines.map((l) => [l.msg, l.n, l.alsoSeen]),
    [
      ['datagram refused', 0, undefined],
      ['other cause', undefined, undefined],
      ['datagram refused', 99, 49],
    ],
  );
  // Causes are bounded: a third one pushes out the oldest, which then logs at once again.
  t.write('info', 'third', {}, 'third cause', 11_600);
  t.write('warn', 'udp', {}, 'datagram refused', 11_700);
  assert.equal(lines.length, 5);
});
