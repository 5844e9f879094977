// The AutoMTLS certificate written by hand (mtls.ts) read back by Node's X.509 parser, and used by
// OpenSSL (node:tls) for a mutual TLS handshake in which each side trusts only the other's certificate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { checkCertificate, derToPem, generateCertificate } from './mtls.js';

void test("a certificate as go-plugin's generateCert makes: self-signed P-521 CA for localhost, client and server auth", async () => {
  const before = Date.now();
  const own = await generateCertificate();
  const cert = new X509Certificate(own.certDer);
  assert.equal(own.certPem, derToPem(own.certDer));
  assert.equal(checkCertificate(own.certPem).fingerprint256, cert.fingerprint256);
  assert.equal(cert.subject, 'O=HashiCorp\nCN=localhost');
  assert.equal(cert.issuer, cert.subject);
  assert.equal(cert.subjectAltName, 'DNS:localhost');
  assert.equal(cert.checkHost('localhost'), 'localhost');
  assert.equal(cert.ca, true);
  // Node's `keyUsage` is the extended key usage: clientAuth, serverAuth.
  assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2', '1.3.6.1.5.5.7.3.1']);
  assert.ok(cert.verify(cert.publicKey), 'signed by its own key');
  assert.ok(cert.checkIssued(cert));
  assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'secp521r1');
  // The private key is the certificate's.
  assert.deepEqual(
    createPublicKey(own.keyPem).export({ type: 'spki', format: 'der' }),
    cert.publicKey.export({ type: 'spki', format: 'der' }),
  );
  // Valid from 30 s ago (clock skew) for 262980 hours; times are whole seconds.
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  assert.ok(from <= before - 29_000 && from >= before - 32_000, cert.validFrom);
  assert.ok(Math.abs(to - from - 262_980 * 3600_000 - 30_000) <= 2000, cert.validTo);
  // Serial numbers are random.
  assert.notEqual(new X509Certificate((await generateCertificate()).certDer).serialNumber, cert.serialNumber);
});

void test('two such certificates make a mutual TLS connection that trusts only the other side', async () => {
  const [server, client, stranger] = await Promise.all([
    generateCertificate(),
    generateCertificate(),
    generateCertificate(),
  ]);
  const tls = createServer({
    cert: server.certPem,
    key: server.keyPem,
    ca: client.certPem,
    requestCert: true,
    // Refusals answered in words, so the test can tell which check failed.
    rejectUnauthorized: false,
  });
  tls.on('secureConnection', (socket: TLSSocket) =>
    socket.end(socket.authorized ? 'hello' : `refused: ${String(socket.authorizationError)}`),
  );
  tls.listen(0, '127.0.0.1');
  await once(tls, 'listening');
  const { port } = tls.address() as AddressInfo;
  /** What the server sent before closing, or the TLS error that ended the connection. */
  const dial = (own: typeof client) =>
    new Promise<string>((resolve) => {
      const socket = connect({
        port,
        host: '127.0.0.1',
        servername: 'localhost',
        cert: own.certPem,
        key: own.keyPem,
        ca: server.certPem,
      });
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('error', (err) => resolve(`error: ${err.message}`));
      socket.on('close', () => resolve(text));
    });
  try {
    assert.equal(await dial(client), 'hello');
    // A certificate the server was not given is refused.
    assert.equal(await dial(stranger), 'refused: DEPTH_ZERO_SELF_SIGNED_CERT');
  } finally {
    tls.close();
  }
});
