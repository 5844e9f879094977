/**
 * The page codec's one reach into Node's private Buffer methods (buffer-utf8.ts): this fails
 * loudly when a Node release drops utf8Write/utf8Slice or makes them disagree with the public
 * write/toString, instead of the codec silently taking the slower public path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { USES_PRIVATE_BUFFER_UTF8, utf8Slice, utf8Write } from './buffer-utf8.js';

const SAMPLES = ['', 'plain ascii', 'é and ü', '日本語のテキスト', 'emoji 😀 and 𝄞', 'x'.repeat(300)];

void test("this Node still has Buffer#utf8Write and Buffer#utf8Slice (if not: the codec runs on the public calls; re-measure bench/README.md's page codec and drop buffer-utf8.ts)", () => {
  assert.equal(USES_PRIVATE_BUFFER_UTF8, true);
});

void test('utf8Write and utf8Slice agree with the public write and toString, also when the space cuts a character', () => {
  for (const text of SAMPLES) {
    const size = Buffer.byteLength(text);
    for (const room of [size, Math.max(0, size - 1), Math.floor(size / 2)]) {
      const mine = Buffer.alloc(size + 4, 0);
      const theirs = Buffer.alloc(size + 4, 0);
      const wrote = utf8Write(mine, text, 2, room);
      assert.equal(wrote, theirs.write(text, 2, room, 'utf8'), `${JSON.stringify(text)} in ${room} bytes`);
      assert.deepEqual(mine, theirs);
      assert.equal(utf8Slice(mine, 2, 2 + wrote), theirs.toString('utf8', 2, 2 + wrote));
    }
    const whole = Buffer.from(text);
    assert.equal(utf8Slice(whole, 0, whole.length), text);
  }
});
