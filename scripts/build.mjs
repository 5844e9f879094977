#!/usr/bin/env node
// `npm run build` (also run by `npm install` in a checkout, through `prepare`): dist/ made anew
// each time, so a file that moved or was deleted never lingers in the package. It holds the
// compiled sources (tsconfig.build.json leaves out tests, test helpers and fixtures), the browser
// bundles, and the files the compiled code reads at run time, so dist/ works without src/.
import { cpSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/**
 * Files that are not TypeScript but ship next to the compiled modules: read at run time, or (the
 * .proto files) the sync protocol's definition for connectors in other languages; the connector kit
 * copies connector.proto into a new Go connector. The compiled code has its own codecs for them.
 */
export const RUNTIME_ASSETS = [
  ['src/dashboard/ui', 'dist/dashboard/ui'],
  ['src/sync/proto/connector.proto', 'dist/sync/proto/connector.proto'],
  ['src/sync/proto/plugin.proto', 'dist/sync/proto/plugin.proto'],
  ['src/sync/proto/health.proto', 'dist/sync/proto/health.proto'],
  ['src/sync/proto/check.proto', 'dist/sync/proto/check.proto'],
  ['src/dispatch/connectors/upper.py', 'dist/dispatch/connectors/upper.py'],
  ['src/kit/templates', 'dist/kit/templates'],
];

function run(args) {
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

rmSync('dist', { recursive: true, force: true });
run([createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json']);
run(['--import', 'tsx', join('src', 'engine', 'browser', 'build.ts'), join('dist', 'browser')]);
for (const [from, to] of RUNTIME_ASSETS) cpSync(from, to, { recursive: true });
