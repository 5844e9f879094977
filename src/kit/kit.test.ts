/**
 * `connector new` / `agent new` themselves: every template fills every placeholder, connector
 * manifests validate, nothing is overwritten, bad names and languages get a sentence, and the
 * `agent` verb still wants --kind when it runs a connector.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { tempDir } from '../core/test/support.js';
import { validateManifest } from '../sync/manifest.js';
import { dependencySpec, scaffold } from './scaffold.js';
import { TEMPLATES, type TemplateKind } from './templates.js';
import { BIN } from './test/readme.js';

const run = promisify(execFile);

async function cli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name));
  return out;
}

void test('every template fills every placeholder; connector manifests validate', async (t) => {
  const tmp = await tempDir('switchboard-kit-');
  t.after(tmp.cleanup);
  for (const kind of Object.keys(TEMPLATES) as TemplateKind[]) {
    for (const lang of Object.keys(TEMPLATES[kind])) {
      const name = `x-${kind}-${lang}`;
      const result = await scaffold({ kind, name, lang }, tmp.path);
      assert.equal(result.dir, join(tmp.path, name));
      assert.ok(result.files.includes('README.md'), `${name} has a README`);
      for (const file of await allFiles(result.dir)) {
        const text = await readFile(file, 'utf8');
        assert.doesNotMatch(text, /\{\{\w+\}\}/, `${file} has an unfilled placeholder`);
        if (file.endsWith('.json')) JSON.parse(text);
      }
      if (kind === 'connector') {
        const manifest = validateManifest(JSON.parse(await readFile(join(result.dir, 'manifest.json'), 'utf8')), {
          baseDir: result.dir,
        });
        assert.equal(manifest.name, name);
        assert.equal(manifest.uri, result.dir);
      }
      assert.ok(result.firstSteps.some((s) => s.includes(name)));
    }
  }
  for (const npm of ['x-connector-ts', 'x-agent-ts']) {
    const pkg = JSON.parse(await readFile(join(tmp.path, npm, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const spec = pkg.dependencies.switchboard!;
    assert.match(
      spec,
      /^file:vendor\/switchboard-[\d.]+\.tgz$/,
      'the default dependency is a tarball of this package, inside',
    );
    assert.ok(existsSync(join(tmp.path, npm, spec.slice('file:'.length))), `${spec} is there`);
    assert.match(await readFile(join(tmp.path, npm, '.npmrc'), 'utf8'), /^ignore-scripts=true$/m);
  }
  const ignore = await readFile(join(tmp.path, 'x-agent-ts', '.gitignore'), 'utf8');
  assert.match(ignore, /node_modules/);
});

void test('new refuses to overwrite, and bad names and languages get a sentence', async (t) => {
  const tmp = await tempDir('switchboard-kit-');
  t.after(tmp.cleanup);
  await mkdir(join(tmp.path, 'taken'));
  await writeFile(join(tmp.path, 'taken', 'mine.txt'), 'keep me');
  await assert.rejects(scaffold({ kind: 'connector', name: 'taken', lang: 'ts' }, tmp.path), {
    code: 'CONFLICT',
    message: /exists and is not empty/,
  });
  assert.equal(await readFile(join(tmp.path, 'taken', 'mine.txt'), 'utf8'), 'keep me');
  await mkdir(join(tmp.path, 'empty'));
  await scaffold({ kind: 'agent', name: 'empty', lang: 'shell' }, tmp.path); // an empty folder is fine
  await assert.rejects(scaffold({ kind: 'connector', name: '../escape', lang: 'ts' }, tmp.path), /must be letters/);
  await assert.rejects(
    scaffold({ kind: 'agent', name: 'ok', lang: 'cobol' }, tmp.path),
    /there are: ts, python, shell/,
  );
  await scaffold({ kind: 'connector', name: 'nested', lang: 'go', dir: 'a/b' }, tmp.path);
  assert.ok((await readdir(join(tmp.path, 'a', 'b', 'nested'))).includes('connector.proto'));
});

void test('--switchboard: paths and tarballs become absolute file: specs, URLs stay', () => {
  assert.equal(
    dependencySpec('../sb/switchboard-0.1.0.tgz', '/home/me/work'),
    'file:/home/me/sb/switchboard-0.1.0.tgz',
  );
  assert.equal(dependencySpec('./switchboard', '/w'), 'file:/w/switchboard');
  assert.equal(dependencySpec('file:../sb', '/w/x'), 'file:/w/sb');
  assert.equal(dependencySpec('/opt/switchboard', '/w'), 'file:/opt/switchboard');
  assert.equal(
    dependencySpec('git+https://example.com/me/switchboard.git', '/w'),
    'git+https://example.com/me/switchboard.git',
  );
  assert.equal(dependencySpec('^0.1.0', '/w'), '^0.1.0');
  assert.throws(() => dependencySpec(' ', '/w'), /is empty/);
});

void test('the CLI: new under connector and agent, and agent still wants --kind to run a connector', async (t) => {
  const tmp = await tempDir('switchboard-kit-');
  t.after(tmp.cleanup);
  const help = await cli(['connector', 'new', '--help'], tmp.path);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--lang <lang>/);
  assert.match(help.stdout, /go +Go, on HashiCorp's go-plugin/);
  const made = await cli(['agent', 'new', 'pinger', '--lang', 'python'], tmp.path);
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stdout, /created .*pinger \(agent, python\)/);
  assert.match(made.stdout, /switchboard agent --kind pinger -- python3 pinger\/main\.py/);
  const again = await cli(['agent', 'new', 'pinger'], tmp.path);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /exists and is not empty/);
  const badLang = await cli(['connector', 'new', 'x', '--lang', 'rust'], tmp.path);
  assert.notEqual(badLang.code, 0);
  assert.match(badLang.stderr, /--lang takes one of ts, go/);
  const noKind = await cli(['agent', '--', 'node', 'x.js'], tmp.path);
  assert.notEqual(noKind.code, 0);
  assert.match(noKind.stderr, /required option '--kind <kind>' not specified/);
  const programNamedNew = await cli(['agent', '--kind', 'k', '--', 'new', 'thing'], tmp.path);
  assert.notEqual(programNamedNew.code, 0);
  assert.match(programNamedNew.stderr, /after -- comes the connector command/);
  assert.deepEqual((await readdir(tmp.path)).sort(), ['pinger'], 'nothing but the one connector was written');
});
