/**
 * go-plugin's AutoMTLS: each side makes a fresh self-signed certificate (ECDSA P-521, CN and SAN
 * `localhost`, a CA usable for client and server auth, as go-plugin's generateCert) and trusts
 * only the other side's. The host sends its PEM in PLUGIN_CLIENT_CERT; the plugin answers with
 * base64 DER in field 6 of the handshake.
 */
import { X509Certificate as NodeX509, randomBytes, webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';
import { credentials, ServerCredentials, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';

/** @peculiar/x509 is large (~0.5 s to load): only sessions that use AutoMTLS pay for it. */
async function loadX509(): Promise<typeof X509> {
  await import('reflect-metadata'); // tsyringe, under @peculiar/x509, needs the Reflect polyfill first.
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  return x509;
}

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

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-521', hash: 'SHA-512' } as const;
/** go-plugin's validity: 262980 hours (~30 years), backdated 30 s for clock skew. */
const VALIDITY_MS = 262_980 * 3600_000;

export async function generateCertificate(): Promise<Certificate> {
  const x509 = await loadX509();
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16)
      .toString('hex')
      .replace(/^[89a-f]/, '1'),
    name: 'CN=localhost, O=HashiCorp',
    notBefore: new Date(now - 30_000),
    notAfter: new Date(now + VALIDITY_MS),
    keys: keys as unknown as CryptoKeyPair,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature |
          x509.KeyUsageFlags.keyEncipherment |
          x509.KeyUsageFlags.keyAgreement |
          x509.KeyUsageFlags.keyCertSign,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'localhost' }]),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { certPem: cert.toString('pem'), keyPem: derToPem(pkcs8, 'PRIVATE KEY'), certDer: Buffer.from(cert.rawData) };
}

export function derToPem(der: Buffer, label = 'CERTIFICATE'): string {
  const body = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
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
