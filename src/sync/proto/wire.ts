/**
 * A small proto3 codec for the protocol's little messages (all but the Upsert page, see page.ts):
 * a message is a list of fields, each a string, uint32, bool, bytes, enum or nested message; no
 * repeated, map, 64-bit or oneof field occurs in this protocol. Written by hand instead of parsing
 * the .proto files with proto-loader (protobufjs) at start-up: that cost every connector process
 * ~50 ms before its handshake line. codecs.test.ts holds every message to protobufjs's reading of
 * the .proto files.
 *
 * What is decoded is what proto-loader gave with `defaults: true, enums: String`: every field set
 * (a default when absent: '', 0, false, an empty Buffer, the enum's first name, null for a message),
 * an enum as its name (a number this side does not know stays a number), unknown fields skipped.
 * What is encoded leaves out default values, as Go's proto3 encoder does; a nested message is
 * written whenever it is set.
 */

/** Bytes that are not the message they were read as (truncated, a bad length, an unexpected wire type). */
export class ProtoDecodeError extends Error {
  override readonly name = 'ProtoDecodeError';
}

/** One field: its number on the wire, its (camel-cased) property name, and its kind. */
export type Field = { no: number; name: string } & (
  | { kind: 'string' | 'uint32' | 'bool' | 'bytes' }
  | { kind: 'enum'; names: readonly string[] }
  | { kind: 'message'; codec: Codec<object> }
);

export interface Codec<T> {
  encode(message: T): Buffer;
  decode(bytes: Buffer): T;
}

const VARINT = 0;
const LENGTH_DELIMITED = 2;

function varint(n: number): Buffer {
  const bytes: number[] = [];
  while (n >= 0x80) {
    bytes.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  bytes.push(n);
  return Buffer.from(bytes);
}

/** The field's bytes (tag, then value), or undefined when it holds its default and is left out. */
function encodeField(field: Field, value: unknown): Buffer[] | undefined {
  const tag = (wireType: number) => varint((field.no << 3) | wireType);
  const delimited = (payload: Buffer) => [tag(LENGTH_DELIMITED), varint(payload.length), payload];
  switch (field.kind) {
    case 'string': {
      const text = value === undefined || value === null ? '' : String(value);
      return text === '' ? undefined : delimited(Buffer.from(text, 'utf8'));
    }
    case 'uint32': {
      const n = Number(value ?? 0) >>> 0;
      return n === 0 ? undefined : [tag(VARINT), varint(n)];
    }
    case 'bool':
      return value ? [tag(VARINT), varint(1)] : undefined;
    case 'bytes': {
      const bytes = value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : null;
      return bytes && bytes.length ? delimited(bytes) : undefined;
    }
    case 'enum': {
      const n = typeof value === 'number' ? value >>> 0 : Math.max(0, field.names.indexOf(String(value)));
      return n === 0 ? undefined : [tag(VARINT), varint(n)];
    }
    case 'message':
      return value === undefined || value === null ? undefined : delimited(field.codec.encode(value as object));
  }
}

class Reader {
  at = 0;
  readonly end: number;

  constructor(readonly buf: Buffer) {
    this.end = buf.length;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.at >= this.end) throw new ProtoDecodeError('truncated varint');
      const byte = this.buf[this.at++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
    throw new ProtoDecodeError('varint longer than 10 bytes');
  }

  /** The next length-delimited value's [start, end). */
  delimited(): [number, number] {
    const len = this.varint();
    const start = this.at;
    if (start + len > this.end) throw new ProtoDecodeError('a field runs past the end of its message');
    this.at += len;
    return [start, start + len];
  }

  skip(wireType: number): void {
    if (wireType === VARINT) this.varint();
    else if (wireType === LENGTH_DELIMITED) this.delimited();
    else if (wireType === 1) this.at += 8;
    else if (wireType === 5) this.at += 4;
    else throw new ProtoDecodeError(`wire type ${wireType} is not supported (groups are not used by this protocol)`);
    if (this.at > this.end) throw new ProtoDecodeError('a field runs past the end of its message');
  }
}

function defaultValue(field: Field): unknown {
  switch (field.kind) {
    case 'string':
      return '';
    case 'uint32':
      return 0;
    case 'bool':
      return false;
    case 'bytes':
      return Buffer.alloc(0);
    case 'enum':
      return field.names[0];
    case 'message':
      return null;
  }
}

function decodeField(field: Field, wireType: number, r: Reader): unknown {
  const expected =
    field.kind === 'uint32' || field.kind === 'bool' || field.kind === 'enum' ? VARINT : LENGTH_DELIMITED;
  if (wireType !== expected)
    throw new ProtoDecodeError(`field ${field.name} has wire type ${wireType}, not ${expected}`);
  switch (field.kind) {
    case 'uint32':
      return r.varint() >>> 0;
    case 'bool':
      return r.varint() !== 0;
    case 'enum': {
      const n = r.varint() >>> 0;
      return field.names[n] ?? n;
    }
    case 'string': {
      const [start, end] = r.delimited();
      return r.buf.toString('utf8', start, end);
    }
    case 'bytes': {
      const [start, end] = r.delimited();
      return r.buf.subarray(start, end);
    }
    case 'message': {
      const [start, end] = r.delimited();
      return field.codec.decode(r.buf.subarray(start, end));
    }
  }
}

/** The codec of a message of `fields`; `T` is the object type those fields make (the caller's word). */
export function message<T extends object>(fields: readonly Field[]): Codec<T> {
  const byNumber = new Map(fields.map((f) => [f.no, f]));
  return {
    encode(msg: T): Buffer {
      const values = msg as Record<string, unknown>;
      return Buffer.concat(fields.flatMap((f) => encodeField(f, values[f.name]) ?? []));
    },
    decode(bytes: Buffer): T {
      const out: Record<string, unknown> = {};
      for (const f of fields) out[f.name] = defaultValue(f);
      const r = new Reader(bytes);
      while (r.at < r.end) {
        const tag = r.varint();
        const field = byNumber.get(tag >>> 3);
        if (field) out[field.name] = decodeField(field, tag & 7, r);
        else r.skip(tag & 7);
      }
      return out as T;
    },
  };
}
