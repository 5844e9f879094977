/**
 * `SyncResponse` (an Upsert page: `repeated DataObject response = 1`, four string fields each)
 * encoded and decoded by hand: the bytes are exactly protobuf's, but one pass with one buffer
 * instead of protobufjs's object-by-object writer (fromObject, a writer op per field, copies) and
 * reader (toObject). Measured on 1000-object pages, this was most of the SDK's CPU per object and a
 * good part of the host's decoding. Every other message keeps the proto-loader codecs.
 */
import type { MethodDefinition } from '@grpc/grpc-js';
import type { DataObject } from '../goplugin/types.js';
import { methods, type Empty, type SyncResponse } from './index.js';

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
  let at = 0;
  for (let i = 0; i < n; i++) {
    const o = objects[i]!;
    const b = i * 5;
    buf[at++] = 0x0a;
    at = writeVarint(buf, at, lengths[b + 4]!);
    const fields = [o.remoteId, o.resourceName, o.uri, o.metadata];
    for (let f = 0; f < 4; f++) {
      const len = lengths[b + f]!;
      if (!len) continue;
      buf[at++] = TAG[f]!;
      at = writeVarint(buf, at, len);
      at += buf.write(fields[f]!, at, len, 'utf8');
    }
  }
  return buf;
}

/** Reads a varint at `pos.at` (up to 64 bits; values past 2^53 lose precision, which no length here reaches). */
function readVarint(buf: Buffer, pos: { at: number }, end: number): number {
  let result = 0;
  let shift = 0;
  for (let i = 0; i < 10; i++) {
    if (pos.at >= end) throw new PageDecodeError('truncated varint');
    const byte = buf[pos.at++]!;
    result += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return result;
    shift += 7;
  }
  throw new PageDecodeError('varint longer than 10 bytes');
}

/** Skips one field's value of `wireType` (unknown fields are kept out, as protobuf readers do). */
function skip(buf: Buffer, pos: { at: number }, end: number, wireType: number): void {
  switch (wireType) {
    case 0: readVarint(buf, pos, end); return;
    case 1: pos.at += 8; break;
    case 2: { const len = readVarint(buf, pos, end); pos.at += len; break; }
    case 5: pos.at += 4; break;
    default: throw new PageDecodeError(`wire type ${wireType} is not supported (groups are not used by this protocol)`);
  }
  if (pos.at > end) throw new PageDecodeError('a field runs past the end of its message');
}

function decodeObject(buf: Buffer, pos: { at: number }, end: number): DataObject {
  const o: DataObject = { remoteId: '', resourceName: '', uri: '', metadata: '' };
  while (pos.at < end) {
    const tag = readVarint(buf, pos, end);
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (field >= 1 && field <= 4) {
      if (wireType !== 2) throw new PageDecodeError(`DataObject field ${field} has wire type ${wireType}, not 2 (a string)`);
      const len = readVarint(buf, pos, end);
      const stop = pos.at + len;
      if (stop > end) throw new PageDecodeError(`DataObject field ${field} runs past the end of the object`);
      const text = buf.toString('utf8', pos.at, stop);
      pos.at = stop;
      if (field === 1) o.remoteId = text;
      else if (field === 2) o.resourceName = text;
      else if (field === 3) o.uri = text;
      else o.metadata = text;
    } else {
      skip(buf, pos, end, wireType);
    }
  }
  return o;
}

/** The objects of a SyncResponse's bytes; throws `PageDecodeError` for bytes that are not one. */
export function decodePage(buf: Buffer): SyncResponse {
  const response: DataObject[] = [];
  const pos = { at: 0 };
  const end = buf.length;
  while (pos.at < end) {
    const tag = readVarint(buf, pos, end);
    const wireType = tag & 7;
    if (Math.floor(tag / 8) === 1) {
      if (wireType !== 2) throw new PageDecodeError(`SyncResponse field 1 has wire type ${wireType}, not 2 (a message)`);
      const len = readVarint(buf, pos, end);
      const stop = pos.at + len;
      if (stop > end) throw new PageDecodeError(`object ${response.length + 1} runs past the end of the page`);
      response.push(decodeObject(buf, pos, stop));
    } else {
      skip(buf, pos, end, wireType);
    }
  }
  return { response };
}

/** `CallbackHandler/Upsert` with the codec above (same path, same bytes). */
export const upsertMethod: MethodDefinition<SyncResponse, Empty> = {
  ...methods.upsert,
  requestSerialize: encodePage,
  requestDeserialize: decodePage,
};
