/**
 * Connector tokens: random, shown once when issued, stored only as a SHA-256 hash (a token is 32
 * random bytes, so a fast hash is enough; nothing to brute-force).
 */
import { createHash, randomBytes } from 'node:crypto';

export function newToken(): string {
  return `sbt_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
