/**
 * Helpers for tests (not part of the public API): free ports, temporary homes, and the rule for
 * real services: outside CI an unreachable service skips the test with a one-line reason; with
 * CI=true it fails.
 */
import { existsSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = netConnect({ port, host });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export const SERVICES = {
  postgres: { port: 5432, url: 'postgres://postgres@127.0.0.1:5432/test' },
  rabbitmq: { port: 5672, url: 'amqp://guest:guest@127.0.0.1:5672' },
  nats: { port: 4222, url: 'nats://127.0.0.1:4222' },
  redis: { port: 6379, url: 'redis://127.0.0.1:6379' },
} as const;

/**
 * Returns true when the service answers. Otherwise: under CI=true throws (the test fails);
 * elsewhere marks the test skipped with a one-line reason and returns false.
 */
export async function needService(t: TestContext, name: keyof typeof SERVICES): Promise<boolean> {
  const { port } = SERVICES[name];
  if (await portOpen(port)) return true;
  const reason = `${name} is not reachable on 127.0.0.1:${port}`;
  if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: services must be up)`);
  t.skip(reason);
  return false;
}

/** A fresh SWITCHBOARD_HOME-like directory, removed by the returned cleanup. */
export async function tempDir(prefix = 'switchboard-test-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 20, what = 'condition' } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Debian's Chromium, driven by playwright-core in the browser tests. */
export const CHROMIUM = '/usr/bin/chromium';
/** Flags for a headless Chromium on a machine without outside network (no background fetches). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Like `needService`, for Chromium: skips outside CI when it is not installed, fails under CI=true. */
export function needChromium(t: TestContext): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing (CI=true: install Debian's chromium)`);
  t.skip(`${CHROMIUM} is not installed`);
  return false;
}
