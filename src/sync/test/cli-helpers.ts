/** Helpers for the CLI tests: run `node bin/switchboard.js` with a home, and the test connector's command. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/pages-connector.ts', import.meta.url));

/** The pages test connector, started through tsx by URL (a bare `tsx` does not resolve in a connector folder). */
export const pagesCommand = `"${process.execPath}" --import "${import.meta.resolve('tsx')}" "${fixture}"`;

export interface Cli {
  sb(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  ok(...args: string[]): Promise<string>;
}

export function cli(cwd: string, home: string): Cli {
  const sb = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [join(root, 'bin/switchboard.js'), ...args],
        {
          cwd,
          env: {
            ...process.env,
            SWITCHBOARD_FROM_SOURCE: '1',
            SWITCHBOARD_HOME: home,
            SWITCHBOARD_LOG_LEVEL: 'silent',
            SWITCHBOARD_DATABASE_URL: '',
          },
          timeout: 60_000,
        },
        (err, stdout, stderr) =>
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
    });
  const ok = async (...args: string[]) => {
    const r = await sb(...args);
    assert.equal(r.code, 0, `switchboard ${args.join(' ')} failed:\n${r.stderr}`);
    return r.stdout;
  };
  return { sb, ok };
}

/** A connector's folder under a home: `connectors/<store id>/<name>` (folders are keyed by store). */
export function folderOf(home: string, name: string): string {
  const root = join(home, 'connectors');
  const keys = existsSync(root) ? readdirSync(root) : [];
  return keys.map((k) => join(root, k, name)).find((p) => existsSync(p)) ?? join(root, '?', name);
}
