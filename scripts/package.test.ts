/**
 * What `npm pack` would publish: no test, no test helper, no fixture, no TypeScript source; and
 * all the installed package needs: the bin and its target, every `exports` target, the files the
 * compiled code reads at run time, the Python client, and every relative import of a shipped module.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');

interface PackageJson {
  bin: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
}

/** Paths a published package must not hold, each with why. */
const FORBIDDEN: [RegExp, string][] = [
  [/\.test\.(ts|js|d\.ts)$/, 'a test file'],
  [/(^|\/)tests?\//, 'a test helper (test/ folders hold them)'],
  [/(^|\/)fixtures\//, 'a test fixture'],
  [/(^|\/)(test-[a-z-]+|testing|harnesses)\.(ts|js|d\.ts)$/, 'a test helper by its name'],
  [/^(bench|scripts)\//, 'a benchmark or script file'],
  [/^src\/.*\.(ts|js|mjs)$/, 'a TypeScript or JavaScript source (the package ships dist/)'],
];

/** Files the compiled code reads next to itself (scripts/build.mjs copies them). */
const RUNTIME_FILES = [
  'dist/cli/main.js',
  'dist/dashboard/ui/index.html',
  'dist/sync/proto/connector.proto',
  'dist/dispatch/connectors/upper.py',
  'dist/kit/templates/connector-ts/manifest.json',
  'dist/browser/switchboard-engine.js',
  'src/client/python/switchboard/client.py',
];

void test('npm pack: no test file or test helper, and everything the installed package loads', async (t) => {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
    const why = 'dist/ is not built (npm run build): the package contents cannot be checked';
    if (process.env.CI === 'true') assert.fail(why);
    t.skip(why);
    return;
  }
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
  });
  const [packed] = JSON.parse(stdout) as { files: { path: string }[] }[];
  const files = new Set(packed!.files.map((f) => f.path));

  const bad = [...files].flatMap((path) => {
    const hit = FORBIDDEN.find(([re]) => re.test(path));
    return hit ? [`${path}: ${hit[1]}`] : [];
  });
  assert.deepEqual(bad, [], `npm pack would publish files that must not ship:\n${bad.join('\n')}`);

  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;
  const needed = [
    ...Object.values(pkg.bin),
    ...Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e))),
    ...RUNTIME_FILES,
  ].map((p) => normalize(p));
  const missing = needed.filter((p) => !files.has(p));
  assert.deepEqual(missing, [], `the package would lack files it needs (npm run build first):\n${missing.join('\n')}`);

  // A shipped module that imports something left out (a test helper, say) fails when installed.
  const broken: string[] = [];
  const spec =
    /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;
  for (const path of files) {
    if (!path.endsWith('.js') || !path.startsWith('dist/')) continue;
    const text = readFileSync(join(root, path), 'utf8');
    for (const m of text.matchAll(spec)) {
      const target = normalize(join(dirname(path), m[1] ?? m[2]!));
      if (!files.has(target)) broken.push(`${path} imports ${m[1] ?? m[2]}, which is not in the package`);
    }
  }
  assert.deepEqual(broken, [], broken.join('\n'));
});
