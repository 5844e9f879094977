#!/usr/bin/env node
// Runs every `*.test.ts` under src/ and scripts/ (or the paths given) with Node's test runner through tsx.
// Usage: node scripts/run-tests.mjs [path-or-folder ...]
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';

function collect(path, out) {
  const st = statSync(path);
  if (st.isFile()) {
    if (path.endsWith('.test.ts')) out.push(path);
    return;
  }
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry === 'fixtures') continue;
    collect(join(path, entry), out);
  }
}

const roots = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const passthrough = process.argv.slice(2).filter((a) => a.startsWith('--'));
const files = [];
for (const root of roots.length ? roots : ['src', 'scripts']) collect(root, files);
files.sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const args = [
  '--import',
  'tsx',
  '--test',
  `--test-concurrency=${concurrency}`,
  // Per test file: the connector kit's tests install npm packages and compile better-sqlite3 (src/kit).
  '--test-timeout=600000',
  ...passthrough,
  ...files.map((f) => relative(process.cwd(), f)),
];
const child = spawn(process.execPath, args, {
  stdio: 'inherit',
  env: { ...process.env, SWITCHBOARD_FROM_SOURCE: '1' },
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
