/**
 * Test helper (not public API): a throw-away CA and a hub certificate signed by it, made with the
 * openssl CLI in a temp dir, for TLS hub links and mutual TLS.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  ca: string;
  certificate: string;
  privateKey: string;
  cleanup(): void;
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-pki-'));
  const f = (n: string): string => join(dir, n);
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'ignore' });
  };
  run([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=switchboard test CA',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
  ]);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=hub', '-keyout', f('hub.key'), '-out', f('hub.csr')]);
  writeFileSync(
    f('ext.cnf'),
    'subjectAltName=IP:127.0.0.1,IP:127.0.0.2,IP:127.0.0.3,IP:127.0.0.4\nextendedKeyUsage=serverAuth,clientAuth\n',
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
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
