/**
 * A throw-away self-signed certificate for TLS tests, made with the `openssl` CLI in a temp
 * directory at test time (no key is ever committed). Not part of the public API.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificate {
  certificate: string;
  privateKey: string;
  certificatePath: string;
  privateKeyPath: string;
  cleanup(): void;
}

export function makeSelfSignedCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-cert-'));
  const certificatePath = join(dir, 'cert.pem');
  const privateKeyPath = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      privateKeyPath,
      '-out',
      certificatePath,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  return {
    certificate: readFileSync(certificatePath, 'utf8'),
    privateKey: readFileSync(privateKeyPath, 'utf8'),
    certificatePath,
    privateKeyPath,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
