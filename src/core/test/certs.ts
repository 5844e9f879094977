/**
 * The tests' one certificate maker: a throw-away CA and a certificate it signs, made with the
 * `openssl` CLI in a temp directory at test time (no key is ever committed). The certificate
 * serves both ends (serverAuth and clientAuth) for `localhost` and 127.0.0.1-127.0.0.4, so one
 * pair covers TLS listeners, hub links (a cluster on several loopback addresses) and mutual TLS.
 * Clients trust `caPem` (or the file `ca`).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  /** Paths of the PEM files. */
  ca: string;
  certificate: string;
  privateKey: string;
  /** The same, as PEM text. */
  caPem: string;
  certificatePem: string;
  privateKeyPem: string;
  cleanup(): void;
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-pki-'));
  const f = (n: string): string => join(dir, n);
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'ignore' });
  };
  // EC keys: fast to make, and every TLS stack here accepts them.
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run([
    'req',
    '-x509',
    ...ec,
    '-days',
    '2',
    '-subj',
    '/CN=switchboard test CA',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
  ]);
  run(['req', ...ec, '-subj', '/CN=localhost', '-keyout', f('hub.key'), '-out', f('hub.csr')]);
  writeFileSync(
    f('ext.cnf'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:127.0.0.2,IP:127.0.0.3,IP:127.0.0.4\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  run([
    'x509',
    '-req',
    '-in',
    f('hub.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    f('ext.cnf'),
    '-out',
    f('hub.pem'),
  ]);
  return {
    dir,
    ca: f('ca.pem'),
    certificate: f('hub.pem'),
    privateKey: f('hub.key'),
    caPem: readFileSync(f('ca.pem'), 'utf8'),
    certificatePem: readFileSync(f('hub.pem'), 'utf8'),
    privateKeyPem: readFileSync(f('hub.key'), 'utf8'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
