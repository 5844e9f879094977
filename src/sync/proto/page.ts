/**
 * `SyncResponse` (an Upsert page: `repeated DataObject response = 1`, four string fields each)
 * encoded and decoded by hand: the bytes are exactly protobuf's, but one pass with one buffer
 * instead of protobufjs's object-by-object writer (fromObject, a writer op per field, copies) and
 * reader (toObject). Measured on 1000-object pages, this was most of the SDK's CPU per object and a
 * good part of the host's decoding. The other messages are small: wire.ts's generic codec does for them.
 */
import type { DataObject } from '../goplugin/types.js';
import { utf8Slice, utf8Write } from './buffer-utf8.js';

/** `proto.SyncResponse`: one Upsert page. */
export interface SyncResponse {
  response: DataObject[];
}

/** A page that is not a well-formed SyncResponse (truncated, a bad length, a wire type the message cannot have). */
export class PageDecodeError extends Error {
  override readonly name = 'PageDecodeError';
}

function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

function writeVarint(buf: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[at++] = n;
  return at;
}

// Field tags: (field << 3) | 2 (length-delimited).
const TAG = [0x0a, 0x12, 0x1a, 0x22] as const;

/** The protobuf bytes of `{ response: objects }`; empty strings are left out, as proto3 does. */
export function encodePage(page: SyncResponse): Buffer {
  const objects = page.response;
  const n = objects.length;
  // Pass 1: byte lengths (four per object) and the total.
  const lengths = new Int32Array(n * 5);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const o = objects[i]!;
    let size = 0;
    const b = i * 5;
    const fields = [o.remoteId, o.resourceName, o.uri, o.metadata];
    for (let f = 0; f < 4; f++) {
      const s = fields[f];
      const len = s ? Buffer.byteLength(s, 'utf8') : 0;
      lengths[b + f] = len;
      if (len) size += 1 + varintSize(len) + len;
    }
    lengths[b + 4] = size;
    total += 1 + varintSize(size) + size;
  }
  // Pass 2: write.
  const buf = Buffer.allocUnsafe(total);
  let w = 0;
  for (let i = 0; i < n; i++) {
    const o = objects[i]!;
    const b = i * 5;
    buf[w++] = 0x0a;
    w = writeVarint(buf, w, lengths[b + 4]!);
    const fields = [o.remoteId, o.resourceName, o.uri, o.metadata];
    for (let f = 0; f < 4; f++) {
      const len = lengths[b + f]!;
      if (!len) continue;
      buf[w++] = TAG[f]!;
      w = writeVarint(buf, w, len);
      w += utf8Write(buf, fields[f]!, w, len);
    }
  }
  return buf;
}

// The decoder's cursor: one module-level position (decoding is synchronous and never re-entered)
// instead of a position object handed to every helper (measured: a third faster).
let at = 0;

/** Reads a varint (values past 2^53 lose precision; no length or tag here comes near). */
function readVarint(buf: Buffer, end: number): number {
  if (at < end) {
    const b0 = buf[at]!;
    if (b0 < 0x80) {
      at++;
      return b0;
    }
    if (at + 1 < end) {
      const b1 = buf[at + 1]!;
      if (b1 < 0x80) {
        at += 2;
        return (b0 & 0x7f) | (b1 << 7);
      }
    }
  }
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (at >= end) throw new PageDecodeError('truncated varint');
    const byte = buf[at++]!;
    result += (byte & 0x7f) * scale;
    if (byte < 0x80) return result;
    scale *= 128;
  }
  throw new PageDecodeError('varint longer than 10 bytes');
}

/** Skips one field's value of `wireType` (unknown fields are kept out, as protobuf readers do). */
function skip(buf: Buffer, end: number, wireType: number): void {
  switch (wireType) {
    case 0:
      readVarint(buf, end);
      return;
    case 1:
      at += 8;
      break;
    case 2: {
      const len = readVarint(buf, end);
      at += len;
      break;
    }
    case 5:
      at += 4;
      break;
    default:
      throw new PageDecodeError(`wire type ${wireType} is not supported (groups are not used by this protocol)`);
  }
  if (at > end) throw new PageDecodeError('a field runs past the end of its message');
}

function decodeObject(buf: Buffer, end: number): DataObject {
  let remoteId = '';
  let resourceName = '';
  let uri = '';
  let metadata = '';
  while (at < end) {
    const tag = readVarint(buf, end);
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field >= 1 && field <= 4 && tag < 0x80) {
      if (wireType !== 2)
        throw new PageDecodeError(`DataObject field ${field} has wire type ${wireType}, not 2 (a string)`);
      const len = readVarint(buf, end);
      const stop = at + len;
      if (stop > end) throw new PageDecodeError(`DataObject field ${field} runs past the end of the object`);
      const text = len === 0 ? '' : utf8Slice(buf, at, stop);
      at = stop;
      if (field === 1) remoteId = text;
      else if (field === 2) resourceName = text;
      else if (field === 3) uri = text;
      else metadata = text;
    } else {
      skip(buf, end, wireType);
    }
  }
  return { remoteId, resourceName, uri, metadata };
}

/** The objects of a SyncResponse's bytes; throws `PageDecodeError` for bytes that are not one. */
export function decodePage(buf: Buffer): SyncResponse {
  const response: DataObject[] = [];
  const end = buf.length;
  at = 0;
  while (at < end) {
    const tag = readVarint(buf, end);
    const wireType = tag & 7;
    if (tag >>> 3 === 1 && tag < 0x80) {
      if (wireType !== 2)
        throw new PageDecodeError(`SyncResponse field 1 has wire type ${wireType}, not 2 (a message)`);
      const len = readVarint(buf, end);
      const stop = at + len;
      if (stop > end) throw new PageDecodeError(`object ${response.length + 1} runs past the end of the page`);
      response.push(decodeObject(buf, stop));
    } else {
      skip(buf, end, wireType);
    }
  }
  return { response };
}
