/**
 * Node's Buffer#utf8Write and Buffer#utf8Slice: what `buf.write(s, at, len, 'utf8')` and
 * `buf.toString('utf8', a, b)` call after their argument handling. They are not in the typings
 * (protobufjs calls them too). On 1000-object pages the public calls cost ~10% more to encode
 * and ~30% more to decode (bench/README.md, "Private APIs"), so the page codec keeps them, here
 * alone; buffer-utf8.test.ts fails when a Node release drops or changes them, and the public calls
 * stand in at run time if that happens.
 */
type Utf8Write = (this: Buffer, text: string, offset: number, length: number) => number;
type Utf8Slice = (this: Buffer, start: number, end: number) => string;

const proto = Buffer.prototype as unknown as { utf8Write?: Utf8Write; utf8Slice?: Utf8Slice };
const privateWrite = typeof proto.utf8Write === 'function' ? proto.utf8Write : undefined;
const privateSlice = typeof proto.utf8Slice === 'function' ? proto.utf8Slice : undefined;

/** True while this Node offers both (the test insists). */
export const USES_PRIVATE_BUFFER_UTF8 = privateWrite !== undefined && privateSlice !== undefined;

/** Writes `text` as UTF-8 at `offset` (at most `length` bytes); returns the bytes written. */
export const utf8Write: (buf: Buffer, text: string, offset: number, length: number) => number = privateWrite
  ? (buf, text, offset, length) => privateWrite.call(buf, text, offset, length)
  : (buf, text, offset, length) => buf.write(text, offset, length, 'utf8');

/** The UTF-8 text of `buf[start, end)`. */
export const utf8Slice: (buf: Buffer, start: number, end: number) => string = privateSlice
  ? (buf, start, end) => privateSlice.call(buf, start, end)
  : (buf, start, end) => buf.toString('utf8', start, end);
