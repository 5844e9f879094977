/**
 * go-plugin's AutoMTLS: each side makes a fresh self-signed certificate (ECDSA P-521, CN and SAN
 * `localhost`, a CA usable for client and server auth, as go-plugin's generateCert) and trusts
 * only the other side's. The host sends its PEM in PLUGIN_CLIENT_CERT; the plugin answers with
 * base64 DER in field 6 of the handshake.
 *
 * The certificate's DER is written here with node:crypto (key, signature) and a few lines of
 * ASN.1: an X.509 library (@peculiar/x509 and its polyfills) took a connector ~120 ms to load,
 * more than the rest of its start-up before the handshake. mtls.test.ts reads the result back
 * with Node's X.509 parser and makes a mutual TLS connection with it; the Go interop tests have
 * Go's crypto/x509 verify it on both sides.
 */
import { X509Certificate as NodeX509, generateKeyPair, randomBytes, sign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { credentials, ServerCredentials, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';

export interface Certificate {
  certPem: string;
  keyPem: string;
  certDer: Buffer;
}

/** Both halves of one side's mutual TLS: its own certificate and the only peer certificate it trusts. */
export interface TlsMaterial {
  own: Certificate;
  peerCertPem: string;
}

/** go-plugin's validity: 262980 hours (~30 years), backdated 30 s for clock skew. */
const VALIDITY_MS = 262_980 * 3600_000;

// DER: a tag, the length (short form under 128, else 0x80 | the count of length bytes), the content.
function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : undefined;
  if (!length) throw new RangeError(`DER content of ${n} bytes is longer than a certificate needs`);
  return Buffer.concat([Buffer.from([tag, ...length]), body]);
}

const sequence = (...content: Buffer[]) => tlv(0x30, ...content);
const set = (...content: Buffer[]) => tlv(0x31, ...content);
const utf8 = (text: string) => tlv(0x0c, Buffer.from(text, 'utf8'));
const TRUE = tlv(0x01, Buffer.from([0xff]));
/** A BIT STRING of whole bytes, or of `bytes` whose last `unusedBits` bits are padding. */
const bitString = (bytes: Buffer, unusedBits = 0) => tlv(0x03, Buffer.from([unusedBits]), bytes);

function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * first + second];
  for (const arc of rest) {
    const base128 = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) base128.unshift((v & 0x7f) | 0x80);
    bytes.push(...base128);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** UTCTime until 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5), to the second. */
function time(date: Date): Buffer {
  const text = date
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(text.slice(2))) : tlv(0x18, Buffer.from(text));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [TRUE] : []), tlv(0x04, value));
}

// digitalSignature (bit 0) | keyEncipherment (2) | keyAgreement (4) | keyCertSign (5): 0b101011 in
// the first byte's high bits; the last two bits of the byte are unused.
const KEY_USAGE = bitString(Buffer.from([0b1010_1100]), 2);
const ECDSA_WITH_SHA512 = sequence(oid('1.2.840.10045.4.3.4'));
/** Issuer and subject: O=HashiCorp, CN=localhost (go-plugin's, in Go's order). */
const NAME = sequence(
  set(sequence(oid('2.5.4.10'), utf8('HashiCorp'))),
  set(sequence(oid('2.5.4.3'), utf8('localhost'))),
);
const EXTENSIONS = tlv(
  0xa3,
  sequence(
    extension('2.5.29.15', true, KEY_USAGE),
    // clientAuth, serverAuth
    extension('2.5.29.37', false, sequence(oid('1.3.6.1.5.5.7.3.2'), oid('1.3.6.1.5.5.7.3.1'))),
    // cA: true, no path length limit
    extension('2.5.29.19', true, sequence(TRUE)),
    // dNSName localhost
    extension('2.5.29.17', false, sequence(tlv(0x82, Buffer.from('localhost')))),
  ),
);

const generateEcKeyPair = promisify(generateKeyPair);

export async function generateCertificate(): Promise<Certificate> {
  const { publicKey, privateKey } = (await generateEcKeyPair('ec', { namedCurve: 'P-521' })) as {
    publicKey: KeyObject;
    privateKey: KeyObject;
  };
  // A positive 127-bit serial with its top byte nonzero (DER integers are minimal).
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  const now = Date.now();
  const tbs = sequence(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // version 3
    tlv(0x02, serial),
    ECDSA_WITH_SHA512,
    NAME,
    sequence(time(new Date(now - 30_000)), time(new Date(now + VALIDITY_MS))),
    NAME,
    publicKey.export({ type: 'spki', format: 'der' }),
    EXTENSIONS,
  );
  // ECDSA's signature comes DER-encoded (r, s), as X.509 holds it.
  const certDer = sequence(tbs, ECDSA_WITH_SHA512, bitString(sign('sha512', tbs, privateKey)));
  return {
    certPem: derToPem(certDer),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    certDer,
  };
}

/** A certificate's DER as PEM (the private key's PEM comes from node:crypto's export). */
export function derToPem(der: Buffer): string {
  const body = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}

/** Parses a peer certificate (PEM or DER); throws with the parser's reason when it is not one. */
export function checkCertificate(cert: string | Buffer): NodeX509 {
  return new NodeX509(cert);
}

/** The name both sides verify: go-plugin's certificates are issued for `localhost`. */
const TLS_NAME_OPTIONS: ChannelOptions = {
  'grpc.ssl_target_name_override': 'localhost',
  'grpc.default_authority': 'localhost',
};

export function clientCredentials(tls: TlsMaterial | undefined): {
  creds: ChannelCredentials;
  options: ChannelOptions;
} {
  if (!tls) return { creds: credentials.createInsecure(), options: {} };
  return {
    creds: credentials.createSsl(
      Buffer.from(tls.peerCertPem),
      Buffer.from(tls.own.keyPem),
      Buffer.from(tls.own.certPem),
    ),
    options: TLS_NAME_OPTIONS,
  };
}

export function serverCredentials(tls: TlsMaterial | undefined): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(
    Buffer.from(tls.peerCertPem),
    [{ cert_chain: Buffer.from(tls.own.certPem), private_key: Buffer.from(tls.own.keyPem) }],
    true,
  );
}
